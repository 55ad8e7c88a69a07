"""The regeneration worker: one per repository (an ``flock`` on ``.float/worker.lock``, which
the OS releases when the process dies, even by SIGKILL), and its detached start from a hook.

:func:`start_background` is on the post-commit path: it costs one ``open`` + ``flock`` when a
worker already runs, and one ``fork``/``exec`` otherwise; the commit never waits for the work.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import IO

from float_hooks.errors import FloatError
from float_hooks.map.build import open_built
from float_hooks.output import emit
from float_hooks.project import Project, open_float_file
from float_hooks.regen import job_queue
from float_hooks.regen.run import regenerator, run_jobs

LOCK_NAME = "worker.lock"  # .float/.gitignore ignores *.lock
LOG_NAME = "float-worker.log"  # in the git dir: never shows up as an untracked file
POLL_SECONDS = 2.0
# git sets these for hooks; the detached worker locates the repository itself
_GIT_VARS = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_PREFIX", "GIT_COMMON_DIR",
             "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES")


class WorkerRunning(FloatError):
    pass


def lock_path(project: Project) -> Path:
    return project.float_dir / LOCK_NAME


class WorkerLock:
    """Held for a worker's lifetime; :class:`WorkerRunning` if another process holds it.
    ``patience``: keep trying this many seconds (a probe by :func:`is_running` holds the lock
    for microseconds and must not make a starting worker give up)."""

    def __init__(self, path: Path, *, record: bool = True, patience: float = 0.0):
        self.path = path
        self.record = record
        self.patience = patience
        self._file: IO[str] | None = None

    def __enter__(self) -> WorkerLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # held until __exit__; a committed symlink in its place is never followed (it would
        # have the PID written over whatever it points at)
        f = open(open_float_file(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND), "a+",
                 encoding="utf-8")
        deadline = time.monotonic() + self.patience
        while True:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                f.seek(0)
                pid = f.read().strip() or "?"
                f.close()
                raise WorkerRunning(f"a worker is already running for this repository"
                                    f" (pid {pid})") from None
        if self.record:
            f.seek(0)
            f.truncate()
            f.write(str(os.getpid()))
            f.flush()
        self._file = f
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._file is not None:
            self._file.close()  # closing releases the flock
            self._file = None


def is_running(project: Project) -> bool:
    try:
        with WorkerLock(lock_path(project), record=False):
            return False
    except WorkerRunning:
        return True


def start_background(project: Project) -> int | None:
    """Start a detached ``worker --drain`` unless one runs; its pid, or None."""
    if is_running(project):
        return None
    root = project.work_tree or project.git.git_dir
    env = {k: v for k, v in os.environ.items() if k not in _GIT_VARS}
    # the hook may run from a shim that found this package by path (-I -S): so must the worker
    here = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
    # stdout/stderr go to the log, not to the hook's pipes: whoever runs `git commit` and
    # reads its output to the end must not wait for the worker
    with open(project.git.git_dir / LOG_NAME, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "float_hooks", "--repo", str(root), "worker", "--drain",
             "--background"],
            cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True, close_fds=True)
    return proc.pid


def run(project: Project, *, once: bool, drain: bool, concurrency: int,
        report: bool = True, patience: float = 0.0) -> int:
    """The worker loop under the repository's lock. ``once``: the jobs ready now; ``drain``:
    until the queue is empty (waiting out retries); otherwise forever, polling."""
    done = 0
    _stop_on_sigterm()
    with WorkerLock(lock_path(project), patience=patience):
        store = open_built(project)
        try:
            regen = regenerator(project)
            while True:
                s = run_jobs(project, store, enqueue=False, concurrency=concurrency,
                             wait=drain, regen=regen)
                done += len(s.done)
                if report:
                    for p in s.done:
                        emit(f"regenerated {p}")
                    for f in s.failed:
                        emit(f"failed {f['path']}: {f['error']}")
                if once or (drain and job_queue.next_ready_in(store.conn) is None):
                    return done
                time.sleep(POLL_SECONDS)
        finally:
            store.close()


def _stop_on_sigterm() -> None:
    """SIGTERM ends the worker like Ctrl-C: the job in hand is given back, not left leased."""
    if threading.current_thread() is not threading.main_thread():
        return

    def stop(_sig: int, _frame: object) -> None:
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, stop)
