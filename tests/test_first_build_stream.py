"""A first build writes the listing folder by folder while git prints it (map/stream.py,
repo/listing.py): the same map as the one-pass rebuild, whatever the block and batch sizes,
and written before the listing ends (no timings or memory here: bench/bench_sync.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from float_hooks.map import stream
from float_hooks.map import sync as sync_module
from float_hooks.map.sync import sync
from float_hooks.repo import git as git_module
from float_hooks.repo import listing
from float_hooks.repo.git import Git
from float_hooks.repo.scope import Scope
from float_hooks.repo.snapshot import Target
from float_hooks.store.db import Store
from tests.gitrepo import GitRepo
from tests.map_support import derived

# Names that sort around "/" ("a-b/" < "a.txt" < "a/" < "a0/"), a folder whose files come
# after its subfolders', deep chains, names git quotes, a name that is not UTF-8
NAMES = ["a-b/x.py", "a.txt", "a/b/c/d.py", "a/b/e.py", "a/b.txt", "a/c.txt", "a/z/y.py",
         "a0/z.md", "d/e/f/g/h/i.txt", "d/e/k.py", "tab\there/f.py", "new\nline.txt",
         "back\\slash/k.py", "top.md", "CLAUDE.md", ".float/boot.md", "w/1.py", "w/2.py",
         "w/3.py", "w/4.py", "w/5.py"]


def _repo(repo: GitRepo) -> None:
    for rel in NAMES:
        repo.write(rel, f"{rel}\n")
    repo.write(b"bad\xff/q.txt", b"not utf-8\n")
    (repo.path / "a" / "link").symlink_to("b")
    repo.write("run.sh", "#!/bin/sh\n")
    os.chmod(repo.path / "run.sh", 0o755)
    repo.commit("base")
    # a conflicted path: three index stages, markers in the work tree
    repo.git("checkout", "-q", "-b", "other")
    repo.write("a/b/e.py", "theirs\n")
    repo.commit("theirs")
    repo.git("checkout", "-q", "-")
    repo.write("a/b/e.py", "ours\n")
    repo.commit("ours")
    repo.git("merge", "-q", "other", check=False)
    # the work tree and the index differ from HEAD and from each other
    repo.write("u/v/w.txt", "untracked\n")
    repo.write("a/c.txt", "modified\n")
    repo.remove("d/e/f/g/h/i.txt")  # /d/e/f/g/h and above vanish from the work tree only
    repo.write("s/t.py", "staged\n")
    repo.git("add", "s/t.py")
    repo.write("ita/p.py", "intended\n")
    repo.git("add", "-N", "ita/p.py")  # a placeholder: in the index, not its commit


@pytest.fixture
def tiny(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of a few bytes and batches of a few rows: every boundary falls inside a
    folder, a record and a conflicted path's stages somewhere."""
    monkeypatch.setattr(listing, "BLOCK", 37)
    monkeypatch.setattr(stream, "FILE_BATCH", 2)
    monkeypatch.setattr(stream, "FOLDER_BATCH", 2)


@pytest.mark.parametrize("kind", ["worktree", "index", "commit"])
@pytest.mark.parametrize("excludes", [[], ["*.md", "w/"]])
def test_a_streamed_first_build_equals_the_one_pass_rebuild(
        repo: GitRepo, tmp_path: Path, tiny: None, kind: str, excludes: list[str]) -> None:
    _repo(repo)
    g = Git.discover(repo.path)
    scope = Scope(excludes)
    target = Target(kind)  # type: ignore[arg-type]
    first = Store.open(tmp_path / "first.db", create=True)
    result = sync(g, first, target, scope=scope).applied
    # the one-pass rebuild: a full sync into a store that already holds rows
    other = Store.open(tmp_path / "other.db", create=True)
    sync(g, other, Target("commit", "HEAD~1"), scope=scope)
    sync(g, other, target, scope=scope, full=True)
    files, folders = derived(first)
    assert (files, folders) == derived(other)
    # each folder is found by its files' names (the index a folder's row writes from the
    # files table: its files' rows must be written first)
    names = {f[0]: "" for f in folders}
    for path, folder, *_ in files:
        names[folder] = " ".join(sorted(filter(None, [*names[folder].split(" "),
                                                      path[len(folder.rstrip("/")) + 1:]])))
    assert {f[0]: f[4] for f in folders} == names
    assert files and all(not f[0].startswith(("/.float/", "/CLAUDE.md")) for f in files)
    # the report describes the final tree, deepest folders first
    assert sorted(result.added) == sorted(result.folders_changed) == [f[0] for f in folders]
    assert [p.count("/") for p in result.added if p != "/"] == sorted(
        (p.count("/") for p in result.added if p != "/"), reverse=True)
    assert result.removed == [] and result.files_changed == len(files)
    assert sync(g, first, target, scope=scope, full=True).applied.files_changed == 0


def _every_table(store: Store) -> dict[str, list[str]]:
    """Every table's rows (times left out), sorted; the search indexes' rows by folder path:
    their rowids follow the order folders were inserted in."""
    q = store.conn.execute
    out: dict[str, list[str]] = {}
    for (table,) in q("SELECT name FROM sqlite_master WHERE type = 'table'"):
        if table.startswith(("folder_files_fts_", "folders_fts_")):
            continue  # FTS5's own storage: compared through the index below
        cols = [r[1] for r in q(f'PRAGMA table_info("{table}")') if not r[1].endswith("_at")]
        if cols:
            out[table] = sorted(repr(tuple(r)) for r in q(
                f'SELECT {", ".join(f"{chr(34)}{c}{chr(34)}" for c in cols)} FROM "{table}"')
                if table != "meta" or not r[0].endswith("_at"))  # (meta's times: synced_at)
    for fts in ("folder_files_fts", "folders_fts"):
        out[fts] = sorted(repr(tuple(r)) for r in q(
            f"SELECT d.path, x.* FROM folders d JOIN {fts} x ON x.rowid = d.rowid"))
    return out


@pytest.mark.parametrize("kind", ["worktree", "commit"])
def test_a_streamed_first_build_equals_a_one_pass_build_in_every_table(
        repo: GitRepo, tmp_path: Path, tiny: None, monkeypatch: pytest.MonkeyPatch,
        kind: str) -> None:
    _repo(repo)
    g = Git.discover(repo.path)
    streamed = Store.open(tmp_path / "streamed.db", create=True)
    sync(g, streamed, Target(kind))  # type: ignore[arg-type]
    # the same empty store built the one-pass way (apply_changes: what later syncs run)
    monkeypatch.setattr(sync_module, "_nothing_authored", lambda conn: False)
    one_pass = Store.open(tmp_path / "one-pass.db", create=True)
    sync(g, one_pass, Target(kind))  # type: ignore[arg-type]
    tables = _every_table(streamed)
    assert tables["folder_files_fts"] and tables["files"] and tables["meta"]
    assert tables == _every_table(one_pass)


def test_a_first_build_writes_rows_before_the_listing_ends(
        repo: GitRepo, tmp_path: Path, tiny: None, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(40):
        repo.write(f"f{i % 8}/g{i % 3}/file{i}.py", f"{i}\n")
    repo.commit("many")
    events: list[tuple[str, int]] = []
    real_blocks, real_insert = listing.Listing.blocks, stream.insert_rows

    def blocks(self: listing.Listing, scope: Scope):  # type: ignore[no-untyped-def]
        for entries in real_blocks(self, scope):
            events.append(("listed", len(entries)))
            yield entries

    def insert_rows(conn, head, rows, tail=""):  # type: ignore[no-untyped-def]
        if "INTO files" in head:
            events.append(("written", len(rows)))
        return real_insert(conn, head, rows, tail)

    monkeypatch.setattr(listing.Listing, "blocks", blocks)
    monkeypatch.setattr(stream, "insert_rows", insert_rows)
    store = Store.open(tmp_path / "s.db", create=True)
    sync(Git.discover(repo.path), store, Target("worktree"))
    kinds = [k for k, _ in events]
    assert kinds.index("written") < len(kinds) - 1 - kinds[::-1].index("listed")
    # a batch holds at most FILE_BATCH rows plus the files of the folder that filled it
    assert max(n for k, n in events if k == "written") <= 2 + 5
    assert sum(n for k, n in events if k == "written") == 40


def test_blocks_end_at_records_and_keep_a_conflicted_path_whole() -> None:
    def rec(mode: str, oid: str, stage: int, path: bytes) -> bytes:
        return f"{mode} {oid} {stage}\t".encode() + path + b"\0"

    o = "a" * 40
    out = b"".join([
        rec("100644", o, 0, b"a"), rec("100644", o, 1, b"c\tc"), rec("100644", "c" * 40, 2,
                                                                     b"c\tc"),
        rec("100644", "d" * 40, 3, b"c\tc"), rec("100644", o, 0, b"d\tc"),
        rec("100644", o, 1, b"e"), rec("100644", "e" * 40, 2, b"e"), rec("100755", o, 0, b"z"),
    ])
    whole = git_module.parse_ls_files(out)
    for size in range(1, len(out) + 1):
        chunks = iter([out[i : i + size] for i in range(0, len(out), size)])
        blocks = list(listing.whole_records(chunks, "ls-files"))
        assert b"".join(blocks) == out, size
        assert all(b.endswith(b"\0") for b in blocks), size
        merged: dict[str, tuple[str, str]] = {}
        for b in blocks:
            part = git_module.parse_ls_files(b)
            assert not set(part) & set(merged), size  # a path's stages in one block
            merged.update(part)
        assert merged == whole and list(merged) == list(whole), size
    assert whole["/c\tc"] == ("100644", "c" * 40) and whole["/e"] == ("100644", "e" * 40)
