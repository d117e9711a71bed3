#!/bin/bash
# turn_policy.sh: peer policy seen by turnutils_uclient: loopback peers are refused (403) unless --allow-peer, --deny-peer wins, turnd's own listeners are never peers; relay to relay works; the stats count the allocations.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
watchdog 60
need_uclient

# Relays in a range of their own, so that the peer's ports (from freeport,
# start_peer keeps them out of it) are not relay ports of turnd's address.
RLO=61000
RHI=61999
cred=(-u alice -w wonderland)
peer=(-c -n 30 -m 1 -l 200)	# to turnutils_peer: no RTCP, one client

# denied_logged IP PORT... REASON: turnd logged "peer IP:PORT denied for
# alice: REASON" for one of the ports (stop_turnd first).
denied_logged() {
	local ip=$1 reason=${*: -1} line
	local ports=("${@:2:$#-2}") p
	for p in "${ports[@]}"; do
		line="peer $ip:$p denied for alice: $reason"
		if grep -qF "$line" "$TURND_LOG"; then
			note "turnd: $line"
			return 0
		fi
	done
	fail "turnd did not log 'peer $ip:{${ports[*]}} denied for alice: $reason'"
}

note "no --allow-peer: loopback peers are refused, relay to relay works"
start_turnd --workers 2 --user alice:wonderland --relay-ports "$RLO-$RHI"
start_peer 127.0.0.1 "$RLO" "$RHI"
PP=$PEER_PORT
uclient_start own-chan -p "$PORT" "${cred[@]}" "${peer[@]}" -e 127.0.0.1 -r "$PP" 127.0.0.1
uclient_start own-send -p "$PORT" "${cred[@]}" "${peer[@]}" -s -e 127.0.0.1 -r "$PP" 127.0.0.1
uclient_start own-tcp -p "$PORT" -t "${cred[@]}" "${peer[@]}" -e 127.0.0.1 -r "$PP" 127.0.0.1
uclient_start loopback -p "$PORT" "${cred[@]}" "${peer[@]}" -e 127.0.0.2 -r "$PP" 127.0.0.1
uclient_start own6 -p "$PORT" "${cred[@]}" "${peer[@]}" -x -e ::1 -r "$PP" ::1
uclient_start relay2relay -p "$PORT" "${cred[@]}" -v -y -n 30 -m 2 -l 200 127.0.0.1
uclient_wait
uclient_fails own-chan 'channel bind: error 403'
uclient_fails own-send 'create permission error 403'
uclient_fails own-tcp 'channel bind: error 403'
uclient_fails loopback 'channel bind: error 403'
uclient_fails own6 'channel bind: error 403'
uclient_ok relay2relay
# Its relays are in the range asked for.
relays=$(sed -n 's/.*Received relay addr: .*:\([0-9]*\)$/\1/p' "$T/uclient.relay2relay.out")
[ -n "$relays" ] || fail "uclient relay2relay: no relay address shown"
for p in $relays; do
	if [ "$p" -lt "$RLO" ] || [ "$p" -gt "$RHI" ]; then
		fail "relay port $p outside --relay-ports $RLO-$RHI"
	fi
done
stop_turnd
own="this server's address"	# (then why: not one of its relays)
denied_logged 127.0.0.1 "$PP" "$((PP + 1))" "$own"
denied_logged '[::1]' "$PP" "$((PP + 1))" "$own"
denied_logged 127.0.0.2 "$PP" "$((PP + 1))" "a reserved or private range"
[ "$(turnd_stat e403)" -ge 5 ] || fail "turnd counted $(turnd_stat e403) 403s, want 5 or more"
stop_peer

note "--allow-peer 127.0.0.0/8: loopback peers work, but not --deny-peer ones nor turnd's listeners"
start_turnd --workers 2 --user alice:wonderland --relay-ports "$RLO-$RHI" \
    --allow-peer 127.0.0.0/8 --allow-peer ::1/128 --deny-peer 127.0.0.2/32
start_peer 127.0.0.1 "$RLO" "$RHI"
PP=$PEER_PORT
uclient_start allowed-udp -p "$PORT" "${cred[@]}" -e 127.0.0.1 -r "$PP" -n 30 -m 2 -l 200 127.0.0.1
uclient_start allowed-tcp -p "$PORT" -t -s "${cred[@]}" "${peer[@]}" -e 127.0.0.1 -r "$PP" 127.0.0.1
uclient_start deny-list -p "$PORT" "${cred[@]}" "${peer[@]}" -e 127.0.0.2 -r "$PP" 127.0.0.1
uclient_start listener -p "$PORT" "${cred[@]}" "${peer[@]}" -e 127.0.0.1 -r "$PORT" 127.0.0.1
uclient_start listener-send -p "$PORT" -t -s "${cred[@]}" "${peer[@]}" -e 127.0.0.1 -r "$PORT" 127.0.0.1
uclient_start listener6 -p "$PORT" "${cred[@]}" "${peer[@]}" -x -e ::1 -r "$PORT" ::1
uclient_wait
uclient_ok allowed-udp
uclient_ok allowed-tcp
uclient_fails deny-list 'channel bind: error 403'
uclient_fails listener 'channel bind: error 403'
uclient_fails listener-send 'create permission error 403'
uclient_fails listener6 'channel bind: error 403'
stop_turnd
stop_peer
denied_logged 127.0.0.2 "$PP" "$((PP + 1))" "in deny_peer"
denied_logged 127.0.0.1 "$PORT" "a listener of this server"
denied_logged '[::1]' "$PORT" "a listener of this server"
if grep -q "peer 127\.0\.0\.1:$PP denied" "$TURND_LOG"; then
	fail "the allowed peer was denied: $(grep denied "$TURND_LOG" | head -n 3)"
fi

# The stats line at SIGTERM counts the allocations made.
grep -q ' stats: ' "$TURND_LOG" || fail "turnd logged no stats line at SIGTERM"
allocs=$(turnd_stat allocs)
[ "$allocs" -gt 0 ] || fail "stats: allocs=$allocs, want more than 0"
note "stats: allocs=$allocs e403=$(turnd_stat e403)"

# A port of turnd's own address inside the relay range is no peer either
# unless one of turnd's relays has it: here turnutils_peer has it. (uclient
# binds a channel to the peer's port + 1 first: ask for PP-1.)
note "no --allow-peer: a port of turnd's address in the relay range, not its relay's, is refused"
start_peer 127.0.0.1
PP=$PEER_PORT
[ "$PP" -le 65500 ] || skip "peer port $PP too high for a relay range above it"
start_turnd --workers 2 --user alice:wonderland --relay-ports "$PP-$((PP + 30))"
uclient_run in-range -p "$PORT" "${cred[@]}" "${peer[@]}" -e 127.0.0.1 -r "$((PP - 1))" 127.0.0.1
uclient_fails in-range 'channel bind: error 403'
stop_turnd
stop_peer
denied_logged 127.0.0.1 "$PP" "$own"
