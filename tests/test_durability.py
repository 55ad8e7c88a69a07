"""Authored content survives every flow (issue 12): a fresh clone's first hooked commit, an
empty, truncated or deleted DB, a full disk, `git clean -fdx`, an export over pages the DB
never saw. Each test writes through the real CLI, records what it wrote in a ledger, brings
the disaster, and finds every record again."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from float_hooks.store.db import Store
from tests.authored_support import (
    JOURNAL,
    Ledger,
    clone,
    db_rows,
    journal_lines,
    kill,
    run_float,
    wait_stopped,
)
from tests.gitrepo import GitRepo, init_repo
from tests.map_support import db_at_schema_5, drop_db


def authored(repo: GitRepo) -> Ledger:
    """A ledger with one record of each kind, written through the CLI."""
    ledger = Ledger()
    ledger.write(repo, "folder", "/src/auth", "Login and tokens")
    ledger.write(repo, "folder", "/docs", "The guide")
    ledger.write(repo, "decision", "Use JWT", "JWT for sessions")
    ledger.write(repo, "question", "Keep v1 tokens?")
    ledger.write(repo, "ref", "rfc7519")
    return ledger


def commit_export(repo: GitRepo, message: str = "export") -> None:
    repo.float_ok("export")
    repo.git("add", "-A")
    repo.commit(message)


def one_line_error(r: object) -> str:
    err = r.err  # type: ignore[attr-defined]
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return str(lines[0])


def test_fresh_clone_first_action_a_hooked_commit_imports_and_export_keeps_all(
        synced: GitRepo, tmp_path: Path) -> None:
    ledger = authored(synced)
    commit_export(synced)
    other = clone(synced, tmp_path / "other")
    other.float_ok("install")  # writes the shims; no map yet
    assert not (other.path / ".float" / "index.db").exists()
    other.write("src/app.py", "print('first commit here')\n")
    other.git("add", "-A")
    out = other.git("commit", "-m", "first", env={"FLOAT_HOOKS_FOREGROUND": "1"})
    assert "float: built the map" in out and "with context" in out
    assert ledger.missing(other) == []
    other.float_ok("sync")
    [log_page] = (other.path / ".float/project/_log").glob("*.md")  # the one decision's year
    before = log_page.read_text()
    pages = sorted(p.relative_to(other.path) for p in (other.path / ".float/project").rglob("*.md"))
    other.float_ok("export")
    assert ledger.missing(other) == []
    # the export is a merge of what the pages held and the map: nothing dropped
    assert other.git("diff", "--name-only", "--diff-filter=D", "--", ".float/project") == ""
    assert sorted(p.relative_to(other.path)
                  for p in (other.path / ".float/project").rglob("*.md")) == pages
    for page in (other.path / ".float/project").rglob("*.md"):
        assert page.read_text()  # every page still there, none emptied
    assert log_page.read_text() == before  # the decision log, untouched


def test_zero_byte_and_truncated_db_are_rebuilt_with_the_export(synced: GitRepo) -> None:
    ledger = authored(synced)
    commit_export(synced)
    db = synced.path / ".float" / "index.db"
    for damage in ("empty", "truncated"):
        synced.float_ok("sync")
        Store.open(db).conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = db.stat().st_size
        for side in ("-wal", "-shm"):
            Path(str(db) + side).unlink(missing_ok=True)
        with open(db, "r+b") as f:
            f.truncate(0 if damage == "empty" else size // 2)
        r = synced.float_proc("status", "--json")
        assert r.code == 0, r.err
        assert "building the map" in r.err
        assert ledger.missing(synced) == [], damage
        assert synced.float_json("export")["changed"] is False, damage


def test_git_clean_fdx_loses_nothing_written_since_the_export(synced: GitRepo) -> None:
    ledger = authored(synced)
    commit_export(synced)
    # written after the last export: lives in the DB (git-ignored) and the journal only
    ledger.write(synced, "folder", "/src", "Sources, written after the export")
    ledger.write(synced, "decision", "After the export")
    ledger.write(synced, "question", "Asked after the export?")
    synced.write("src/new_module.py", "X = 1\n")  # untracked work, gone with the clean
    synced.git("clean", "-q", "-f", "-d", "-x")
    assert not (synced.path / ".float" / "index.db").exists()
    r = synced.float_proc("status")
    assert r.code == 0, r.err
    assert ledger.missing(synced) == []


def test_git_clean_fdx_of_a_never_committed_float_dir(synced: GitRepo) -> None:
    """`.float/` was never committed: the clean takes it all; `init` brings the map back,
    with everything written, from the journal in the git directory."""
    ledger = authored(synced)
    synced.float_ok("export")
    synced.git("clean", "-q", "-f", "-d", "-x")
    assert not (synced.path / ".float").exists()
    synced.float_ok("init")
    assert ledger.missing(synced) == []


def test_deleted_db_after_a_set_and_a_kill_between_journal_and_commit(synced: GitRepo) -> None:
    ledger = authored(synced)
    r = synced.float_proc("set", "/src", "--summary", "just written")
    assert r.code == 0, r.err
    ledger.folders["/src"] = "just written"
    drop_db(synced)
    assert ledger.missing(synced) == []
    # killed after its journal line and before its commit: the DB rolled back, and the next
    # open merges the line no DB committed (the write is kept, never lost)
    proc = run_float(synced, "set", "/docs", "--summary", "killed before commit",
                     env={"FLOAT_FAILPOINT": "journal:appended"})
    assert wait_stopped(proc)
    kill(proc)
    assert db_rows(synced, "SELECT map_summary FROM folders WHERE path = '/docs'") == \
        [("The guide",)]  # not committed
    assert synced.float_json("show", "/docs")["map_summary"] == "killed before commit"
    drop_db(synced)  # and a rebuild has it too
    assert synced.float_json("show", "/docs")["map_summary"] == "killed before commit"
    ledger.folders["/docs"] = "killed before commit"
    assert ledger.missing(synced) == []


def test_export_merges_pages_the_db_never_saw(synced: GitRepo, tmp_path: Path) -> None:
    synced.float_ok("export")
    synced.git("add", "-A")
    synced.commit("float")
    mine = clone(synced, tmp_path / "mine")
    mine.float_ok("sync")  # built now, before the teammate's export arrives
    ledger = authored(synced)
    commit_export(synced, "teammate's export")
    mine.git("pull", "-q", "--ff-only")  # no hooks here: the map never imported it
    out = mine.float_json("export")
    assert out["merged_first"]["folders"]["updated"] + \
        out["merged_first"]["folders"]["added"] >= 2
    assert ledger.missing(mine) == []
    assert mine.git("status", "--porcelain", "--", ".float/project") == ""  # same pages


def test_export_refuses_a_page_it_cannot_read_and_writes_nothing(synced: GitRepo) -> None:
    authored(synced)
    commit_export(synced)
    page = synced.path / ".float/project/src/auth/_folder.md"
    text = page.read_text()
    broken = text.replace("map_summary:", "<<<<<<< HEAD\nmap_summary:", 1)
    page.write_text(broken)
    synced.float_ok("set", "/docs", "--summary", "changed, so export would write")
    docs_before = (synced.path / ".float/project/docs/_folder.md").read_bytes()
    r = synced.float_proc("export")
    assert r.code == 2
    line = one_line_error(r)
    assert "src/auth/_folder.md" in line and "nothing was written" in line
    assert page.read_text() == broken
    assert (synced.path / ".float/project/docs/_folder.md").read_bytes() == docs_before


def test_status_says_when_the_map_is_behind_head(synced: GitRepo) -> None:
    synced.write("src/app.py", "print(2)\n")
    synced.commit("second")
    synced.float_ok("sync")
    synced.git("reset", "-q", "--hard", "HEAD~1")
    status = synced.float_json("status")
    assert status["behind_head"] is True and status["git_head"] == synced.head()
    assert "the map is behind HEAD" in synced.float_ok("status").out
    synced.float_ok("sync")
    assert synced.float_json("status")["behind_head"] is False


def test_intent_to_add_is_not_part_of_the_index_snapshot(synced: GitRepo) -> None:
    synced.write("src/later.py", "X = 1\n")
    synced.git("add", "-N", "src/later.py")
    synced.write("docs/empty.md", "")
    synced.git("add", "docs/empty.md")  # a real empty file is
    synced.float_ok("sync", "--staged", "--full")
    files = {r["path"] for r in synced.float_json("query", "SELECT path FROM files")}
    assert "/src/later.py" not in files and "/docs/empty.md" in files
    synced.float_ok("sync", "--staged")
    files = {r["path"] for r in synced.float_json("query", "SELECT path FROM files")}
    assert "/src/later.py" not in files and "/docs/empty.md" in files


def test_errors_are_one_line_exit_2(synced: GitRepo, tmp_path: Path) -> None:
    r = synced.float_proc("show", "src/../src", "--json")
    assert r.code == 0, r.err  # as git takes it: /src
    r = synced.float_proc("show", "../..")
    assert r.code == 2 and "outside the repository" in one_line_error(r)
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(synced.path), str(bare)], check=True)
    r = subprocess.run([sys.executable, "-m", "float_hooks", "--repo", str(bare), "status"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "bare repository" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "float_hooks", "--repo", str(bare), "init"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr  # init keeps a bare repository's map in its git dir
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("x")
    r = synced.float_proc("export", "--out", str(blocked / "out"))
    assert r.code == 2 and "Traceback" not in r.err
    assert len(r.err.strip().splitlines()) == 1


@contextlib.contextmanager
def tiny_disk(where: Path, size: str) -> Iterator[Path]:
    """A small tmpfs at ``where`` (root only; the test is skipped, with the reason, otherwise)."""
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_export_on_a_full_disk_is_one_line_and_leaves_no_temp_file(synced: GitRepo,
                                                                  tmp_path: Path) -> None:
    authored(synced)
    for i in range(40):
        synced.write(f"many/f{i}/x.txt", f"{i}\n")
    synced.commit("many")
    synced.float_ok("sync")
    with tiny_disk(tmp_path / "full", "16k") as disk:
        r = synced.float_proc("export", "--out", str(disk / "out"))
        assert r.code == 2
        line = one_line_error(r)
        assert "No space left on device" in line
        assert not list(disk.rglob("*.tmp"))
    assert synced.float_json("export", "--out", str(tmp_path / "roomy"))["pages"] > 40


def test_first_build_on_a_full_disk_fails_then_builds_with_everything(
        synced: GitRepo, tmp_path: Path) -> None:
    ledger = authored(synced)
    commit_export(synced)
    drop_db(synced)
    keep = tmp_path / "float-kept"
    shutil.copytree(synced.path / ".float", keep)
    for i in range(300):
        synced.write(f"big/d{i % 30}/f{i}.txt", f"{i}\n" * 50)
    synced.commit("bigger")
    pages = sum(-(-p.stat().st_size // 4096) * 4096 for p in keep.rglob("*") if p.is_file())
    with tiny_disk(synced.path / ".float", f"{pages // 1024 + 24}k"):
        for item in keep.iterdir():  # the committed .float/, on a disk too small for a map
            if item.is_dir():
                shutil.copytree(item, synced.path / ".float" / item.name)
            else:
                shutil.copy(item, synced.path / ".float" / item.name)
        r = synced.float_proc("status")
        assert r.code == 2
        assert "full" in r.err and "Traceback" not in r.err
        r = synced.float_proc("export")
        assert r.code == 2  # never an export from a map that was not built
        assert synced.git("status", "--porcelain", "--", ".float/project") == ""
        contents = {p.name for p in (synced.path / ".float").iterdir()}
    assert "project" in contents
    r = synced.float_proc("status")
    assert r.code == 0, r.err
    assert ledger.missing(synced) == []


def test_read_only_float_dir_still_allows_reads(synced: GitRepo) -> None:
    authored(synced)
    synced.float_ok("sync")
    float_dir = synced.path / ".float"
    Store.open(float_dir / "index.db").conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    if os.geteuid() == 0:  # root writes anywhere: a read-only bind mount stops even root
        if subprocess.run(["mount", "--bind", str(float_dir), str(float_dir)]).returncode \
                or subprocess.run(["mount", "-o", "remount,ro,bind", str(float_dir)]).returncode:
            subprocess.run(["umount", "-l", str(float_dir)], check=False)
            pytest.skip("cannot make a read-only bind mount here")
        undo = ["umount", "-l", str(float_dir)]
    else:
        float_dir.chmod(0o555)
        undo = ["chmod", "755", str(float_dir)]
    try:
        r = synced.float_proc("show", "/src/auth", "--json")
        w = synced.float_proc("set", "/src/auth", "--summary", "cannot be written")
    finally:
        subprocess.run(undo, check=True)
    assert r.code == 0, r.err
    assert '"Login and tokens"' in r.out
    assert w.code == 2 and "Traceback" not in w.err


def test_migration_6_upgrades_a_shipped_db(synced: GitRepo) -> None:
    """A DB from the previous release: the folders_status index the first migration 5 left,
    paths in the old escape form, authored content and no journal. After the upgrade: the
    index gone, paths re-encoded, records versioned, the journal written whole (so that the
    DB can be lost from then on)."""
    db = synced.path / ".float" / "index.db"
    drop_db(synced)
    (synced.path / JOURNAL).unlink()
    db_at_schema_5(db)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("CREATE INDEX folders_status ON folders(status)")
    conn.execute("INSERT INTO folders(path, parent_path, name, source_hash, created_at,"
                 " updated_at, context_hash, map_summary, uid) VALUES ('/src', '/', 'src', 'h',"
                 " 't', 't', 'old', 'written before the upgrade', 'u1')")
    conn.execute("INSERT INTO files(path, folder_path, content_hash, mode) VALUES"
                 " ('/src/a\\b.txt', '/src', 'x', '100644'), ('/src/\\xff.bin', '/src', 'y',"
                 " '100644')")
    conn.execute("INSERT INTO log_entries(uid, date, title, created_at, updated_at) VALUES"
                 " ('d1', '2026-01-01', 'decided before the upgrade', 't', 't')")
    conn.execute("INSERT INTO meta VALUES ('base_commit', ?)", (synced.head(),))
    conn.close()
    status = synced.float_json("status")  # opens (migrates) and syncs nothing yet
    assert status["folders"] >= 1
    assert db_rows(synced, "SELECT name FROM sqlite_master WHERE name = 'folders_status'") == []
    assert sorted(db_rows(synced, "SELECT path FROM files WHERE folder_path = '/src'"
                          " AND path LIKE '%\\%' ESCAPE '!'")) == [("/src/\\xff.bin",),
                                                                   ("/src/a\\\\b.txt",)]
    assert db_rows(synced, "SELECT count(*) FROM folders WHERE version IS NULL"
                           " AND context_hash IS NOT NULL") == [(0,)]
    kinds = {(e["kind"], e["key"]) for e in journal_lines(synced)}
    assert ("folder", "/src") in kinds and ("decision", "d1") in kinds
    drop_db(synced)
    assert synced.float_json("show", "/src")["map_summary"] == "written before the upgrade"
    assert [d["title"] for d in synced.float_json("log", "list")] == \
        ["decided before the upgrade"]


def test_a_clone_with_a_committed_float_dir_builds_on_first_read(synced: GitRepo,
                                                                 tmp_path: Path) -> None:
    ledger = authored(synced)
    commit_export(synced)
    other = clone(synced, tmp_path / "other")
    r = other.float_proc("show", "/src/auth")
    assert r.code == 0, r.err
    assert "building the map" in r.err and "init" not in r.err
    assert ledger.missing(other) == []


def test_a_repository_without_float_dir_is_told_to_init(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "plain")
    repo.write("a.txt")
    repo.commit("a")
    r = repo.float_proc("status")
    assert r.code == 2 and "float-hooks init" in one_line_error(r)


def test_a_crlf_checkout_imports_the_export_and_export_keeps_it(synced: GitRepo,
                                                                 tmp_path: Path) -> None:
    ledger = authored(synced)
    commit_export(synced)
    # a Windows-style checkout: every page arrives with CRLF line endings
    crlf = clone(synced, tmp_path / "crlf", "-c", "core.autocrlf=true")
    page = crlf.path / ".float/project/src/auth/_folder.md"
    assert b"\r\n" in page.read_bytes()
    assert ledger.missing(crlf) == []  # built from the CRLF pages: every record is there
    crlf.float_ok("set", "/docs", "--summary", "written on the CRLF side")
    crlf.float_ok("export")
    assert "Login and tokens" in page.read_text()  # the page was not written over empty
    crlf.git("add", "-A")
    crlf.commit("export from windows")
    assert crlf.git("diff", "HEAD~1", "--stat", "--", ".float/project/src/auth").strip() == ""


def test_a_page_cut_short_is_refused_not_overwritten(synced: GitRepo) -> None:
    authored(synced)
    commit_export(synced)
    page = synced.path / ".float/project/src/auth/_folder.md"
    cut = page.read_text().split("\n---\n")[0] + "\n"  # its front matter never ends
    page.write_text(cut)
    synced.float_ok("set", "/docs", "--summary", "changed, so export would write")
    r = synced.float_proc("export")
    assert r.code == 2 and "does not end" in one_line_error(r)
    assert page.read_text() == cut


def test_a_db_being_checkpointed_is_not_called_truncated(synced: GitRepo) -> None:
    from float_hooks.store.db import damage

    data = (synced.path / ".float" / "index.db").read_bytes()
    # the header of a larger DB (page 1 is written first), the rest not copied yet
    header = bytearray(data[:100])
    header[28:32] = (int.from_bytes(header[28:32], "big") + 50).to_bytes(4, "big")
    scratch = synced.path / "scratch.db"
    scratch.write_bytes(bytes(header) + data[100:])
    assert damage(scratch) is not None  # no WAL beside it: cut short
    Path(f"{scratch}-wal").write_bytes(b"x" * 100)
    assert damage(scratch) is None  # a WAL beside it: SQLite finishes the job


def test_opening_the_db_again_keeps_this_process_locks(synced: GitRepo) -> None:
    """A second Store.open in a process that has the DB open must not drop the first
    connection's locks (POSIX drops them all when any descriptor of the file is closed):
    else another process closing its connection takes the file for its own and deletes the
    WAL under ours (a later read: SQLITE_IOERR_SHORT_READ)."""
    path = synced.path / ".float" / "index.db"
    first = Store.open(path)
    try:
        first.set_meta("probe", "1")  # the WAL is open and holds a frame
        wal = Path(f"{path}-wal")
        assert wal.exists()
        Store.open(path).close()  # e.g. the MCP server's sync, beside its own connection
        subprocess.run([sys.executable, "-c", "import sqlite3, sys; c = sqlite3.connect("
                        "sys.argv[1]); c.execute('SELECT count(*) FROM meta').fetchone();"
                        " c.close()", str(path)], check=True)
        assert wal.exists(), "another process deleted our WAL: our locks were dropped"
        assert first.get_meta("probe") == "1"
    finally:
        first.close()


def test_a_restored_backup_of_the_db_takes_the_newer_writes_from_the_journal(
        synced: GitRepo, tmp_path: Path) -> None:
    import gc

    ledger = authored(synced)
    gc.collect()
    db = synced.path / ".float" / "index.db"
    backup = tmp_path / "backup.db"
    with contextlib.closing(sqlite3.connect(db)) as a, \
            contextlib.closing(sqlite3.connect(backup)) as b:
        a.backup(b)
    ledger.write(synced, "folder", "/docs", "written after the backup")
    ledger.write(synced, "decision", "After the backup", "made later")
    drop_db(synced)
    shutil.copy(backup, db)  # the backup put back: the journal holds what came after it
    assert ledger.missing(synced) == []
    synced.float_ok("set", "/docs", "--summary", "and written again")  # builds on it
    assert synced.float_json("conflicts") == []
    ledger.folders["/docs"] = "and written again"
    drop_db(synced)
    assert ledger.missing(synced) == []



def test_a_clones_first_build_journals_what_it_imported(tmp_path: Path) -> None:
    """A teammate's first build takes the committed export into the DB and into the journal:
    after a reset to a commit before the export and a lost DB, the journal alone gives every
    record back. 24 folders: the bulk merge and the journal's batched read both run."""
    origin = init_repo(tmp_path / "origin")
    folders = [f"/pkg{i}" for i in range(24)]
    for f in folders:
        origin.write(f"{f[1:]}/m.py", f"# {f}\n")
    origin.commit("tree")
    origin.float_ok("init")
    ledger = Ledger()
    for f in folders:
        ledger.write(origin, "folder", f, f"context of {f}")
    ledger.write(origin, "decision", "A decision in the export")
    origin.float_ok("export")
    origin.git("add", "-A")
    origin.commit("float with its export")

    repo = clone(origin, tmp_path / "clone")
    r = repo.float_proc("sync")  # a process: its pages read by the forked child
    assert r.code == 0, r.err
    assert "24 with context" in r.err + r.out
    keys = {e["key"] for e in journal_lines(repo) if e.get("kind") == "folder"}
    assert set(folders) <= keys
    repo.git("reset", "-q", "--hard", "HEAD~1")  # the export gone from the work tree
    assert not (repo.path / ".float" / "project").exists()
    drop_db(repo)
    assert ledger.missing(repo) == []
