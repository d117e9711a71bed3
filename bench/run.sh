#!/usr/bin/env bash
# bench/run.sh: one benchmark run on this machine: turnd, coturn's turnserver and
# the ceiling (bench/fwd: a recvmmsg/sendmmsg forwarder and echo), configured
# alike, pinned to the same core, driven by bench/loadgen pinned to another.
#
#   bench/run.sh [--quick] [--repeat N] [--out DIR] [--srv-cpu N] [--gen-cpu N] [--no-coturn]
#   bench/run.sh --report DIR      print the tables of an earlier run again
#
# --repeat N runs each saturation measurement N times and keeps the median
# (by work per server CPU-second); the default full run (N=1) takes ~9
# minutes on 2 cores, --quick about 40 s.
#
# Environment: TURND (default build/turnd), TURNSERVER (turnserver on PATH),
# LOADGEN and FWD (default bench/loadgen and bench/fwd, built with bench/Makefile
# when missing), BUILD (the out-of-tree build, default ../build).
# Traffic stays on 127.0.0.0/8: turnd on 127.0.0.2, coturn on 127.0.0.3, the
# forwarder on 127.0.0.4, clients on 127.N.x.y, peers on 127.0.0.1.
# Every process is started here, stopped by its PID, and on exit (trap).
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
BUILD=${BUILD:-$TOP/build}
QUICK=0
OUT=
SRV_CPU=1
GEN_CPU=0
USE_COTURN=1
REPORT_ONLY=
REPEAT=1

while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--out) OUT=$2; shift ;;
	--srv-cpu) SRV_CPU=$2; shift ;;
	--gen-cpu) GEN_CPU=$2; shift ;;
	--no-coturn) USE_COTURN=0 ;;
	--report) REPORT_ONLY=$2; OUT=$2; shift ;;
	--repeat) REPEAT=$2; shift ;;
	-h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d'; exit 0 ;;
	*) echo "run.sh: unknown argument $1" >&2; exit 64 ;;
	esac
	shift
done

TURND=${TURND:-$BUILD/turnd}
LOADGEN=${LOADGEN:-$HERE/loadgen}
FWD=${FWD:-$HERE/fwd}
TURNSERVER=${TURNSERVER:-$(command -v turnserver || true)}
if [ "$LOADGEN" = "$HERE/loadgen" ] || [ "$FWD" = "$HERE/fwd" ]; then
	make -s -C "$HERE" BUILD="$BUILD" >/dev/null || { echo "run.sh: cannot build bench/" >&2; exit 1; }
fi
for b in "$TURND" "$LOADGEN" "$FWD"; do
	[ -x "$b" ] || { echo "run.sh: $b is missing (build turnd first: make -C build turnd)" >&2; exit 1; }
done
if [ "$USE_COTURN" = 1 ] && [ -z "$TURNSERVER" ]; then
	echo "run.sh: turnserver (package coturn) not found; --no-coturn to run without it" >&2
	exit 1
fi
if [ "$(nproc)" -lt 2 ] || [ "$SRV_CPU" = "$GEN_CPU" ]; then
	echo "run.sh: needs two cores, one for the servers and one for the generator" >&2
	exit 1
fi

OUT=${OUT:-$(mktemp -d /tmp/mini_rtc-bench.XXXXXX)}
mkdir -p "$OUT"
RES=$OUT/results.txt
[ -n "$REPORT_ONLY" ] || : >"$RES"
USER_NAME=bench
USER_PASS=bench-pw-$$
REALM=bench

# ---- parameters: full (~6-8 min on 2 cores) and --quick (~1 min) ----
if [ "$QUICK" = 1 ]; then
	DUR=1; WARM=0.3; DFIX=1; RSS_N=200
	RELAY_CONFIGS="chan:100:1 chan:100:100 send:100:1"
	FIXED_CONFIGS="chan:100:100"
	RATES="30000"
else
	DUR=3; WARM=0.5; DFIX=2; RSS_N=1000
	RELAY_CONFIGS=""
	for k in chan send; do for s in 100 1000; do for n in 1 100 1000; do
		RELAY_CONFIGS="$RELAY_CONFIGS $k:$s:$n"
	done; done; done
	FIXED_CONFIGS=$RELAY_CONFIGS
	RATES="10000 30000 60000"
	DFIX=1.5
fi
RELAY_WINDOW=64		# datagrams in flight (closed loop): no drops at turnd's default 208 KiB rcvbuf
BIND_WINDOW=128
BIND_SOCKETS=64
ALLOC_SOCKETS=64
RTT_RATE=1000
RTT_DUR=10; RTT_ROUNDS=3	# p99 needs samples: 10,000 per round; rounds alternate the servers
[ "$QUICK" = 1 ] && { RTT_DUR=2; RTT_ROUNDS=1; }
PEERS=1			# one peer socket shared by all allocations (keeps the generator light)
NOISE_MAX=10		# % of a core other processes may take during a measurement

# ---- process bookkeeping ----
PIDS=""
cleanup() {
	local p
	for p in $PIDS; do
		kill "$p" 2>/dev/null
	done
	for p in $PIDS; do
		wait "$p" 2>/dev/null
	done
	PIDS=""
}
trap cleanup EXIT
trap 'echo "run.sh: interrupted" >&2; exit 130' INT TERM

track() { PIDS="$PIDS $1"; }
untrack() {
	local p keep=""
	for p in $PIDS; do [ "$p" = "$1" ] || keep="$keep $p"; done
	PIDS=$keep
}
stop_pid() {
	[ -n "${1:-}" ] || return 0
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	untrack "$1"
}

log() { printf '%s\n' "$*" >&2; }

# A UDP+TCP port free on every address, from a random start in 20000-29999.
port_busy() {	# port_busy FIRST COUNT: is any port of the range in use?
	ss -Hanu 2>/dev/null | awk -v a="$1" -v n="$2" '
		{ p = $4; sub(/.*:/, "", p); if (p + 0 >= a && p + 0 < a + n) busy = 1 }
		END { exit busy ? 0 : 1 }' && return 0
	ss -Hant 2>/dev/null | awk -v a="$1" -v n="$2" '
		{ p = $4; sub(/.*:/, "", p); if (p + 0 >= a && p + 0 < a + n) busy = 1 }
		END { exit busy ? 0 : 1 }'
}
pick_ports() {	# pick_ports COUNT: print the first of COUNT free consecutive ports
	local i p
	for i in $(seq 50); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % (10000 - $1)))
		if ! port_busy "$p" "$1"; then echo "$p"; return 0; fi
	done
	return 1
}
udp_bound() { ss -Hlun "src $1" 2>/dev/null | grep -q .; }
wait_bound() {	# wait_bound ADDR PID: until the server holds ADDR (5 s)
	local i
	for i in $(seq 100); do
		udp_bound "$1" && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# ---- servers ----
TURND_PID=; COTURN_PID=; FWD_PID=; ECHO_PID=
KPID=$(pgrep -x "ksoftirqd/$SRV_CPU" | head -1)

start_turnd() {
	TURND_PORT=$(pick_ports 1) || { log "no free port"; exit 1; }
	TURND_ADDR=127.0.0.2:$TURND_PORT
	taskset -c "$SRV_CPU" "$TURND" -f --listen "$TURND_ADDR" --workers 1 --tcp false \
	    --realm "$REALM" --user "$USER_NAME:$USER_PASS" --allow-peer 127.0.0.0/8 \
	    --relay-ports 49152-65535 >"$OUT/turnd.log" 2>&1 &
	TURND_PID=$!
	track "$TURND_PID"
	wait_bound "$TURND_ADDR" "$TURND_PID" || { log "turnd did not start:"; cat "$OUT/turnd.log" >&2; exit 1; }
}

start_coturn() {
	COTURN_PORT=$(pick_ports 1) || { log "no free port"; exit 1; }
	COTURN_ADDR=127.0.0.3:$COTURN_PORT
	# alike: one relay thread, UDP only, loopback peers, the same user, realm and port range
	taskset -c "$SRV_CPU" "$TURNSERVER" -n --listening-ip 127.0.0.3 --relay-ip 127.0.0.3 \
	    --listening-port "$COTURN_PORT" --relay-threads 1 --min-port 49152 --max-port 65535 \
	    --lt-cred-mech --user "$USER_NAME:$USER_PASS" --realm "$REALM" \
	    --allow-loopback-peers --no-cli --no-tls --no-dtls --no-tcp \
	    --db "$OUT/coturn.db" --log-file "$OUT/coturn.log" --simple-log --no-stdout-log \
	    --pidfile "$OUT/coturn.pid" >"$OUT/coturn.out" 2>&1 &
	COTURN_PID=$!
	track "$COTURN_PID"
	wait_bound "$COTURN_ADDR" "$COTURN_PID" || { log "coturn did not start:"; tail "$OUT/coturn.out" >&2; exit 1; }
}

start_fwd() {	# start_fwd N GSO(0/1)
	local n=$1 gso=$2 i
	FWD_BASE=$(pick_ports $((2 * n))) || { log "no free port range"; exit 1; }
	taskset -c "$SRV_CPU" "$FWD" relay --ip 127.0.0.4 --base "$FWD_BASE" --pairs "$n" \
	    $([ "$gso" = 1 ] && echo --gso) --lifetime 600 >"$OUT/fwd.out" 2>>"$OUT/fwd.err" &
	FWD_PID=$!
	track "$FWD_PID"
	for i in $(seq 100); do grep -q READY "$OUT/fwd.out" && return 0; sleep 0.05; done
	log "fwd did not start"; exit 1
}

start_echo() {
	ECHO_PORT=$(pick_ports 1) || exit 1
	taskset -c "$SRV_CPU" "$FWD" echo --listen "127.0.0.4:$ECHO_PORT" --lifetime 600 \
	    >"$OUT/echo.out" 2>>"$OUT/fwd.err" &
	ECHO_PID=$!
	track "$ECHO_PID"
	wait_bound "127.0.0.4:$ECHO_PORT" "$ECHO_PID" || { log "echo did not start"; exit 1; }
}

# ---- the generator ----
NET=1	# each loadgen run takes its own client network 127.NET.0.0/16
noise_of() {	# CPU time of other processes in the window, in % of one core
	echo "$1" | tr ' ' '\n' | awk -F= -v s="$SRV_CPU" -v g="$GEN_CPU" '
		{ v[$1] = $2 }
		END {
			w = v["window_s"]; if (w <= 0) { print 0; exit }
			if ("others_cpu_s" in v) { printf "%.0f\n", 100 * v["others_cpu_s"] / w; exit }
			a = v["cpu" s "_busy_s"] - v["srv_cpu_s"] - v["ksirq_s"]
			if (v["srv_cpu_s"] == 0 && v["ksirq_s"] == 0) a = 0	# no server (direct)
			b = v["cpu" g "_busy_s"] - v["gen_cpu_s"]
			printf "%.0f\n", 100 * (a > b ? a : b) / w
		}'
}
lg() {	# lg ID SERVER-NAME SERVER-PID loadgen-args...: a measurement into $RES
	local id=$1 name=$2 pid=$3 rep lines="" line
	case $id in sat:*|binding|alloc) ;; *) lg1 "$@"; return ;; esac
	for rep in $(seq "$REPEAT"); do
		lg1 "$@" && lines="$lines$LG_LINE
"
	done
	# the median by work per server CPU-second
	line=$(printf '%s' "$lines" | awk 'NF { delete v
		for (i = 3; i <= NF; i++) { split($i, b, "="); v[b[1]] = b[2] }
		c = v["srv_cpu_s"] + v["ksirq_s"]; printf "%.3f %s\n", (c > 0 ? v["work"] / c : 0), $0 }' |
	    sort -n | awk '{ l[NR] = $0 } END { if (NR) print l[int((NR + 1) / 2)] }' | cut -d' ' -f2-)
	[ -n "$line" ] || return 1
	[ "$REPEAT" -gt 1 ] && line="$line repeats=$REPEAT"
	echo "$line" >>"$RES"
}
lg1() {	# lg1 ID SERVER-NAME SERVER-PID loadgen-args...: one measurement, kept in LG_LINE (and in $RES when REPEAT=1 or not saturation)
	local id=$1 name=$2 pid=$3 line try noise best="" bestnoise=1000
	shift 3
	# Other processes spoil a measurement: retry (at most twice) when they took
	# more than NOISE_MAX % of a core in the window, and keep the quietest.
	for try in 1 2 3; do
		NET=$((NET % 250 + 1))
		line=$(timeout -s TERM 120 taskset -c "$GEN_CPU" "$LOADGEN" "$@" --bind "127.$NET.0.0/16" \
		    ${pid:+--pid $pid} ${KPID:+--kpid $KPID} 2>>"$OUT/loadgen.err" | grep '^RESULT')
		[ -n "$line" ] || continue
		noise=$(noise_of "$line")
		if [ "$noise" -lt "$bestnoise" ]; then best=$line; bestnoise=$noise; fi
		[ "$noise" -le "$NOISE_MAX" ] && break
		log "  ($id $name: other processes took ${noise}% of a core; again)"
	done
	line=$best
	if [ -z "$line" ]; then
		log "  $id $name: no result (see $OUT/loadgen.err)"
		return 1
	fi
	LG_LINE="$id $name ${line#RESULT } noise_pct=$bestnoise tries=$try"
	case $id in sat:*|binding|alloc) ;; *) echo "$LG_LINE" >>"$RES" ;; esac
	printf '  %-26s %-7s %s\n' "$id" "$name" "$(echo "$line" | tr ' ' '\n' |
	    awk -F= '$1 ~ /^(work_per_s|work_per_cpu_ks_s|srv_cpu_pct|loss_pct|rtt_p50_us|rtt_p99_us|gen_cpu_pct)$/ { printf "%s=%s ", $1, $2 }')" >&2
}

servers() {	# the TURN servers as "name:addr:pid"
	echo "turnd:$TURND_ADDR:$TURND_PID"
	[ "$USE_COTURN" = 1 ] && echo "coturn:$COTURN_ADDR:$COTURN_PID"
}

rss_test() {	# rss_test NAME ADDR PID
	local name=$1 addr=$2 pid=$3 f=$OUT/hold.out r0 r1 lgp i n
	for n in 100 "$RSS_N"; do	# the first hold touches one-time memory
		NET=$((NET % 250 + 1))
		r0=$(rss_kib "$pid")
		taskset -c "$GEN_CPU" "$LOADGEN" hold --server "$addr" --bind "127.$NET.0.0/16" \
		    --user "$USER_NAME" --pass "$USER_PASS" --allocs "$n" --kind chan --hold 60 \
		    >"$f" 2>>"$OUT/loadgen.err" &
		lgp=$!
		track "$lgp"
		for i in $(seq 300); do grep -q '^READY' "$f" && break; sleep 0.1; done
		sleep 0.3
		r1=$(rss_kib "$pid")
		kill -USR1 "$lgp" 2>/dev/null
		wait "$lgp" 2>/dev/null
		untrack "$lgp"
	done
	echo "rss $name n=$RSS_N ready=$(sed -n 's/^READY.* ready=\([0-9]*\).*/\1/p' "$f") before_kib=$r0 after_kib=$r1 per1000_kib=$(( (r1 - r0) * 1000 / RSS_N ))" >>"$RES"
	log "  rss $name: $r0 -> $r1 KiB for $RSS_N allocations"
}

# ---- the report ----
report() {
{
echo
echo "mini_rtc benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $(nproc) x $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)"
echo "servers pinned to cpu$SRV_CPU (turnd --workers 1; coturn $("${TURNSERVER:-false}" --version 2>/dev/null | head -1) --relay-threads 1), generator on cpu$GEN_CPU; $((T_END - T_START)) s; raw results: $RES"
echo "turnd: $TURND_INFO"
echo "eff = work per server CPU-second: utime+stime of the server process (/proc/PID/stat) plus ksoftirqd/$SRV_CPU, over the measured window;"
echo "cpu = that CPU time in % of the window; core = cpu$SRV_CPU busy in % (wall - idle: adds softirq run in idle context, wake-ups, and"
echo "any other process on the core). A server below ~90% cpu at saturation was not the bottleneck (the generator was)."
awk -v dur="$DUR" -v rw="$RELAY_WINDOW" -v bw="$BIND_WINDOW" -v nmax="$NOISE_MAX" '
function kv(line, key,   i, n, a, b) {
	n = split(line, a, " ")
	for (i = 3; i <= n; i++) { split(a[i], b, "="); if (b[1] == key) return b[2] }
	return ""
}
function si(v) {
	if (v == "") return "-"
	if (v >= 1e6) return sprintf("%.2fM", v / 1e6)
	if (v >= 1e4) return sprintf("%.0fk", v / 1e3)
	if (v >= 1e3) return sprintf("%.1fk", v / 1e3)
	return sprintf("%.0f", v)
}
function eff(line,   w, c) {
	w = kv(line, "work"); c = kv(line, "srv_cpu_s") + kv(line, "ksirq_s")
	return c > 0 ? w / c : ""
}
function core(line) {
	return 100 * kv(line, "cpu'"$SRV_CPU"'_busy_s") / kv(line, "window_s")
}
function flags(line) {
	return (kv(line, "srv_cpu_pct") >= 90 ? "S" : " ") (kv(line, "noise_pct") > nmax ? "~" : " ")
}
function cell(line) {
	if (line == "") return sprintf("%7s %7s %4s %4s  ", "-", "-", "-", "-")
	return sprintf("%7s %7s %4.0f %4.0f%s", si(kv(line, "work_per_s")), si(eff(line)),
	    kv(line, "srv_cpu_pct"), core(line), flags(line))
}
function ratio(a, b) { return (a != "" && b != "" && b > 0) ? sprintf("%.2f", a / b) : "-" }
function pct(a, b) { return (a != "" && b != "" && b > 0) ? sprintf("%.0f%%", 100 * a / b) : "-" }
$1 == "rss" { rss[$2] = $0; next }
{ R[$1, $2] = $0; if (!($1 in seen)) { seen[$1] = 1; order[++no] = $1 } }
END {
	print ""
	print "1. Saturation: closed loop (" bw " Binding requests / " rw " relayed datagrams in flight); rate = per wall second"
	print "   S = the server was the bottleneck (cpu >= 90%); ~ = still noisy after retries (other processes took > " nmax "% of a core)"
	printf "%-24s | %-27s | %-27s | %-27s | %5s | %6s | %s\n", "workload", "turnd    rate     eff cpu core",
	    "coturn   rate     eff cpu core", "ceiling  rate     eff cpu core", "t/c", "t/ceil", "loss% t/c"
	for (i = 1; i <= no; i++) {
		id = order[i]
		if (id != "binding" && id != "alloc" && id !~ /^sat:(chan|send)/) continue
		t = R[id, "turnd"]; c = R[id, "coturn"]; ce = ""
		if (id == "binding") { ce = R[id, "ceiling"]; label = "Binding requests" }
		else if (id == "alloc") label = "Allocates (401+2 txn)"
		else {
			split(id, p, ":"); ce = R["sat:raw:" p[3] ":" p[4], "ceiling"]
			label = sprintf("%s %sB x%s", p[2] == "chan" ? "ChannelData" : "Send ind.", p[3], p[4])
		}
		printf "%-24s | %s | %s | %s | %5s | %6s | %s/%s\n", label, cell(t), cell(c), cell(ce),
		    ratio(eff(t), eff(c)), pct(eff(t), eff(ce)), t == "" ? "-" : kv(t, "loss_pct") + 0,
		    c == "" ? "-" : kv(c, "loss_pct") + 0
	}
	print ""
	print "   The forwarder with UDP GSO at 1 allocation (bursts to one destination), for the GSO target:"
	for (i = 1; i <= no; i++) {
		id = order[i]
		if (id !~ /^sat:raw:.*:1$/ || R[id, "ceilgso"] == "") continue
		split(id, p, ":")
		g = R[id, "ceilgso"]; ng = R[id, "ceiling"]
		tc = R["sat:chan:" p[3] ":1", "turnd"]
		printf "   %4sB: fwd+GSO %s/s, eff %s (fwd without GSO: eff %s); turnd ChannelData x1 eff %s = %s of fwd without GSO\n",
		    p[3], si(kv(g, "work_per_s")), si(eff(g)), si(eff(ng)), si(eff(tc)), pct(eff(tc), eff(ng))
	}
	print ""
	print "2. Fixed offered rates: open loop, paced, no GSO; rate = client datagrams/s, each echoed by the peer (2 relayed per round trip)"
	print "   sirq = softirq in % of the server core (/proc/stat); ! = the generator could not offer the full rate; ~ = noisy"
	printf "%-22s %6s | %-34s | %-34s | %-34s | %-13s | %s\n", "config", "rate",
	    "turnd  loss% cpu% sirq%    eff p50/p99us", "coturn loss% cpu% sirq%    eff p50/p99us",
	    "ceiling loss% cpu% sirq%   eff p50/p99us", "direct p50/p99", "t/c eff"
	for (i = 1; i <= no; i++) {
		id = order[i]
		if (id !~ /^fix:(chan|send)/) continue
		split(id, p, ":")
		t = R[id, "turnd"]; c = R[id, "coturn"]
		rid = "fix:raw:" p[3] ":" p[4] ":" p[5]; ce = R[rid, "ceiling"]; d = R[rid, "direct"]
		printf "%-22s %6s | %s | %s | %s | %13s | %s\n",
		    sprintf("%s %sB x%s", p[2] == "chan" ? "ChannelData" : "Send ind.", p[3], p[4]), si(p[5]),
		    fcell(t), fcell(c), fcell(ce), d == "" ? "-" : sprintf("%.0f/%.0f", kv(d, "rtt_p50_us"), kv(d, "rtt_p99_us")),
		    ratio(eff(t), eff(c))
	}
	print ""
	rn = kv(rss["turnd"], "n"); if (rn == "") rn = kv(rss["coturn"], "n")
	print "3. Memory: RSS growth for " rn " allocations held open (each with one permission and one channel), per 1000"
	tr = kv(rss["turnd"], "per1000_kib"); cr = kv(rss["coturn"], "per1000_kib")
	printf "   turnd %s KiB, coturn %s KiB per 1000 allocations (%s KiB vs %s KiB each); turnd/coturn %s\n",
	    tr == "" ? "-" : tr, cr == "" ? "-" : cr, tr == "" ? "-" : sprintf("%.2f", tr / 1000),
	    cr == "" ? "-" : sprintf("%.2f", cr / 1000), ratio(tr, cr)
	print ""
	print "4. Round-trip time (client -> relay -> peer -> relay -> client), 1 allocation, 100 B, at a low fixed rate"
	print "   (median over the rounds; the p99 of each round in brackets)"
	for (i = 1; i <= 4; i++) {
		n = i == 1 ? "turnd" : i == 2 ? "coturn" : i == 3 ? "ceiling" : "direct"
		k = 0; each = ""
		for (r = 0; r <= 9; r++) {
			l = R["rtt" (r ? r : ""), n]
			if (l == "") continue
			k++; p50[k] = kv(l, "rtt_p50_us"); p99[k] = kv(l, "rtt_p99_us")
			mx[k] = kv(l, "rtt_max_us"); ls[k] = kv(l, "loss_pct")
			each = each (each == "" ? "" : " ") sprintf("%.0f", p99[k])
		}
		if (k == 0) continue
		printf "   %-8s p50 %6.0f us  p99 %6.0f us  max %6.0f us  loss %s%%  [%s]\n", n, median(p50, k),
		    median(p99, k), median(mx, k), median(ls, k), each
	}
}
function median(a, k,   i, j, t, b) {	# of a[1..k], a left as it was
	for (i = 1; i <= k; i++) b[i] = a[i] + 0
	for (i = 2; i <= k; i++) for (j = i; j > 1 && b[j - 1] > b[j]; j--) { t = b[j]; b[j] = b[j - 1]; b[j - 1] = t }
	return k % 2 ? b[(k + 1) / 2] : (b[k / 2] + b[k / 2 + 1]) / 2
}
function fcell(line,   short) {
	if (line == "") return sprintf("%34s", "-")
	short = kv(line, "meas_tx") < 0.97 * kv(line, "rate") * kv(line, "window_s") ? "!" : \
	    kv(line, "noise_pct") > nmax ? "~" : " "
	return sprintf("%s%5.2f %4.0f %5.1f %6s %5.0f/%-5.0f", short, kv(line, "loss_pct"), kv(line, "srv_cpu_pct"),
	    100 * kv(line, "cpu'"$SRV_CPU"'_sirq_s") / kv(line, "window_s"), si(eff(line)),
	    kv(line, "rtt_p50_us"), kv(line, "rtt_p99_us"))
}
' "$RES"
} | tee "$OUT/report.txt"
}

# ---- the run ----
if [ -n "$REPORT_ONLY" ]; then
	TURND_INFO=$(cat "$OUT/turnd.info" 2>/dev/null)
	T_START=0; T_END=0
	report
	exit 0
fi
log "mini_rtc benchmark: servers on cpu$SRV_CPU, generator on cpu$GEN_CPU, results in $OUT"
log "load before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
T_START=$(date +%s)
# Run a copy: the build may be rebuilt while we measure.
cp "$TURND" "$OUT/turnd.bin"
TURND_INFO="tree $(cd "$TOP" && git describe --always --dirty 2>/dev/null || echo no-git) at run time, binary $(date -u -r "$TURND" '+%Y-%m-%d %H:%M:%S UTC') sha256 $(sha256sum "$TURND" | cut -c1-12)"
TURND=$OUT/turnd.bin
log "turnd: $TURND_INFO"
echo "$TURND_INFO" >"$OUT/turnd.info"
start_turnd
[ "$USE_COTURN" = 1 ] && start_coturn

log "RSS per allocation (fresh servers; each allocation with a permission and a channel)"
for s in $(servers); do IFS=: read -r name ip port pid <<<"$s"; rss_test "$name" "$ip:$port" "$pid"; done

log "STUN Binding (closed loop, $BIND_SOCKETS sockets, $BIND_WINDOW in flight)"
for s in $(servers); do
	IFS=: read -r name ip port pid <<<"$s"
	lg binding "$name" "$pid" binding --server "$ip:$port" --sockets "$BIND_SOCKETS" \
	    --window "$BIND_WINDOW" --warmup "$WARM" --duration "$DUR"
done
start_echo
lg binding ceiling "$ECHO_PID" binding --server "127.0.0.4:$ECHO_PORT" --sockets "$BIND_SOCKETS" \
    --window "$BIND_WINDOW" --warmup "$WARM" --duration "$DUR"
stop_pid "$ECHO_PID"

log "Authenticated Allocates (401, signed Allocate, Refresh 0; $ALLOC_SOCKETS clients at once)"
for s in $(servers); do
	IFS=: read -r name ip port pid <<<"$s"
	lg alloc "$name" "$pid" alloc --server "$ip:$port" --user "$USER_NAME" --pass "$USER_PASS" \
	    --sockets "$ALLOC_SOCKETS" --warmup "$WARM" --duration "$DUR"
done

log "Relay, saturation (closed loop, $RELAY_WINDOW in flight, echo at the peers; generator bursts with GSO)"
ceil_done=""
for c in $RELAY_CONFIGS; do
	IFS=: read -r kind size n <<<"$c"
	for s in $(servers); do
		IFS=: read -r name ip port pid <<<"$s"
		lg "sat:$kind:$size:$n" "$name" "$pid" relay --server "$ip:$port" --user "$USER_NAME" \
		    --pass "$USER_PASS" --allocs "$n" --peers "$PEERS" --kind "$kind" --size "$size" \
		    --window "$RELAY_WINDOW" --gso --warmup "$WARM" --duration "$DUR"
	done
	case " $ceil_done " in *" $size:$n "*) continue ;; esac
	ceil_done="$ceil_done $size:$n"
	for gso in 0 1; do
		[ "$gso" = 1 ] && [ "$n" != 1 ] && continue
		start_fwd "$n" "$gso"
		lg "sat:raw:$size:$n" "$([ "$gso" = 1 ] && echo ceilgso || echo ceiling)" "$FWD_PID" \
		    raw --server "127.0.0.4:$FWD_BASE" --allocs "$n" --peers "$PEERS" --size "$size" \
		    --window "$RELAY_WINDOW" --gso --warmup "$WARM" --duration "$DUR"
		stop_pid "$FWD_PID"
	done
done

log "Relay at fixed offered rates (open loop, paced, no GSO; rate = client datagrams/s, echoed back)"
ceil_done=""
for c in $FIXED_CONFIGS; do
	IFS=: read -r kind size n <<<"$c"
	for r in $RATES; do
		for s in $(servers); do
			IFS=: read -r name ip port pid <<<"$s"
			lg "fix:$kind:$size:$n:$r" "$name" "$pid" relay --server "$ip:$port" \
			    --user "$USER_NAME" --pass "$USER_PASS" --allocs "$n" --peers "$PEERS" --kind "$kind" \
			    --size "$size" --rate "$r" --warmup 0.3 --duration "$DFIX"
		done
	done
	case " $ceil_done " in *" $size:$n "*) continue ;; esac
	ceil_done="$ceil_done $size:$n"
	start_fwd "$n" 0
	for r in $RATES; do
		lg "fix:raw:$size:$n:$r" ceiling "$FWD_PID" raw --server "127.0.0.4:$FWD_BASE" \
		    --allocs "$n" --peers "$PEERS" --size "$size" --rate "$r" --warmup 0.3 --duration "$DFIX"
		lg "fix:raw:$size:$n:$r" direct "" direct --allocs "$n" --peers "$PEERS" --size "$size" --rate "$r" \
		    --warmup 0.3 --duration "$DFIX"
	done
	stop_pid "$FWD_PID"
done

log "Round-trip time at $RTT_RATE pps (1 allocation, 100 B ChannelData; direct = peer echo over loopback)"
log "  $RTT_ROUNDS round(s) of $RTT_DUR s, the servers in turn, so drift on the machine hits all alike"
start_fwd 1 0
for round in $(seq "$RTT_ROUNDS"); do
	for s in $(servers); do
		IFS=: read -r name ip port pid <<<"$s"
		lg "rtt$round" "$name" "$pid" relay --server "$ip:$port" --user "$USER_NAME" \
		    --pass "$USER_PASS" --allocs 1 --kind chan --size 100 --rate "$RTT_RATE" \
		    --warmup 0.3 --duration "$RTT_DUR"
	done
	lg "rtt$round" ceiling "$FWD_PID" raw --server "127.0.0.4:$FWD_BASE" --allocs 1 --size 100 \
	    --rate "$RTT_RATE" --warmup 0.3 --duration "$RTT_DUR"
	lg "rtt$round" direct "" direct --allocs 1 --size 100 --rate "$RTT_RATE" --warmup 0.3 \
	    --duration "$RTT_DUR"
done
stop_pid "$FWD_PID"

# Server health after the run: still alive, and turnd's own counters.
for s in $(servers); do
	IFS=: read -r name ip port pid <<<"$s"
	kill -0 "$pid" 2>/dev/null || log "WARNING: $name (pid $pid) died during the run"
done
stop_pid "$TURND_PID"
[ "$USE_COTURN" = 1 ] && stop_pid "$COTURN_PID"
T_END=$(date +%s)
report
