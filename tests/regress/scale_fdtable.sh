#!/bin/bash
# scale_fdtable.sh: each worker thread has a file table of its own, so turnd holds more relay sockets than one table's RLIMIT_NOFILE allows (issue 5, 50,000 allocations).
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
watchdog 60

LOADGEN=$top_builddir/bench/loadgen
[ -x "$LOADGEN" ] || fail "$LOADGEN is missing (make check builds it)"
command -v prlimit >/dev/null || skip "prlimit (util-linux) not installed"

# 330 allocations (one relay socket each) under a limit of 200 descriptors:
# no single table can hold them; three tables of 200 can. SO_REUSEPORT
# spreads the clients over the workers, about 110 each (sd ~10), which
# leaves each table some 60 descriptors to spare (the loop, listeners and
# what the table inherited take about 30).
LIMIT=200
N=330
TURND_WRAPPER=(prlimit --nofile=$LIMIT:$LIMIT)
start_turnd --workers 3 --user u:p --relay-ip 127.0.0.1 --allow-peer 127.0.0.0/8
grep -q "per worker" "$TURND_LOG" || fail "no warning about the low file limit: $(cat "$TURND_LOG")"
if grep -q "no file table of its own" "$TURND_LOG"; then
	skip "unshare(CLONE_FILES) is refused here (seccomp?): workers share one file table"
fi

"$LOADGEN" hold --server "127.0.0.1:$PORT" --user u --pass p --allocs $N --peers 1 \
    --setup-timeout 20 --hold 20 >"$T/hold.out" 2>&1 &
HOLD_PID=$!
bg_add "$HOLD_PID"
for _ in $(seq 250); do	# the setup timeout (20 s) and some
	grep -q '^READY' "$T/hold.out" && break
	alive "$HOLD_PID" || break
	sleep 0.1
done
grep -q "^READY n=$N ready=$N " "$T/hold.out" ||
    fail "loadgen did not get $N allocations: $(head -c 600 "$T/hold.out")"

# The descriptors really are spread over tables that each stay under the limit.
big=0
total=0
for task in /proc/"$TURND_PID"/task/*; do
	n=$(find "$task/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
	note "thread ${task##*/}: $n descriptors"
	[ "$n" -lt "$LIMIT" ] || fail "a table holds $n descriptors, at the limit $LIMIT"
	[ "$n" -gt 60 ] && big=$((big + 1))
	total=$((total + n))
done
[ "$big" -ge 2 ] || fail "only $big thread(s) hold more than 60 descriptors: one shared table?"
[ "$total" -gt "$N" ] || fail "$total descriptors in all tables, fewer than $N allocations"

kill -USR1 "$HOLD_PID"
wait "$HOLD_PID" || fail "loadgen hold exited with $?: $(tail -c 600 "$T/hold.out")"
stop_turnd
[ "$(turnd_stat allocs)" -eq $N ] || fail "allocs=$(turnd_stat allocs), want $N"
[ "$(turnd_stat freed)" -eq $N ] || fail "freed=$(turnd_stat freed), want $N"
[ "$(turnd_stat e508)" -eq 0 ] || fail "e508=$(turnd_stat e508): a table ran out"
note "ok: $N allocations under a file limit of $LIMIT, in $big tables"
