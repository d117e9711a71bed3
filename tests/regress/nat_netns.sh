#!/bin/bash
# nat_netns.sh: stunclient --nat against turnd (RFC 5780) through NATs built of network namespaces and nftables.
# shellcheck source-path=SCRIPTDIR
#
# Needs root (skips otherwise, or without `ip netns`); installs nftables
# with apt-get when nft is missing. Everything runs in namespaces of our
# own, named after our PID; the only addresses are 198.18.0.0/15 (RFC 2544
# benchmarking, never routed) and 10.0.0.0/24, all inside them:
#
#   PUB  turnd on 198.18.0.1:3478, alternate 198.18.0.2 (both on lo)
#        veth "c<i>" 198.18.<i>.1/24 to the namespace of case i
#   NAT<i>  "pub" 198.18.<i>.2/24 | nftables | "priv" 10.0.0.1/24
#   CLI<i>  "eth" 10.0.0.2/24, default route via 10.0.0.1
#   (no-NAT cases: CLI<i> "eth" 198.18.<i>.2/24 straight on PUB)
#
# Each case has its own NAT and client namespaces, so that no conntrack
# entry or nft state leaks from one case to the next.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, nftables)"

# apt_install PKG: install a Debian package, as CI can (bounded).
apt_install() {
	command -v apt-get >/dev/null || return 1
	note "installing $1 with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	timeout 300 apt-get install -y -q --no-install-recommends "$1" >"$T/apt.log" 2>&1 ||
	    { timeout 300 apt-get update -q >>"$T/apt.log" 2>&1 &&
	      timeout 300 apt-get install -y -q --no-install-recommends "$1" >>"$T/apt.log" 2>&1; } ||
	    { tail -n 5 "$T/apt.log" >&2; return 1; }
}

command -v ip >/dev/null || apt_install iproute2 || true
command -v ip >/dev/null || skip "ip (iproute2) is not installed"
ip netns list >/dev/null 2>&1 || skip "ip netns is unavailable"
command -v nft >/dev/null || apt_install nftables || true
command -v nft >/dev/null || fail "nft is missing and apt-get could not install nftables"

watchdog 60

# --- Namespaces and links, deleted at exit whatever happens --------------

NS_PFX="mrtc-nat-$$"
PUB=$NS_PFX-pub
NETNS=()		# the namespaces we made
LINKS=()		# "NS IFNAME" of each veth pair we made (one end)

_netns_cleanup() {
	local rc=$? ns pid l
	set +e
	if [ -n "$TURND_PID" ]; then
		kill_pid "$TURND_PID"
		TURND_PID=""
	fi
	for ns in "${NETNS[@]}"; do
		# Only what this script started can run in its own namespaces
		# (a stunclient cut short by the watchdog, say).
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
	done
	for l in "${LINKS[@]}"; do
		ip -n "${l% *}" link show "${l#* }" >/dev/null 2>&1 &&
		    ip -n "${l% *}" link del "${l#* }"
	done
	for ns in "${NETNS[@]}"; do
		ip netns del "$ns" || echo "nat_netns: could not delete namespace $ns" >&2
	done
	(exit "$rc")
	_lib_cleanup
}
trap _netns_cleanup EXIT

# nsx NS CMD...: run CMD in namespace NS.
nsx() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# ns_add NS: a namespace with lo up.
ns_add() {
	local err
	err=$(ip netns add "$1" 2>&1) || {
		[ "${#NETNS[@]}" -eq 0 ] && skip "ip netns add failed: $err"
		fail "ip netns add $1: $err"
	}
	NETNS+=("$1")
	ip -n "$1" link set lo up
}

# veth NS1 IF1 NS2 IF2: a veth pair made inside the namespaces (nothing
# ever appears in the host's), both ends up.
veth() {
	ip -n "$1" link add "$2" type veth peer name "$4" netns "$3"
	LINKS+=("$1 $2")
	ip -n "$1" link set "$2" up
	ip -n "$3" link set "$4" up
}

# sysctls NS NAME=VALUE...
sysctls() {
	local ns=$1
	shift
	nsx "$ns" sysctl -q -w "$@"
}

ns_add "$PUB"
ip -n "$PUB" addr add 198.18.0.1/32 dev lo
ip -n "$PUB" addr add 198.18.0.2/32 dev lo

CASE_N=0		# the last case number given out
CLI=""			# the client namespace of the current case
NATNS=""		# its NAT namespace, if any
LOCAL_IP=""		# the client's address
PUBLIC_IP=""		# the address the server should see (the NAT's, or LOCAL_IP)

# nat_topology RULES: a NAT namespace with these nftables rules (in which
# @PUB@ stands for its public address) and a client behind it.
nat_topology() {
	local i=$((CASE_N += 1))
	NATNS=$NS_PFX-nat$i
	CLI=$NS_PFX-cli$i
	LOCAL_IP=10.0.0.2
	PUBLIC_IP=198.18.$i.2
	ns_add "$NATNS"
	ns_add "$CLI"
	# Hairpinned datagrams leave by the interface they came in at: no
	# ICMP redirects for them.
	sysctls "$NATNS" net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 \
	    net.ipv4.conf.default.send_redirects=0
	veth "$PUB" "c$i" "$NATNS" pub
	veth "$NATNS" priv "$CLI" eth
	ip -n "$PUB" addr add "198.18.$i.1/24" dev "c$i"
	ip -n "$NATNS" addr add "$PUBLIC_IP/24" dev pub
	ip -n "$NATNS" addr add 10.0.0.1/24 dev priv
	ip -n "$NATNS" route add 198.18.0.0/24 via "198.18.$i.1"
	ip -n "$CLI" addr add "$LOCAL_IP/24" dev eth
	ip -n "$CLI" route add default via 10.0.0.1
	printf '%s\n' "$1" | sed "s/@PUB@/$PUBLIC_IP/g" >"$T/nft.$i"
	nsx "$NATNS" nft -f "$T/nft.$i" ||
	    fail "nft -f in $NATNS refused the rules of case $i (nf_tables and NAT support in the kernel?): $(cat "$T/nft.$i")"
}

# direct_topology [RULES]: a client straight on the public side, with
# these nftables rules in its own namespace if any.
direct_topology() {
	local i=$((CASE_N += 1))
	NATNS=""
	CLI=$NS_PFX-cli$i
	LOCAL_IP=198.18.$i.2
	PUBLIC_IP=$LOCAL_IP
	ns_add "$CLI"
	veth "$PUB" "c$i" "$CLI" eth
	ip -n "$PUB" addr add "198.18.$i.1/24" dev "c$i"
	ip -n "$CLI" addr add "$LOCAL_IP/24" dev eth
	ip -n "$CLI" route add 198.18.0.0/24 via "198.18.$i.1"
	if [ -n "${1:-}" ]; then
		printf '%s\n' "$1" >"$T/nft.$i"
		nsx "$CLI" nft -f "$T/nft.$i" ||
		    fail "nft -f in $CLI refused the rules of case $i: $(cat "$T/nft.$i")"
	fi
}

# --- turnd in PUB ----------------------------------------------------------

SERVER=198.18.0.1:3478
OTHER=198.18.0.2:3479

TURND_N=$((TURND_N + 1))
TURND_LOG=$T/turnd.$TURND_N.log
ip netns exec "$PUB" "$TURND" -f --listen "$SERVER" --alternate_address 198.18.0.2 \
    --workers 2 >"$TURND_LOG" 2>&1 &
TURND_PID=$!		# ip netns exec execs turnd: the same process
PORT=3478

# turnd must answer Bindings on all four address and port pairs.
ready=""
for ((try = 0; try < READY_TRIES; try++)); do
	alive "$TURND_PID" || fail "turnd exited at startup: $(tail -n 3 "$TURND_LOG")"
	ready=yes
	for a in 198.18.0.1:3478 198.18.0.1:3479 198.18.0.2:3478 198.18.0.2:3479; do
		if ! nsx "$PUB" "$STUNCLIENT" --timeout 0.5 "${a%:*}" "${a#*:}" >/dev/null 2>&1; then
			ready=""
			break
		fi
	done
	[ -z "$ready" ] || break
	sleep 0.1
done
[ -n "$ready" ] || fail "turnd did not answer on all of $SERVER and $OTHER (crossed) in time"
note "turnd $TURND_PID in $PUB on $SERVER, alternate $OTHER"

# --- stunclient --nat --json and its checks --------------------------------

NAT_KEYS=$(printf "%s\n" test transport status server local mapped other_address nat mapping \
    filtering hairpinning verdict step error_code error_reason cause note | LC_ALL=C sort | tr "\n" " ")

# The raw JSON value of a member of OUT: a string with its quotes, true,
# false, null or a number; empty when absent.
json_raw() {
	printf '%s\n' "$OUT" |
	    sed -nE 's/.*"'"$1"'": *("([^"\\]|\\.)*"|true|false|null|-?[0-9][0-9.eE+-]*).*/\1/p'
}

# json_type NAME: string, boolean, null, number, or absent.
json_type() {
	case $(json_raw "$1") in
	"") echo absent ;;
	\"*\") echo string ;;
	true | false) echo boolean ;;
	null) echo null ;;
	*) echo number ;;
	esac
}

# A failure of the current case, with what the NAT namespace holds.
case_fail() {
	{
		echo "--- case $CASE_N ($CASE): stunclient exit $RC, output:"
		printf '%s\n' "$OUT"
		if [ -n "$NATNS" ]; then
			echo "--- nft list ruleset in $NATNS:"
			nsx "$NATNS" nft list ruleset
			if command -v conntrack >/dev/null; then
				echo "--- conntrack -L -p udp in $NATNS:"
				nsx "$NATNS" conntrack -L -p udp 2>&1
			fi
		elif [ -f "$T/nft.$CASE_N" ]; then
			echo "--- nft list ruleset in $CLI:"
			nsx "$CLI" nft list ruleset
		fi
	} >&2
	fail "case $CASE_N ($CASE): $*"
}

# expect_nat NAT MAPPING FILTERING HAIRPINNING VERDICT [SAME_PORT]: run
# stunclient --nat --json in CLI and check every member. MAPPING and
# FILTERING are extended regexps (or null), NAT and HAIRPINNING raw JSON
# values; VERDICT is how the verdict starts; SAME_PORT "yes" requires the
# mapped port to be the local one (a port-preserving NAT, or none).
expect_nat() {
	local nat=$1 mapping=$2 filtering=$3 hairpin=$4 verdict=$5 same=${6:-}
	local t0 ms k keys v lport mport
	t0=$(date +%s%N)
	RC=0
	OUT=$(timeout -k 2 20 ip netns exec "$CLI" "$STUNCLIENT" --nat --json --timeout 5 \
	    "${SERVER%:*}" "${SERVER#*:}" 2>&1) || RC=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	note "case $CASE_N ($CASE): ${ms} ms: $OUT"
	[ "$RC" -eq 0 ] || case_fail "exit $RC, want 0"

	# The shape: one flat object, each member once, typed.
	json_valid || case_fail "not one flat JSON object"
	keys=$(printf '%s\n' "$OUT" | grep -oE '"[a-z_]+": ' | sed 's/^"//; s/": $//' | LC_ALL=C sort | tr '\n' ' ')
	[ "$keys" = "$NAT_KEYS" ] || case_fail "members '$keys', want '$NAT_KEYS'"
	for k in test transport status server local mapped other_address mapping filtering verdict; do
		[ "$(json_type "$k")" = string ] || case_fail "$k is $(json_type "$k"), want a string"
	done
	[ "$(json_type nat)" = boolean ] || case_fail "nat is $(json_type nat), want a boolean"
	case $(json_type hairpinning) in
	boolean | null) ;;
	*) case_fail "hairpinning is $(json_type hairpinning), want a boolean or null" ;;
	esac
	for k in step error_code error_reason cause note; do
		[ "$(json_type "$k")" = null ] || case_fail "$k is $(json_type "$k"), want null"
	done

	# The values.
	[ "$(json_field test)" = nat ] || case_fail "test: $(json_raw test)"
	[ "$(json_field transport)" = udp ] || case_fail "transport: $(json_raw transport)"
	[ "$(json_field status)" = ok ] || case_fail "status: $(json_raw status)"
	[ "$(json_field server)" = "$SERVER" ] || case_fail "server: $(json_raw server), want $SERVER"
	[ "$(json_field other_address)" = "$OTHER" ] ||
	    case_fail "other_address: $(json_raw other_address), want $OTHER"
	v=$(json_field local)
	[[ $v =~ ^${LOCAL_IP//./\\.}:([1-9][0-9]*)$ ]] || case_fail "local: $v, want $LOCAL_IP:PORT"
	lport=${BASH_REMATCH[1]}
	v=$(json_field mapped)
	[[ $v =~ ^${PUBLIC_IP//./\\.}:([1-9][0-9]*)$ ]] || case_fail "mapped: $v, want $PUBLIC_IP:PORT"
	mport=${BASH_REMATCH[1]}
	if [ "$same" = yes ] && [ "$lport" != "$mport" ]; then
		case_fail "mapped port $mport, want the local port $lport"
	fi
	[ "$(json_raw nat)" = "$nat" ] || case_fail "nat: $(json_raw nat), want $nat"
	[[ $(json_field mapping) =~ ^($mapping)$ ]] || case_fail "mapping: $(json_raw mapping), want $mapping"
	[[ $(json_field filtering) =~ ^($filtering)$ ]] ||
	    case_fail "filtering: $(json_raw filtering), want $filtering"
	[ "$(json_raw hairpinning)" = "$hairpin" ] ||
	    case_fail "hairpinning: $(json_raw hairpinning), want $hairpin"
	v=$(json_field verdict)
	case $v in
	"$verdict"*) ;;
	*) case_fail "verdict: '$v', want it to start with '$verdict'" ;;
	esac
	# The verdict says "no hairpinning" exactly when the test found none.
	case $hairpin:$v in
	false:*"; no hairpinning: "*) ;;
	false:*) case_fail "hairpinning false, but the verdict does not say so" ;;
	*:*"no hairpinning"*) case_fail "hairpinning $hairpin, but the verdict says none" ;;
	esac
}

# --- The cases --------------------------------------------------------------

PRC="NAT: port-restricted cone (endpoint-independent mapping, address-and-port-dependent filtering)"
APD=address-and-port-dependent
EI=endpoint-independent

CASE="plain masquerade: port-restricted cone"
nat_topology 'table ip nat {
	chain post {
		type nat hook postrouting priority srcnat;
		oifname "pub" masquerade
	}
}'
expect_nat true "$EI" "$APD" false "$PRC" yes

CASE="masquerade random,fully-random: symmetric"
nat_topology 'table ip nat {
	chain post {
		type nat hook postrouting priority srcnat;
		oifname "pub" masquerade random,fully-random
	}
}'
expect_nat true "$APD|address-dependent" "$APD" false "NAT: symmetric ("

# stunclient cannot choose its local port, so whatever arrives at the
# public address over UDP goes to the client, port unchanged; masquerade
# keeps the client's port as the mapped one (checked), so this forwards
# exactly the mapped ports.
CASE="masquerade and DNAT of all UDP to the client: full cone"
nat_topology 'table ip nat {
	chain pre {
		type nat hook prerouting priority dstnat;
		iifname "pub" ip daddr @PUB@ meta l4proto udp dnat to 10.0.0.2
	}
	chain post {
		type nat hook postrouting priority srcnat;
		oifname "pub" masquerade
	}
}'
expect_nat true "$EI" "$EI" false \
    "NAT: full cone (endpoint-independent mapping, endpoint-independent filtering)" yes

# Datagrams from the private side to the public address go back to the
# client (port unchanged, so to the mapped port of the first socket),
# from the public address (the mapped address of the second socket), as
# a hairpinning NAT does.
CASE="masquerade with a hairpin rule: port-restricted cone, hairpinning"
nat_topology 'table ip nat {
	chain pre {
		type nat hook prerouting priority dstnat;
		iifname "priv" ip daddr @PUB@ meta l4proto udp dnat to 10.0.0.2
	}
	chain post {
		type nat hook postrouting priority srcnat;
		oifname "pub" masquerade
		oifname "priv" ip saddr 10.0.0.0/24 ct status dnat snat to @PUB@
	}
}'
expect_nat true "$EI" "$APD" true "$PRC" yes
# The same in text: "hairpinning: yes", and the verdict last.
RC=0
OUT=$(timeout -k 2 20 ip netns exec "$CLI" "$STUNCLIENT" --nat --timeout 5 \
    "${SERVER%:*}" "${SERVER#*:}" 2>&1) || RC=$?
[ "$RC" -eq 0 ] || case_fail "text: exit $RC"
[ "$(text_field hairpinning)" = yes ] || case_fail "text: hairpinning '$(text_field hairpinning)'"
[ "$(text_field mapping)" = "$EI" ] || case_fail "text: mapping '$(text_field mapping)'"
[ "$(text_field filtering)" = "$APD" ] || case_fail "text: filtering '$(text_field filtering)'"
case $(printf '%s\n' "$OUT" | tail -n 1) in
"$PRC"*) ;;
*) case_fail "text: the last line is not the verdict" ;;
esac

# Address-dependent filtering: the NAT lets in, to a mapped port, what
# comes from any port of an address that port has sent to (a set filled
# as datagrams leave; masquerade keeps the port, checked).
CASE="masquerade with address-dependent filtering: restricted cone"
nat_topology 'table ip nat {
	set contacted {
		type ipv4_addr . inet_service
		flags dynamic,timeout
		timeout 60s
	}
	chain fwd_out {
		type filter hook forward priority filter;
		iifname "priv" oifname "pub" meta l4proto udp update @contacted { ip daddr . udp sport }
	}
	chain pre {
		type nat hook prerouting priority dstnat;
		iifname "pub" ip daddr @PUB@ meta l4proto udp ip saddr . udp dport @contacted dnat to 10.0.0.2
	}
	chain post {
		type nat hook postrouting priority srcnat;
		oifname "pub" masquerade
	}
}'
expect_nat true "$EI" address-dependent false \
    "NAT: restricted cone (endpoint-independent mapping, address-dependent filtering)" yes

CASE="no NAT, no firewall: open internet"
direct_topology
expect_nat false "$EI" "$EI" null \
    "no NAT: the server sees this host's own address, and incoming traffic is not filtered" yes

CASE="no NAT, stateful firewall: address-and-port-dependent filtering"
direct_topology 'table inet fw {
	chain in {
		type filter hook input priority filter; policy drop;
		iifname "lo" accept
		ct state established,related accept
	}
}'
expect_nat false "$EI" "$APD" null \
    "no NAT, but a firewall lets in only traffic from the addresses and ports this host has sent to" yes

stop_turnd
note "all $CASE_N cases passed"
