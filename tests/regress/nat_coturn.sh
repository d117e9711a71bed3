#!/bin/bash
# nat_coturn.sh: coturn's turnutils_natdiscovery and our stunclient --nat agree about turnd's RFC 5780 answers.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
watchdog 60

NATDISC=$(command -v turnutils_natdiscovery) ||
    skip "turnutils_natdiscovery not installed (Debian package coturn)"

# On loopback there is no NAT: both tools must see endpoint-independent
# mapping and filtering, which only works if CHANGE-REQUEST answers leave
# from the other address and port, and OTHER-ADDRESS names them.
# The alternate port must be free as well as the primary one: ask for it too.
ALT=$(free_port)
for _ in 1 2 3; do	# it must differ from the primary, which start_turnd_on picks
	[ "$ALT" != "$(free_port)" ] && break
	ALT=$(free_port)
done
start_turnd_on "127.0.0.1" --alternate-address 127.0.0.2 --alternate-port "$ALT"

out=$(timeout 30 "$NATDISC" -m -f -p "$PORT" 127.0.0.1 2>&1) ||
    fail "turnutils_natdiscovery exited non-zero: $out"
printf '%s\n' "$out" | grep -q "Other addr: : 127.0.0.2:$ALT" ||
    fail "coturn did not see OTHER-ADDRESS 127.0.0.2:$ALT: $out"
printf '%s\n' "$out" | grep -q "Endpoint Independent Mapping" ||
    fail "coturn: mapping not endpoint-independent: $out"
printf '%s\n' "$out" | grep -q "Endpoint Independent Filtering" ||
    fail "coturn: filtering not endpoint-independent: $out"
note "coturn: endpoint-independent mapping and filtering"

run_stunclient --nat --json --timeout 10 127.0.0.1 "$PORT"
[ "$RC" -eq 0 ] || fail "stunclient --nat: exit $RC: $OUT"
json_valid || fail "stunclient --nat: not one JSON object: $OUT"
[ "$(json_field mapping)" = "endpoint-independent" ] ||
    fail "stunclient: mapping '$(json_field mapping)', coturn said endpoint-independent: $OUT"
[ "$(json_field filtering)" = "endpoint-independent" ] ||
    fail "stunclient: filtering '$(json_field filtering)', coturn said endpoint-independent: $OUT"
[ "$(json_field other_address)" = "127.0.0.2:$ALT" ] ||
    fail "stunclient: other_address '$(json_field other_address)': $OUT"
[ "$(json_field nat)" = "false" ] || fail "stunclient: nat should be false on loopback: $OUT"
note "stunclient agrees: $(json_field verdict)"

stop_turnd
grep -q "stats: rx=" "$TURND_LOG" || fail "no stats line"
exit 0
