# lib.sh: what every regression script sources: paths, free ports, turnd start/stop, cleanup.
# shellcheck shell=bash
#
# A script does:  . "$(dirname "$0")/lib.sh"; watchdog 30; start_turnd ...;
# checks; stop_turnd.  Exit 0 passes, 1 fails, 77 skips (automake).
# Every loop here is bounded in count and so in time.

set -eu

# --- Paths ----------------------------------------------------------------

LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# make exports these (maybe relative to the build directory); by hand,
# guess the usual layout: sources two levels up, the build tree in build/.
top_srcdir=$(cd "${top_srcdir:-$LIB_DIR/../..}" && pwd)
top_builddir=$(cd "${top_builddir:-$LIB_DIR/../../build}" && pwd)
TURND=$top_builddir/turnd
STUNCLIENT=$top_builddir/stunclient
FREEPORT=$top_builddir/tests/freeport
SENDRAW=$top_builddir/tests/sendraw

# --- State, cleanup -------------------------------------------------------

T=$(mktemp -d "${TMPDIR:-/tmp}/turnd-regress.XXXXXX")
TURND_PID=""		# the running turnd, if any
TURND_N=0		# how many were started (one log file each)
TURND_LOG=""		# the log of the current (or last) turnd
TURND_WRAPPER=()	# a command to run turnd under, e.g. (valgrind ...)
READY_TRIES=20		# readiness probes per address, 0.5 s each at most
STOP_TIMEOUT=5		# seconds turnd may take to exit after SIGTERM
PORT=""			# the port of the current turnd
PROBES_SENT=0		# readiness probes that may have reached turnd
PROBES_OK=0		# readiness probes it answered (they count in its stats)
EXIT_STATUS=0		# set by wait_exit
BG_PIDS=()		# other background processes to stop at exit
WATCHDOG_PID=""

# Report a failure and exit 1; the EXIT trap cleans up.
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# A line for the test log.
note() {
	echo "# $*"
}

# Skip the whole script (automake's 77).
skip() {
	echo "SKIP: $*" >&2
	exit 77
}

# Is this process alive? A zombie is not (Linux /proc).
alive() {
	local state
	[ -n "$1" ] || return 1
	read -r _ _ state _ 2>/dev/null <"/proc/$1/stat" || return 1
	[ "$state" != Z ] && [ "$state" != X ]
}

# wait_exit PID SECONDS: wait for our child to exit, at most SECONDS;
# sets EXIT_STATUS and returns 0, or returns 1 if it is still running.
wait_exit() {
	local pid=$1 i n=$(($2 * 10))
	for ((i = 0; i < n; i++)); do
		if ! alive "$pid"; then
			EXIT_STATUS=0
			wait "$pid" || EXIT_STATUS=$?
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# Stop a background process of ours by PID: TERM, then KILL after 3 s.
kill_pid() {
	kill -TERM "$1" 2>/dev/null || true
	if ! wait_exit "$1" 3; then
		kill -KILL "$1" 2>/dev/null || true
		wait "$1" 2>/dev/null || true
	fi
}

# Remember a background process so that the cleanup stops it.
bg_add() {
	BG_PIDS+=("$1")
}

# Cleanup, always: stop what we started, show the server logs on failure.
_lib_cleanup() {
	local rc=$? pid f
	set +e
	trap - EXIT INT TERM HUP
	if [ -n "$TURND_PID" ]; then
		kill_pid "$TURND_PID"
		TURND_PID=""
	fi
	for pid in "${BG_PIDS[@]}"; do
		alive "$pid" && kill_pid "$pid"
	done
	if [ -n "$WATCHDOG_PID" ]; then
		kill -TERM "$WATCHDOG_PID" 2>/dev/null
		wait "$WATCHDOG_PID" 2>/dev/null
	fi
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		for f in "$T"/turnd.*.log; do
			[ -f "$f" ] || continue
			echo "--- ${f##*/} (last 60 lines)" >&2
			tail -n 60 "$f" >&2
		done
	fi
	rm -rf "$T"
	exit "$rc"
}
trap _lib_cleanup EXIT
trap 'exit 1' INT TERM HUP

# watchdog SECONDS: fail the script if it runs longer than that.
watchdog() {
	local secs=$1 main=$$
	(
		s=""
		trap 'kill "${s:-}" 2>/dev/null; exit 0' TERM
		sleep "$secs" &
		s=$!
		if wait "$s"; then
			echo "FAIL: watchdog: still running after ${secs}s" >&2
			kill -TERM "$main"
			# A shell runs its trap only once its foreground child
			# ends: stop our children (this subshell aside) too.
			kids=()
			read -r -a kids 2>/dev/null <"/proc/$main/task/$main/children" || true
			for c in "${kids[@]}"; do
				[ "$c" = "$BASHPID" ] || kill -TERM "$c" 2>/dev/null
			done
		fi
	) &
	WATCHDOG_PID=$!
}

# --- Binaries -------------------------------------------------------------

for _b in "$TURND" "$STUNCLIENT" "$FREEPORT" "$SENDRAW"; do
	[ -x "$_b" ] || fail "$_b is missing (make check builds it)"
done
unset _b

# A port free for UDP and TCP on 127.0.0.1, ::1 and the wildcards.
free_port() {
	"$FREEPORT" || fail "freeport found no free port"
}

# The SOFTWARE turnd sends by default: "PACKAGE_NAME PACKAGE_VERSION".
default_software() {
	"$TURND" --version | sed -n 's/^turnd (\(.*\)) \(.*\)$/\1 \2/p'
}

# --- turnd ----------------------------------------------------------------

# The address a client uses to reach a listen host: wildcards go to loopback.
probe_host() {
	case $1 in
	0.0.0.0) echo 127.0.0.1 ;;
	"[::]") echo ::1 ;;
	\[*\]) local h=${1#\[}; echo "${h%\]}" ;;
	*) echo "$1" ;;
	esac
}

# wait_ready TRANSPORT HOST...: probe each host until turnd answers on all;
# returns 1 if turnd died or did not answer in READY_TRIES rounds.
wait_ready() {
	local tp=$1 try h rc pending=()
	shift
	local -a targs=()
	[ "$tp" = tcp ] && targs=(--tcp)
	for h in "$@"; do
		pending+=("$(probe_host "$h")")
	done
	for ((try = 0; try < READY_TRIES; try++)); do
		local left=()
		for h in "${pending[@]}"; do
			alive "$TURND_PID" || return 1
			rc=0
			"$STUNCLIENT" "${targs[@]}" --timeout 0.5 "$h" "$PORT" \
			    >/dev/null 2>&1 || rc=$?
			case $rc in
			0) PROBES_SENT=$((PROBES_SENT + 1)); PROBES_OK=$((PROBES_OK + 1)) ;;
			2) PROBES_SENT=$((PROBES_SENT + 1)); left+=("$h") ;;
			*) left+=("$h"); sleep 0.1 ;;	# refused: nothing was sent
			esac
		done
		[ "${#left[@]}" -gt 0 ] || return 0
		pending=("${left[@]}")
	done
	return 1
}

# start_turnd_on "HOST..." ARGS...: run turnd -f listening on each host
# (such as 127.0.0.1, [::1], 0.0.0.0, [::]) at one free port, with ARGS
# after; wait until it answers. Sets PORT, TURND_PID and TURND_LOG.
start_turnd_on() {
	local hosts attempt h tp=udp prev="" a
	read -r -a hosts <<<"$1"
	shift
	[ -z "$TURND_PID" ] || fail "start_turnd: a turnd is already running"
	for a in "$@"; do	# no UDP: probe over TCP
		case $prev:$a in
		--udp:false | --udp:no | --udp:0) tp=tcp ;;
		esac
		prev=$a
	done
	for attempt in 1 2 3; do
		PORT=$(free_port)
		TURND_N=$((TURND_N + 1))
		TURND_LOG=$T/turnd.$TURND_N.log
		local -a largs=()
		for h in "${hosts[@]}"; do
			largs+=(--listen "$h:$PORT")
		done
		"${TURND_WRAPPER[@]}" "$TURND" -f "${largs[@]}" "$@" >"$TURND_LOG" 2>&1 &
		TURND_PID=$!
		if wait_ready "$tp" "${hosts[@]}"; then
			note "turnd $TURND_PID on port $PORT: ${hosts[*]} $*"
			return 0
		fi
		if alive "$TURND_PID"; then
			fail "turnd did not answer on port $PORT after $READY_TRIES tries"
		fi
		wait "$TURND_PID" || true
		TURND_PID=""
		# Another test may have taken the port since freeport looked.
		if grep -q "Address already in use" "$TURND_LOG"; then
			note "port $PORT was taken, trying another (attempt $attempt)"
			continue
		fi
		fail "turnd exited at startup: $(tail -n 3 "$TURND_LOG")"
	done
	fail "turnd could not bind a free port in 3 attempts"
}

# start_turnd ARGS...: turnd on 127.0.0.1 and [::1] at a free port.
start_turnd() {
	start_turnd_on "127.0.0.1 [::1]" "$@"
}

# stop_turnd: SIGTERM by PID; it must exit with 0 within STOP_TIMEOUT seconds.
stop_turnd() {
	local secs=$STOP_TIMEOUT pid=$TURND_PID
	[ -n "$pid" ] || fail "stop_turnd: no turnd running"
	alive "$pid" || fail "turnd $pid died before SIGTERM"
	kill -TERM "$pid"
	if ! wait_exit "$pid" "$secs"; then
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		TURND_PID=""
		fail "turnd $pid still running ${secs}s after SIGTERM"
	fi
	TURND_PID=""
	[ "$EXIT_STATUS" -eq 0 ] || fail "turnd exited with status $EXIT_STATUS after SIGTERM"
}

# --- stunclient -----------------------------------------------------------

# run_stunclient ARGS...: sets OUT (stdout and stderr) and RC, never fails.
run_stunclient() {
	RC=0
	OUT=$("$STUNCLIENT" "$@" 2>&1) || RC=$?
}

# The value of a "name: value" line of stunclient's text output in OUT.
text_field() {
	printf '%s\n' "$OUT" | sed -n "s/^$1: //p"
}

# Is OUT one flat JSON object (string, number, null or boolean values)?
json_valid() {
	local s='"([^"\\]|\\.)*"'
	local v="($s|-?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?|null|true|false)"
	local p="${s}[ ]*:[ ]*$v"
	[ "$(printf '%s\n' "$OUT" | wc -l)" -eq 1 ] &&
	    printf '%s\n' "$OUT" | grep -Eq "^\\{[ ]*($p([ ]*,[ ]*$p)*)?[ ]*\\}\$"
}

# A field of the JSON object in OUT: a string without its quotes, or the raw
# number or null; empty when absent.
json_field() {
	printf '%s\n' "$OUT" |
	    sed -n "s/.*\"$1\"[ ]*:[ ]*\(\"[^\"]*\"\|null\|true\|false\|[-+0-9.eE]*\).*/\1/p" |
	    sed 's/^"\(.*\)"$/\1/'
}

# Is this "ip:port" or "[ip]:port" on loopback with a non-zero port?
is_loopback_addr() {
	case $1 in
	127.*:0 | "[::1]:0") return 1 ;;
	127.*:[0-9]* | "[::1]:"[0-9]*) return 0 ;;
	*) return 1 ;;
	esac
}

# expect_binding HOST ARGS...: stunclient ARGS HOST PORT must succeed and
# map to its own local address, port included. Sets MAPPED and SOFTWARE.
expect_binding() {
	local host=$1 localaddr
	shift
	run_stunclient --timeout 3 "$@" "$host" "$PORT"
	[ "$RC" -eq 0 ] || fail "stunclient $* $host $PORT: exit $RC: $OUT"
	MAPPED=$(text_field "mapped address")
	localaddr=$(text_field "local address")
	SOFTWARE=$(text_field software)
	is_loopback_addr "$localaddr" ||
	    fail "stunclient $* $host: odd local address '$localaddr': $OUT"
	[ "$MAPPED" = "$localaddr" ] ||
	    fail "stunclient $* $host: mapped '$MAPPED' != local '$localaddr'"
}

# --- Raw bytes ------------------------------------------------------------

# n random bytes as hex.
rand_hex() {
	od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'
}

# Hex to bytes on stdout.
hex_to_bin() {
	# shellcheck disable=SC2059 # the format is built from hex digits only
	printf "$(printf '%s' "$1" | sed 's/../\\x&/g')"
}

# A STUN header: stun_hdr TYPE BODYLEN TXID12 (hex) with the magic cookie.
stun_hdr() {
	printf '%04x%04x2112a442%s' "$1" "$2" "$3"
}

# The value (hex) of the first attribute of this type in a STUN message
# (hex); returns 1 when absent or the message is short.
stun_attr() {
	local msg=$1 want=$2 off=40 t l n=0
	while [ $((off + 8)) -le ${#msg} ] && [ $n -lt 64 ]; do
		t=${msg:off:4}
		l=$((16#${msg:off+4:4}))
		if [ "$t" = "$want" ]; then
			printf '%s' "${msg:off+8:l*2}"
			return 0
		fi
		off=$((off + 8 + ((l + 3) & ~3) * 2))
		n=$((n + 1))
	done
	return 1
}

# send UDP|TCP HOST HEX [TIMEOUT_MS]: sendraw; sets RESP and SRC (its exit).
send_raw() {
	local tp=$1 host=$2 hex=$3 ms=${4:-500}
	local -a targs=()
	[ "$tp" = tcp ] && targs=(--tcp)
	SRC=0
	# shellcheck disable=SC2034 # for the caller
	RESP=$("$SENDRAW" "${targs[@]}" "$host" "$PORT" "$hex" "$ms") || SRC=$?
	[ "$SRC" -le 2 ] || fail "sendraw $tp $host $hex: exit $SRC"
}

# --- The Binding suite, shared by binding_udp.sh and binding_tcp.sh --------

# binding_suite udp|tcp: every Binding check over one transport.
binding_suite() {
	local tp=$1 sw h
	local -a t=()
	[ "$tp" = tcp ] && t=(--tcp)
	sw=$(default_software)
	[ -n "$sw" ] || fail "turnd --version: cannot read the version"

	note "$tp: plain, JSON and classic Bindings on 127.0.0.1 and ::1"
	start_turnd --workers 2
	for h in 127.0.0.1 ::1; do
		expect_binding "$h" "${t[@]}"
		[ "$SOFTWARE" = "$sw" ] ||
		    fail "$tp $h: software '$SOFTWARE', expected '$sw'"
		case $h:$MAPPED in
		127.0.0.1:127.0.0.1:* | "::1:[::1]:"*) ;;
		*) fail "$tp $h: mapped address $MAPPED is not on $h" ;;
		esac

		run_stunclient "${t[@]}" --json --timeout 3 "$h" "$PORT"
		[ "$RC" -eq 0 ] || fail "$tp $h --json: exit $RC: $OUT"
		json_valid || fail "$tp $h --json: not a flat JSON object: $OUT"
		[ "$(json_field test)" = binding ] || fail "$tp $h --json: test: $OUT"
		[ "$(json_field transport)" = "$tp" ] || fail "$tp $h --json: transport: $OUT"
		[ "$(json_field status)" = ok ] || fail "$tp $h --json: status: $OUT"
		[ "$(json_field software)" = "$sw" ] || fail "$tp $h --json: software: $OUT"
		[ -n "$(json_field rtt_ms)" ] || fail "$tp $h --json: no rtt_ms: $OUT"
		is_loopback_addr "$(json_field mapped)" ||
		    fail "$tp $h --json: mapped: $OUT"
		[ "$(json_field mapped)" = "$(json_field local)" ] ||
		    fail "$tp $h --json: mapped != local: $OUT"

		expect_binding "$h" "${t[@]}" --classic
	done
	stop_turnd

	note "$tp: --rfc3489 false ignores classic requests"
	start_turnd --rfc3489 false
	for h in 127.0.0.1 ::1; do
		run_stunclient "${t[@]}" --classic --timeout 1 "$h" "$PORT"
		[ "$RC" -eq 2 ] ||
		    fail "$tp $h: classic request with --rfc3489 false: exit $RC, want 2 (timeout): $OUT"
		expect_binding "$h" "${t[@]}"
	done
	stop_turnd

	note "$tp: --software '' sends no SOFTWARE"
	start_turnd --software ''
	for h in 127.0.0.1 ::1; do
		run_stunclient "${t[@]}" --json --timeout 3 "$h" "$PORT"
		[ "$RC" -eq 0 ] || fail "$tp $h --json: exit $RC: $OUT"
		json_valid || fail "$tp $h --json: not a flat JSON object: $OUT"
		[ "$(json_field software)" = null ] ||
		    fail "$tp $h: SOFTWARE sent although --software '': $OUT"
		[ "$(json_field mapped)" = "$(json_field local)" ] ||
		    fail "$tp $h --json: mapped != local: $OUT"
	done
	stop_turnd

	note "$tp: wildcard listeners answer from the address asked"
	start_turnd_on "0.0.0.0 [::]" --workers 2
	for h in 127.0.0.1 127.0.0.2 ::1; do
		expect_binding "$h" "${t[@]}"
	done
	stop_turnd
}

# --- coturn's TURN client tools (turn_*.sh) -------------------------------

UCLIENT=""		# turnutils_uclient, once need_uclient found it
UC_TIMEOUT=40		# seconds one turnutils_uclient run may take
declare -A UC_PID=()	# background runs by name (uclient_start)
declare -A UC_RC=()	# their exit status (uclient_wait)
PEER_PID=""		# the running turnutils_peer
PEER_PORT=""		# its port

# need_uclient: skip the script unless coturn's client tools are installed.
need_uclient() {
	UCLIENT=$(command -v turnutils_uclient) ||
	    skip "turnutils_uclient not installed (Debian package coturn)"
	command -v turnutils_peer >/dev/null ||
	    skip "turnutils_peer not installed (Debian package coturn)"
}

# Forget a background process that has been stopped.
bg_del() {
	local pid keep=()
	for pid in "${BG_PIDS[@]}"; do
		[ "$pid" = "$1" ] || keep+=("$pid")
	done
	BG_PIDS=("${keep[@]}")
}

# udp_listening PORT: is a UDP socket bound to this local port (any address)?
udp_listening() {
	awk -v p=":$(printf '%04X' "$1")" \
	    'FNR > 1 && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
	    /proc/net/udp /proc/net/udp6
}

# start_peer HOST [LO HI]: turnutils_peer, a UDP echo, on HOST at a free port
# P; neither P nor P+1 (where uclient sends RTCP) may be turnd's PORT or lie
# in LO-HI. Sets PEER_PORT and PEER_PID.
start_peer() {
	local host=$1 lo=${2:-1} hi=${3:-0} try i p
	[ -z "$PEER_PID" ] || fail "start_peer: a turnutils_peer is already running"
	for ((try = 0; try < 10; try++)); do
		p=$(free_port)
		if [ "$p" = "${PORT:-}" ] || [ "$((p + 1))" = "${PORT:-}" ] ||
		    [ "$p" -ge 65535 ] || { [ "$((p + 1))" -ge "$lo" ] && [ "$p" -le "$hi" ]; }; then
			continue
		fi
		turnutils_peer -L "$host" -p "$p" >"$T/peer.$p.log" 2>&1 &
		PEER_PID=$!
		bg_add "$PEER_PID"
		for ((i = 0; i < 50; i++)); do
			if udp_listening "$p"; then
				# shellcheck disable=SC2034 # for the caller
				PEER_PORT=$p
				note "turnutils_peer $PEER_PID on $host port $p"
				return 0
			fi
			alive "$PEER_PID" || break
			sleep 0.1
		done
		stop_peer
	done
	fail "turnutils_peer did not start on $host"
}

# stop_peer: stop turnutils_peer by PID.
stop_peer() {
	[ -n "$PEER_PID" ] || return 0
	kill_pid "$PEER_PID"
	bg_del "$PEER_PID"
	PEER_PID=""
}

# uclient_start NAME ARGS...: turnutils_uclient ARGS (the server last) in the
# background, bounded by UC_TIMEOUT; output in $T/uclient.NAME.out.
uclient_start() {
	local name=$1
	shift
	[ -n "$UCLIENT" ] || fail "uclient_start: call need_uclient first"
	printf '%s\n' "$*" >"$T/uclient.$name.args"
	timeout "$UC_TIMEOUT" "$UCLIENT" "$@" >"$T/uclient.$name.out" 2>&1 &
	UC_PID[$name]=$!
	bg_add "$!"
}

# uclient_wait_one NAME: wait for that run; sets UC_RC[NAME] (124: timed out).
uclient_wait_one() {
	local rc=0
	wait "${UC_PID[$1]}" || rc=$?
	bg_del "${UC_PID[$1]}"
	UC_RC[$1]=$rc
	unset "UC_PID[$1]"
}

# uclient_wait: wait for every background run.
uclient_wait() {
	local name
	for name in "${!UC_PID[@]}"; do
		uclient_wait_one "$name"
	done
}

# uclient_run NAME ARGS...: one run in the foreground; sets UC_RC[NAME].
uclient_run() {
	uclient_start "$@"
	uclient_wait
}

# What to show of a run that went wrong.
_uclient_desc() {
	echo "turnutils_uclient $(cat "$T/uclient.$1.args"): exit ${UC_RC[$1]}:"
	tail -n 8 "$T/uclient.$1.out"
}

# uclient_ok NAME: the run exited 0, printed "Total lost packets 0", and its
# final totals show as many messages received as sent, more than none.
uclient_ok() {
	local name=$1 f=$T/uclient.$1.out s r
	[ "${UC_RC[$name]}" -eq 0 ] || fail "$(_uclient_desc "$name")"
	grep -q 'Total lost packets 0 (' "$f" ||
	    fail "lost packets: $(_uclient_desc "$name")"
	read -r s r < <(sed -n \
	    's/.*start_mclient: tot_send_msgs=\([0-9]*\), tot_recv_msgs=\([0-9]*\)$/\1 \2/p' \
	    "$f" | tail -n 1) || true
	if [ -z "${s:-}" ] || [ -z "${r:-}" ]; then
		fail "no totals: $(_uclient_desc "$name")"
	fi
	[ "$s" -gt 0 ] || fail "sent nothing: $(_uclient_desc "$name")"
	[ "$s" -eq "$r" ] || fail "sent $s, received $r: $(_uclient_desc "$name")"
	note "uclient $name: $s messages each way, none lost"
}

# uclient_fails NAME REGEX: the run failed (not by timeout) and printed REGEX.
uclient_fails() {
	local name=$1 rc=${UC_RC[$1]}
	[ "$rc" -ne 0 ] || fail "expected a failure: $(_uclient_desc "$name")"
	[ "$rc" -ne 124 ] || fail "timed out instead of failing: $(_uclient_desc "$name")"
	grep -Eq "$2" "$T/uclient.$name.out" ||
	    fail "expected '$2': $(_uclient_desc "$name")"
	note "uclient $name: failed as expected ($(grep -Em1 "$2" "$T/uclient.$name.out" | sed 's/^[0-9]*: : //'))"
}

# turnd_stat NAME: a counter of the stats line turnd logs when it stops
# (stop_turnd first); 0 when the line omits it.
turnd_stat() {
	local v
	v=$(grep ' stats: ' "$TURND_LOG" | tail -n 1 | grep -o " $1=[0-9]*" | cut -d= -f2)
	echo "${v:-0}"
}

# rest_password SECRET USERNAME [sha1|sha256]: the TURN REST API password for
# USERNAME ("EXPIRY:NAME"): base64 of the HMAC keyed with SECRET. Needs openssl.
rest_password() {
	printf '%s' "$2" | openssl dgst "-${3:-sha1}" -hmac "$1" -binary | base64
}
