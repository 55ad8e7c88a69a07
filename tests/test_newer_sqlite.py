"""The map under a newer SQLite than the interpreter's: pysqlite3-binary bundles one (3.51
where the machine's Python has 3.40), and users' Pythons carry every version between. A
``sitecustomize`` put first on ``PYTHONPATH`` makes the CLI's ``sqlite3`` that one. What it
covers: FTS5's version-2 structure record, and SQLite's rolling back a transaction after an
out-of-memory error (3.4x) during the repair of a damaged index."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from float_hooks.store import fts
from tests.gitrepo import GitRepo
from tests.search_support import (
    BROKEN,
    QUESTIONS,
    ask,
    break_index,
    make_framework,
)

newer = pytest.importorskip("pysqlite3.dbapi2")  # on Linux x86_64 (CI) it is installed

SWAP = """import sys
import pysqlite3
import pysqlite3.dbapi2
sys.modules["sqlite3"] = pysqlite3
sys.modules["sqlite3.dbapi2"] = pysqlite3.dbapi2
"""


@pytest.fixture
def framework(repo: GitRepo) -> GitRepo:
    return make_framework(repo)


@pytest.fixture
def on_newer_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every CLI run from here on uses the bundled SQLite; its version."""
    swap = tmp_path / "newer-sqlite"
    swap.mkdir()
    (swap / "sitecustomize.py").write_text(SWAP)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(swap), os.environ["PYTHONPATH"]]))
    return str(newer.sqlite_version)


if newer.sqlite_version_info <= sqlite3.sqlite_version_info:
    pytest.skip(f"the interpreter's SQLite ({sqlite3.sqlite_version}) is as new as the bundled"
                f" one ({newer.sqlite_version})", allow_module_level=True)


@pytest.mark.parametrize("broken", BROKEN)
def test_a_damaged_index_is_rebuilt_under_a_newer_sqlite(framework: GitRepo, broken: str,
                                                         on_newer_sqlite: str) -> None:
    """A map made by the interpreter's SQLite, opened by a newer one (a user's Python
    upgraded): a broken structure record is rebuilt in one line, the answers stay."""
    r = framework.float_proc("status")
    assert r.code == 0 and r.err == "", r.err
    assert framework.float_proc("query", "SELECT sqlite_version()", "--json").json() == [
        {"sqlite_version()": on_newer_sqlite}]
    before = {q: ask(framework, q) for q in QUESTIONS}
    break_index(framework, "folder_files_fts", broken)
    r = framework.float_proc("status")
    assert r.code == 0, r.err
    assert r.err.count("\n") == 1 and "folder_files_fts" in r.err and "rebuilt" in r.err
    assert {q: ask(framework, q) for q in QUESTIONS} == before
    assert framework.float_proc("status").err == ""


def test_a_version_2_structure_record_is_read() -> None:
    """SQLite 3.43+ marks some tables' structure records as version 2 (4 more bytes after
    the cookie): an intact one is not taken for damage, a zeroed one is."""
    conn = newer.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(a, content='', contentless_delete=1)")
    conn.executemany("INSERT INTO t(rowid, a) VALUES (?, ?)",
                     [(i, f"word{i} float") for i in range(1, 40)])
    conn.commit()
    block = conn.execute("SELECT block FROM t_data WHERE id = 10").fetchone()[0]
    assert block[4:8] == b"\xff\x00\x00\x01"  # the mark this test is about
    assert not fts._lost_its_segments(conn, "t")  # type: ignore[arg-type]
    conn.execute("UPDATE t_data SET block = ? WHERE id = 10", (bytes(len(block)),))
    assert fts._lost_its_segments(conn, "t")  # type: ignore[arg-type]
