"""More of what anyone who can push may commit: page values that break readers later (text
nested too deep to decode, text where a list goes), records the DB cannot hold (a question
without its question), and symlinks or a config that would choose where an export is read or
written. Each fails alone with one line, or is kept as the text it is; the good records of the
same export import, and a fresh clone builds its map."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.authored_support import clone
from tests.gitrepo import GitRepo, init_repo
from tests.test_pages_hostile import HEAD, export_with_good_pages


def _folder_page(path: str, *fields: str) -> str:
    return HEAD + "\n".join(["kind: folder", "format: 1", f"path: {path}", *fields]) + "\n---\n"


def _commit_page(repo: GitRepo, rel: str, text: str) -> None:
    page = repo.path / ".float" / "project" / rel
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(text)
    repo.git("add", "-A")
    repo.commit(f"a page: {rel}")


def test_text_nested_too_deep_to_decode_stays_text(synced: GitRepo, tmp_path: Path) -> None:
    export_with_good_pages(synced)
    deep = "[" * 3000 + "]" * 3000  # past the JSON decoder's recursion limit
    _commit_page(synced, "src/_folder.md", _folder_page(
        "/src", "map_summary: deep", f"context_patterns: '{deep}'",
        f"map_children: '{deep}'"))
    other = clone(synced, tmp_path / "other")  # its first build imports the page
    for args in (["sync"], ["status"], ["show", "/src"], ["export"], ["brief"]):
        r = other.float_proc(*args)
        assert r.code == 0, (args, r.err[-2000:])
        assert "Traceback" not in r.err
    doc = other.float_json("show", "/src")
    assert doc["map_summary"] == "deep" and doc["context_patterns"] == deep
    assert other.float_json("show", "/src/auth")["map_summary"] == "good page"
    r = synced.float_proc("sync")  # the repository that had the map: the commit comes in
    assert r.code == 0 and "Traceback" not in r.err, r.err[-2000:]
    assert synced.float_json("show", "/src")["context_patterns"] == deep


def test_text_where_a_list_goes_is_shown_as_text(synced: GitRepo) -> None:
    export_with_good_pages(synced)
    _commit_page(synced, "src/_folder.md", _folder_page(
        "/src", "map_summary: hi", "context_patterns: notjson", "map_children: '123'"))
    synced.float_ok("sync")
    r = synced.float_proc("show", "/src")
    assert r.code == 0, r.err
    assert "  pattern: notjson" in r.out.splitlines()
    doc = synced.float_json("show", "/src")
    assert doc["context_patterns"] == "notjson" and doc["map_children"] == 123


def test_questions_and_references_without_their_fields_fail_alone(synced: GitRepo,
                                                                  tmp_path: Path) -> None:
    export_with_good_pages(synced)
    _commit_page(synced, "_broken_questions.md", HEAD + "kind: questions\nformat: 1\n"
                 "questions:\n- uid: q1\n---\n")
    _commit_page(synced, "_broken_references.md", HEAD + "kind: references\nformat: 1\n"
                 "references:\n- uid: r1\n  source_type: folder\n  target_type: folder\n"
                 "  target_id: /src\n---\n")
    _commit_page(synced, "_broken_conflicts.md", HEAD + "kind: conflicts\nformat: 1\n"
                 "conflicts:\n- kind: question\n  key: q2\n  record:\n    uid: q2\n---\n")
    other = clone(synced, tmp_path / "other")
    assert "3 export pages skipped" in other.float_proc("status").err  # its build
    r = other.float_proc("status")  # names them
    assert r.code == 0, r.err
    skipped = [ln for ln in (r.out + r.err).splitlines() if "skipped:" in ln]
    assert len(skipped) == 3, r.out + r.err
    assert any("_broken_questions.md" in ln and "without question" in ln for ln in skipped)
    assert any("_broken_references.md" in ln and "without source_id" in ln for ln in skipped)
    assert any("_broken_conflicts.md" in ln and "without question" in ln for ln in skipped)
    assert other.float_json("show", "/src/auth")["map_summary"] == "good page"
    assert [d["title"] for d in other.float_json("log", "list")] == ["good decision"]
    assert synced.float_proc("sync").code == 0  # and where the map was built before


def test_export_never_writes_through_a_committed_symlink(synced: GitRepo,
                                                         tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    export = synced.path / ".float" / "project"
    export.mkdir(parents=True, exist_ok=True)
    (export / "src").symlink_to(outside)
    synced.git("add", "-A")
    synced.commit("a symlink where the export's folder goes")
    other = clone(synced, tmp_path / "other")
    other.float_ok("set", "/src", "--summary", "mine")
    r = other.float_proc("export")
    assert r.code == 2
    [line] = r.err.splitlines()
    assert "src" in line and "symlink" in line and "nothing was written" in line
    assert list(outside.iterdir()) == []
    assert not list((other.path / ".float" / "project").rglob("*.md"))  # nothing at all


def test_an_export_folder_that_is_a_symlink_is_neither_read_nor_written(
        synced: GitRepo, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "docs").mkdir(parents=True)
    (elsewhere / "docs" / "_folder.md").write_text(
        _folder_page("/docs", "map_summary: not from this repository"))
    (synced.path / ".float").mkdir(exist_ok=True)
    (synced.path / ".float" / "project").symlink_to(elsewhere)
    synced.git("add", "-A")
    synced.commit("the export folder is a symlink")
    other = clone(synced, tmp_path / "other")
    assert "1 export pages skipped" in other.float_proc("status").err  # its build
    r = other.float_proc("status")
    assert r.code == 0, r.err
    assert any("symlink" in ln and ".float/project" in ln
               for ln in (r.out + r.err).splitlines()), r.out + r.err
    assert other.float_json("show", "/docs")["map_summary"] is None
    other.float_ok("set", "/docs", "--summary", "mine")
    assert other.float_proc("export").code == 2
    assert other.float_proc("import").code == 2
    assert sorted(p.name for p in elsewhere.rglob("*")) == ["_folder.md", "docs"]


def test_a_committed_export_dir_outside_the_repository_is_refused(synced: GitRepo,
                                                                  tmp_path: Path) -> None:
    for value in (str(tmp_path / "abs"), "../up", ".", "docs/../..", ".git/hooks", ".GIT/x",
                  "C:/exports"):
        config = synced.path / ".float" / "config.toml"
        config.parent.mkdir(exist_ok=True)
        config.write_text(f"[export]\ndir = {json.dumps(value)}\n")
        for args in (["export"], ["sync"]):
            r = synced.float_proc(*args)
            assert r.code == 2, (value, args, r.err)
            [line] = r.err.splitlines()
            assert "export.dir must name a folder inside the repository" in line
    assert not (tmp_path / "abs").exists() and not (synced.path.parent / "up").exists()


def test_a_path_in_an_os_error_is_one_bounded_line(synced: GitRepo) -> None:
    (synced.path / ".float" / "config.toml").write_text(
        '[export]\ndir = "a\\nb' + "x" * 300 + '"\n')
    r = synced.float_proc("export")
    assert r.code == 2
    [line] = r.err.splitlines()
    assert "\\x0a" in line and len(line) < 400 and os.strerror(36) in line


def test_a_committed_float_folder_that_is_a_symlink_is_refused(synced: GitRepo,
                                                               tmp_path: Path) -> None:
    elsewhere = tmp_path / "another-map"
    elsewhere.mkdir()
    (elsewhere / "index.db").write_bytes(b"another repository's map")
    source = init_repo(tmp_path / "source")
    source.write("src/a.py", "x = 1\n")
    (source.path / ".float").symlink_to(elsewhere)
    source.git("add", "-A")
    source.commit("a symlink for .float")
    other = clone(source, tmp_path / "other")
    for args in (["sync"], ["init"], ["status"], ["set", "/src", "--summary", "x"]):
        r = other.float_proc(*args)
        assert r.code == 2, (args, r.err)
        [line] = r.err.splitlines()
        assert ".float" in line and "a symlink" in line
    assert sorted(p.name for p in elsewhere.iterdir()) == ["index.db"]
    assert (elsewhere / "index.db").read_bytes() == b"another repository's map"


def test_a_committed_config_that_is_a_symlink_or_too_large_is_refused(synced: GitRepo) -> None:
    config = synced.path / ".float" / "config.toml"
    config.unlink()
    config.symlink_to("/dev/zero")  # read whole, it would never end
    r = synced.float_proc("sync", timeout=60)
    assert r.code == 2
    [line] = r.err.splitlines()
    assert "config.toml" in line and "not a regular file" in line
    config.unlink()
    config.write_text("# " + "x" * 300_000 + "\n")
    r = synced.float_proc("sync")
    assert r.code == 2 and "larger than 256 KiB" in r.err


def test_an_export_dir_that_climbs_back_inside_is_that_folder(synced: GitRepo) -> None:
    (synced.path / ".float" / "config.toml").write_text('[export]\ndir = "docs/../ctx"\n')
    synced.float_ok("set", "/src", "--summary", "kept")
    synced.float_ok("export")
    assert (synced.path / "ctx" / "src" / "_folder.md").is_file()


def _committed_link(repo: GitRepo, rel: str, target: Path) -> None:
    link = repo.path / rel
    link.unlink(missing_ok=True)
    link.symlink_to(target)
    repo.git("add", "-f", rel)
    repo.commit(f"a symlink at {rel}")


def test_a_committed_link_in_place_of_a_map_file_is_never_followed(synced: GitRepo,
                                                                    tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    _committed_link(synced, ".float/worker.lock", victim)  # the worker writes its PID there
    other = clone(synced, tmp_path / "other")
    r = other.float_proc("worker", "--once")
    assert r.code == 2, r.err
    [line] = [ln for ln in r.err.splitlines() if "worker.lock" in ln]
    assert "not a regular file" in line
    assert victim.read_text() == "precious\n"

    another = tmp_path / "another.db"
    another.write_bytes(b"another repository's map")
    _committed_link(synced, ".float/index.db-wal", another)
    third = clone(synced, tmp_path / "third")
    for args in (["status"], ["set", "/src", "--summary", "x"]):
        r = third.float_proc(*args)
        assert r.code == 2, (args, r.err)
        assert "index.db-wal" in r.err and "a symlink" in r.err
    assert another.read_bytes() == b"another repository's map"


def test_a_committed_boot_link_is_not_read(synced: GitRepo, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-123\n")
    _committed_link(synced, ".float/boot.md", secret)
    r = synced.float_proc("brief", timeout=60)
    assert r.code == 0, r.err
    assert "SECRET-123" not in r.out + r.err


def test_agents_install_never_edits_through_a_committed_symlink(synced: GitRepo,
                                                                tmp_path: Path) -> None:
    home = tmp_path / "someone-elses-claude"
    home.mkdir()
    (home / "settings.json").write_text('{"theirs": true}\n')
    (synced.path / ".claude").symlink_to(home)
    (synced.path / "CLAUDE.md").symlink_to("/dev/zero")  # read whole, it would never end
    synced.git("add", "-A")
    synced.commit("links where install edits")
    other = clone(synced, tmp_path / "other")
    r = other.float_proc("agents", "install", "--claude", timeout=60)
    assert r.code == 2, r.err
    [line] = r.err.splitlines()
    assert "symlink" in line
    assert sorted(p.name for p in home.iterdir()) == ["settings.json"]
    assert (home / "settings.json").read_text() == '{"theirs": true}\n'
    (other.path / ".claude").unlink()
    r = other.float_proc("agents", "install", "--claude", timeout=60)
    assert r.code == 2 and "CLAUDE.md" in r.err and "not a regular file" in r.err, r.err
