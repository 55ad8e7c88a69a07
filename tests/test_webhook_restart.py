"""SIGKILL then an immediate restart: the restarted server takes the dead server's delivery
back at once (its owners' locks died with it; the lease here is an hour), the killed claim
counts as an attempt, no job process of the dead server goes on applying it, and the
delivery is applied once."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from tests.waiting import wait_until
from tests.webhook_support import Gunicorn, Origin, queue_rows, server_env

REGEN = """\
import json, os, pathlib, sys, time
request = json.load(sys.stdin)
state = pathlib.Path(sys.argv[1])
if not (state / "started").exists():  # the first call hangs until the test lets it go
    (state / "started").write_text(str(os.getppid()))
    deadline = time.monotonic() + 120
    while not (state / "release").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    sys.exit(1)
with open(state / "answered", "a") as f:
    f.write(request["path"] + "\\n")
print(json.dumps({"map_summary": "after the restart"}))
"""


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"  # a zombie has ended


def test_sigkill_then_restart_resumes_at_once(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (tmp_path / "regen.py").write_text(REGEN)
    origin = Origin(tmp_path)
    origin.commit({"src/app.py": "app\n", ".float/config.toml":
                   f'[regenerate]\nkind = "command"\n'
                   f'command = "{sys.executable} {tmp_path / "regen.py"} {state}"\n'},
                  "initial")
    before, after = origin.push()
    env = server_env(tmp_path, origin, FLOAT_TRUST_REPO_CONFIG="1", FLOAT_ON_PUSH="regenerate",
                     FLOAT_LEASE_SECONDS="3600")
    first = Gunicorn(tmp_path, env, name="first")
    try:
        assert first.deliver("push", origin.payload(before, after)).status_code == 202
        wait_until(lambda: (state / "started").exists(), "the regenerator to start")
    finally:
        first.kill()  # SIGKILL: the master and its workers, mid-delivery
    job_pid = int((state / "started").read_text())  # the job process that ran it
    (state / "release").touch()
    # the job process died with its server (it must not go on applying the delivery)
    wait_until(lambda: not alive(job_pid), "the dead server's job process to end", 30)
    (row,) = queue_rows(tmp_path / "data")
    assert row["state"] == "running" and row["attempts"] == 1

    second = Gunicorn(tmp_path, env, name="second")
    try:
        status = second.wait_head(after, timeout=90)  # long before the hour-long lease
        assert (status["current"], status["stale"], status["pending"]) == (2, 0, 0)
    finally:
        second.stop()
    (row,) = queue_rows(tmp_path / "data")
    assert (row["state"], row["attempts"]) == ("done", 2)  # the killed claim counted
    assert row["result"]["regenerate"]["done"] == ["/src", "/"]
    # applied once after the restart: each folder answered once
    assert sorted((state / "answered").read_text().split()) == ["/", "/src"]
    assert not os.listdir(tmp_path / "data" / "workers")  # owners' locks cleaned up
    assert json.loads(json.dumps(row["result"]))  # a plain JSON result
