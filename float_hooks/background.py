"""Hooks that finish after git has returned: the post-commit shim starts its sync in the
background (the commit is made; nothing the hook does can change that, so git need not wait).

The shim leaves a marker, ``.float/post-commit-<shell pid>.lock`` (ignored by
``.float/.gitignore`` through ``*.lock``), before it starts Python; the hook locks it while it
runs and removes it when done. Commands that read the map wait for live markers first, so
``git commit && float-hooks status`` sees the new commit. A marker whose process is gone
(killed, machine restarted) is not waited for: the next sync catches up from the last synced
commit, so nothing is lost.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

MARKER_PREFIX = "post-commit-"
MARKER_SUFFIX = ".lock"
MARKER_ENV = "FLOAT_HOOK_MARKER"  # set by the shim for the backgrounded hook
FOREGROUND_ENV = "FLOAT_HOOKS_FOREGROUND"  # set to anything: the shim waits for post-commit
LOG_NAME = "float-hooks.log"  # in the git dir: what a background hook would have printed
_LOG_LIMIT = 256 * 1024
# How long an empty marker (the shim wrote it, Python has not started yet) counts as live,
# and how long a reader waits at most before it reads what is there.
STARTING = 10.0
WAIT_LIMIT = 60.0


_held: dict[str, int] = {}  # marker -> the descriptor whose lock says "running"


def claim(marker: str) -> None:
    """Mark this process as the one running ``marker``'s sync: it holds an exclusive lock on
    the marker until :func:`release` or its exit (the kernel drops the lock of a dead
    process, also of a zombie nobody reaps; a pid could not tell those apart)."""
    try:
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT, 0o644)
    except OSError:
        return  # .float/ went away, or is read-only: the sync itself will say what is wrong
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX)  # before the pid: a pid without a lock means "gone"
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    _held[marker] = fd


def release(marker: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(marker)
    fd = _held.pop(marker, None)
    if fd is not None:
        os.close(fd)


def running(float_dir: Path) -> list[Path]:
    """The markers in ``float_dir`` of hooks still running or about to (others are removed
    on the way)."""
    try:
        names = sorted(e.name for e in os.scandir(float_dir)
                       if e.name.startswith(MARKER_PREFIX) and e.name.endswith(MARKER_SUFFIX))
    except OSError:
        return []
    live = []
    for name in names:
        marker = float_dir / name
        if _alive(marker):
            live.append(marker)
        else:
            release(str(marker))
    return live


def _alive(marker: Path) -> bool:
    try:
        fd = os.open(marker, os.O_RDONLY)
    except OSError:
        return False
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True  # its hook holds it
            text = os.read(fd, 32).strip()
            pid = None
        else:  # no flock (Windows): the pid, if the process is there
            text = os.read(fd, 32).strip()
            pid = int(text) if text.isdigit() else None
        if not text:  # the shim wrote it; Python has not started yet
            return time.time() - os.fstat(fd).st_mtime < STARTING
        return pid is not None and _pid_exists(pid)
    except OSError:
        return False
    finally:
        os.close(fd)


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True
    except (OSError, OverflowError):
        return False
    return True


def wait_for(float_dir: Path, limit: float = WAIT_LIMIT) -> None:
    """Wait until no background hook is writing ``float_dir``'s map (at most ``limit`` s)."""
    deadline = time.monotonic() + limit
    delay = 0.005
    while running(float_dir) and time.monotonic() < deadline:
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def log(git_dir: Path, message: str) -> None:
    """Keep a background hook's message where the user can find it (it has no terminal)."""
    path = git_dir / LOG_NAME
    try:
        if path.exists() and path.stat().st_size > _LOG_LIMIT:
            os.replace(path, path.with_name(LOG_NAME + ".old"))
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"{stamp} {message}\n")
    except OSError:
        pass
