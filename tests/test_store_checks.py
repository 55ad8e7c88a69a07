"""A damaged full-text index is rebuilt from its tables when the map is opened, and a DB
that fails SQLite's quick check is never reported as fine (issue 28)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from float_hooks.store import fts
from float_hooks.store.db import translate
from tests.authored_support import db_rows, kill, run_float, wait_stopped
from tests.gitrepo import GitRepo
from tests.search_support import break_index


@pytest.mark.parametrize("index", ["folders_fts", "open_questions_fts", "log_entries_fts"])
def test_a_damaged_full_text_index_is_rebuilt_and_writes_go_on(synced: GitRepo,
                                                               index: str) -> None:
    synced.float_ok("set", "src/auth", "--summary", "tokens and logins", "--model", "m")
    synced.float_ok("question", "add", "Keep the legacy tokens?")
    synced.float_ok("log", "add", "--title", "Use sessions", "--decision", "cookies")
    break_index(synced, index, "unparsable")
    r = synced.float_proc("set", "src", "--summary", "the sources", "--model", "m")
    assert r.code == 0, r.err
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and "full-text index" in lines[0] and "rebuilt" in lines[0]
    synced.float_ok("question", "add", "Another question?")
    def found(words: str) -> set[tuple[str, str]]:
        return {(h["kind"], str(h["id"])) for h in synced.float_json("search", words)["results"]}

    assert ("folder", "/src/auth") in found("tokens")
    assert {k for k, _ in found("legacy")} == {"question"}
    assert {k for k, _ in found("sessions")} == {"decision"}
    assert synced.float_proc("search", "sources").err == ""  # once only


def _break_a_page(repo: GitRepo) -> None:
    """Scribble over the cell pointers of a page that every read still gets past (the
    search indexes' probes on open included) but SQLite's quick check does not (the first
    such page from the end)."""
    db = repo.path / ".float" / "index.db"
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    good = db.read_bytes()
    for page in range(len(good) // page_size, 1, -1):
        bad = bytearray(good)
        bad[(page - 1) * page_size + 8:(page - 1) * page_size + 48] = b"\xff" * 40
        db.write_bytes(bytes(bad))
        try:
            with closing(sqlite3.connect(db)) as conn:
                for table in ("meta", "folders", "files", "log_entries", "open_questions"):
                    conn.execute(f"SELECT * FROM {table}").fetchall()
                quick = conn.execute("PRAGMA quick_check").fetchone()[0]
                if not fts.damaged(conn) and quick != "ok":
                    return
        except sqlite3.DatabaseError:
            pass
    raise AssertionError("no page to break")


@pytest.mark.parametrize("command", ["status", "export"])
def test_a_db_failing_its_quick_check_is_never_reported_fine(synced: GitRepo,
                                                             command: str) -> None:
    synced.float_ok("set", "src/auth", "--summary", "kept", "--model", "m")
    _break_a_page(synced)
    r = synced.float_proc(command)
    assert r.code == 2, (r.out, r.err)
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and "integrity check" in lines[0] and "run the command again" \
        in lines[0], r.err
    assert synced.float_proc("status").code == 0  # rebuilt, with the journal's records
    assert synced.float_json("show", "src/auth")["map_summary"] == "kept"


def test_a_damaged_index_met_after_the_open_says_what_to_do(tmp_path: Path) -> None:
    """Damage met by a process that opened the map before it (the MCP server): SQLite's
    error, as seen above, becomes a line with the next step."""
    e = translate(sqlite3.DatabaseError("vtable constructor failed: folders_fts"),
                  tmp_path / "index.db")
    assert "run the command again" in str(e) and "rebuilds it" in str(e)


def test_a_damaged_index_is_rebuilt_before_a_killed_writers_journal_lines(
        synced: GitRepo) -> None:
    """A write killed between its journal line and its commit, then the folder index damaged:
    the next command rebuilds the index first, then applies the line (whose trigger writes to
    that index), and the write is kept and found."""
    synced.float_ok("set", "src/auth", "--summary", "tokens and logins", "--model", "m")
    proc = run_float(synced, "set", "docs", "--summary", "killed before its commit",
                     env={"FLOAT_FAILPOINT": "journal:appended"})
    assert wait_stopped(proc)
    kill(proc)
    assert db_rows(synced, "SELECT map_summary FROM folders WHERE path = '/docs'") == [(None,)]
    break_index(synced, "folders_fts", "unparsable")
    r = synced.float_proc("show", "docs", "--json")
    assert r.code == 0, r.err
    assert r.json()["map_summary"] == "killed before its commit"
    assert r.err.count("\n") == 1 and "rebuilt" in r.err, r.err
    found = {h["id"] for h in synced.float_json("search", "killed commit")["results"]}
    assert "/docs" in found
    assert {h["id"] for h in synced.float_json("search", "tokens")["results"]} >= {"/src/auth"}
