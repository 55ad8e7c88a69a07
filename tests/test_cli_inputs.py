"""Every CLI input error is one line and exit 2 (issue 28): arguments that are not UTF-8,
JSON of the wrong types, texts over the limit the agents' tools have, a month that is no
month; and export never writes a page that import refuses."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from float_hooks.store.limits import MAX_TEXT
from tests.gitrepo import GitRepo

BAD = b"\xff\xfeab"


def run_bytes(repo: GitRepo, *args: str | bytes, stdin: bytes | None = None
              ) -> subprocess.CompletedProcess[bytes]:
    """The CLI as a real process, arguments given as bytes (the OS hands them over so)."""
    return subprocess.run([sys.executable, "-m", "float_hooks", *args], cwd=repo.path,
                          input=stdin, capture_output=True,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)})


def one_line(r: subprocess.CompletedProcess[bytes]) -> str:
    err = r.stderr.decode("utf-8", "replace")
    assert r.returncode == 2, (r.returncode, err)
    assert "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("args", [
    [b"show", BAD],
    [b"search", BAD],
    [b"set", b"src", b"--summary", BAD],
    [b"log", b"add", b"--title", BAD],
    [b"question", b"add", BAD],
])
def test_an_argument_that_is_not_utf8_is_one_line_naming_its_bytes(synced: GitRepo,
                                                                     args: list[bytes]) -> None:
    line = one_line(run_bytes(synced, *args))
    assert "\\xff\\xfeab" in line, line


def test_from_json_that_is_not_utf8(synced: GitRepo, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"map_summary": "' + BAD + b'"}')
    line = one_line(run_bytes(synced, "set", "src", "--from-json", str(bad)))
    assert "not UTF-8" in line and "\\xff" in line


@pytest.mark.parametrize("data, field", [
    (b'{"map_summary": 5}', "map_summary"),
    (b'{"context_patterns": [1, {"a": 2}]}', "context_patterns"),
    (b'{"context_what": ["x"]}', "context_what"),
    (b'{"map_children": ["x"]}', "map_children"),
    (b'{"ai_model": 3}', "ai_model"),
])
def test_from_json_fields_of_the_wrong_type(synced: GitRepo, data: bytes, field: str) -> None:
    line = one_line(run_bytes(synced, "set", "src", "--from-json", "-", stdin=data))
    assert f"{field} must be" in line, line
    assert synced.float_json("show", "src")["map_summary"] is None  # nothing stored


@pytest.mark.parametrize("args, name", [
    (["set", "src", "--summary", "x" * (MAX_TEXT + 1)], "--summary"),
    (["log", "add", "--title", "t", "--decision", "x" * (MAX_TEXT + 1)], "decision"),
    (["question", "add", "x" * (MAX_TEXT + 1)], "question"),
])
def test_texts_have_the_tools_limit(synced: GitRepo, args: list[str], name: str) -> None:
    r = synced.float(*args)
    assert r.code == 2 and f"{MAX_TEXT:,} characters" in r.err and name in r.err, r.err
    assert len(r.err.strip().splitlines()) == 1
    synced.float_ok(*[a if len(a) <= MAX_TEXT else "x" * MAX_TEXT for a in args])  # the bound


@pytest.mark.parametrize("month", ["2026-13", "2026-00", "26-01", "soon"])
def test_log_list_refuses_a_month_that_is_no_month(synced: GitRepo, month: str) -> None:
    r = synced.float("log", "list", "--month", month)
    assert r.code == 2 and "YYYY-MM" in r.err


def test_export_never_writes_a_page_import_refuses(synced: GitRepo) -> None:
    synced.float_ok("set", "src", "--summary", "short", "--model", "m")
    synced.float_ok("export")
    before = {p: p.read_bytes() for p in (synced.path / ".float/project").rglob("*.md")}
    # a DB from before the limits: a 3 MB summary
    with closing(sqlite3.connect(synced.path / ".float" / "index.db")) as conn:
        conn.execute("UPDATE folders SET context_what = ? WHERE path = '/src'",
                     ("word " * 600_000,))
        conn.commit()
    r = synced.float("export")
    assert r.code == 2 and "MiB" in r.err and len(r.err.strip().splitlines()) == 1, r.err
    after = {p: p.read_bytes() for p in (synced.path / ".float/project").rglob("*.md")}
    assert after == before
