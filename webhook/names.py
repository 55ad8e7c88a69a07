"""Repository names from payloads and URLs: validated before they reach a path or a git URL.

GitHub's own rules: an owner is 1-39 letters, digits or hyphens; a repository name is 1-100
letters, digits, ``.``, ``_`` or ``-`` and is never ``.`` or ``..``. Anything else (slashes,
``..``, percent-encoded dots, control characters, NUL) is refused, so a name can never climb
out of the data directory or smuggle options into git.
"""

from __future__ import annotations

import re
from pathlib import Path

_OWNER = re.compile(r"[A-Za-z0-9-]{1,39}")
_REPO = re.compile(r"[A-Za-z0-9._-]{1,100}")


class InvalidName(ValueError):
    pass


def split(full_name: object) -> tuple[str, str]:
    """``owner/repo`` -> (owner, repo), or InvalidName."""
    if not isinstance(full_name, str):
        raise InvalidName("repository full_name must be a string")
    parts = full_name.split("/")
    if len(parts) != 2:
        raise InvalidName("repository full_name must be owner/name")
    owner, repo = parts
    check(owner, repo)
    return owner, repo


def check(owner: str, repo: str) -> None:
    # fullmatch, not match: "$" would accept a trailing newline
    if not _OWNER.fullmatch(owner) or owner.startswith("-"):
        raise InvalidName("invalid repository owner")
    if not _REPO.fullmatch(repo) or repo in (".", ".."):
        raise InvalidName("invalid repository name")


def repo_key(full_name: str) -> str:
    """The canonical key: GitHub names are case-insensitive, so one mirror per repository."""
    owner, repo = split(full_name)
    return f"{owner}/{repo}".lower()


def repo_dir(data_dir: Path, full_name: str) -> Path:
    """``DATA_DIR/<owner>/<repo>``; only ever built from a validated name."""
    owner, repo = split(repo_key(full_name))
    path = data_dir / owner / repo
    # belt and braces: the checks above already make this impossible
    if data_dir.resolve() not in path.resolve().parents:
        raise InvalidName("repository path escapes the data directory")
    return path


MAX_REF_BYTES = 1024  # far beyond any real ref; bounds what a payload can make us store
_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{")


def valid_refname(ref: object) -> bool:
    """git's own rules for a full ref name (``git check-ref-format``, refs.c), in Python
    because it runs on every delivery: no ASCII control characters, space, ``~ ^ : ? * [ \\``,
    ``..`` or ``@{``; no empty component (``//``, a leading or trailing ``/``); no component
    starting with ``.`` or ending with ``.lock``; not ending with ``.``; not ``@``. Any other
    Unicode is fine (``refs/heads/développement``), as long as it is valid UTF-8 (a lone
    surrogate is not). tests/test_webhook_branches.py compares it with git on random names."""
    if not isinstance(ref, str) or not ref or ref == "@" or ref.endswith("."):
        return False
    try:
        size = len(ref.encode("utf-8"))
    except UnicodeEncodeError:
        return False
    if size > MAX_REF_BYTES or _REF_FORBIDDEN.search(ref):
        return False
    return all(part and not part.startswith(".") and not part.endswith(".lock")
               for part in ref.split("/"))


def valid_branch(name: object) -> bool:
    """``git check-ref-format --branch``: ``refs/heads/<name>`` is a valid ref, and the name
    is neither ``HEAD`` nor starts with ``-`` (so it can never be read as an option)."""
    return (isinstance(name, str) and name != "HEAD" and not name.startswith("-")
            and valid_refname(f"refs/heads/{name}"))
