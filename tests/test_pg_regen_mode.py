"""With PostgreSQL, whether a repository's folders go to the regeneration workers is decided by
each delivery's sync (its commit's config), not once for good: a repository switched back to
`builtin` is regenerated in the sync worker's job process, and the jobs that only apply the
regeneration workers' late answers follow that delivery: they hand out no request (a
`builtin` request is one the workers refuse, and was asked again after each refusal).

All real: a web host (docs/server.md's gunicorn command), a sync worker (``python -m
webhook.worker``) and a regeneration worker (``python -m webhook.regen_worker``) on one
PostgreSQL, pushes to a bare repository standing in for GitHub."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

from tests.pg_server import pg_server, pg_url  # noqa: F401
from tests.pg_support import Proc, deliver, pg_env, web
from tests.waiting import wait_until
from tests.webhook_support import Origin
from webhook.storage.maps import map_meta, map_path
from webhook.work.pg_sync import ANSWER_SEQ_KEY, REMOTE_KEY

REGEN_CMD = textwrap.dedent("""\
    import json, sys
    request = json.load(sys.stdin)
    path = request["path"]
    print(json.dumps({"map_summary": "remote " + path,
                      "map_children": [{"name": c["name"], "summary": "c"}
                                       for c in request["children"]],
                      "context_what": "remote what " + path, "context_why": "why",
                      "context_patterns": ["p"]}))
""")
REFUSED = "is not answered by regeneration workers"


def _rows(url: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return list(conn.execute(sql, args).fetchall())  # type: ignore[arg-type]


def _regen_jobs(url: str) -> list[tuple[str, str]]:
    """(regenerator kind, folder) of every request handed to the regeneration workers."""
    return sorted((args["regenerator"]["kind"], args["path"]) for (args,) in _rows(
        url, "SELECT args FROM procrastinate_jobs WHERE queue_name = 'float_regen'"))


def _idle(url: str, *queues: str) -> bool:
    """No job of ``queues`` (default: every queue) waiting or running."""
    return not _rows(url, "SELECT id FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"
                          " AND (%s OR queue_name = ANY(%s))", not queues, list(queues))


def test_a_repository_switched_back_to_builtin_hands_out_no_more_requests(
        tmp_path: Path, pg_url: str) -> None:  # noqa: F811
    script = tmp_path / "regen_cmd.py"
    script.write_text(REGEN_CMD)
    command = ("[regenerate]\nkind = \"command\"\n"
               f"command = \"{sys.executable} {script}\"\ntimeout = 30\n")
    o = Origin(tmp_path, "acme/widgets")
    o.commit({".float/config.toml": command, "src/a/mod.py": "a = 1\n",
              "src/b/mod.py": "b = 1\n"}, "a command regenerator")
    env = {h: pg_env(tmp_path, h, pg_url, o, FLOAT_ON_PUSH="regenerate",
                     FLOAT_TRUST_REPO_CONFIG="1") for h in ("web1", "sync1", "regen1")}
    server = web(tmp_path, "web1", env["web1"])
    sync1 = Proc(tmp_path, "sync1", "webhook.worker", env["sync1"])
    procs = [sync1]
    the_map = map_path(Path(env["sync1"]["FLOAT_DATA_DIR"]), o.full_name)

    def status() -> dict[str, Any]:
        return dict(server.get(f"/repos/{o.full_name}/status").json())

    def folder(path: str) -> dict[str, Any]:
        return dict(server.get(f"/repos/{o.full_name}/folders{path}").json())

    try:
        # 1. the command regenerator: the sync hands the leaf folders to the regeneration
        # workers (none runs yet: the answers come late)
        before, first = o.push()
        deliver(server, o, before, first)
        wait_until(lambda: _idle(pg_url, "float_sync") and status().get("head") == first
                   and status()["queued_deliveries"] == 0, "the first push synced", 120, 0.2)
        handed = _regen_jobs(pg_url)
        assert handed == [("command", "/src/a"), ("command", "/src/b")]
        assert map_meta(the_map, REMOTE_KEY) == "1"

        # 2. switched back to builtin (and /src/a changed): the sync worker's job process
        # writes every folder's context itself, and the repository leaves the workers
        o.commit({".float/config.toml": "[regenerate]\nkind = \"builtin\"\n",
                  "src/a/mod.py": "a = 2\n"}, "back to builtin")
        before, second = o.push()
        deliver(server, o, before, second)
        wait_until(lambda: status().get("head") == second
                   and status()["queued_deliveries"] == 0, "the second push synced", 120, 0.2)
        last = server.get(f"/repos/{o.full_name}/deliveries").json()[-1]
        assert last["after"] == second and "/src/a" in last["result"]["regenerate"]["done"]
        assert (status()["stale"], status()["pending"]) == (0, 0)
        assert map_meta(the_map, REMOTE_KEY) == ""  # this delivery's sync decided: builtin

        # 3. the regeneration worker answers the first push's requests, late: the sync jobs
        # that apply them follow the last delivery and ask the workers nothing more
        regen1 = Proc(tmp_path, "regen1", "webhook.regen_worker",
                      {**env["regen1"], "FLOAT_WORKER_THREADS": "1"})
        procs.append(regen1)
        wait_until(lambda: _idle(pg_url) and folder("/src/b")["context_what"]
                   == "remote what /src/b", "the late answer for /src/b applied", 120, 0.2)
        (seq,), = _rows(pg_url, "SELECT max(seq) FROM float_answers")
        assert map_meta(the_map, ANSWER_SEQ_KEY) == str(seq)  # every answer was looked at
        assert folder("/src/a")["context_what"] != "remote what /src/a"  # an older hash's
        assert _regen_jobs(pg_url) == handed  # no request handed out since the switch
        assert map_meta(the_map, REMOTE_KEY) == ""
        assert (status()["stale"], status()["pending"]) == (0, 0)
        assert REFUSED not in regen1.log()
    finally:
        for p in procs:
            p.stop()
        server.stop()
