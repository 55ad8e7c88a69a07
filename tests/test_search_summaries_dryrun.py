"""Issue 16, the map's read side: search ranks a named folder first and marks matches so they
cannot be taken for markdown; built-in summaries are whole first sentences and `show` prints
each file's; `regenerate --dry-run` estimates without reading files, writes nothing and takes
no lock."""

from __future__ import annotations

import json
import os
import pty
import sqlite3
import subprocess
import sys

import pytest

from float_hooks.code.summaries import first_line, first_sentence
from float_hooks.map.build import open_built
from float_hooks.project import Project
from float_hooks.regen import estimate, job_queue, request
from tests.gitrepo import GitRepo
from tests.regen_support import configure


# -- search ----------------------------------------------------------------------------------
@pytest.fixture
def flaskish(repo: GitRepo) -> GitRepo:
    """Shaped like pallets/flask: /src holds the package /src/flask, whose name the context of
    /src and /docs repeats."""
    repo.write("src/flask/app.py", '"""The Flask application object."""\n')
    repo.write("src/flask/json/tag.py", "TAGS = []\n")
    repo.write("docs/index.md", "# Flask docs\n")
    repo.commit("initial")
    repo.float_ok("init")
    repo.float_ok("set", "/src", "--summary", "Flask's source: flask, flask and flask",
                  "--what", "The flask package and its flask helpers")
    repo.float_ok("set", "/docs", "--what", "How to use flask, see [the guide](guide.md)")
    return repo


def test_a_folder_name_ranks_that_folder_first(flaskish: GitRepo) -> None:
    hits = flaskish.float_json("search", "flask")["results"]
    assert [h["id"] for h in hits][:3] == ["/src/flask", "/src", "/docs"]
    assert hits[0]["match"] == "name" and hits[1]["match"] == "text"
    assert flaskish.float_json("search", "FLASK")["results"][0]["id"] == "/src/flask"  # any case


def test_a_file_name_or_a_path_ranks_its_folder_first(flaskish: GitRepo) -> None:
    hits = flaskish.float_json("search", "app.py")["results"]  # a file's hit, since issue 24
    assert hits[0]["id"] == "/src/flask/app.py" and hits[0]["match"] == "file"
    assert hits[0]["kind"] == "file" and hits[0]["folder"] == "/src/flask"
    assert "/src/flask/app.py" in hits[0]["snippet"]
    hits = flaskish.float_json("search", "src/flask/json")["results"]
    assert hits[0]["id"] == "/src/flask/json" and hits[0]["match"] == "path"
    assert flaskish.float_json("search", "tag.py")["results"][0]["id"] == "/src/flask/json/tag.py"
    assert all(h["match"] == "text"  # LIKE wildcards are literal
               for h in flaskish.float_json("search", "100%_")["results"])


def test_matches_are_marked_unlike_markdown(flaskish: GitRepo) -> None:
    [docs] = [h for h in flaskish.float_json("search", "guide")["results"] if h["id"] == "/docs"]
    assert "[the «guide»](«guide».md)" in docs["snippet"]  # never [guide]
    text = flaskish.float_proc("search", "guide")  # a pipe: plain text, the same marks
    assert text.code == 0 and "«guide»" in text.out and "\033[" not in text.out


def _on_a_terminal(repo: GitRepo, *args: str, env: dict[str, str] | None = None) -> str:
    main, child = pty.openpty()
    try:
        proc = subprocess.run([sys.executable, "-m", "float_hooks", *args], cwd=repo.path,
                              stdout=child, stderr=subprocess.PIPE,
                              env={**os.environ, **(env or {})}, timeout=60)
        assert proc.returncode == 0, proc.stderr
        os.close(child)
        child = -1
        out = b""
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # EIO: the writer is gone
                break
            if not chunk:
                break
            out += chunk
        return out.decode()
    finally:
        os.close(main)
        if child != -1:
            os.close(child)


def test_a_terminal_shows_matches_in_bold(flaskish: GitRepo) -> None:
    out = _on_a_terminal(flaskish, "search", "guide")
    assert "\033[1mguide\033[22m" in out and "«" not in out
    plain = _on_a_terminal(flaskish, "search", "guide", env={"NO_COLOR": "1"})
    assert "«guide»" in plain and "\033[" not in plain


# -- built-in summaries ----------------------------------------------------------------------
def test_summaries_are_whole_first_sentences() -> None:
    doc = ('"""The request for one folder is read from the DB (its files and child\n'
           'folders) and from git. No file is read whole."""\n')
    assert first_line("io.py", doc) == ("The request for one folder is read from the DB (its"
                                        " files and child folders) and from git.")
    assert first_line("a.go", "// Package auth issues and checks\n// tokens. More.\n"
                      "package auth\n") == "Package auth issues and checks tokens."
    assert first_line("h.c", "/*\n * Hash tables with open\n * addressing. Fast.\n */\n") == \
        "Hash tables with open addressing."
    assert first_line("x.py", '"""Use e.g. a cache, i.e. memory.\nThen: more."""') == \
        "Use e.g. a cache, i.e. memory."
    assert first_line("v.txt", "Works on Python 3.11 and later. Really.") == \
        "Works on Python 3.11 and later."
    long = first_sentence("word " * 100)
    assert long is not None and long.endswith("word…") and len(long) <= 160


def test_builtin_map_and_show_use_whole_sentences(repo: GitRepo) -> None:
    repo.write("README.md", "# Shop\n\nShop sells things online and ships them\nworldwide."
               " It has a cart.\n")
    repo.write("shop/__init__.py", '"""Checkout, carts and the\npayment flow. Details."""\n')
    repo.write("shop/cart.py", '"""Items, totals and discounts\nof a cart."""\n')
    repo.write("shop/tax.py", "# Tax rules per country, kept\n# in one table.\nRATES = {}\n")
    repo.commit("shop")
    repo.float_ok("init")
    repo.float_ok("regenerate")
    root = repo.float_json("show", "/")
    assert root["map_summary"] == "Shop sells things online and ships them worldwide."
    shop = repo.float_json("show", "/shop")
    assert shop["map_summary"] == "Checkout, carts and the payment flow."
    files = {c["name"]: c["summary"] for c in shop["map_children"]}
    assert files["cart.py"] == "Items, totals and discounts of a cart."
    # then what the file defines (its outline)
    assert files["tax.py"] == "Tax rules per country, kept in one table. Defines RATES."
    shown = repo.float_ok("show", "/shop").out
    assert "cart.py  Items, totals and discounts of a cart." in shown
    assert "tax.py  Tax rules per country, kept in one table. Defines RATES." in shown


# -- regenerate --dry-run --------------------------------------------------------------------
@pytest.fixture
def varied(synced: GitRepo) -> GitRepo:
    synced.write("docs/long.md", "# Long\n" + "words and more words\n" * 3000)
    synced.write("docs/short.md", "# Short\n")
    synced.write("src/auth/blob.bin", bytes(range(256)) * 4)
    synced.write("src/many/" + "x" * 3, "")
    for i in range(30):
        synced.write(f"src/many/m{i:02d}.py", f'"""Module {i}."""\n' + "x = 1\n" * (i * 40))
    synced.commit("more files")
    synced.write("src/auth/untracked.py", '"""Only in the work tree."""\n' + "y = 2\n" * 500)
    synced.float_ok("sync")
    synced.float_ok("set", "/src/auth", "--what", "Login and tokens")
    synced.write("src/auth/login.py", "def login(): return 2\n")  # stale, with a record
    synced.float_ok("sync")
    return synced


def test_dry_run_estimates_without_reading_files(varied: GitRepo,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    project = Project.discover(varied.path)
    store = open_built(project)
    try:
        budget = int(project.config["regenerate"]["input_budget"])
        real = {}
        for job in job_queue.planned(store.conn):
            req = request.build_request(project.git, store.conn, job["path"],
                                         job["source_hash"], budget)
            real[job["path"]] = (req.estimate_tokens(), len(req.files), len(req.folders))
    finally:
        store.close()

    def no_reading(*_: object) -> None:
        raise AssertionError("the dry run read a file")

    monkeypatch.setattr(request, "read_heads", no_reading)
    planned = varied.float_json("regenerate", "--dry-run")
    assert {j["path"] for j in planned} == set(real)
    for job in planned:
        tokens, files, folders = real[job["path"]]
        assert (job["files"], job["folders"]) == (files, folders), job
        assert 0.75 * tokens <= job["estimated_tokens"] <= 1.25 * tokens, (job, tokens)
    by_path = {j["path"]: j for j in planned}
    assert by_path["/docs"]["reason"] == "pending"
    assert by_path["/src/auth"]["reason"] == "stale"


def test_dry_run_writes_nothing_and_waits_for_no_writer(varied: GitRepo) -> None:
    configure(varied, lock_timeout=1)
    writer = sqlite3.connect(varied.path / ".float" / "index.db")
    writer.execute("BEGIN IMMEDIATE")  # a sync or hook holding the write lock
    try:
        proc = varied.float_proc("regenerate", "--dry-run", "--json")
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert proc.code == 0, proc.err
    assert json.loads(proc.out)
    assert varied.float_json("jobs") == []


@pytest.mark.parametrize("within", [None, ["/src"], ["/src/auth", "/docs"]])
@pytest.mark.parametrize("force", [False, True])
def test_planned_equals_what_enqueueing_would_leave(varied: GitRepo, within: list[str] | None,
                                                    force: bool) -> None:
    store = open_built(Project.discover(varied.path))
    conn = store.conn
    try:
        with store.write() as c:  # open jobs of every kind the queue can hold
            job_queue.enqueue_all(c)
            c.execute("UPDATE jobs SET state = 'failed' WHERE folder_path = '/docs'")
            c.execute("UPDATE jobs SET state = 'running', lease_until = 1e12"
                      " WHERE folder_path = '/src/many'")
            c.execute("UPDATE jobs SET source_hash = 'old' WHERE folder_path = '/src'")
            c.execute("UPDATE folders SET context_hash = source_hash"
                      " WHERE path = '/src/auth/tokens'")
            c.execute("UPDATE jobs SET reason = 'child' WHERE folder_path = '/src/auth/tokens'")
        got = job_queue.planned(conn, within, force=force)
        conn.execute("BEGIN IMMEDIATE")
        try:
            job_queue.enqueue_all(conn, within, force=force, retry_failed=True)
            rows = conn.execute(
                "SELECT folder_path, source_hash, reason FROM jobs WHERE state != 'failed'"
                " ORDER BY depth DESC, folder_path").fetchall()
        finally:
            conn.execute("ROLLBACK")
    finally:
        store.close()
    wanted = [{"path": p, "source_hash": h, "reason": r} for p, h, r in rows
              if not within or any(p == w or p.startswith(w + "/") for w in within)]
    assert got == wanted


@pytest.mark.parametrize("chunk", [1 << 20, 61, 97, 150])
def test_index_sizes_match_the_files(repo: GitRepo, monkeypatch: pytest.MonkeyPatch,
                                     chunk: int) -> None:
    """Parsed as git's output arrives, in chunks that cut entries anywhere."""
    names = ["top.py", "a b/c d.txt", "ünï/cödé.md", "deep/er/est/x.rs", "deep/er/y.go",
             "empty/e.txt", "link-target/t.txt"]
    for i, name in enumerate(names * 3):
        repo.write(f"{i % 3}/{name}" if i >= len(names) else name, "z" * (i * 37))
    os.symlink("t.txt", repo.path / "link-target" / "link")  # not a regular file: left out
    repo.commit("files")
    monkeypatch.setattr(estimate.IndexSizes, "CHUNK", chunk)
    sizes = estimate.IndexSizes(Project.discover(repo.path).git).by_folder([])
    expected: dict[str, list[int]] = {}
    for line in filter(None, repo.git("ls-files", "-s", "-z").split("\0")):
        meta, path = line.split("\t", 1)
        if meta.startswith("1006") or meta.startswith("1007"):
            folder = "/" + path.rsplit("/", 1)[0] if "/" in path else "/"
            expected.setdefault(folder, []).append((repo.path / path).stat().st_size)
    assert {k: sorted(v) for k, v in sizes.items()} == {k: sorted(v) for k, v in expected.items()}
