"""Export pages come from anyone who can push: bounded, typed, and a bad one fails alone with
one line naming it (no parsed data echoed), while the others import."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from float_hooks.pages import frontmatter
from tests.authored_support import clone
from tests.gitrepo import GitRepo
from tests.map_support import drop_db
from tests.waiting import time_limit

HEAD = "---\n" + frontmatter.MARKER + "\n"
SECRET = "s3cr3t-payload-text"


def alias_bomb(levels: int = 9) -> str:
    lines = ["kind: folder", "format: 1", "path: /src", f"map_summary: {SECRET}",
             'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return HEAD + "\n".join(lines) + "\n---\n\nbody\n"


def export_with_good_pages(repo: GitRepo) -> Path:
    repo.float_ok("set", "/src/auth", "--summary", "good page")
    repo.float_ok("log", "add", "--title", "good decision")
    out = repo.path / ".float" / "project"
    repo.float_ok("export")
    repo.git("add", "-A")
    repo.commit("float, with its export")
    return out


def import_proc(repo: GitRepo, source: Path) -> tuple[int, str]:
    """``import --from source`` as a process, bounded: a page that costs without bound (an
    alias bomb expanded, a FIFO read) fails the test when the process is killed."""
    r = repo.float_proc("import", "--from", str(source), timeout=120)
    return r.code, r.err


def test_alias_page_fails_fast_and_alone(synced: GitRepo, tmp_path: Path) -> None:
    out = export_with_good_pages(synced)
    bomb = alias_bomb()
    assert len(bomb) < 700
    (out / "src" / "_folder.md").write_text(bomb)
    other = clone(synced, tmp_path / "other")
    code, err = import_proc(other, out)  # bounded: the page is refused, never expanded
    assert code == 2
    [line] = [ln for ln in err.splitlines() if "skipped" in ln]  # (and the clone's build)
    assert "src/_folder.md" in line and "anchors and aliases" in line
    assert SECRET not in err and "lol" not in err
    assert other.float_json("show", "/src/auth")["map_summary"] == "good page"
    assert [d["title"] for d in other.float_json("log", "list")] == ["good decision"]


def test_parse_of_the_alias_page_is_bounded_in_process() -> None:
    try:
        with time_limit(60, "parsing an alias bomb"):  # a bound: refused, never expanded
            frontmatter.parse(alias_bomb(12))
    except frontmatter.PageError as e:
        assert "aliases" in str(e)
    else:
        raise AssertionError("an alias bomb was accepted")


def test_oversize_tagged_and_mistyped_pages_each_fail_alone(synced: GitRepo,
                                                           tmp_path: Path) -> None:
    out = export_with_good_pages(synced)
    (out / "big.md").write_text(HEAD + "kind: folder\npath: /big\nmap_summary: "
                                + "x" * (frontmatter.MAX_PAGE_BYTES + 10) + "\n---\n")
    (out / "tagged.md").write_text(HEAD + "kind: folder\npath: /t\nmap_summary: !!binary "
                                   "aGVsbG8=\n---\n")
    (out / "typed.md").write_text(HEAD + f"kind: folder\npath: /docs\ncontext_what:\n"
                                  f"  nested: {SECRET}\n---\n")
    (out / "deep.md").write_text(HEAD + "kind: folder\npath: /d\nx: " + "[" * 60 + "]" * 60
                                 + "\n---\n")
    (out / "badpath.md").write_text(HEAD + "kind: folder\npath: ../../etc\n"
                                    "map_summary: climbing\n---\n")
    other = clone(synced, tmp_path / "other")
    code, err = import_proc(other, out)
    assert code == 2
    lines = [ln for ln in err.splitlines() if "skipped" in ln]  # (and the clone's build)
    assert len(lines) == 5 and "Traceback" not in err and SECRET not in err
    for name, why in (("big.md", "larger than"), ("tagged.md", "tags"),
                      ("typed.md", "context_what is not text"), ("deep.md", "nested deeper"),
                      ("badpath.md", "not a repository path")):
        found = [ln for ln in lines if f'/{name}": ' in ln]  # names are quoted
        assert len(found) == 1, lines
        line = found[0]
        assert why in line, line
    assert other.float_json("show", "/src/auth")["map_summary"] == "good page"


def test_a_build_imports_the_good_pages_and_names_the_bad(synced: GitRepo) -> None:
    out = export_with_good_pages(synced)
    (out / "src" / "_folder.md").write_text(alias_bomb())
    drop_db(synced)
    r = synced.float_proc("status")
    assert r.code == 0, r.err
    assert "1 export pages skipped" in r.err
    assert synced.float_json("show", "/src/auth")["map_summary"] == "good page"


def test_symlinks_and_fifos_in_the_export_are_never_followed(synced: GitRepo,
                                                            tmp_path: Path) -> None:
    out = export_with_good_pages(synced)
    secret = tmp_path / "outside.md"
    secret.write_text(HEAD + "kind: folder\npath: /docs\nmap_summary: from outside\n---\n")
    (out / "link.md").symlink_to(secret)
    os.mkfifo(out / "fifo.md")
    other = clone(synced, tmp_path / "other")
    code, err = import_proc(other, out)  # bounded: a FIFO read would never end
    assert code == 0, err
    assert other.float_json("show", "/docs")["map_summary"] is None
    (out / "fifo.md").unlink()
    (out / "link.md").unlink()


def test_a_folder_named_like_a_page(synced: GitRepo, tmp_path: Path) -> None:
    synced.write("notes.md/today.txt", "x\n")
    synced.write("docs/old.md/x.txt", "y\n")
    synced.commit("folders named *.md")
    synced.float_ok("sync")
    synced.float_ok("set", "/notes.md", "--summary", "a folder, not a page")
    synced.float_ok("export")
    drop_db(synced)
    (synced.path / ".git" / "float" / "journal.jsonl").unlink()
    synced.float_ok("import")
    assert synced.float_json("show", "/notes.md")["map_summary"] == "a folder, not a page"
    legacy = tmp_path / "decisions"
    (legacy / "2026-01-02-folder.md").mkdir(parents=True)  # a folder, named like a file
    (legacy / "2026-01-03-real.md").write_text("# A real decision\n\n## Decision\nYes\n")
    r = synced.float_proc("import", "--legacy", str(legacy))
    assert r.code == 0, r.err
    assert [d["title"] for d in synced.float_json("log", "list")] == ["A real decision"]


def test_colliding_names_stay_two_records_through_export_and_import(synced: GitRepo,
                                                                    tmp_path: Path) -> None:
    synced.write(b"names/\xff/a.txt", "raw byte\n")
    synced.write("names/\\xff/a.txt", "four characters\n")
    synced.commit("colliding spellings")
    synced.float_ok("sync")
    folders = [r["path"] for r in synced.float_json(
        "query", "SELECT path FROM folders WHERE parent_path = '/names' ORDER BY path")]
    assert folders == ["/names/\\\\xff", "/names/\\xff"]
    synced.float_ok("set", "/names/\\xff", "--summary", "the raw byte folder")
    synced.float_ok("set", "/names/\\\\xff", "--summary", "the backslash folder")
    synced.float_ok("export")
    synced.git("add", "-A")
    synced.commit("export")
    other = clone(synced, tmp_path / "other")
    got = {r["path"]: r["map_summary"] for r in other.float_json(
        "query", "SELECT path, map_summary FROM folders WHERE parent_path = '/names'")}
    assert got == {"/names/\\xff": "the raw byte folder",
                   "/names/\\\\xff": "the backslash folder"}
    # the two folders hash differently, and git's own view agrees on what is in each
    hashes = {r["path"]: r["source_hash"] for r in other.float_json(
        "query", "SELECT path, source_hash FROM folders WHERE parent_path = '/names'")}
    assert len(set(hashes.values())) == 2
    listed = subprocess.run(["git", "ls-files", "-z", "names"], cwd=other.path,
                            capture_output=True, check=True).stdout.split(b"\0")
    assert b"names/\xff/a.txt" in listed and b"names/\\xff/a.txt" in listed
