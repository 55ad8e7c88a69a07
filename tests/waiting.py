"""Waiting in tests: for a condition with a deadline (never a fixed sleep), and for processes
known by more than their pid (a pid is reused once its process is gone: pid_max may be 32768).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple, TypeVar

T = TypeVar("T")


def wait_until(condition: Callable[[], T], what: str, timeout: float = 60.0,
               interval: float = 0.1) -> T:
    """Poll ``condition`` until it returns something truthy, and return that; fail the test
    naming ``what`` was awaited once ``timeout`` seconds have passed, so a wait can never
    hang the suite. Polls every 5 ms at first, then less often, up to every ``interval``
    seconds (a condition that costs a request or a query: a larger ``interval``)."""
    deadline = time.monotonic() + timeout
    delay = min(0.005, interval)
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, interval)


class TimeLimit(BaseException):
    """Raised in the main thread by :func:`time_limit` (a BaseException: no ``except
    Exception`` in the code under test can take it for one of its own errors)."""


@contextlib.contextmanager
def time_limit(seconds: float, what: str) -> Iterator[None]:
    """Bound a block running in this process (main thread only): after ``seconds`` it is
    interrupted and the test fails naming ``what``. A bound against a hang, not a timing
    assertion: set it far above what the block takes."""
    def expired(_signum: int, _frame: object) -> None:
        raise TimeLimit(f"{what} did not end within {seconds:g}s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def unused_pid() -> int:
    """A pid that no process has or will have: Linux hands out pids below pid_max."""
    return int(Path("/proc/sys/kernel/pid_max").read_text())


def _stat_fields(pid: int) -> list[str] | None:
    """``/proc/PID/stat`` from field 3 (state) on; None when there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rpartition(b")")[2].decode().split()
    except (FileNotFoundError, ProcessLookupError):
        return None


# /proc/PID/stat field 22 (starttime), counted from field 3 (state) as _stat_fields splits it
_START = 19


class ProcessId(NamedTuple):
    """A process as the kernel tells it apart from a later one with the same pid: its pid
    and its start time (clock ticks since boot)."""

    pid: int
    start: str

    @classmethod
    def of(cls, pid: int) -> ProcessId:
        """The process that has ``pid`` now (it must exist, even as a zombie)."""
        fields = _stat_fields(pid)
        assert fields is not None, f"no process {pid}"
        return cls(pid, fields[_START])

    @classmethod
    def read(cls, path: Path) -> ProcessId:
        """What :func:`record_code` wrote to ``path``."""
        pid, start = path.read_text().split()
        return cls(int(pid), start)

    def alive(self) -> bool:
        """Running (not a zombie) and still this process, not another one with its pid."""
        fields = _stat_fields(self.pid)
        return fields is not None and fields[0] != "Z" and fields[_START] == self.start

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal this process if it is still alive; never a process that reused its pid
        (the pidfd is checked to be this process before the signal goes through it)."""
        try:
            fd = os.pidfd_open(self.pid)
        except ProcessLookupError:
            return
        try:
            if self.alive():  # the pidfd was opened before: it is this process
                signal.pidfd_send_signal(fd, sig)
        except ProcessLookupError:
            pass
        finally:
            os.close(fd)


def record_code(path: Path, pid: str = "os.getpid()") -> str:
    """Python statements (needing ``os``) that write the :class:`ProcessId` of the process
    whose pid the expression ``pid`` gives to ``path``, atomically (read it with
    ``ProcessId.read``)."""
    return (
        f"_pid = {pid}\n"
        f"_start = open(f'/proc/{{_pid}}/stat').read().rpartition(')')[2].split()[{_START}]\n"
        f"open({str(path)!r} + '.tmp', 'w').write(f'{{_pid}} {{_start}}')\n"
        f"os.replace({str(path)!r} + '.tmp', {str(path)!r})\n"
    )
