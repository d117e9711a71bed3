#!/bin/bash
# shutdown.sh: SIGTERM with traffic done and a TCP connection open: exit 0, counters logged; no leaks under valgrind.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
watchdog 100

# A stats counter from the log of the last turnd.
stat() {
	sed -n "s/.*stats:.*[ ]$1=\([0-9]*\).*/\1/p" "$TURND_LOG" | tail -n 1
}

# open_partial HOST: a TCP connection holding half a frame (a header that
# promises 8 more bytes), so that turnd has a connection mid-frame when it
# stops. Sets OPEN_PID; its output goes to $T/open.out.
open_partial() {
	"$SENDRAW" --tcp "$1" "$PORT" "$(stun_hdr 0x0001 8 "$(rand_hex 12)")" 60000 \
	    >"$T/open.out" 2>&1 &
	OPEN_PID=$!
	bg_add "$OPEN_PID"
}

# wait_established HOST: wait (bounded) until the kernel shows the
# partial-frame connection to HOST:PORT established, so that turnd accepts
# it before the bindings that follow.
wait_established() {
	local i re file=/proc/net/tcp ip=0100007F
	if [ "$1" = ::1 ]; then
		file=/proc/net/tcp6
		ip=00000000000000000000000001000000
	fi
	re="^ *[0-9]+: [0-9A-F]+:[0-9A-F]{4} $ip:$(printf '%04X' "$PORT") 01 "
	for ((i = 0; i < 50; i++)); do
		grep -Eq "$re" "$file" && return 0
		alive "$OPEN_PID" || fail "sendraw ended early: $(cat "$T/open.out")"
		sleep 0.1
	done
	fail "the partial-frame connection to $1 $PORT never showed up"
}

# do_bindings NUDP4 NUDP6 NTCP4 NTCP6: that many stunclient Bindings.
do_bindings() {
	local i
	for ((i = 0; i < $1; i++)); do expect_binding 127.0.0.1; done
	for ((i = 0; i < $2; i++)); do expect_binding ::1; done
	for ((i = 0; i < $3; i++)); do expect_binding 127.0.0.1 --tcp; done
	for ((i = 0; i < $4; i++)); do expect_binding ::1 --tcp; done
}

# The open connection must see turnd close it when turnd stops.
check_partial_closed() {
	wait_exit "$OPEN_PID" 5 || fail "the open TCP connection was not closed at shutdown"
	[ "$EXIT_STATUS" -eq 2 ] ||
	    fail "open TCP connection: sendraw exit $EXIT_STATUS, want 2 (closed): $(cat "$T/open.out")"
}

note "plain run"
PROBES_SENT=0
PROBES_OK=0
start_turnd --workers 2
open_partial 127.0.0.1
wait_established 127.0.0.1
do_bindings 4 3 2 2
alive "$OPEN_PID" || fail "the open TCP connection closed before shutdown"
stop_turnd
check_partial_closed

grep -q "signal 15: stopping" "$TURND_LOG" || fail "no 'signal 15: stopping' in the log"
grep -q "stats: rx=" "$TURND_LOG" || fail "no stats line in the log"
note "$(grep "stats: rx=" "$TURND_LOG")"
want=11	# 7 over UDP, 4 over TCP; readiness probes come on top
# A loaded machine makes stunclient retransmit over UDP (RTO 500 ms), and
# turnd answers each copy: so at least, not exactly; every copy answered.
for c in rx ok tx; do
	v=$(stat $c)
	[ -n "$v" ] || fail "stats line has no $c="
	if [ "$v" -lt $((want + PROBES_OK)) ] || [ "$v" -gt $(((want + PROBES_SENT) * 7)) ]; then
		fail "stats $c=$v, want $want plus $PROBES_OK..$PROBES_SENT readiness probes (x7 retransmissions at most)"
	fi
done
[ "$(stat rx)" = "$(stat ok)" ] && [ "$(stat ok)" = "$(stat tx)" ] ||
	fail "stats rx=$(stat rx) ok=$(stat ok) tx=$(stat tx): every request must be answered once"
[ "$(stat tcp_accepted)" = 5 ] || fail "stats tcp_accepted=$(stat tcp_accepted), want 5"
for c in nonstun invalid ignored tx_errors tcp_closed_bad; do
	[ "$(stat $c)" = 0 ] || fail "stats $c=$(stat $c), want 0"
done

if ! command -v valgrind >/dev/null; then
	note "valgrind not installed: leak check skipped"
	exit 0
fi
# A sanitizer build (CI sets SKIP_VALGRIND there) cannot run under valgrind;
# LeakSanitizer checks its exits instead.
if [ "${SKIP_VALGRIND:-0}" = 1 ] || grep -q "__asan_init" "$TURND" 2>/dev/null; then
	note "sanitizer build: valgrind leak check skipped (LeakSanitizer covers it)"
	exit 0
fi

note "under valgrind"
TURND_WRAPPER=(valgrind --leak-check=full --error-exitcode=3
    "--errors-for-leak-kinds=definite,indirect" "--show-leak-kinds=definite,indirect")
READY_TRIES=40		# valgrind starts slowly: up to about 20 s
STOP_TIMEOUT=30
start_turnd --workers 2
open_partial ::1
wait_established ::1
do_bindings 2 2 2 2
stop_turnd
check_partial_closed
grep -q "stats: rx=" "$TURND_LOG" || fail "valgrind run: no stats line in the log"
grep -q "Memcheck" "$TURND_LOG" || fail "turnd did not run under valgrind"
grep -q "ERROR SUMMARY: 0 errors" "$TURND_LOG" ||
    fail "valgrind reported errors: $(grep "ERROR SUMMARY" "$TURND_LOG")"
note "valgrind: $(grep "ERROR SUMMARY" "$TURND_LOG")"
