"""Search benchmark: what one `search` costs, as the MCP tool answers it (in process, warm:
the map synced, outlines cached; the stdio transport adds what bench_mcp.py measures).

On a hard-linked copy of a generated repository (`generate.py`), mapped by `init`, with
context on every folder (written straight into the DB, as `set` would), it times, in the same
run (median of --calls calls each):

* a search that matches nothing (the floor: the query's parse and one FTS lookup per source);
* a natural-language question whose words match many folders, file names and symbols;
* a bare word that is a file name;
* a search matching a 64,000-character summary written into one folder (before issue 24 this
  took 11 s: snippets were cut from the whole text), and its ratio to the floor;
* the first `init` of the repository, for what the new indexes cost a first sync.

    python bench/bench_search.py                  # 20k files
    python bench/bench_search.py --files 90000 --calls 20
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
from pathlib import Path

from generate import _WORDS, as_installed, build_cache_apart, fresh_copy, git_env

ROOT = Path(__file__).resolve().parent.parent
HUGE = 64_000


def _ms(values: list[float]) -> str:
    lo, med, hi = min(values), statistics.median(values), max(values)
    return f"{med * 1000:.1f} ms ({lo * 1000:.1f}-{hi * 1000:.1f})"


def prepare(files: int, work: Path, cache: Path | None) -> tuple[Path, float]:
    build_cache_apart(files, cache=cache)
    repo = fresh_copy(files, work / "repo", link=True, cache=cache)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "float_hooks", "init"], cwd=repo, check=True,
                   stdout=subprocess.DEVNULL, env={**os.environ, **git_env()})
    took = time.perf_counter() - t
    with sqlite3.connect(repo / ".float" / "index.db") as db:
        db.execute("UPDATE folders SET map_summary = 'benchmark context for ' || name,"
                   " context_what = 'Folder ' || name || ' holds generated modules',"
                   " context_hash = source_hash")
    return repo, took


def measure(repo: Path, calls: int) -> dict[str, list[float]]:
    sys.path.insert(0, str(ROOT))
    os.environ.update(git_env())
    from float_hooks.agents import tools
    from float_hooks.agents.fresh_answers import LocalMap
    from float_hooks.code import answers
    from float_hooks.project import Project

    m = LocalMap(Project.discover(repo), watch=False)
    m.sync()
    t = time.perf_counter()
    while answers.ensure_fresh(m.store().conn, m.project.git, budget=10**6, seconds=1e9):
        pass  # every code file outlined once (cached by blob id), as after a few searches
    print(f"  (outlining every code file once: {time.perf_counter() - t:.1f} s)")
    tools.call(m, "search", {"query": "warm up"})
    m.synced = 0
    m.needs_sync = lambda: False  # type: ignore[method-assign]  # warm: nothing to sync
    queries = {
        "no match": "zzqxv wwqpt",
        "question (many matches)": "where are the generated modules for benchmark context",
        "bare word (file names)": _WORDS[0],
    }
    out: dict[str, list[float]] = {k: [] for k in queries}
    sizes: dict[str, int] = {}
    for _ in range(calls):
        for name, q in queries.items():
            t = time.perf_counter()
            answer = tools.call(m, "search", {"query": q})
            out[name].append(time.perf_counter() - t)
            sizes[name] = len(answer["results"])
    folder = m.store().conn.execute(
        "SELECT path FROM folders WHERE parent_path = '/' LIMIT 1").fetchone()[0]
    text = ("zebra " + "lorem ipsum dolor sit amet " * 10 + "\n") * (HUGE // 280)
    with m.store().write() as conn:
        conn.execute("UPDATE folders SET map_summary = ? WHERE path = ?", (text, folder))
    out["64k summary matching"] = []
    out["no match (same map)"] = []
    for _ in range(calls):
        t = time.perf_counter()
        answer = tools.call(m, "search", {"query": "zebra lorem"})
        out["64k summary matching"].append(time.perf_counter() - t)
        t = time.perf_counter()
        tools.call(m, "search", {"query": "zzqxv wwqpt"})
        out["no match (same map)"].append(time.perf_counter() - t)
    hit = next(h for h in answer["results"] if h["id"] == folder)
    sizes["64k summary matching"] = len(str(hit))
    m.close()
    for k, v in sizes.items():
        print(f"  ({k}: {v} results)" if k != "64k summary matching"
              else f"  (the 64k folder's hit: {v} characters)")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=20_000)
    ap.add_argument("--calls", type=int, default=15)
    ap.add_argument("--cache", type=Path, default=None)
    args = ap.parse_args()
    as_installed()
    with tempfile.TemporaryDirectory(prefix="float-bench-search-") as tmp:
        repo, init = prepare(args.files, Path(tmp), args.cache)
        print(f"{args.files} files: init (first sync, FTS indexes included) {init:.2f} s")
        result = measure(repo, args.calls)
    for name, values in result.items():
        print(f"  {name:<32} {_ms(values)}")
    ratio = statistics.median(result["64k summary matching"]) / statistics.median(
        result["no match (same map)"])
    print(f"  64k matching / no match: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
