"""Property tests: export -> delete DB -> sync -> export gives the same bytes, and merging two
diverged exports keeps every record of both (in either order, with the same result)."""

from __future__ import annotations

import gc
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from float_hooks.map.build import open_built
from float_hooks.pages import reader, render
from float_hooks.project import Project
from float_hooks.store import folder_context, paper_trail, record_format
from float_hooks.store.db import now
from float_hooks.store.merge import ExportData
from tests.gitrepo import GitRepo, init_repo
from tests.map_support import drop_db

FOLDERS = ["/", "/src", "/src/auth", "/docs", "/_odd name"]
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=25)
SOME = st.one_of(st.none(), TEXT)
NONEMPTY = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=25)
TAG = st.text("abcxyz-_", min_size=1, max_size=5)

FOLDER_CTX = st.fixed_dictionaries({
    "map_summary": SOME, "context_what": SOME, "context_why": SOME,
    "context_patterns": st.one_of(st.none(), st.lists(TEXT, max_size=3)),
    "map_children": st.one_of(st.none(), st.lists(st.fixed_dictionaries(
        {"name": TEXT, "summary": SOME}), max_size=2)),
})
LOG = st.fixed_dictionaries({
    "title": NONEMPTY, "decision": SOME, "rationale": SOME, "before_state": SOME,
    "after_state": SOME, "future_agent": SOME, "topic": SOME,
    "status": st.sampled_from([None, "accepted", "proposed", "locked"]),
    "date": st.dates().map(lambda d: d.isoformat()),
    "folder_path": st.sampled_from([None, *FOLDERS]),
    "tags": st.lists(TAG, max_size=3, unique=True), "files": st.lists(TEXT, max_size=2),
    "supersede": st.booleans(),
})
QUESTION = st.tuples(NONEMPTY, SOME, st.sampled_from([None, *FOLDERS]), SOME)
REF = st.tuples(st.sampled_from(paper_trail.REF_TYPES), NONEMPTY,
                st.sampled_from(paper_trail.REF_TYPES), NONEMPTY, SOME)
ARCHIVED = st.tuples(st.sampled_from(["/gone", "/old/x", "/src/auth"]), FOLDER_CTX)
CONTENT = st.fixed_dictionaries({
    "folders": st.dictionaries(st.sampled_from(FOLDERS), FOLDER_CTX, max_size=3),
    "logs": st.lists(LOG, max_size=3),
    "questions": st.lists(QUESTION, max_size=2),
    "refs": st.lists(REF, max_size=2),
    "archived": st.lists(ARCHIVED, max_size=2),
})


def make_base(root: Path) -> Path:
    repo = init_repo(root / "base")
    for f in FOLDERS:
        repo.write(f.lstrip("/") + "/file.txt" if f != "/" else "top.txt", f + "\n")
    repo.commit("tree")
    repo.float_ok("init")
    return repo.path


def fill(repo: GitRepo, content: dict[str, Any]) -> None:
    store = open_built(Project.discover(repo.path))
    try:
        for path, fields in content["folders"].items():
            folder_context.set_context(store, path, fields, model="m")
        last = None
        for log in content["logs"]:
            fields = {k: log[k] for k in paper_trail.LOG_FIELDS if k in log}
            fields["supersedes"] = last if log["supersede"] else None
            last = paper_trail.add_log(store, fields, log["tags"], log["files"])["uid"]
        for i, (question, ctx, folder, resolution) in enumerate(content["questions"]):
            q = paper_trail.add_question(store, question, ctx, folder)
            if resolution is not None and i % 2 == 0:
                paper_trail.resolve_question(store, q["uid"], resolution)
        for st_, sid, tt, tid, ctx in content["refs"]:
            paper_trail.add_ref(store, st_, sid, tt, tid, ctx)
        with store.write() as conn:
            for path, fields in content["archived"]:
                body = {f: fields.get(f) for f in ("map_summary", "context_what")}
                conn.execute("INSERT INTO archived_folders(uid, path, reason, source_hash,"
                             " content, archived_at) VALUES (?, ?, 'deleted', 'h', ?, ?)",
                             (record_format.new_uid(), path, json.dumps(body), now()))
    finally:
        store.close()


def copy_of(base: Path, where: Path) -> GitRepo:
    gc.collect()
    shutil.copytree(base, where, symlinks=True)
    return GitRepo(where)


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def records_of(root: Path) -> ExportData:
    return reader.read_dir(root).data


def without_parents(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "parents"}


def test_export_delete_db_sync_export_same_bytes(tmp_path: Path) -> None:
    base = make_base(tmp_path)

    @settings(max_examples=25, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(CONTENT)
    def check(content: dict[str, Any]) -> None:
        with tempfile.TemporaryDirectory(dir=tmp_path) as d:
            repo = copy_of(base, Path(d) / "r")
            fill(repo, content)
            repo.float_ok("export")
            first = snapshot(repo.path / ".float/project")
            drop_db(repo)
            repo.float_ok("sync")
            assert repo.float_json("export")["changed"] is False
            assert snapshot(repo.path / ".float/project") == first

    check()


def test_two_diverged_exports_merge_keeping_every_record(tmp_path: Path) -> None:
    base = make_base(tmp_path)

    @settings(max_examples=25, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(CONTENT, CONTENT)
    def check(a: dict[str, Any], b: dict[str, Any]) -> None:
        with tempfile.TemporaryDirectory(dir=tmp_path) as d:
            exports = {}
            for name, content in (("a", a), ("b", b)):
                side = copy_of(base, Path(d) / name)
                fill(side, content)
                side.float_ok("export", "--out", str(Path(d) / f"exp-{name}"))
                exports[name] = records_of(Path(d) / f"exp-{name}")
            merged_bytes = []
            for order in ("ab", "ba"):
                repo = copy_of(base, Path(d) / f"m{order}")
                drop_db(repo)
                repo.float_ok("sync")
                for name in order:
                    repo.float_ok("import", "--from", str(Path(d) / f"exp-{name}"))
                repo.float_ok("export", "--out", str(Path(d) / f"out-{order}"))
                merged_bytes.append(snapshot(Path(d) / f"out-{order}"))
                got = records_of(Path(d) / f"out-{order}")
                for kind in ("decisions", "questions", "references"):
                    have = {r["uid"]: r for r in getattr(got, kind)}
                    for name in "ab":
                        for r in getattr(exports[name], kind):
                            assert r["uid"] in have
                    # each merged record is one side's version of it, unchanged (its
                    # parents may name the other side's version)
                    sides = [without_parents(r) for n in "ab" for r in getattr(exports[n], kind)]
                    for r in have.values():
                        assert without_parents(r) in sides
                folders = {f["path"]: render.folder_record(f) for f in got.folders}
                # every version of both is kept: the one shown, or the one kept aside
                kept = {(c["kind"], c["key"], c["version"]) for c in got.conflicts}
                for name in "ab":
                    for f in exports[name].folders:
                        mine = render.folder_record(f)
                        if any(k != "uid" for k in mine):
                            shown = folders[f["path"]]
                            assert set(shown) - {"uid"}, f["path"]
                            assert shown["version"] == mine["version"] or \
                                ("folder", f["path"], mine["version"]) in kept
                    for kind, single in (("decisions", "decision"), ("questions", "question"),
                                         ("references", "reference")):
                        have = {r["uid"]: r for r in getattr(got, kind)}
                        for r in getattr(exports[name], kind):
                            assert have[r["uid"]]["version"] == r["version"] or \
                                (single, r["uid"], r["version"]) in kept
                            assert record_format.version(r) == r["version"]
                archived = {json.dumps(x["content"], sort_keys=True) for x in got.archived}
                for name in "ab":
                    for x in exports[name].archived:
                        assert json.dumps(x["content"], sort_keys=True) in archived
            assert merged_bytes[0] == merged_bytes[1]

    check()
