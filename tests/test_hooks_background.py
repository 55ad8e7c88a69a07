"""The post-commit shim syncs in the background; commands that read the map wait for it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from float_hooks import background
from tests.gitrepo import GitRepo
from tests.map_support import assert_synced_to, corrupt_db, drop_db, stale, write_lock
from tests.waiting import ProcessId, unused_pid, wait_until


def markers(repo: GitRepo) -> list[Path]:
    return sorted((repo.path / ".float").glob("post-commit-*.lock"))


def git_commit(repo: GitRepo, *args: str, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(["git", "commit", "-m", "change", *args], cwd=repo.path,
                          capture_output=True, text=True, env={**os.environ, **(env or {})},
                          timeout=20)  # a post-commit that waited for the lock: 30 s
    assert proc.returncode == 0, proc.stderr
    return proc.stdout + proc.stderr


def test_git_returns_while_post_commit_waits_and_readers_wait_for_it(hooked: GitRepo) -> None:
    hooked.write("src/auth/login.py", "def login(): return 'bg'\n")
    hooked.git("add", "-A")
    with write_lock(hooked):
        # --no-verify skips pre-commit (it would wait for the lock too); post-commit still runs
        out = git_commit(hooked, "--no-verify")
        [marker] = markers(hooked)  # the shim's marker, with the hook's live pid in it
        assert background.running(hooked.path / ".float") == [marker]
        assert "float" not in out  # nothing printed: the hook has no terminal
    status = hooked.float_json("status", "--json")  # waits for the background sync
    assert status["head"] == hooked.head()
    assert not markers(hooked)
    assert stale(hooked) == {"/", "/src", "/src/auth"}
    assert_synced_to(hooked)
    # what the hook would have printed is kept in the git dir
    log = (hooked.path / ".git" / background.LOG_NAME).read_text()
    assert "post-commit: float: 3 folders changed, 3 newly stale: /src/auth /src /" in log


def test_foreground_variable_makes_git_wait_and_print(hooked: GitRepo) -> None:
    hooked.write("docs/guide.md", "# foreground\n")
    hooked.git("add", "-A")
    (hooked.path / ".git" / background.LOG_NAME).unlink(missing_ok=True)
    out = git_commit(hooked, "--no-verify", env={background.FOREGROUND_ENV: "1"})
    assert "float: 2 folders changed, 2 newly stale: /docs /" in out
    assert not markers(hooked)
    assert not (hooked.path / ".git" / background.LOG_NAME).exists()
    assert_synced_to(hooked)


def test_background_errors_go_to_the_log_and_the_commit_lands(hooked: GitRepo) -> None:
    corrupt_db(hooked)
    hooked.write("src/app.py", "print('lands')\n")
    hooked.git("add", "-A")
    git_commit(hooked, "--no-verify")
    assert hooked.git("log", "-1", "--format=%s").strip() == "change"
    background.wait_for(hooked.path / ".float", lock_timeout=30)
    log = (hooked.path / ".git" / background.LOG_NAME).read_text()
    # the damaged DB is kept aside, said in the log, and the map rebuilt with its content
    assert "corrupt" in log and "kept it as index.db.corrupt" in log
    assert "post-commit: float: built the map" in log
    assert not markers(hooked)


def test_markers_of_gone_processes_are_not_waited_for(hooked: GitRepo) -> None:
    float_dir = hooked.path / ".float"
    dead = float_dir / "post-commit-1.lock"
    dead.write_text(str(unused_pid()))  # the pid of no process (a dead one's may be reused)
    never_started = float_dir / "post-commit-2.lock"
    never_started.write_text("")
    old = never_started.stat().st_mtime - background.STARTING - 1
    os.utime(never_started, (old, old))
    starting = float_dir / "post-commit-3.lock"  # the shim wrote it, no pid yet
    starting.write_text("")
    live = float_dir / "post-commit-4.lock"
    background.claim(str(live))  # what the backgrounded hook does: lock it, write its pid
    assert live.read_text() == str(os.getpid())
    unclaimed = float_dir / "post-commit-5.lock"  # the shim wrote the pid, Python not there yet
    unclaimed.write_text(str(os.getpid()))
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])  # exits, and is not reaped
    stat = Path(f"/proc/{zombie.pid}/stat")
    wait_until(lambda: stat.read_bytes().rpartition(b")")[2].split()[0] == b"Z",
               "the unreaped child to be a zombie", 30)
    reaped_never = float_dir / "post-commit-6.lock"
    reaped_never.write_text(str(zombie.pid))
    assert background.running(float_dir) == [starting, live, unclaimed]
    assert not dead.exists() and not never_started.exists()  # cleared on the way
    assert not reaped_never.exists()
    zombie.wait()
    starting.unlink()
    unclaimed.unlink()
    background.release(str(live))
    assert not live.exists()
    assert hooked.float_json("status", "--json")["head"] == hooked.head()


def test_hooks_wait_for_a_running_background_hook(hooked: GitRepo) -> None:
    # the next commit's pre-commit must run after the previous post-commit, not beside it
    float_dir = hooked.path / ".float"
    marker = float_dir / "post-commit-7.lock"
    background.claim(str(marker))
    hooked.write("docs/guide.md", "# after the background hook\n")
    hooked.git("add", "-A")
    proc = subprocess.Popen(["git", "commit", "-q", "-m", "waits"], cwd=hooked.path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # A waiting hook looks at the markers again and again, clearing those of hooks that
        # are gone on the way: a gone hook's marker cleared twice, the second one placed
        # after the first went, shows the hook still waiting (not just started, not done).
        for n in (1, 2):
            gone = float_dir / f"post-commit-gone{n}.lock"
            gone.write_text(str(unused_pid()))
            wait_until(lambda gone=gone: not gone.exists(),
                       f"the waiting pre-commit hook to clear a gone hook's marker ({n})", 30)
        assert proc.poll() is None  # the pre-commit hook is waiting for the marker
        assert hooked.git("log", "-1", "--format=%s").strip() == "float init"
    finally:
        background.release(str(marker))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert b"float: 2 folders changed, 2 newly stale: /docs /" in err + out
    assert_synced_to(hooked)


def test_a_killed_background_hook_is_caught_up_by_the_next_one(hooked: GitRepo) -> None:
    hooked.write("src/auth/tokens/jwt.py", "JWT = 'lost'\n")
    hooked.git("add", "-A")
    with write_lock(hooked):
        git_commit(hooked, "--no-verify")
        [marker] = markers(hooked)
        # the shim or the hook writes the pid; the hook then waits for the lock held here
        pid = int(wait_until(marker.read_text, "the background hook's pid in its marker", 30))
        hook = ProcessId.of(pid)
        hook.kill()
        wait_until(lambda: not hook.alive(), "the killed background hook to go", 30)
    assert hooked.float_json("status", "--json")["head"] != hooked.head()  # not waited for
    hooked.write("docs/guide.md", "# next\n")
    hooked.git("add", "-A")
    git_commit(hooked)
    assert_synced_to(hooked)
    assert stale(hooked) == {"/", "/docs", "/src", "/src/auth", "/src/auth/tokens"}


def test_background_hook_lets_go_of_the_callers_descriptors(hooked: GitRepo) -> None:
    # whatever ran git may wait for a pipe it handed down to close (a CI step, an editor)
    import select

    hooked.write("src/app.py", "print('fds')\n")
    hooked.git("add", "-A")
    read_end, write_end = os.pipe()
    try:
        with write_lock(hooked):  # keeps the background hook running meanwhile
            proc = subprocess.Popen(["git", "commit", "-q", "--no-verify", "-m", "fds"],
                                    cwd=hooked.path, pass_fds=(write_end,))
            os.close(write_end)
            assert proc.wait(timeout=20) == 0
            assert markers(hooked)  # still running: it waits for the lock
            readable, _, _ = select.select([read_end], [], [], 20)
            assert readable and os.read(read_end, 1) == b""  # closed by everyone: EOF
    finally:
        os.close(read_end)
    assert_synced_to(hooked)


def test_background_hook_output_goes_to_the_log(hooked: GitRepo) -> None:
    drop_db(hooked)  # a new worktree, say
    hooked.write("src/app.py", "print('rebuilt')\n")
    hooked.git("add", "-A")
    out = git_commit(hooked, "--no-verify")
    assert "built" not in out
    assert_synced_to(hooked)  # waits for the hook, which built the DB
    log = (hooked.path / ".git" / background.LOG_NAME).read_text()
    assert "post-commit: float: built the map: 5 folders" in log


def test_background_hook_finds_its_repository_once(hooked: GitRepo, tmp_path: Path) -> None:
    # the log's place and the hook's repository come from one discovery (one git process)
    trace = tmp_path / "trace.txt"
    hooked.write("src/app.py", "print('once')\n")
    hooked.git("add", "-A")
    git_commit(hooked, "--no-verify", env={"GIT_TRACE": str(trace)})  # post-commit only
    assert_synced_to(hooked)  # waits for the background hook
    found = [line for line in trace.read_text().splitlines()
             if "rev-parse --absolute-git-dir" in line]
    assert len(found) == 1, found


def test_without_flock_a_marker_is_live_while_young_and_no_pid_is_signalled(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Windows has no fcntl: a marker counts as live for STARTING seconds, and os.kill (which
    # would end the process there) is never called
    monkeypatch.setattr(background, "fcntl", None)
    monkeypatch.setattr(background.os, "kill", lambda *a: pytest.fail("os.kill called"))
    young = tmp_path / f"{background.MARKER_PREFIX}1{background.MARKER_SUFFIX}"
    old = tmp_path / f"{background.MARKER_PREFIX}2{background.MARKER_SUFFIX}"
    for marker in (young, old):
        marker.write_text(str(os.getpid()))  # a live pid: still not what decides
    past = time.time() - background.STARTING - 5
    os.utime(old, (past, past))
    assert background.running(tmp_path) == [young]
    assert not old.exists()  # a stale marker is cleared on the way


def test_the_hook_log_is_rotated_past_its_limit(tmp_path: Path) -> None:
    # detach() redirects this process's stdout/stderr and closes descriptors: a child runs it
    log = tmp_path / background.LOG_NAME
    log.write_bytes(b"x" * (background._LOG_LIMIT + 1))
    marker = tmp_path / "m.lock"
    probe = ("import sys; from pathlib import Path; from float_hooks import background as b;"
             f" b.detach({str(marker)!r}, Path({str(tmp_path)!r})); print('after');"
             f" b.release({str(marker)!r})")
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=20)
    assert (tmp_path / (background.LOG_NAME + ".old")).stat().st_size > background._LOG_LIMIT
    assert log.read_text() == "after\n"  # a fresh log, with what the hook printed
    assert not marker.exists()
