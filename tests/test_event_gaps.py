"""A client that resumes after events the bounded backlog has dropped is told so: both logs
mark the highest id they trimmed, and the stream sends ``event: gap`` before the rest."""

from __future__ import annotations

import json
import threading
from itertools import islice
from pathlib import Path

from tests.pg_server import pg_server, pg_url  # noqa: F401
from webhook.events import event_log, stream
from webhook.events.pg_log import PgEventLog


def opening(log: event_log.EventLog, repo: str | None, after: int | None) -> list[str]:
    """The first chunks a stream sends: its preamble, then a gap or the first events."""
    body = stream.EventStream(log, repo, after, 5.0, held_slot())
    try:
        return [chunk.decode() for chunk in islice(iter(body), 2)]
    finally:
        body.close()


def held_slot() -> threading.BoundedSemaphore:
    """A stream's slot, taken as open_stream takes it (the stream gives it back)."""
    slot = threading.BoundedSemaphore(1)
    slot.acquire()
    return slot


def gap_of(chunk: str) -> dict[str, object]:
    kind, data = chunk.strip().split("\n")
    assert kind == "event: gap" and data.startswith("data: ")
    parsed: dict[str, object] = json.loads(data[len("data: "):])
    return parsed


def test_embedded_log_marks_what_it_trimmed_and_the_stream_says_so(tmp_path: Path) -> None:
    log = event_log.SqliteEventLog(tmp_path, keep=150)
    try:
        assert log.trimmed_through(None) == 0
        ids = [log.append("acme/a", "sync", {"n": i}) for i in range(300)]
        trimmed = log.trimmed_through(None)
        oldest = log.since(None, 0, limit=1)[0].id
        assert trimmed == oldest - 1 and trimmed >= ids[0]  # exactly what went
        assert log.trimmed_through("acme/a") == trimmed  # ids are shared: one mark for all
        # resuming below the mark: told first, then given what is left
        preamble, gap = opening(log, "acme/a", ids[0])
        assert preamble == f"retry: 3000\nid: {ids[0]}\n\n"
        assert gap_of(gap) == {"repo": "acme/a", "kind": "gap", "after": ids[0],
                               "missed_through": trimmed, "at": gap_of(gap)["at"]}
        # resuming above it, or starting fresh: no gap
        assert opening(log, "acme/a", trimmed)[1].startswith(f"id: {trimmed + 1}\nevent: sync")
        body = stream.EventStream(log, None, None, 0.5, held_slot())
        assert "gap" not in "".join(chunk.decode() for chunk in body)
    finally:
        log.close()


def test_postgres_log_marks_each_repository_apart(pg_url: str) -> None:  # noqa: F811
    log = PgEventLog(pg_url, keep=3)
    try:
        a = [log.append("acme/a", "sync", {"n": i}) for i in range(5)]
        b = [log.append("acme/b", "sync", {"n": i}) for i in range(3)]
        assert log.trimmed_through("acme/a") == a[1]  # a's first two went
        assert log.trimmed_through("acme/b") == 0  # b kept all three
        assert log.trimmed_through(None) == a[1]
        assert gap_of(opening(log, "acme/a", a[0])[1])["missed_through"] == a[1]
        assert opening(log, "acme/b", 0)[1].startswith(f"id: {b[0]}\nevent: sync")
        # a repository's gap is its own: b's stream from before a's trim is not told
        assert opening(log, "acme/b", a[0])[1].startswith(f"id: {b[0]}\n")
    finally:
        log.close()
