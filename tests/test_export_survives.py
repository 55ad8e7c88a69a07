"""Records a map took from a committed export survive a reset to before that export, and a
page skipped at build time is imported once it is fixed (issue 28)."""

from __future__ import annotations

from pathlib import Path

from tests.authored_support import clone
from tests.gitrepo import GitRepo
from tests.map_support import drop_db
from tests.test_durability import authored, commit_export


def test_records_from_an_export_survive_a_reset_before_it_then_db_loss(
        synced: GitRepo, tmp_path: Path) -> None:
    synced.commit("before the export")  # the commit a teammate resets to
    ledger = authored(synced)
    commit_export(synced)
    mate = clone(synced, tmp_path / "mate")
    assert ledger.missing(mate) == []  # the clone's map imported the export
    mate.git("reset", "-q", "--hard", "HEAD~1")
    assert not (mate.path / ".float" / "project").exists()
    drop_db(mate)
    assert mate.float_proc("sync").code == 0
    assert ledger.missing(mate) == []
    mate.float_ok("export")  # the export written now holds them again
    pages = "".join(p.read_text() for p in (mate.path / ".float" / "project").rglob("*.md"))
    assert "Login and tokens" in pages and "Use JWT" in pages


def test_a_page_skipped_at_build_is_imported_once_fixed_and_status_says(
        synced: GitRepo, tmp_path: Path) -> None:
    ledger = authored(synced)
    commit_export(synced)
    mate = clone(synced, tmp_path / "mate")  # no journal: the export is all it has
    page = mate.path / ".float" / "project" / "src" / "auth" / "_folder.md"
    good = page.read_text()
    page.write_text(good.replace("map_summary:", "map_summary: [unclosed", 1))
    r = mate.float_proc("status")
    assert r.code == 0, r.err
    assert "could not be imported" in r.out and "_folder.md" in r.out, r.out
    assert mate.float_json("status")["skipped_pages"]
    assert ledger.missing(mate) != []
    page.write_text(good)
    assert mate.float_proc("sync").code == 0
    assert ledger.missing(mate) == []
    assert mate.float_json("status")["skipped_pages"] == []
    assert "could not be imported" not in mate.float_ok("status").out
