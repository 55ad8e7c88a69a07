"""Helpers for the durability, conflict and fault-injection tests: a ledger of every authored
record a test wrote, and the disasters it survives (a deleted DB, git clean, a clone)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.gitrepo import GitRepo
from tests.waiting import wait_until

JOURNAL = Path(".git") / "float" / "journal.jsonl"


def clone(src: GitRepo, dest: Path, *args: str) -> GitRepo:
    subprocess.run(["git", "clone", "-q", *args, str(src.path), str(dest)], check=True)
    return GitRepo(dest)


def db_rows(repo: GitRepo, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """Rows straight from the DB file, without float-hooks (no build, no migration)."""
    with closing(sqlite3.connect(repo.path / ".float" / "index.db")) as conn:
        return [tuple(r) for r in conn.execute(sql, params)]


def derived_map(repo: GitRepo) -> dict[str, Any]:
    """The derived part of the map: every file's and folder's hash."""
    q = repo.float_json
    return {"files": q("query", "SELECT path, mode, content_hash FROM files ORDER BY path"),
            "folders": q("query", "SELECT path, source_hash FROM folders ORDER BY path")}


@dataclass
class Ledger:
    """What a test wrote and must find again: folder summaries, decision titles, questions,
    references (and the writes a kill may have cut off: in ``maybe`` until seen)."""

    folders: dict[str, str] = field(default_factory=dict)
    decisions: set[str] = field(default_factory=set)
    questions: set[str] = field(default_factory=set)
    refs: set[str] = field(default_factory=set)
    maybe: dict[str, tuple[str, str]] = field(default_factory=dict)

    def write(self, repo: GitRepo, kind: str, key: str, value: str = "") -> None:
        """Write one record through the real CLI (in process) and note it."""
        if kind == "folder":
            repo.float_ok("set", key, "--summary", value, "--model", "ledger")
            self.folders[key] = value
        elif kind == "decision":
            repo.float_ok("log", "add", "--title", key, "--decision", value or key)
            self.decisions.add(key)
        elif kind == "question":
            repo.float_ok("question", "add", key)
            self.questions.add(key)
        else:
            repo.float_ok("ref", "add", "folder:/src", f"url:https://example.invalid/{key}",
                          "--context", key)
            self.refs.add(key)

    def state(self, repo: GitRepo) -> dict[str, Any]:
        q = repo.float_json
        return {
            "folders": {r["path"]: r["map_summary"] for r in
                        q("query", "SELECT path, map_summary FROM folders")},
            "decisions": {r["title"] for r in q("query", "SELECT title FROM log_entries")},
            "questions": {r["question"] for r in
                          q("query", "SELECT question FROM open_questions")},
            "refs": {r["context"] for r in q("query", 'SELECT context FROM "references"')},
        }

    def missing(self, repo: GitRepo) -> list[str]:
        """Every ledger record the repository's map lacks (it is built first if need be).

        A write in ``maybe`` (its process was killed) may or may not have happened; once it
        is seen, it is a record like the others: it must never vanish again."""
        have = self.state(repo)
        for key, (kind, value) in list(self.maybe.items()):
            if kind == "folder" and have["folders"].get(key) == value:
                self.folders[key] = value
            elif kind == "decision" and key in have["decisions"]:
                self.decisions.add(key)
            elif kind == "question" and key in have["questions"]:
                self.questions.add(key)
            else:
                continue
            del self.maybe[key]
        lost = [f"folder {p}: {s!r} (has {have['folders'].get(p)!r})"
                for p, s in self.folders.items() if have["folders"].get(p) != s]
        lost += [f"decision {t}" for t in self.decisions - have["decisions"]]
        lost += [f"question {t}" for t in self.questions - have["questions"]]
        lost += [f"ref {t}" for t in self.refs - have["refs"]]
        return lost


def run_float(repo: GitRepo, *args: str, env: dict[str, str] | None = None,
              cwd: Path | None = None) -> subprocess.Popen[bytes]:
    """The checkout's own CLI as a process (killable)."""
    return subprocess.Popen([sys.executable, "-m", "float_hooks", *args],
                            cwd=cwd or repo.path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, **(env or {})})


def wait_stopped(proc: subprocess.Popen[bytes], timeout: float = 60.0) -> bool:
    """Wait until ``proc`` stopped itself at its failpoint (True) or exited (False)."""
    def state() -> str | None:
        if proc.poll() is not None:
            return "exited"
        try:
            with open(f"/proc/{proc.pid}/stat", "rb") as f:
                stopped = f.read().rpartition(b")")[2].split()[0] == b"T"
        except OSError:
            stopped = False
        return "stopped" if stopped else None

    return wait_until(state, f"process {proc.pid} to stop or exit", timeout,
                      interval=0.005) == "stopped"


def kill(proc: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    """SIGKILL ``proc``; what it wrote on stdout and stderr."""
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate()
    return out, err


def journal_lines(repo: GitRepo) -> list[dict[str, Any]]:
    """The journal's entries (its header left out; a line torn by a kill skipped, as the
    product skips it)."""
    entries = []
    for line in (repo.path / JOURNAL).read_bytes().splitlines()[1:]:
        try:
            entries.append(json.loads(line))
        except ValueError:
            continue
    return entries
