"""The MCP benchmark runs end to end on a tiny repository (proves the script works; it
measures nothing here, and nothing here asserts a timing)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_mcp_prints_its_table(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bench_mcp.py"), "--files", "300", "--runs", "1",
         "--calls", "2", "--cache", str(tmp_path / "cache"), "--work", str(tmp_path)],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    for row in ("initialize", "first status", "warm show", "warm stale",
                "stale right after a 5-file edit", "warm show (no watcher)"):
        assert f"| {row} |" in proc.stdout, proc.stdout
    assert "| edit reflected in the next call | 1/1 |" in proc.stdout
