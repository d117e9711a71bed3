#!/bin/bash
# webrtc_chromium.sh: real WebRTC through turnd in headless Chromium: relay-only peer connections over TURN/UDP,
# TURN/TCP and TURN/TLS (turns:, a test CA trusted in the browser's NSS db; data channel, fake camera,
# relay/relay pair in getStats), and a srflx candidate via STUN.
# The browser side is tests/webrtc/ (driver.js drives /usr/bin/chromium with playwright-core from npm).
# Installs what is missing (as root: apt-get chromium nodejs npm; npm ci); skips (77) if it cannot.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

WEBRTC_SRC=$top_srcdir/tests/webrtc
CHROMIUM=/usr/bin/chromium
INSTALL_TIMEOUT=300	# seconds for each apt-get or npm step
export HOME=${HOME:-$T}
export DEBIAN_FRONTEND=noninteractive
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1	# never let anything fetch a browser build
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false

# --- What the test needs: Debian's chromium and nodejs, playwright-core ----

# apt_install PKG...: install Debian packages, or skip saying why.
apt_install() {
	local log=$T/apt.log
	[ "$(id -u)" -eq 0 ] || skip "missing $*: not root, cannot apt-get install it"
	command -v apt-get >/dev/null || skip "missing $*: no apt-get here"
	note "installing $* with apt-get"
	# With no network, update only warns: the install below is what fails.
	timeout "$INSTALL_TIMEOUT" apt-get update -q >"$log" 2>&1 || true
	if ! timeout "$INSTALL_TIMEOUT" apt-get install -y -q "$@" >>"$log" 2>&1; then
		tail -n 15 "$log" >&2
		skip "apt-get install $* failed (no network or no such package?)"
	fi
}

# The version of playwright-core that package-lock.json pins, and the one in a node_modules.
locked_version() {
	node -p "require(process.argv[1]).packages['node_modules/playwright-core'].version" \
	    "$WEBRTC_SRC/package-lock.json"
}
installed_version() {
	[ -f "$1/playwright-core/package.json" ] || return 0
	node -p "require(process.argv[1]).version" "$1/playwright-core/package.json"
}

# npm_ci DIR: npm ci in DIR (which holds package.json and package-lock.json), or skip.
npm_ci() {
	local log=$T/npm.log
	note "npm ci in $1"
	if ! (cd "$1" && timeout "$INSTALL_TIMEOUT" npm ci --no-audit --no-fund --fetch-retries=1 \
	    --fetch-timeout=60000) >"$log" 2>&1; then
		tail -n 15 "$log" >&2
		skip "npm ci failed in $1 (no network?)"
	fi
}

pkgs=()
[ -x "$CHROMIUM" ] || pkgs+=(chromium)
command -v certutil >/dev/null || pkgs+=(libnss3-tools)	# the browser's trust store
command -v node >/dev/null || pkgs+=(nodejs)
if [ ! -f "$WEBRTC_SRC/node_modules/playwright-core/package.json" ] && ! command -v npm >/dev/null; then
	pkgs+=(npm)
fi
[ "${#pkgs[@]}" -eq 0 ] || apt_install "${pkgs[@]}"
[ -x "$CHROMIUM" ] || skip "$CHROMIUM is still missing after installing chromium"
command -v certutil >/dev/null || skip "certutil is still missing after installing libnss3-tools"
command -v openssl >/dev/null || skip "openssl (the command) not installed"
node_version=$(node -p process.versions.node 2>&1) ||
    skip "node does not run: $(printf '%s\n' "$node_version" | head -n 1)"
[ "${node_version%%.*}" -ge 18 ] ||
    skip "node $node_version is too old for playwright-core (18 or later)"

# playwright-core: tests/webrtc/node_modules when present and current; else npm ci there,
# or, when the source tree is read-only (distcheck), in a copy under the temp dir.
want=$(locked_version) || fail "cannot read $WEBRTC_SRC/package-lock.json"
MODULES=$WEBRTC_SRC/node_modules
if [ "$(installed_version "$MODULES")" != "$want" ]; then
	command -v npm >/dev/null || apt_install npm
	if [ -w "$WEBRTC_SRC" ] && { [ ! -e "$MODULES" ] || [ -w "$MODULES" ]; }; then
		npm_ci "$WEBRTC_SRC"
	else
		mkdir -p "$T/npm"
		cp "$WEBRTC_SRC/package.json" "$WEBRTC_SRC/package-lock.json" "$T/npm/"
		npm_ci "$T/npm"
		MODULES=$T/npm/node_modules
	fi
	[ "$(installed_version "$MODULES")" = "$want" ] ||
	    fail "npm ci did not install playwright-core $want in $MODULES"
fi
note "chromium: $("$CHROMIUM" --version 2>/dev/null | head -n 1); node $node_version; playwright-core $want"

# --- The test --------------------------------------------------------------

# Installing may take minutes; the test itself is bounded from here on: the driver gives each
# of its 4 steps 60 s and itself 30 s more.
watchdog 300

# TURN over TLS: a throw-away CA, a certificate for 127.0.0.1 signed by it, and the CA
# trusted in an NSS database under a HOME of the browser's own (Chromium checks TURN
# server certificates as it checks web sites'; nothing is trusted any other way).
tls_req() { openssl req -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 "$@" >/dev/null 2>&1 ||
    fail "openssl req $*: failed"; }
tls_req -x509 -days 2 -keyout "$T/ca.key" -out "$T/ca.pem" -subj "/CN=turnd webrtc test CA"
tls_req -new -keyout "$T/key.pem" -out "$T/req.pem" -subj "/CN=127.0.0.1"
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$T/ext.cnf"
openssl x509 -req -in "$T/req.pem" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
    -extfile "$T/ext.cnf" -out "$T/cert.pem" >/dev/null 2>&1 || fail "openssl x509 -req failed"
BROWSER_HOME=$T/browser-home
mkdir -p "$BROWSER_HOME/.pki/nssdb"
certutil -d "sql:$BROWSER_HOME/.pki/nssdb" -N --empty-password &&
    certutil -d "sql:$BROWSER_HOME/.pki/nssdb" -A -t "C,," -n turnd-test-ca -i "$T/ca.pem" ||
    fail "certutil could not trust the test CA"
TLS_PORT=$(free_port)

start_turnd_on 127.0.0.1 -v --workers 2 --user test:test --realm mini_rtc \
    --allow-peer 127.0.0.0/8 --tls-listen "127.0.0.1:$TLS_PORT" --tls-cert "$T/cert.pem" \
    --tls-key "$T/key.pem"
rc=0
HOME=$BROWSER_HOME NODE_PATH=$MODULES node "$WEBRTC_SRC/driver.js" --turn "127.0.0.1:$PORT" \
    --turns "127.0.0.1:$TLS_PORT" --user test --password test --timeout 60 udp tcp tls srflx ||
    rc=$?
[ "$rc" -eq 0 ] || fail "the WebRTC driver failed (exit $rc); see its output above"
stop_turnd

# turnd's own view: allocations were made and carried data both ways, with no error but the
# 401 (and 438 stale nonce) that every long-term-credential client meets first.
stats=$(grep 'stats: ' "$TURND_LOG" | tail -n 1)
note "turnd $stats"
[ -n "$stats" ] || fail "turnd logged no stats line at exit"
allocs=$(printf '%s\n' "$stats" | sed -n 's/.* allocs=\([0-9]*\).*/\1/p')
up=$(printf '%s\n' "$stats" | sed -n 's/.* up=\([0-9]*\)\/.*/\1/p')
down=$(printf '%s\n' "$stats" | sed -n 's/.* down=\([0-9]*\)\/.*/\1/p')
[ "${allocs:-0}" -ge 6 ] || fail "turnd made ${allocs:-no} allocations, want at least 6: $stats"
tls=$(printf '%s\n' "$stats" | sed -n 's/.* tls_accepted=\([0-9]*\).*/\1/p')
[ "${tls:-0}" -ge 2 ] || fail "no TLS connections (tls_accepted=${tls:-none}): $stats"
tls_errors=$(printf '%s\n' "$stats" | sed -n 's/.* tls_errors=\([0-9]*\).*/\1/p')
[ "${tls_errors:-0}" -eq 0 ] || fail "TLS errors with a trusted certificate: $stats"
if [ "${up:-0}" -eq 0 ] || [ "${down:-0}" -eq 0 ]; then
	fail "turnd relayed nothing one way (up=$up down=$down): $stats"
fi
bad_codes=$(printf '%s\n' "$stats" | grep -o ' e[0-9]*=' | grep -v -e ' e401=' -e ' e438=' || true)
[ -z "$bad_codes" ] || fail "turnd answered errors other than 401/438: $(printf "%s" "$bad_codes" | tr "\n" " ")in $stats"
exit 0
