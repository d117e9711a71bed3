#!/bin/bash
# turn_uclient.sh: coturn's turnutils_uclient relays through turnd without loss: UDP and TCP, channels and Send indications, client to client and to turnutils_peer, with RTCP allocations (EVEN-PORT, RESERVATION-TOKEN) and without.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
watchdog 60
need_uclient

TUSER=alice
TPASS=wonderland

start_turnd --workers 2 --user "$TUSER:$TPASS" --allow-peer 127.0.0.0/8
start_peer 127.0.0.1

# Every combination at once (each run takes some 5 s, mostly uclient's own
# pauses): 4 clients, 50 messages of 200 bytes each, one every 20 ms.
NAMES=()
for tp in udp tcp; do
	for mode in chan send; do
		for to in c2c peer; do
			for rtcp in rtcp nortcp; do
				args=(-p "$PORT" -u "$TUSER" -w "$TPASS" -n 50 -m 4 -l 200)
				[ "$tp" = tcp ] && args+=(-t)
				[ "$mode" = send ] && args+=(-s)
				case $to in
				c2c) args+=(-y) ;;
				peer) args+=(-e 127.0.0.1 -r "$PEER_PORT") ;;
				esac
				# -v: relay addresses and reservation tokens.
				if [ "$rtcp" = rtcp ]; then args+=(-v); else args+=(-c); fi
				name=$tp-$mode-$to-$rtcp
				NAMES+=("$name")
				uclient_start "$name" "${args[@]}" 127.0.0.1
			done
		done
	done
done

# And: IPv6 (client to client over ::1); an IPv6 relay asked for over IPv4
# (RFC 6156); odd lengths (ChannelData padding over TCP) and large messages.
uclient_start udp6-chan-c2c -p "$PORT" -u "$TUSER" -w "$TPASS" -n 50 -m 2 -l 200 -y ::1
uclient_start tcp-relay6-c2c -p "$PORT" -u "$TUSER" -w "$TPASS" -n 50 -m 2 -l 200 -t -x -y 127.0.0.1
uclient_start tcp-odd-peer -p "$PORT" -u "$TUSER" -w "$TPASS" -n 50 -m 2 -l 203 -t -c \
    -e 127.0.0.1 -r "$PEER_PORT" 127.0.0.1
uclient_start udp-big-peer -p "$PORT" -u "$TUSER" -w "$TPASS" -n 50 -m 2 -l 1203 -c \
    -e 127.0.0.1 -r "$PEER_PORT" 127.0.0.1
NAMES+=(udp6-chan-c2c tcp-relay6-c2c tcp-odd-peer udp-big-peer)

# check_reservations NAME: with RTCP, uclient allocates with EVEN-PORT (R)
# and then with the RESERVATION-TOKEN it got (each allocation in turn, in
# one thread): the token's relay port must be the next after the even one.
check_reservations() {
	local ntok bad
	read -r ntok bad < <(awk '
	/Received relay addr:/ {
		n = split($NF, a, ":"); port = a[n]
		if (want && port != want) bad = bad " " port "!=" want
		want = 0; cur = port
	}
	/clnet_allocate: rtv=/ {
		v = $0; sub(/.*rtv=/, "", v)
		if (v != "0") {
			tokens++
			if (cur % 2) bad = bad " odd:" cur
			want = cur + 1
		}
	}
	END { print tokens + 0, bad }' "$T/uclient.$1.out")
	[ "$ntok" -gt 0 ] || fail "uclient $1: no RESERVATION-TOKEN in any Allocate response"
	[ -z "$bad" ] || fail "uclient $1: reserved ports not honoured: $bad"
	note "uclient $1: $ntok RESERVATION-TOKENs, each on an even port whose successor the next Allocate got"
}

uclient_wait
stop_peer
total=0
for name in "${NAMES[@]}"; do
	uclient_ok "$name"
	case $name in
	*-rtcp) check_reservations "$name" ;;
	esac
	sent=$(sed -n 's/.*start_mclient: tot_send_msgs=\([0-9]*\), .*[0-9]$/\1/p' \
	    "$T/uclient.$name.out" | tail -n 1)
	total=$((total + sent))
done
stop_turnd

# Each message crossed turnd once each way: up (client to peer) and down.
allocs=$(turnd_stat allocs)
up=$(turnd_stat up)
down=$(turnd_stat down)
note "turnd: allocs=$allocs up=$up down=$down; uclient runs sent $total"
[ "$allocs" -gt 0 ] || fail "turnd counted no allocations"
[ "$up" -eq "$total" ] || fail "turnd relayed $up messages up, the clients sent $total"
[ "$down" -eq "$total" ] || fail "turnd relayed $down messages down, the clients sent $total"
for s in relay_dropped tx_errors; do
	[ "$(turnd_stat "$s")" -eq 0 ] || fail "turnd: $s=$(turnd_stat "$s")"
done
if grep -q denied "$TURND_LOG"; then
	fail "turnd denied a peer: $(grep denied "$TURND_LOG" | head -n 3)"
fi
