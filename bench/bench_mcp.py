"""MCP server benchmark: `float-hooks mcp` on a generated repository, driven by the SDK's own
client over stdio, as an agent drives it.

On a hard-linked copy of the generated repository (`generate.py`), mapped by `init`, with
context on every folder (written straight into the DB, as `set` would: regenerating 7.5k
folders is not what is measured here) and 5 folders' files edited so that some folders are
stale, it prints:

* server start to first answer: spawning the process to the `initialize` answer, and to the
  answer of a first `status` call (the work-tree sync and the watcher's start run while the
  SDK imports); for scale, `import mcp.server.lowlevel` alone and a `float-hooks status` CLI;
* warm calls: `show` of a folder, `stale`, `status`, `search` for words many folders hold
  and a `search` that finds nothing (median of --calls calls), once the background outliner
  is done; before that, a `search` every second while it works, and when it was done;
* for scale, in the same run: a trivial server on the same SDK (one tool answering a
  constant): its start to the first tool answer, and a warm call of that tool;
* a call right after an edit of 5 files: `stale` right after the edit must list the 5 folders
  (the watcher saw the edit; the call syncs first), and its latency;
* the same without the watcher (`mcp --no-watch`: every answer syncs the work tree first).

    python bench/bench_mcp.py                  # 90k files
    python bench/bench_mcp.py --files 5000 --runs 3
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from generate import as_installed, build_cache_apart, edit_files, fresh_copy, git_env

ROOT = Path(__file__).resolve().parent.parent


def _ms(values: list[float]) -> str:
    if not values:
        return "-"
    lo, med, hi = min(values), statistics.median(values), max(values)
    return f"{med * 1000:.0f} ms ({lo * 1000:.0f}-{hi * 1000:.0f})"


def _run(repo: Path, *args: str) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "float_hooks", *args], cwd=repo, check=True,
                   stdout=subprocess.DEVNULL, env={**os.environ, **git_env()})
    return time.perf_counter() - t


def prepare(files: int, work: Path, cache: Path | None) -> Path:
    build_cache_apart(files, cache=cache)
    repo = fresh_copy(files, work / "repo", link=True, cache=cache)
    _run(repo, "init")
    with sqlite3.connect(repo / ".float" / "index.db") as db:
        db.execute("UPDATE folders SET map_summary = 'benchmark context',"
                   " context_hash = source_hash")
    edit_files(repo, 5, seed=1)
    _run(repo, "sync")
    return repo


async def session(repo: Path, result: dict[str, list[float]], calls: int, watch: bool,
                  seed: int) -> None:
    import anyio
    from mcp import Client, StdioServerParameters

    args = ["-m", "float_hooks", "mcp"] + ([] if watch else ["--no-watch"])
    params = StdioServerParameters(command=sys.executable, args=args, cwd=str(repo),
                                   env={**os.environ, **git_env()})
    tag = "" if watch else " (no watcher)"
    t0 = time.perf_counter()
    async with Client(params, mode="legacy", read_timeout_seconds=120) as c:
        result["initialize" + tag].append(time.perf_counter() - t0)
        first = await c.call_tool("status", {})
        result["first status" + tag].append(time.perf_counter() - t0)
        assert not first.is_error, first.content
        if watch:  # wait until the watcher runs, so warm calls are what a session sees
            deadline = time.monotonic() + 120
            while not (await c.call_tool("status", {})).structured_content[  # type: ignore
                    "freshness"]["watching"]:
                assert time.monotonic() < deadline, "the watcher did not start"
                await anyio.sleep(0.2)
            result["watcher running after"].append(time.perf_counter() - t0)
            # the background outliner (agents/outliner.py): searches while it works say so
            # (`outlines`); the warm calls below are measured once it is done
            outlining = True
            while outlining:
                t = time.perf_counter()
                r = await c.call_tool("search", {"query": "benchmark context"})
                elapsed = time.perf_counter() - t
                outlining = "outlines" in r.structured_content  # type: ignore[operator]
                if outlining:
                    result["search while outlining in the background"].append(elapsed)
                    assert time.monotonic() < deadline + 900, "outlining did not finish"
                    await anyio.sleep(1.0)
            result["outlines complete after (server start)"].append(time.perf_counter() - t0)
        stale: Any = (await c.call_tool("stale", {})).structured_content
        folder = stale["folders"][0]["path"] if stale["folders"] else "/"
        for name, tool_args in (("show", {"path": folder}), ("stale", {}), ("status", {}),
                                ("search", {"query": "benchmark context"}),
                                ("search (no hit)", {"query": "zyxwvut qqqzzz"})):
            for _ in range(calls):
                t = time.perf_counter()
                r = await c.call_tool(name.split(" ")[0], tool_args)
                result[f"warm {name}" + tag].append(time.perf_counter() - t)
                assert not r.is_error, r.content
        edited = edit_files(repo, 5, seed=seed)
        t = time.perf_counter()
        r = await c.call_tool("stale", {"limit": 1000})
        result["stale right after a 5-file edit" + tag].append(time.perf_counter() - t)
        listed = {f["path"] for f in r.structured_content["folders"]}  # type: ignore[index]
        missing = [p for p in edited if "/" + p.rpartition("/")[0] not in listed]
        assert not missing, f"the call did not reflect the edit: {missing}"
        result["edit reflected in the next call" + tag].append(1.0)


# A server that does nothing but answer: what the SDK and the stdio transport cost by
# themselves (started as the float-hooks server is here: the same interpreter and environment).
TRIVIAL_SERVER = """
import anyio, mcp_types as types
from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server

async def list_tools(ctx, params):
    return types.ListToolsResult(tools=[types.Tool(name="ping", input_schema={"type": "object"})])

async def call_tool(ctx, params):
    return types.CallToolResult(content=[types.TextContent(type="text", text="pong")])

server = Server("trivial", on_list_tools=list_tools, on_call_tool=call_tool)

async def main():
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())

anyio.run(main)
"""


async def trivial(result: dict[str, list[float]], calls: int) -> None:
    from mcp import Client, StdioServerParameters

    params = StdioServerParameters(command=sys.executable, args=["-c", TRIVIAL_SERVER],
                                   env={**os.environ, **git_env()})
    t0 = time.perf_counter()
    async with Client(params, mode="legacy", read_timeout_seconds=120) as c:
        r = await c.call_tool("ping", {})
        result["trivial server: start to the first tool answer"].append(time.perf_counter() - t0)
        assert not r.is_error, r.content
        for _ in range(calls):
            t = time.perf_counter()
            await c.call_tool("ping", {})
            result["trivial server: warm call"].append(time.perf_counter() - t)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=90_000)
    ap.add_argument("--runs", type=int, default=5, help="server starts")
    ap.add_argument("--calls", type=int, default=20, help="warm calls of each tool per run")
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--work", type=Path, default=None)
    a = ap.parse_args(argv)
    as_installed()
    import anyio

    with tempfile.TemporaryDirectory(dir=a.work) as tmp:
        repo = prepare(a.files, Path(tmp), a.cache)
        folders = sqlite3.connect(repo / ".float" / "index.db").execute(
            "SELECT count(*) FROM folders").fetchone()[0]
        result: dict[str, list[float]] = defaultdict(list)
        for i in range(a.runs):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-c", "import mcp.server.lowlevel"], check=True)
            result["import mcp.server.lowlevel (SDK import alone)"].append(
                time.perf_counter() - t)
            result["float-hooks status (CLI)"].append(_run(repo, "status"))
            t = time.perf_counter()
            subprocess.run(["git", "status", "--porcelain"], cwd=repo, check=True,
                           stdout=subprocess.DEVNULL)
            result["git status"].append(time.perf_counter() - t)
            anyio.run(trivial, result, a.calls)
            for watch in (True, False):
                anyio.run(session, repo, result, a.calls, watch, 10 + 2 * i + int(watch))
        print(f"### {a.files} files in {folders} folders, {a.runs} server starts,"
              f" {a.calls} warm calls each\n")
        print("| | median (min-max) |\n|---|---:|")
        for name, values in result.items():
            if name.startswith("edit reflected"):
                print(f"| {name} | {len(values)}/{a.runs} |")
            else:
                print(f"| {name} | {_ms(values)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
