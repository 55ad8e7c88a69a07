"""The fault-injection harness (tests/test_faults.py, tests/test_faults_more.py): an origin with
authored records and its export committed, an operation run as a real process and killed at a
named failpoint (float_hooks/failpoints.py) or a seeded random time, and the checks after each
trial (no ledger record lost, the map equal to a full rebuild, the DB sound).

``FLOAT_FAULT_TRIALS`` sets the trials per operation (each test has its own default).
"""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

from float_hooks.map import build
from float_hooks.project import Project
from float_hooks.repo.git import Git
from float_hooks.repo.snapshot import Target
from tests.authored_support import (
    Ledger,
    db_rows,
    derived_map,
    journal_lines,
    kill,
    run_float,
    wait_stopped,
)
from tests.gitrepo import GitRepo, init_repo
from tests.map_support import drop_db

SEED = 20261202
FOLDERS = ["/", "/src", "/src/auth", "/src/api", "/docs", "/lib", "/lib/util"]

Start = Callable[[dict[str, str]], "subprocess.Popen[bytes]"]


def trial_count(default: int) -> int:
    return int(os.environ.get("FLOAT_FAULT_TRIALS", str(default)))


def make_origin(root: Path) -> tuple[GitRepo, Ledger]:
    repo = init_repo(root / "origin")
    for f in FOLDERS[1:]:
        for i in range(8):
            repo.write(f"{f[1:]}/m{i}.py", f"# {f} module {i}\nX = {i}\n")
    repo.write("README.md", "# origin\n")
    repo.commit("tree")
    repo.float_ok("init")
    ledger = Ledger()
    for f in FOLDERS:
        ledger.write(repo, "folder", f, f"context of {f}")
    ledger.write(repo, "decision", "origin decision")
    ledger.write(repo, "question", "origin question?")
    ledger.write(repo, "ref", "origin-ref")
    repo.float_ok("export")
    repo.git("add", "-A")
    repo.commit("float with its export")
    return repo, ledger


def fresh_map(repo: GitRepo, where: Path) -> dict[str, Any]:
    """The derived map a brand-new DB builds from the same work tree."""
    project = Project(Git.discover(repo.path), db_path=where)
    store = project.open_store()
    try:
        build.build(project, store, Target("worktree"))
        rows = store.conn.execute("SELECT path, mode, content_hash FROM files ORDER BY path")
        files = [dict(zip(("path", "mode", "content_hash"), r, strict=True)) for r in rows]
        folders = [{"path": p, "source_hash": h} for p, h in store.conn.execute(
            "SELECT path, source_hash FROM folders ORDER BY path")]
    finally:
        store.close()
    for side in ("", "-wal", "-shm", "-journal"):
        Path(str(where) + side).unlink(missing_ok=True)
    return {"files": files, "folders": folders}


class Trials:
    """Runs one operation trial after trial, each killed at a failpoint or a seeded time."""

    def __init__(self, name: str, failpoints: list[str], tmp: Path, every: int = 3):
        self.rng = random.Random(f"{SEED}:{name}")
        self.failpoints = failpoints
        self.every = every  # one trial in ``every`` stops at a failpoint
        self.tmp = tmp
        self.duration = 0.5  # measured by the first, unkilled run
        self.timed = self.timed_landed = 0

    def measure(self, start: Start) -> None:
        """The operation's duration unkilled (run aims earlier each time a kill comes after
        the end, so one run slowed by a busy machine does not waste the random kills)."""
        t0 = time.monotonic()
        proc = start({})
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
        self.duration = max(time.monotonic() - t0, 0.05)

    def point(self, i: int) -> str | None:
        """The failpoint trial ``i`` stops at (None: a random moment)."""
        if self.failpoints and i % self.every == 0:
            return self.failpoints[(i // self.every) % len(self.failpoints)]
        return None

    def run(self, i: int, start: Start) -> str | None:
        """Start the operation and kill it: at its failpoint (returned), once the process
        stopped there and said so, or at a random moment within its measured duration."""
        point = self.point(i)
        if point is not None:
            proc = start({"FLOAT_FAILPOINT": point})
            assert wait_stopped(proc), f"trial {i}: {point} was not reached"
            _out, err = kill(proc)
            assert f"float-hooks: failpoint {point}\n" in err.decode(), \
                f"trial {i}: stopped, but not at {point}: {err.decode()[-2000:]}"
            return point
        proc = start({})
        time.sleep(self.rng.uniform(0, self.duration))
        self.timed += 1
        if proc.poll() is None:
            self.timed_landed += 1
        else:  # it ended first: aim the next ones earlier
            self.duration = max(self.duration * 0.7, 0.05)
        kill(proc)
        return None

    def check_landed(self) -> None:
        # random kills that all came after the end would prove nothing (the failpoint
        # trials are the deterministic part; these only add moments nobody named)
        assert self.timed_landed >= 1, (self.timed_landed, self.timed)


def integrity(repo: GitRepo) -> list[str]:
    """``PRAGMA integrity_check`` of the DB file as it is (nothing created if it is gone)."""
    db = repo.path / ".float" / "index.db"
    if not db.exists():
        return ["ok"]
    with closing(sqlite3.connect(db)) as conn:
        return [r[0] for r in conn.execute("PRAGMA integrity_check")]


def verify(repo: GitRepo, ledger: Ledger, tmp: Path, i: int, drop_every: int = 5) -> None:
    """After trial ``i``: the DB is sound, no ledger record is lost, the next sync works and
    the map equals a full rebuild; every ``drop_every`` trials (0: never) the DB is then
    deleted outright and the ledger checked again (rebuilt from the committed export and the
    journal)."""
    assert integrity(repo) == ["ok"], f"trial {i}"
    lost = ledger.missing(repo)
    assert lost == [], f"trial {i}: lost {lost}"
    repo.float_ok("sync")
    assert derived_map(repo) == fresh_map(repo, tmp / f"fresh-{i}.db"), f"trial {i}"
    if drop_every and i % drop_every == drop_every - 1:  # and the DB lost outright
        drop_db(repo)
        lost = ledger.missing(repo)
        assert lost == [], f"trial {i}, DB deleted: lost {lost}"


def cli(repo: GitRepo, *args: str) -> Start:
    """The CLI with ``args``, to start once per trial with that trial's environment."""
    return lambda env: run_float(repo, *args, env=env)


def raw_meta(repo: GitRepo, key: str) -> str | None:
    """A meta value as committed in the DB file (None: no such key, or no DB built yet)."""
    if not (repo.path / ".float" / "index.db").exists():
        return None
    try:
        rows = db_rows(repo, "SELECT value FROM meta WHERE key = ?", key)
    except sqlite3.OperationalError as e:  # an empty file, a build never committed
        assert "no such table" in str(e), e
        return None
    return rows[0][0] if rows else None


def raw_summary(repo: GitRepo, folder: str) -> str | None:
    """A folder's summary as committed in the DB file (no float-hooks open, no catch-up)."""
    rows = db_rows(repo, "SELECT map_summary FROM folders WHERE path = ?", folder)
    return rows[0][0] if rows else None


def journaled(repo: GitRepo, kind: str, field: str, value: str) -> bool:
    """The journal holds a whole line of a ``kind`` record whose ``field`` is ``value``."""
    return any(e["kind"] == kind and (e.get("record") or {}).get(field) == value
               for e in journal_lines(repo))
