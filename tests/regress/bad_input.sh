#!/bin/bash
# bad_input.sh: malformed, unexpected and random bytes over UDP and TCP: right errors, silence, no crash.
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
watchdog 30

MAX_FRAME=256
BINDING_REQ=0001

# FINGERPRINT value (hex) for a message (hex) whose header length already
# counts the FINGERPRINT: CRC-32 of the bytes XOR 0x5354554e. gzip's trailer
# carries the CRC-32 of its input, little-endian.
fingerprint() {
	local le crc
	le=$(hex_to_bin "$1" | gzip -c | tail -c 8 | od -An -tx1 -N4 | tr -d ' \n')
	crc=$((16#${le:6:2}${le:4:2}${le:2:2}${le:0:2}))
	printf '%08x' $((crc ^ 0x5354554e))
}

# expect_reply TP HOST HEX WHAT: a reply must come back; check its header.
expect_reply() {
	send_raw "$1" "$2" "$3"
	if [ "$SRC" -ne 0 ] || [ -z "$RESP" ]; then
		fail "$4 ($1 $2): no reply (sendraw exit $SRC), sent $3"
	fi
	[ "${RESP:8:32}" = "${3:8:32}" ] ||
	    fail "$4 ($1 $2): reply does not echo cookie and transaction ID: $RESP"
	[ $((${#RESP} / 2)) -eq $((20 + 16#${RESP:4:4})) ] ||
	    fail "$4 ($1 $2): reply length field does not match its size: $RESP"
}

# expect_silence TP HOST HEX WHAT: nothing may come back.
expect_silence() {
	send_raw "$1" "$2" "$3" "${4:-300}"
	if [ "$SRC" -ne 1 ] || [ -n "$RESP" ]; then
		fail "$5 ($1 $2): expected no reply, got exit $SRC: $RESP"
	fi
}

# expect_error TP HOST HEX CODE WHAT: an error response (0x0111) with CODE.
expect_error() {
	local ec
	expect_reply "$1" "$2" "$3" "$5"
	[ "${RESP:0:4}" = 0111 ] ||
	    fail "$5 ($1 $2): type ${RESP:0:4}, want 0111: $RESP"
	ec=$(stun_attr "$RESP" 0009) || fail "$5 ($1 $2): no ERROR-CODE: $RESP"
	[ "$((16#${ec:4:2}))$(printf '%02d' $((16#${ec:6:2})))" = "$4" ] ||
	    fail "$5 ($1 $2): ERROR-CODE ${ec:0:8}, want $4: $RESP"
}

# still_serving WHAT: the server answers stunclient on both transports.
still_serving() {
	local h
	for h in 127.0.0.1 ::1; do
		expect_binding "$h"
		expect_binding "$h" --tcp
	done
	note "still serving after $1"
}

start_turnd --workers 2 --max-frame "$MAX_FRAME"

for tp in udp tcp; do
	for h in 127.0.0.1 ::1; do
		# Controls: a bare request and one with a right FINGERPRINT get 0x0101.
		req=$(stun_hdr 0x$BINDING_REQ 0 "$(rand_hex 12)")
		expect_reply "$tp" "$h" "$req" "bare Binding request"
		[ "${RESP:0:4}" = 0101 ] || fail "bare Binding ($tp $h): type ${RESP:0:4}"
		stun_attr "$RESP" 0020 >/dev/null ||
		    fail "bare Binding ($tp $h): no XOR-MAPPED-ADDRESS: $RESP"
		req=$(stun_hdr 0x$BINDING_REQ 8 "$(rand_hex 12)")
		good=${req}80280004$(fingerprint "$req")
		expect_reply "$tp" "$h" "$good" "request with a right FINGERPRINT"
		[ "${RESP:0:4}" = 0101 ] ||
		    fail "right FINGERPRINT ($tp $h): type ${RESP:0:4}: $RESP"
		stun_attr "$RESP" 8028 >/dev/null ||
		    fail "right FINGERPRINT ($tp $h): reply has no FINGERPRINT: $RESP"

		# 420 with UNKNOWN-ATTRIBUTES listing 0x0031.
		req=$(stun_hdr 0x$BINDING_REQ 8 "$(rand_hex 12)")0031000400000000
		expect_error "$tp" "$h" "$req" 420 "unknown comprehension-required attribute"
		ua=$(stun_attr "$RESP" 000a) ||
		    fail "420 ($tp $h): no UNKNOWN-ATTRIBUTES: $RESP"
		[ "$ua" = 0031 ] || fail "420 ($tp $h): UNKNOWN-ATTRIBUTES lists '$ua', want 0031"

		# An unknown comprehension-optional attribute is ignored.
		req=$(stun_hdr 0x$BINDING_REQ 8 "$(rand_hex 12)")c031000400000000
		expect_reply "$tp" "$h" "$req" "unknown comprehension-optional attribute"
		[ "${RESP:0:4}" = 0101 ] ||
		    fail "unknown optional attribute ($tp $h): type ${RESP:0:4}: $RESP"

		# An attribute running past the end of the message: 400.
		req=$(stun_hdr 0x$BINDING_REQ 8 "$(rand_hex 12)")8022001061626364
		expect_error "$tp" "$h" "$req" 400 "attribute longer than the message"

		# Indications and responses are never answered.
		expect_silence "$tp" "$h" "$(stun_hdr 0x0011 0 "$(rand_hex 12)")" 300 \
		    "Binding indication"
		expect_silence "$tp" "$h" "$(stun_hdr 0x0101 0 "$(rand_hex 12)")" 300 \
		    "Binding success response"
		expect_silence "$tp" "$h" "$(stun_hdr 0x0111 0 "$(rand_hex 12)")" 300 \
		    "Binding error response"

		# A wrong FINGERPRINT: dropped (RFC 8489 section 7.3).
		bad=${good:0:48}$(printf '%08x' $((16#${good:48:8} ^ 1)))
		expect_silence "$tp" "$h" "$bad" 300 "wrong FINGERPRINT"
	done
done

# UDP only: non-STUN datagrams get nothing.
for h in 127.0.0.1 ::1; do
	expect_silence udp "$h" 68656c6c6f20776f726c640a 300 "text datagram"
	expect_silence udp "$h" "$(stun_hdr 0x$BINDING_REQ 4 "$(rand_hex 12)")" 300 \
	    "header length longer than the datagram"
	expect_silence udp "$h" ff 300 "one-byte datagram"
done
still_serving "non-STUN datagrams"

# TCP: garbage and oversized frames close the connection.
for h in 127.0.0.1 ::1; do
	send_raw tcp "$h" ffffffff0000000000000000 2000
	[ "$SRC" -eq 2 ] || fail "tcp $h: garbage (0xff...) did not close the connection (exit $SRC)"
	send_raw tcp "$h" ff 2000
	[ "$SRC" -eq 2 ] || fail "tcp $h: one garbage byte did not close the connection (exit $SRC)"
	# Header alone of a frame of exactly MAX_FRAME bytes: turnd waits for the rest.
	send_raw tcp "$h" "$(stun_hdr 0x$BINDING_REQ $((MAX_FRAME - 20)) "$(rand_hex 12)")" 500
	[ "$SRC" -eq 1 ] || fail "tcp $h: frame of --max-frame bytes: exit $SRC, want 1 (open, waiting)"
	# Four bytes more than MAX_FRAME: closed at once.
	send_raw tcp "$h" "$(stun_hdr 0x$BINDING_REQ $((MAX_FRAME - 16)) "$(rand_hex 12)")" 2000
	[ "$SRC" -eq 2 ] || fail "tcp $h: frame over --max-frame did not close the connection (exit $SRC)"
done
still_serving "TCP garbage"

# Random datagrams: pure noise, then a sound header over random attributes.
# Replies (400s, the odd 420) are allowed; a crash is not.
n=0
for ((i = 0; i < 200; i++)); do
	len=$((16#$(rand_hex 1) % 120 + 1))
	send_raw udp 127.0.0.1 "$(rand_hex "$len")" 0
	n=$((n + 1))
done
for ((i = 0; i < 200; i++)); do
	len=$(((16#$(rand_hex 1) % 30 + 1) * 4))
	body=$(rand_hex "$len")
	h=127.0.0.1
	[ $((i % 2)) -eq 0 ] || h=::1
	send_raw udp "$h" "$(stun_hdr 0x$BINDING_REQ "$len" "$(rand_hex 12)")$body" 0
	n=$((n + 1))
done
# A few random byte streams over TCP: each is answered, left waiting or closed.
for ((i = 0; i < 20; i++)); do
	send_raw tcp 127.0.0.1 "$(rand_hex $((16#$(rand_hex 1) % 64 + 1)))" 20
	n=$((n + 1))
done
alive "$TURND_PID" || fail "turnd died during the random input"
still_serving "$n random messages"

stop_turnd
grep -q "stats: rx=" "$TURND_LOG" || fail "no stats line in the log"
note "$(grep "stats: rx=" "$TURND_LOG")"

# A silent TCP connection is closed after tcp_idle_timeout, even mid-frame.
start_turnd --tcp-idle-timeout 1
t0=$(date +%s%N)
send_raw tcp 127.0.0.1 "0001" 5000
elapsed_ms=$((($(date +%s%N) - t0) / 1000000))
[ "$SRC" -eq 2 ] || fail "idle TCP connection not closed within 5 s (sendraw exit $SRC)"
[ "$elapsed_ms" -ge 900 ] || fail "idle TCP connection closed after ${elapsed_ms} ms, before the 1 s timeout"
note "idle TCP connection closed after ${elapsed_ms} ms"
stop_turnd
