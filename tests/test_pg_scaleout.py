"""The organisation server on PostgreSQL (procrastinate), as on several hosts: two web
processes (real gunicorn) and two sync workers, each with its own data directory, three
repositories pushed to in turn and delivered alternately to both web hosts; a sync worker
SIGKILLed mid-job and restarted; PostgreSQL restarted mid-run; two regeneration workers with
a `command` regenerator that sleeps; a worker's data directory deleted, then its
repositories served again with no context lost."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

from tests.gitrepo import GitRepo
from tests.pg_server import PgServer, pg_server, pg_url  # noqa: F401
from tests.pg_support import Proc, deliver, pg_env, read_api, web
from tests.sse_support import SSE
from tests.waiting import wait_until
from tests.webhook_support import TOKEN, Origin

REPOS = ("acme/one", "acme/two", "acme/three")


def _rows(url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return list(conn.execute(sql, args).fetchall())  # type: ignore[arg-type]


def _settled(url: str, count: int) -> bool:
    rows = _rows(url, "SELECT state FROM float_deliveries")
    return len(rows) == count and all(r[0] in ("done", "ignored") for r in rows)


def _slow_git(tmp: Path) -> dict[str, str]:
    """A git configuration whose fetches take a second (upload-pack's pack-objects hook):
    the first worker's jobs last long enough to be killed in the middle."""
    hook = tmp / "slow-pack.sh"
    hook.write_text('#!/bin/sh\nsleep 1\nexec "$@"\n')
    hook.chmod(0o755)
    cfg = tmp / "slow.gitconfig"
    cfg.write_text(f"[uploadpack]\n\tpackObjectsHook = {hook}\n")
    return {"GIT_CONFIG_GLOBAL": str(cfg)}


def test_two_web_hosts_two_sync_workers_kill_and_postgres_restart(
        tmp_path: Path, pg_server: PgServer, pg_url: str) -> None:  # noqa: F811
    origins = []
    for name in REPOS:
        o = Origin(tmp_path, name)
        o.commit({"src/app.py": "print(1)\n", "docs/readme.md": f"# {name}\n"}, "first")
        origins.append(o)
    first = origins[0]
    env = {h: pg_env(tmp_path, h, pg_url, first, FLOAT_ON_PUSH="queue")
           for h in ("web1", "web2", "sync1", "sync2")}
    webs = [web(tmp_path, "web1", env["web1"]), web(tmp_path, "web2", env["web2"])]
    sync1 = Proc(tmp_path, "sync1", "webhook.worker", {**env["sync1"], **_slow_git(tmp_path)})
    sync2 = Proc(tmp_path, "sync2", "webhook.worker", env["sync2"])
    procs = [sync1, sync2]
    sent = 0
    try:
        # interleaved pushes to the three repositories, delivered alternately to both hosts
        for round_ in range(3):
            for i, o in enumerate(origins):
                if round_:
                    o.commit({f"src/m{round_}.py": f"x = {round_}\n"})
                before, after = o.push()
                deliver(webs[(sent + i) % 2], o, before, after)
                sent += 1
        # kill the first sync worker while it holds a delivery (its jobs fetch slowly)
        o = origins[0]
        o.commit({"src/killed.py": "k = 1\n"})
        before, after = o.push()
        deliver(webs[0], o, before, after)
        sent += 1
        owner = f":{sync1.pid}"
        held = wait_until(lambda: _rows(pg_url, "SELECT id FROM float_deliveries WHERE state ="
                                              " 'running' AND owner LIKE %s", f"%{owner}"),
                        "the first sync worker to hold a delivery", 60, 0.01)
        sync1.kill()
        sync1.start()  # the host comes back (same data directory)
        # PostgreSQL restarts while pushes keep coming
        for o in origins[1:]:
            o.commit({"docs/during.md": "restart\n"})
            before, after = o.push()
            deliver(webs[1], o, before, after)
            sent += 1
        pg_server.restart()
        for i, o in enumerate(origins):
            o.commit({"src/after.py": f"a = {i}\n"})
            before, after = o.push()
            deliver(webs[i % 2], o, before, after)  # redelivered while it answers 503
            sent += 1
        wait_until(lambda: _settled(pg_url, sent), "every delivery to end done", 120, 0.2)
        for o in origins:
            views = [read_api(w, o.full_name) for w in webs]
            assert views[0] == views[1]  # the same answer from every web host
            assert views[0]["status"]["head"] == o.tip("main")
            assert views[0]["status"]["queued_deliveries"] == 0
            states = {d["state"] for d in views[0]["deliveries"]}
            assert states <= {"done", "ignored"}, views[0]["deliveries"]
            for d in views[0]["deliveries"]:
                # a coalesced delivery says which sync covered it
                assert "sync" in d["result"] or "coalesced_into" in d["result"] \
                    or d["state"] == "ignored"
        # what the killed worker held was taken over and done, that claim counted
        for (row_id,) in held:
            (state, attempts), = _rows(pg_url, "SELECT state, attempts FROM float_deliveries"
                                               " WHERE id = %s", row_id)
            assert state == "done" and attempts >= 2
    finally:
        for p in procs:
            p.stop()
        for w in webs:
            w.stop()


REGEN_CMD = textwrap.dedent("""\
    import json, os, sys, time
    request = json.load(sys.stdin)
    spool = sys.argv[1]
    mine = os.path.join(spool, str(os.getpid()))
    open(mine, "w").close()
    # the first answers wait (bounded) until another regeneration worker answers at the
    # same time; "met" records that two did
    deadline = time.monotonic() + 10
    met = os.path.join(spool, "..", "met")
    while not os.path.exists(met) and time.monotonic() < deadline:
        if len(os.listdir(spool)) >= 2:
            open(met, "w").close()
        time.sleep(0.05)
    time.sleep(0.2)  # the model's latency
    os.unlink(mine)
    path = request["path"]
    print(json.dumps({"map_summary": "summary of " + path,
                      "map_children": [{"name": c["name"], "summary": "c"}
                                       for c in request["children"]],
                      "context_what": "what " + path, "context_why": "why " + path,
                      "context_patterns": ["p"]}))
""")


def _all_current(server: Any, full_name: str) -> bool:
    r = server.get(f"/repos/{full_name}/status")
    if r.status_code != 200:
        return False
    s = r.json()
    return bool(s["stale"] == 0 and s["pending"] == 0 and s["queued_deliveries"] == 0)


def test_regeneration_workers_and_a_lost_data_directory(
        tmp_path: Path, pg_url: str) -> None:  # noqa: F811
    spool = tmp_path / "spool"
    spool.mkdir()
    script = tmp_path / "regen_cmd.py"
    script.write_text(REGEN_CMD)
    o = Origin(tmp_path, "acme/maps")
    o.commit({".float/config.toml": "[regenerate]\nkind = \"command\"\n"
              f"command = \"{sys.executable} {script} {spool}\"\ntimeout = 30\n",
              **{f"src/{n}/mod.py": f"{n} = 1\n" for n in "abcd"}}, "first")
    before, after = o.push()
    extra = {"FLOAT_ON_PUSH": "regenerate", "FLOAT_TRUST_REPO_CONFIG": "1",
             "FLOAT_EXPORT_BRANCH": "float-hooks/context"}
    env = {h: pg_env(tmp_path, h, pg_url, o, **extra)
           for h in ("web1", "web2", "sync1", "regen1", "regen2")}
    webs = [web(tmp_path, "web1", env["web1"]), web(tmp_path, "web2", env["web2"])]
    sync1 = Proc(tmp_path, "sync1", "webhook.worker", env["sync1"])
    regens = [Proc(tmp_path, f"regen{i}", "webhook.regen_worker",
                   {**env[f"regen{i}"], "FLOAT_WORKER_THREADS": "1"}) for i in (1, 2)]
    procs = [sync1, *regens]
    stream = SSE(webs[1].url + f"/repos/{o.full_name}/events",
                 {"Authorization": f"Bearer {TOKEN}"})
    try:
        deliver(webs[0], o, before, after)
        for w in webs:
            wait_until(lambda w=w: _all_current(w, o.full_name), "every folder regenerated",
                     120, 0.2)
        # what the regeneration workers answered reaches a live client as context events
        written = stream.wait_for(lambda ev: {e["data"]["data"]["path"] for e in ev
                                              if e["event"] == "context"} >= {"/src/b"},
                                  "a context event for /src/b")
        assert written
        doc = webs[1].get(f"/repos/{o.full_name}/folders/src/b").json()
        assert doc["context_what"] == "what /src/b" and doc["status"] == "current"
        answered_by = {r[0] for r in _rows(pg_url, "SELECT answered_by FROM float_answers")}
        assert len(answered_by) == 2  # both regeneration workers answered
        assert (tmp_path / "met").exists()  # at the same time
        # the sync worker's disk is lost; a new worker serves the repository again
        sync1.stop()
        data = Path(env["sync1"]["FLOAT_DATA_DIR"])
        import shutil

        shutil.rmtree(data)
        sync2 = Proc(tmp_path, "sync2", "webhook.worker", env["sync1"])
        procs.append(sync2)
        o.commit({"src/a/mod.py": "a = 2\n"})
        before, after = o.push()
        deliver(webs[1], o, before, after)
        wait_until(lambda: webs[0].get(f"/repos/{o.full_name}/status").json()["head"] == after,
                 "the new push synced", 60, 0.1)
        for w in webs:
            # an untouched folder kept its regenerated context through the rebuild
            b = w.get(f"/repos/{o.full_name}/folders/src/b").json()
            assert b["context_what"] == "what /src/b" and b["status"] == "current"
        for w in webs:
            wait_until(lambda w=w: _all_current(w, o.full_name), "the changed folder again",
                     120, 0.2)
        assert data.exists()

        # what the regeneration workers answered reaches the origin (FLOAT_EXPORT_BRANCH): a
        # commit on the synced head holding every folder's context
        def exported() -> bool:
            bare = GitRepo(o.bare)
            tip = o.tip("float-hooks/context")
            if tip == "0" * 40 or bare.git("rev-parse", f"{tip}^").strip() != after:
                return False
            pages = [bare.git("show", f"{tip}:.float/project/src/{n}/_folder.md", check=False)
                     for n in "ab"]
            return all(f"what /src/{n}" in page for n, page in zip("ab", pages, strict=True))

        wait_until(exported, "the export pushed to float-hooks/context", 120, 0.2)
    finally:
        stream.close()
        for p in procs:
            p.stop()
        for w in webs:
            w.stop()
