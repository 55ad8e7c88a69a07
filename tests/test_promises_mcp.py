"""Documented promises of the MCP server that no other test drove (issue 22), through the SDK's
own client spawning the server from the command `agents install` wrote: the `query` tool's
row limits, and the fallback when the watcher cannot watch (inotify's limit hit for real)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import anyio
import pytest
from mcp import Client, StdioServerParameters

from tests.gitrepo import PROJECT_ROOT, GitRepo
from tests.mcp_support import call, installed, session
from tests.waiting import wait_until

MANY_ROWS = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)"
             " SELECT i FROM n")

# The inotify limits are per user namespace (/proc/sys/user/max_inotify_watches): a process
# started in a new one (`unshare -Ur`, root there as here) can lower its own to 1 watch
# without touching anyone else's. One watch lets inotify start, then the watcher's walk of
# the tree hits the limit (ENOSPC: "inotify watch limit reached"), as a big work tree does on
# a machine left at the default limit.
ONE_WATCH = 'echo 1 > /proc/sys/user/max_inotify_watches && exec "$@"'


def _can_limit_inotify() -> bool:
    if shutil.which("unshare") is None or not sys.platform.startswith("linux"):
        return False
    proc = subprocess.run(["unshare", "-Ur", "sh", "-c", ONE_WATCH, "sh", "true"],
                          capture_output=True)
    return proc.returncode == 0


needs_userns = pytest.mark.skipif(not _can_limit_inotify(),
                                  reason="needs `unshare -Ur` (user namespaces) to lower the"
                                         " inotify watch limit for one process")


def test_mcp_query_returns_100_rows_by_default_and_500_at_most(synced: GitRepo) -> None:
    # docs: `query` | read-only SQL: at most 500 rows, 5 s; the tool's own description: a
    # `max_rows` argument, default 100, at most 500
    repo = installed(synced)

    async def body(c: Client) -> None:
        tool = next(t for t in (await c.list_tools()).tools if t.name == "query")
        assert "default 100, at most 500" in tool.input_schema["properties"]["max_rows"][
            "description"]
        default = await call(c, "query", sql=MANY_ROWS)
        assert [r["i"] for r in default["rows"]] == list(range(1, 101))
        assert default["truncated"] is True and default["columns"] == ["i"]
        capped = await call(c, "query", sql=MANY_ROWS, max_rows=100_000)
        assert [r["i"] for r in capped["rows"]] == list(range(1, 501))
        assert capped["truncated"] is True
        exact = await call(c, "query", sql=MANY_ROWS + " LIMIT 500", max_rows=500)
        assert len(exact["rows"]) == 500 and exact["truncated"] is False

    session(repo, body)


@needs_userns
def test_watcher_hitting_the_inotify_limit_fails_and_says_why(synced: GitRepo) -> None:
    # what the MCP test below relies on: with one watch allowed, the watcher does not run
    code = textwrap.dedent(f"""\
        from float_hooks.project import Project
        from float_hooks.triggers.tree_watcher import Watcher
        w = Watcher(Project.discover({str(synced.path)!r}))
        w.start()
        print(w.running, w.failed)
        w.stop()
        """)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    limited = subprocess.run(["unshare", "-Ur", "sh", "-c", ONE_WATCH, "sh", sys.executable,
                              "-c", code], capture_output=True, text=True, env=env)
    assert limited.returncode == 0, limited.stderr
    assert limited.stdout.strip() == "False OSError: [Errno 28] inotify watch limit reached"
    # the same in a namespace of its own without the limit: it runs
    free = subprocess.run(["unshare", "-Ur", sys.executable, "-c", code], capture_output=True,
                          text=True, env=env)
    assert free.returncode == 0 and free.stdout.strip() == "True None", free.stderr


def _server(repo: GitRepo, limit: bool) -> StdioServerParameters:
    """The server as .mcp.json starts it, inside a user namespace of its own (with the
    inotify watch limit at 1 when ``limit``)."""
    entry = json.loads((repo.path / ".mcp.json").read_text())["mcpServers"]["float-hooks"]
    prefix = ["-Ur", "sh", "-c", ONE_WATCH, "sh"] if limit else ["-Ur"]
    return StdioServerParameters(command="unshare",
                                 args=[*prefix, entry["command"], *entry["args"]],
                                 cwd=str(repo.path), env=dict(os.environ))


def _run(params: StdioServerParameters, body: object) -> None:
    async def main() -> None:
        async with Client(params, read_timeout_seconds=60) as client:
            await body(client)  # type: ignore[operator]

    anyio.run(main)


@needs_userns
def test_mcp_answers_sync_first_when_inotify_limits_stop_the_watcher(synced: GitRepo) -> None:
    # docs: the server watches the work tree ... Until the watcher runs, or where it cannot
    # (inotify limits: see `unsynced_changes`/`watching`), and with `mcp --no-watch`, every
    # answer syncs first.
    repo = installed(synced)

    async def control(c: Client) -> None:
        # in a namespace of its own without the limit the watcher does run
        async def watching() -> bool:
            return bool((await call(c, "status"))["freshness"]["watching"])

        deadline = anyio.current_time() + 60
        while not await watching():
            assert anyio.current_time() < deadline, "the watcher never ran"
            await anyio.sleep(0.1)

    _run(_server(repo, limit=False), control)

    async def limited(c: Client) -> None:
        for i in range(15):
            repo.write(f"src/auth/gen_{i}.py", f"N = {i}\n")  # an edit, then at once a call
            shown = await call(c, "show", path="/src/auth")
            assert f"gen_{i}.py" in {ch["name"] for ch in shown["children"]}, i
            fresh = shown["freshness"]
            assert fresh["watching"] is False and fresh["unsynced_changes"] is False, fresh
            if i % 5 == 4:
                await anyio.sleep(0.5)  # long past the watcher's start: still no watcher
        repo.remove("src/auth/gen_0.py")
        shown = await call(c, "show", path="/src/auth")
        assert "gen_0.py" not in {ch["name"] for ch in shown["children"]}

    _run(_server(repo, limit=True), limited)
    # what the server synced is in the map for every other reader too
    wait_until(lambda: "/src/auth/gen_14.py" in {
        r["path"] for r in repo.float_json("query", "SELECT path FROM files")},
        "the synced edit in the map", 30)
