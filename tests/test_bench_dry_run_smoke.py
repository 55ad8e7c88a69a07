"""The dry-run benchmark runs end to end on a tiny repository (proves the script works and
prints its ratio against `git status`; it asserts no timing)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_dry_run_prints_the_ratio_and_the_estimates_accuracy(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_dry_run.py"), "--sizes", "300", "--runs",
         "1", "--sample", "10", "--cache", str(tmp_path / "cache"), "--work", str(tmp_path)],
        capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    row = re.search(r"^\| 300 \| 25 \| \d+ \| \d+ \| ([\d.]+) \| \d+ / \d+ \|"
                    r" ([\d.]+), ([\d.]+), ([\d.]+) \|$", proc.stdout, re.M)
    assert row is not None, proc.stdout
    low, median, high = (float(row.group(i)) for i in (2, 3, 4))
    assert 0.75 <= low <= median <= high <= 1.25  # estimates within 25% of the real requests
