"""Repository path conventions: the one place that turns git's bytes into the paths we store.

Stored paths are repo-relative with a leading slash: the root folder is ``/``, then ``/src``;
a file is ``/src/auth/login.py``. Git paths are bytes; a stored path must be text (SQLite
TEXT, JSON, markdown) and two git paths must never share one. The encoding:

* a path that is valid UTF-8 is stored as its text, except that each backslash is doubled;
* a byte that is not part of valid UTF-8 is written ``\\xNN`` (two lowercase hex digits).

Only an escaped byte starts ``\\x`` after an undoubled backslash, so :func:`to_bytes` undoes
:func:`from_git` exactly: the encoding is injective (a raw byte 0xFF is ``\\xff``, the four
characters ``\\xff`` are ``\\\\xff``). Names without a backslash, which is every name in most
repositories, are stored as they are.
"""

from __future__ import annotations

import os
import posixpath
import re

ROOT = "/"

# Everything under .float/ is ours (the DB, the export, the config), never scanned.
FLOAT_DIR = ".float"

_ESCAPE = re.compile(r"\\(\\|x[0-9a-f]{2})")


def from_git(raw: bytes) -> str:
    """Convert a repo-relative git path (bytes, no leading slash) to a stored path."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "/" + _escape_bytes(raw)
    return "/" + text.replace("\\", "\\\\") if "\\" in text else "/" + text


def text_from_git(text: str) -> str:
    """:func:`from_git` of a path git printed that is already decoded as UTF-8."""
    return "/" + text.replace("\\", "\\\\") if "\\" in text else "/" + text


def _escape_bytes(raw: bytes) -> str:
    out: list[str] = []
    rest = raw
    while rest:
        try:
            out.append(rest.decode("utf-8").replace("\\", "\\\\"))
            break
        except UnicodeDecodeError as e:
            out.append(rest[: e.start].decode("utf-8").replace("\\", "\\\\"))
            out.extend(f"\\x{b:02x}" for b in rest[e.start : e.end])
            rest = rest[e.end :]
    return "".join(out)


def to_bytes(path: str) -> bytes:
    """A stored path as git's repo-relative bytes (no leading slash): inverse of from_git."""
    text = path[1:] if path.startswith("/") else path
    if "\\" not in text:
        return text.encode("utf-8")
    out = bytearray()
    pos = 0
    for m in _ESCAPE.finditer(text):
        out += text[pos : m.start()].encode("utf-8")
        token = m.group(1)
        out += b"\\" if token == "\\" else bytes([int(token[1:], 16)])
        pos = m.end()
    out += text[pos:].encode("utf-8")
    return bytes(out)


def to_git(path: str) -> str:
    """A stored path as git's repo-relative spelling (no leading slash), as the OS takes it
    for arguments and file names (undecodable bytes as surrogate escapes)."""
    text = path[1:]
    return os.fsdecode(to_bytes(path)) if "\\" in text else text


def name_bytes(name: str) -> bytes:
    """A stored file or folder name (no slash) as git's bytes."""
    return to_bytes(name) if "\\" in name else name.encode("utf-8")


def parent(path: str) -> str:
    """The folder holding ``path``; the root's parent is the root itself."""
    cut = path.rfind("/")
    return "/" if cut <= 0 else path[:cut]


def name(path: str) -> str:
    return path[path.rfind("/") + 1 :]


def depth(path: str) -> int:
    return 0 if path == ROOT else path.count("/")


class OutsideRepository(ValueError):
    pass


def normalize(user_path: str, cwd: str = ROOT) -> str:
    """A folder path as a user types it, as git takes it: relative to ``cwd`` (a stored folder
    path: where the user stands in the repository), or to the root when it starts with ``/``.
    ``.`` and ``..`` are resolved; a path that climbs out of the repository is refused.
    ``src/auth/``, ``./src/auth`` and ``/src/auth`` (from the root) are all ``/src/auth``."""
    if "\0" in user_path:
        raise OutsideRepository("a path may not contain a NUL byte")
    if not user_path.startswith("/"):
        user_path = posixpath.join(cwd, user_path)
    parts: list[str] = []
    for part in user_path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                raise OutsideRepository(f"{user_path}: outside the repository")
            parts.pop()
        else:
            parts.append(part)
    return "/" + "/".join(parts)


def whole(path: str) -> str:
    """A folder path given whole, from the repository root (the read API, the agents' tools):
    ``src/auth``, ``/src/auth/`` and ``/`` are taken; ``.`` and ``..`` segments are refused
    (a URL or a tool argument has no current directory to resolve them against)."""
    if any(part in (".", "..") for part in path.split("/")):
        raise OutsideRepository("a folder path may not contain '.' or '..' segments")
    return normalize(path if path.startswith("/") else "/" + path)


def is_float_path(path: str) -> bool:
    return path == "/" + FLOAT_DIR or path.startswith("/" + FLOAT_DIR + "/")
