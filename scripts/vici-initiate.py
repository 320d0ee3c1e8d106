#!/usr/bin/env python3
"""Starts a strongSwan charon's spokes over VICI as a fleet arrives: at most WINDOW
negotiations in flight, the next one started as one comes up (charon's ike-updown
event), so the responder sees a steady stream rather than every spoke at once.

    vici-initiate.py SOCKET COUNT [WINDOW]

Spoke i is the connection `s<i>` with the child `c`, as scripts/bench-hub writes them.
Prints the number of IKE SAs up when done; exits 1 when one is refused or none comes up
for 60 s. Written from the VICI protocol description (strongSwan's src/libcharon/plugins/
vici/README.md): a 32-bit length, an operation type, a name, then the message.
"""
import socket
import struct
import sys

CMD_REQUEST, CMD_RESPONSE, CMD_UNKNOWN = 0, 1, 2
EVENT_REGISTER, EVENT_CONFIRM, EVENT_UNKNOWN, EVENT = 3, 5, 6, 7
KEY_VALUE = 3


def message(pairs):
    out = b""
    for key, value in pairs:
        k, v = key.encode(), value.encode()
        out += struct.pack("!BB", KEY_VALUE, len(k)) + k + struct.pack("!H", len(v)) + v
    return out


def values(body):
    """The top-level key/value pairs of a message; sections and lists are skipped."""
    found, i, depth = {}, 0, 0
    while i < len(body):
        kind = body[i]
        i += 1
        if kind in (1, 4):  # section or list start: a name
            i += 1 + body[i]
            depth += 1
        elif kind in (2, 6):  # section or list end
            depth -= 1
        elif kind == KEY_VALUE:
            klen = body[i]
            key = body[i + 1:i + 1 + klen].decode()
            i += 1 + klen
            (vlen,) = struct.unpack("!H", body[i:i + 2])
            if depth == 0:
                found[key] = body[i + 2:i + 2 + vlen].decode(errors="replace")
            i += 2 + vlen
        elif kind == 5:  # list item
            (vlen,) = struct.unpack("!H", body[i:i + 2])
            i += 2 + vlen
        else:
            raise ValueError("malformed VICI message")
    return found


class Connection:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.buffer = b""

    def send(self, kind, name, body=b""):
        n = name.encode()
        packet = struct.pack("!BB", kind, len(n)) + n + body
        self.sock.sendall(struct.pack("!I", len(packet)) + packet)

    def receive(self):
        """The next packet: (type, name or None, message)."""
        while True:
            if len(self.buffer) >= 4:
                (length,) = struct.unpack("!I", self.buffer[:4])
                if len(self.buffer) >= 4 + length:
                    packet, self.buffer = self.buffer[4:4 + length], self.buffer[4 + length:]
                    kind, name, rest = packet[0], None, packet[1:]
                    if kind == EVENT:
                        name, rest = rest[1:1 + rest[0]].decode(), rest[1 + rest[0]:]
                    return kind, name, rest
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("charon closed the VICI socket")
            self.buffer += chunk


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__.strip(), file=sys.stderr)
        sys.exit(2)
    path, count = sys.argv[1], int(sys.argv[2])
    window = int(sys.argv[3]) if len(sys.argv) == 4 else 64
    vici = Connection(path)
    vici.send(EVENT_REGISTER, "ike-updown")
    kind, _, _ = vici.receive()
    if kind != EVENT_CONFIRM:
        sys.exit("vici-initiate: charon refused the ike-updown event")
    vici.sock.settimeout(60)
    started = up = pending = 0
    while up < count:
        while pending < window and started < count:
            # timeout -1: charon queues the initiation and answers at once.
            vici.send(CMD_REQUEST, "initiate", message([("child", "c"), ("ike", "s%d" % started), ("timeout", "-1")]))
            started += 1
            pending += 1
        try:
            kind, name, body = vici.receive()
        except socket.timeout:
            sys.exit("vici-initiate: no IKE SA came up for 60 s (%d of %d up)" % (up, count))
        if kind == CMD_RESPONSE:
            answer = values(body)
            if answer.get("success") != "yes":
                sys.exit("vici-initiate: charon refused an initiation: %s" % answer.get("errmsg", "?"))
        elif kind == EVENT and name == "ike-updown":
            # The event's message is one section named after the connection, and `up`
            # at the top level when the SA came up (absent when it went down).
            if values(body).get("up") == "yes":
                up += 1
                pending -= 1
    print(up)


if __name__ == "__main__":
    main()
