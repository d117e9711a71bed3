#!/bin/bash
# alloc_log.sh: allocation_log writes one line per ended allocation with its reason, user, client, relay and what it relayed; off by default.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
watchdog 60
LOADGEN=$top_builddir/bench/loadgen
[ -x "$LOADGEN" ] || fail "$LOADGEN is missing (make check builds it)"

note "off by default"
start_turnd --user alice:wonderland --allow-peer 127.0.0.0/8
run_stunclient --turn --user alice --password wonderland --timeout 5 127.0.0.1 "$PORT"
[ "$RC" -eq 0 ] || fail "stunclient --turn: exit $RC: $OUT"
stop_turnd
grep -q "allocation ended" "$TURND_LOG" && fail "allocation lines without allocation_log"

note "--allocation-log true: deleted by Refresh, with the bytes of stunclient's two probes"
start_turnd --allocation-log true --user alice:wonderland --allow-peer 127.0.0.0/8
run_stunclient --turn --user alice --password wonderland --timeout 5 127.0.0.1 "$PORT"
[ "$RC" -eq 0 ] || fail "stunclient --turn: exit $RC: $OUT"
local_addr=$(text_field "mapped address")
relayed=$(text_field "relayed address")
line=$(grep "allocation ended: " "$TURND_LOG" | tail -n 1)
want="allocation ended: reason=deleted user=alice client=udp:$local_addr relay=$relayed seconds=0 up=2/52B down=2/52B"
[ "${line#*turnd: info: }" = "$want" ] || fail "line: '$line', want '$want'"

note "allocations still held when turnd stops: reason=shutdown"
"$LOADGEN" hold --server "127.0.0.1:$PORT" --user alice --pass wonderland --allocs 2 --peers 1 \
    --hold 20 >"$T/hold.out" 2>&1 &
HOLD_PID=$!
bg_add "$HOLD_PID"
for _ in $(seq 100); do
	grep -q '^READY n=2 ready=2 ' "$T/hold.out" && break
	sleep 0.1
done
grep -q '^READY n=2 ready=2 ' "$T/hold.out" || fail "loadgen: $(cat "$T/hold.out")"
stop_turnd
[ "$(grep -c 'allocation ended: reason=shutdown user=alice client=udp:127\.' "$TURND_LOG")" -eq 2 ] ||
    fail "not two shutdown lines: $(grep 'allocation ended' "$TURND_LOG")"
kill_pid "$HOLD_PID"
note "ok"
