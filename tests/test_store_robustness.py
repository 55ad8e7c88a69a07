"""The store under stress: concurrent syncs, a sync killed with SIGKILL, corrupt and locked
databases, schema migrations."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from float_hooks.errors import CorruptDatabase, FloatError
from float_hooks.store.db import RESTORE_HINT, Store
from float_hooks.store.schema import LATEST, MIGRATIONS
from tests.authored_support import kill, run_float, wait_stopped
from tests.gitrepo import GitRepo


def many_files(repo: GitRepo, n: int) -> None:
    for i in range(n):
        repo.write(f"d{i % 40}/e{i % 7}/f{i}.txt", f"{i}\n")
    repo.commit("many")


def derived(repo: GitRepo) -> list[dict[str, str]]:
    return repo.float_json("query", "SELECT path, source_hash FROM folders ORDER BY path")


def test_concurrent_syncs_queue_instead_of_failing(synced: GitRepo) -> None:
    many_files(synced, 600)
    synced.write("src/auth/login.py", "changed\n")
    procs = [
        subprocess.Popen([sys.executable, "-m", "float_hooks", "sync", *extra],
                         cwd=synced.path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
        for extra in ([], [], ["--full"], ["--staged"], [], ["--rev", "HEAD"], [])
    ]
    for p in procs:
        _out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert "locked" not in err
    synced.float_ok("sync")
    state = derived(synced)
    synced.float_ok("sync", "--full")
    assert derived(synced) == state
    assert synced.float_json("status")["files"] == 605


# the failpoints a sync that builds a new DB passes, in order: inside the first migration,
# after the last one (still uncommitted), and inside the build's transaction (the export
# imported, then the whole map written)
NEW_DB_POINTS = ("migrate:1:schema", f"migrate:{LATEST}", "build:imported", "sync:applied")


@pytest.mark.parametrize("point", NEW_DB_POINTS)
def test_sigkill_mid_sync_leaves_a_usable_db_that_converges(synced: GitRepo,
                                                            point: str) -> None:
    many_files(synced, 3000)
    db = synced.path / ".float" / "index.db"
    db.unlink()
    for side in ("-wal", "-shm", "-journal"):  # a new DB is built with a rollback journal
        Path(str(db) + side).unlink(missing_ok=True)
    p = run_float(synced, "sync", env={"FLOAT_FAILPOINT": point})
    assert wait_stopped(p), f"the sync ended without reaching {point}"
    _out, err = kill(p)  # SIGKILL, the process stopped inside its transaction
    assert f"float-hooks: failpoint {point}\n" in err.decode(), err.decode()[-2000:]
    # the DB opens, passes its check, and holds none of the killed transaction
    store = Store.open(db)
    try:
        store.quick_check()
        assert store.conn.execute("SELECT count(*) FROM files").fetchone()[0] == 0
    finally:
        store.close()
    # and the next sync produces exactly the state of a full rebuild
    synced.float_ok("sync")
    state = derived(synced)
    synced.float_ok("sync", "--full")
    assert derived(synced) == state
    assert synced.float_json("status")["files"] == 3005


def test_corrupt_db_is_kept_aside_and_rebuilt_with_its_content(synced: GitRepo) -> None:
    synced.float_ok("set", "/src/auth", "--summary", "survives a damaged DB")
    synced.float_ok("log", "add", "--title", "survives too")
    db = synced.path / ".float" / "index.db"
    for args in (["status"], ["sync"], ["stale", "--json"]):
        for side in ("-wal", "-shm"):
            Path(str(db) + side).unlink(missing_ok=True)
        db.write_bytes(b"this is not a database at all" * 100)
        r = synced.float_proc(*args)
        assert r.code == 0, r.err
        assert "Traceback" not in r.err
        [damage] = [ln for ln in r.err.splitlines() if "corrupt" in ln]
        assert "not an SQLite database" in damage and "kept it as index.db.corrupt" in damage
        assert (synced.path / ".float" / "index.db.corrupt").read_bytes().startswith(b"this")
        assert synced.float_json("show", "/src/auth")["map_summary"] == "survives a damaged DB"
        assert [d["title"] for d in synced.float_json("log", "list")] == ["survives too"]


def test_db_failing_quick_check_is_reported(synced: GitRepo) -> None:
    synced.float_ok("set", "/src/auth", "--summary", "survives scribbles")
    db = synced.path / ".float" / "index.db"
    store = Store.open(db)
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    [sql] = store.conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table'"
                               " AND name = 'files'").fetchone()
    store.close()

    # rows that break a constraint (written through a schema without it): quick_check lists
    # them, and the first one is named
    loose, n = re.subn(r"content_hash TEXT NOT NULL", "content_hash TEXT", sql)
    assert n == 1, sql
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        conn.execute("PRAGMA writable_schema = ON")
        conn.execute("UPDATE sqlite_master SET sql = ? WHERE name = 'files'", (loose,))
    with closing(sqlite3.connect(db, isolation_level=None)) as conn:
        conn.execute("UPDATE files SET content_hash = NULL")
        conn.execute("PRAGMA writable_schema = ON")
        conn.execute("UPDATE sqlite_master SET sql = ? WHERE name = 'files'", (sql,))
    with closing(Store.open(db)) as store, pytest.raises(CorruptDatabase) as excinfo:
        store.quick_check()
    assert str(excinfo.value) == (f"{db}: database fails its integrity check (NULL value in"
                                  f" files.content_hash); {RESTORE_HINT}")


def test_scribbled_db_is_kept_aside_and_rebuilt_by_the_cli(synced: GitRepo) -> None:
    synced.float_ok("set", "/src/auth", "--summary", "survives scribbles")
    db = synced.path / ".float" / "index.db"
    store = Store.open(db)
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = store.conn.execute("PRAGMA page_size").fetchone()[0]
    pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
    store.close()
    data = bytearray(db.read_bytes())
    # scribble over the b-tree pages after the schema page
    for page in range(2, pages):
        start = page * page_size - page_size
        data[start + 8 : start + 64] = b"\xff" * 56
    db.write_bytes(bytes(data))
    with pytest.raises(CorruptDatabase) as excinfo:
        s = Store.open(db)  # the damage may show as soon as the schema is read
        try:
            s.quick_check()
        finally:
            s.close()
    assert "integrity check" in str(excinfo.value) or "malformed" in str(excinfo.value)
    # through the CLI: one line, the file kept aside, and the next command rebuilds
    r = synced.float_proc("show", "/src/auth", "--json")
    assert "Traceback" not in r.err
    # met on opening (rebuilt at once, exit 0) or in a query (exit 2): either way the file is
    # moved aside and said so in one line
    [line] = [ln for ln in r.err.splitlines() if "kept it as index.db.corrupt" in ln]
    assert line.startswith(f"float-hooks: {db}: "), line
    assert (db.parent / "index.db.corrupt").exists()
    if r.code != 0:  # the damage met in a query: that line is all it says, and the next
        assert r.code == 2 and r.err.strip().splitlines() == [line]  # command rebuilds
        r = synced.float_proc("show", "/src/auth", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["map_summary"] == "survives scribbles"


def test_locked_db_times_out_with_a_clear_error(synced: GitRepo) -> None:
    cfg = synced.path / ".float" / "config.toml"
    cfg.write_text(cfg.read_text().replace("lock_timeout = 30", "lock_timeout = 1"))
    holder = sqlite3.connect(synced.path / ".float" / "index.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        line = synced.float_error("sync")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert line == (f"float-hooks: {synced.path / '.float' / 'index.db'}: database is locked by"
                    " another float-hooks process; try again (or raise [sync] lock_timeout)")
    synced.float_ok("sync")  # and nothing was lost or half-written


def test_older_db_is_upgraded_by_numbered_migrations(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                 " applied_at TEXT NOT NULL)")
    number, name, sql = MIGRATIONS[0]
    conn.executescript(sql)
    conn.execute("INSERT INTO migrations VALUES (?, ?, 'then')", (number, name))
    conn.execute("INSERT INTO folders(path, name, source_hash, created_at, updated_at,"
                 " context_hash, context_what) VALUES ('/', '', 'h', 't', 't', 'h', 'kept')")
    conn.execute(f"PRAGMA user_version = {number}")
    conn.close()
    store = Store.open(path)
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == LATEST
    applied = [r[0] for r in store.conn.execute("SELECT id FROM migrations ORDER BY id")]
    assert applied == [m[0] for m in MIGRATIONS]
    row = store.conn.execute("SELECT context_what, status FROM folders").fetchone()
    assert tuple(row) == ("kept", "current")


def test_db_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    Store.open(path, create=True).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    conn.close()
    with pytest.raises(FloatError) as excinfo:
        Store.open(path)
    assert str(excinfo.value) == (f"{path}: written by a newer float-hooks"
                                  f" (schema {LATEST + 1}); upgrade it")


def test_wal_mode_and_busy_timeout(synced: GitRepo) -> None:
    store = Store.open(synced.path / ".float" / "index.db")
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
    assert os.path.exists(synced.path / ".float" / ".gitignore")
    ignored = synced.git("check-ignore", ".float/index.db", ".float/index.db-wal")
    assert ".float/index.db" in ignored


def test_migration_5_rekeys_files_and_indexes_only_folders_with_context(tmp_path: Path) -> None:
    path = tmp_path / "v4.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                 " applied_at TEXT NOT NULL)")
    for number, name, sql in MIGRATIONS[:4]:
        conn.executescript(sql)
        conn.execute("INSERT INTO migrations VALUES (?, ?, 'then')", (number, name))
    for p, what in (("/", None), ("/a", "token rotation"), ("/b", None)):
        conn.execute("INSERT INTO folders(path, name, source_hash, created_at, updated_at,"
                     " context_hash, context_what) VALUES (?, '', 'h', 't', 't', ?, ?)",
                     (p, what and "h", what))
    conn.execute("INSERT INTO files VALUES ('/a/x.py', '/a', 'abc', '100644', 't')")
    conn.execute("PRAGMA user_version = 4")
    conn.close()

    store = Store.open(path)
    c = store.conn
    assert [tuple(r) for r in c.execute("SELECT * FROM files")] == [
        ("/a/x.py", "/a", "abc", "100644", "t")]
    with pytest.raises(sqlite3.IntegrityError):  # (folder_path, path) is the key
        c.execute("INSERT INTO files VALUES ('/a/x.py', '/a', 'def', '100644', 't')")

    def indexed() -> int:
        return int(c.execute("SELECT count(*) FROM folders_fts_docsize").fetchone()[0])

    def found(word: str) -> list[str]:
        return [r[0] for r in c.execute(
            "SELECT f.path FROM folders_fts JOIN folders f ON f.rowid = folders_fts.rowid"
            " WHERE folders_fts MATCH ?", (word,))]

    assert indexed() == 1 and found("rotation") == ["/a"]
    with store.write():  # context written, rewritten, cleared, a folder deleted
        c.execute("UPDATE folders SET context_what = 'cache layer' WHERE path = '/b'")
        c.execute("UPDATE folders SET context_what = 'key rotation' WHERE path = '/a'")
        c.execute("UPDATE folders SET map_summary = 'root' WHERE path = '/'")
        c.execute("INSERT INTO folders(path, name, source_hash, created_at, updated_at)"
                  " VALUES ('/c', 'c', 'h', 't', 't')")
    assert indexed() == 3 and found("rotation") == ["/a"] and found("token") == []
    with store.write():
        c.execute("UPDATE folders SET context_what = NULL WHERE path = '/b'")
        c.execute("DELETE FROM folders WHERE path = '/a'")
        c.execute("DELETE FROM folders WHERE path = '/c'")
    assert indexed() == 1 and found("rotation") == [] and found("cache") == []
    assert found("root") == ["/"]
    c.execute("INSERT INTO folders_fts(folders_fts) VALUES ('integrity-check')")


def test_new_db_is_built_under_a_rollback_journal_then_wal(synced: GitRepo,
                                                            tmp_path: Path) -> None:
    from float_hooks.map.sync import sync
    from float_hooks.repo.git import Git
    from float_hooks.repo.snapshot import Target

    def mode(store: Store) -> str:
        return str(store.conn.execute("PRAGMA journal_mode").fetchone()[0])

    store = Store.open(tmp_path / "new.db", create=True)
    assert mode(store) == "delete"
    with store.write():  # e.g. a fresh clone's export import, before the first sync
        store.set_meta("imported", "yes")
    assert mode(store) == "delete"  # the big write is still to come
    sync(Git.discover(synced.path), store, Target("commit"))
    assert mode(store) == "wal"
    store.close()
    untouched = Store.open(tmp_path / "untouched.db", create=True)
    untouched.close()  # opened new, never synced: left in WAL like every DB
    assert mode(Store.open(tmp_path / "untouched.db")) == "wal"
