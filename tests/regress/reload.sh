#!/bin/bash
# reload.sh: SIGHUP re-reads the configuration: new and removed users and secrets take effect at once, a new TLS certificate serves new connections, a broken file is reported with its line and changes nothing, options that need a restart are named.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
watchdog 60
command -v openssl >/dev/null || skip "openssl (the command) not installed"

# Two CAs, each with a certificate for 127.0.0.1.
printf 'subjectAltName=IP:127.0.0.1\n' >"$T/ext.cnf"
for ca in a b; do
	openssl req -x509 -nodes -days 2 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
	    -keyout "$T/ca-$ca.key" -out "$T/ca-$ca.pem" -subj "/CN=CA $ca" >/dev/null 2>&1 ||
	    fail "openssl: CA $ca"
	openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
	    -keyout "$T/key-$ca.pem" -out "$T/req-$ca.pem" -subj "/CN=127.0.0.1" >/dev/null 2>&1 &&
	openssl x509 -req -in "$T/req-$ca.pem" -CA "$T/ca-$ca.pem" -CAkey "$T/ca-$ca.key" \
	    -CAcreateserial -days 2 -extfile "$T/ext.cnf" -out "$T/cert-$ca.pem" >/dev/null 2>&1 ||
	    fail "openssl: certificate $ca"
done

TLS_PORT=$(free_port)
CONF=$T/turnd.conf
# write_conf CA USERS...: the file turnd reads, with the certificate of CA.
write_conf() {
	local ca=$1 u list=""
	shift
	for u in "$@"; do list="$list${list:+, }\"$u\""; done
	cat >"$CONF" <<CONF
user = [ $list ];
allow_peer = [ "127.0.0.0/8" ];
tls_listen = [ "127.0.0.1:$TLS_PORT" ];
tls_cert = "$T/cert-$ca.pem";
tls_key = "$T/key-$ca.pem";
CONF
}
turn_as() {	# turn_as USER PASSWORD: stunclient --turn; sets RC and OUT
	run_stunclient --turn --user "$1" --password "$2" --timeout 5 127.0.0.1 "$PORT"
}
# hup: SIGHUP, then wait for the Nth reload line (success or failure).
RELOADS=0
hup() {
	local i
	RELOADS=$((RELOADS + 1))
	kill -HUP "$TURND_PID"
	for i in $(seq 50); do
		[ "$(grep -Ec '(reloaded|reload failed)' "$TURND_LOG")" -ge "$RELOADS" ] && return 0
		sleep 0.1
	done
	fail "no reload line after SIGHUP: $(tail -n 5 "$TURND_LOG")"
}

write_conf a alice:one
start_turnd -c "$CONF" --workers 2
turn_as alice one
[ "$RC" -eq 0 ] || fail "alice before the reload: exit $RC: $OUT"
run_stunclient --tls --ca "$T/ca-a.pem" --timeout 5 127.0.0.1 "$TLS_PORT"
[ "$RC" -eq 0 ] || fail "TLS with CA a before the reload: exit $RC: $OUT"

note "new users and a new certificate"
write_conf b alice:two bob:three
hup
grep -q "reloaded $CONF: 2 user(s), 0 secret(s), the TLS certificate" "$TURND_LOG" ||
    fail "no 'reloaded' line: $(tail -n 3 "$TURND_LOG")"
turn_as alice one
[ "$RC" -eq 1 ] && printf '%s\n' "$OUT" | grep -q "401" || fail "alice's old password still works: exit $RC: $OUT"
turn_as alice two
[ "$RC" -eq 0 ] || fail "alice's new password: exit $RC: $OUT"
turn_as bob three
[ "$RC" -eq 0 ] || fail "bob, added by the reload: exit $RC: $OUT"
run_stunclient --tls --ca "$T/ca-b.pem" --timeout 5 127.0.0.1 "$TLS_PORT"
[ "$RC" -eq 0 ] || fail "TLS with CA b after the reload: exit $RC: $OUT"
run_stunclient --tls --ca "$T/ca-a.pem" --timeout 5 127.0.0.1 "$TLS_PORT"
[ "$RC" -eq 3 ] || fail "the old certificate is still served: exit $RC: $OUT"

note "a broken file: reported with its line, nothing changes"
printf 'user = [ "mallory:x" \n' >"$CONF"
hup
grep -q "reload failed, the running configuration stays: $CONF:[0-9]*: " "$TURND_LOG" ||
    fail "no failure line with file:line: $(tail -n 3 "$TURND_LOG")"
turn_as bob three
[ "$RC" -eq 0 ] || fail "bob after a failed reload: exit $RC: $OUT"
turn_as mallory x
[ "$RC" -eq 1 ] || fail "mallory got in from a broken file: exit $RC: $OUT"

note "a missing certificate file: nothing changes either"
write_conf b carol:four
sed -i "s|cert-b.pem|missing.pem|" "$CONF"
hup
grep -q "reload failed, the running configuration stays: tls_cert: .*missing.pem" "$TURND_LOG" ||
    fail "no failure line for the certificate: $(tail -n 3 "$TURND_LOG")"
turn_as carol four
[ "$RC" -eq 1 ] || fail "carol got in although the reload failed: exit $RC: $OUT"

note "options that need a restart are named"
write_conf b bob:three
printf 'max_permissions = 5;\n' >>"$CONF"
hup
grep -q "reload: max_permissions changed; it takes effect at the next restart" "$TURND_LOG" ||
    fail "max_permissions not named: $(tail -n 3 "$TURND_LOG")"
turn_as bob three
[ "$RC" -eq 0 ] || fail "bob after the last reload: exit $RC: $OUT"

note "TLS taken out of the file: credentials still reload, TLS stays until the restart"
printf 'user = [ "dave:five" ];\nallow_peer = [ "127.0.0.0/8" ];\n' >"$CONF"
hup
grep -q "reload: tls_listen changed; it takes effect at the next restart" "$TURND_LOG" ||
    fail "tls_listen not named: $(tail -n 3 "$TURND_LOG")"
turn_as dave five
[ "$RC" -eq 0 ] || fail "dave after a reload without TLS: exit $RC: $OUT"
run_stunclient --tls --ca "$T/ca-b.pem" --timeout 5 127.0.0.1 "$TLS_PORT"
[ "$RC" -eq 0 ] || fail "TLS after a reload without TLS: exit $RC: $OUT"
stop_turnd
note "ok"
