#!/usr/bin/env python3
"""gen-corpus.py: write the sequence-format seeds of fuzz-stun-msg into fuzz/corpus.

Usage: python3 fuzz/gen-corpus.py [corpus-dir]
The input format is described at the top of fuzz-stun-msg.c. Raw single
messages (the older seeds) are wrapped as one RAW record by --wrap FILE...
"""
import os
import struct
import sys

COOKIE = 0x2112A442
OP_RAW, OP_SIGNED, OP_RELAY_IN, OP_TICK, OP_CLIENT, OP_CLOSE, OP_CODEC, OP_BADKEY = range(8)
CRED_MD5, CRED_SHA256, CRED_ALT, CRED_MD5_MI256 = range(4)

# flags byte
V1, TCP, V6, PRELUDE, DUAL, PFP = 1, 2, 4, 8, 16, 32


def cred_flags(kind):
    return kind << 6


def header(flags=0, open_mask=0, send_mask=0):
    return bytes([flags, open_mask, send_mask])


def rec(op, payload=b""):
    return bytes([op]) + struct.pack(">H", len(payload)) + payload


def tlv(t, v):
    return struct.pack(">HH", t, len(v)) + v


def xaddr(ip, port, txid=b"\0" * 12):
    import ipaddress
    a = ipaddress.ip_address(ip)
    xport = port ^ (COOKIE >> 16)
    if a.version == 4:
        return struct.pack(">BBHI", 0, 1, xport, int(a) ^ COOKIE)
    key = struct.pack(">I", COOKIE) + txid
    raw = bytes(x ^ y for x, y in zip(a.packed, key))
    return struct.pack(">BBH", 0, 2, xport) + raw


def signed(type_, txid, attrs, kind=CRED_MD5, fp=False, stale=False, foreign=False, bad=False):
    opts = kind | (4 if fp else 0) | (8 if stale else 0) | (16 if foreign else 0)
    body = struct.pack(">H", type_) + txid + b"".join(attrs)
    return rec((OP_BADKEY if bad else OP_SIGNED) | (opts << 3), body)


def stun(type_, txid, attrs):
    body = b""
    for t, v in attrs:
        body += struct.pack(">HH", t, len(v)) + v + b"\0" * ((4 - len(v) % 4) % 4)
    return struct.pack(">HHI", type_, len(body), COOKIE) + txid + body


def chandata(ch, data, stream=False):
    pad = b"\0" * ((4 - len(data) % 4) % 4) if stream else b""
    return struct.pack(">HH", ch, len(data)) + data + pad


def relay_last(data, port=None):
    if port is None:
        return rec(OP_RELAY_IN, bytes([0]) + data)
    return rec(OP_RELAY_IN, bytes([2]) + struct.pack(">H", port) + data)


def relay_explicit(ip, port, data):
    import ipaddress
    a = ipaddress.ip_address(ip)
    return rec(OP_RELAY_IN, bytes([1, 1 if a.version == 6 else 0]) + struct.pack(">H", port) +
               a.packed + data)


def tick(ms):
    return rec(OP_TICK, struct.pack(">I", ms))


def client(idx, tcp=False, v6=False):
    return rec(OP_CLIENT, bytes([idx | (4 if tcp else 0) | (8 if v6 else 0)]))


ALLOCATE, REFRESH, SEND_IND, CREATE_PERM, CHANNEL_BIND, BINDING = 0x0003, 0x0004, 0x0016, 0x0008, 0x0009, 0x0001
A_LIFETIME, A_XOR_PEER, A_DATA, A_CHANNEL, A_REQ_TRANSPORT = 0x000d, 0x0012, 0x0013, 0x000c, 0x0019
A_REQ_FAMILY, A_EVEN_PORT, A_DONT_FRAG, A_AAF, A_RES_TOKEN = 0x0017, 0x0018, 0x001a, 0x8000, 0x0022
UDP = tlv(A_REQ_TRANSPORT, b"\x11\0\0\0")


def tx(s):
    return s.encode().ljust(12, b"-")[:12]


def seeds():
    s = {}
    # Allocate, CreatePermission, Send indication out, peer data back as Data indications, Refresh, delete.
    s["seq-alloc-perm-send-refresh"] = header(PRELUDE) + \
        signed(CREATE_PERM, tx("perm1"), [tlv(A_XOR_PEER, xaddr("127.0.0.1", 50000))]) + \
        rec(OP_RAW, stun(SEND_IND, tx("send1"), [(A_XOR_PEER, xaddr("127.0.0.1", 50000)),
                                                 (A_DATA, b"hello peer")])) + \
        relay_last(b"hello client") + relay_last(b"other port", 50001) + \
        relay_explicit("8.8.8.8", 53, b"no permission") + \
        signed(REFRESH, tx("refresh1"), [tlv(A_LIFETIME, struct.pack(">I", 1200))]) + \
        signed(REFRESH, tx("refresh0"), [tlv(A_LIFETIME, b"\0\0\0\0")])
    # ChannelBind, ChannelData both ways, expiry of the channel and the permission.
    s["seq-alloc-chanbind-chandata"] = header(PRELUDE) + \
        signed(CHANNEL_BIND, tx("bind1"), [tlv(A_CHANNEL, b"\x40\x01\0\0"),
                                           tlv(A_XOR_PEER, xaddr("8.8.8.8", 5000))]) + \
        rec(OP_RAW, chandata(0x4001, b"to the peer")) + relay_last(b"to the client") + \
        signed(CHANNEL_BIND, tx("bind2"), [tlv(A_CHANNEL, b"\x40\x02\0\0"),
                                           tlv(A_XOR_PEER, xaddr("8.8.8.8", 5000))]) + \
        tick(301000) + relay_last(b"permission gone") + tick(300000) + \
        rec(OP_RAW, chandata(0x4001, b"channel gone"))
    # The same over TCP: padded ChannelData, two frames in one read, the stream closing.
    s["seq-tcp-chandata-close"] = header(PRELUDE | TCP) + \
        signed(CHANNEL_BIND, tx("bindtcp"), [tlv(A_CHANNEL, b"\x7f\xff\0\0"),
                                             tlv(A_XOR_PEER, xaddr("127.0.0.1", 50002))]) + \
        rec(OP_RAW, chandata(0x7fff, b"abc", True) + stun(BINDING, tx("bindreq"), [])) + \
        relay_last(b"xyz") + relay_last(b"12345678") + rec(OP_CLOSE)
    # Dual-stack allocation from an IPv6 client; relay to relay on our own ::1.
    s["seq-dual-v6"] = header(PRELUDE | DUAL | V6 | PFP | cred_flags(CRED_SHA256)) + \
        signed(CREATE_PERM, tx("perm6"), [tlv(A_XOR_PEER, xaddr("::1", 50000, tx("perm6"))),
                                          tlv(A_XOR_PEER, xaddr("127.0.0.1", 50000))],
               kind=CRED_SHA256) + \
        relay_explicit("::1", 50000, b"six") + relay_explicit("127.0.0.1", 50000, b"four") + \
        rec(OP_RAW, stun(SEND_IND, tx("send6"), [(A_XOR_PEER, xaddr("::1", 50000, tx("send6"))),
                                                 (A_DATA, b"x" * 5), (A_DONT_FRAG, b"")])) + \
        signed(REFRESH, tx("refr6"), [tlv(A_REQ_FAMILY, b"\x02\0\0\0"), tlv(A_LIFETIME, b"\0\0\x0e\x10")],
               kind=CRED_SHA256, fp=True)
    # USERHASH and MD5-under-SHA256 credentials; a retransmitted Allocate; a second one (437).
    s["seq-userhash-retransmit"] = header(PRELUDE | cred_flags(CRED_ALT)) + \
        signed(ALLOCATE, b"fuzz-prelude", [UDP], kind=CRED_ALT) + \
        signed(ALLOCATE, tx("other"), [UDP], kind=CRED_MD5_MI256) + \
        signed(CREATE_PERM, tx("perm"), [tlv(A_XOR_PEER, xaddr("127.0.0.9", 1))], kind=CRED_MD5_MI256)
    # Stale and foreign nonces (438), a wrong password (401), no credentials at all (401).
    s["seq-auth-failures"] = header() + \
        signed(ALLOCATE, tx("stale"), [UDP], stale=True) + \
        signed(ALLOCATE, tx("foreign"), [UDP], foreign=True, fp=True) + \
        signed(ALLOCATE, tx("badkey"), [UDP], bad=True) + \
        signed(ALLOCATE, tx("badsha"), [UDP], kind=CRED_SHA256, bad=True) + \
        rec(OP_RAW, stun(ALLOCATE, tx("noauth"), [(A_REQ_TRANSPORT, b"\x11\0\0\0")])) + \
        signed(ALLOCATE, tx("good"), [UDP, tlv(A_LIFETIME, b"\xff\xff\xff\xff")])
    # Variant 1: shared-secret user, quotas, two permissions at most, strict channels, tiny port pool.
    s["seq-v1-limits"] = header(V1 | PRELUDE) + \
        signed(CREATE_PERM, tx("p3"), [tlv(A_XOR_PEER, xaddr("127.0.0.1", 50000)),
                                       tlv(A_XOR_PEER, xaddr("127.0.0.3", 50000)),
                                       tlv(A_XOR_PEER, xaddr("127.0.0.4", 50000))]) + \
        signed(CREATE_PERM, tx("p2"), [tlv(A_XOR_PEER, xaddr("127.0.0.1", 50000)),
                                       tlv(A_XOR_PEER, xaddr("127.0.0.3", 50000))]) + \
        signed(CHANNEL_BIND, tx("c1"), [tlv(A_CHANNEL, b"\x50\x00\0\0"),
                                        tlv(A_XOR_PEER, xaddr("127.0.0.1", 50000))]) + \
        signed(CHANNEL_BIND, tx("c2"), [tlv(A_CHANNEL, b"\x4f\xff\0\0"),
                                        tlv(A_XOR_PEER, xaddr("127.0.0.1", 50000))]) + \
        signed(CREATE_PERM, tx("deny"), [tlv(A_XOR_PEER, xaddr("127.0.0.2", 50000))]) + \
        relay_last(b"a" * 1500) + relay_last(b"b" * 1500) + tick(1000) + relay_last(b"c" * 100) + \
        client(1) + signed(ALLOCATE, tx("bob"), [UDP], kind=CRED_ALT) + \
        client(2) + signed(ALLOCATE, tx("alice2"), [UDP]) + \
        client(3) + signed(ALLOCATE, tx("alice3"), [UDP]) + \
        client(3, v6=True) + signed(ALLOCATE, tx("v6fam"), [UDP, tlv(A_REQ_FAMILY, b"\x02\0\0\0")],
                                    kind=CRED_ALT) + \
        tick(11000) + client(1) + signed(REFRESH, tx("bobref"), [], kind=CRED_ALT) + \
        signed(REFRESH, tx("notbob"), [])
    # EVEN-PORT with the R bit, then a token to redeem; relay_open failing once, then always.
    s["seq-even-port-open-fail"] = header(V1, open_mask=0x01) + \
        signed(ALLOCATE, tx("even"), [UDP, tlv(A_EVEN_PORT, b"\x80")]) + \
        client(1) + signed(ALLOCATE, tx("token"), [UDP, tlv(A_RES_TOKEN, b"\0" * 8)]) + \
        client(2) + signed(ALLOCATE, tx("dual"), [UDP, tlv(A_AAF, b"\x02\0\0\0")])
    s["seq-open-fails"] = header(PRELUDE, open_mask=0xff) + \
        signed(ALLOCATE, tx("again"), [UDP]) + rec(OP_RAW, chandata(0x4000, b""))
    # Sends failing; tight reply buffers; codec-only records.
    s["seq-send-fail-tight"] = header(PRELUDE, send_mask=0xff) + \
        signed(CHANNEL_BIND, tx("bind"), [tlv(A_CHANNEL, b"\x40\x00\0\0"),
                                          tlv(A_XOR_PEER, xaddr("127.0.0.1", 50000))]) + \
        rec(OP_RAW, chandata(0x4000, b"dropped")) + relay_last(b"dropped") + \
        rec(OP_RAW | (3 << 3), stun(BINDING, tx("tight"), [(0x8022, b"sw")])) + \
        rec(OP_CODEC, stun(BINDING, tx("codec"), [(0x0006, b"user")]))
    return s


def wrap(paths, outdir):
    for p in paths:
        data = open(p, "rb").read()
        name = os.path.basename(p)
        flags = TCP if name.startswith("stream-") else 0
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(header(flags) + rec(OP_RAW, data))


def main():
    args = sys.argv[1:]
    if args and args[0] == "--wrap":
        outdir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
        wrap(args[1:], outdir)
        return
    outdir = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    os.makedirs(outdir, exist_ok=True)
    for name, data in seeds().items():
        with open(os.path.join(outdir, name + ".bin"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
