#!/usr/bin/env python3
"""Unauthenticated IKE floods for scripts/flood (the robustness issue): first messages
from many spoofed source addresses, sent with a raw socket; in the cookie mode the
replies to those addresses are read too and every COOKIE is answered, so that the
responder sees sources that prove their addresses.

    flood-ike.py MODE TARGET SECONDS RATE [SOURCES]

MODE: v2-spoof | v2-cookie | v1-main | v1-aggressive. SOURCES (default 4096) addresses
are taken from 10.99.0.0/16. Prints datagrams sent (and cookies answered)."""
import os, random, socket, struct, sys, threading, time

mode, target, seconds, rate = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
sources = int(sys.argv[5]) if len(sys.argv) > 5 else 4096
addresses = [f"10.99.{1 + i // 250}.{1 + i % 250}" for i in range(sources)]


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def ip_udp(src, dst, sport, dport, payload):
    udp_len = 8 + len(payload)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, udp_len)
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
    c = checksum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, random.getrandbits(16), 0, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + udp


def payload(next_type, body):
    return struct.pack("!BBH", next_type, 0, 4 + len(body)) + body


def ikev2_init(spi, cookie=None, keys=None):
    transforms = [
        (1, 20, struct.pack("!HH", 0x800E, 256)),  # ENCR AES-GCM-16, 256-bit key
        (2, 5, b""),                               # PRF HMAC-SHA2-256
        (4, 31, b""),                              # DH Curve25519
    ]
    body = b""
    for i, (ttype, tid, attrs) in enumerate(transforms):
        last = 0 if i == len(transforms) - 1 else 3
        body += struct.pack("!BBHBBH", last, 0, 8 + len(attrs), ttype, 0, tid) + attrs
    proposal = struct.pack("!BBHBBBB", 0, 0, 8 + len(body), 1, 1, 0, len(transforms)) + body
    chain = payload(34, proposal)                                   # SA, next KE
    ke, nonce = keys or (os.urandom(32), os.urandom(32))
    chain += payload(40, struct.pack("!HH", 31, 0) + ke)             # KE, next Nonce
    chain += payload(0, nonce)                                       # Nonce
    first = 33
    if cookie is not None:
        chain = payload(33, struct.pack("!BBH", 0, 0, 16390) + cookie) + chain
        first = 41
    header = struct.pack("!QQBBBBII", spi, 0, first, 0x20, 34, 0x08, 0, 28 + len(chain))
    return header + chain


def ikev1_first(aggressive):
    attrs = [(1, 7), (14, 256), (2, 4), (3, 1), (4, 14), (11, 1), (12, 3600)]
    a = b"".join(struct.pack("!HH", 0x8000 | t, v) for t, v in attrs)
    transform = struct.pack("!BBHBBH", 0, 0, 8 + len(a), 1, 1, 0) + a
    proposal = struct.pack("!BBHBBBB", 0, 0, 8 + len(transform), 1, 1, 0, 1) + transform
    sa = struct.pack("!II", 1, 1) + proposal
    if aggressive:
        chain = payload(4, sa)                                      # SA, next KE
        chain += payload(10, b"\x01" + os.urandom(255))             # KE (modp2048), next Nonce
        chain += payload(5, os.urandom(32))                         # Nonce, next ID
        chain += payload(0, struct.pack("!BBH", 2, 17, 500) + b"flood.example")
    else:
        chain = payload(0, sa)
    header = struct.pack("!QQBBBBII", random.getrandbits(64) | 1, 0, 1, 0x10, 4 if aggressive else 2, 0, 0, 28 + len(chain))
    return header + chain


raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
raw.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
raw.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
sent = 0
answered = 0
pending = {}
stop = False


def answer_cookies():
    """Reads the responder's answers to our sources and returns every COOKIE."""
    global answered
    rx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
    rx.settimeout(0.2)
    while not stop:
        try:
            packet, _ = rx.recvfrom(4096)
        except socket.timeout:
            continue
        ihl = (packet[0] & 0x0F) * 4
        dst = socket.inet_ntoa(packet[16:20])
        sport, dport = struct.unpack("!HH", packet[ihl:ihl + 4])
        ike = packet[ihl + 8:]
        if sport != 500 or len(ike) < 36 or ike[16] != 41:
            continue
        spi = struct.unpack("!Q", ike[0:8])[0]
        length = struct.unpack("!H", ike[30:32])[0]
        ntype = struct.unpack("!H", ike[34:36])[0]
        if ntype != 16390:
            continue
        cookie = ike[36:28 + length]
        keys = pending.pop(spi, None)   # the cookie covers the nonce: the same request again, once
        if keys is None:
            continue
        raw.sendto(ip_udp(dst, target, dport, 500, ikev2_init(spi, cookie, keys)), (target, 0))
        answered += 1


if mode == "v2-cookie":
    threading.Thread(target=answer_cookies, daemon=True).start()

deadline = time.time() + seconds
interval = 1.0 / rate
next_send = time.time()
while time.time() < deadline:
    src = random.choice(addresses)
    sport = random.randint(1024, 65000)
    if mode in ("v2-spoof", "v2-cookie"):
        if mode == "v2-cookie":
            sport = 500
        spi = random.getrandbits(64) | 1
        keys = (os.urandom(32), os.urandom(32))
        if mode == "v2-cookie":
            pending[spi] = keys
            if len(pending) > 100000:
                pending.pop(next(iter(pending)))
        message = ikev2_init(spi, None, keys)
    elif mode == "v1-main":
        message = ikev1_first(False)
    elif mode == "v1-aggressive":
        message = ikev1_first(True)
    else:
        sys.exit(f"unknown mode {mode}")
    raw.sendto(ip_udp(src, target, sport, 500, message), (target, 0))
    sent += 1
    next_send += interval
    delay = next_send - time.time()
    if delay > 0:
        time.sleep(delay)
stop = True
time.sleep(0.3)
print(f"{mode}: {sent} datagrams in {seconds:.0f} s ({sent / seconds:.0f}/s) from {sources} addresses"
      + (f", {answered} COOKIEs answered" if mode == "v2-cookie" else ""))
