"""Helpers shared by the regeneration tests: settings, scripts, the jobs table."""

from __future__ import annotations

import re
import sys
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


def folder(repo: GitRepo, path: str) -> dict[str, Any]:
    out: dict[str, Any] = repo.float_json("show", path)
    return out
