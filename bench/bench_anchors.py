"""Anchor benchmark: `check --anchors` over a 5-file commit in a repository of Python files,
with few and with many anchored decisions (each a pinned symbol anchor), against the floor
`git diff-tree` of the same commit. The check reads the records anchored at the changed paths
(migration 9's anchor_index), so its cost should follow the change, not the anchor count.
Anchors add nothing to the hooks (their states are derived on read): bench_hooks.py's figure
is unchanged by them.

    python bench/bench_anchors.py                          # 2,000 files; 100 and 10,000 anchors
    python bench/bench_anchors.py --files 200 --anchors 20,200 --runs 1
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FUNCTIONS = 20  # per file


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.invalid",
           "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.invalid"}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True,
                          capture_output=True, text=True).stdout


def _source(i: int, bump: int = 0) -> str:
    return "".join(f"def f{j}(x):\n    return x + {j + (bump if j == 3 else 0)}\n\n\n"
                   for j in range(FUNCTIONS)) + f"NAME = 'm{i}'\n"


def build(repo: Path, files: int, anchors: int) -> None:
    repo.mkdir(parents=True)
    _git(repo, "init", "-q")
    for i in range(files):
        (repo / f"pkg{i % 100}").mkdir(exist_ok=True)
        (repo / f"pkg{i % 100}" / f"m{i}.py").write_text(_source(i))
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "initial")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-m", "float_hooks", "init"], cwd=repo, env=env,
                   check=True, capture_output=True)
    from float_hooks.code.anchors import resolve
    from float_hooks.project import Project
    from float_hooks.store.record_format import new_uid

    proj = Project.discover(repo)
    store = proj.open_store()
    rng = random.Random(1)
    texts = [f"/pkg{i % 100}/m{i}.py::f{rng.randrange(FUNCTIONS)}"
             for i in (rng.randrange(files) for _ in range(anchors - 1))]
    texts.append("/pkg0/m0.py::f3")  # one the commit below changes
    pinned = {t: resolve(store.conn, proj.git, [t])[0] for t in set(texts)}
    with store.write() as conn:  # one transaction: the seeding is not what is measured
        conn.executemany(
            "INSERT INTO log_entries(uid, date, title, status, anchors, created_at,"
            " updated_at) VALUES (?, '2026-01-01', ?, 'locked', ?, '2026', '2026')",
            [(new_uid(), f"decision {k}", json.dumps([pinned[t]]))
             for k, t in enumerate(texts)])
    store.close()
    for i in range(5):  # a 5-file commit changing one function in each
        (repo / f"pkg{i % 100}" / f"m{i}.py").write_text(_source(i, bump=100))
    _git(repo, "commit", "-q", "-am", "five files")


def measure(repo: Path, runs: int) -> tuple[float, float, int, int]:
    from float_hooks.project import Project
    from float_hooks.reads import anchor_check

    proj = Project.discover(repo)
    store = proj.open_store()
    anchor_check.check(store.conn, proj.git, "HEAD~1..HEAD")  # outlines cached, modules warm
    check, floor = [], []
    result: dict[str, object] = {}
    for _ in range(runs):
        t = time.perf_counter()
        proj.git.diff_trees("HEAD~1", "HEAD")
        floor.append(time.perf_counter() - t)
        t = time.perf_counter()
        result = anchor_check.check(store.conn, proj.git, "HEAD~1..HEAD")
        check.append(time.perf_counter() - t)
    store.close()
    return (statistics.median(check), statistics.median(floor), int(result["records_read"]),
            len(result["records"]))  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--files", type=int, default=2000)
    p.add_argument("--anchors", default="100,10000", help="anchored decisions, comma-separated")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--work", type=Path, default=None, help="where the repositories go")
    args = p.parse_args(argv)
    print(f"### `check --anchors` after a 5-file commit, {args.files} Python files\n")
    print("| anchored decisions | records read | flagged | check (median) |"
          " git diff-tree (floor) |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(dir=args.work) as tmp:
        for n in (int(x) for x in args.anchors.split(",")):
            repo = Path(tmp) / f"repo-{n}"
            build(repo, args.files, n)
            check, floor, read, flagged = measure(repo, args.runs)
            print(f"| {n} | {read} | {flagged} | {check * 1000:.1f} ms |"
                  f" {floor * 1000:.1f} ms |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
