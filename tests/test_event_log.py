"""The embedded event log (webhook/events/event_log.py): ids, filtering, the bounded backlog,
waiting for another process's append, an append that cannot fail its caller, and the stream's
keep-alive and resume in process."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.gitrepo import PROJECT_ROOT
from tests.waiting import wait_until
from tests.webhook_support import app_config, auth
from webhook import create_app
from webhook.events import event_log, publish, stream
from webhook.settings import load


def test_append_since_and_the_bounded_backlog(tmp_path: Path) -> None:
    log = event_log.SqliteEventLog(tmp_path, keep=150)
    try:
        assert log.latest() == 0 and log.since(None, 0) == []
        ids = [log.append("acme/a" if i % 2 else "acme/b", "sync", {"n": i}) for i in range(300)]
        assert ids == sorted(ids) and len(set(ids)) == 300 and log.latest() == ids[-1]
        kept = log.since(None, 0, limit=1000)
        assert 150 <= len(kept) < 250  # trimmed every TRIM_EVERY appends, to KEEP
        assert kept[-1].id == ids[-1] and kept[-1].data == {"n": 299}
        only_a = log.since("acme/a", ids[-11])
        assert [e.data["n"] for e in only_a] == [291, 293, 295, 297, 299]
        assert all(e.repo == "acme/a" and e.kind == "sync" and e.at.endswith("Z")
                   for e in only_a)
        with pytest.raises(ValueError):
            log.append("acme/a", "other", {})
    finally:
        log.close()


def test_wait_wakes_for_another_process(tmp_path: Path) -> None:
    log = event_log.SqliteEventLog(tmp_path)
    try:
        top = log.latest()
        assert log.wait(top, 0.05) is False  # nothing new: times out
        code = ("import sys; from pathlib import Path; from webhook.events.event_log import "
                "SqliteEventLog; SqliteEventLog(Path(sys.argv[1])).append('acme/a', "
                "'delivery', {'state': 'received'})")
        child = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], cwd=PROJECT_ROOT)
        try:
            assert log.wait(top, 60) is True
        finally:
            child.wait(timeout=60)
        (event,) = log.since(None, top)
        assert event.data == {"state": "received"}
        # an append in this process wakes a waiter at once
        t = threading.Timer(0.1, log.append, ("acme/a", "sync", {}))
        t.start()
        assert log.wait(event.id, 60) is True
        t.join()
    finally:
        log.close()


def test_emit_never_fails_its_caller(tmp_path: Path) -> None:
    settings = load({"FLOAT_WEBHOOK_SECRET": "s", "FLOAT_DATA_DIR": str(tmp_path / "d")}, {})
    assert publish.emit(settings, "acme/a", "sync", {"x": float("nan")}) is None  # not JSON
    assert publish.emit(settings, "acme/a", "sync", {"big": "x" * 70_000}) is None
    assert publish.emit(settings, "acme/a", "sync", {"ok": 1}) == 1


def test_stream_in_process_keepalive_and_resume(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream, "KEEPALIVE_SECONDS", 0.2)
    app = create_app(app_config(tmp_path, FLOAT_WORKER="off", FLOAT_STREAM_SECONDS="2"))
    settings = app.extensions["float_settings"]
    first = publish.emit(settings, "acme/widgets", "sync", {"head": "a" * 40})
    publish.emit(settings, "other/repo", "sync", {"head": "b" * 40})
    second = publish.emit(settings, "acme/widgets", "context", {"path": "/src"})
    assert first is not None and second is not None
    client = app.test_client()
    r = client.get("/repos/acme/widgets/events", headers={**auth(), "Last-Event-ID": "0"},
                   buffered=False)
    chunks: list[str] = []

    def read() -> None:
        for chunk in r.response:  # ends after FLOAT_STREAM_SECONDS
            chunks.append(chunk.decode())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    wait_until(lambda: not reader.is_alive(), "the stream to end by itself", 30)
    r.close()
    text = "".join(chunks)
    assert text.startswith("retry: 3000\nid: 0\n\n")
    assert f"id: {first}\nevent: sync\n" in text and f"id: {second}\nevent: context\n" in text
    assert "other/repo" not in text
    assert ": keep-alive\n\n" in text
    assert r.headers["Cache-Control"] == "no-store"
    # a new stream without Last-Event-ID starts after the newest event
    r = client.get("/repos/acme/widgets/events", headers=auth(), buffered=False)
    head = next(iter(r.response)).decode()
    r.close()
    assert head == f"retry: 3000\nid: {second}\n\n"
    assert client.get("/repos/acme/widgets/events").status_code == 401
    assert client.get("/repos/acme/widgets/events",
                      headers={**auth(), "Last-Event-ID": "-1"}).status_code == 400
