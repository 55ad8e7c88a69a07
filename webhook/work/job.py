"""One delivery at a time in a process of its own, under a time and a memory budget.

What a delivery makes the worker do is chosen by whoever can push: a pushed export page, a
huge tree, a repository's own regenerator. Done in the server's process, a page that takes
the parser minutes would hold the interpreter lock that answering GitHub needs, and gunicorn
would kill the whole server process as unresponsive, again on every retry. So each worker
thread hands its deliveries to a job process (``python -m webhook.work.job``), one at a time:

- **time**: the worker waits for the answer up to ``FLOAT_DELIVERY_TIMEOUT`` seconds, then
  kills the job process's whole process group (git and regenerator commands included);
- **memory**: the job process limits its own data segment (``RLIMIT_DATA``,
  ``FLOAT_DELIVERY_MEMORY_MB``; inherited by git): a runaway allocation raises MemoryError,
  which is reported, and the process then exits so the next delivery gets a fresh one. The
  data segment, not the address space, because git maps pack files read-only and glibc
  reserves address space per thread: neither is memory a delivery uses;
- **crash**: if it dies (a signal, an abort in C code), the worker sees the pipe close.

Each of these counts as an attempt of the delivery: it is retried with backoff up to
``FLOAT_MAX_ATTEMPTS``, then ends ``failed`` with the reason, and the repository's next
deliveries go on. The job process is kept between deliveries (its start, ~0.2 s of imports,
is paid once, not per push) and closed after IDLE_SECONDS with nothing to do.

It never sees the server's secrets: its environment is the basics, git's ``GIT_*``, and the
key variables named in ``FLOAT_REGEN_ENV``; its settings come without the webhook secret, the
API token and the GitHub token (the worker posts commit statuses itself). It dies with the
worker thread that started it (``PR_SET_PDEATHSIG``), so a killed server leaves no job
process applying a delivery that the restarted server will claim again.

Protocol: one JSON line in (settings and delivery), one JSON line out on the job process's
original stdout (its stdout is then pointed at stderr, so nothing a library prints can
corrupt the answer): ``{"state", "result"}``, ``{"retry": reason}`` (transient),
``{"error": reason}`` (deterministic) or ``{"budget": reason}``.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import json
import logging
import os
import resource
import selectors
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from float_hooks.regen.env import scrubbed
from webhook.queues.sqlite_queue import Delivery
from webhook.settings import Settings
from webhook.work import pipeline

IDLE_SECONDS = 300.0
TERM_GRACE = 3.0  # seconds a job process over its time has to stop what it started
ERROR_CHARS = 2000  # of a reason recorded for a delivery
# besides regen_env's basics: what git and the interpreter need in the job process
PASSED = ("GIT_", "PYTHONPATH", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE")
_SECRETS = ("secret", "api_token", "github_token", "database_url")

log = logging.getLogger("webhook")


class BudgetExceeded(Exception):
    """The delivery's process took too long, ran out of memory or died."""


def job_environment(environ: Mapping[str, str], settings: Settings) -> dict[str, str]:
    """The job process's environment: never the server's own FLOAT_* settings and secrets."""
    env = scrubbed(environ, settings.regen_env)
    env.update({k: v for k, v in environ.items() if k.startswith(PASSED)})
    env["MALLOC_ARENA_MAX"] = "2"  # glibc's per-thread arenas: fewer, smaller reservations
    return env


def encode_settings(settings: Settings) -> dict[str, Any]:
    data = dataclasses.asdict(settings)
    for name in _SECRETS:
        data[name] = None
    data["data_dir"] = str(settings.data_dir)
    data["repos"] = sorted(settings.repos) if settings.repos is not None else None
    data["regen_env"] = list(settings.regen_env)
    return data


def decode_settings(data: dict[str, Any]) -> Settings:
    data = dict(data)
    data["data_dir"] = Path(data["data_dir"])
    data["repos"] = frozenset(data["repos"]) if data["repos"] is not None else None
    data["regen_env"] = tuple(data["regen_env"])
    return Settings(**data)


class JobProcess:
    """The worker side: one job process, started on first use, for one worker thread."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.proc: subprocess.Popen[bytes] | None = None
        self.last_used = time.monotonic()

    def run(self, d: Delivery) -> dict[str, Any]:
        """The job process's answer for ``d``; BudgetExceeded when there is none."""
        line = json.dumps({"settings": encode_settings(self.settings),
                           "delivery": dataclasses.asdict(d)}).encode() + b"\n"
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        assert self.proc is not None and self.proc.stdin is not None
        try:
            self.proc.stdin.write(line)
            self.proc.stdin.flush()
        except BrokenPipeError:  # it died while idle (nothing of this delivery's doing)
            self.proc.wait()
            self._start()
            assert self.proc is not None and self.proc.stdin is not None
            self.proc.stdin.write(line)
            self.proc.stdin.flush()
        self.last_used = time.monotonic()
        try:
            answer: dict[str, Any] = json.loads(self._read_line(self.settings.delivery_timeout))
        finally:
            self.last_used = time.monotonic()
        if answer.get("exit"):
            self.close()  # after MemoryError: the next delivery gets a fresh process
        return answer

    def _start(self) -> None:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "webhook.work.job", str(self.settings.delivery_memory_mb),
             str(os.getpid())],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None,
            env=job_environment(os.environ, self.settings), cwd=self.settings.data_dir,
            start_new_session=True)  # its own group: a timeout kills git and regenerators too

    def _read_line(self, timeout: float) -> bytes:
        assert self.proc is not None and self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        chunks: list[bytes] = []
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    if time.monotonic() < deadline:
                        continue
                    self.kill()
                    raise BudgetExceeded(f"took longer than {timeout:g}s"
                                         " (FLOAT_DELIVERY_TIMEOUT); stopped")
                chunk = os.read(fd, 65536)
                if not chunk:
                    self._died()
                chunks.append(chunk)
                if chunk.endswith(b"\n"):
                    return b"".join(chunks)

    def _died(self) -> None:
        assert self.proc is not None
        code = self.proc.wait()
        self.proc = None
        how = (f"killed by {signal.Signals(-code).name}" if code < 0
               else f"exit status {code}")
        raise BudgetExceeded(f"its process died ({how})")

    def kill(self) -> None:
        """Stop the job process and everything it started: SIGTERM first, so that it stops
        a regenerator command (which runs in a process group of its own) the way a timeout
        does, then, after TERM_GRACE seconds, SIGKILL to its whole group."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            self.proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(TERM_GRACE)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self._close_pipes()
        self.proc = None

    def close(self) -> None:
        """End an idle job process (it exits when its input ends)."""
        if self.proc is None:
            return
        self._close_pipes()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.kill()
        self.proc = None

    def _close_pipes(self) -> None:
        assert self.proc is not None
        for pipe in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                if pipe is not None:
                    pipe.close()

    def close_if_idle(self) -> None:
        if self.proc is not None and time.monotonic() - self.last_used > IDLE_SECONDS:
            self.close()


# -- the job process -----------------------------------------------------------------------------
def _limit_memory(megabytes: int) -> None:
    limit = megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _die_with_parent(parent: int) -> None:
    """SIGKILL when the thread that started us ends (Linux), and never outlive the parent."""
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _answer(line: bytes, memory_mb: int) -> dict[str, Any]:
    try:
        request = json.loads(line)
        settings = decode_settings(request["settings"])
        d = Delivery(**request["delivery"])
        state, result = pipeline.process(settings, d)
        return {"state": state, "result": result}
    except pipeline.Retry as e:
        return {"retry": str(e)[:ERROR_CHARS]}
    except MemoryError:
        return {"budget": f"ran out of memory (FLOAT_DELIVERY_MEMORY_MB={memory_mb})",
                "exit": True}
    except Exception as e:
        log.error("delivery failed:\n%s", traceback.format_exc()[-ERROR_CHARS:])
        return {"error": f"{type(e).__name__}: {e}"[:ERROR_CHARS]}


def main(argv: list[str]) -> int:
    memory_mb, parent = int(argv[0]), int(argv[1])
    _die_with_parent(parent)
    _limit_memory(memory_mb)
    # SIGTERM (over the time budget) unwinds like an exception: a running regenerator
    # command's process group is killed on the way out (regen_command)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    answers: IO[str] = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # stray prints go to the log, never into the answers
    sys.stdout = sys.stderr
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="%(asctime)s [%(process)d] [%(levelname)s] %(message)s")
    stdin = sys.stdin.buffer
    for line in iter(stdin.readline, b""):
        answer = _answer(line, memory_mb)
        answers.write(json.dumps(answer) + "\n")
        answers.flush()
        if answer.get("exit"):
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
