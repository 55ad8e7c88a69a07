"""Documented promises of the command line that no other test drove (issue 22), each on a real
repository with real `git commit`: the background worker's log in `.git/float-worker.log`,
the CLI `query`'s default row limit, and the builtin regenerator reading a Go module
(`go.mod`, `// Package`) and a Rust module (`mod.rs`)."""

from __future__ import annotations

from pathlib import Path

from float_hooks.project import Project
from float_hooks.regen import worker
from tests.gitrepo import GitRepo
from tests.regen_support import configure, folder, jobs
from tests.waiting import wait_until

# 20,000 rows from a recursive CTE: more than any default limit, without a big map
MANY_ROWS = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)"
             " SELECT i FROM n")


def _drained(repo: GitRepo, project: Project) -> bool:
    return not worker.is_running(project) and jobs(repo) == {}


def _text(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def test_background_worker_writes_its_output_to_git_dir_float_worker_log(
        synced: GitRepo) -> None:
    # docs: `"background"` also starts one detached `worker --drain` ...; its output goes
    # to `.git/float-worker.log`
    configure(synced, on_commit="background")  # the builtin regenerator (default kind)
    synced.float_ok("install")
    project = Project.discover(synced.path)
    log = synced.path / ".git" / "float-worker.log"
    assert not log.exists()

    synced.write("src/auth/login.py", "def login(): return 'v2'\n")
    out = synced.git("commit", "-q", "-a", "-m", "change auth")  # the real post-commit hook
    wait_until(lambda: "regenerated /src\n" in _text(log), "the worker's lines in the log", 60)
    wait_until(lambda: _drained(synced, project), "the background worker to drain", 60)
    first = log.read_text()
    assert "regenerated /src/auth\n" in first and "regenerated /src\n" in first, first
    assert "regenerated" not in out  # the worker's output went to the log, not to git's
    assert folder(synced, "/src/auth")["ai_model"] == "builtin"

    # a second commit starts a second worker: its lines are appended to the same log
    synced.write("docs/guide.md", "# guide v2\n")
    synced.git("commit", "-q", "-a", "-m", "change docs")
    wait_until(lambda: "regenerated /docs\n" in _text(log), "the second worker's lines", 60)
    wait_until(lambda: _drained(synced, project), "the second worker to drain", 60)
    second = log.read_text()
    assert second.startswith(first) and "regenerated /docs\n" in second[len(first):], second
    # in the git dir: the log never shows up in the work tree
    assert "float-worker" not in synced.git("status", "--porcelain", "--ignored",
                                            "--untracked-files=all")
    assert list(synced.path.glob("**/float-worker.log*")) == [log]


def test_cli_query_returns_at_most_10000_rows_by_default_and_says_so(synced: GitRepo) -> None:
    # docs: `query` ... returns at most `--max-rows` rows (10,000; a note on stderr when cut)
    r = synced.float_proc("query", MANY_ROWS, "--json")
    assert r.code == 0, r.err
    rows = r.json()
    assert len(rows) == 10_000 and rows[0] == {"i": 1} and rows[-1] == {"i": 10_000}
    assert r.err.strip() == "float-hooks: showing the first 10000 rows (--max-rows)"
    # the table form is cut the same way (a header, a rule and 10,000 rows)
    table = synced.float_proc("query", MANY_ROWS)
    assert table.code == 0 and "first 10000 rows" in table.err
    lines = table.out.splitlines()
    assert lines[-1].strip() == "10000" and "10001" not in table.out
    # an explicit --max-rows replaces the default, and no note when nothing was cut
    more = synced.float_proc("query", MANY_ROWS, "--json", "--max-rows", "20000")
    assert more.code == 0 and len(more.json()) == 20_000 and more.err == ""


def test_builtin_regenerator_reads_go_mod_go_package_docs_and_rust_mod_rs(
        repo: GitRepo) -> None:
    # docs: `builtin`: `map_summary` and `context_what` from the folder's README, package
    # docstring (`__init__.py`, `//!` in `lib.rs`/`mod.rs`, `// Package` in Go) or manifest
    # (`pyproject.toml`, `package.json`, `Cargo.toml`, `go.mod`)
    repo.write("svc/go.mod", "module example.com/acme/svc\n\ngo 1.22\n\nrequire (\n"
               "\tgithub.com/x/y v1.2.3\n)\n")
    repo.write("svc/server.go", "// Copyright 2026 Acme.\n\n// Package svc serves the widget"
               " API over HTTP.\n// It also checks tokens.\n//\n// More detail.\npackage svc\n")
    repo.write("svc/handlers.go", "package svc\n\nfunc Handle() {}\n")
    repo.write("tool/go.mod", "module example.com/acme/tool\n\ngo 1.22\n")
    repo.write("tool/main.go", "package main\n\nfunc main() {}\n")
    repo.write("engine/Cargo.toml", '[package]\nname = "engine"\nversion = "0.1.0"\n')
    repo.write("engine/src/lib.rs", "pub mod pricing;\n")
    repo.write("engine/src/pricing/mod.rs", "//! Prices, taxes and\n//! discounts for a cart.\n"
               "//!\n//! Details.\n\npub fn price() {}\n")
    repo.write("engine/src/pricing/tax.rs", "pub fn tax() {}\n")
    repo.commit("a Go module and a Rust crate")
    repo.float_ok("init")
    r = repo.float_json("regenerate")
    assert r["failed"] == [] and r["remaining"] == 0

    svc = folder(repo, "/svc")
    assert svc["ai_model"] == "builtin"
    assert svc["map_summary"] == "Package svc serves the widget API over HTTP."
    assert svc["context_what"].startswith(
        "Package svc serves the widget API over HTTP. Go module example.com/acme/svc."), svc
    tool = folder(repo, "/tool")  # go.mod alone says what the folder is
    assert "Go module example.com/acme/tool." in tool["context_what"], tool
    pricing = folder(repo, "/engine/src/pricing")
    assert pricing["map_summary"] == "Prices, taxes and discounts for a cart."
    assert pricing["context_what"].startswith("Prices, taxes and discounts for a cart."), pricing
    assert "Rust crate engine." in folder(repo, "/engine")["context_what"]
    # and a parent's map carries the child's summary read from mod.rs
    children = {c["name"]: c for c in folder(repo, "/engine/src")["map_children"]}
    assert children["pricing"]["summary"] == "Prices, taxes and discounts for a cart."

