"""Regeneration benchmark: the builtin regenerator over a whole repository, what
``[trigger] on_commit`` adds to the post-commit hook, and reading file heads through
``git cat-file`` versus pygit2.

    python bench/bench_regen.py                 # 5k files
    python bench/bench_regen.py --files 20000 --runs 7
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from generate import as_installed, edit_files, fresh_copy, git_env

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _env() -> dict[str, str]:
    env = git_env()
    env["PYTHONPATH"] = str(ROOT)
    return env


def _run(repo: Path, *cmd: str) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(list(cmd), cwd=repo, env=_env(), capture_output=True)
    took = time.perf_counter() - t0
    if proc.returncode not in (0, 1) or b"float-hooks:" in proc.stderr:
        raise RuntimeError(f"{' '.join(cmd)}: {proc.stdout.decode()}{proc.stderr.decode()}")
    return took


def _float(repo: Path, *args: str) -> float:
    return _run(repo, sys.executable, "-m", "float_hooks", *args)


def _set_mode(repo: Path, mode: str) -> None:
    cfg = repo / ".float" / "config.toml"
    text = cfg.read_text()
    import re

    cfg.write_text(re.sub(r'(?m)^on_commit = .*$', f'on_commit = "{mode}"', text))


def _wait_idle(repo: Path) -> None:
    from float_hooks.project import Project
    from float_hooks.regen import worker

    project = Project.discover(repo)
    deadline = time.monotonic() + 600
    while worker.is_running(project) and time.monotonic() < deadline:
        time.sleep(0.05)


def hook_cost(repo: Path, runs: int) -> dict[str, float]:
    """Median time of the post-commit shim after a hooks-off 5-file commit, per mode."""
    out: dict[str, list[float]] = {"off": [], "queue": [], "background": []}
    seed = 100
    for _ in range(runs):
        for mode in out:
            _set_mode(repo, mode)
            edit_files(repo, 5, seed=seed)
            seed += 1
            _run(repo, "git", "-c", "core.hooksPath=/dev/null", "commit", "-qam", "edit")
            out[mode].append(_run(repo, str(repo / ".git" / "hooks" / "post-commit")))
            _wait_idle(repo)  # a background worker must not overlap the next measurement
            _float(repo, "regenerate")  # start each run from an empty queue
    return {m: statistics.median(v) for m, v in out.items()}


def _cat_file_folder(git: object, entries: list[tuple[str, str, str]]) -> None:
    """The alternative we measured against: one ``cat-file --batch-check`` and one
    ``cat-file --batch`` process per folder."""
    oids = "".join(o + "\n" for _, _, o in entries).encode()
    git.run("cat-file", "--batch-check", input=oids)  # type: ignore[attr-defined]
    git.run("cat-file", "--batch", input=oids)  # type: ignore[attr-defined]


def after_sync_cost(repo: Path, runs: int) -> dict[str, float]:
    """``after_sync.after_sync`` alone, in process, after syncing a 5-file commit, per mode."""
    from float_hooks.map.build import open_built
    from float_hooks.map.sync import sync
    from float_hooks.project import Project
    from float_hooks.repo.snapshot import Target
    from float_hooks.triggers import after_sync

    out: dict[str, list[float]] = {"off": [], "queue": [], "background": []}
    seed = 500
    for _ in range(runs):
        for mode in out:
            _set_mode(repo, mode)
            edit_files(repo, 5, seed=seed)
            seed += 1
            _run(repo, "git", "-c", "core.hooksPath=/dev/null", "commit", "-qam", "edit")
            project = Project.discover(repo)
            store = open_built(project)
            try:
                result = sync(project.git, store, Target("commit"), scope=project.scope())
                t0 = time.perf_counter()
                after_sync.after_sync(project, store, result, "post-commit")
                out[mode].append(time.perf_counter() - t0)
            finally:
                store.close()
            _wait_idle(repo)
            _float(repo, "regenerate")
    return {m: statistics.median(v) for m, v in out.items()}


def read_heads(repo: Path) -> dict[str, float]:
    """Every folder's file heads: our libgit2 reader versus cat-file processes per folder."""
    from float_hooks.regen.request import read_heads as libgit2_heads
    from float_hooks.repo.git import Git

    git = Git.discover(repo)
    rows = subprocess.run(["git", "ls-files", "-s"], cwd=repo, capture_output=True,
                          check=True).stdout.decode().splitlines()
    by_folder: dict[str, list[tuple[str, str, str]]] = {}
    for r in rows:
        meta, path = r.split("\t", 1)
        mode, oid, _ = meta.split()
        by_folder.setdefault(os.path.dirname(path), []).append(("/" + path, mode, oid))
    t0 = time.perf_counter()
    for entries in by_folder.values():
        _cat_file_folder(git, entries)
    cat = time.perf_counter() - t0
    t0 = time.perf_counter()
    for entries in by_folder.values():
        libgit2_heads(git, entries)
    lg = time.perf_counter() - t0
    return {"folders": len(by_folder), "cat_file_s": cat, "libgit2_s": lg}


def main() -> int:
    as_installed()
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = fresh_copy(args.files, Path(tmp) / "repo")
        _float(repo, "init")
        _float(repo, "install")
        folders = int(subprocess.run(
            [sys.executable, "-m", "float_hooks", "query", "SELECT count(*) AS n FROM folders",
             "--json"], cwd=repo, env=_env(), capture_output=True).stdout.split(b'"n": ')[1]
            .split(b"\n")[0])
        took = _float(repo, "regenerate")
        print(f"regenerate (builtin) {args.files} files, {folders} folders: {took:.2f}s"
              f" ({folders / took:.0f} folders/s)")
        print("read heads:", {k: round(v, 3) if isinstance(v, float) else v
                              for k, v in read_heads(repo).items()})
        inproc = after_sync_cost(repo, args.runs)
        print("after_sync alone, median of", args.runs, "runs:",
              {m: f"{v * 1000:.1f} ms" for m, v in inproc.items()})
        costs = hook_cost(repo, args.runs)
        print("post-commit shim, median of", args.runs, "runs:",
              {m: f"{v * 1000:.0f} ms" for m, v in costs.items()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
