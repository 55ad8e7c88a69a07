"""Fault injection, continued: the write paths of authored content that test_faults.py does not
kill. `conflicts resolve`, the journal's compaction (its rewrite), the catch-up of lines a
killed writer journaled but never committed, `export` over folders that were removed, and the
migration-6 upgrade of a DB from the previous release.

Same harness (tests/faults_support.py): each operation runs as a real process, killed where it
stops itself at a named failpoint (the test then checks the state that point implies) or at a
seeded moment within its measured duration; after every trial no ledger record is lost, the DB
passes ``PRAGMA integrity_check``, the next command works and the map equals a full rebuild,
and every few trials the DB is deleted and every record comes back from the export and the
journal. ``FLOAT_FAULT_TRIALS`` sets the trials per operation (10 by default).
"""

from __future__ import annotations

import copy
import gc
import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from float_hooks.store import journal as journal_module
from float_hooks.store.schema import LATEST
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
from tests.export_support import pages
from tests.faults_support import (
    FOLDERS,
    Trials,
    cli,
    integrity,
    journaled,
    make_origin,
    raw_summary,
    trial_count,
    verify,
)
from tests.gitrepo import GitRepo
from tests.map_support import downgrade_to_schema_5, drop_db

TRIALS = trial_count(10)
BIG = "word " * 13_100  # 65,500 characters, near the most a text may hold (store/limits.py):
# a journal line that size grows it fast, in process


def shown(repo: GitRepo, folder: str) -> str | None:
    summary: str | None = repo.float_json("show", folder)["map_summary"]
    return summary


# -- 1. conflicts resolve ----------------------------------------------------------------------
def test_conflicts_resolve_killed(tmp_path: Path) -> None:
    """A conflict, settled by `resolve` killed at any moment: still listed with both
    versions, or settled with the chosen one; never both sides gone, never listed again
    once settled (rebuilds included)."""
    origin, ledger = make_origin(tmp_path)
    alice, bob = clone(origin, tmp_path / "alice"), clone(origin, tmp_path / "bob")
    bob_export = tmp_path / "bob-export"
    trials = Trials("resolve", ["conflicts:resolved", "journal:appended"], tmp_path, every=2)

    def diverge(i: int, folder: str) -> dict[str, Any]:
        bob.float_ok("set", folder, "--summary", f"bob {i}", "--model", "bob")
        bob.float_ok("export", "--out", str(bob_export))
        alice.float_ok("set", folder, "--summary", f"alice {i}", "--model", "alice")
        alice.float_ok("import", "--from", str(bob_export))
        [c] = alice.float_json("conflicts")
        assert {c["record"]["map_summary"], c["shown"]["map_summary"]} == \
            {f"alice {i}", f"bob {i}"}
        return c

    def resolve(c: dict[str, Any], keep: str) -> Any:
        return cli(alice, "conflicts", "resolve", str(c["id"]), "--keep", keep)

    c = diverge(-1, "/lib")
    trials.measure(resolve(c, c["side"]))
    ledger.folders["/lib"] = c["record"]["map_summary"]
    for i in range(TRIALS):
        folder = FOLDERS[i % len(FOLDERS)]
        c = diverge(i, folder)
        # keep the version set aside, or the one shown (alternating every two trials, so
        # that each failpoint sees both)
        keep = c["side"] if (i // 4) % 2 == 0 else \
            ("incoming" if c["side"] == "local" else "local")
        chosen = c["record"]["map_summary"] if keep == c["side"] else \
            c["shown"]["map_summary"]
        point = trials.run(i, resolve(c, keep))
        if point:  # stopped inside the transaction: the conflict is still committed
            assert db_rows(alice, "SELECT uid FROM conflicts") == [(c["uid"],)], f"trial {i}"
        listed = alice.float_json("conflicts")  # the next open (it catches up first)
        if listed:
            [left] = listed
            assert point != "journal:appended", f"trial {i}: journaled, not merged"
            assert left["uid"] == c["uid"], f"trial {i}"
            assert {left["record"]["map_summary"], shown(alice, folder)} == \
                {f"alice {i}", f"bob {i}"}, f"trial {i}: a side lost"
            alice.float_ok("conflicts", "resolve", str(left["id"]), "--keep", keep)
        else:
            assert point != "conflicts:resolved", f"trial {i}: settled, not committed"
        assert shown(alice, folder) == chosen, f"trial {i}"
        ledger.folders[folder] = chosen
        verify(alice, ledger, tmp_path, i, drop_every=3)
        assert alice.float_json("conflicts") == [], f"trial {i}: settled, then back"
    trials.check_landed()


# -- 2. journal compaction -----------------------------------------------------------------------
def journal_meta(repo: GitRepo, key: str) -> int:
    rows = db_rows(repo, "SELECT value FROM meta WHERE key = ?", key)
    return int(rows[0][0]) if rows else 0


def authored_content(repo: GitRepo) -> list[str]:
    """Every authored record of the DB (as the journal's snapshot writes them) and every
    earlier context kept for a hash of a folder in the tree: what a rebuild must give back.
    (A deleted folder's earlier contexts are not: a rebuild, compacted journal or not, keeps
    its last context, in the archive.)"""
    repo.float_ok("status")  # built, caught up
    with closing(sqlite3.connect(repo.path / ".float" / "index.db")) as conn:
        conn.row_factory = sqlite3.Row
        records = [json.dumps(e, sort_keys=True) for e in journal_module.snapshot(conn)]
        versions = [json.dumps([r[0], r[1], json.loads(r[2])], sort_keys=True)
                    for r in conn.execute("SELECT folder_path, source_hash, content"
                                          " FROM context_versions WHERE folder_path IN"
                                          " (SELECT path FROM folders)")]
    return sorted(records) + sorted(versions)


def test_journal_compaction_keeps_every_record(synced: GitRepo,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Writes past the compaction threshold (lowered in this process) rewrite the journal
    twice; every record survives, and with no export at all, the DB deleted, the compacted
    journal alone rebuilds the same authored content, earlier contexts included."""
    monkeypatch.setattr(journal_module, "GROWTH_SLACK", 16 << 10)
    repo, ledger = synced, Ledger()
    assert not (repo.path / ".float" / "project").exists()  # the journal is the only copy
    ledger.write(repo, "folder", "/src/auth", "auth, first hash")
    repo.write("src/auth/login.py", "def login(): return 2\n")
    repo.commit("change auth")
    repo.float_ok("sync")
    ledger.write(repo, "folder", "/src/auth", "auth, second hash")  # the first one kept
    ledger.write(repo, "folder", "/docs", "the guide, archived")
    repo.git("rm", "-r", "-q", "docs")
    repo.commit("remove docs")
    repo.float_ok("sync")  # /docs's context goes to the archive
    del ledger.folders["/docs"]
    ledger.write(repo, "question", "Keep v1 tokens?")
    ledger.write(repo, "ref", "rfc7519")
    rewrites: set[int] = set()
    n = 0
    while len(rewrites) < 3:  # the size after the first rewrite (the new journal), then two
        ledger.write(repo, "folder", "/src", f"src, written {n} times")
        if n % 4 == 0:
            ledger.write(repo, "decision", f"decision {n}", BIG[: 2000])
        rewrites.add(journal_meta(repo, journal_module.SIZE_KEY))
        n += 1
        assert n < 500, "the journal was never compacted"
    lines = journal_lines(repo)
    # compacted: of the many writes of /src, the last one is left, and one line per record
    assert n > 20 and sum(e["key"] == "/src" for e in lines) < n / 2
    keys = [(e["kind"], e["key"], (e.get("record") or {}).get("context_hash")) for e in lines]
    assert len(keys) - len(set(keys)) < n / 2
    before = authored_content(repo)
    assert any("auth, first hash" in r for r in before)  # the earlier context, by its hash
    assert any("the guide, archived" in r for r in before)
    drop_db(repo)
    assert authored_content(repo) == before
    assert ledger.missing(repo) == []
    # the earlier context is still found when its hash comes back
    repo.git("revert", "--no-edit", "HEAD~1")
    repo.float_ok("sync")
    assert shown(repo, "/src/auth") == "auth, first hash"


def grow_to_threshold(repo: GitRepo, ledger: Ledger, distinct: bool) -> None:
    """Write (in process) until the next 130 KB line passes the compaction threshold and no
    65 KB line did: ``distinct`` decisions, which compaction keeps, plus one folder written
    twice (a line it drops: the journal shrinks by less than the line that set it off), or
    one folder written again and again (it shrinks to a fraction)."""
    path = repo.path / JOURNAL
    ledger.write(repo, "folder", "/lib/util", "util, first")
    ledger.write(repo, "folder", "/lib/util", "util, second")
    n = 0
    while True:
        threshold = 2 * journal_meta(repo, journal_module.SIZE_KEY) + journal_module.GROWTH_SLACK
        if threshold - path.stat().st_size < 2 * (len(BIG) + 1000):
            return
        if distinct:
            ledger.write(repo, "decision", f"filler {n}", BIG)
        else:
            repo.float_ok("set", "/lib", "--what", f"{n} {BIG}")
        n += 1


def test_journal_compaction_killed(tmp_path: Path) -> None:
    """A write that sets off the compaction, killed before, inside and after the journal's
    rewrite (or at a random moment): the write is there from the next open on if its line
    was journaled, and nothing else is lost, live or rebuilt."""
    origin, base = make_origin(tmp_path)
    trials = Trials("compact", ["journal:rewrite:replaced", "journal:appended",
                                "journal:rewrite:written"], tmp_path, every=2)

    def write(repo: GitRepo, i: int) -> Any:
        return cli(repo, "set", "/docs", "--summary", f"compact {i}", "--what", BIG,
                   "--why", BIG)

    first = clone(origin, tmp_path / "measure")
    grow_to_threshold(first, copy.deepcopy(base), distinct=True)
    trials.measure(write(first, -1))
    assert journal_meta(first, journal_module.SIZE_KEY) > 1 << 20  # it did compact
    for i in range(TRIALS):
        repo, ledger = clone(origin, tmp_path / f"clone-{i}"), copy.deepcopy(base)
        grow_to_threshold(repo, ledger, distinct=(i // 2) % 2 == 0)
        rewritten = journal_meta(repo, journal_module.SIZE_KEY)
        before = ledger.folders["/docs"]
        point = trials.run(i, write(repo, i))
        if point:  # stopped before its COMMIT
            assert raw_summary(repo, "/docs") == before, f"trial {i}"
            assert journal_meta(repo, journal_module.SIZE_KEY) == rewritten, f"trial {i}"
        util = [e for e in journal_lines(repo) if e["key"] == "/lib/util"]
        if point == "journal:rewrite:written":
            # the clone's build journaled the export's line (imports are journaled), then
            # the two writes: all three still there, the rewrite not in place yet
            assert len(util) == 3 and (repo.path / f"{JOURNAL}.tmp").exists(), f"trial {i}"
        if point == "journal:rewrite:replaced":
            assert len(util) == 1, f"trial {i}: not compacted"
        have = ledger.state(repo)["folders"]["/docs"]
        if point or journaled(repo, "folder", "map_summary", f"compact {i}"):
            assert have == f"compact {i}", f"trial {i}: journaled, not merged: {have!r}"
        assert have in (before, f"compact {i}"), f"trial {i}: {have!r}"
        ledger.folders["/docs"] = have
        verify(repo, ledger, tmp_path, i, drop_every=2)
        shutil.rmtree(repo.path)
    trials.check_landed()


# -- 3. catch-up -------------------------------------------------------------------------------
def test_catch_up_of_a_killed_writer_killed(tmp_path: Path) -> None:
    """A `set` killed between its journal line and its COMMIT; then the next command (a read,
    or a write) that merges that line, killed too: from the open after that, the write is
    in the map."""
    origin, ledger = make_origin(tmp_path)
    repo = clone(origin, tmp_path / "repo")
    trials = Trials("catch-up", ["journal:caught-up"], tmp_path, every=2)
    trials.measure(cli(repo, "log", "add", "--title", "measured"))
    ledger.decisions.add("measured")

    def next_command(i: int, folder: str) -> Any:
        if (i // 2) % 2:
            return cli(repo, "show", folder, "--json")
        return cli(repo, "log", "add", "--title", f"catch-up decision {i}")

    for i in range(TRIALS):
        folder, new = FOLDERS[i % len(FOLDERS)], f"journaled {i}"
        proc = run_float(repo, "set", folder, "--summary", new,
                         env={"FLOAT_FAILPOINT": "journal:appended"})
        assert wait_stopped(proc)
        kill(proc)
        assert raw_summary(repo, folder) == ledger.folders[folder], f"trial {i}"
        assert journaled(repo, "folder", "map_summary", new), f"trial {i}"
        point = trials.run(i, next_command(i, folder))
        if point:  # merged, not committed
            assert raw_summary(repo, folder) == ledger.folders[folder], f"trial {i}"
        title = f"catch-up decision {i}"
        if journaled(repo, "decision", "title", title):
            ledger.decisions.add(title)
        else:
            ledger.maybe[title] = ("decision", "")
        ledger.folders[folder] = new  # journaled: in the map from the next open on
        verify(repo, ledger, tmp_path, i, drop_every=3)
    trials.check_landed()


# -- 4. export over removed folders ---------------------------------------------------------------
def archived(repo: GitRepo) -> set[str]:
    rows = repo.float_json("query", "SELECT content FROM archived_folders")
    return {json.loads(r["content"]).get("map_summary") for r in rows}


def test_export_removing_pages_killed(tmp_path: Path) -> None:
    """`export` after folders were removed (it deletes their pages), killed: no page of a
    folder still there is lost, the removed folders' context stays archived, and the pages
    on disk, or the committed ones, plus the journal still rebuild every record."""
    origin, ledger = make_origin(tmp_path)
    repo = clone(origin, tmp_path / "repo")
    trials = Trials("export-removed", ["export:writing", "export:removed"], tmp_path, every=2)
    trials.measure(cli(repo, "export"))
    gone: set[str] = set()
    for i in range(TRIALS):
        extra = f"extra{i}"
        repo.write(f"{extra}/a.py", f"A = {i}\n")
        repo.write(f"{extra}/sub/b.py", f"B = {i}\n")
        repo.commit(f"add {extra}")
        repo.float_ok("sync")
        ledger.write(repo, "folder", f"/{extra}", f"removed soon {i}")
        ledger.write(repo, "folder", f"/{extra}/sub", f"removed soon {i} sub")
        repo.float_ok("export")
        repo.commit(f"export with {extra}")
        repo.git("rm", "-r", "-q", extra)
        repo.commit(f"remove {extra}")
        repo.float_ok("sync")  # their context is archived
        for folder in (f"/{extra}", f"/{extra}/sub"):
            gone.add(ledger.folders.pop(folder))
        for f in FOLDERS[: 2 + i % 3]:
            ledger.write(repo, "folder", f, f"export trial {i} {f}")
        before = pages(repo)
        remembered = db_rows(repo, "SELECT page, blob FROM export_pages ORDER BY page")
        point = trials.run(i, cli(repo, "export"))
        after = pages(repo)
        lost = [p for p in before if p not in after and not p.startswith(f"{extra}/")]
        assert lost == [], f"trial {i}: pages of folders still there removed"
        if point:  # the transaction open: the DB remembers the old pages
            assert db_rows(repo, "SELECT page, blob FROM export_pages ORDER BY page") == \
                remembered, f"trial {i}"
        if point == "export:writing":
            assert sum(after.get(p) != b for p, b in before.items()) >= 2, f"trial {i}"
        if point == "export:removed":
            assert f"{extra}/_folder.md" in before and len(
                [p for p in before if p.startswith(f"{extra}/") and p not in after]) == 1
        assert gone <= archived(repo), f"trial {i}: {gone - archived(repo)}"
        if (i // 2) % 2:  # the pages on disk given up: the committed ones and the journal
            repo.git("checkout", "-q", "HEAD", "--", ".float/project")
            repo.git("clean", "-q", "-f", "-d", ".float/project")
        drop_db(repo)
        assert ledger.missing(repo) == [], f"trial {i}, rebuilt"
        assert gone <= archived(repo), f"trial {i}, rebuilt: {gone - archived(repo)}"
        verify(repo, ledger, tmp_path, i)
        assert repo.float_proc("export").code == 0
        assert not (repo.path / ".float/project" / extra).exists()
        repo.commit(f"export without {extra}")
    trials.check_landed()


# -- 5. the migration-6 upgrade ------------------------------------------------------------------
def missing_or_aside(repo: GitRepo, ledger: Ledger) -> list[str]:
    """The ledger's records the map neither shows nor keeps aside as a conflict. Records
    from before migration 6 carry no lineage: rebuilt, one written since the export and the
    export's version of it are two concurrent versions (the later one shown, the other kept
    in `conflicts`)."""
    have = ledger.state(repo)
    aside = [c["record"] for c in repo.float_json("conflicts")]
    lost = [f"folder {p}: {s!r}" for p, s in ledger.folders.items()
            if have["folders"].get(p) != s and s not in {r.get("map_summary") for r in aside}]
    for kind, field in (("decisions", "title"), ("questions", "question"),
                        ("refs", "context")):
        lost += [f"{kind} {t}" for t in getattr(ledger, kind) - have[kind]
                 if t not in {r.get(field) for r in aside}]
    return lost


def test_migration_6_upgrade_killed(tmp_path: Path) -> None:
    """A DB from the previous release, holding records written since the last export (no
    journal yet: it is the only copy), upgraded by a command killed inside the migration or
    while the journal is first written: the next open upgrades, every record is there, and
    from then on the journal holds them (the DB deleted, they come back)."""
    origin, base = make_origin(tmp_path)
    old = clone(origin, tmp_path / "old")
    ledger = copy.deepcopy(base)
    ledger.write(old, "folder", "/src/api", "api, written since the export")
    ledger.write(old, "folder", "/lib", "lib, written since the export")
    ledger.write(old, "decision", "decided since the export")
    ledger.write(old, "question", "asked since the export?")
    template = tmp_path / "schema-5.db"
    gc.collect()  # no connection of the in-process commands left open on it
    downgrade_to_schema_5(old.path / ".float" / "index.db", template)
    trials = Trials("upgrade", ["migrate:6:schema", "migrate:6", "journal:rewrite:written",
                                "journal:rewrite:replaced"], tmp_path, every=2)

    def at_schema_5(name: str) -> GitRepo:
        repo = clone(origin, tmp_path / name)
        shutil.copy(template, repo.path / ".float" / "index.db")
        assert not (repo.path / JOURNAL).exists()
        return repo

    trials.measure(cli(at_schema_5("measure"), "status"))
    for i in range(TRIALS):
        repo = at_schema_5(f"clone-{i}")
        point = trials.run(i, cli(repo, "status"))
        version = db_rows(repo, "PRAGMA user_version")[0][0]
        if point in ("migrate:6:schema", "migrate:6"):  # inside the migration
            assert version == 5 and not (repo.path / JOURNAL).exists(), f"trial {i}"
        elif point:  # migrated; the journal first written, not committed
            assert version == LATEST, f"trial {i}"
            assert db_rows(repo, "SELECT value FROM meta WHERE key = ?",
                       journal_module.ID_KEY) == [], f"trial {i}"
        assert integrity(repo) == ["ok"], f"trial {i}"
        assert ledger.missing(repo) == [], f"trial {i}"  # upgraded by the next open
        assert db_rows(repo, "PRAGMA user_version")[0][0] == LATEST
        [(journal_id,)] = db_rows(repo, "SELECT value FROM meta WHERE key = ?",
                              journal_module.ID_KEY)
        assert journal_module.Journal(repo.path / JOURNAL).header_id() == journal_id
        verify(repo, ledger, tmp_path, i, drop_every=0)
        drop_db(repo)  # every time: from now on the journal holds what the old DB held
        assert missing_or_aside(repo, ledger) == [], f"trial {i}, DB deleted"
        shutil.rmtree(repo.path)
    trials.check_landed()
