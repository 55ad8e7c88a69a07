"""A real Server-Sent Events client for the tests: ``requests`` with ``stream=True``, parsed
line by line in a thread of its own, so a test waits for what it expects with a deadline and
never hangs on a read. Not a test module."""

from __future__ import annotations

import contextlib
import json
import queue
import threading
from collections.abc import Callable
from typing import Any

import requests

from tests.waiting import wait_until


class SSE:
    """One open stream. ``events`` collects ``{"id", "event", "data"}`` dicts (data decoded
    from JSON), ``comments`` the comment lines, ``fields`` every other field line."""

    def __init__(self, url: str, headers: dict[str, str] | None = None):
        self.response = requests.get(url, headers=headers or {}, stream=True, timeout=(10, 120))
        self.status = self.response.status_code
        self.events: list[dict[str, Any]] = []
        self.comments: list[str] = []
        self.fields: list[str] = []
        self.ended = threading.Event()
        self._new: queue.Queue[None] = queue.Queue()
        self.thread = threading.Thread(target=self._read, daemon=True)
        if self.status == 200:
            self.thread.start()
        else:
            self.ended.set()

    def _read(self) -> None:
        block: dict[str, str] = {}
        try:
            for raw in self.response.iter_lines(chunk_size=None, decode_unicode=False):
                line = raw.decode("utf-8")
                if line == "":
                    if "data" in block:
                        self.events.append({"id": int(block["id"]) if "id" in block else None,
                                            "event": block.get("event", "message"),
                                            "data": json.loads(block["data"])})
                    elif block:
                        self.fields.append(json.dumps(block))
                    block = {}
                    self._new.put(None)
                elif line.startswith(":"):
                    self.comments.append(line)
                    self._new.put(None)
                else:
                    name, _, value = line.partition(":")
                    block[name] = value[1:] if value.startswith(" ") else value
        except (requests.RequestException, OSError, ValueError, AttributeError):
            pass  # closed by the test, or by the server
        finally:
            self.ended.set()
            self._new.put(None)

    def wait_for(self, predicate: Callable[[list[dict[str, Any]]], Any], what: str,
                 timeout: float = 120.0) -> Any:
        """Wait until ``predicate(self.events)`` is truthy (returned); fail after ``timeout``,
        or at once when the stream ended without it."""
        def arrived() -> Any:
            value = predicate(list(self.events))
            if not value:
                if self.ended.is_set() and self._new.empty():
                    raise AssertionError(f"the stream ended while waiting for {what}")
                with contextlib.suppress(queue.Empty):
                    self._new.get(timeout=0.5)  # woken by the next line read
            return value

        try:
            return wait_until(arrived, what, timeout, interval=0.005)
        except AssertionError as e:
            got = [(ev["event"], ev["data"].get("data")) for ev in self.events]
            raise AssertionError(f"{e}; got {got}") from None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.response.raw._fp.fp.raw._sock.shutdown(2)  # unblock the reader at once
        with contextlib.suppress(Exception):
            self.response.close()
        self.thread.join(timeout=10) if self.thread.is_alive() else None


def delivery_states(events: list[dict[str, Any]], delivery: str) -> list[str]:
    return [e["data"]["data"]["state"] for e in events
            if e["event"] == "delivery" and e["data"]["data"].get("delivery") == delivery]
