"""Export/import benchmark on a generated repository (``generate.py``).

Context is written for every other folder and 300 decisions are logged; then, each as a real
CLI process: first ``export`` (every page written), a second ``export`` (nothing changed:
every page rendered and compared, none written), the hooks' "did the export change?" check
(``importer.import_if_changed`` with nothing new, in process), and delete-DB + ``sync`` (rebuild:
full sync, then import of the committed export), after which ``export`` must write nothing.

    python bench/bench_export.py               # 5k files
    python bench/bench_export.py --files 20000
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from generate import fresh_copy, git_env

ROOT = Path(__file__).resolve().parent.parent


def cli(repo: Path, *args: str) -> tuple[float, str]:
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "float_hooks", *args], cwd=repo, check=True,
                         capture_output=True, text=True, env={**git_env(), "PYTHONPATH": str(ROOT)})
    return time.perf_counter() - t, out.stdout


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=5000)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from float_hooks.map.build import open_built
    from float_hooks.pages import importer
    from float_hooks.project import Project
    from float_hooks.store import folder_context, paper_trail

    with tempfile.TemporaryDirectory() as d:
        repo = fresh_copy(args.files, Path(d) / "repo")
        cli(repo, "init")
        project = Project.discover(repo)
        store = open_built(project)
        folders = [r[0] for r in store.conn.execute("SELECT path FROM folders ORDER BY path")]
        for path in folders[::2]:
            folder_context.set_context(store, path, {"map_summary": f"about {path}",
                                              "context_what": "what it is\nin two lines"},
                                model="bench")
        for n in range(300):
            paper_trail.add_log(store, {"title": f"decision {n}", "rationale": "because",
                                    "date": f"2026-{n % 12 + 1:02d}-01"}, ["bench"], [])
        store.close()
        rows = []
        t, out = cli(repo, "export", "--json")
        rows.append(("first export (all pages written)", t))
        t, out = cli(repo, "export", "--json")
        assert '"written": 0' in out, out
        rows.append(("export, nothing changed", t))
        subprocess.run(["git", "add", "-A"], cwd=repo, check=True, env=git_env())
        subprocess.run(["git", "commit", "-qm", "export"], cwd=repo, check=True, env=git_env())
        store = open_built(project)
        importer.import_if_changed(project, store)  # first time: imports its own export
        t0 = time.perf_counter()
        importer.import_if_changed(project, store)
        rows.append(("import check, export unchanged (in process)", time.perf_counter() - t0))
        store.close()
        for p in (repo / ".float").glob("index.db*"):
            p.unlink()
        t, _ = cli(repo, "sync")
        rows.append(("delete DB + sync (rebuild + import)", t))
        t, out = cli(repo, "export", "--json")
        assert '"written": 0' in out, out
        rows.append(("export after the rebuild (same bytes)", t))
        print(f"{args.files} files, {len(folders)} folders, {len(folders[::2])} with context,"
              " 300 decisions")
        for name, secs in rows:
            print(f"  {name:<45} {secs * 1000:8.0f} ms")


if __name__ == "__main__":
    main()
