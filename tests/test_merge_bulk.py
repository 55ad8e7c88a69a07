"""Folder records merged in bulk (store/merge_bulk.py) give exactly what merging them one by
one gives: the same folders, versions, uids, conflicts, archive, history marks, context
versions, journal marks and counts, on records that mix every case of the merge rule."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from float_hooks.map.build import open_built
from float_hooks.project import Project
from float_hooks.store import folder_context, merge_bulk
from float_hooks.store.db import Store
from float_hooks.store.merge import ExportData, Merger
from tests.gitrepo import init_repo

N = 30


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = init_repo(tmp_path_factory.mktemp("bulk") / "repo")
    for i in range(N):
        repo.write(f"d{i}/f.py", f"x = {i}\n")
    repo.commit("tree")
    repo.float_ok("init")
    project = Project.discover(repo.path)
    store = open_built(project)
    # local context on three folders (a conflict, a replaced version, the same content)
    for i in (0, 1, 2):
        folder_context.set_context(store, f"/d{i}", {"map_summary": f"local {i}"}, model="m")
    with store.write() as conn:  # folders holding a uid but no context
        conn.execute("UPDATE folders SET uid = 'held-5' WHERE path = '/d5'")
        conn.execute("UPDATE folders SET uid = 'held-6' WHERE path = '/d6'")
        conn.execute("UPDATE folders SET uid = 'held-7' WHERE path = '/d7'")
    local: dict[str, Any] = {
        str(i): dict(store.conn.execute("SELECT version, uid FROM folders WHERE path = ?",
                                        (f"/d{i}",)).fetchone()) for i in (1, 2)}
    local["hash4"] = store.conn.execute("SELECT source_hash FROM folders WHERE path = '/d4'"
                                        ).fetchone()[0]
    store.close()
    (repo.path / "local.txt").write_text(json.dumps(local))
    return repo.path


def records(base: Path) -> ExportData:
    local = json.loads((base / "local.txt").read_text())
    folders: list[dict[str, Any]] = []
    for i in range(3, N - 6):  # d24-d29: the odd cases only
        rec: dict[str, Any] = {"path": f"/d{i}", "map_summary": f"about {i}",
                               "context_what": f"what {i}\nline two", "ai_model": "bench",
                               "ai_updated": f"2026-01-{i % 28 + 1:02d}T00:00:00Z"}
        if i % 3:
            rec["uid"] = f"u{i}"
        if i % 4 == 0:  # context for the folder's present hash, or for another
            rec["context_hash"] = local["hash4"] if i == 4 else f"h{i}"
        if i % 5 == 0:
            rec["version"] = "declared-elsewhere"
            rec["parents"] = ["p1"]
        folders.append(rec)
    # the odd cases first: in the order given, each meets the folders before their records
    folders[:0] = [
        {"path": "/d0", "map_summary": "incoming 0", "ai_updated": "2027-01-01T00:00:00Z"},
        {"path": "/d1", "map_summary": "replaces local", "parents": [local["1"]["version"]]},
        {"path": "/d2", "map_summary": "local 2", "uid": local["2"]["uid"]},
        {"path": "/d3", "map_summary": "a second record for d3", "uid": "other"},
        {"path": "/gone", "map_summary": "no such folder", "uid": "g1"},
        {"path": "/gone2", "map_summary": "found by the uid it held", "uid": "held-5"},
        {"path": "/d24", "map_summary": "a uid d7 holds", "uid": "held-7"},
        {"path": "/d25", "map_summary": "a uid d8's record carries", "uid": "u8"},
        {"path": "/d26", "map_summary": "two records share a uid", "uid": "twice"},
        {"path": "/d27", "map_summary": "two records share a uid", "uid": "twice"},
        {"path": "/d28", "map_summary": "", "uid": ""},
        {"path": "/d29"},  # no context: nothing
    ]
    return ExportData(folders=folders)


def dump(db: Path, given_uids: set[str]) -> dict[str, Any]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    out: dict[str, Any] = {}
    for table, order in (("folders", "path"), ("conflicts", "uid"),
                         ("archived_folders", "path, uid"), ("changed_since", "folder_path"),
                         ("context_versions", "folder_path"), ("journal_pending", "key")):
        rows = []
        for row in conn.execute(f"SELECT * FROM {table} ORDER BY {order}"):
            rec = {k: v for k, v in dict(row).items()
                   if k not in ("updated_at", "created_at", "archived_at", "id")}
            for column in ("content", "record"):  # JSON holding a folder's uid
                if column in rec:
                    rec[column] = _masked(json.loads(rec[column]), given_uids)
            if table != "conflicts":
                rec = _masked(rec, given_uids)
            rows.append(rec)
        out[table] = rows
    conn.close()
    return out


def _masked(rec: dict[str, Any], given_uids: set[str]) -> dict[str, Any]:
    if rec.get("uid") and rec["uid"] not in given_uids:
        return {**rec, "uid": "<new>"}  # a random uid: one on each side
    return rec


@pytest.mark.parametrize("durable", [False, True])
def test_bulk_merge_equals_one_by_one(base: Path, tmp_path: Path, durable: bool,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    data = records(base)
    given = {str(r["uid"]) for r in data.folders if r.get("uid")} \
        | {"held-5", "held-6", "held-7"}
    results, dumps = [], []
    staged: list[int] = []
    real_write = merge_bulk._write

    def counting(conn: sqlite3.Connection, rows: list[Any], durable: bool) -> None:
        staged.append(len(rows))
        real_write(conn, rows, durable)

    monkeypatch.setattr(merge_bulk, "_write", counting)
    for bulk in (True, False):
        db = tmp_path / f"{bulk}.db"
        shutil.copy(base / ".float" / "index.db", db)
        monkeypatch.setattr(merge_bulk, "BULK_MIN", 16 if bulk else 10**9)
        store = Store.open(db)
        with store.write() as conn:
            results.append(Merger(conn, durable=durable, source="x").merge(data))
        store.close()
        dumps.append(dump(db, given))
    assert staged and staged[0] >= N - 14  # most went in bulk
    assert results[0] == results[1]
    assert dumps[0] == dumps[1]
    assert results[0].folders.conflicts >= 1 and results[0].folders.archived >= 1
