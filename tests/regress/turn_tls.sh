#!/bin/bash
# turn_tls.sh: TURN and STUN over TLS (tls_listen): stunclient --tls verifies turnd's certificate, coturn's turnutils_uclient relays over TLS without loss, a plaintext client or a bad certificate file is refused cleanly.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
watchdog 90
need_uclient
command -v openssl >/dev/null || skip "openssl (the command) not installed"

# A throw-away CA and a server certificate for 127.0.0.1 and ::1, and a
# second CA that signed nothing of ours.
openssl_req() { openssl req -x509 -nodes -days 2 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "$@" \
    >/dev/null 2>&1 || fail "openssl req $*: failed"; }
openssl_req -keyout "$T/ca.key" -out "$T/ca.pem" -subj "/CN=turnd test CA"
openssl_req -keyout "$T/other.key" -out "$T/other.pem" -subj "/CN=another CA"
openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout "$T/key.pem" \
    -out "$T/req.pem" -subj "/CN=localhost" >/dev/null 2>&1 || fail "openssl req -new failed"
printf 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n' >"$T/ext.cnf"
openssl x509 -req -in "$T/req.pem" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial \
    -days 2 -extfile "$T/ext.cnf" -out "$T/cert.pem" >/dev/null 2>&1 || fail "openssl x509 -req failed"

TLS_PORT=$(free_port)
start_turnd --workers 2 --user alice:wonderland --allow-peer 127.0.0.0/8 --allow-peer ::1/128 \
    --tls-listen "127.0.0.1:$TLS_PORT" --tls-listen "[::1]:$TLS_PORT" \
    --tls-cert "$T/cert.pem" --tls-key "$T/key.pem"
grep -q "listening on 127.0.0.1:$TLS_PORT (tls)" "$TURND_LOG" || fail "no TLS listener in the log"

note "stunclient --tls: Binding over TLS, the certificate checked against our CA"
for h in 127.0.0.1 ::1; do
	run_stunclient --tls --ca "$T/ca.pem" --timeout 5 "$h" "$TLS_PORT"
	[ "$RC" -eq 0 ] || fail "--tls $h: exit $RC: $OUT"
	[ "$(text_field "mapped address")" = "$(text_field "local address")" ] ||
	    fail "--tls $h: mapped != local: $OUT"
	case $(text_field "server") in *"(tls)") ;; *) fail "--tls $h: transport not tls: $OUT" ;; esac
	text_field tls | grep -q '^TLSv1\.[23], ' || fail "--tls $h: no TLS version shown: $OUT"
done
run_stunclient --tls --ca "$T/ca.pem" --json --timeout 5 127.0.0.1 "$TLS_PORT"
json_valid || fail "--tls --json: not a flat JSON object: $OUT"
[ "$(json_field transport)" = tls ] || fail "--tls --json: transport: $OUT"
case $(json_field tls_version) in TLSv1.2 | TLSv1.3) ;; *) fail "--tls --json: tls_version: $OUT" ;; esac

note "stunclient --tls: a certificate from another CA, or for another name, is refused"
run_stunclient --tls --ca "$T/other.pem" --timeout 5 127.0.0.1 "$TLS_PORT"
[ "$RC" -eq 3 ] || fail "another CA: exit $RC, want 3: $OUT"
printf '%s\n' "$OUT" | grep -q "certificate rejected" || fail "another CA: no reason given: $OUT"
run_stunclient --tls --ca "$T/ca.pem" --timeout 5 127.0.0.2 "$TLS_PORT"	# not in the SAN; no listener either
[ "$RC" -ne 0 ] || fail "127.0.0.2 accepted: $OUT"
run_stunclient --tls --insecure --timeout 5 127.0.0.1 "$TLS_PORT"
[ "$RC" -eq 0 ] || fail "--insecure: exit $RC: $OUT"

note "stunclient --turn --tls: Allocate, Send and channel probes over TLS"
for h in 127.0.0.1 ::1; do
	run_stunclient --turn --tls --ca "$T/ca.pem" --user alice --password wonderland --json \
	    --timeout 5 "$h" "$TLS_PORT"
	[ "$RC" -eq 0 ] || fail "--turn --tls $h: exit $RC: $OUT"
	[ "$(json_field transport)" = tls ] || fail "--turn --tls $h: transport: $OUT"
	[ "$(json_field freed)" = true ] || fail "--turn --tls $h: not freed: $OUT"
done
run_stunclient --turn --tls --ca "$T/other.pem" --user alice --password wonderland \
    --timeout 5 127.0.0.1 "$TLS_PORT"
[ "$RC" -eq 3 ] && printf '%s\n' "$OUT" | grep -q "certificate rejected" ||
    fail "--turn --tls with another CA: exit $RC: $OUT"

note "a plaintext client on the TLS port is dropped; turnd goes on"
run_stunclient --tcp --timeout 2 127.0.0.1 "$TLS_PORT"
[ "$RC" -ne 0 ] || fail "plain TCP Binding answered on the TLS port: $OUT"
expect_binding 127.0.0.1 --tcp

note "turnutils_uclient over TLS (-t -S): channels and Send indications, to a peer and client to client"
start_peer 127.0.0.1
for mode in chan send; do
	for to in peer c2c; do
		args=(-t -S -p "$TLS_PORT" -u alice -w wonderland -n 30 -m 2 -l 200 -c)
		[ "$mode" = send ] && args+=(-s)
		if [ "$to" = peer ]; then args+=(-e 127.0.0.1 -r "$PEER_PORT"); else args+=(-y); fi
		uclient_start "tls-$mode-$to" "${args[@]}" 127.0.0.1
	done
done
uclient_start tls6-chan-c2c -t -S -p "$TLS_PORT" -u alice -w wonderland -n 30 -m 2 -l 200 -c -y ::1
uclient_wait
for name in tls-chan-peer tls-chan-c2c tls-send-peer tls-send-c2c tls6-chan-c2c; do
	uclient_ok "$name"
done
stop_turnd
[ "$(turnd_stat tls_accepted)" -ge 10 ] || fail "tls_accepted=$(turnd_stat tls_accepted), want 10 or more"
[ "$(turnd_stat tls_errors)" -ge 2 ] || fail "tls_errors=$(turnd_stat tls_errors): the refused handshakes were not counted"

note "configuration: tls_listen without a certificate, and unreadable or mismatched files, stop turnd at start"
RC=0
OUT=$("$TURND" -n --listen "127.0.0.1:$PORT" --tls-listen "127.0.0.1:$TLS_PORT" 2>&1) || RC=$?
[ "$RC" -eq 1 ] && printf '%s\n' "$OUT" | grep -q "tls_listen needs tls_cert and tls_key" ||
    fail "tls_listen without files: exit $RC: $OUT"
RC=0
OUT=$("$TURND" -n --listen "127.0.0.1:$PORT" --tls-listen "127.0.0.1:$TLS_PORT" \
    --tls-cert "$T/missing.pem" --tls-key "$T/key.pem" 2>&1) || RC=$?
[ "$RC" -eq 1 ] && printf '%s\n' "$OUT" | grep -q "tls_cert: $T/missing.pem" ||
    fail "missing certificate: exit $RC: $OUT"
RC=0
OUT=$(timeout 10 "$TURND" -f --listen "127.0.0.1:$PORT" --tls-listen "127.0.0.1:$TLS_PORT" \
    --tls-cert "$T/cert.pem" --tls-key "$T/other.key" 2>&1) || RC=$?
[ "$RC" -eq 1 ] && printf '%s\n' "$OUT" | grep -q "tls_key: $T/other.key: .*mismatch" ||
    fail "mismatched key: exit $RC: $OUT"
note "ok"
