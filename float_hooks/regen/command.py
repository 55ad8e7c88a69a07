"""The command regenerator: ``[regenerate] command`` run once per job.

The request is JSON on stdin; the answer is JSON on stdout with the context fields (an agent
CLI's ``{"result": "..."}`` envelope is unwrapped). ``{path}`` in the template is replaced by
the folder path. Its environment is the caller's (the CLI: the user's own), or the scrubbed one
the webhook server gives it (regen_env). The command runs in its own process group so a
timeout stops everything it started. A non-zero exit, a timeout or an invalid answer fails
the job with the tail of stderr.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from float_hooks.errors import quoted
from float_hooks.regen.request import RegenError, Request, parse_answer

STDERR_TAIL = 2000


class CommandRegenerator:
    def __init__(self, template: str, timeout: float, cwd: Path,
                 env: Mapping[str, str] | None = None):
        """``env``: the command's whole environment (the webhook server passes a scrubbed
        one, regen_env); None: this process's own (the local CLI: the user's command)."""
        if not template.strip():
            raise RegenError('[regenerate] kind = "command" needs [regenerate] command')
        self.template = template
        self.timeout = timeout
        self.cwd = cwd
        self.env = env

    def argv(self, path: str) -> list[str]:
        return [a.replace("{path}", path) for a in shlex.split(self.template)]

    def __call__(self, request: Request) -> tuple[dict[str, Any], str]:
        argv = self.argv(request.path)
        env = {**(os.environ if self.env is None else self.env), "FLOAT_PATH": request.path,
               "FLOAT_SOURCE_HASH": request.source_hash}
        payload = json.dumps(request.as_json()).encode()
        try:
            proc = subprocess.Popen(argv, cwd=self.cwd, env=env, stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    start_new_session=True)
        except OSError as e:
            raise RegenError(f"cannot run {quoted(argv[0])}: {e.strerror}") from e
        try:
            out, err = proc.communicate(payload, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            out, err = proc.communicate()
            raise RegenError(f"{argv[0]} timed out after {self.timeout:g}s"
                             + _tail(err)) from None
        except BaseException:  # the worker is stopping (Ctrl-C, SIGTERM): stop the command too
            _kill_group(proc)
            proc.wait()
            raise
        if proc.returncode != 0:
            raise RegenError(f"{argv[0]} exited with {proc.returncode}" + _tail(err))
        try:
            fields = parse_answer(out.decode("utf-8", "replace"))
        except RegenError as e:
            raise RegenError(f"{argv[0]}: {e}" + _tail(err)) from None
        model = _model(out) or f"command:{Path(argv[0]).name}"
        return fields, model


def _model(out: bytes) -> str | None:
    try:
        obj = json.loads(out)
    except ValueError:
        return None
    value = obj.get("ai_model") or obj.get("model") if isinstance(obj, dict) else None
    return value if isinstance(value, str) and value else None


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()


def _tail(err: bytes) -> str:
    text = err.decode("utf-8", "replace").strip()
    if not text:
        return ""
    return "; stderr: " + text[-STDERR_TAIL:]
