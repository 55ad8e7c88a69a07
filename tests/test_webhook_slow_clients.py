"""Slow clients do not stop the service: under the production command (docs/server.md), two
connections that trickle their request a byte at a time leave the server answering others.
The checks start once the server has accepted both connections and they have sent part of
their request, and the connections are still held when the checks are done. Bounded: the
trickling stops once the checks are done, or after TRICKLE_SECONDS."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

from tests.waiting import wait_until
from tests.webhook_support import Gunicorn, gunicorn, production_command

TRICKLE_SECONDS = 60.0


class Trickle(threading.Thread):
    """A client that sends its request slowly: the headers (or, once they are sent, the
    body) one byte every 0.1 s, never finishing, until ``stop``. ``port`` is its own end's
    port once connected; ``sent`` counts the bytes trickled after the first part."""

    def __init__(self, port: int, body: bool, stop: threading.Event):
        super().__init__(daemon=True)
        self.server_port, self.body, self.stop = port, body, stop
        self.port = 0
        self.sent = 0
        self.dropped = False  # the server closed the connection

    def run(self) -> None:
        with socket.create_connection(("127.0.0.1", self.server_port), timeout=10) as sock:
            self.port = sock.getsockname()[1]
            head = b"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n"
            sock.sendall(head + b"\r\n" if self.body else head[:20])
            while not self.stop.wait(0.1):
                try:
                    sock.sendall(b"x" if self.body else b"X")
                except OSError:
                    self.dropped = True
                    return
                self.sent += 1


def _accepted_by(server: Gunicorn, client_port: int) -> bool:
    """Whether a process of the server holds the server's end of the connection from
    ``client_port`` (accepted: a connection still in the listen backlog belongs to none)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], fields[9]
        if int(local.split(":")[1], 16) == server.port \
                and int(remote.split(":")[1], 16) == client_port and inode != "0":
            inodes.add(f"socket:[{inode}]")
    if not inodes:
        return False
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.getpgid(int(pid)) != server.proc.pid or int(pid) == os.getpid():
                continue
            fds = os.listdir(f"/proc/{pid}/fd")
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") in inodes for fd in fds):
                return True
        except OSError:  # a process gone, or a descriptor closed, meanwhile
            continue
    return False


def _held(server: Gunicorn, clients: list[Trickle]) -> bool:
    return all(c.port and c.sent >= 2 and not c.dropped and _accepted_by(server, c.port)
               for c in clients)


def test_two_trickling_connections_leave_the_server_answering(tmp_path: Path) -> None:
    assert "gthread" in production_command()  # what this test holds docs/server.md to
    with gunicorn(tmp_path) as server:
        stop = threading.Event()
        clients = [Trickle(server.port, body, stop) for body in (False, True)]
        timer = threading.Timer(TRICKLE_SECONDS, stop.set)
        timer.start()
        try:
            for c in clients:
                c.start()
            wait_until(lambda: _held(server, clients),
                       "the server to accept both slow connections, part of each sent", 30)
            for _ in range(3):
                r = server.deliver("ping", {"zen": "Slow is smooth."})
                assert r.status_code == 200 and r.json()["status"] == "pong"
            assert server.get("/health").status_code == 200
            assert _held(server, clients)  # still held, still unfinished, while it answered
        finally:
            stop.set()
            timer.cancel()
            for c in clients:
                c.join(15)
