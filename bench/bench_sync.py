"""Sync benchmark: float-hooks' sync core beside git's own commands on the same repository.

For each size (deterministic repos from ``generate.py``) it prints one table:

* git baselines: ``git ls-files -s``, ``git status``, ``git diff-tree -r HEAD~1 HEAD``;
* first full sync (``init`` on a fresh ``.float/``), no-op work-tree ``sync``, ``sync --rev
  HEAD`` after a 5-file commit (what the post-commit hook runs), ``sync`` after 5 edited files.

Columns: wall time of the real CLI process (``python -m float_hooks``, interpreter start
included), in-process time (from before ``import float_hooks`` to the end of ``main``, i.e.
the work beyond interpreter start, measured in a separate process of its own), CPU time of
the CLI process and the git processes it ran (user + system, from ``wait4``: less sensitive
than wall time to other load on the machine), peak RSS of the child (``ru_maxrss``), and the
CLI wall time as a multiple of ``git status``.
Medians of ``--runs`` runs. After the runs a full rescan (``sync --full``) must find nothing
to change: the incremental state equals a full rebuild.

    python bench/bench_sync.py                 # 5k, 50k, 90k files
    python bench/bench_sync.py --quick         # 5k only, a smoke run
    python bench/bench_sync.py --sizes 20000 --runs 5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from generate import (
    as_installed,
    build_cache_apart,
    commit,
    default_folders,
    edit_files,
    fresh_copy,
    git_env,
)

ROOT = Path(__file__).resolve().parent.parent
EDITED = 5

# Runs the CLI in-process and reports how long it took beyond interpreter start.
_INPROC = """\
import sys, time
t0 = time.perf_counter()
from float_hooks.main import main
rc = main(sys.argv[1:])
sys.stderr.write("INPROC %.6f\\n" % (time.perf_counter() - t0))
sys.exit(rc)
"""
# The CLI as `python -m float_hooks` runs it, reporting its own peak RSS at exit: what wait4
# reports for a child is the largest of it and every process it waited for (git status at
# 1,000,000 files: ~300 MB), so the sync's own memory is read from inside.
_CLI = """\
import resource, sys
from float_hooks.main import main
rc = main(sys.argv[1:])
sys.stderr.write("OWNRSS %d\\n" % resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
sys.exit(rc)
"""


@dataclass
class Run:
    wall: float  # seconds
    rss_mb: float
    cpu: float  # user + system seconds of the child and the git processes it waited for
    inproc: float | None = None
    own_mb: float | None = None  # the child's own peak RSS, without the processes it ran


@dataclass
class Row:
    label: str
    cli: list[Run] = field(default_factory=list)
    inproc: list[float] = field(default_factory=list)

    def wall(self) -> float:
        return statistics.median(r.wall for r in self.cli)

    def rss(self) -> float:
        return max(r.rss_mb for r in self.cli)

    def own(self) -> str:
        owns = [r.own_mb for r in self.cli if r.own_mb is not None]
        return f"{max(owns):.0f}" if owns else ""

    def cpu(self) -> float:
        return statistics.median(r.cpu for r in self.cli)


def child_env() -> dict[str, str]:
    env = git_env()
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.pop("PYTHONSTARTUP", None)
    return env


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[Run, bytes, bytes]:
    """Run a child, returning its wall time, peak RSS and output."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{argv} exited {proc.returncode}: {stderr.decode(errors='replace')}")
    inproc = own = None
    for line in stderr.decode(errors="replace").splitlines():
        if line.startswith("INPROC "):
            inproc = float(line.split()[1])
        elif line.startswith("OWNRSS "):
            own = int(line.split()[1]) / 1024
    cpu = usage.ru_utime + usage.ru_stime
    return Run(wall, usage.ru_maxrss / 1024, cpu, inproc, own), stdout, stderr


class Bench:
    def __init__(self, repo: Path):
        self.repo = repo
        self.env = child_env()

    def git(self, *args: str) -> Run:
        return timed(["git", *args], self.repo, self.env)[0]

    def cli(self, *args: str) -> tuple[Run, bytes]:
        run, out, _ = timed([sys.executable, "-c", _CLI, *args], self.repo, self.env)
        return run, out

    def inproc(self, *args: str) -> float:
        run = timed([sys.executable, "-c", _INPROC, *args], self.repo, self.env)[0]
        assert run.inproc is not None
        return run.inproc

    def fresh_float(self) -> None:
        shutil.rmtree(self.repo / ".float", ignore_errors=True)


def measure(repo: Path, runs: int, log: Callable[[str], None]) -> list[Row]:
    b = Bench(repo)
    b.git("status")  # warm the page cache and the index's stat data, untimed
    rows = {k: Row(k) for k in (
        "git ls-files -s", "git status", "git diff-tree -r HEAD~1 HEAD",
        "first full sync (init)", "no-op sync (work tree)",
        f"sync --rev HEAD after {EDITED}-file commit", f"sync after {EDITED}-file edit",
    )}
    r = list(rows.values())
    for i in range(runs):
        log(f"  run {i + 1}/{runs}: git")
        r[0].cli.append(b.git("ls-files", "-s", "-z"))
        r[1].cli.append(b.git("status"))
        log(f"  run {i + 1}/{runs}: first full sync")
        b.fresh_float()
        r[3].cli.append(b.cli("init")[0])
        b.fresh_float()
        r[3].inproc.append(b.inproc("init"))
        log(f"  run {i + 1}/{runs}: no-op sync")
        r[4].cli.append(b.cli("sync")[0])
        r[4].inproc.append(b.inproc("sync"))
        log(f"  run {i + 1}/{runs}: incremental syncs")
        for mode in ("cli", "inproc"):
            seed = 1000 * (i + 1) + (mode == "inproc")
            # the post-commit path: the DB is at the previous commit, HEAD moved by 5 files
            commit(repo, f"bench edit {seed}", edit_files(repo, EDITED, seed))
            if mode == "cli":
                run, out = b.cli("sync", "--rev", "HEAD", "--json")
                _expect(out, EDITED)
                r[5].cli.append(run)
                r[2].cli.append(b.git("diff-tree", "-r", "HEAD~1", "HEAD"))
            else:
                r[5].inproc.append(b.inproc("sync", "--rev", "HEAD"))
            # the work-tree path: 5 files edited, not committed
            edited = edit_files(repo, EDITED, seed + 500_000)
            if mode == "cli":
                run, out = b.cli("sync", "--json")
                _expect(out, EDITED)
                r[6].cli.append(run)
            else:
                r[6].inproc.append(b.inproc("sync"))
            commit(repo, f"bench commit {seed}", edited)
            b.cli("sync", "--rev", "HEAD")  # converge, untimed
    log("  verify: a full rescan must find nothing to change")
    _, out = b.cli("sync", "--full", "--json")
    res = json.loads(out)
    if res["files_changed"] or res["folders_changed"]:
        raise SystemExit(f"incremental state differs from a full rebuild: {res}")
    return r


def _expect(out: bytes, files: int) -> None:
    res = json.loads(out)
    if res["mode"] != "incremental" or res["files_changed"] != files:
        raise SystemExit(f"expected an incremental sync of {files} files, got {res}")


# floatprompt's scan (its dist/db/scan.js, a path given with --floatprompt) on the same
# repository: a fresh DB (its first scan) and the same DB again (its rescan). Its default
# ignores drop folders named build, dist, out, coverage and node_modules, which the generated
# repositories have: they are included here so that both tools see the same files.
_FLOATPROMPT = """\
import { pathToFileURL } from "url";
const { scan } = await import(pathToFileURL(process.env.FP_SCAN).href);
const r = scan({ rootPath: process.env.FP_ROOT, dbPath: process.env.FP_DB,
                 include: ["build", "dist", "out", "coverage", "node_modules"] });
console.log(JSON.stringify(r));
"""


def load() -> str:
    return Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() \
        else "?"


@dataclass
class Scale:
    size: int
    rows: dict[str, Row]
    loads: list[str]
    fp_files: int | None = None


def measure_scale(repo: Path, size: int, runs: int, floatprompt: Path | None, tmp: Path,
                  log: Callable[[str], None]) -> Scale:
    """First sync (a map lost or never built: ``sync`` with .float/ in place and no DB) and
    no-op sync beside ``git status`` and, given its scan.js, floatprompt's scan and rescan."""
    b = Bench(repo)
    b.cli("init")  # .float/ in place (untimed); each first sync below starts with no DB
    b.git("status")  # warm, untimed
    labels = ["git status", "first sync (no map)", "no-op sync (work tree)"]
    if floatprompt is not None:
        labels += ["floatprompt scan (new DB)", "floatprompt rescan (same DB)"]
    rows = {k: Row(k) for k in labels}
    out = Scale(size, rows, [])
    fp_db = tmp / f"floatprompt-{size}.db"
    node_env = {**b.env, "FP_SCAN": str(floatprompt), "FP_ROOT": str(repo), "FP_DB": str(fp_db)}
    for i in range(runs):
        out.loads.append(load())
        log(f"  run {i + 1}/{runs}: git status, first sync, no-op sync (load {out.loads[-1]})")
        rows["git status"].cli.append(b.git("status"))
        for side in repo.joinpath(".float").glob("index.db*"):
            side.unlink()
        rows["first sync (no map)"].cli.append(b.cli("sync")[0])
        rows["no-op sync (work tree)"].cli.append(b.cli("sync")[0])
        if floatprompt is not None:
            log(f"  run {i + 1}/{runs}: floatprompt scan and rescan")
            fp_db.unlink(missing_ok=True)
            argv = ["node", "--input-type=module", "-e", _FLOATPROMPT]
            run, stdout, _ = timed(argv, repo, node_env)
            rows["floatprompt scan (new DB)"].cli.append(run)
            out.fp_files = json.loads(stdout)["filesCreated"]
            rows["floatprompt rescan (same DB)"].cli.append(timed(argv, repo, node_env)[0])
    out.loads.append(load())
    return out


def scale_table(results: list[Scale], floatprompt: bool) -> str:
    head = ("| files (folders) | load | git status: s, MB | first sync: s, CPU s, own MB |"
            " x git status | no-op sync: s | x git status |")
    rule = "|---|---|---:|---:|---:|---:|---:|"
    if floatprompt:
        head += (" floatprompt scan: s, CPU s, MB (files) | ours x faster (CPU) |"
                 " floatprompt rescan: s, CPU s | x our no-op (CPU) |")
        rule += "---:|---:|---:|---:|"
    lines = [head, rule]
    for r in results:
        st, first, noop = (r.rows[k] for k in ("git status", "first sync (no map)",
                                               "no-op sync (work tree)"))
        line = (f"| {r.size:,} ({default_folders(r.size):,}) | {'-'.join(r.loads)} |"
                f" {st.wall():.2f}, {st.rss():.0f} | {first.wall():.2f}, {first.cpu():.2f},"
                f" {first.own()} | {first.wall() / st.wall():.2f} | {noop.wall():.2f} |"
                f" {noop.wall() / st.wall():.2f} |")
        if floatprompt:
            scan, rescan = r.rows["floatprompt scan (new DB)"], \
                r.rows["floatprompt rescan (same DB)"]
            # CPU: the child's and the git processes it waited for (wait4), less sensitive
            # than wall time to the machine's other load
            line += (f" {scan.wall():.2f}, {scan.cpu():.2f}, {scan.rss():.0f} ({r.fp_files:,})"
                     f" | {scan.wall() / first.wall():.1f} ({scan.cpu() / first.cpu():.1f}) |"
                     f" {rescan.wall():.2f}, {rescan.cpu():.2f} |"
                     f" {rescan.wall() / noop.wall():.1f} ({rescan.cpu() / noop.cpu():.1f}) |")
        lines.append(line)
    return "\n".join(lines)


def table(size: int, rows: list[Row], interp: float) -> str:
    status = rows[1].wall()
    lines = [
        f"### {size:,} files in {default_folders(size):,} folders",
        "",
        "| operation | CLI wall (ms) | in-process (ms) | CLI CPU (ms) | peak RSS (MB)"
        " | own peak RSS (MB) | x git status |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        inproc = f"{statistics.median(row.inproc) * 1000:.0f}" if row.inproc else ""
        lines.append(f"| {row.label} | {row.wall() * 1000:.0f} | {inproc} |"
                     f" {row.cpu() * 1000:.0f} | {row.rss():.0f} | {row.own()} |"
                     f" {row.wall() / status:.2f} |")
    lines.append("")
    lines.append(f"Interpreter start (`python -c pass`): {interp * 1000:.0f} ms.")
    return "\n".join(lines)


def machine() -> str:
    git = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout.strip()
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{os.cpu_count()} CPUs ({cpu or platform.machine()}), Python "
            f"{platform.python_version()}, {git}, SQLite "
            f"{__import__('sqlite3').sqlite_version}, {platform.system()} {platform.release()}")


def main(argv: list[str] | None = None) -> int:
    as_installed()
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="5000,50000,90000",
                    help="comma-separated file counts (default: 5000,50000,90000)")
    ap.add_argument("--runs", type=int, default=3, help="runs per measurement; medians shown")
    ap.add_argument("--quick", action="store_true", help="5k files only: a smoke run")
    ap.add_argument("--cache", type=Path, default=None,
                    help="where generated repos are cached (default: bench/.cache)")
    ap.add_argument("--work", type=Path, default=None,
                    help="scratch directory for the repo copies (default: a temp dir)")
    ap.add_argument("--scale", action="store_true",
                    help="first sync and no-op sync only, beside git status, one table over"
                         " the sizes (default sizes then: 13000,90000,300000,1000000)")
    ap.add_argument("--floatprompt", type=Path, default=None, metavar="SCAN_JS",
                    help="with --scale: floatprompt's dist/db/scan.js (a checkout's, with"
                         " better-sqlite3 installed beside it) to measure on the same repos")
    args = ap.parse_args(argv)
    if args.scale and args.sizes == "5000,50000,90000":
        args.sizes = "13000,90000,300000,1000000"
    sizes = [5000] if args.quick else [int(s) for s in args.sizes.split(",") if s.strip()]

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    interp = statistics.median(
        timed([sys.executable, "-c", "pass"], ROOT, child_env())[0].wall for _ in range(5)
    )
    print(f"Machine: {machine()}\n", flush=True)
    floatprompt = args.floatprompt
    if floatprompt is not None and not (floatprompt.is_file() and shutil.which("node")):
        print(f"floatprompt: skipped (no {floatprompt}, or no node on PATH)\n", flush=True)
        floatprompt = None
    with tempfile.TemporaryDirectory(prefix="float-bench-", dir=args.work) as tmp:
        if args.scale:
            results = []
            for size in sizes:
                log(f"{size} files: preparing the repository")
                build_cache_apart(size, cache=args.cache)
                repo = fresh_copy(size, Path(tmp) / f"repo-{size}", link=True, cache=args.cache)
                try:
                    results.append(measure_scale(repo, size, args.runs,
                                                 floatprompt and floatprompt.resolve(),
                                                 Path(tmp), log))
                finally:
                    shutil.rmtree(repo, ignore_errors=True)
                print(scale_table(results[-1:], floatprompt is not None) + "\n", flush=True)
            print(f"All sizes, medians of {args.runs} runs; load: the 1-minute load average"
                  " before each run and after the last:\n", flush=True)
            print(scale_table(results, floatprompt is not None) + "\n", flush=True)
            return 0
        for size in sizes:
            log(f"{size} files: preparing the repository")
            build_cache_apart(size, cache=args.cache)
            repo = fresh_copy(size, Path(tmp) / f"repo-{size}", link=True, cache=args.cache)
            try:
                rows = measure(repo, args.runs, log)
            finally:
                shutil.rmtree(repo, ignore_errors=True)
            print(table(size, rows, interp) + "\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
