"""A damaged full-text index is rebuilt from its tables when the map is opened, and a DB
that fails SQLite's quick check is never reported as fine (issue 28)."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest

from tests.gitrepo import GitRepo


def _scribble(repo: GitRepo, table: str, rowid: int = 10) -> None:
    """Overwrite one block of an FTS5 shadow table (10: its structure record)."""
    with closing(sqlite3.connect(repo.path / ".float" / "index.db")) as conn:
        conn.execute(f"UPDATE {table} SET block = randomblob(length(block)) WHERE id = ?",
                     (rowid,))
        conn.commit()


@pytest.mark.parametrize("table", ["folders_fts_data", "open_questions_fts_data",
                                   "log_entries_fts_data"])
def test_a_damaged_full_text_index_is_rebuilt_and_writes_go_on(synced: GitRepo,
                                                               table: str) -> None:
    synced.float_ok("set", "src/auth", "--summary", "tokens and logins", "--model", "m")
    synced.float_ok("question", "add", "Keep the legacy tokens?")
    synced.float_ok("log", "add", "--title", "Use sessions", "--decision", "cookies")
    _scribble(synced, table)
    r = synced.float_proc("set", "src", "--summary", "the sources", "--model", "m")
    assert r.code == 0, r.err
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and "full-text index" in lines[0] and "rebuilt" in lines[0]
    synced.float_ok("question", "add", "Another question?")
    def found(words: str) -> set[tuple[str, str]]:
        return {(h["kind"], str(h["id"])) for h in synced.float_json("search", words)}

    assert ("folder", "/src/auth") in found("tokens")
    assert {k for k, _ in found("legacy")} == {"question"}
    assert {k for k, _ in found("sessions")} == {"decision"}
    assert synced.float_proc("search", "sources").err == ""  # once only
