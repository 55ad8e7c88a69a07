"""A first build's export read and parsed in a forked child while the parent lists and hashes
the repository: the two halves of a teammate's first build on two cores (docs/performance.md,
"Figures behind the code": 90k files and a 7,500-page export, the build 3.3 s -> 2.5 s).

The child is a copy of the parent at the fork. It reads the work tree's export exactly as the
parent would (importer.read_worktree_export: the same rules for hostile pages), writes the
result pickled to a pipe and leaves with ``os._exit``: no finalizer runs and no buffer of the
parent's is flushed twice; the SQLite connection it inherited is never touched, and a child
holds none of its parent's POSIX locks. The parent reads in process instead whenever anything
is unusual: the child failed or was killed, it read another export tree than the one the
build's transaction sees, or the process runs threads (a fork copies the locks they hold, not
the threads: the MCP server, a web worker), or fork is not there. Ctrl-C and SIGTERM are held
across the fork, so neither side runs the other's handlers; on Linux the kernel kills the
child when its parent dies (a killed build leaves no orphan behind).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from float_hooks import failpoints
from float_hooks.pages import importer
from float_hooks.project import Project

if TYPE_CHECKING:
    from float_hooks.pages.reader import PageSet


class Pending:
    """A child reading the export; :meth:`take` its pages, :meth:`abandon` it in any case."""

    def __init__(self, pid: int, fd: int, tree: str | None):
        self.pid: int | None = pid
        self.fd: int | None = fd
        self.tree = tree  # the export tree the child was started for

    def take(self, tree: str | None) -> PageSet | None:
        """The child's pages if it read the export of ``tree`` and ended well; None: read
        them in process."""
        if self.fd is None or self.pid is None:
            return None
        chunks = []
        try:
            while data := os.read(self.fd, 1 << 20):
                chunks.append(data)
        finally:
            os.close(self.fd)
            self.fd = None
        pid, self.pid = self.pid, None
        _, status = os.waitpid(pid, 0)
        if not os.WIFEXITED(status) or os.WEXITSTATUS(status) != 0 or tree != self.tree:
            return None
        import pickle  # lazy: see _child

        try:
            found: PageSet = pickle.loads(b"".join(chunks))  # our own child's: trusted
        except Exception:
            return None
        return found

    def abandon(self) -> None:
        """Stop the child if it still runs (the build failed before it took the pages)."""
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.pid is not None:
            pid, self.pid = self.pid, None
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def start(project: Project) -> Pending | None:
    """A child reading the work tree's export, or None (no export on disk, a bare
    repository, threads running, no fork: the build reads it in process)."""
    root = importer.worktree_root(project)[0]
    if root is None or not hasattr(os, "fork") or threading.active_count() != 1:
        return None
    tree = importer.committed_tree(project)
    parent = os.getpid()
    r, w = os.pipe()
    # Ctrl-C and SIGTERM held until each side is set up: one arriving between the fork and
    # the child's ``try`` would run the parent's handlers (and its DB's) in the child
    held = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    try:
        pid = os.fork()
    except OSError:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        os.close(r)
        os.close(w)
        return None
    if pid == 0:
        _child(project, root, tree, parent, (r, w), held)
    pending = Pending(pid, r, tree)
    try:
        os.close(w)
        signal.pthread_sigmask(signal.SIG_SETMASK, held)  # a held interrupt arrives here
    except BaseException:
        pending.abandon()
        raise
    return pending


_HELD = {signal.SIGINT, signal.SIGTERM}


def _child(project: Project, root: Path, tree: str | None, parent: int,
           pipe: tuple[int, int], held: set[int | signal.Signals]) -> NoReturn:
    """Read the pages, write them to the pipe, leave: never returns, never raises."""
    code = 1
    try:
        _die_with(parent)
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        import pickle  # lazy: 3 ms of every hook's start, for a first build's pages

        r, w = pipe
        os.close(r)
        null = os.open(os.devnull, os.O_RDWR)  # stdout: the parent's alone (a caller
        os.dup2(null, 0)  # waiting for its end does not wait for the child)
        os.dup2(null, 1)
        found = importer.read_worktree_export(project, root, tree)
        failpoints.reached("build:pages-read-in-child")
        data = memoryview(pickle.dumps(found, protocol=pickle.HIGHEST_PROTOCOL))
        while data:
            data = data[os.write(w, data):]
        code = 0
    finally:
        os._exit(code)


def _die_with(parent: int) -> None:
    """Have the kernel kill this child when its parent dies (Linux's PR_SET_PDEATHSIG): a
    killed build leaves no orphan holding its stderr and its hook's lock. Elsewhere, an
    orphan ends at its next write to the pipe."""
    try:
        import ctypes  # lazy: in the child alone

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # it died before the prctl
        os._exit(1)
