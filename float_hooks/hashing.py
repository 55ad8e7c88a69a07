"""The hash format: the one place that defines file and folder hashes.

* A file's hash is its git object id (hex): the blob id of its content as git stores it, the
  link blob for a symlink, the commit id for a submodule. Read for free from trees and the
  index, so local hooks, the server and CI agree with each other and with GitHub's API.
* A folder's hash is SHA-256 over its immediate children sorted bytewise by name, each child
  written as ``<mode> SP <name> NUL <hash> NUL`` where mode is git's tree-entry mode
  (``100644``, ``100755``, ``120000``, ``160000``, and ``40000`` for a child folder, whose hash
  is its own folder hash). A Merkle tree: a change bubbles up to the root, a revert restores it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

FOLDER_MODE = "40000"

# Modes git records in trees; anything else (e.g. old 100664) normalises to a plain blob.
MODE_KINDS = {
    "100644": "file",
    "100755": "executable",
    "120000": "symlink",
    "160000": "submodule",
    FOLDER_MODE: "folder",
}


def normalize_mode(mode: str) -> str:
    mode = mode.lstrip("0") or "0"
    return mode if mode in MODE_KINDS else "100644"


def folder_hash(children: Iterable[tuple[str, str, str]]) -> str:
    """Hash of a folder from ``(name, mode, hash)`` of its immediate children."""
    # Sorting the str names sorts their UTF-8 bytes: UTF-8 keeps code point order. Names are
    # unique within a folder, so the tuples never compare past the name. One joined string,
    # one update: this runs for every folder of a full sync.
    return hashlib.sha256(
        "".join([f"{mode} {name}\0{child_hash}\0" for name, mode, child_hash in sorted(children)])
        .encode()
    ).hexdigest()
