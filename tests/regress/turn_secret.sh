#!/bin/bash
# turn_secret.sh: shared-secret (TURN REST API) credentials with turnutils_uclient: rotation (two secrets), static users and secrets on one listener, SHA-256 passwords; expired and wrong credentials fail (stunclient --turn, when built with it, sees the 401).
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
watchdog 60
need_uclient
command -v openssl >/dev/null || skip "openssl not installed (to mint credentials)"

S1=first-secret
S2=second-secret
NOW=$(date +%s)

# A minted credential: USERNAME=EXPIRY:NAME and its PASSWORD.
mint() {
	USERNAME="$1:$2"
	PASSWORD=$(rest_password "$3" "$USERNAME" "${4:-sha1}")
}

# Client to client, no RTCP: each run needs its credential for every request.
c2c=(-y -c -n 30 -m 2 -l 200)

# Our stunclient, when it has a TURN mode, names the error code.
HAVE_STUN_TURN=false
if "$STUNCLIENT" --help 2>&1 | grep -q -e '--turn'; then
	HAVE_STUN_TURN=true
fi

# stun_turn WANT ARGS...: stunclient --turn --json ARGS HOST PORT must end
# with error code WANT (401...), or succeed when WANT is 0.
stun_turn() {
	local want=$1 code
	shift
	$HAVE_STUN_TURN || return 0
	run_stunclient --turn --json --timeout 3 "$@" 127.0.0.1 "$PORT"
	code=$(json_field error_code)
	if [ "$want" = 0 ]; then
		[ "$RC" -eq 0 ] || fail "stunclient --turn $*: exit $RC: $OUT"
		note "stunclient --turn $*: ok"
	else
		if [ "$RC" -ne 1 ] || [ "$code" != "$want" ]; then
			fail "stunclient --turn $*: exit $RC, error_code $code, want 1 and $want: $OUT"
		fi
		[ "$(json_field step)" = Allocate ] || fail "stunclient --turn $*: step: $OUT"
		note "stunclient --turn $*: $want at Allocate"
	fi
}

note "wrong and expired credentials get no allocation"
start_turnd --workers 2 --secret "$S1" --secret "$S2"
uclient_start bad-secret -p "$PORT" -W not-the-secret -u alice "${c2c[@]}" 127.0.0.1
mint $((NOW - 60)) alice "$S1"
uclient_start expired -p "$PORT" -u "$USERNAME" -w "$PASSWORD" "${c2c[@]}" 127.0.0.1
mint $((NOW + 600)) alice "$S1"
uclient_start bad-password -p "$PORT" -u "$USERNAME" -w "x$PASSWORD" "${c2c[@]}" 127.0.0.1
uclient_start no-expiry -p "$PORT" -u alice -w "$(rest_password "$S1" alice)" "${c2c[@]}" 127.0.0.1
uclient_start sha256-password -p "$PORT" -u "$USERNAME" \
    -w "$(rest_password "$S1" "$USERNAME" sha256)" "${c2c[@]}" 127.0.0.1
uclient_start bad-secret-tcp -p "$PORT" -t -W not-the-secret -u alice "${c2c[@]}" 127.0.0.1
mint $((NOW - 60)) alice "$S2"
stun_turn 401 --user "$USERNAME" --password "$PASSWORD"
stun_turn 401 --tcp --user "$USERNAME" --password "$PASSWORD"
stun_turn 401 --secret not-the-secret --user alice
uclient_wait
for name in bad-secret expired bad-password no-expiry sha256-password bad-secret-tcp; do
	uclient_fails "$name" 'Cannot complete Allocation'
done
stop_turnd
[ "$(turnd_stat allocs)" -eq 0 ] || fail "bad credentials got $(turnd_stat allocs) allocation(s)"
[ "$(turnd_stat e401)" -gt 0 ] || fail "turnd answered no 401"

note "rotation: credentials from either secret work, over UDP and TCP"
start_turnd --workers 2 --secret "$S1" --secret "$S2" --allow-peer 127.0.0.0/8
uclient_start w1-udp -p "$PORT" -W "$S1" -u alice -y -n 50 -m 2 -l 200 127.0.0.1
uclient_start w2-udp -p "$PORT" -W "$S2" -u bob -s "${c2c[@]}" 127.0.0.1
uclient_start w1-tcp -p "$PORT" -t -W "$S1" -u carol -s -y -n 50 -m 2 -l 200 127.0.0.1
uclient_start w2-tcp -p "$PORT" -t -W "$S2" "${c2c[@]}" 127.0.0.1	# username: EXPIRY alone
mint $((NOW + 600)) dave "$S2"
uclient_start minted -p "$PORT" -u "$USERNAME" -w "$PASSWORD" "${c2c[@]}" 127.0.0.1
stun_turn 0 --secret "$S1" --user erin
stun_turn 0 --tcp --secret "$S2" --user erin
uclient_wait
for name in w1-udp w2-udp w1-tcp w2-tcp minted; do
	uclient_ok "$name"
done
stop_turnd
[ "$(turnd_stat allocs)" -gt 0 ] || fail "turnd counted no allocations"

note "static users and shared secrets on one listener"
start_turnd --workers 2 --user alice:wonderland --secret "$S1"
uclient_start static-udp -p "$PORT" -u alice -w wonderland "${c2c[@]}" 127.0.0.1
uclient_start static-tcp -p "$PORT" -t -u alice -w wonderland -s "${c2c[@]}" 127.0.0.1
uclient_start rest-udp -p "$PORT" -W "$S1" -u bob -s "${c2c[@]}" 127.0.0.1
uclient_start rest-tcp -p "$PORT" -t -W "$S1" -u alice "${c2c[@]}" 127.0.0.1
uclient_start static-bad -p "$PORT" -u alice -w alice "${c2c[@]}" 127.0.0.1
uclient_start rest-bad -p "$PORT" -W "$S2" -u bob "${c2c[@]}" 127.0.0.1
uclient_wait
for name in static-udp static-tcp rest-udp rest-tcp; do
	uclient_ok "$name"
done
uclient_fails static-bad 'Cannot complete Allocation'
uclient_fails rest-bad 'Cannot complete Allocation'
stop_turnd

note "--secret-algorithm sha256: SHA-256 passwords work, SHA-1 ones fail"
start_turnd --secret "$S1" --secret-algorithm sha256
mint $((NOW + 600)) erin "$S1" sha256
uclient_start sha256 -p "$PORT" -u "$USERNAME" -w "$PASSWORD" "${c2c[@]}" 127.0.0.1
uclient_start sha1 -p "$PORT" -W "$S1" -u erin "${c2c[@]}" 127.0.0.1
uclient_wait
uclient_ok sha256
uclient_fails sha1 'Cannot complete Allocation'
stop_turnd
