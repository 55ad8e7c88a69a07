"""`query` is read-only for real: SQLite's authorizer refuses what a read-only connection alone
lets through (ATTACH creating files, VACUUM INTO, PRAGMA writes, extension loading), and a query
is bounded in time, rows and value size. Errors are one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.gitrepo import GitRepo


@pytest.mark.parametrize("sql", [
    "ATTACH DATABASE '{dir}/attached.db' AS x",
    "VACUUM INTO '{dir}/copy.db'",
])
def test_no_file_is_created(synced: GitRepo, tmp_path: Path, sql: str) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir()
    r = synced.float("query", sql.format(dir=target))
    assert r.code == 2
    assert r.err.count("\n") == 1 and "refused" in r.err and "ATTACH" in r.err
    assert list(target.iterdir()) == []  # a read-only connection alone leaves an empty file


@pytest.mark.parametrize("sql, what", [
    ("PRAGMA query_only = OFF", "PRAGMA query_only"),
    ("PRAGMA user_version = 99", "PRAGMA user_version with a value"),
    ("PRAGMA wal_checkpoint", "PRAGMA wal_checkpoint"),
    ("SELECT load_extension('/tmp/evil')", "load_extension"),
    ("CREATE TEMP TABLE t(a)", "not allowed"),
    ("DELETE FROM folders", "DELETE"),
])
def test_refused(synced: GitRepo, sql: str, what: str) -> None:
    r = synced.float("query", sql)
    assert r.code == 2, r
    assert what in r.err and r.err.startswith("float-hooks: query refused:")
    assert r.err.count("\n") == 1 and "Traceback" not in r.err
    assert synced.float_json("query", "PRAGMA user_version")[0]["user_version"] != 99


def test_reads_still_work(synced: GitRepo) -> None:
    assert synced.float_json("query", "SELECT count(*) AS n FROM folders") == [{"n": 5}]
    cols = synced.float_json("query", "SELECT name FROM pragma_table_info('folders')")
    assert {"path", "source_hash"} <= {c["name"] for c in cols}
    assert synced.float_json("query", "PRAGMA table_info(files)")
    synced.float_ok("set", "src", "--summary", "authentication and tokens")
    hits = synced.float_json("query", "SELECT folders.path FROM folders_fts JOIN folders"
                             " ON folders.rowid = folders_fts.rowid"
                             " WHERE folders_fts MATCH 'authentication'")
    assert hits == [{"path": "/src"}]  # FTS5 declares its schema as it connects: allowed
    assert synced.float_json("search", "authentication")["results"][0]["id"] == "/src"


def test_bounded_rows_time_and_size(synced: GitRepo) -> None:
    r = synced.float_ok("query", "SELECT path FROM files", "--max-rows", "2", "--json")
    assert len(r.json()) == 2 and "first 2 rows" in r.err
    forever = ("WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r)"
               " SELECT count(*) FROM r")
    r = synced.float("query", forever, "--timeout", "0.2")
    assert r.code == 2 and "stopped after 0.2 s" in r.err
    r = synced.float("query", "SELECT randomblob(100000000)")
    assert r.code == 2 and "MiB" in r.err
