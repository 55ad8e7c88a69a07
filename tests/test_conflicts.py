"""Two people write the same folder's context: both versions are kept, in either order of
exchange, listed by `float-hooks conflicts`, and settled by `resolve` or a `set`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.authored_support import clone
from tests.gitrepo import GitRepo
from tests.map_support import drop_db


def two_clones(synced: GitRepo, tmp_path: Path) -> tuple[GitRepo, GitRepo]:
    synced.float_ok("set", "/src/auth", "--summary", "common ancestor")
    synced.float_ok("export")
    synced.git("add", "-A")
    synced.commit("float")
    return clone(synced, tmp_path / "alice"), clone(synced, tmp_path / "bob")


def diverged(synced: GitRepo, tmp_path: Path) -> tuple[GitRepo, GitRepo]:
    """Alice and Bob write /src/auth apart and export to tmp_path/a and /b; Alice has
    imported Bob's export (a conflict in her map)."""
    alice, bob = two_clones(synced, tmp_path)
    write_and_export(alice, "alice's view", tmp_path / "a")
    write_and_export(bob, "bob's view", tmp_path / "b")
    alice.float_ok("import", "--from", str(tmp_path / "b"))
    return alice, bob


def write_and_export(repo: GitRepo, summary: str, out: Path) -> None:
    repo.float_ok("set", "/src/auth", "--summary", summary, "--model", repo.path.name)
    repo.float_ok("log", "add", "--title", f"{repo.path.name}'s decision")
    repo.float_ok("export", "--out", str(out))


def view(repo: GitRepo) -> dict[str, Any]:
    shown = repo.float_json("show", "/src/auth")
    kept = repo.float_json("conflicts")
    return {"shown": shown["map_summary"], "version": shown["version"],
            "kept": sorted((c["kind"], c["key"], c["version"], c["record"]["map_summary"])
                           for c in kept),
            "decisions": sorted(d["title"] for d in repo.float_json("log", "list"))}


def test_diverged_context_keeps_both_in_either_order(synced: GitRepo, tmp_path: Path) -> None:
    alice, bob = two_clones(synced, tmp_path)
    write_and_export(alice, "alice's view", tmp_path / "a")
    write_and_export(bob, "bob's view", tmp_path / "b")
    # alice imports bob's export, bob imports alice's: each now holds both versions
    alice.float_ok("import", "--from", str(tmp_path / "b"))
    bob.float_ok("import", "--from", str(tmp_path / "a"))
    seen_a, seen_b = view(alice), view(bob)
    assert seen_a == seen_b  # the same version shown, the same one kept aside
    assert {seen_a["shown"], seen_a["kept"][0][3]} == {"alice's view", "bob's view"}
    assert seen_a["decisions"] == ["alice's decision", "bob's decision"]
    [c] = alice.float_json("conflicts")
    assert c["kind"] == "folder" and c["key"] == "/src/auth"
    assert c["side"] in ("local", "incoming") and c["shown"]["map_summary"] == seen_a["shown"]
    # importing the same exports again changes nothing
    alice.float_ok("import", "--from", str(tmp_path / "b"))
    alice.float_ok("import", "--from", str(tmp_path / "a"))
    assert view(alice) == seen_a
    # a third clone merging both exports, in both orders, ends the same
    for order in ("ab", "ba"):
        third = clone(synced, tmp_path / f"third-{order}")
        for side in order:
            third.float_ok("import", "--from", str(tmp_path / side))
        assert view(third) == seen_a


def test_a_descendant_is_no_conflict(synced: GitRepo, tmp_path: Path) -> None:
    alice, bob = two_clones(synced, tmp_path)
    write_and_export(alice, "alice's view", tmp_path / "a")
    bob.float_ok("import", "--from", str(tmp_path / "a"))
    bob.float_ok("set", "/src/auth", "--summary", "bob builds on alice")  # knows alice's
    bob.float_ok("export", "--out", str(tmp_path / "b"))
    alice.float_ok("import", "--from", str(tmp_path / "b"))
    assert alice.float_json("conflicts") == []
    assert alice.float_json("show", "/src/auth")["map_summary"] == "bob builds on alice"
    # and the older one arriving late changes nothing either
    bob.float_ok("import", "--from", str(tmp_path / "a"))
    assert bob.float_json("show", "/src/auth")["map_summary"] == "bob builds on alice"
    assert bob.float_json("conflicts") == []


def test_resolve_keeps_one_side_and_the_settlement_travels(synced: GitRepo,
                                                           tmp_path: Path) -> None:
    alice, bob = diverged(synced, tmp_path)
    [c] = alice.float_json("conflicts")
    other = c["record"]["map_summary"]
    # keep the version that was set aside
    out = alice.float_json("conflicts", "resolve", str(c["id"]), "--keep", c["side"])
    assert out["record"]["map_summary"] == other
    assert alice.float_json("conflicts") == []
    assert alice.float_json("show", "/src/auth")["map_summary"] == other
    # the settlement knows both versions: importing either export again raises nothing
    alice.float_ok("import", "--from", str(tmp_path / "a"))
    alice.float_ok("import", "--from", str(tmp_path / "b"))
    assert alice.float_json("conflicts") == []
    # and once exported, bob takes it without a conflict, whichever version he showed
    alice.float_ok("export", "--out", str(tmp_path / "settled"))
    bob.float_ok("import", "--from", str(tmp_path / "a"))
    bob.float_ok("import", "--from", str(tmp_path / "settled"))
    assert bob.float_json("conflicts") == []
    assert bob.float_json("show", "/src/auth")["map_summary"] == other


def test_set_settles_the_folders_conflicts(synced: GitRepo, tmp_path: Path) -> None:
    alice, _bob = diverged(synced, tmp_path)
    assert len(alice.float_json("conflicts")) == 1
    assert "1 conflicting versions kept" in alice.float_ok("status").out
    alice.float_ok("set", "/src/auth", "--summary", "merged by hand")
    assert alice.float_json("conflicts") == []
    alice.float_ok("import", "--from", str(tmp_path / "a"))
    alice.float_ok("import", "--from", str(tmp_path / "b"))
    assert alice.float_json("conflicts") == []
    assert alice.float_json("show", "/src/auth")["map_summary"] == "merged by hand"


def test_conflicts_travel_in_the_export_and_survive_a_rebuild(synced: GitRepo,
                                                              tmp_path: Path) -> None:
    alice, _bob = diverged(synced, tmp_path)
    before = view(alice)
    alice.float_ok("export")
    assert (alice.path / ".float/project/_conflicts.md").exists()
    for side in (".float/index.db", ".float/index.db-wal", ".float/index.db-shm"):
        (alice.path / side).unlink(missing_ok=True)
    assert view(alice) == before  # rebuilt from the export and the journal
    carol = clone(synced, tmp_path / "carol")
    carol.float_ok("import", "--from", str(alice.path / ".float/project"))
    assert view(carol) == before


def test_conflicting_decision_updates_keep_both(synced: GitRepo, tmp_path: Path) -> None:
    synced.float_ok("question", "add", "Keep v1 tokens?")
    synced.float_ok("export")
    synced.git("add", "-A")
    synced.commit("float")
    alice = clone(synced, tmp_path / "alice")
    bob = clone(synced, tmp_path / "bob")
    [q] = alice.float_json("question", "list")
    alice.float_ok("question", "resolve", q["uid"], "--by", "drop them")
    alice.float_ok("export", "--out", str(tmp_path / "a"))
    bob.float_ok("question", "resolve", q["uid"], "--by", "keep them a year")
    bob.float_ok("export", "--out", str(tmp_path / "b"))
    alice.float_ok("import", "--from", str(tmp_path / "b"))
    [c] = alice.float_json("conflicts")
    assert c["kind"] == "question" and c["key"] == q["uid"]
    answers = {c["record"]["resolved_by"],
               alice.float_json("question", "list", "--all")[0]["resolved_by"]}
    assert answers == {"drop them", "keep them a year"}
    # settled for the version kept aside: it is shown, and a rebuild keeps the choice
    aside = c["record"]["resolved_by"]
    out = alice.float_json("conflicts", "resolve", c["uid"][:8], "--keep", c["side"])
    assert out["kind"] == "question" and out["record"]["resolved_by"] == aside
    assert alice.float_json("conflicts") == []
    drop_db(alice)
    assert alice.float_json("question", "list", "--all")[0]["resolved_by"] == aside
    assert alice.float_json("conflicts") == []
    r = alice.float_proc("conflicts", "resolve", c["uid"][:8], "--keep", "both")
    assert r.code == 2 and "Traceback" not in r.err


def test_one_conflict_settled_two_ways_is_a_conflict_again(synced: GitRepo,
                                                           tmp_path: Path) -> None:
    alice, bob = diverged(synced, tmp_path)
    bob.float_ok("import", "--from", str(tmp_path / "a"))
    # alice settles for the version kept aside, bob for the one shown: each now names the
    # other's choice among its parents
    [c] = alice.float_json("conflicts")
    alice.float_ok("conflicts", "resolve", str(c["id"]), "--keep", c["side"])
    [c] = bob.float_json("conflicts")
    bob.float_ok("conflicts", "resolve", str(c["id"]), "--keep",
                 "incoming" if c["side"] == "local" else "local")
    assert view(alice)["shown"] != view(bob)["shown"]
    alice.float_ok("export", "--out", str(tmp_path / "a2"))
    bob.float_ok("export", "--out", str(tmp_path / "b2"))
    alice.float_ok("import", "--from", str(tmp_path / "b2"))
    bob.float_ok("import", "--from", str(tmp_path / "a2"))
    # neither side silently replaces the other's choice: both versions are kept, the same
    # one shown on both machines, the other aside until someone settles it again
    seen_a, seen_b = view(alice), view(bob)
    assert seen_a["shown"] == seen_b["shown"] and seen_a["kept"] == seen_b["kept"]
    assert {seen_a["shown"], seen_a["kept"][0][3]} == {"alice's view", "bob's view"}


def test_a_renamed_folder_keeps_its_conflict_through_a_rebuild(synced: GitRepo,
                                                               tmp_path: Path) -> None:
    alice, _bob = diverged(synced, tmp_path)
    alice.git("mv", "src/auth", "src/login")
    alice.commit("rename")
    alice.float_ok("sync")  # the context and its conflict move to /src/login
    listed = json.loads(alice.float_proc("conflicts", "--json", "list").out)  # either order
    assert [c["key"] for c in listed] == ["/src/login"]
    drop_db(alice)  # rebuilt from the export (still /src/auth) and the journal
    assert [c["key"] for c in alice.float_json("conflicts")] == ["/src/login"]
