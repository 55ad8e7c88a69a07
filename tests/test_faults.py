"""Fault injection: SIGKILL at seeded moments of every path that writes authored content.

Each operation (the first sync of a clone with an export, `import`, `export`, `set`, a hooked
commit with its background post-commit) runs as a real process and is killed, either where it
stops itself at a named failpoint inside its transaction (float_hooks/failpoints.py: the test
then knows the kill landed there) or after a seeded random delay within the time the operation
takes (the test counts how many of those landed before the process finished). After every
trial a ledger of every authored record written so far is checked against the map, the map
is compared with a full rebuild from scratch, and every few trials the DB is deleted outright
and the ledger checked again (rebuilt from the committed export and the write journal).

``FLOAT_FAULT_TRIALS`` sets the trials per operation (30 by default, as in CI).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from float_hooks import build
from float_hooks.git import Git
from float_hooks.project import Project
from float_hooks.snapshot import Target
from tests.authored_support import (
    Ledger,
    clone,
    derived_map,
    journal_lines,
    kill,
    run_float,
    wait_stopped,
)
from tests.gitrepo import GitRepo, init_repo
from tests.map_support import drop_db

TRIALS = int(os.environ.get("FLOAT_FAULT_TRIALS", "30"))
SEED = 20261202
FOLDERS = ["/", "/src", "/src/auth", "/src/api", "/docs", "/lib", "/lib/util"]


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
    store = project.open_store(build=False)
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
    """Runs one operation ``TRIALS`` times, each killed at a failpoint or a seeded time."""

    def __init__(self, name: str, failpoints: list[str], tmp: Path):
        self.rng = random.Random(f"{SEED}:{name}")
        self.failpoints = failpoints
        self.tmp = tmp
        self.duration = 0.5  # measured by the first, unkilled run
        self.timed = self.timed_landed = self.stopped = 0

    def measure(self, start: Callable[[dict[str, str]], subprocess.Popen[bytes]]) -> None:
        t0 = time.monotonic()
        proc = start({})
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
        self.duration = max(time.monotonic() - t0, 0.05)

    def run(self, i: int, start: Callable[[dict[str, str]], subprocess.Popen[bytes]]) -> None:
        """Start the operation and kill it: every third trial at a failpoint, the others at
        a random moment within its measured duration."""
        if self.failpoints and i % 3 == 0:
            point = self.failpoints[(i // 3) % len(self.failpoints)]
            proc = start({"FLOAT_FAILPOINT": point})
            assert wait_stopped(proc), f"{point} was not reached"
            self.stopped += 1
            kill(proc)
            return
        proc = start({})
        time.sleep(self.rng.uniform(0, self.duration))
        self.timed += 1
        if proc.poll() is None:
            self.timed_landed += 1
        kill(proc)

    def check_landed(self) -> None:
        assert self.stopped == len([i for i in range(TRIALS) if self.failpoints and i % 3 == 0])
        # the random kills must mostly land before the process ends, or they prove little
        assert self.timed_landed * 3 >= self.timed, (self.timed_landed, self.timed)


def verify(repo: GitRepo, ledger: Ledger, tmp: Path, i: int) -> None:
    lost = ledger.missing(repo)
    assert lost == [], f"trial {i}: lost {lost}"
    repo.float_ok("sync")
    assert derived_map(repo) == fresh_map(repo, tmp / f"fresh-{i}.db"), f"trial {i}"
    if i % 5 == 4:  # and the DB lost outright
        drop_db(repo)
        lost = ledger.missing(repo)
        assert lost == [], f"trial {i}, DB deleted: lost {lost}"


def cli(repo: GitRepo, *args: str) -> Callable[[dict[str, str]], subprocess.Popen[bytes]]:
    """The CLI with ``args``, to start once per trial with that trial's environment."""
    return lambda env: run_float(repo, *args, env=env)


def test_first_sync_of_a_clone_killed(tmp_path: Path) -> None:
    origin, ledger = make_origin(tmp_path)
    trials = Trials("first-sync", ["sync:applied", "build:imported"], tmp_path)
    first = clone(origin, tmp_path / "measure")
    trials.measure(cli(first, "sync"))
    for i in range(TRIALS):
        repo = clone(origin, tmp_path / f"clone-{i}")
        trials.run(i, cli(repo, "sync"))
        verify(repo, ledger, tmp_path, i)
    trials.check_landed()


def test_import_killed(tmp_path: Path) -> None:
    origin, ledger = make_origin(tmp_path)
    repo = clone(origin, tmp_path / "repo")
    source = clone(origin, tmp_path / "source")
    trials = Trials("import", ["import:merged", "journal:appended"], tmp_path)
    trials.measure(cli(repo, "import", "--from", str(source.path / ".float/project")))
    for i in range(TRIALS):
        # new records on the other side, exported: all of them arrive, or none
        source.float_ok("set", FOLDERS[i % len(FOLDERS)], "--summary", f"imported {i}")
        source.float_ok("log", "add", "--title", f"imported decision {i}")
        source.float_ok("export")
        trials.run(i, cli(repo, "import", "--from", str(source.path / ".float/project")))
        have = ledger.state(repo)
        arrived = [f"imported decision {i}" in have["decisions"],
                   f"imported {i}" in have["folders"].values()]
        assert arrived in ([True, True], [False, False]), f"trial {i}: half an import"
        repo.float_ok("import", "--from", str(source.path / ".float/project"))
        ledger.folders[FOLDERS[i % len(FOLDERS)]] = f"imported {i}"
        ledger.decisions.add(f"imported decision {i}")
        verify(repo, ledger, tmp_path, i)
    trials.check_landed()


def test_export_killed(tmp_path: Path) -> None:
    origin, ledger = make_origin(tmp_path)
    repo = clone(origin, tmp_path / "repo")
    trials = Trials("export", ["export:writing"], tmp_path)
    trials.measure(cli(repo, "export"))
    for i in range(TRIALS):
        for f in FOLDERS[: 3 + i % 4]:  # enough changed pages for a kill to land among them
            ledger.write(repo, "folder", f, f"export trial {i} {f}")
        ledger.write(repo, "decision", f"export decision {i}")
        trials.run(i, cli(repo, "export"))
        verify(repo, ledger, tmp_path, i)
        # what the pages hold now (maybe half written) plus the journal is still everything
        assert repo.float_proc("export").code == 0
    trials.check_landed()


def test_set_and_log_add_killed(tmp_path: Path) -> None:
    origin, ledger = make_origin(tmp_path)
    repo = clone(origin, tmp_path / "repo")
    trials = Trials("set", ["journal:appended"], tmp_path)
    trials.measure(cli(repo, "set", "/src", "--summary", "measured"))
    ledger.folders["/src"] = "measured"
    for i in range(TRIALS):
        folder = FOLDERS[i % len(FOLDERS)]
        if i % 2:
            ledger.maybe[f"set decision {i}"] = ("decision", "")
            trials.run(i, cli(repo, "log", "add", "--title", f"set decision {i}"))
        else:
            before = ledger.folders.get(folder)
            trials.run(i, cli(repo, "set", folder, "--summary", f"set trial {i}"))
            have = ledger.state(repo)["folders"].get(folder)
            acceptable = {before, f"set trial {i}", *ledger.either.get(folder, ())}
            assert have in acceptable, f"trial {i}: {have!r}"
            if have == f"set trial {i}":
                ledger.folders[folder] = have
                ledger.either.pop(folder, None)
            elif any(e["kind"] == "folder" and e["key"] == folder
                     and e.get("record", {}).get("map_summary") == f"set trial {i}"
                     for e in journal_lines(repo)):
                # killed between its journal line and its commit: the map does not have it
                # and a rebuild will; either is right, nothing written is lost
                ledger.either[folder] = {f"set trial {i}", *ledger.either.get(folder, ())}
        verify(repo, ledger, tmp_path, i)
    trials.check_landed()


def _stopped_float_processes(marker: str) -> list[int]:
    """Pids of stopped processes whose environment carries ``marker`` (the hook processes
    git started for this trial)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if marker.encode() not in f.read():
                    continue
            with open(f"/proc/{entry}/stat", "rb") as f:
                if f.read().rpartition(b")")[2].split()[0] == b"T":
                    pids.append(int(entry))
        except OSError:
            continue
    return pids


def test_hooked_commit_killed(tmp_path: Path) -> None:
    origin, ledger = make_origin(tmp_path)
    repo = clone(origin, tmp_path / "repo")
    repo.float_ok("install")
    repo.float_ok("sync")
    rng = random.Random(f"{SEED}:commit")
    points = ["sync:applied:index", "sync:applied:commit"]  # pre-commit, post-commit
    stopped = timed = timed_landed = 0
    t0 = time.monotonic()
    repo.write("src/m0.py", "X = 'measure'\n")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "measure", env={"FLOAT_HOOKS_FOREGROUND": "1"})
    duration = time.monotonic() - t0
    for i in range(TRIALS):
        folder = FOLDERS[1 + i % (len(FOLDERS) - 1)]
        repo.write(f"{folder[1:]}/m{i % 8}.py", f"X = 'trial {i}'\n")
        ledger.write(repo, "folder", folder, f"before commit {i}")  # journaled, then committed
        repo.git("add", "-A")
        marker = f"FLOAT_FAULT_TRIAL=commit-{i}"
        env = {**os.environ, "FLOAT_FAULT_TRIAL": f"commit-{i}"}
        if i % 3 == 0:  # a hook stops at a failpoint inside its transaction
            env["FLOAT_FAILPOINT"] = points[(i // 3) % len(points)]
            proc = subprocess.Popen(["git", "commit", "-q", "-m", f"trial {i}"], cwd=repo.path,
                                    env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    start_new_session=True)
            deadline = time.monotonic() + 120
            while not (pids := _stopped_float_processes(marker)):
                failed = proc.poll() not in (None, 0)  # the commit failed: no hook to wait for
                if failed or time.monotonic() > deadline:
                    proc.kill()
                    out, err = proc.communicate(timeout=60)
                    log = repo.path / ".git" / "float-hooks.log"
                    raise AssertionError(
                        f"trial {i}: no hook stopped at {env['FLOAT_FAILPOINT']}"
                        f" (git commit exit {proc.returncode}, 120 s bound);"
                        f" git commit: {out!r} {err!r}; hook log:"
                        f" {log.read_text()[-2000:] if log.exists() else 'none'}")
                time.sleep(0.01)
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            stopped += 1
            proc.communicate(timeout=60)
        else:  # the commit, its hooks and the background post-commit, killed at random
            proc = subprocess.Popen(["git", "commit", "-q", "-m", f"trial {i}"], cwd=repo.path,
                                    env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    start_new_session=True)
            time.sleep(rng.uniform(0, duration))
            timed += 1
            alive = _float_processes(marker)
            if alive or proc.poll() is None:
                timed_landed += 1
            for pid in alive:
                with _ignore_gone():
                    os.kill(pid, signal.SIGKILL)
            with _ignore_gone():
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=60)
        _remove_git_locks(repo.path / ".git")
        verify(repo, ledger, tmp_path, i)
    assert stopped == len(range(0, TRIALS, 3))
    assert timed_landed * 3 >= timed, (timed_landed, timed)


def _remove_git_locks(git_dir: Path) -> None:
    """What a user does after a killed ``git commit``: a git killed at a random instant
    leaves ``index.lock``, or ``HEAD.lock``/a branch's lock while it updates the ref, and
    every later commit refuses to run until they are removed."""
    for lock in [*git_dir.glob("*.lock"), *(git_dir / "refs").rglob("*.lock")]:
        lock.unlink()


def _float_processes(marker: str) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    if marker.encode() in f.read():
                        pids.append(int(entry))
            except OSError:
                continue
    return pids


def _ignore_gone() -> contextlib.AbstractContextManager[None]:
    return contextlib.suppress(ProcessLookupError, PermissionError)


@pytest.fixture(autouse=True)
def _float_only_from_this_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLOAT_FAILPOINT", raising=False)
