"""Helpers shared by the regeneration tests: settings, scripts, the jobs table."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from float_hooks.config import CONFIG_TEMPLATE
from tests.gitrepo import GitRepo


def configure(repo: GitRepo, **settings: Any) -> None:
    """Write .float/config.toml: the template with ``key=value`` replaced (keys are unique
    across sections in the template)."""
    text = CONFIG_TEMPLATE
    for key, value in settings.items():
        literal = f'"{value}"' if isinstance(value, str) else str(value).lower() \
            if isinstance(value, bool) else str(value)
        text, n = re.subn(rf"(?m)^{key} = .*$", lambda _m, k=key, v=literal: f"{k} = {v}",
                          text)
        assert n == 1, key
    (repo.path / ".float" / "config.toml").write_text(text, encoding="utf-8")


def script(tmp: Path, name: str, body: str) -> str:
    """A Python script file; returns a command line running it with this interpreter."""
    path = tmp / name
    path.write_text(body, encoding="utf-8")
    return f"{sys.executable} {path}"


def jobs(repo: GitRepo) -> dict[str, dict[str, Any]]:
    return {j["path"]: j for j in repo.float_json("jobs")}


def wait_for(what: Callable[[], Any], timeout: float = 30.0, step: float = 0.1) -> Any:
    """Poll until ``what()`` is truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = what()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(step)


def folder(repo: GitRepo, path: str) -> dict[str, Any]:
    out: dict[str, Any] = repo.float_json("show", path)
    return out
