"""`float-hooks watch --events`: a real working copy with the real hooks, a real edit, commit
and context write, and the JSON lines the watcher prints for them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from typing import Any

from tests.gitrepo import GitRepo
from tests.waiting import wait_until


def _find(lines: list[str], kind: str, test: Any) -> dict[str, Any] | None:
    for line in list(lines):
        event = json.loads(line)
        if event["kind"] == kind and test(event["data"]):
            return dict(event)
    return None


def test_watch_events_prints_sync_and_context_events(hooked: GitRepo) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "float_hooks", "--repo", str(hooked.path), "watch", "--events",
         "--debounce", "0.2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out: list[str] = []
    err: list[str] = []

    def read(stream: Any, into: list[str]) -> None:
        for line in stream:
            into.append(line)

    readers = [threading.Thread(target=read, args=(proc.stdout, out), daemon=True),
               threading.Thread(target=read, args=(proc.stderr, err), daemon=True)]
    for t in readers:
        t.start()
    try:
        wait_until(lambda: any(line.startswith("watching") for line in err), "watch to start", 30)
        # an edit: the watcher's own work-tree sync marks /docs stale
        hooked.write("docs/guide.md", "# guide, edited while watching\n")
        edit = wait_until(lambda: _find(out, "sync", lambda d: "/docs" in d["stale"]["paths"]),
                          "a sync event with /docs stale", 30)
        assert edit["data"]["counts"]["stale"] >= 2 and edit["repo"] == str(hooked.path)

        # a commit: the post-commit hook syncs to the new HEAD; the watcher reports it
        head = hooked.commit("edit the guide")
        wait_until(lambda: _find(out, "sync", lambda d: d["head"] == head),
                   "a sync event at the new commit", 30)

        # a context written by someone else (here `set`; an agent or `regenerate` alike)
        hooked.float_ok("set", "/docs", "--summary", "the guide, second edition")
        written = wait_until(lambda: _find(out, "context", lambda d: d["path"] == "/docs"),
                             "a context event for /docs", 30)
        assert written["data"]["status"] == "current"  # written for the committed content
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    except AssertionError as e:
        raise AssertionError(f"{e}\nstdout: {out}\nstderr: {err}") from None
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    for t in readers:
        t.join(timeout=5)
    events = [json.loads(line) for line in out]  # every line is one JSON object
    assert {e["kind"] for e in events} <= {"sync", "context"}
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert err[-1] == "stopped\n"
