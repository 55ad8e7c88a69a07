"""Which worker process owns a claimed delivery, and whether it still lives (the embedded
queue, sqlite_queue.py): each owner ``host:pid:tag`` holds an ``flock`` on
``DATA_DIR/workers/<tag>.lock`` for as long as its process lives, and the kernel drops it the
instant the process dies, however it dies; a lock that can be taken means a dead owner (a pid
could be a zombie or reused by then)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import socket
from pathlib import Path

OWNER_DIR = "workers"
_TAG = re.compile(r"[0-9a-f]{8,32}")


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class OwnerLock:
    """``DATA_DIR/workers/<tag>.lock``, exclusively flocked while the owner ``host:pid:tag``
    lives. The file descriptor is close-on-exec, and a process forked from the owner must
    call ``forget()`` (the lock belongs to the open file, which a fork shares)."""

    def __init__(self, data_dir: Path, tag: str):
        if not _TAG.fullmatch(tag):
            raise ValueError("an owner tag is 8-32 lower-case hex digits")
        folder = data_dir / OWNER_DIR
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{tag}.lock"
        self.fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a fresh tag: never contended

    def forget(self) -> None:
        """In a forked child: close the inherited descriptor without unlocking the parent's."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def release(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
            os.close(self.fd)
            self.fd = None


def owner_alive(data_dir: Path, tag: str) -> bool:
    """Whether the owner with this tag still holds its lock (on this host)."""
    if not _TAG.fullmatch(tag):
        return False
    path = data_dir / OWNER_DIR / f"{tag}.lock"
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except FileNotFoundError:
        return False  # every live owner made its file before claiming anything
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops our lock too
    with contextlib.suppress(OSError):
        path.unlink()  # a dead owner's file
    return False
