"""The command regenerator with real scripts (good JSON, bad JSON, timeout, non-zero exit),
and a real worker process killed with SIGKILL mid-job: its lease expires and the job is
taken again."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from float_hooks.map.build import open_built
from float_hooks.project import Project
from float_hooks.regen import job_queue
from tests.gitrepo import GitRepo
from tests.regen_support import configure, folder, jobs, script
from tests.waiting import ProcessId, record_code, wait_until

GOOD = """\
import json, sys
req = json.load(sys.stdin)
with open(sys.argv[1], "a") as log:
    log.write(json.dumps(req) + "\\n")
print(json.dumps({
    "map_summary": "agent summary of " + req["path"],
    "map_children": [{"name": c["name"], "summary": c["summary"]} for c in req["children"]],
    "context_what": "what " + req["path"],
    "context_why": "why " + req["path"],
    "context_patterns": ["pattern"],
    "ai_model": "agent-7",
}))
"""


def test_good_json_writes_context_and_request_carries_what_changed(
        synced: GitRepo, tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    configure(synced, kind="command", command=script(tmp_path, "good.py", GOOD) + f" {log}")
    r = synced.float_json("regenerate", "/src/auth")
    assert r["done"] == ["/src/auth/tokens", "/src/auth"] and r["failed"] == []
    row = folder(synced, "/src/auth")
    assert row["status"] == "current" and row["ai_model"] == "agent-7" and row["ai_updated"]
    assert row["context_why"] == "why /src/auth" and row["context_patterns"] == ["pattern"]
    requests = [json.loads(line) for line in log.read_text().splitlines()]
    auth = requests[1]
    assert auth["path"] == "/src/auth" and auth["previous"] is None
    assert {"name": "tokens", "kind": "folder", "status": "current",
            "summary": "agent summary of /src/auth/tokens"} in auth["children"]
    # code comes as its outline; excerpts are for what an outline cannot say
    assert auth["outlines"] == [{"path": "/src/auth/login.py", "language": "python",
                                 "symbols": ["L1 def login()"], "more": 0}]
    assert auth["files"] == [] and auth["left_out"] == []
    assert "JSON object" in auth["instructions"]

    # a change: the next request has the previous context and what changed since
    synced.write("src/auth/login.py", "def login(): return 2\n")
    synced.float_ok("sync")
    synced.float_ok("regenerate", "/src/auth")
    last = json.loads(log.read_text().splitlines()[-1])
    assert last["previous"]["context_what"] == "what /src/auth"
    assert [c["path"] for c in last["changed_since"]["changed_files"]] == ["/src/auth/login.py"]
    diff = last["changed_since"]["changed_files"][0]["diff"]
    assert "-def login(): ...\n+def login(): return 2" in diff


def _fails(synced: GitRepo, tmp_path: Path, body: str, **settings: object) -> dict[str, str]:
    """Context written by a good command, then ``body`` (a Python script, or the command
    itself when ``command`` is among ``settings``) fails the job: the context stays."""
    good = script(tmp_path, "good.py", GOOD) + f" {tmp_path / 'log'}"
    configure(synced, kind="command", command=good)
    synced.float_ok("regenerate", "/docs")
    before = folder(synced, "/docs")
    synced.write("docs/guide.md", "# guide v2\n")
    synced.float_ok("sync")
    settings.setdefault("command", script(tmp_path, "bad.py", body))
    configure(synced, kind="command", max_attempts=1, **settings)
    r = synced.float("regenerate", "/docs", "--json")
    assert r.code == 1, r.err
    after = folder(synced, "/docs")
    # a bad result never overwrites good context: the folder stays stale with what it had
    assert after["status"] == "stale"
    for key in ("map_summary", "context_what", "context_why", "ai_model", "ai_updated"):
        assert after[key] == before[key]
    job = jobs(synced)["/docs"]
    assert job["state"] == "failed"
    return dict(job)


def test_bad_json_fails_the_job_keeping_stderr(synced: GitRepo, tmp_path: Path) -> None:
    job = _fails(synced, tmp_path,
                 "import sys\nsys.stdin.read()\nsys.stderr.write('thinking...\\n')\n"
                 "print('Sure! Here is the context: summary=great')\n")
    assert "not valid JSON" in job["last_error"] and "thinking..." in job["last_error"]


def test_answer_without_summary_is_refused(synced: GitRepo, tmp_path: Path) -> None:
    job = _fails(synced, tmp_path,
                 "import sys, json\nsys.stdin.read()\n"
                 "print(json.dumps({'map_summary': '', 'context_what': 'x'}))\n")
    assert "no map_summary" in job["last_error"]


def test_nonzero_exit_keeps_the_tail_of_stderr(synced: GitRepo, tmp_path: Path) -> None:
    job = _fails(synced, tmp_path,
                 "import sys\nsys.stdin.read()\n"
                 "sys.stderr.write('noise\\n' * 2000 + 'fatal: quota exceeded\\n')\n"
                 "sys.exit(3)\n")
    assert "exited with 3" in job["last_error"]
    assert job["last_error"].endswith("fatal: quota exceeded")
    assert len(job["last_error"]) < 2200  # the tail, not all of it


def test_timeout_kills_the_command(synced: GitRepo, tmp_path: Path) -> None:
    # a shell script: it is under way within milliseconds, well inside the 1 s timeout
    record = tmp_path / "child.pid"
    agent = tmp_path / "agent.sh"
    agent.write_text(
        "cat > /dev/null\n"
        # what the command started (not holding the command's pipes, so that only the
        # process group's end can end it): it goes with the command
        "sleep 60 < /dev/null > /dev/null 2>&1 &\n"
        f"echo \"$! $(cut -d' ' -f22 /proc/$!/stat)\" > {record}.tmp\n"
        f"mv {record}.tmp {record}\n"
        "echo started >&2\n"
        "exec sleep 60\n")
    job = _fails(synced, tmp_path, "", command=f"sh {agent}", timeout=1)
    assert "timed out after 1s" in job["last_error"] and "started" in job["last_error"]
    # the whole process group went, including what the command started
    child = ProcessId.read(record)
    wait_until(lambda: not child.alive(), "the command's child to be killed", 10)


def _enqueue_docs(repo: GitRepo) -> None:
    store = open_built(Project.discover(repo.path))
    try:
        with store.write() as conn:
            job_queue.enqueue_all(conn, ["/docs"])
    finally:
        store.close()


def _slow_agent(tmp_path: Path, record: Path) -> str:
    """A command that records its ProcessId, then takes two minutes."""
    return script(tmp_path, "slow.py", "import os, sys, time\n" + record_code(record)
                  + "sys.stdin.read()\ntime.sleep(120)\n")


def test_sigkilled_worker_leaves_the_job_to_be_taken_again(synced: GitRepo,
                                                           tmp_path: Path) -> None:
    record = tmp_path / "agent.pid"
    configure(synced, kind="command", command=_slow_agent(tmp_path, record), lease_seconds=600)
    _enqueue_docs(synced)  # then let a real worker process take it
    worker = subprocess.Popen([sys.executable, "-m", "float_hooks", "--repo", str(synced.path),
                               "worker", "--once"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: record.exists() and jobs(synced)["/docs"]["state"] == "running",
                   "the worker to run the agent", 30)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        if record.exists():
            ProcessId.read(record).kill()  # the orphaned agent
    job = jobs(synced)["/docs"]
    assert job["state"] == "running" and job["attempts"] == 1 and job["lease_left"] > 500
    configure(synced, kind="builtin")
    # the dead worker's lease still holds: nothing to take
    r = synced.float_json("regenerate", "/docs")
    assert (r["done"], r["remaining"]) == ([], 1)
    assert jobs(synced)["/docs"]["lease_owner"] == job["lease_owner"]
    # its lease runs out (moved into the past, not waited for): the next worker takes the job
    conn = sqlite3.connect(synced.path / ".float" / "index.db")
    with conn:
        conn.execute("UPDATE jobs SET lease_until = ? WHERE folder_path = '/docs'",
                     (time.time() - 1,))
    conn.close()
    r = synced.float_json("regenerate", "/docs")
    assert r["done"] == ["/docs"]
    assert folder(synced, "/docs")["status"] == "current"
    assert jobs(synced).get("/docs") is None
    # and the dead worker's lock died with it: a new worker starts
    assert synced.float("worker", "--once").code == 0


def test_sigterm_stops_a_worker_and_gives_the_job_back(synced: GitRepo, tmp_path: Path) -> None:
    record = tmp_path / "agent.pid"
    configure(synced, kind="command", command=_slow_agent(tmp_path, record))
    _enqueue_docs(synced)
    worker = subprocess.Popen([sys.executable, "-m", "float_hooks", "--repo", str(synced.path),
                               "worker"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: record.exists() and jobs(synced)["/docs"]["state"] == "running",
                   "the worker to run the agent", 30)
        agent = ProcessId.read(record)
        worker.terminate()
        assert worker.wait(timeout=20) == 143
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    job = jobs(synced)["/docs"]
    assert (job["state"], job["attempts"], job["lease_owner"]) == ("queued", 0, None)
    try:
        wait_until(lambda: not agent.alive(), "the agent to be stopped with its worker", 10)
    finally:
        agent.kill()


def test_a_job_longer_than_its_lease_keeps_it(synced: GitRepo, tmp_path: Path) -> None:
    log, gate = tmp_path / "runs.log", tmp_path / "gate"
    slow = script(tmp_path, "slow.py", (
        "import json, os, sys, time\n"
        "req = json.load(sys.stdin)\n"
        f"open({str(log)!r}, 'a').write('run\\n')\n"
        "deadline = time.time() + 60\n"
        f"while not os.path.exists({str(gate)!r}) and time.time() < deadline:\n"
        "    time.sleep(0.02)\n"
        "print(json.dumps({'map_summary': 'slow summary of ' + req['path']}))\n"))
    configure(synced, kind="command", command=slow, lease_seconds=2)
    worker = subprocess.Popen([sys.executable, "-m", "float_hooks", "--repo", str(synced.path),
                               "regenerate", "/docs"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        wait_until(log.exists, "the agent to start", 30)
        first = _lease_until(synced)
        # the job runs on past the lease it was taken with: renewed, it is still held
        wait_until(lambda: time.time() > first + 0.2, "the first lease to run out", 10)
        job = jobs(synced)["/docs"]
        assert job["state"] == "running" and _lease_until(synced) > time.time()
        other = synced.float_json("regenerate", "/docs")  # a second worker finds nothing
        assert (other["done"], other["remaining"]) == ([], 1)
        assert jobs(synced)["/docs"]["lease_owner"] == job["lease_owner"]
        gate.write_text("go")
        _out, err = worker.communicate(timeout=60)
    finally:
        gate.write_text("go")
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert worker.returncode == 0, err
    assert log.read_text() == "run\n"  # the agent ran once
    assert folder(synced, "/docs")["status"] == "current"


def _lease_until(repo: GitRepo) -> float:
    """When the running job's lease ends (epoch seconds), as stored."""
    [row] = repo.float_json("query", "SELECT lease_until FROM jobs WHERE folder_path = '/docs'")
    return float(row["lease_until"])
