"""What keeping authored content safe costs (issue 12), on a generated repository.

1. A write with the journal vs the same write without it: ``set`` (a folder's context) and
   ``log add`` (a decision) as CLI processes (what a user or an agent runs; "without" runs the
   same CLI with ``Project.journal`` patched to None), and in process, timed over ``--writes``
   writes on a Store opened with the project's journal and on one opened without it.
2. The first build of a DB: the export holds a page for every folder (context written for
   each), committed; delete the DB and time ``sync`` as a CLI process (full sync + import of
   every page + journal replay, one transaction) against the same ``sync`` with the export and
   the journal moved away (a full sync and nothing to import). Medians of ``--runs``.
3. A teammate's first build (issue 29): two fresh ``git clone``s of that repository, one at
   the commit with the export, one at a commit that removes the export but keeps ``.float/``
   (its settings); ``sync`` in each (DB deleted before each run), alternating, medians of
   ``--runs``, the ratio and the load average over the run.

    python bench/bench_authored.py --files 90000
    python bench/bench_authored.py --quick     # 5k files
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from generate import as_installed, fresh_copy, git_env

ROOT = Path(__file__).resolve().parent.parent
CODE = ROOT  # the float_hooks the CLI processes run (--code: another checkout's)


def cli(repo: Path, *args: str) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "float_hooks", *args], cwd=repo, check=True,
                   capture_output=True, env={**git_env(), "PYTHONPATH": str(CODE)})
    return time.perf_counter() - t


def clones(repo: Path, runs: int) -> tuple[float, float, int, tuple[float, float]]:
    """A fresh clone's first build with the committed export and without it (issue 29)."""
    def git(where: Path, *args: str) -> None:
        subprocess.run(["git", *args], cwd=where, check=True, capture_output=True,
                       env=git_env())

    with_export, without = repo.parent / "clone-export", repo.parent / "clone-settings"
    for where in (with_export, without):
        git(repo.parent, "clone", "-q", str(repo), str(where))
    git(without, "rm", "-r", "-q", ".float/project")
    git(without, "commit", "-qm", "no export")
    assert (without / ".float" / "config.toml").is_file()
    pages = len(list((with_export / ".float" / "project").rglob("*.md")))
    load = os.getloadavg()[0]
    a, b = [], []
    for _ in range(runs):  # alternating, so drift hits both alike
        for where, times in ((with_export, a), (without, b)):
            drop_db(where)  # as cloned: no DB, no journal (the last run's build wrote one)
            shutil.rmtree(where / ".git" / "float", ignore_errors=True)
            times.append(cli(where, "sync"))
    return statistics.median(a), statistics.median(b), pages, (load, os.getloadavg()[0])


NO_JOURNAL = ("import sys; from float_hooks import project;"
              " project.Project.journal = property(lambda self: None);"
              " from float_hooks.main import main; sys.exit(main(sys.argv[1:]))")


def cli_writes(repo: Path, n: int, folders: list[str]) -> list[tuple[str, float, float]]:
    def run(journal: bool, *args: str) -> float:
        start = ["-m", "float_hooks"] if journal else ["-c", NO_JOURNAL]
        t = time.perf_counter()
        subprocess.run([sys.executable, *start, *args], cwd=repo, check=True,
                       capture_output=True, env={**git_env(), "PYTHONPATH": str(ROOT)})
        return time.perf_counter() - t

    rows = []
    for name, args in (("set", lambda i: ("set", folders[i % len(folders)], "--summary",
                                          f"cli {i}")),
                       ("log add", lambda i: ("log", "add", "--title", f"cli {i}"))):
        a, b = [], []
        for i in range(n):  # interleaved, so drift hits both alike
            a.append(run(True, *args(2 * i)))
            b.append(run(False, *args(2 * i + 1)))
        rows.append((f"CLI {name}", statistics.median(a), statistics.median(b)))
    return rows


def drop_db(repo: Path) -> None:
    for p in (repo / ".float").glob("index.db*"):
        p.unlink()


def writes(repo: Path, n: int, folders: list[str]) -> list[tuple[str, float, float]]:
    from float_hooks.map.build import open_built
    from float_hooks.project import Project
    from float_hooks.store import folder_context, paper_trail
    from float_hooks.store.db import Store

    project = Project.discover(repo)
    with_journal = open_built(project)
    without = Store.open(project.db_path)  # the same file, no journal attached

    def timed(store: Store, write: object, tag: str) -> float:
        t = time.perf_counter()
        for i in range(n):
            write(store, i, tag)  # type: ignore[operator]
        return (time.perf_counter() - t) / n

    def set_ctx(store: Store, i: int, tag: str) -> None:
        folder_context.set_context(store, folders[i % len(folders)],
                            {"map_summary": f"{tag} {i}", "context_what": "what it is"},
                            model="bench")

    def add_log(store: Store, i: int, tag: str) -> None:
        paper_trail.add_log(store, {"title": f"{tag} {i}", "rationale": "because",
                                "date": "2026-12-01"}, ["bench"], [])

    rows = []
    for name, fn in (("set (folder context)", set_ctx), ("log add (decision)", add_log)):
        a, b = [], []
        for r in range(3):  # interleaved, so drift hits both alike
            a.append(timed(with_journal, fn, f"j{r}"))
            b.append(timed(without, fn, f"n{r}"))
        rows.append((name, statistics.median(a), statistics.median(b)))
    with_journal.close()
    without.close()
    return rows


def builds(repo: Path, runs: int) -> tuple[float, float, float, int]:
    from float_hooks.map.build import open_built
    from float_hooks.project import Project
    from float_hooks.store import folder_context

    project = Project.discover(repo)
    store = open_built(project)
    folders = [r[0] for r in store.conn.execute("SELECT path FROM folders ORDER BY path")]
    with store.write():
        pass
    for path in folders:
        folder_context.set_context(store, path, {"map_summary": f"about {path}",
                                          "context_what": "what it is\nin two lines"},
                            model="bench")
    store.close()
    cli(repo, "export")
    subprocess.run(["git", "add", "-A", ".float"], cwd=repo, check=True, env=git_env())
    subprocess.run(["git", "commit", "-qm", "export"], cwd=repo, check=True, env=git_env())
    pages = len(list((repo / ".float" / "project").rglob("_folder.md")))
    journal = Path(project.git.git_dir) / "float" / "journal.jsonl"
    aside = repo.parent / "aside"
    aside.mkdir(exist_ok=True)
    imported, cloned, bare = [], [], []
    for _ in range(runs):
        drop_db(repo)  # the DB lost on this machine: its journal and the pages
        imported.append(cli(repo, "sync"))
        drop_db(repo)
        shutil.move(journal, aside / "journal.jsonl")  # a fresh clone: the pages alone
        cloned.append(cli(repo, "sync"))
        drop_db(repo)
        shutil.move(repo / ".float" / "project", aside / "project")
        bare.append(cli(repo, "sync"))
        shutil.move(aside / "project", repo / ".float" / "project")
        shutil.move(aside / "journal.jsonl", journal)
    return statistics.median(imported), statistics.median(cloned), statistics.median(bare), pages


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=90000)
    ap.add_argument("--writes", type=int, default=50)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--code", type=Path, default=ROOT,
                    help="the checkout whose float_hooks the CLI runs (a baseline's)")
    ap.add_argument("--clones-only", action="store_true", help="part 3 alone")
    args = ap.parse_args()
    global CODE
    CODE = args.code.resolve()
    if args.quick:
        args.files = 5000
    as_installed()
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory() as d:
        repo = fresh_copy(args.files, Path(d) / "repo", link=True)
        cli(repo, "init")
        from float_hooks.map.build import open_built
        from float_hooks.project import Project

        store = open_built(Project.discover(repo))
        folders = [r[0] for r in store.conn.execute("SELECT path FROM folders ORDER BY path")]
        store.close()
        print(f"{args.files} files, {len(folders)} folders; code: {CODE}")
        if not args.clones_only:
            for name, a, b in [*cli_writes(repo, max(5, args.writes // 5), folders),
                               *writes(repo, args.writes, folders)]:
                print(f"  {name:<28} with journal {a * 1000:6.2f} ms, without"
                      f" {b * 1000:6.2f} ms: {a / b:.2f}x")
        imported, cloned, bare, pages = builds(repo, 1 if args.clones_only else args.runs)
        if not args.clones_only:
            print(f"  first build with no export: {bare * 1000:.0f} ms")
            print(f"  first build of a fresh clone, importing {pages} pages:"
                  f" {cloned * 1000:.0f} ms: {cloned / bare:.2f}x")
            print(f"  first build after the DB was lost, importing {pages} pages and replaying"
                  f" the journal: {imported * 1000:.0f} ms: {imported / bare:.2f}x")
        a, b, n, (load0, load1) = clones(repo, args.runs)
        print(f"  git clone + first build, with the export ({n} pages): {a * 1000:.0f} ms;"
              f" without it (.float/ settings only): {b * 1000:.0f} ms: {a / b:.2f}x"
              f" (load average {load0:.2f} before, {load1:.2f} after)")


if __name__ == "__main__":
    main()
