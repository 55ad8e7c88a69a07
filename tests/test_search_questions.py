"""Issue 24: search answers questions. Natural-language questions on a small web framework
built here (its files say what they do, as real ones do) find a file, a symbol, a folder's
context and a decision; a bare word finds a file name; stop words are no words; every hit says
what it is, why it matched and how fresh it is; the cost does not grow with a stored text."""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from float_hooks.store import schema
from tests.gitrepo import GitRepo
from tests.search_support import (
    BROKEN,
    INDEXES,
    QUESTIONS,
    ask,
    break_index,
    make_framework,
)


@pytest.fixture
def framework(repo: GitRepo) -> GitRepo:
    return make_framework(repo)




def test_questions_find_a_file_a_symbol_a_folder_and_a_decision(framework: GitRepo) -> None:
    top = ask(framework, "where is request routing")[0]
    assert (top["kind"], top["id"]) == ("file", "/webfw/routing.py")
    assert {"request", "routing"} <= set(top["matched"]) and top["field"] == "file summary"

    hits = ask(framework, "how are blueprints registered?")
    symbol = next(h for h in hits if h["kind"] == "symbol")
    assert symbol["id"] == "/webfw/app.py::Application.register_blueprint"
    assert symbol["line"] == 7 and hits.index(symbol) < 3

    top = ask(framework, "how is per-user state kept")[0]
    assert (top["kind"], top["id"]) == ("folder", "/webfw/sessions")
    assert top["field"] == "context_what" and "«state»" in top["snippet"]

    top = ask(framework, "what decisions did we make about nav structure?")[0]
    assert (top["kind"], top["title"]) == ("decision", "Keep the nav structure flat")
    assert ask(framework, "regular expressions in routes")[0]["kind"] == "question"


def test_a_bare_word_finds_a_file_name(framework: GitRepo) -> None:
    hits = ask(framework, "provider")
    assert (hits[0]["kind"], hits[0]["id"]) == ("file", "/webfw/json/provider.py")
    assert hits[0]["field"] in ("file name", "file summary") and hits[0]["matched"] == [
        "provider"]
    # a camelCase symbol answers each of its words
    assert any(h["id"] == "/webfw/routing.py::RuleMap" for h in ask(framework, "rule map"))


def test_authored_context_comes_before_a_file_name(framework: GitRepo) -> None:
    hits = ask(framework, "cookie")
    kinds = [(h["kind"], h["id"]) for h in hits]
    assert kinds.index(("folder", "/webfw/sessions")) < kinds.index(
        ("file", "/webfw/sessions/cookie.py"))
    # an exact name is still that place first
    assert ask(framework, "cookie.py")[0]["id"] == "/webfw/sessions/cookie.py"


def test_stop_words_are_not_searched(framework: GitRepo) -> None:
    framework.float_ok("set", "docs", "--what", "Where is it? What is the what of the where?")
    assert ask(framework, "where is the routing")[:3] == ask(framework, "routing")[:3]
    assert all(h["id"] != "/docs" for h in ask(framework, "where is the routing"))
    assert "at least one word" in framework.float_error("search", "   ")
    assert ask(framework, 'AND OR "') == []  # user text is never FTS syntax


def test_hits_carry_freshness_and_what_changed(framework: GitRepo) -> None:
    hits = ask(framework, "signed cookie")
    assert hits[0]["status"] == "current" and "changed_files" not in hits[0]
    framework.write("webfw/sessions/cookie.py", "SECRET = 'rotated'\n")  # not committed
    hits = ask(framework, "signed cookie")
    folder = next(h for h in hits if h["kind"] == "folder")
    assert folder["status"] == "stale"
    assert folder["changed_files"] == ["/webfw/sessions/cookie.py"]
    file = next(h for h in ask(framework, "cookie.py") if h["kind"] == "file")
    assert file["status"] == "stale" and file["changed_since_context"] is True
    text = framework.float_ok("search", "signed cookie").out
    assert "[stale: 1 files changed since its context]" in text


def test_cost_does_not_grow_with_a_matching_text(framework: GitRepo) -> None:
    """A megabyte of matching context (more than a write may hold now: a map from before the
    per-field bound) gives a bounded snippet and answer; the search runs under the process
    timeout of float_json, never a timing assertion."""
    framework.float_ok("set", "docs", "--what", "routing words")
    huge = ("routing " + "word " * 12) * 16000  # ~1 MB, matching everywhere
    with closing(sqlite3.connect(framework.path / ".float" / "index.db")) as conn:
        conn.execute("UPDATE folders SET context_what = ? WHERE path = '/docs'", (huge,))
        conn.commit()
    answer = framework.float_json("search", "routing words")
    docs = next(h for h in answer["results"] if h["id"] == "/docs")
    assert len(docs["snippet"]) < 400 and len(str(answer)) < 20_000


def test_a_map_from_before_migration_8_is_searchable(framework: GitRepo, tmp_path: Path) -> None:
    """A DB at schema 7 (outlines cached, no search tables) gains them on open: file names,
    file summaries and the symbols outlined before are found."""
    framework.float_ok("where", "RuleMap")  # every code file outlined (cached by blob)
    built = framework.path / ".float" / "index.db"
    old = tmp_path / "old.db"
    with closing(sqlite3.connect(old, isolation_level=None)) as conn:
        conn.execute("CREATE TABLE migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                     " applied_at TEXT NOT NULL)")
        for number, name, sql in schema.MIGRATIONS[:7]:
            conn.executescript(sql)
            conn.execute("INSERT INTO migrations VALUES (?, ?, 'then')", (number, name))
        conn.execute("PRAGMA user_version = 7")
        conn.execute("ATTACH DATABASE ? AS built", (str(built),))
        conn.execute("BEGIN")
        for table in ("files", "folders", "log_entries", "open_questions", "meta",
                      "outline_blobs", "outline_symbols", "journal_pending"):
            cols = ", ".join(f'"{r[1]}"' for r in conn.execute(
                f'PRAGMA main.table_info("{table}")') if r[1] != "status")
            conn.execute(f'INSERT OR REPLACE INTO main."{table}"({cols}) SELECT {cols}'
                         f' FROM built."{table}"')
        conn.execute("DELETE FROM journal_pending")
        conn.execute("COMMIT")
        conn.execute("DETACH DATABASE built")
        assert conn.execute("SELECT count(*) FROM outline_symbols").fetchone()[0] > 0
    for suffix in ("", "-wal", "-shm"):
        Path(str(built) + suffix).unlink(missing_ok=True)
    shutil.copy(old, built)
    assert any(h["id"] == "/webfw/routing.py::RuleMap" for h in ask(framework, "rule map"))
    assert ask(framework, "provider")[0]["id"] == "/webfw/json/provider.py"
    assert ask(framework, "where is request routing")[0]["id"] == "/webfw/routing.py"


@pytest.mark.parametrize("broken", BROKEN)
@pytest.mark.parametrize("index", INDEXES)
def test_every_damaged_search_index_is_rebuilt_whole(framework: GitRepo, index: str,
                                                     broken: str) -> None:
    """Each full-text index, its structure record overwritten, is rebuilt when the map is
    opened, with every row it held (file summaries, file names and symbols included), and
    the writes after it keep it sound."""
    framework.float_ok("where", "RuleMap")  # every code file outlined
    before = {q: ask(framework, q) for q in QUESTIONS}
    break_index(framework, index, broken)
    r = framework.float_proc("status")
    assert r.code == 0, r.err
    assert r.err.count("\n") == 1 and index in r.err and "rebuilt" in r.err, r.err
    assert {q: ask(framework, q) for q in QUESTIONS} == before
    # writes to every index after the repair: a summary, a file, a symbol, records
    framework.float_ok("set", "webfw/json", "--summary", "Serializers for tagged values")
    framework.write("webfw/json/codec.py", "def encode_tagged(value):\n    return value\n")
    framework.commit("codec")
    framework.float_ok("regenerate")
    framework.float_ok("where", "encode_tagged")
    framework.float_ok("log", "add", "--title", "Codecs are pure", "--date", "2026-01-13")
    framework.float_ok("question", "add", "Should the codec stream?")
    found = {(h["kind"], h["id"]) for h in ask(framework, "codec encode tagged")}
    assert {("file", "/webfw/json/codec.py"), ("symbol", "/webfw/json/codec.py::encode_tagged"),
            ("folder", "/webfw/json")} <= found, found
    with closing(sqlite3.connect(framework.path / ".float" / "index.db")) as conn:
        for name in INDEXES:  # rank 1: an index against its table too, but folders_fts
            # holds only the folders with a text (migration 8): against folders it fails
            rank = 0 if name == "folders_fts" else 1
            conn.execute(f"INSERT INTO {name}({name}, rank) VALUES ('integrity-check', ?)",
                         (rank,))
