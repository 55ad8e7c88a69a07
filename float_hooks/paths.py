"""Repository path conventions: the one place that turns git's bytes into the paths we store.

Stored paths are repo-relative with a leading slash: the root folder is ``/``, then ``/src``;
a file is ``/src/auth/login.py``. Git paths are bytes; names that are not valid UTF-8 are
stored with each undecodable byte written as ``\\xNN`` so that they can live in SQLite TEXT,
JSON output and markdown alike.
"""

from __future__ import annotations

ROOT = "/"

# Everything under .float/ is ours (the DB, the export, the config), never scanned.
FLOAT_DIR = ".float"


def from_git(raw: bytes) -> str:
    """Convert a repo-relative git path (bytes, no leading slash) to a stored path."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", "backslashreplace")
    return "/" + text


def to_git(path: str) -> str:
    """A stored path as git's repo-relative spelling (no leading slash)."""
    return path[1:]


def parent(path: str) -> str:
    """The folder holding ``path``; the root's parent is the root itself."""
    cut = path.rfind("/")
    return "/" if cut <= 0 else path[:cut]


def name(path: str) -> str:
    return path[path.rfind("/") + 1 :]


def ancestors(path: str) -> list[str]:
    """Folders holding ``path``, deepest first, ending with ``/``."""
    out: list[str] = []
    while path != ROOT:
        path = parent(path)
        out.append(path)
    return out


def depth(path: str) -> int:
    return 0 if path == ROOT else path.count("/")


def is_within(path: str, folder: str) -> bool:
    """True if ``path`` is ``folder`` or lies below it."""
    return folder == ROOT or path == folder or path.startswith(folder + "/")


def normalize(user_path: str) -> str:
    """A folder path as a user may type it (``src/auth/``, ``./src``, ``/src``) -> ``/src``."""
    parts = [p for p in user_path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ValueError(f"path may not contain '..': {user_path!r}")
    return "/" + "/".join(parts)


def is_float_path(path: str) -> bool:
    return path == "/" + FLOAT_DIR or path.startswith("/" + FLOAT_DIR + "/")
