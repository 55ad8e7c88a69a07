"""The command regenerator with real scripts (good JSON, bad JSON, timeout, non-zero exit),
and a real worker process killed with SIGKILL mid-job: its lease expires and the job is
taken again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from float_hooks import queue
from float_hooks.project import Project
from tests.gitrepo import GitRepo
from tests.regen_support import configure, folder, jobs, script, wait_for

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
    assert auth["files"] == [{"path": "/src/auth/login.py", "excerpt": "def login(): ...\n",
                              "truncated": False}]
    assert "JSON object" in auth["instructions"]

    # a change: the next request has the previous context and what changed since
    synced.write("src/auth/login.py", "def login(): return 2\n")
    synced.float_ok("sync")
    synced.float_ok("regenerate", "/src/auth")
    last = json.loads(log.read_text().splitlines()[-1])
    assert last["previous"]["context_what"] == "what /src/auth"
    assert [c["path"] for c in last["changed_since"]["changed_files"]] == ["/src/auth/login.py"]


def _fails(synced: GitRepo, tmp_path: Path, body: str, **settings: object) -> dict[str, str]:
    good = script(tmp_path, "good.py", GOOD) + f" {tmp_path / 'log'}"
    configure(synced, kind="command", command=good)
    synced.float_ok("regenerate", "/docs")
    before = folder(synced, "/docs")
    synced.write("docs/guide.md", "# guide v2\n")
    synced.float_ok("sync")
    configure(synced, kind="command", command=script(tmp_path, "bad.py", body),
              max_attempts=1, **settings)
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
    pidfile = tmp_path / "child.pid"
    job = _fails(synced, tmp_path,
                 "import os, subprocess, sys, time\n"
                 "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
                 f"open({str(pidfile)!r}, 'w').write(str(child.pid))\n"
                 "sys.stderr.write('started\\n'); sys.stderr.flush()\n"
                 "time.sleep(60)\n", timeout=1)
    assert "timed out after 1s" in job["last_error"] and "started" in job["last_error"]
    # the whole process group went, including what the command started
    pid = int(pidfile.read_text())
    wait_for(lambda: not _alive(pid), timeout=10)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(")")[-1].split()[0] != "Z"


def test_sigkilled_worker_leaves_the_job_to_be_taken_again(synced: GitRepo,
                                                           tmp_path: Path) -> None:
    pidfile = tmp_path / "agent.pid"
    slow = script(tmp_path, "slow.py",
                  f"import os, sys, time\nopen({str(pidfile)!r}, 'w').write(str(os.getpid()))\n"
                  "sys.stdin.read()\ntime.sleep(120)\n")
    configure(synced, kind="command", command=slow, lease_seconds=2)
    store_args = ["--repo", str(synced.path)]
    # queue /docs, then let a real worker process take it
    store = Project.discover(synced.path).open_store()
    try:
        with store.write() as conn:
            queue.enqueue_all(conn, ["/docs"])
    finally:
        store.close()
    worker = subprocess.Popen([sys.executable, "-m", "float_hooks", *store_args, "worker",
                               "--once"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: pidfile.exists() and jobs(synced)["/docs"]["state"] == "running")
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
        if pidfile.exists():
            os.kill(int(pidfile.read_text()), signal.SIGKILL)  # the orphaned agent
    job = jobs(synced)["/docs"]
    assert job["state"] == "running" and job["attempts"] == 1
    configure(synced, kind="builtin", lease_seconds=2)
    # the lease is still held: nothing to take yet
    r = synced.float_json("regenerate", "/docs")
    if r["done"] == []:
        assert r["remaining"] == 1
        wait_for(lambda: jobs(synced)["/docs"]["lease_left"] < 0, timeout=10)
        r = synced.float_json("regenerate", "/docs")
    assert r["done"] == ["/docs"]
    assert folder(synced, "/docs")["status"] == "current"
    assert jobs(synced).get("/docs") is None
    # and the dead worker's lock died with it: a new worker starts
    assert synced.float("worker", "--once").code == 0


def test_sigterm_stops_a_worker_and_gives_the_job_back(synced: GitRepo, tmp_path: Path) -> None:
    pidfile = tmp_path / "agent.pid"
    slow = script(tmp_path, "slow.py",
                  f"import os, sys, time\nopen({str(pidfile)!r}, 'w').write(str(os.getpid()))\n"
                  "sys.stdin.read()\ntime.sleep(120)\n")
    configure(synced, kind="command", command=slow)
    store = Project.discover(synced.path).open_store()
    try:
        with store.write() as conn:
            queue.enqueue_all(conn, ["/docs"])
    finally:
        store.close()
    worker = subprocess.Popen([sys.executable, "-m", "float_hooks", "--repo", str(synced.path),
                               "worker"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: pidfile.exists() and jobs(synced)["/docs"]["state"] == "running")
        worker.terminate()
        assert worker.wait(timeout=20) == 143
    finally:
        if worker.poll() is None:
            worker.kill()
    job = jobs(synced)["/docs"]
    assert (job["state"], job["attempts"], job["lease_owner"]) == ("queued", 0, None)
    wait_for(lambda: not _alive(int(pidfile.read_text())), timeout=10)  # the agent went too



def test_a_job_longer_than_its_lease_keeps_it(synced: GitRepo, tmp_path: Path) -> None:
    log = tmp_path / "runs.log"
    slow = script(tmp_path, "slow.py", (
        "import json, sys, time\n"
        "req = json.load(sys.stdin)\n"
        f"open({str(log)!r}, 'a').write('run\\n')\n"
        "time.sleep(3)\n"
        "print(json.dumps({'map_summary': 'slow summary of ' + req['path']}))\n"))
    configure(synced, kind="command", command=slow, lease_seconds=1)
    worker = subprocess.Popen([sys.executable, "-m", "float_hooks", "--repo", str(synced.path),
                               "regenerate", "/docs"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: log.exists())
        time.sleep(2)  # twice the lease: without renewal another worker could take it now
        job = jobs(synced)["/docs"]
        assert job["state"] == "running" and job["lease_left"] > 0
        other = synced.float_json("regenerate", "/docs")  # a second worker finds nothing
        assert other["done"] == []
        _out, err = worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, err
    assert log.read_text() == "run\n"  # the agent ran once
    assert folder(synced, "/docs")["status"] == "current"
