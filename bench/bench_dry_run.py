"""Regeneration dry run: ``regenerate --dry-run --json`` beside ``git status``, same repository,
same run, and how close its estimates come to the real requests.

For each size (deterministic repos from ``generate.py``, mapped with ``init``, every folder
pending: the dry run plans one job per folder) it alternates ``git status`` and the dry run
``--runs`` times and prints the medians of CLI wall time (interpreter start included) and CPU
time (the CLI and the git processes it waited for), and the median of the per-run ratios.
Then it builds the real request (``regen_io.build_request``, what the dry run did before it
estimated) for ``--sample`` folders spread over the plan and prints the estimate / real ratio
(min, median, max); ``--exact`` also times building every request, the previous dry run.

    python bench/bench_dry_run.py                        # 90k and 300k files, 5 runs
    python bench/bench_dry_run.py --sizes 5000 --runs 3
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_sync import ROOT, child_env, machine, timed
from generate import as_installed, build_cache_apart, default_folders, fresh_copy


def measure(repo: Path, runs: int) -> dict[str, list[float]]:
    env = child_env()
    timed(["git", "status"], repo, env)  # warm the page cache and the index, untimed
    out: dict[str, list[float]] = {"status": [], "status_cpu": [], "dry": [], "dry_cpu": [],
                                   "ratio": []}
    for _ in range(runs):
        status = timed(["git", "status"], repo, env)[0]
        dry, stdout, _ = timed([sys.executable, "-m", "float_hooks", "regenerate", "--dry-run",
                                "--json"], repo, env)
        if not json.loads(stdout):
            raise SystemExit("the dry run planned nothing")
        out["status"].append(status.wall)
        out["status_cpu"].append(status.cpu)
        out["dry"].append(dry.wall)
        out["dry_cpu"].append(dry.cpu)
        out["ratio"].append(dry.wall / status.wall)
    return out


def accuracy(repo: Path, sample: int, exact: bool) -> tuple[list[float], float | None]:
    """estimate / real request size for ``sample`` planned folders; with ``exact``, the time
    to build every planned folder's real request."""
    sys.path.insert(0, str(ROOT))
    from float_hooks.map.build import open_built
    from float_hooks.project import Project
    from float_hooks.regen import run
    from float_hooks.regen.request import build_request

    project = Project.discover(repo)
    store = open_built(project)
    try:
        planned = run.plan(project, store)
        budget = int(project.config["regenerate"]["input_budget"])
        step = max(1, len(planned) // sample)
        ratios = []
        for job in planned[::step][:sample]:
            real = build_request(project.git, store.conn, job["path"], job["source_hash"],
                                 budget).estimate_tokens()
            ratios.append(job["estimated_tokens"] / max(1, real))
        took = None
        if exact:
            t0 = time.perf_counter()
            for job in planned:
                build_request(project.git, store.conn, job["path"], job["source_hash"],
                              budget).estimate_tokens()
            took = time.perf_counter() - t0
    finally:
        store.close()
    return sorted(ratios), took


def main(argv: list[str] | None = None) -> int:
    as_installed()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="90000,300000", help="comma-separated file counts")
    ap.add_argument("--runs", type=int, default=5, help="alternating runs; medians shown")
    ap.add_argument("--sample", type=int, default=300,
                    help="folders whose real request is built to check the estimate")
    ap.add_argument("--exact", action="store_true",
                    help="also time building every real request (the previous dry run)")
    ap.add_argument("--cache", type=Path, default=None,
                    help="where generated repos are cached (default: bench/.cache)")
    ap.add_argument("--work", type=Path, default=None,
                    help="scratch directory for the repo copies (default: a temp dir)")
    args = ap.parse_args(argv)
    print(f"Machine: {machine()}\n", flush=True)
    print("| files | folders | git status (ms) | dry run (ms) | x git status | CPU: git status"
          " / dry run (ms) | estimate / real: min, median, max |")
    print("|---:|---:|---:|---:|---:|---:|---|", flush=True)
    with tempfile.TemporaryDirectory(prefix="float-bench-", dir=args.work) as tmp:
        for size in (int(s) for s in args.sizes.split(",") if s.strip()):
            print(f"{size} files: preparing the repository", file=sys.stderr, flush=True)
            build_cache_apart(size, cache=args.cache)
            repo = fresh_copy(size, Path(tmp) / f"repo-{size}", link=True, cache=args.cache)
            try:
                timed([sys.executable, "-m", "float_hooks", "init"], repo, child_env())
                m = measure(repo, args.runs)
                ratios, took = accuracy(repo, args.sample, args.exact)
            finally:
                shutil.rmtree(repo, ignore_errors=True)
            med = statistics.median
            print(f"| {size:,} | {default_folders(size):,} | {med(m['status']) * 1000:.0f} |"
                  f" {med(m['dry']) * 1000:.0f} | {med(m['ratio']):.2f} |"
                  f" {med(m['status_cpu']) * 1000:.0f} / {med(m['dry_cpu']) * 1000:.0f} |"
                  f" {ratios[0]:.2f}, {med(ratios):.2f}, {ratios[-1]:.2f} |", flush=True)
            if took is not None:
                print(f"  building every real request (the previous dry run): {took:.2f} s",
                      flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
