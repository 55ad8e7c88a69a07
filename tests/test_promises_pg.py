"""Documented promises of the PostgreSQL deployment that no other test drove (issue 22), with a
real PostgreSQL server, the README's gunicorn command as the web host and the workers as
processes: `python -m webhook.regen_worker --concurrency N` answering N requests at once, a
regeneration worker's SIGTERM letting its running job finish, and a web host answering 503
while PostgreSQL is away (and the workers starting again once it is back)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.gitrepo import PROJECT_ROOT
from tests.pg_server import PgServer, find_bin, pg_server, pg_url  # noqa: F401
from tests.pg_support import Proc, pg_env, web
from tests.waiting import wait_until
from tests.webhook_support import Gunicorn, Origin, ProcessGroup, signed


def _rows(url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return list(conn.execute(sql, args).fetchall())  # type: ignore[arg-type]


class ProcArgs(Proc):
    """``python -m <module> ARGS`` (pg_support.Proc takes none)."""

    def __init__(self, tmp: Path, name: str, module: str, env: dict[str, str],
                 args: list[str]):
        self.args = args
        super().__init__(tmp, name, module, env)

    def start(self) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", self.module, *self.args], cwd=PROJECT_ROOT,
                env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _deliver(server: Gunicorn, origin: Origin, before: str, after: str) -> str:
    r = server.deliver("push", origin.payload(before, after))
    assert r.status_code == 202, r.text
    return r.request.headers["X-GitHub-Delivery"]  # type: ignore[return-value]


def _all_current(server: Gunicorn, full_name: str) -> bool:
    r = server.get(f"/repos/{full_name}/status")
    if r.status_code != 200:
        return False
    s = r.json()
    return bool(s["stale"] == 0 and s["pending"] == 0 and s["queued_deliveries"] == 0)


def _command_repo(tmp: Path, script: str, *args: str, leaves: str = "abcd") -> Origin:
    """A repository whose `.float/config.toml` asks for a `command` regenerator running
    ``script`` (Python) with ``args``, with folders src/<leaf> for each leaf."""
    path = tmp / "regen_cmd.py"
    path.write_text(script)
    command = " ".join([sys.executable, str(path), *args])
    o = Origin(tmp, "acme/maps")
    o.commit({".float/config.toml": f'[regenerate]\nkind = "command"\ncommand = "{command}"\n'
              "timeout = 90\n", **{f"src/{n}/mod.py": f"{n} = 1\n" for n in leaves}}, "first")
    return o


def _stop_all(procs: list[ProcessGroup]) -> None:
    for p in procs:
        p.stop()


ANSWER = """
path = request["path"]
print(json.dumps({"map_summary": "summary of " + path,
                  "map_children": [{"name": c["name"], "summary": "c"}
                                   for c in request["children"]],
                  "context_what": "what " + path}))
"""

# Each request: a file of its own in the spool while it is answered; it records how many
# were being answered at once, and the first ones wait (bounded) until N are.
CONCURRENT = textwrap.dedent("""\
    import json, os, sys, time
    request = json.load(sys.stdin)
    spool, want = sys.argv[1], int(sys.argv[2])
    mine = os.path.join(spool, str(os.getpid()))
    open(mine, "w").close()
    met = os.path.join(spool, "..", "met")
    deadline = time.monotonic() + 15  # bounded: one at a time, each gives up waiting
    while True:
        now = len(os.listdir(spool))
        with open(os.path.join(spool, "..", "seen"), "a") as f:
            f.write(f"{now}\\n")
        if now >= want:
            open(met, "w").close()
        if os.path.exists(met) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    time.sleep(0.3)  # the model's latency: the others see this one still answering
    os.unlink(mine)
    """) + ANSWER


def test_regen_worker_concurrency_n_answers_n_requests_at_once(
        tmp_path: Path, pg_url: str) -> None:  # noqa: F811
    # docs: regeneration worker | `python -m webhook.regen_worker [--concurrency N]` |
    # answer one folder's request ...; --concurrency: requests answered at once
    spool = tmp_path / "spool"
    spool.mkdir()
    o = _command_repo(tmp_path, CONCURRENT, str(spool), "3", leaves="abcde")
    before, after = o.push()
    extra = {"FLOAT_ON_PUSH": "regenerate", "FLOAT_TRUST_REPO_CONFIG": "1"}
    env = {h: pg_env(tmp_path, h, pg_url, o, **extra) for h in ("web1", "sync1", "regen1")}
    procs: list[ProcessGroup] = []
    try:
        procs.append(web(tmp_path, "web1", env["web1"]))
        procs.append(Proc(tmp_path, "sync1", "webhook.worker", env["sync1"]))
        # one thread by default (FLOAT_WORKER_THREADS=1): --concurrency alone makes it 3
        procs.append(ProcArgs(tmp_path, "regen1", "webhook.regen_worker",
                              {**env["regen1"], "FLOAT_WORKER_THREADS": "1"},
                              ["--concurrency", "3"]))
        server = procs[0]
        assert isinstance(server, Gunicorn)
        _deliver(server, o, before, after)
        wait_until(lambda: _all_current(server, o.full_name), "every folder regenerated",
                 180, 0.2)
    finally:
        _stop_all(procs)
    seen = [int(n) for n in (tmp_path / "seen").read_text().split()]
    assert (tmp_path / "met").exists() and max(seen) == 3, seen  # three at once, never four
    answered_by = _rows(pg_url, "SELECT DISTINCT answered_by FROM float_answers")
    assert len(answered_by) == 1  # one regeneration worker process answered them all
    paths = {r[0] for r in _rows(pg_url, "SELECT path FROM float_answers")}
    assert {f"/src/{n}" for n in "abcde"} | {"/src", "/"} <= paths


# The request for /src/a waits (bounded) for a gate file; every other one answers at once.
GATED = textwrap.dedent("""\
    import json, os, sys, time
    request = json.load(sys.stdin)
    spool = sys.argv[1]
    if request["path"] == "/src/a":
        open(os.path.join(spool, "started"), "w").close()
        deadline = time.monotonic() + 90
        while not os.path.exists(os.path.join(spool, "gate")) and time.monotonic() < deadline:
            time.sleep(0.05)
    """) + ANSWER


def test_sigterm_lets_a_regeneration_workers_running_job_finish(
        tmp_path: Path, pg_url: str) -> None:  # noqa: F811
    # docs: Adding hosts: start another process of the role ...; Remove one with SIGTERM
    # (running jobs finish first)
    spool = tmp_path / "spool"
    spool.mkdir()
    o = _command_repo(tmp_path, GATED, str(spool), leaves="a")
    before, after = o.push()
    extra = {"FLOAT_ON_PUSH": "regenerate", "FLOAT_TRUST_REPO_CONFIG": "1"}
    env = {h: pg_env(tmp_path, h, pg_url, o, **extra) for h in ("web1", "sync1", "regen1")}
    procs: list[ProcessGroup] = []
    try:
        server = web(tmp_path, "web1", env["web1"])
        procs.append(server)
        procs.append(Proc(tmp_path, "sync1", "webhook.worker", env["sync1"]))
        regen = ProcArgs(tmp_path, "regen1", "webhook.regen_worker", env["regen1"],
                         ["--concurrency", "1"])
        procs.append(regen)
        _deliver(server, o, before, after)
        wait_until(lambda: (spool / "started").exists(), "the gated job to start", 120, 0.05)
        regen.proc.send_signal(signal.SIGTERM)  # the worker alone, as an orchestrator does
        (spool / "gate").write_text("open")  # the job in hand goes on, then answers
        code = regen.proc.wait(timeout=120)
        assert code == 0, regen.log()
        owner = f"{os.uname().nodename}:{regen.pid}"
        answered = _rows(pg_url, "SELECT answered_by, fields FROM float_answers"
                                 " WHERE path = '/src/a'")
        assert answered and answered[0][0] == owner, (answered, regen.log())
        assert answered[0][1]["map_summary"] == "summary of /src/a"
        # it took no job after SIGTERM: the folders after /src/a wait for the next worker
        assert not _rows(pg_url, "SELECT 1 FROM float_answers WHERE path IN ('/src', '/')")
        # a new worker of the role takes them over, and the map comes out complete
        procs.append(Proc(tmp_path, "regen2", "webhook.regen_worker", env["regen1"]))
        wait_until(lambda: _all_current(server, o.full_name), "every folder regenerated",
                 180, 0.2)
        a = server.get(f"/repos/{o.full_name}/folders/src/a").json()
        assert a["map_summary"] == "summary of /src/a" and a["status"] == "current"
    finally:
        _stop_all(procs)


@pytest.fixture
def own_pg() -> Iterator[PgServer]:
    """A PostgreSQL server of this test's own: the test stops it (the session's is shared)."""
    bindir = find_bin()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries (initdb, pg_ctl, postgres)")
    pytest.importorskip("procrastinate", reason="the [postgres] extra is not installed")
    server = PgServer(bindir)
    try:
        yield server
    finally:
        server.close()


def test_web_host_answers_503_while_postgres_is_away_and_workers_start_again(
        tmp_path: Path, own_pg: PgServer) -> None:
    # docs: A worker that loses PostgreSQL starts again once it is back; a web host
    # answers 503 meanwhile (redeliver from GitHub's page).
    url = own_pg.new_database()
    o = Origin(tmp_path)
    o.commit({"src/app.py": "print(1)\n"}, "first")
    before, after = o.push()
    env = {h: pg_env(tmp_path, h, url, o, FLOAT_ON_PUSH="queue") for h in ("web1", "sync1")}
    procs: list[ProcessGroup] = []
    try:
        server = web(tmp_path, "web1", env["web1"])
        procs.append(server)
        procs.append(Proc(tmp_path, "sync1", "webhook.worker", env["sync1"]))
        _deliver(server, o, before, after)
        server.wait_head(after, "acme/widgets", 120)

        own_pg.stop()  # PostgreSQL goes away
        o.commit({"src/app.py": "print(2)\n"})
        before, after = o.push()
        body = json.dumps(o.payload(before, after)).encode()
        headers = signed(body, "push")
        r = requests.post(server.url + "/webhook", data=body, headers=headers, timeout=60)
        assert r.status_code == 503, r.text
        assert r.json()["error"] == "Service Unavailable"
        assert "redeliver" in r.json()["message"]
        assert server.proc.poll() is None  # the web host itself keeps running

        own_pg.start()  # back: GitHub's redelivery (the same delivery id) is taken
        def redelivered() -> bool:
            again = requests.post(server.url + "/webhook", data=body, headers=headers,
                                  timeout=60)
            assert again.status_code in (202, 503), again.text
            return again.status_code == 202

        wait_until(redelivered, "the redelivery to be accepted", 120, 0.5)
        # and the sync worker, which lost PostgreSQL too, started again and syncs it
        status = server.wait_head(after, "acme/widgets", 120)
        assert status["head"] == after
        states = _rows(url, "SELECT delivery, state FROM float_deliveries")
        assert [s for _, s in states].count("done") == 2, states
        assert headers["X-GitHub-Delivery"] in {d for d, _ in states}
    finally:
        _stop_all(procs)
