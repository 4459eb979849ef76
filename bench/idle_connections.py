#!/usr/bin/env python3
"""Idle keep-alive connections for bench/idle_memory.sh.

    idle_connections.py HOST PORT N [--once]

Opens N connections to HOST:PORT, sends one GET /healthz on each and reads its whole answer
(keep-alive), then prints N and holds them open and idle until standard input closes. With
--once it closes them at once instead (a warm-up). Exits 1 if a connection or an answer fails.
"""
import socket
import sys

REQUEST = b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n"


def read_answer(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            raise ConnectionError("closed before the answer's head")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise ConnectionError("answered " + head.split(b"\r\n", 1)[0].decode(errors="replace"))
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(4096)
        if not chunk:
            raise ConnectionError("closed before the answer's body")
        body += chunk


def main():
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    once = "--once" in sys.argv[4:]
    held = []
    try:
        for _ in range(count):
            conn = socket.create_connection((host, port), timeout=10)
            conn.sendall(REQUEST)
            read_answer(conn)
            held.append(conn)
    except (OSError, ConnectionError, ValueError) as error:
        print(f"idle_connections: connection {len(held) + 1}: {error}", file=sys.stderr)
        return 1
    if not once:
        print(len(held), flush=True)
        sys.stdin.read()
    for conn in held:
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
