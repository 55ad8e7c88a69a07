"""The journal says what happened (issue 28): a write whose COMMIT fails after its journal
append is voided, not applied later; a damaged journal is found by its checksums and
rewritten from a healthy DB; a DB that fails its checks is never reported as fine."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from float_hooks.errors import FloatError
from float_hooks.map.build import open_built
from float_hooks.project import Project
from float_hooks.store import folder_context
from float_hooks.store import journal as journal_module
from tests.authored_support import JOURNAL
from tests.gitrepo import GitRepo
from tests.map_support import drop_db
from tests.test_durability import authored, tiny_disk


def _fill(disk: Path) -> None:
    """Take every free byte of ``disk``."""
    for name, chunk in (("filler", b"\0" * 4096), ("filler2", b"\0")):
        with open(disk / name, "wb", buffering=0) as f:
            try:
                while True:
                    f.write(chunk)
            except OSError:
                pass


def summary(repo: GitRepo, path: str) -> str | None:
    rows = repo.float_json("query", f"SELECT map_summary FROM folders WHERE path = '{path}'")
    return rows[0]["map_summary"] if rows else None


def test_a_write_failing_at_commit_on_a_full_disk_is_not_applied_later(
        synced: GitRepo, tmp_path: Path) -> None:
    synced.float_ok("set", "src/auth", "--summary", "before", "--model", "m")
    synced.float_ok("log", "add", "--title", "kept", "--decision", "d")
    keep = tmp_path / "float-kept"
    shutil.copytree(synced.path / ".float", keep)
    size = sum(p.stat().st_size for p in keep.rglob("*") if p.is_file())
    with tiny_disk(synced.path / ".float", f"{size // 1024 + 512}k") as disk:
        for item in keep.iterdir():
            if item.is_dir():
                shutil.copytree(item, disk / item.name)
            else:
                shutil.copy(item, disk / item.name)
        # a reader holds the DB open: its -wal and -shm stay, and the write gets as far as
        # its COMMIT, which must grow the WAL
        reader = sqlite3.connect(disk / "index.db")
        reader.execute("SELECT count(*) FROM folders").fetchone()
        synced.float_ok("set", "src", "--summary", "fits", "--model", "m")
        journal_before = (synced.path / JOURNAL).read_bytes()
        _fill(disk)
        big = "x" * 60_000  # the WAL must grow for it: the COMMIT fails
        r = synced.float_proc("set", "src/auth", "--summary", big, "--model", "m")
        assert r.code == 2, (r.out, r.err)
        assert "Traceback" not in r.err and len(r.err.strip().splitlines()) == 1
        r = synced.float_proc("log", "add", "--title", "failed", "--decision", big)
        assert r.code == 2, (r.out, r.err)
        # the journal holds nothing of the failed writes
        assert (synced.path / JOURNAL).read_bytes() == journal_before
        reader.close()
        (disk / "filler").unlink()
        (disk / "filler2").unlink()
        assert summary(synced, "/src/auth") == "before"
        titles = {r["title"] for r in synced.float_json("query",
                                                         "SELECT title FROM log_entries")}
        assert titles == {"kept"}
        # a retry writes once
        synced.float_ok("log", "add", "--title", "retried", "--decision", "d")
        synced.float_ok("sync")
        titles = [r["title"] for r in synced.float_json("query",
                                                         "SELECT title FROM log_entries")]
        assert sorted(titles) == ["kept", "retried"]
        for item in list(disk.iterdir()):
            if item.is_dir():
                shutil.rmtree(item)
            else:
                item.unlink()
    drop_db(synced)
    assert summary(synced, "/src/auth") == "before"


def _damage_and_lose(synced: GitRepo, damage: str) -> None:
    ledger = authored(synced)
    ledger.write(synced, "decision", "Second", "more")
    ledger.write(synced, "question", "Another one?")
    journal = synced.path / JOURNAL
    data = journal.read_bytes()
    if damage == "tail":
        journal.write_bytes(data[:-25])
    else:
        middle = len(data) // 2
        journal.write_bytes(data[:middle] + os.urandom(64) + data[middle + 64:])
    r = synced.float_proc("status")
    assert r.code == 0, r.err
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and "journal" in lines[0] and "rewritten" in lines[0], r.err
    r = synced.float_proc("status")
    assert r.err == ""  # repaired once
    drop_db(synced)
    assert synced.float_proc("sync").code == 0
    assert ledger.missing(synced) == []


def test_a_journal_with_a_truncated_tail_is_repaired_before_the_db_is_lost(
        synced: GitRepo) -> None:
    _damage_and_lose(synced, "tail")


def test_a_journal_with_garbage_in_the_middle_is_repaired_before_the_db_is_lost(
        synced: GitRepo) -> None:
    _damage_and_lose(synced, "garbage")


def test_journal_lines_carry_a_checksum(synced: GitRepo) -> None:
    synced.float_ok("set", "src", "--summary", "s", "--model", "m")
    last = (synced.path / JOURNAL).read_bytes().splitlines()[-1]
    assert last.startswith(b'{"sum":"') and json.loads(last)["kind"] == "folder"


@pytest.mark.parametrize("compacts", [False, True])
def test_a_failed_commit_takes_its_journal_lines_back(synced: GitRepo, compacts: bool,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The COMMIT fails (a deferred constraint, as a full disk would): the journal is as it
    was, whether the write appended to it or set off its compaction."""
    synced.float_ok("set", "src", "--summary", "before", "--model", "m")
    proj = Project.discover(synced.path)
    store = open_built(proj)
    try:
        store.conn.executescript(
            "CREATE TEMP TABLE parent(id INTEGER PRIMARY KEY);"
            " CREATE TEMP TABLE child(id REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);")
        if compacts:  # every append sets off a rewrite
            monkeypatch.setattr(journal_module, "GROWTH_SLACK", 0)
            with store.write():
                store.set_meta(journal_module.SIZE_KEY, "0")
        path = synced.path / JOURNAL
        before = (path.read_bytes(), path.stat().st_ino)
        with pytest.raises(FloatError), store.write() as conn:
            folder_context.write_context(conn, store, "/src", {"map_summary": "never"})
            conn.execute("INSERT INTO child VALUES (999)")  # fails at COMMIT
        assert (path.read_bytes(), path.stat().st_ino) == before
        assert not list(path.parent.glob("*.prev"))
    finally:
        store.close()
    assert summary(synced, "/src") == "before"
    drop_db(synced)
    assert summary(synced, "/src") == "before"
