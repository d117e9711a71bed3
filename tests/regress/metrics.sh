#!/bin/bash
# metrics.sh: GET /metrics (metrics_listen) gives Prometheus text with the counters and live allocations; other paths get 404, other methods 405; the port is off limits to relays; a taken port stops turnd.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
watchdog 60
LOADGEN=$top_builddir/bench/loadgen
[ -x "$LOADGEN" ] || fail "$LOADGEN is missing (make check builds it)"

MPORT=$(free_port)
# http METHOD PATH: the whole response (status line, headers, body) in RESP.
http() {
	RESP=$(exec 3<>"/dev/tcp/127.0.0.1/$MPORT" &&
	    printf '%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$1" "$2" >&3 &&
	    timeout 5 cat <&3) || fail "http $1 $2: no connection to port $MPORT"
}
# metric_is SERIES VALUE: wait (the workers publish once a second) until the page shows it.
metric_is() {
	local i
	for i in $(seq 40); do
		http GET /metrics
		printf '%s\n' "$RESP" | tr -d '\r' | grep -qxF "$1 $2" && return 0
		sleep 0.1
	done
	fail "no '$1 $2' on the page: $(printf '%s\n' "$RESP" | grep -F "${1%%\{*}" | head -5)"
}

start_turnd --workers 2 --user alice:wonderland --allow-peer 127.0.0.0/8 \
    --metrics-listen "127.0.0.1:$MPORT"
grep -q "metrics on http://127.0.0.1:$MPORT/metrics" "$TURND_LOG" || fail "no metrics line in the log"

note "the page before any TURN traffic"
http GET /metrics
printf '%s\n' "$RESP" | head -n 1 | grep -q '^HTTP/1\.[01] 200' || fail "not 200: $RESP"
printf '%s\n' "$RESP" | grep -qi '^Content-Type: text/plain; version=0.0.4' || fail "content type: $RESP"
metric_is turnd_workers 2
metric_is turnd_allocations_created_total 0

note "one TURN test by stunclient: an allocation made and freed, datagrams relayed"
run_stunclient --turn --user alice --password wonderland --timeout 5 127.0.0.1 "$PORT"
[ "$RC" -eq 0 ] || fail "stunclient --turn: exit $RC: $OUT"
metric_is turnd_allocations_created_total 1
metric_is turnd_allocations_freed_total 1
metric_is 'turnd_responses_total{code="401"}' 1
printf '%s\n' "$RESP" | grep -q '^turnd_relayed_datagrams_total{direction="to_peer"} [1-9]' ||
    fail "nothing relayed to peers on the page"

note "allocations held: the gauge follows"
"$LOADGEN" hold --server "127.0.0.1:$PORT" --user alice --pass wonderland --allocs 3 --peers 1 \
    --hold 20 >"$T/hold.out" 2>&1 &
HOLD_PID=$!
bg_add "$HOLD_PID"
metric_is turnd_allocations 3
kill -USR1 "$HOLD_PID"
wait "$HOLD_PID" || fail "loadgen hold: $(cat "$T/hold.out")"
metric_is turnd_allocations 0

note "other paths and methods; HEAD gets the headers alone; a body is refused, not buffered"
http GET /
printf '%s\n' "$RESP" | head -n 1 | grep -q ' 404' || fail "GET /: $(printf '%s\n' "$RESP" | head -n 1)"
http POST /metrics
printf '%s\n' "$RESP" | head -n 1 | grep -q ' 405' || fail "POST: $(printf '%s\n' "$RESP" | head -n 1)"
http HEAD /metrics
printf '%s\n' "$RESP" | head -n 1 | grep -q ' 200' || fail "HEAD: $(printf '%s\n' "$RESP" | head -n 1)"
printf '%s\n' "$RESP" | grep -q '^turnd_' && fail "HEAD sent the body"
RESP=$(exec 3<>"/dev/tcp/127.0.0.1/$MPORT" &&
    printf 'POST /metrics HTTP/1.0\r\nContent-Length: 100000000\r\n\r\nxxxx' >&3 &&
    timeout 5 cat <&3) || true
printf '%s\n' "$RESP" | head -n 1 | grep -q ' 413' || fail "a large body: $(printf '%s\n' "$RESP" | head -n 1)"

note "a relay to the metrics port is refused, loopback allowed or not"
run_stunclient --turn --user alice --password wonderland --peer "127.0.0.1:$MPORT" --timeout 5 \
    127.0.0.1 "$PORT"
[ "$RC" -eq 1 ] && [ "$(printf '%s\n' "$OUT" | grep -c '403')" -ge 1 ] ||
    fail "peer = the metrics port: exit $RC: $OUT"

note "a metrics port another process holds stops a second turnd at start"
RC=0
OUT=$(timeout 10 "$TURND" -f --listen "127.0.0.1:$(free_port)" --metrics-listen "127.0.0.1:$MPORT" 2>&1) ||
    RC=$?
[ "$RC" -eq 1 ] && printf '%s\n' "$OUT" | grep -qi "address already in use" ||
    fail "taken metrics port: exit $RC: $OUT"
stop_turnd
note "ok"
