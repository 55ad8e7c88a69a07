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
from pathlib import Path

import pytest

from tests.authored_support import clone, db_rows
from tests.export_support import pages
from tests.faults_support import (
    FOLDERS,
    SEED,
    Trials,
    cli,
    journaled,
    make_origin,
    raw_meta,
    trial_count,
    verify,
)
from tests.waiting import wait_until

TRIALS = trial_count(30)


def test_first_sync_of_a_clone_killed(tmp_path: Path) -> None:
    origin, ledger = make_origin(tmp_path)
    trials = Trials("first-sync", ["sync:applied", "build:imported", "journal:rewrite:written",
                                  "journal:rewrite:replaced"], tmp_path)
    first = clone(origin, tmp_path / "measure")
    trials.measure(cli(first, "sync"))
    for i in range(TRIALS):
        repo = clone(origin, tmp_path / f"clone-{i}")
        if trials.run(i, cli(repo, "sync")):
            # stopped inside the build's one transaction: the file holds no finished build
            assert raw_meta(repo, "built") is None, f"trial {i}"
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
        point = trials.run(i, cli(repo, "import", "--from",
                                  str(source.path / ".float/project")))
        if point:  # stopped inside the import's transaction: nothing of it committed
            assert db_rows(repo, "SELECT count(*) FROM log_entries WHERE title = ?",
                           f"imported decision {i}") == [(0,)], f"trial {i}"
        have = ledger.state(repo)
        arrived = [f"imported decision {i}" in have["decisions"],
                   f"imported {i}" in have["folders"].values()]
        assert arrived in ([True, True], [False, False]), f"trial {i}: half an import"
        if point:
            # before its journal lines: nothing arrived; after them, the next open merged
            # what the journal holds: all of it
            assert arrived == [point == "journal:appended"] * 2, f"trial {i}: {point}"
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
        before = pages(repo)
        remembered = db_rows(repo, "SELECT page, blob FROM export_pages ORDER BY page")
        if trials.run(i, cli(repo, "export")):
            # stopped with two pages written and the transaction open: the pages changed on
            # disk, the blobs the DB remembers did not
            after = pages(repo)
            assert sum(after.get(p) != b for p, b in before.items()) >= 2, f"trial {i}"
            assert db_rows(repo, "SELECT page, blob FROM export_pages ORDER BY page") == \
                remembered, f"trial {i}"
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
        # a write whose journal line is complete is kept: a kill before its COMMIT leaves
        # it for the next open to merge (Journal.catch_up), so the map shows it from then on
        if i % 2:
            title = f"set decision {i}"
            point = trials.run(i, cli(repo, "log", "add", "--title", title))
            if point:  # stopped after its journal line, before its COMMIT
                assert db_rows(repo, "SELECT count(*) FROM log_entries WHERE title = ?",
                               title) == [(0,)], f"trial {i}"
            if point or journaled(repo, "decision", "title", title):
                ledger.decisions.add(title)
            else:
                ledger.maybe[title] = ("decision", "")
        else:
            before, new = ledger.folders.get(folder), f"set trial {i}"
            point = trials.run(i, cli(repo, "set", folder, "--summary", new))
            if point:
                assert db_rows(repo, "SELECT map_summary FROM folders WHERE path = ?",
                               folder) == [(before,)], f"trial {i}"
            have = ledger.state(repo)["folders"].get(folder)
            if point or journaled(repo, "folder", "map_summary", new):
                assert have == new, f"trial {i}: a journaled write not merged: {have!r}"
            assert have in (before, new), f"trial {i}: {have!r}"
            ledger.folders[folder] = have
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
    timed = timed_landed = 0
    log = repo.path / ".git" / "float-hooks.log"  # the background post-commit's stderr
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
            point = env["FLOAT_FAILPOINT"] = points[(i // 3) % len(points)]
            head, logged = repo.head(), log.stat().st_size if log.exists() else 0
            proc = subprocess.Popen(["git", "commit", "-q", "-m", f"trial {i}"], cwd=repo.path,
                                    env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    start_new_session=True)

            def stopped(marker: str = marker, proc: subprocess.Popen[bytes] = proc
                        ) -> list[int]:
                pids = _stopped_float_processes(marker)
                if not pids and proc.poll() not in (None, 0):
                    raise AssertionError("the commit failed: no hook to wait for")
                return pids

            try:
                pids = wait_until(stopped, f"a hook to stop at {point}", 120)
            except AssertionError as e:
                proc.kill()
                out, err = proc.communicate(timeout=60)
                raise AssertionError(
                    f"trial {i}: no hook stopped at {point} ({e}; git commit exit"
                    f" {proc.returncode}); git commit: {out!r} {err!r}; hook log:"
                    f" {log.read_text()[-2000:] if log.exists() else 'none'}") from None
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            _out, err = proc.communicate(timeout=60)
            said = err.decode() + (log.read_bytes()[logged:].decode() if log.exists() else "")
            assert f"float-hooks: failpoint {point}\n" in said, f"trial {i}: {said[-2000:]}"
            if point == "sync:applied:index":  # the pre-commit hook died: no commit
                assert repo.head() == head, f"trial {i}"
            else:  # committed; the map, killed inside its transaction, is still at the last
                assert repo.head() != head and raw_meta(repo, "base_commit") == head, \
                    f"trial {i}"
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
    assert timed_landed >= 1, (timed_landed, timed)  # random kills that all came late prove nothing


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
