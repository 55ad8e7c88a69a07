"""``.float/config.toml``: the one config loader. Every setting has a default, so a repository
without a config file works; the defaults are the template ``init`` writes, so they are written
down exactly once."""

from __future__ import annotations

import contextlib
import marshal
import os
import sys
from pathlib import Path
from typing import Any

from float_hooks.atomic import read_text
from float_hooks.errors import ConfigError, quoted

# What the TOML parses gave, kept in the git dir and keyed by the exact texts parsed: a hook
# then needs no TOML parser (importing it is the biggest single import of a hook's start).
CACHE_NAME = "float-config.cache"

CONFIG_TEMPLATE = """\
# float-hooks settings. Every setting is written out with its default value;
# delete a line to go back to the default.

[sync]
# Extra paths to leave out of the map, as gitignore-style patterns.
# .gitignore is always honoured and .float/ is always left out.
exclude = []
# Seconds to wait for another float-hooks process that holds the database.
lock_timeout = 30

[hooks]
# When true, an internal error in a hook (corrupt or locked database, a bug)
# fails the git operation instead of printing one line and letting it through.
strict = false

[check]
# The float-check hook fails a commit when more than this many folders are
# stale; -1 means no limit (the check never fails on the count).
max_stale = -1
# ... or when any of these folders (e.g. "/src/auth") is stale.
folders = []

[regenerate]
# Who writes context for stale folders: "builtin" (offline, deterministic),
# "command" (a shell command template; JSON on stdin, JSON on stdout) or
# "openai" (any OpenAI-compatible chat-completions endpoint).
kind = "builtin"
# For kind = "command": the command line, e.g. "claude -p --output-format json".
command = ""
# Seconds a command or HTTP request may take before the job fails.
timeout = 300
# For kind = "openai": endpoint, model and the environment variable holding the key.
base_url = "https://api.openai.com/v1"
model = "gpt-4o-mini"
api_key_env = "OPENAI_API_KEY"
# Tokens (about 4 characters each) of one whole regeneration request: outlines,
# diffs, children, previous context and excerpts share it; what does not fit is
# named in the request's left_out.
request_tokens = 8000
# Of those, at most this many bytes of file excerpts.
input_budget = 24000
# Attempts before a job is given up, and the first retry delay (doubles each time).
max_attempts = 5
backoff_seconds = 30
# Seconds a job stays with its worker without word from it: a running worker
# renews its hold every third of this, so only a worker that died leaves its
# job behind, for this long, before another worker takes it over.
lease_seconds = 600

[trigger]
# What the post-commit, post-merge, post-checkout and post-rewrite hooks and
# `watch` do with stale folders after their sync: "queue" records jobs,
# "background" also starts one detached worker, "off" does neither.
on_commit = "queue"

[export]
# Where `float-hooks export` writes the markdown pages (relative to the repo).
dir = ".float/project"
"""

Config = dict[str, dict[str, Any]]
MAX_BYTES = 256 * 1024  # of .float/config.toml: a few dozen settings


def __getattr__(name: str) -> Any:
    """``DEFAULTS`` (the template, parsed) and ``tomllib``, on first use."""
    if name == "DEFAULTS":
        return _toml().loads(CONFIG_TEMPLATE)
    if name == "tomllib":
        return _toml()
    raise AttributeError(name)


def _toml() -> Any:
    if sys.version_info >= (3, 11):
        import tomllib  # lazy: a cached config needs no parser

        return tomllib
    import tomli  # pragma: no cover  # lazy: Python 3.10 only, as above

    return tomli  # pragma: no cover


def config_path(work_tree: Path) -> Path:
    return work_tree / ".float" / "config.toml"


def load(work_tree: Path | None, cache_dir: Path | None = None) -> Config:
    """Settings for a work tree (or the defaults for a bare repository). ``cache_dir``: where
    the parsed texts may be cached (:data:`CACHE_NAME`; the repository's git dir)."""
    if work_tree is None:
        return _copy(_toml().loads(CONFIG_TEMPLATE))
    path = config_path(work_tree)
    text = read_text(path, MAX_BYTES, ConfigError,
                     why="; float-hooks reads its settings only from a file")
    cache = cache_dir / CACHE_NAME if cache_dir is not None else None
    parsed = _cached(cache, text)
    if parsed is None:
        toml = _toml()
        try:
            user = toml.loads(text) if text is not None else {}
        except toml.TOMLDecodeError as e:
            raise ConfigError(f"{path}: invalid TOML ({e})") from e
        parsed = (toml.loads(CONFIG_TEMPLATE), user)
        if cache is not None:
            _store(cache, text, parsed)
    return _apply(_copy(parsed[0]), parsed[1], str(path))


def merge(base: Config, text: str, where: str) -> Config:
    toml = _toml()
    try:
        user = toml.loads(text)
    except toml.TOMLDecodeError as e:
        raise ConfigError(f"{where}: invalid TOML ({e})") from e
    return _apply(base, user, where)


def _apply(base: Config, user: dict[str, Any], where: str) -> Config:
    for section, values in user.items():
        if section not in base or not isinstance(values, dict):
            raise ConfigError(f"{where}: unknown section [{section}]")
        for key, value in values.items():
            if key not in base[section]:
                raise ConfigError(f"{where}: unknown setting {section}.{key}")
            default = base[section][key]
            if type(value) is not type(default):
                raise ConfigError(
                    f"{where}: {section}.{key} must be {type(default).__name__}, "
                    f"not {type(value).__name__}"
                )
            if (section, key) == ("export", "dir") and export_dir_parts(value) is None:
                raise ConfigError(f"{where}: export.dir must name a folder inside the"
                                  f" repository, not {quoted(value, 200)}")
            base[section][key] = value
    return base


def export_dir_parts(raw: str) -> list[str] | None:
    """``[export] dir`` as the parts of a path inside the repository (``..`` resolved), or
    None for an absolute path, one that climbs out, one inside ``.git`` or one that names the
    repository itself: a committed config is anyone's, and it never chooses where outside the
    work tree an export is read or written."""
    text = raw.replace("\\", "/")
    if text.startswith("/") or "\0" in text:
        return None
    parts: list[str] = []
    for p in text.split("/"):
        if p == "..":
            if not parts:
                return None  # above the repository
            parts.pop()
        elif p not in ("", "."):
            parts.append(p)
    # ".git" in any case (a case-insensitive file system's git dir), a drive ("C:")
    if not parts or parts[0].lower() == ".git" or parts[0].endswith(":"):
        return None
    return parts


def _copy(config: Config) -> Config:
    return {section: dict(values) for section, values in config.items()}


def _cached(cache: Path | None, text: str | None) -> tuple[Config, dict[str, Any]] | None:
    """The parsed template and ``text`` if the cache holds exactly these texts' parses."""
    if cache is None:
        return None
    try:
        template, defaults, cached_text, user = marshal.loads(cache.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):  # none yet, or not ours
        return None
    if template != CONFIG_TEMPLATE or cached_text != text:
        return None
    if not isinstance(defaults, dict) or not isinstance(user, dict):
        return None
    return defaults, user


def _store(cache: Path, text: str | None, parsed: tuple[Config, dict[str, Any]]) -> None:
    """Best effort: written whole under a temporary name, then renamed into place."""
    try:
        data = marshal.dumps((CONFIG_TEMPLATE, parsed[0], text, parsed[1]))
    except ValueError:  # a TOML date or time: marshal has no such type; parse every time
        return
    temp = cache.with_name(f"{CACHE_NAME}.{os.getpid()}.tmp")
    try:
        temp.write_bytes(data)
        os.replace(temp, cache)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temp)
