#!/bin/bash
# stunclient_turn.sh: stunclient --turn against turnd: static and shared-secret credentials, UDP and TCP, a denied peer.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
watchdog 60

# check_ok TRANSPORT-ARGS...: a full TURN test passes, with both round trips timed.
check_ok() {
	run_stunclient --turn --json --timeout 10 "$@" 127.0.0.1 "$PORT"
	[ "$RC" -eq 0 ] || fail "stunclient --turn $*: exit $RC: $OUT"
	# One line, one object (rtt_ms nests the two round-trip times).
	printf '%s\n' "$OUT" | grep -Eq '^\{.*\}$' || fail "stunclient --turn $*: not JSON: $OUT"
	[ "$(json_field status)" = ok ] || fail "status: $OUT"
	is_loopback_addr "$(json_field relayed)" || fail "relayed address: $OUT"
	[ "$(json_field freed)" = true ] || fail "allocation not freed: $OUT"
	printf '%s\n' "$OUT" | grep -Eq '"send_indication": [0-9.]+' || fail "no Send RTT: $OUT"
	printf '%s\n' "$OUT" | grep -Eq '"channel": [0-9.]+\}' || fail "no channel RTT: $OUT"
	note "stunclient --turn $*: relayed $(json_field relayed)"
}

# Relay ports away from the kernel's ephemeral range, so the local echo's
# port is never one of ours: without --allow-peer it must be refused.
start_turnd_on "127.0.0.1" --user alice:wonderland --secret s3cret \
    --relay-ports 61000-61999
run_stunclient --turn --json --timeout 10 --user alice --password wonderland 127.0.0.1 "$PORT"
[ "$RC" -eq 1 ] || fail "denied peer: exit $RC, want 1: $OUT"
[ "$(json_field error_code)" = 403 ] || fail "denied peer: error_code: $OUT"
[ "$(json_field step)" = CreatePermission ] || fail "denied peer: step: $OUT"
printf '%s\n' "$OUT" | grep -q "denied by the server's policy" || fail "denied peer: cause: $OUT"
run_stunclient --turn --timeout 10 --user alice --password wonderland 127.0.0.1 "$PORT"
printf '%s\n' "$OUT" | grep -q "403 Forbidden: peer address denied" ||
    fail "denied peer, text output: $OUT"
note "a denied peer is reported as such"
run_stunclient --turn --json --timeout 10 --user alice --password wrong 127.0.0.1 "$PORT"
if [ "$RC" -ne 1 ] || [ "$(json_field error_code)" != 401 ]; then
	fail "wrong password: $OUT"
fi
stop_turnd

start_turnd_on "127.0.0.1" --user alice:wonderland --secret s3cret --allow-peer 127.0.0.0/8
check_ok --user alice --password wonderland
check_ok --tcp --user alice --password wonderland
check_ok --secret s3cret
check_ok --tcp --secret s3cret
stop_turnd
[ "$(turnd_stat allocs)" -ge 4 ] || fail "turnd counted $(turnd_stat allocs) allocations"
exit 0
