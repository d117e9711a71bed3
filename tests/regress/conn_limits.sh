#!/bin/bash
# conn_limits.sh: max_connections closes TCP and TLS connections beyond the limit at accept (and counts them), and frees a place when one closes; tls_handshake_timeout closes a TLS client that never finishes its handshake.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
watchdog 60
command -v openssl >/dev/null || skip "openssl (the command) not installed"

openssl req -x509 -nodes -days 2 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
    -keyout "$T/key.pem" -out "$T/cert.pem" -subj "/CN=127.0.0.1" >/dev/null 2>&1 ||
    fail "openssl req failed"
TLS_PORT=$(free_port)

note "max_connections 2: two idle connections hold both places"
start_turnd_on 127.0.0.1 --workers 2 --max-connections 2 --tls-listen "127.0.0.1:$TLS_PORT" \
    --tls-cert "$T/cert.pem" --tls-key "$T/key.pem" --tls-handshake-timeout 2
exec 3<>"/dev/tcp/127.0.0.1/$PORT" || fail "first connection refused"
exec 4<>"/dev/tcp/127.0.0.1/$PORT" || fail "second connection refused"
sleep 0.3
run_stunclient --tcp --timeout 2 127.0.0.1 "$PORT"
[ "$RC" -eq 3 ] || fail "a third connection was served: exit $RC: $OUT"
run_stunclient --tls --insecure --timeout 2 127.0.0.1 "$TLS_PORT"
[ "$RC" -ne 0 ] || fail "a third (TLS) connection was served: $OUT"
grep -q "max_connections (2) reached" "$TURND_LOG" || fail "no warning about the limit"

note "one closes: its place is free again"
exec 3>&-
ok=0
for _ in $(seq 30); do
	run_stunclient --tcp --timeout 2 127.0.0.1 "$PORT"
	[ "$RC" -eq 0 ] && { ok=1; break; }
	sleep 0.1
done
[ "$ok" -eq 1 ] || fail "no place after a connection closed: exit $RC: $OUT"
exec 4>&-

note "tls_handshake_timeout 2: a TLS client that says nothing is closed after about 2 s"
exec 5<>"/dev/tcp/127.0.0.1/$TLS_PORT" || fail "TLS port refused"
start=$(date +%s%N)
timeout 10 cat <&5 >/dev/null || fail "the silent TLS client was not closed within 10 s"
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
exec 5>&-
[ "$elapsed" -ge 1500 ] && [ "$elapsed" -le 6000 ] ||
    fail "closed after $elapsed ms, want about 2000"
note "closed after $elapsed ms"
# A finished handshake is under the idle timeout (300 s) instead.
run_stunclient --tls --insecure --timeout 5 127.0.0.1 "$TLS_PORT"
[ "$RC" -eq 0 ] || fail "TLS Binding: exit $RC: $OUT"
stop_turnd
[ "$(turnd_stat tcp_refused)" -ge 2 ] || fail "tcp_refused=$(turnd_stat tcp_refused), want 2 or more"
note "ok"
