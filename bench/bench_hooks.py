"""Hook benchmark: what the plain float hooks add to a real ``git commit``.

For each size (deterministic repos from ``generate.py``): a 5-file change committed with the
float pre-commit + post-commit shims (``float-hooks install``), and the same kind of change
committed with hooks off (``git -c core.hooksPath=/dev/null commit``), alternating, medians of
``--runs``. Also each shim on its own (pre-commit on a staged 5-file change, post-commit after
a hooks-off 5-file commit), and, for comparison, the same hook started the ordinary way
(``python -m float_hooks hook-impl``: site processing, no ``-I -S``). And a *floor*: the same
commit with two stand-in hooks that do only what any Python hook of this design must (start
``python -I -S``, import sqlite3 and subprocess, run the one git read each hook needs), to show
how much of the cost is ours.

Targets (issue 3): hooked commit <= 1.6x the hooks-off commit at ~90k files, and the hooks'
own time at 90k within 2x of their time at 5k (work grows with the change, not the repo).

    python bench/bench_hooks.py                  # 5k and 90k files
    python bench/bench_hooks.py --sizes 5000 --runs 3
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from generate import edit_files, fresh_copy, git_env

ROOT = Path(__file__).resolve().parent.parent
EDITED = 5


def _run(repo: Path, *cmd: str, env: dict[str, str] | None = None) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(list(cmd), cwd=repo, env=env or _env(), capture_output=True)
    took = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {proc.stdout.decode()}{proc.stderr.decode()}")
    if b"float-hooks:" in proc.stderr:  # an internal error would make the numbers meaningless
        raise RuntimeError(f"{' '.join(cmd)}: {proc.stderr.decode()}")
    return took


def _env() -> dict[str, str]:
    env = git_env()
    env["PYTHONPATH"] = str(ROOT)  # only for the setup commands and the -m comparison
    return env


def _git(repo: Path, *args: str) -> float:
    return _run(repo, "git", *args)


def _float(repo: Path, *args: str) -> float:
    return _run(repo, sys.executable, "-m", "float_hooks", *args)


def prepare(files: int, where: Path) -> Path:
    repo = fresh_copy(files, where / f"repo-{files}", link=True)
    t = _float(repo, "init")
    print(f"  setup: init (first full sync) {t:.1f} s", flush=True)
    _git(repo, "add", ".float")
    _git(repo, "-c", "core.hooksPath=/dev/null", "commit", "-q", "-m", "float init")
    _float(repo, "install", "--hooks", "pre-commit,post-commit")
    # the first post-commit queues every pending folder once (all of them are, in a fresh
    # map): a one-time cost, kept out of the timed runs
    t = _run(repo, str(repo / ".git" / "hooks" / "post-commit"))
    print(f"  setup: first post-commit (queues all {files // 12}-odd pending folders) {t:.2f} s")
    # warm the page cache and git's index stat data once, outside the timed runs
    _git(repo, "status", "--porcelain")
    return repo


FLOOR_HOOKS = {
    "pre-commit": ["diff-index", "--cached", "-z", "--no-renames", "HEAD"],
    "post-commit": ["diff-tree", "-r", "-z", "--no-renames", "HEAD~1", "HEAD"],
}


def floor_hooks(where: Path) -> Path:
    """A hooks directory whose hooks start Python the shims' way, import what every sync
    needs and run the git read each float hook runs, then do nothing else."""
    hooks = where / "floor-hooks"
    hooks.mkdir(exist_ok=True)
    for name, git_args in FLOOR_HOOKS.items():
        code = ("import sqlite3, subprocess; subprocess.run(['git', *"
                f"{git_args!r}], capture_output=True, check=True)")
        path = hooks / name
        path.write_text(f"#!/bin/sh\nexec {sys.executable} -I -S -c \"{code}\"\n")
        path.chmod(0o755)
    return hooks


def measure(repo: Path, runs: int) -> dict[str, float]:
    floor_dir = floor_hooks(repo.parent)
    floor: list[float] = []
    hooked: list[float] = []
    plain: list[float] = []
    pre: list[float] = []
    post: list[float] = []
    pre_m: list[float] = []
    seed = 100
    hooks = repo / ".git" / "hooks"
    for _ in range(runs):
        seed += 1
        edit_files(repo, EDITED, seed=seed)
        _git(repo, "add", "-u")
        hooked.append(_git(repo, "commit", "-q", "-m", f"hooked {seed}"))

        seed += 1
        edit_files(repo, EDITED, seed=seed)
        _git(repo, "add", "-u")
        plain.append(_git(repo, "-c", "core.hooksPath=/dev/null", "commit", "-q", "-m",
                          f"plain {seed}"))
        post.append(_run(repo, str(hooks / "post-commit")))  # catches up one 5-file commit

        seed += 1
        edit_files(repo, EDITED, seed=seed)
        _git(repo, "add", "-u")
        floor.append(_git(repo, "-c", f"core.hooksPath={floor_dir}", "commit", "-q", "-m",
                          f"floor {seed}"))
        _run(repo, str(hooks / "post-commit"))  # keep the map in step, untimed

        seed += 1
        edit_files(repo, EDITED, seed=seed)
        _git(repo, "add", "-u")
        # the second of the two runs finds the DB already at the index: alternate the order
        shim = lambda: pre.append(_run(repo, str(hooks / "pre-commit")))  # noqa: E731
        ordinary = lambda: pre_m.append(  # noqa: E731
            _run(repo, sys.executable, "-m", "float_hooks", "hook-impl", "pre-commit"))
        for step in ((shim, ordinary) if seed % 2 else (ordinary, shim)):
            step()
        _git(repo, "-c", "core.hooksPath=/dev/null", "commit", "-q", "-m", f"staged {seed}")
        _run(repo, str(hooks / "post-commit"))
    out = {}
    for name, xs in (("hooked", hooked), ("plain", plain), ("pre", pre), ("post", post),
                     ("pre_m", pre_m), ("floor", floor)):
        out[name] = statistics.median(xs)
        out[name + "_min"] = min(xs)  # the least disturbed run: robust on a busy machine
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")],
                    default=[5_000, 90_000])
    ap.add_argument("--runs", type=int, default=11)
    args = ap.parse_args(argv)
    git_version = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout
    print(f"python {platform.python_version()}, {os.cpu_count()} cpus, {git_version.strip()},"
          f" load {os.getloadavg()[0]:.1f}, {args.runs} runs, medians;"
          f" {EDITED}-file change per commit")
    results: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-hooks-") as tmp:
        for files in args.sizes:
            print(f"{files} files:", flush=True)
            repo = prepare(files, Path(tmp))
            r = results[files] = measure(repo, args.runs)
            ms = {k: v * 1000 for k, v in r.items()}
            print(f"  git commit, hooks off           {ms['plain']:7.0f} ms"
                  f" (min {ms['plain_min']:.0f})")
            print(f"  git commit, float pre+post      {ms['hooked']:7.0f} ms (min"
                  f" {ms['hooked_min']:.0f})   ratio {r['hooked'] / r['plain']:.2f}x"
                  f" (of minima {r['hooked_min'] / r['plain_min']:.2f}x)")
            print(f"  git commit, stand-in floor hooks {ms['floor']:6.0f} ms (min"
                  f" {ms['floor_min']:.0f})   ratio {r['floor'] / r['plain']:.2f}x"
                  f" (of minima {r['floor_min'] / r['plain_min']:.2f}x)")
            print(f"  pre-commit shim alone           {ms['pre']:7.0f} ms (min {ms['pre_min']:.0f})"
                  f"   python -m float_hooks hook-impl: {ms['pre_m']:.0f} ms"
                  f" (min {ms['pre_m_min']:.0f})")
            print(f"  post-commit shim alone          {ms['post']:7.0f} ms"
                  f" (min {ms['post_min']:.0f})")
    if len(results) >= 2:
        small, big = min(results), max(results)
        for kind in ("", "_min"):
            own = {n: results[n]["pre" + kind] + results[n]["post" + kind] for n in (small, big)}
            print(f"hooks' own time (pre + post{kind and ', minima'}): {own[small] * 1000:.0f} ms"
                  f" at {small}, {own[big] * 1000:.0f} ms at {big}: {own[big] / own[small]:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
