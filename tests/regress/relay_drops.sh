#!/bin/bash
# relay_drops.sh: datagrams a relay socket's full buffer loses are counted (SO_RXQ_OVFL) and logged as relay_kernel_drops; nothing is counted when nothing is lost.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
watchdog 60
LOADGEN=$top_builddir/bench/loadgen
[ -x "$LOADGEN" ] || fail "$LOADGEN is missing (make check builds it)"

# hold_one: one allocation with a permission for 127.0.0.1 (loadgen's peer), held
# until SIGUSR1; sets HOLD_PID and RELAY_PORTS (turnd's relay sockets).
hold_one() {
	"$LOADGEN" hold --server "127.0.0.1:$PORT" --user u --pass p --allocs 1 --kind send \
	    --hold 30 >"$T/hold.out" 2>&1 &
	HOLD_PID=$!
	bg_add "$HOLD_PID"
	for _ in $(seq 100); do
		grep -q '^READY n=1 ready=1 ' "$T/hold.out" && break
		alive "$HOLD_PID" || break
		sleep 0.1
	done
	grep -q '^READY n=1 ready=1 ' "$T/hold.out" || fail "no allocation: $(cat "$T/hold.out")"
	# turnd's UDP sockets on 127.0.0.1 other than its listener. They live in
	# the worker's own file table, which ss -p does not read: match the
	# socket inodes of every thread against /proc/net/udp.
	local inodes
	inodes=$(find /proc/"$TURND_PID"/task/*/fd -type l -printf '%l\n' 2>/dev/null |
	    sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p' | sort -u | tr '\n' ' ')
	RELAY_PORTS=""
	for hex in $(awk -v inodes=" $inodes" -v lp="$(printf '%04X' "$PORT")" '
	    FNR > 1 && index(inodes, " " $10 " ") {
		split($2, a, ":"); if (a[1] == "0100007F" && a[2] != lp) print a[2]
	    }' /proc/net/udp); do
		RELAY_PORTS="$RELAY_PORTS $((16#$hex))"
	done
	[ -n "$RELAY_PORTS" ] || fail "no relay socket found for turnd $TURND_PID"
}
# blast N: N datagrams of 600 bytes from 127.0.0.1 to every relay socket.
blast() {
	local p i payload
	payload=$(head -c 600 /dev/zero | tr '\0' x)
	for p in $RELAY_PORTS; do
		for ((i = 0; i < $1; i++)); do
			printf '%s' "$payload" >"/dev/udp/127.0.0.1/$p"
		done
	done
}

note "a small relay buffer, turnd stopped while a peer sends: the losses are counted"
start_turnd --workers 1 --user u:p --relay-ip 127.0.0.1 --allow-peer 127.0.0.0/8 \
    --relay-buffer 4096
hold_one
kill -STOP "$TURND_PID"
blast 200
kill -CONT "$TURND_PID"
sleep 0.3
# The kernel tells the count with the next datagram queued after the losses.
blast 3
sleep 0.3
kill -USR1 "$HOLD_PID"
wait "$HOLD_PID" || true
stop_turnd
drops=$(turnd_stat relay_kernel_drops)
[ "$drops" -ge 100 ] || fail "relay_kernel_drops=$drops, want 100 or more of the 200 sent to a 4 KiB buffer"
note "relay_kernel_drops=$drops"

note "the default buffer, turnd running: nothing lost, nothing counted"
start_turnd --workers 1 --user u:p --relay-ip 127.0.0.1 --allow-peer 127.0.0.0/8
hold_one
blast 20
sleep 0.3
kill -USR1 "$HOLD_PID"
wait "$HOLD_PID" || true
stop_turnd
[ "$(turnd_stat relay_kernel_drops)" -eq 0 ] ||
    fail "relay_kernel_drops=$(turnd_stat relay_kernel_drops) with nothing lost"
note "ok"
