"""A pushed page cannot wedge a repository. The alias page (a few hundred bytes standing for
gigabytes) is refused by the export parser at once: the push applies, its result names the
page. Beyond the parser, each delivery runs in a job process with a time and a memory budget,
a crashed or timed-out claim counts as an attempt, a poisoned delivery ends ``failed`` with its
reason, and the repository's later pushes proceed. Against a real server: gunicorn on
loopback, a local bare origin."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from float_hooks.pages import frontmatter
from tests.waiting import wait_until
from tests.webhook_support import (
    Origin,
    app_config,
    gunicorn,
    post,
    queue_rows,
    rows,
)
from webhook import create_app
from webhook.queues.owner_lock import OwnerLock, worker_id
from webhook.queues.sqlite_queue import Queue


def alias_page(levels: int = 9) -> str:
    """A generated-export page whose front matter nests YAML aliases ``levels`` deep: a few
    hundred bytes that stand for 9**levels items (the issue's 612-byte page, in kind)."""
    lines = ["a0: &a0 [x,x,x,x,x,x,x,x,x]"]
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return ("---\n" + frontmatter.MARKER + "\nkind: decisions\n" + "\n".join(lines)
            + f"\ndecisions: [*a{levels - 1}]\n---\n\nbody\n")


def refused(result: dict[str, Any]) -> bool:
    """The hardened export parser refuses YAML aliases at once: the delivery is done (the
    rest of the push applied), its result naming the refused page."""
    [line] = result["sync"]["skipped_pages"]
    return "_log/2026.md" in line and "alias" in line


class Pushes:
    """The origin's three pushes, made one at a time (a push syncs the branch's tip as
    fetched, so the page must be the tip while its delivery is applied): a good one, the
    alias page, and the page removed again."""

    def __init__(self, tmp_path: Path):
        self.origin = Origin(tmp_path)
        self.origin.commit({"src/app.py": "app\n"}, "initial")

    def good(self) -> dict[str, Any]:
        return self.origin.payload(*self.origin.push())

    def poisoned(self) -> dict[str, Any]:
        self.origin.commit({".float/project/_log/2026.md": alias_page()}, "the page")
        return self.origin.payload(*self.origin.push())

    def fixed(self) -> dict[str, Any]:
        self.origin.work.git("rm", "-q", ".float/project/_log/2026.md")
        self.origin.commit({"src/app.py": "app v2\n"}, "page removed")
        return self.origin.payload(*self.origin.push())


def test_the_alias_page_pushed_to_a_real_server(tmp_path: Path) -> None:
    assert len(alias_page().encode()) < 700
    pushes = Pushes(tmp_path)
    data = tmp_path / "data"
    with gunicorn(tmp_path, pushes.origin, FLOAT_DELIVERY_TIMEOUT="4",
                  FLOAT_MAX_ATTEMPTS="2") as server:
        first = pushes.good()
        assert server.deliver("push", first).status_code == 202
        server.wait_head(first["after"])
        assert server.deliver("push", pushes.poisoned()).status_code == 202
        for _ in range(3):  # the server answers while the page is looked at
            assert server.deliver("ping", {"zen": "z"}).status_code == 200
        wait_until(lambda: queue_rows(data)[-1]["state"] == "done", "the page's push", 120)
        fixed = pushes.fixed()
        assert server.deliver("push", fixed).status_code == 202
        assert server.wait_head(fixed["after"])["files"] == 1  # the later push proceeds
    good, poisoned, later = queue_rows(data)
    assert good["state"] == later["state"] == poisoned["state"] == "done"
    assert poisoned["attempts"] == 1 and refused(poisoned["result"]), poisoned


def test_the_alias_page_under_the_memory_budget(tmp_path: Path) -> None:
    pushes = Pushes(tmp_path)
    app = create_app(app_config(tmp_path, pushes.origin, FLOAT_WORKER="off",
                                FLOAT_DELIVERY_MEMORY_MB="300", FLOAT_MAX_ATTEMPTS="1"))
    client = app.test_client()
    for push in (pushes.good, pushes.poisoned, pushes.fixed):  # one after the other
        assert post(client, "push", push()).status_code == 202
        assert app.extensions["float_worker"].run_until_idle() == 1
    good, poisoned, fixed = rows(app)
    assert (good["state"], poisoned["state"], fixed["state"]) == ("done", "done", "done")
    assert refused(poisoned["result"])  # refused by the parser: far under the budget


def test_the_memory_limit_holds_in_the_job_process() -> None:
    code = ("from webhook.work.job import _limit_memory; _limit_memory(200)\n"
            "small = bytearray(50 * 2**20)\n"
            "try:\n    bytearray(400 * 2**20)\nexcept MemoryError:\n    print('refused')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.strip() == "refused", out.stderr


def test_a_claim_whose_worker_died_counts_and_gives_up(tmp_path: Path) -> None:
    q = Queue(tmp_path)
    q.record("d0", "push", "a/x", "a/x")
    q.record("d1", "push", "a/x", "a/x")
    # a worker that holds its lock: alive, whatever its pid says
    alive = OwnerLock(tmp_path, uuid.uuid4().hex[:16])
    claimed = q.claim(f"{worker_id()}:{alive.path.stem}", 3600, max_attempts=2)
    assert claimed is not None and claimed.attempts == 1
    assert q.release_dead() == 0
    # its process dies (the kernel drops the lock); a restart takes the row back at once,
    # and the claim it lost counts
    alive.forget()  # closing its only descriptor: what the kernel does when it dies
    wait_until(lambda: q.release_dead() == 1, "the dead owner's row")
    row = q.rows()[0]
    assert (row["state"], row["attempts"]) == ("queued", 1)
    assert "died while applying it" in row["error"]
    again = q.claim("host:1:" + "b" * 16, 3600, max_attempts=2)
    assert again is not None and (again.delivery, again.attempts) == ("d0", 2)
    # that one dies too (no lock at all): with max_attempts reached it fails, d1 goes on
    assert q.release_dead() == 0  # another host's owner: only its lease can tell
    q.conn.execute("UPDATE deliveries SET lease_until = 0 WHERE delivery = 'd0'")
    nxt = q.claim("host:1:" + "c" * 16, 3600, max_attempts=2)
    assert nxt is not None and nxt.delivery == "d1"
    first = q.rows()[0]
    assert first["state"] == "failed"
    assert first["error"] == ("gave up after 2 attempts: its worker (host:1:" + "b" * 16
                              + ") stopped renewing its lease")
    q.close()


HANG = """\
import os, pathlib, sys, time
pathlib.Path(sys.argv[1]).write_text(str(os.getpid()))
time.sleep(600)
"""


def test_over_time_the_regenerator_command_is_stopped_too(tmp_path: Path) -> None:
    # the command runs in a process group of its own (regen_command): killing the job
    # process's group would leave it running; the job process stops it on its way out
    (tmp_path / "hang.py").write_text(HANG)
    pidfile = tmp_path / "regen.pid"
    origin = Origin(tmp_path)
    origin.commit({"src/app.py": "app\n", ".float/config.toml":
                   f'[regenerate]\nkind = "command"\ntimeout = 60\n'
                   f'command = "{sys.executable} {tmp_path / "hang.py"} {pidfile}"\n'}, "initial")
    app = create_app(app_config(tmp_path, origin, FLOAT_WORKER="off", FLOAT_ON_PUSH="regenerate",
                                FLOAT_TRUST_REPO_CONFIG="1", FLOAT_DELIVERY_TIMEOUT="3",
                                FLOAT_MAX_ATTEMPTS="1"))
    post(app.test_client(), "push", origin.payload(*origin.push()))
    assert app.extensions["float_worker"].run_until_idle() == 1
    (row,) = rows(app)
    assert (row["state"], row["error"]) == (
        "failed", "took longer than 3s (FLOAT_DELIVERY_TIMEOUT); stopped")
    pid = int(pidfile.read_text())
    wait_until(lambda: not Path(f"/proc/{pid}").exists()
             or Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z",
             "the regenerator command to end", 30)
