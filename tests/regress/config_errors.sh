#!/bin/bash
# config_errors.sh: turnd -n accepts a good file and the shipped one, and names file:line and a reason for bad ones.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
watchdog 30

# run_turnd ARGS...: sets OUT (stdout and stderr) and RC.
run_turnd() {
	RC=0
	OUT=$("$TURND" "$@" 2>&1) || RC=$?
}

# expect_ok FILE: turnd -n -c FILE says OK and exits 0.
expect_ok() {
	run_turnd -n -c "$1"
	[ "$RC" -eq 0 ] || fail "turnd -n -c $1: exit $RC: $OUT"
	printf '%s\n' "$OUT" | grep -q "configuration OK" ||
	    fail "turnd -n -c $1: no 'configuration OK': $OUT"
}

# expect_bad NAME LINE REASON-REGEX: $T/NAME.conf (already written) must
# fail with exit 1 and a message "FILE:LINE: ..." matching the reason.
expect_bad() {
	local f=$T/$1.conf
	run_turnd -n -c "$f"
	[ "$RC" -eq 1 ] || fail "$1: turnd -n -c $f: exit $RC, want 1: $OUT"
	printf '%s\n' "$OUT" | grep -qF "$f:$2:" ||
	    fail "$1: message does not name $f:$2: $OUT"
	printf '%s\n' "$OUT" | grep -F "$f:$2:" | grep -Eqi "$3" ||
	    fail "$1: message gives no reason matching '$3': $OUT"
	printf '%s\n' "$OUT" | grep -q "configuration OK" &&
	    fail "$1: says OK although it failed: $OUT"
	note "$1: $OUT"
}

# A good file using every kind of value.
cat >"$T/good.conf" <<'EOF'
# a comment
listen = ["127.0.0.1:3478", "[::1]:3478"];
workers = 2;
udp = true;
tcp = false;
software = "test server";
rfc3489 = false;
max_frame = 1500;
log_level = "debug";
EOF
expect_ok "$T/good.conf"

# An empty file keeps the defaults.
: >"$T/empty.conf"
expect_ok "$T/empty.conf"

cat >"$T/unknown.conf" <<'EOF'
workers = 2;

no_such_option = 1;
EOF
expect_bad unknown 3 "unknown option.*no_such_option"

cat >"$T/type.conf" <<'EOF'
# workers is an integer
listen = "127.0.0.1:3478";
workers = "two";
EOF
expect_bad type 3 "workers.*integer"

cat >"$T/port.conf" <<'EOF'
workers = 1;
software = "x";
tcp = true;
listen = "127.0.0.1:70000";
EOF
expect_bad port 4 "listen.*70000"

cat >"$T/range.conf" <<'EOF'
max_frame = 10;
EOF
expect_bad range 1 "max_frame.*range"

cat >"$T/syntax.conf" <<'EOF'
workers = 2;
udp = true;
tcp = ;
software = "x";
EOF
expect_bad syntax 3 "syntax|error|unexpected"

# The command line: unknown options and bad values fail, -n reports no OK.
run_turnd -n --no-such-option 1
[ "$RC" -ne 0 ] || fail "turnd -n --no-such-option 1: exit 0: $OUT"
printf '%s\n' "$OUT" | grep -q "no-such-option" ||
    fail "turnd --no-such-option: the message does not name it: $OUT"
run_turnd -n -Z
[ "$RC" -ne 0 ] || fail "turnd -n -Z: exit 0: $OUT"
run_turnd -n --workers two
[ "$RC" -eq 1 ] || fail "turnd -n --workers two: exit $RC, want 1: $OUT"
run_turnd -n --listen 127.0.0.1:0
[ "$RC" -eq 1 ] || fail "turnd -n --listen 127.0.0.1:0: exit $RC, want 1: $OUT"
run_turnd -n -c "$T/does-not-exist.conf"
[ "$RC" -eq 1 ] || fail "turnd -n -c (missing file): exit $RC, want 1: $OUT"
# The command line overrides a good file and is checked too.
run_turnd -n -c "$T/good.conf" --max-frame 100000
[ "$RC" -eq 1 ] || fail "turnd -n -c good --max-frame 100000: exit $RC, want 1: $OUT"

# The configuration we ship must pass.
shipped=$top_srcdir/etc/turnd.conf
[ -f "$shipped" ] || fail "$shipped is missing"
expect_ok "$shipped"
