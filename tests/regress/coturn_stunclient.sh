#!/bin/bash
# coturn_stunclient.sh: coturn's turnutils_stunclient gets its reflexive address from turnd over IPv4 and IPv6.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
watchdog 30

COTURN=$(command -v turnutils_stunclient) ||
    skip "turnutils_stunclient not installed (Debian package coturn)"

# coturn_binding HOST: run it (it waits forever with no answer: bound by
# timeout) and check "UDP reflexive addr: HOST:PORT".
coturn_binding() {
	local host=$1 rc=0 out addr port
	out=$(timeout 10 "$COTURN" -p "$PORT" "$host" 2>&1) || rc=$?
	[ "$rc" -eq 0 ] || fail "turnutils_stunclient -p $PORT $host: exit $rc: $out"
	addr=$(printf '%s\n' "$out" | sed -n 's/.*UDP reflexive addr: //p' | head -n 1)
	[ -n "$addr" ] || fail "turnutils_stunclient $host: no reflexive address: $out"
	port=${addr##*:}
	case $port in
	'' | *[!0-9]*) fail "turnutils_stunclient $host: no port in '$addr': $out" ;;
	esac
	if [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
		fail "turnutils_stunclient $host: port $port out of range"
	fi
	[ "${addr%:*}" = "$host" ] ||
	    fail "turnutils_stunclient $host: reflexive IP '${addr%:*}', want $host: $out"
	note "turnutils_stunclient $host: reflexive $addr"
}

start_turnd --workers 2
coturn_binding 127.0.0.1
coturn_binding ::1
stop_turnd

# Old clients may want MAPPED-ADDRESS too; coturn's must still read the answer.
start_turnd --mapped-address true
coturn_binding 127.0.0.1
coturn_binding ::1
stop_turnd
