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

The post-commit shim syncs in the background (git returns once the pre-commit hook is done),
so the hooked commit is timed twice: until ``git commit`` returns, and until the background
sync has finished (the map is at the new commit). The same commit with the post-commit in the
foreground (``FLOAT_HOOKS_FOREGROUND=1``) is the third row; the shims alone run in the
foreground too.

With ``--before PATH`` (a checkout of older float-hooks code), the same commit with that
checkout's shims (installed into a hooks directory of their own, sharing the map) is timed in
the same alternation: a change to the hooks is compared with what it replaces in one run.

Targets (issue 3): hooked commit <= 1.6x the hooks-off commit at ~90k files, and the hooks'
own time at 90k within 2x of their time at 5k (work grows with the change, not the repo).
Issue 29: <= 1.25x at 300k and 1M files.

    python bench/bench_hooks.py                  # 5k and 90k files
    python bench/bench_hooks.py --sizes 5000 --runs 3
    python bench/bench_hooks.py --sizes 300000 --runs 7 --before /tmp/base
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

from generate import as_installed, edit_files, fresh_copy, git_env

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from float_hooks import background  # noqa: E402

EDITED = 5
FOREGROUND = {background.FOREGROUND_ENV: "1"}


def _run(repo: Path, *cmd: str, env: dict[str, str] | None = None) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(list(cmd), cwd=repo, env=env or _env(), capture_output=True)
    took = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {proc.stdout.decode()}{proc.stderr.decode()}")
    if b"float-hooks:" in proc.stderr:  # an internal error would make the numbers meaningless
        raise RuntimeError(f"{' '.join(cmd)}: {proc.stderr.decode()}")
    return took


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = git_env()
    env["PYTHONPATH"] = str(ROOT)  # only for the setup commands and the -m comparison
    return {**env, **(extra or {})}


def _git(repo: Path, *args: str, extra: dict[str, str] | None = None) -> float:
    return _run(repo, "git", *args, env=_env(extra))


def _settle(repo: Path, since: float) -> float:
    """Wait for the background post-commit; seconds from ``since`` until it was done."""
    while background.running(repo / ".float"):
        time.sleep(0.001)
    return time.perf_counter() - since


def _log_is_clean(repo: Path) -> None:
    log = repo / ".git" / background.LOG_NAME
    if log.exists() and "float-hooks:" in log.read_text():  # an internal error in background
        raise RuntimeError(log.read_text())


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
    t = _run(repo, str(repo / ".git" / "hooks" / "post-commit"), env=_env(FOREGROUND))
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


def before_hooks(repo: Path, before: Path) -> Path:
    """The pre-commit and post-commit shims of the checkout at ``before``, in a directory of
    their own (``core.hooksPath`` points a commit at it)."""
    hooks = repo.parent / "before-hooks"
    hooks.mkdir(exist_ok=True)
    env = {**_env(), "PYTHONPATH": str(before), "GIT_CONFIG_COUNT": "1",
           "GIT_CONFIG_KEY_0": "core.hooksPath", "GIT_CONFIG_VALUE_0": str(hooks)}
    _run(repo, sys.executable, "-m", "float_hooks", "install", "--hooks",
         "pre-commit,post-commit", env=env)
    return hooks


def measure(repo: Path, runs: int, before: Path | None = None) -> dict[str, float]:
    floor_dir = floor_hooks(repo.parent)
    before_dir = before_hooks(repo, before) if before else None
    times: dict[str, list[float]] = {k: [] for k in (
        "hooked", "synced", "foreground", "plain", "pre", "post", "pre_m", "floor",
        *(("before", "before_synced") if before else ()))}
    seed = 100
    hooks = repo / ".git" / "hooks"
    post_commit = str(hooks / "post-commit")

    def change() -> None:
        nonlocal seed
        seed += 1
        edit_files(repo, EDITED, seed=seed)
        _git(repo, "add", "-u")

    for _ in range(runs):
        change()
        t0 = time.perf_counter()
        times["hooked"].append(_git(repo, "commit", "-q", "-m", f"hooked {seed}"))
        times["synced"].append(_settle(repo, t0))

        if before_dir is not None:
            change()
            t0 = time.perf_counter()
            times["before"].append(_git(repo, "-c", f"core.hooksPath={before_dir}", "commit",
                                        "-q", "-m", f"before {seed}"))
            times["before_synced"].append(_settle(repo, t0))

        change()
        times["foreground"].append(_git(repo, "commit", "-q", "-m", f"foreground {seed}",
                                        extra=FOREGROUND))

        change()
        times["plain"].append(_git(repo, "-c", "core.hooksPath=/dev/null", "commit", "-q",
                                   "-m", f"plain {seed}"))
        # catches up one 5-file commit
        times["post"].append(_run(repo, post_commit, env=_env(FOREGROUND)))

        change()
        times["floor"].append(_git(repo, "-c", f"core.hooksPath={floor_dir}", "commit", "-q",
                                   "-m", f"floor {seed}"))
        _run(repo, post_commit, env=_env(FOREGROUND))  # keep the map in step, untimed

        change()
        # the second of the two runs finds the DB already at the index: alternate the order
        shim = lambda: times["pre"].append(_run(repo, str(hooks / "pre-commit")))  # noqa: E731
        ordinary = lambda: times["pre_m"].append(  # noqa: E731
            _run(repo, sys.executable, "-m", "float_hooks", "hook-impl", "pre-commit"))
        for step in ((shim, ordinary) if seed % 2 else (ordinary, shim)):
            step()
        _git(repo, "-c", "core.hooksPath=/dev/null", "commit", "-q", "-m", f"staged {seed}")
        _run(repo, post_commit, env=_env(FOREGROUND))
    _log_is_clean(repo)
    out = {}
    for name, xs in times.items():
        out[name] = statistics.median(xs)
        out[name + "_min"] = min(xs)  # the least disturbed run: robust on a busy machine
    return out


def row(r: dict[str, float], label: str, key: str, ratio: bool = True, tail: str = "") -> None:
    line = f"  {label:48s} {r[key] * 1000:5.0f} ms (min {r[key + '_min'] * 1000:3.0f})"
    if ratio:
        line += (f"   ratio {r[key] / r['plain']:.2f}x"
                 f" (of minima {r[key + '_min'] / r['plain_min']:.2f}x)")
    print(line + tail)


def main(argv: list[str] | None = None) -> int:
    as_installed()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=lambda s: [int(x) for x in s.split(",")],
                    default=[5_000, 90_000])
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--before", type=Path, default=None,
                    help="a checkout of older float-hooks code: its shims, in the same run")
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
            r = results[files] = measure(repo, args.runs, args.before)
            row(r, "git commit, hooks off", "plain", ratio=False)
            row(r, "git commit, float pre+post (post in background)", "hooked")
            row(r, "  ... until the background sync is done", "synced")
            if args.before:
                row(r, "git commit, --before's pre+post (post in background)", "before")
                row(r, "  ... until the background sync is done", "before_synced")
            row(r, "git commit, float pre+post (post in foreground)", "foreground")
            row(r, "git commit, stand-in floor hooks", "floor")
            row(r, "pre-commit shim alone", "pre", ratio=False,
                tail=f"   python -m float_hooks hook-impl: {r['pre_m'] * 1000:.0f} ms"
                     f" (min {r['pre_m_min'] * 1000:.0f})")
            row(r, "post-commit shim alone (foreground)", "post", ratio=False)
    if len(results) >= 2:
        small, big = min(results), max(results)
        for kind in ("", "_min"):
            own = {n: results[n]["pre" + kind] + results[n]["post" + kind] for n in (small, big)}
            print(f"hooks' own time (pre + post{kind and ', minima'}): {own[small] * 1000:.0f} ms"
                  f" at {small}, {own[big] * 1000:.0f} ms at {big}: {own[big] / own[small]:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
