"""Hooks that finish after git has returned: the post-commit shim starts its sync in the
background (the commit is made; nothing the hook does can change that, so git need not wait).

The shim writes a marker, ``.float/post-commit-<shell pid>.lock`` (ignored by
``.float/.gitignore`` through ``*.lock``), starts Python in the background and writes its pid
into the marker; the hook locks the marker while it runs and removes it when done. Every
other command and hook waits for live markers first, so ``git commit && float-hooks status``
sees the new commit and the next hook runs after it. A marker whose process is gone (killed,
machine restarted) is not waited for: the next sync catches up from the last synced commit,
so nothing is lost.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

MARKER_PREFIX = "post-commit-"
MARKER_SUFFIX = ".lock"
MARKER_ENV = "FLOAT_HOOK_MARKER"  # set by the shim for the backgrounded hook
FOREGROUND_ENV = "FLOAT_HOOKS_FOREGROUND"  # 1: the shim waits for post-commit, as for others
LOG_NAME = "float-hooks.log"  # in the git dir: what a background hook would have printed
_LOG_LIMIT = 256 * 1024
# How long a marker without a pid yet (the shim has just written it) counts as live, and how
# long a reader waits beyond the DB's own lock timeout before it reads what is there.
STARTING = 10.0
WAIT_MARGIN = 30.0

_held: dict[str, int] = {}  # marker -> the descriptor whose lock says "running"


def detach(marker: str, log_dir: Path) -> None:
    """Start of a background hook: claim ``marker``, send stray output (a traceback, the
    one-time "building the DB" notice) to the log instead of the shim's /dev/null, and let go
    of descriptors inherited from whatever ran git (a caller waiting for a pipe to close
    must not wait for us)."""
    os.closerange(3, 1024)
    path = log_dir / LOG_NAME
    with contextlib.suppress(OSError):
        if path.stat().st_size > _LOG_LIMIT:
            os.replace(path, path.with_name(LOG_NAME + ".old"))
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    claim(marker)


def claim(marker: str) -> None:
    """Mark this process as the one running ``marker``'s sync: it holds an exclusive lock on
    the marker until :func:`release` or its exit (the kernel drops the lock of a process
    that died)."""
    try:
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT, 0o644)
    except OSError:
        return  # .float/ went away, or is read-only: the sync itself will say what is wrong
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
    except OSError:
        os.close(fd)
        release(marker)  # unclaimed: a reader must not wait for it
        return
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
        # not locked: the hook has not claimed it yet (or re-executes itself), or it died
        text = os.read(fd, 32).strip()
        if not text or fcntl is None:
            # no pid yet; or Windows, where os.kill(pid, 0) would end the process and the
            # shim's $! is an MSYS pid: live while it is young
            return time.time() - os.fstat(fd).st_mtime < STARTING
        return text.isdigit() and _pid_alive(int(text))
    except OSError:
        return False
    finally:
        os.close(fd)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except PermissionError:
        return True
    except (OSError, OverflowError):
        return False
    try:  # Linux: a killed hook nobody reaped (no init in a container) is a zombie
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rpartition(b")")[2].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def wait_for(float_dir: Path, lock_timeout: float) -> None:
    """Wait until no background hook is writing ``float_dir``'s map. A hook may itself wait
    up to ``lock_timeout`` for the DB; after that and a margin, say so and go on."""
    deadline = time.monotonic() + lock_timeout + WAIT_MARGIN
    delay = 0.005
    while running(float_dir):
        if time.monotonic() > deadline:
            sys.stderr.write("float-hooks: a post-commit hook is still syncing in the"
                             " background; reading the map as it is\n")
            return
        time.sleep(delay)
        delay = min(delay * 2, 0.05)

