"""Triggers: the post-commit hook queueing jobs or starting one detached worker per repository
(real `git commit` through the installed hook shims), and `watch` picking up an edit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from float_hooks.project import Project
from float_hooks.regen import worker
from tests.gitrepo import GitRepo
from tests.regen_support import configure, folder, jobs, script
from tests.waiting import wait_until

GATED = """\
import json, os, sys, time
req = json.load(sys.stdin)
gate = sys.argv[1]
deadline = time.time() + 60
while not os.path.exists(gate) and time.time() < deadline:
    time.sleep(0.05)
print(json.dumps({"map_summary": "gated " + req["path"]}))
"""


def _lock_pid(repo: GitRepo) -> str:
    return (repo.path / ".float" / "worker.lock").read_text().strip()


def test_post_commit_hook_starts_one_background_worker(synced: GitRepo, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    synced.float_ok("regenerate")  # every folder current (builtin)
    configure(synced, on_commit="background", kind="command",
              command=script(tmp_path, "gated.py", GATED) + f" {gate}")
    synced.float_ok("install")
    project = Project.discover(synced.path)
    assert not worker.is_running(project)

    synced.write("src/auth/login.py", "def login(): return 'v2'\n")
    # the real hook runs; `git commit` returns while the worker waits at the gate, and it
    # returned with its output pipes closed: the worker does not hold them
    synced.commit("change auth")
    wait_until(lambda: worker.is_running(project), "the background worker to start", 30)
    first_pid = wait_until(lambda: _lock_pid(synced), "the worker's pid in its lock file",
                           30)  # written right after the flock
    wait_until(lambda: any(j["state"] == "running" for j in jobs(synced).values()),
               "the worker to run a job", 30)
    assert folder(synced, "/src/auth")["status"] == "stale"

    # a second commit while it works: queued for the same worker, no second one
    synced.write("docs/guide.md", "# guide v2\n")
    synced.commit("change docs")
    assert _lock_pid(synced) == first_pid
    assert worker.start_background(project) is None  # the lock is held: nothing started
    # a worker started anyway (two hooks racing) exits quietly without working
    late = synced.float_proc("worker", "--background")
    assert (late.code, late.out, late.err) == (0, "", "")
    assert "/docs" in jobs(synced)

    gate.write_text("open")
    wait_until(lambda: not worker.is_running(project) and jobs(synced) == {},
               "the worker to drain the queue and exit", 60)
    statuses = synced.folders()
    assert set(statuses.values()) == {"current"}, statuses
    assert folder(synced, "/docs")["map_summary"] == "gated /docs"
    assert folder(synced, "/src/auth")["ai_model"].startswith("command:")
    log = (synced.path / ".git" / worker.LOG_NAME).read_text()
    assert "regenerated /src/auth" in log and "regenerated /docs" in log
    assert synced.git("status", "--porcelain") == ""  # no stray files in the work tree


def test_queue_mode_records_jobs_and_off_records_none(synced: GitRepo) -> None:
    synced.float_ok("install")
    synced.write("src/app.py", "print('v2')\n")
    synced.commit("queue mode (the default)")
    queued = jobs(synced)
    assert {"/src", "/"} <= set(queued)
    assert {j["state"] for j in queued.values()} == {"queued"}
    assert not worker.is_running(Project.discover(synced.path))
    # the worker runs them, children first, then exits (--once)
    out = synced.float_proc("worker", "--once")
    assert out.code == 0 and out.out.index("regenerated /src\n") < out.out.index(
        "regenerated /\n")
    assert jobs(synced) == {}

    configure(synced, on_commit="off")
    synced.write("src/app.py", "print('v3')\n")
    synced.commit("off")
    assert folder(synced, "/src")["status"] == "stale"
    assert jobs(synced) == {}
    configure(synced, on_commit="sometimes")
    r = synced.float("regenerate")
    assert r.code == 0  # not read by regenerate; the hook reports it
    synced.write("src/app.py", "print('v4')\n")
    hook = synced.float("hook-impl", "post-commit")
    assert "on_commit" in hook.err


def test_watch_picks_up_an_edit_and_stops_cleanly_on_ctrl_c(synced: GitRepo) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "float_hooks", "--repo", str(synced.path), "watch",
         "--debounce", "0.2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        wait_until(lambda: any(line.startswith("watching") for line in lines), "watch to start", 30)
        assert _status(synced, "/docs") == "pending"
        synced.float_ok("set", "/docs", "--summary", "docs")
        synced.write("docs/guide.md", "# guide, edited while watching\n")
        # read without syncing (`show` syncs the work tree itself): the watcher must do it
        wait_until(lambda: _status(synced, "/docs") == "stale", "watch to mark /docs stale", 30)
        wait_until(lambda: "/docs" in jobs(synced), "watch to queue /docs", 30)
        wait_until(lambda: any("stale: /docs" in line for line in lines),
                   "watch to report /docs stale", 30)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    reader.join(timeout=5)
    assert lines[-1] == "stopped\n"
    assert proc.stderr is not None and proc.stderr.read() == ""


def _status(repo: GitRepo, path: str) -> str:
    """A folder's status as the map holds it (`query` reads it without syncing first)."""
    rows = repo.float_json("query", f"SELECT status FROM folders WHERE path = '{path}'")
    return str(rows[0]["status"])
