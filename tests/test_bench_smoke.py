"""The sync benchmark runs end to end on a tiny repository (proves the script works; it
measures nothing here, and nothing here asserts a timing)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.gitrepo import PROJECT_ROOT


def test_bench_sync_prints_its_table(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "bench" / "bench_sync.py"), "--sizes", "300",
         "--runs", "1", "--cache", str(tmp_path / "cache"), "--work", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "### 300 files in 25 folders" in out
    for row in ("git ls-files -s", "git status", "git diff-tree -r HEAD~1 HEAD",
                "first full sync (init)", "no-op sync (work tree)",
                "sync --rev HEAD after 5-file commit", "sync after 5-file edit"):
        assert f"| {row} |" in out, out
    assert "verify: a full rescan must find nothing to change" in proc.stderr


def test_bench_sync_scale_prints_its_table(tmp_path: Path) -> None:
    # floatprompt's scan is not part of this repository: a stand-in with its interface (a
    # module exporting scan({rootPath, dbPath, include})) runs where node is installed, and
    # a missing one is skipped with a message
    stand_in = tmp_path / "scan.js"
    if shutil.which("node"):
        stand_in.write_text("export function scan(o) { return { filesCreated: 7 }; }\n")
    proc = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "bench" / "bench_sync.py"), "--scale", "--sizes",
         "300", "--runs", "1", "--cache", str(tmp_path / "cache"), "--work", str(tmp_path),
         "--floatprompt", str(stand_in)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| 300 (25) |")]
    assert len(rows) == 2, proc.stdout  # the size's table, then the summary
    cells = rows[-1].split("|")
    assert float(cells[4].split(",")[2]) > 0  # the sync's own peak RSS
    if stand_in.exists():
        assert "(7)" in cells[8], rows
    else:
        assert "floatprompt: skipped" in proc.stdout


def test_generated_repo_is_deterministic(tmp_path: Path) -> None:
    sys.path.insert(0, str(PROJECT_ROOT / "bench"))
    try:
        from generate import cached_repo, generate_repo
    finally:
        sys.path.remove(str(PROJECT_ROOT / "bench"))
    a = generate_repo(tmp_path / "a", 200, seed=3)
    b = cached_repo(200, seed=3, cache=tmp_path / "cache")
    heads = [subprocess.run(["git", "rev-parse", "HEAD"], cwd=r, capture_output=True,
                            text=True, check=True).stdout for r in (a, b)]
    assert heads[0] == heads[1]
    listed = subprocess.run(["git", "ls-files"], cwd=a, capture_output=True, text=True,
                            check=True).stdout.split("\n")
    assert len([p for p in listed if p]) == 200
    status = subprocess.run(["git", "status", "--porcelain"], cwd=b, capture_output=True,
                            text=True, check=True).stdout
    assert status == ""  # a real, clean work tree and index


def test_bench_anchors_prints_its_table(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "bench" / "bench_anchors.py"), "--files", "60",
         "--anchors", "5,50", "--runs", "1", "--work", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith(("| 5 |", "| 50 |"))]
    assert len(rows) == 2 and all(row.split("|")[3].strip() == "1" for row in rows), proc.stdout
