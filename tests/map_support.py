"""What a repository's map holds, read for assertions, ways to damage or block it, and DBs
as earlier releases left them."""

from __future__ import annotations

import gc
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from float_hooks.store import journal, schema
from float_hooks.store.db import Store
from tests.gitrepo import GitRepo


def db_files(repo: GitRepo) -> dict[str, str]:
    """Stored file path -> content hash, from the repository's DB."""
    rows = repo.float_json("query", "SELECT path, content_hash FROM files")
    return {r["path"]: r["content_hash"] for r in rows}


def tree_files(repo: GitRepo, rev: str = "HEAD") -> dict[str, str]:
    """Stored file path -> blob id of commit ``rev``'s files outside .float/, from git."""
    out = repo.git("ls-tree", "-r", "-z", "--full-tree", rev)
    files = {}
    for rec in out.split("\0"):
        if rec:
            meta, path = rec.split("\t", 1)
            if not path.startswith(".float/"):
                files["/" + path] = meta.split(" ")[2]
    return files


def assert_synced_to(repo: GitRepo, rev: str = "HEAD") -> None:
    """The DB holds exactly the commit's files and knows it is based on that commit."""
    assert db_files(repo) == tree_files(repo, rev)
    base = repo.float_json("query", "SELECT value FROM meta WHERE key = 'base_commit'")
    assert base[0]["value"] == repo.git("rev-parse", rev).strip()


def stale(repo: GitRepo) -> set[str]:
    return {p for p, s in repo.folders().items() if s == "stale"}


def make_current(repo: GitRepo, *folders: str) -> None:
    """Give ``folders`` (default: every folder) context for their present hash."""
    for f in folders or tuple(repo.folders()):
        repo.float_ok("set", f, "--what", f"what {f}")


def derived(store: Store) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """The derived facts a sync writes (files and folders with their hashes and the names
    search finds them by), in one order: what an incremental sync and a full rebuild of the
    same snapshot must agree on."""
    q = store.conn.execute
    return (
        [tuple(r) for r in q("SELECT path, folder_path, mode, content_hash FROM files"
                             " ORDER BY path")],
        [(*r[:4], " ".join(sorted((r[4] or "").split(" "))))
         for r in q("SELECT path, parent_path, name, source_hash, (SELECT names FROM"
                    " folder_files_fts x WHERE x.rowid = folders.rowid) FROM folders"
                    " ORDER BY path")],
    )


def drop_db(repo: GitRepo) -> None:
    """Delete the DB and its side files (a lost DB, a new work tree)."""
    # in-process commands may leave a connection for the garbage collector; closed later, it
    # would checkpoint into (and delete the WAL of) the new DB at the same path
    gc.collect()
    for p in (repo.path / ".float").glob("index.db*"):
        p.unlink()


def corrupt_db(repo: GitRepo) -> None:
    """Replace the DB (and its WAL) with bytes SQLite does not recognise."""
    for side in (".float/index.db-wal", ".float/index.db-shm"):
        (repo.path / side).unlink(missing_ok=True)
    (repo.path / ".float" / "index.db").write_bytes(b"this is not an sqlite database" * 100)


@contextmanager
def write_lock(repo: GitRepo) -> Iterator[sqlite3.Connection]:
    """Hold the DB's write lock (as another float-hooks process in a sync would)."""
    conn = sqlite3.connect(repo.path / ".float" / "index.db", isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def db_at_schema_5(path: Path) -> None:
    """A new DB file at schema 5 (the release before migration 6), with no rows."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                 " applied_at TEXT NOT NULL)")
    for number, name, sql in schema.MIGRATIONS[:5]:
        conn.executescript(sql)
        conn.execute("INSERT INTO migrations VALUES (?, ?, 'then')", (number, name))
    conn.execute("PRAGMA user_version = 5")
    conn.close()


# Tables whose rows a DB at schema 5 holds, copied from a built DB (columns both have).
_V5_TABLES = ("files", "folders", "log_entries", "open_questions", "references", "tags",
              "log_entry_tags", "archived_folders", "context_versions", "meta")
_V6_META = ("built", journal.ID_KEY, journal.SIZE_KEY, journal.COMMITTED_KEY, "export_tree")


def downgrade_to_schema_5(db: Path, dest: Path) -> None:
    """``dest``: the DB file of the previous release holding what ``db`` holds (its files,
    folders and authored records; none of migration 6's columns, tables or meta keys)."""
    db_at_schema_5(dest)
    with closing(sqlite3.connect(dest, isolation_level=None)) as conn:
        conn.execute("ATTACH DATABASE ? AS built", (str(db),))
        conn.execute("BEGIN")
        for table in _V5_TABLES:
            old = [r[1] for r in conn.execute(f'PRAGMA main.table_info("{table}")')]
            new = {r[1] for r in conn.execute(f'PRAGMA built.table_info("{table}")')}
            cols = ", ".join(f'"{c}"' for c in old if c in new)
            conn.execute(f'INSERT INTO main."{table}"({cols}) SELECT {cols}'
                         f' FROM built."{table}"')
        conn.execute(f"DELETE FROM meta WHERE key IN ({', '.join('?' * len(_V6_META))})",
                     _V6_META)
        conn.execute("COMMIT")
        conn.execute("DETACH DATABASE built")
        conn.execute("PRAGMA journal_mode = wal")  # as the previous release left its DBs
