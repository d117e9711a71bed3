#!/usr/bin/env bash
# bench/scale.sh: concurrent allocations on one machine (issue 5: 50,000).
#
#   bench/scale.sh [--allocs N] [--workers W] [--relay-ips "IP ..."] [--hold S] [--out DIR]
#
# Starts turnd with W workers (default 4) relaying on 127.0.0.2-127.0.0.5
# (16,384 ports each with the RFC range), then enough `loadgen hold`
# processes (at most 16,000 allocations each, every one from its own
# 127.N.0.0/16 of client addresses) to hold N allocations (default 50,000),
# each with a permission and a channel. Once all stand, it reads turnd's
# RSS, its descriptors per thread (each worker has its own file table, so
# the hard RLIMIT_NOFILE bounds each worker, not the process) and the
# kernel's UDP memory; then every allocation is freed and turnd stopped.
# Prints one "SCALE key=value ..." line and a short summary.
#
# Environment: TURND (default build/turnd), LOADGEN (build/bench/loadgen,
# else bench/loadgen built with bench/Makefile). Traffic stays on 127.0.0.0/8.
# Every process is started here and stopped by its PID (also on exit); each
# loadgen gives up by itself after its setup timeout and --hold seconds.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
BUILD=${BUILD:-$TOP/build}
N=50000
WORKERS=4
RELAY_IPS="127.0.0.2 127.0.0.3 127.0.0.4 127.0.0.5"
HOLD=60			# seconds the allocations stand at most, after the setup
SETUP=60		# seconds each loadgen may take to set its allocations up
OUT=

while [ $# -gt 0 ]; do
	case $1 in
	--allocs) N=$2; shift ;;
	--workers) WORKERS=$2; shift ;;
	--relay-ips) RELAY_IPS=$2; shift ;;
	--hold) HOLD=$2; shift ;;
	--out) OUT=$2; shift ;;
	-h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d'; exit 0 ;;
	*) echo "scale.sh: unknown argument $1" >&2; exit 64 ;;
	esac
	shift
done

TURND=${TURND:-$BUILD/turnd}
if [ -z "${LOADGEN:-}" ]; then
	LOADGEN=$BUILD/bench/loadgen
	if [ ! -x "$LOADGEN" ]; then
		LOADGEN=$HERE/loadgen
		make -s -C "$HERE" BUILD="$BUILD" >/dev/null || { echo "scale.sh: cannot build bench/" >&2; exit 1; }
	fi
fi
for b in "$TURND" "$LOADGEN"; do
	[ -x "$b" ] || { echo "scale.sh: $b is missing (make -C build check builds both)" >&2; exit 1; }
done
# Each loadgen holds a socket per allocation, under this process's limit.
PER_PROC=$(( $(ulimit -Hn) - 200 ))
[ "$PER_PROC" -gt 16000 ] && PER_PROC=16000
[ "$PER_PROC" -gt 0 ] || { echo "scale.sh: the open file limit is too low" >&2; exit 1; }
OUT=${OUT:-$(mktemp -d /tmp/mini_rtc-scale.XXXXXX)}
mkdir -p "$OUT"

PIDS=""
cleanup() {
	local p
	for p in $PIDS; do kill "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	PIDS=""
}
trap cleanup EXIT
trap 'echo "scale.sh: interrupted" >&2; exit 130' INT TERM
log() { printf '%s\n' "$*" >&2; }
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
udp_mem_pages() { awk '$1 == "UDP:" { for (i = 2; i < NF; i++) if ($i == "mem") print $(i + 1) }' /proc/net/sockstat; }

# A free port in 20000-29999 for turnd to listen on (UDP).
PORT=
for _ in $(seq 50); do
	p=$((20000 + RANDOM % 10000))
	ss -Hanu "sport = :$p" 2>/dev/null | grep -q . || { PORT=$p; break; }
done
[ -n "$PORT" ] || { log "scale.sh: no free port"; exit 1; }
SERVER=127.0.0.1:$PORT

relay_args=()
for ip in $RELAY_IPS; do relay_args+=(--relay-ip "$ip"); done
"$TURND" -f --listen "$SERVER" --tcp false --workers "$WORKERS" "${relay_args[@]}" \
    --user scale:scale-pw --allow-peer 127.0.0.0/8 >"$OUT/turnd.log" 2>&1 &
TURND_PID=$!
PIDS="$TURND_PID"
for _ in $(seq 100); do
	ss -Hlun "src $SERVER" 2>/dev/null | grep -q . && break
	kill -0 "$TURND_PID" 2>/dev/null || { log "turnd did not start:"; cat "$OUT/turnd.log" >&2; exit 1; }
	sleep 0.05
done
sleep 0.2
rss0=$(rss_kib "$TURND_PID")
mem0=$(udp_mem_pages)
log "turnd $TURND_PID on $SERVER, $WORKERS workers, relays on $RELAY_IPS; RSS $rss0 KiB"
log "open file limit: $(ulimit -Hn) (hard), per file table"

# The loadgen processes: each holds at most PER_PROC allocations.
nproc_lg=$(( (N + PER_PROC - 1) / PER_PROC ))
t0=$(date +%s.%N)
left=$N
LG_PIDS=()
for ((k = 0; k < nproc_lg; k++)); do
	n=$(( left < PER_PROC ? left : PER_PROC ))
	left=$((left - n))
	"$LOADGEN" hold --server "$SERVER" --user scale --pass scale-pw --allocs "$n" \
	    --peers 1 --bind "127.$((100 + k)).0.0/16" --setup-timeout "$SETUP" \
	    --hold "$((SETUP + HOLD))" \
	    >"$OUT/hold.$k.out" 2>&1 &
	LG_PIDS+=($!)
	PIDS="$PIDS $!"
done
ready=0
for ((k = 0; k < nproc_lg; k++)); do
	for _ in $(seq $(( (SETUP + 5) * 20 ))); do	# the setup timeout and some
		grep -q '^READY' "$OUT/hold.$k.out" && break
		kill -0 "${LG_PIDS[$k]}" 2>/dev/null || break
		sleep 0.05
	done
	r=$(sed -n 's/^READY .*ready=\([0-9]*\).*/\1/p' "$OUT/hold.$k.out")
	ready=$((ready + ${r:-0}))
done
t1=$(date +%s.%N)
setup_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
rss1=$(rss_kib "$TURND_PID")
mem1=$(udp_mem_pages)
tables=""
maxfd=0
for task in /proc/"$TURND_PID"/task/*; do
	c=$(find "$task/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
	tables="$tables${tables:+,}$c"
	[ "$c" -gt "$maxfd" ] && maxfd=$c
done
log "$ready of $N allocations stand after $setup_s s; RSS $rss1 KiB; descriptors per thread: $tables"

for p in "${LG_PIDS[@]}"; do kill -USR1 "$p" 2>/dev/null; done
for p in "${LG_PIDS[@]}"; do wait "$p" 2>/dev/null; done
kill -TERM "$TURND_PID"
wait "$TURND_PID"
rc=$?
PIDS=""
stats=$(grep ' stats: ' "$OUT/turnd.log" | tail -n 1)
stat() { local v; v=$(printf '%s\n' "$stats" | grep -o " $1=[0-9]*" | cut -d= -f2); echo "${v:-0}"; }
per_alloc_b=$(( ready > 0 ? (rss1 - rss0) * 1024 / ready : 0 ))
kmem_kib=$(( (mem1 - mem0) * 4 ))
echo "SCALE allocs=$N ready=$ready workers=$WORKERS setup_s=$setup_s rss0_kib=$rss0" \
    "rss1_kib=$rss1 rss_per_alloc_b=$per_alloc_b udp_kmem_kib=$kmem_kib fds_per_thread=$tables" \
    "max_fds_one_table=$maxfd nofile_hard=$(ulimit -Hn) turnd_allocs=$(stat allocs)" \
    "turnd_freed=$(stat freed) e508=$(stat e508) exit=$rc" | tee "$OUT/scale.txt"
log "user space: $((rss1 - rss0)) KiB for $ready allocations = $per_alloc_b bytes each;" \
    "kernel: UDP memory (sockstat mem) grew by $kmem_kib KiB"
[ "$ready" -eq "$N" ] && [ "$rc" -eq 0 ] && [ "$(stat freed)" -eq "$N" ] && [ "$(stat e508)" -eq 0 ]
