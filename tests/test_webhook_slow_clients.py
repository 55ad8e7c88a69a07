"""Slow clients do not stop the service: under the production command (docs/server.md), two
connections that trickle their request a byte at a time leave the server answering others.
Bounded: the trickling stops once the checks are done, or after TRICKLE_SECONDS."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

from tests.webhook_support import gunicorn, production_command

TRICKLE_SECONDS = 60.0


def trickle(port: int, body: bool, stop: threading.Event) -> None:
    """A client that sends its request slowly: the headers (or, once they are sent, the
    body) one byte every 0.1 s, never finishing, until ``stop``."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        head = b"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n"
        if body:
            sock.sendall(head + b"\r\n")
        else:
            sock.sendall(head[:20])
        while not stop.wait(0.1):
            try:
                sock.sendall(b"x" if body else b"X")
            except OSError:
                return  # the server gave up on us: fine too


def test_two_trickling_connections_leave_the_server_answering(tmp_path: Path) -> None:
    assert "gthread" in production_command()  # what this test holds docs/server.md to
    with gunicorn(tmp_path) as server:
        stop = threading.Event()
        threads = [threading.Thread(target=trickle, args=(server.port, body, stop), daemon=True)
                   for body in (False, True)]
        timer = threading.Timer(TRICKLE_SECONDS, stop.set)
        timer.start()
        try:
            for t in threads:
                t.start()
            for _ in range(3):
                r = server.deliver("ping", {"zen": "Slow is smooth."})
                assert r.status_code == 200 and r.json()["status"] == "pong"
            assert server.get("/health").status_code == 200
        finally:
            stop.set()
            timer.cancel()
            for t in threads:
                t.join(15)
