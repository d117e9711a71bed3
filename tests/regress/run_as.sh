#!/bin/bash
# run_as.sh: privilege drop (run_as): turnd started as root runs every thread as the named user after binding, still relays, stops cleanly; bad users and groups stop it at start.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
watchdog 60
[ "$(id -u)" -eq 0 ] || skip "needs root (run_as drops from root)"
getent passwd nobody >/dev/null || skip "no user 'nobody' here"
NOBODY_UID=$(id -u nobody)
NOGROUP=$(id -gn nobody)
NOGROUP_GID=$(id -g nobody)

# creds_of PID: "uid gid groups" of every thread, one line each, as /proc says.
creds_of() {
	local task
	for task in /proc/"$1"/task/*; do
		awk '/^Uid:/ { u = $2 "," $3 "," $4 "," $5 }
		     /^Gid:/ { g = $2 "," $3 "," $4 "," $5 }
		     /^Groups:/ { $1 = ""; gr = $0 }
		     END { print u, g, "[" gr "]" }' "$task/status"
	done
}

note "run_as nobody: every thread runs as nobody, and TURN still works"
start_turnd --workers 2 --run-as nobody --user alice:wonderland --allow-peer 127.0.0.0/8
grep -q "running as nobody (uid $NOBODY_UID, gid $NOGROUP_GID)" "$TURND_LOG" ||
    fail "no 'running as' line: $(cat "$TURND_LOG")"
want="$NOBODY_UID,$NOBODY_UID,$NOBODY_UID,$NOBODY_UID $NOGROUP_GID,$NOGROUP_GID,$NOGROUP_GID,$NOGROUP_GID"
n=0
while read -r ids gids groups; do
	[ "$ids $gids" = "$want" ] || fail "a thread runs as uid $ids gid $gids, want $want"
	case $groups in "[]" | "[ ]" | "[ $NOGROUP_GID]") ;; *) fail "supplementary groups kept: $groups" ;; esac
	n=$((n + 1))
done < <(creds_of "$TURND_PID")
[ "$n" -ge 3 ] || fail "only $n threads seen"
note "$n threads, all uid $NOBODY_UID"
run_stunclient --turn --user alice --password wonderland --timeout 5 127.0.0.1 "$PORT"
[ "$RC" -eq 0 ] || fail "stunclient --turn after the drop: exit $RC: $OUT"
run_stunclient --turn --tcp --user alice --password wonderland --timeout 5 127.0.0.1 "$PORT"
[ "$RC" -eq 0 ] || fail "stunclient --turn --tcp after the drop: exit $RC: $OUT"
stop_turnd
[ "$(turnd_stat allocs)" -ge 2 ] || fail "allocs=$(turnd_stat allocs), want 2"

note "run_as nobody:$NOGROUP names the group too"
start_turnd --run-as "nobody:$NOGROUP"
creds_of "$TURND_PID" | grep -qv " $NOGROUP_GID,$NOGROUP_GID,$NOGROUP_GID,$NOGROUP_GID " &&
    fail "a thread is not in group $NOGROUP: $(creds_of "$TURND_PID")"
expect_binding 127.0.0.1
stop_turnd

note "bad run_as values stop turnd at start, with the reason"
expect_refused() {	# expect_refused REGEX ARGS...
	local want=$1 rc=0 out
	shift
	out=$(timeout 10 "$@" 2>&1) || rc=$?
	[ "$rc" -eq 1 ] || fail "$*: exit $rc, want 1: $out"
	printf '%s\n' "$out" | grep -q "$want" || fail "$*: no '$want' in: $out"
}
P=$(free_port)
expect_refused "run_as: no-such-user-x: no such user" "$TURND" -n --run-as no-such-user-x
expect_refused "run_as: no-such-group-x: no such group" "$TURND" -n --run-as nobody:no-such-group-x
expect_refused "run_as: root: is root" "$TURND" -n --run-as root
expect_refused "run_as: no-such-user-x: no such user" "$TURND" -f --listen "127.0.0.1:$P" \
    --run-as no-such-user-x
if command -v setpriv >/dev/null; then
	expect_refused "needs turnd to start as root" setpriv --reuid="$NOBODY_UID" \
	    --regid="$NOGROUP_GID" --clear-groups "$TURND" -n --run-as nobody
fi
note "ok"
