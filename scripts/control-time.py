#!/usr/bin/env python3
"""Times one request on ike's control socket from connect to the whole answer, with no
process started in the timed part: `ike cmd=activate wait=` without the client's own
start-up. Prints microseconds and the answer's exit status.

    scripts/control-time.py SOCKET cmd=activate namelist=NAME wait=5
"""
import socket, struct, sys, time

path, params = sys.argv[1], sys.argv[2:]
body = "\n".join(params).encode()
t0 = time.perf_counter()
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
s.sendall(b"IK\x01\x01" + struct.pack(">I", len(body)) + body)
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
    if len(data) >= 8 and len(data) >= 8 + struct.unpack(">I", data[4:8])[0]:
        break
t1 = time.perf_counter()
status = data[8] if len(data) > 8 else 255
print(int((t1 - t0) * 1e6), status)
