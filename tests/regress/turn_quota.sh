#!/bin/bash
# turn_quota.sh: allocation quotas seen by turnutils_uclient: --user-quota (486) per user, shared-secret users counted by their user id, released when a TCP client leaves; --total-quota (508).
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
watchdog 60
need_uclient

# Each uclient client first makes a probe allocation, then its real one
# (without RTCP, -c), and only then closes the probe's socket without
# deleting it: two allocations at once. Over UDP the probe's allocation
# lives on in turnd; over TCP turnd frees it at the close.
S=quota-secret
one=(-c -n 10 -m 1 -l 200)

# hold NAME ARGS...: start a TCP client that keeps its real allocation (-h:
# it hangs after sending); held NAME waits until it has relayed its 10
# messages.
hold() {
	local name=$1
	shift
	uclient_start "$name" -p "$PORT" -t -h "${one[@]}" "$@" -e 127.0.0.1 -r "$PEER_PORT" 127.0.0.1
}
held() {
	local name=$1 i
	for ((i = 0; i < 150; i++)); do
		if grep -q 'tot_recv_msgs=10,' "$T/uclient.$name.out"; then
			note "uclient $name holds its allocation"
			return 0
		fi
		alive "${UC_PID[$name]}" || break
		sleep 0.1
	done
	uclient_wait_one "$name"
	fail "uclient $name did not relay: $(_uclient_desc "$name")"
}

# unhold NAME: stop a holding client by PID (TCP: turnd frees at the close).
unhold() {
	kill_pid "${UC_PID[$1]}"
	bg_del "${UC_PID[$1]}"
	unset "UC_PID[$1]"
}

note "--user-quota 1: the second simultaneous allocation of a user gets 486"
start_turnd --workers 2 --user alice:wonderland --user bob:builder \
    --allow-peer 127.0.0.0/8 --user-quota 1
start_peer 127.0.0.1
peer=(-e 127.0.0.1 -r "$PEER_PORT")
uclient_run alice1 -p "$PORT" -u alice -w wonderland "${one[@]}" "${peer[@]}" 127.0.0.1
uclient_fails alice1 'error 486'
# bob has a quota of his own: his first allocation passes.
uclient_run bob1 -p "$PORT" -u bob -w builder "${one[@]}" "${peer[@]}" 127.0.0.1
uclient_fails bob1 'error 486'
# alice's UDP probe allocation outlives the client: now her first fails.
uclient_run alice2 -p "$PORT" -u alice -w wonderland "${one[@]}" "${peer[@]}" 127.0.0.1
uclient_fails alice2 'error 486'
stop_turnd
[ "$(turnd_stat allocs)" -eq 2 ] || fail "allocs=$(turnd_stat allocs), want 2 (alice's and bob's first)"
# (alice2 tries twice: uclient goes on after its probe failed)
[ "$(turnd_stat e486)" -ge 3 ] || fail "e486=$(turnd_stat e486), want 3 or more"

note "--user-quota 2 over TCP: per user id (shared-secret users too), released at the close"
start_turnd --workers 2 --user alice:wonderland --user bob:builder --secret "$S" \
    --allow-peer 127.0.0.0/8 --user-quota 2
stop_peer	# a port clear of the new turnd's
start_peer 127.0.0.1
peer=(-e 127.0.0.1 -r "$PEER_PORT")
hold alice-hold -u alice -w wonderland
hold carol-hold -W "$S" -u carol
held alice-hold
held carol-hold
uclient_start alice-over -p "$PORT" -t -u alice -w wonderland "${one[@]}" "${peer[@]}" 127.0.0.1
# Another username of the same user id: EXPIRY differs from uclient's own.
if command -v openssl >/dev/null; then
	carol=(-u "$(($(date +%s) + 600)):carol")
	carol+=(-w "$(rest_password "$S" "${carol[1]}")")
else
	carol=(-W "$S" -u carol)
fi
uclient_start carol-over -p "$PORT" -t "${carol[@]}" "${one[@]}" "${peer[@]}" 127.0.0.1
uclient_start bob-tcp -p "$PORT" -t -u bob -w builder "${one[@]}" "${peer[@]}" 127.0.0.1
uclient_start dave-rest -p "$PORT" -t -W "$S" -u dave "${one[@]}" "${peer[@]}" 127.0.0.1
for name in alice-over carol-over bob-tcp dave-rest; do
	uclient_wait_one "$name"	# not the holders
done
uclient_fails alice-over 'error 486'
uclient_fails carol-over 'error 486'
uclient_ok bob-tcp
uclient_ok dave-rest
unhold alice-hold
unhold carol-hold
sleep 0.5	# let turnd see the closes
uclient_start alice-again -p "$PORT" -t -u alice -w wonderland "${one[@]}" "${peer[@]}" 127.0.0.1
uclient_start carol-again -p "$PORT" -t -W "$S" -u carol "${one[@]}" "${peer[@]}" 127.0.0.1
uclient_wait
uclient_ok alice-again
uclient_ok carol-again
stop_turnd
[ "$(turnd_stat e486)" -eq 2 ] || fail "e486=$(turnd_stat e486), want 2"

note "--total-quota 2: the third allocation in all gets 508"
start_turnd --workers 2 --user alice:wonderland --user bob:builder \
    --allow-peer 127.0.0.0/8 --total-quota 2
stop_peer
start_peer 127.0.0.1
peer=(-e 127.0.0.1 -r "$PEER_PORT")
hold alice-hold -u alice -w wonderland
held alice-hold
uclient_start bob-over -p "$PORT" -t -u bob -w builder "${one[@]}" "${peer[@]}" 127.0.0.1
uclient_wait_one bob-over
uclient_fails bob-over 'error 508'
unhold alice-hold
stop_turnd
[ "$(turnd_stat e508)" -eq 1 ] || fail "e508=$(turnd_stat e508), want 1"
# alice's probe and real one, bob's probe (in turn, at most two at once)
[ "$(turnd_stat allocs)" -eq 3 ] || fail "allocs=$(turnd_stat allocs), want 3"
stop_peer
