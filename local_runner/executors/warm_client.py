"""`python ARGS` for a local job, answered by the warm server (warm_server.py) when it can be.

Started as `python -I -S warm_client.py SOCKET ARGS...` in place of the job's interpreter: it
hands `-m module ...` or `script ...` with this process's environment, working directory and
standard streams to the server, which forks the job; then it stands for the job: it passes on
the signals it gets and exits with the job's status. Anything else (other interpreter options,
no server) execs the real interpreter with ARGS, as if it had never been here. Standard library
only, since it starts without site-packages.
"""

from __future__ import annotations

import array
import json
import os
import signal
import socket
import struct
import sys

HEADER = struct.Struct("!I")
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
             signal.SIGUSR2)


def cold(args: list[str]) -> None:
    os.execv(sys.executable, [sys.executable, *args])


def request_for(args: list[str]) -> dict | None:
    if len(args) >= 2 and args[0] == "-m":
        return {"module": args[1], "args": args[2:]}
    if args and not args[0].startswith("-"):
        return {"script": args[0], "args": args[1:]}
    return None


def read_exactly(conn: socket.socket, size: int) -> bytes | None:
    """`size` bytes, or None when the peer closes first."""
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def receive(conn: socket.socket) -> dict | None:
    """One length-prefixed JSON message (the protocol of both sides), or None at the end."""
    head = read_exactly(conn, HEADER.size)
    body = None if head is None else read_exactly(conn, HEADER.unpack(head)[0])
    return None if body is None else json.loads(body)


def send(conn: socket.socket, message: dict, fds: list[int] | None = None) -> None:
    data = json.dumps(message).encode()
    ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
    conn.sendmsg([HEADER.pack(len(data)) + data], ancillary)


def main() -> None:
    socket_path, args = sys.argv[1], sys.argv[2:]
    request = request_for(args)
    if request is None:
        cold(args)
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(socket_path)
        send(conn, {**request, "env": dict(os.environ), "cwd": os.getcwd()}, fds=[0, 1, 2])
        started = receive(conn)
    except OSError:
        started = None
    if started is None or "pid" not in started:
        conn.close()
        cold(args)
    job = started["pid"]

    # To the job's own process, as a signal to this one would have reached it (docker stop, too,
    # signals the container's first process, not its group).
    def forward(sig: int, _frame: object) -> None:
        try:
            os.kill(job, sig)
        except OSError:
            pass

    for sig in FORWARDED:
        signal.signal(sig, forward)
    finished = receive(conn)
    if finished is None:
        print("local job launcher: the warm interpreter stopped before the job", file=sys.stderr)
        sys.exit(1)
    status = finished["status"]
    if status < 0:  # killed by a signal: die of the same one
        signal.signal(-status, signal.SIG_DFL)
        os.kill(os.getpid(), -status)
        sys.exit(128 - status)
    sys.exit(status)


if __name__ == "__main__":
    main()
