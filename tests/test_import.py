from __future__ import annotations

import gc
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from float_hooks.map.build import open_built
from float_hooks.map.sync import sync
from float_hooks.pages import importer
from float_hooks.project import Project
from float_hooks.repo.git import Git
from float_hooks.repo.snapshot import Target
from tests.export_support import EXPORT, author, front, pages
from tests.gitrepo import GitRepo, init_repo
from tests.map_support import drop_db


def drop_db_and_journal(repo: GitRepo) -> None:
    """Another machine's view: no DB and no write journal, only what the exports hold."""
    drop_db(repo)
    (repo.path / ".git" / "float" / "journal.jsonl").unlink(missing_ok=True)


def copy_db(src: Path, dst: Path) -> None:
    gc.collect()
    for p in dst.parent.glob(dst.name + "*"):
        p.unlink()
    with closing(sqlite3.connect(src)) as a, closing(sqlite3.connect(dst)) as b:
        a.backup(b)


def authored_state(repo: GitRepo) -> dict[str, object]:
    q = repo.float_json
    return {
        "folders": q("query", "SELECT path, map_summary, map_children, context_what,"
                     " context_why, context_patterns, context_hash, context_commit, ai_model,"
                     " ai_updated, uid, status FROM folders ORDER BY path"),
        "log": q("query", "SELECT uid, folder_path, date, topic, status, title, decision,"
                 " rationale, before_state, after_state, files_changed, future_agent,"
                 " supersedes, superseded_by, created_at, updated_at FROM log_entries"
                 " ORDER BY uid"),
        "tags": q("query", "SELECT l.uid, t.name FROM log_entry_tags lt JOIN tags t ON"
                  " t.id = lt.tag_id JOIN log_entries l ON l.id = lt.log_entry_id ORDER BY 1, 2"),
        "questions": q("query", "SELECT uid, question, context, folder_path, resolved_by,"
                       " created_at, resolved_at, updated_at FROM open_questions ORDER BY uid"),
        "refs": q("query", 'SELECT uid, source_type, source_id, target_type, target_id, context,'
                  ' created_at, updated_at FROM "references" ORDER BY uid'),
        "archive": q("query", "SELECT uid, path, reason, source_hash, content, archived_at,"
                     " restored_to, restored_at FROM archived_folders ORDER BY path"),
    }


def test_delete_db_then_sync_brings_everything_back(synced: GitRepo) -> None:
    author(synced)
    synced.float_ok("set", "/docs", "--summary", "guide", "--patterns", "one page a topic",
                    "--children-json", '[{"name": "guide.md", "summary": "the guide"}]')
    synced.float_ok("question", "add", "Resolved one?")
    qid = synced.float_json("question", "list")[-1]["uid"]
    synced.float_ok("question", "resolve", qid, "--by", "yes")
    synced.git("rm", "-q", "-r", "docs")
    synced.commit("drop docs")  # /docs' context is archived
    synced.float_ok("sync")
    synced.float_ok("export")
    synced.git("add", ".float")
    synced.commit("export")
    before, exported = authored_state(synced), pages(synced)
    drop_db(synced)
    synced.float_ok("sync")
    assert authored_state(synced) == before
    assert synced.float_json("export")["changed"] is False
    assert pages(synced) == exported
    drop_db(synced)
    synced.float_ok("init")  # init imports too
    assert authored_state(synced) == before


def test_fresh_clone_gets_context_and_staleness_without_history(synced: GitRepo,
                                                                 tmp_path: Path) -> None:
    author(synced)
    synced.float_ok("export")
    synced.git("add", "-A")
    synced.commit("export")
    synced.write("src/auth/login.py", "def login(): return 2\n")
    synced.commit("change login")
    clone = GitRepo(tmp_path / "clone")
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{synced.path}",
                    str(clone.path)], check=True)
    assert clone.git("rev-parse", "--is-shallow-repository").strip() == "true"
    clone.float_ok("sync", "--rev", "HEAD")
    status = clone.folders()
    assert status["/src/auth"] == "stale" and status["/src"] == "pending"
    assert status["/src/auth/tokens"] == "pending" and status["/docs"] == "pending"
    assert clone.float_json("log", "list")[0]["title"] == "Docs in markdown"


def _edit(repo: GitRepo, sql: str, *args: object) -> None:
    conn = sqlite3.connect(repo.path / ".float" / "index.db")
    with conn:
        conn.execute(sql, args)
    conn.close()


def test_two_diverged_exports_keep_every_record(synced: GitRepo, tmp_path: Path) -> None:
    author(synced)
    base = tmp_path / "base.db"
    journal = synced.path / ".git" / "float" / "journal.jsonl"
    copy_db(synced.path / ".float/index.db", base)
    shutil.copy(journal, tmp_path / "base.jsonl")
    synced.float_ok("log", "add", "--title", "Only on A", "--date", "2026-02-01")
    synced.float_ok("set", "/docs", "--summary", "A's docs")
    _edit(synced, "UPDATE folders SET ai_updated = '2030-01-01T00:00:00Z' WHERE path = '/docs'")
    synced.float_ok("export", "--out", str(tmp_path / "a"))
    # machine B: the same base DB with its own journal (a restored backup beside this
    # journal would take A's writes from it first)
    copy_db(base, synced.path / ".float/index.db")
    shutil.copy(tmp_path / "base.jsonl", journal)
    synced.float_ok("log", "add", "--title", "Only on B", "--date", "2026-02-02")
    synced.float_ok("question", "add", "B's question")
    synced.float_ok("set", "/docs", "--summary", "B's older docs")
    synced.float_ok("export", "--out", str(tmp_path / "b"))
    results = []
    for order in (("a", "b"), ("b", "a")):
        drop_db_and_journal(synced)
        synced.float_ok("sync")
        for side in order:
            synced.float_ok("import", "--from", str(tmp_path / side))
        titles = {e["title"] for e in synced.float_json("log", "list")}
        assert titles == {"Use JWT", "Docs in markdown", "Only on A", "Only on B"}
        assert {q["question"] for q in synced.float_json("question", "list")} == \
            {"Keep v1 tokens?", "B's question"}
        assert synced.float_json("show", "/docs")["map_summary"] == "A's docs"  # newer shown
        [kept] = synced.float_json("conflicts")  # ... and B's kept, in either order
        assert kept["key"] == "/docs" and kept["record"]["map_summary"] == "B's older docs"
        synced.float_ok("export", "--out", str(tmp_path / "merged"))
        results.append(pages(synced, tmp_path / "merged"))
        shutil.rmtree(tmp_path / "merged")
    assert results[0] == results[1]  # the merge does not depend on the order


def test_import_nothing_deleted_and_missing_folder_archived(synced: GitRepo,
                                                            tmp_path: Path) -> None:
    synced.float_ok("set", "/docs", "--summary", "guide")
    synced.float_ok("export", "--out", str(tmp_path / "old"))
    synced.git("rm", "-q", "-r", "docs")
    synced.commit("drop docs")
    drop_db_and_journal(synced)
    synced.float_ok("sync")
    synced.float_ok("log", "add", "--title", "local only")
    res = synced.float_json("import", "--from", str(tmp_path / "old"))
    assert res["folders"]["archived"] == 1
    [item] = synced.float_json("archive", "list")
    assert item["path"] == "/docs" and item["reason"] == "imported"
    assert item["content"]["map_summary"] == "guide"
    assert [e["title"] for e in synced.float_json("log", "list")] == ["local only"]
    again = synced.float_json("import", "--from", str(tmp_path / "old"))
    assert again["folders"]["archived"] == 0 and len(synced.float_json("archive", "list")) == 1


def test_import_matches_a_moved_folder_by_uid(synced: GitRepo, tmp_path: Path) -> None:
    synced.float_ok("set", "/docs", "--summary", "guide")
    synced.float_ok("export", "--out", str(tmp_path / "old"))
    synced.git("mv", "docs", "manual")
    synced.commit("rename")
    synced.float_ok("sync")
    assert synced.float_json("show", "/manual")["map_summary"] == "guide"
    res = synced.float_json("import", "--from", str(tmp_path / "old"))
    assert res["folders"] == {"added": 0, "updated": 0, "unchanged": 1, "archived": 0,
                              "conflicts": 0}
    assert synced.float_json("archive", "list") == []


def test_the_import_check_brings_in_a_teammates_export_after_pull(synced: GitRepo,
                                                           tmp_path: Path) -> None:
    synced.float_ok("export")
    synced.git("add", "-A")
    synced.commit("export")
    mine = GitRepo(tmp_path / "mine")
    subprocess.run(["git", "clone", "-q", str(synced.path), str(mine.path)], check=True)
    mine.float_ok("sync")
    # the teammate adds a folder with context and commits the export
    synced.write("lib/util.py", "X = 1\n")
    synced.commit("lib")
    synced.float_ok("sync")
    synced.float_ok("set", "/lib", "--summary", "helpers", "--model", "m")
    synced.float_ok("log", "add", "--title", "teammate decision")
    synced.float_ok("export")
    synced.git("add", "-A")
    synced.commit("export again")
    mine.git("pull", "-q", "--ff-only")
    project = Project.discover(mine.path)
    store = open_built(project)
    try:
        importer.import_if_changed(project, store)  # what post-merge does, before it syncs
        assert store.get_meta(importer.EXPORT_TREE_KEY) == importer.committed_tree(project)
        sync(project.git, store, Target("commit"), scope=project.scope())
        assert importer.import_if_changed(project, store) is None  # cheap: unchanged
    finally:
        store.close()
    shown = mine.float_json("show", "/lib")
    assert shown["map_summary"] == "helpers" and shown["status"] == "current"
    assert mine.float_json("archive", "list") == []
    assert [e["title"] for e in mine.float_json("log", "list")] == ["teammate decision"]


def test_the_import_check_on_a_bare_mirror_reads_the_commit(synced: GitRepo,
                                                           tmp_path: Path) -> None:
    author(synced)
    synced.float_ok("export")
    synced.git("add", "-A")
    head = synced.commit("export")
    bare = tmp_path / "mirror.git"
    subprocess.run(["git", "clone", "-q", "--mirror", str(synced.path), str(bare)], check=True)
    project = Project(Git.discover(bare), db_path=tmp_path / "server" / "index.db")
    store = open_built(project, create=True)
    try:
        importer.import_if_changed(project, store, head)
        sync(project.git, store, Target("commit", head), scope=project.scope())
        row = store.conn.execute("SELECT map_summary, status FROM folders WHERE path ="
                                 " '/src/auth'").fetchone()
        assert tuple(row) == ("Login and tokens", "current")
        assert store.conn.execute("SELECT count(*) FROM log_entries").fetchone()[0] == 2
        assert store.conn.execute("SELECT count(*) FROM archived_folders").fetchone()[0] == 0
    finally:
        store.close()


def test_import_rejects_records_without_keys(synced: GitRepo, tmp_path: Path) -> None:
    synced.float_ok("log", "add", "--title", "x", "--date", "2026-01-02")
    synced.float_ok("export")
    month = synced.path / EXPORT / "_log/2026/01-jan.md"
    month.write_text(month.read_text().replace("- uid:", "- notuid:"))
    r = synced.float("import")
    assert r.code == 2 and "01-jan.md" in r.err and "uid" in r.err
    month.write_text(month.read_text().replace("format: 1", "format: 99"))
    r = synced.float("import")
    assert r.code == 2 and "upgrade" in r.err
    page = synced.path / EXPORT / "docs/_folder.md"
    page.write_text(page.read_text().replace("path: /docs", "where: /docs"))
    month.unlink()
    r = synced.float("import")
    assert r.code == 2 and "docs/_folder.md" in r.err and "path" in r.err
    assert front(synced, "_index.md")["kind"] == "index"


def test_import_from_missing_dir_is_a_clear_error(synced: GitRepo, tmp_path: Path) -> None:
    r = synced.float("import", "--from", str(tmp_path / "nope"))
    assert r.code == 2 and "no such directory" in r.err


def test_repo_without_export_still_syncs(tmp_path: Path) -> None:
    repo = init_repo(tmp_path / "r")
    repo.write("a.txt")
    repo.commit("a")
    repo.float_ok("init")
    assert repo.float_json("status")["folders"] == 1
