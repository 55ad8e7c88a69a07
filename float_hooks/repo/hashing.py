"""The hash format: the one place that defines file and folder hashes.

* A file's hash is its git object id (hex): the blob id of its content as git stores it, the
  link blob for a symlink, the commit id for a submodule. Read for free from trees and the
  index, so local hooks, the server and CI agree with each other and with GitHub's API.
* A folder's hash is SHA-256 over its immediate children sorted bytewise by name, each child
  written as ``<mode> SP <name> NUL <hash> NUL`` where name is git's own bytes of the name
  (not the stored path's escapes, see paths.py) and mode is git's tree-entry mode
  (``100644``, ``100755``, ``120000``, ``160000``, and ``40000`` for a child folder, whose hash
  is its own folder hash). A Merkle tree: a change bubbles up to the root, a revert restores it.
"""

from __future__ import annotations

from collections.abc import Iterable

from float_hooks.paths import name_bytes

try:
    # CPython's builtin SHA-256 rather than hashlib's: importing hashlib initialises OpenSSL,
    # a cost every hook's and command's start would pay. Same hashes; the builtin is slower
    # per byte, which only a first sync notices (docs/performance.md).
    from _sha2 import sha256  # type: ignore[import-not-found,unused-ignore]  # CPython 3.12+
except ImportError:
    try:
        from _sha256 import sha256  # type: ignore[import-not-found,no-redef,unused-ignore]
    except ImportError:  # a build without the builtin hashes
        from hashlib import sha256  # type: ignore[assignment,unused-ignore]

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
    ordered = sorted(children)
    text = "".join([f"{mode} {name}\0{oid}\0" for name, mode, oid in ordered])
    if "\\" in text:  # a name with an escape (paths.py): hash git's own bytes of each name
        return _raw_folder_hash(ordered)
    digest: str = sha256(text.encode()).hexdigest()
    return digest


def _raw_folder_hash(children: Iterable[tuple[str, str, str]]) -> str:
    raw = sorted((name_bytes(name), mode, oid) for name, mode, oid in children)
    digest: str = sha256(b"".join(b"%s %s\0%s\0" % (mode.encode(), name, oid.encode())
                                  for name, mode, oid in raw)).hexdigest()
    return digest


def folder_hashes(files: dict[str, tuple[str, str]]) -> dict[str, str]:
    """Every folder's hash computed from the files below it (stored path -> (mode, id)), as
    a sync computes them: the folders holding a file and all their ancestors."""
    below: dict[str, list[tuple[str, str, str]]] = {}  # folder -> its (name, mode, hash)
    for path, (mode, oid) in files.items():
        cut = path.rfind("/")  # paths.parent and paths.name, inlined: 90k files at a time
        folder = path[:cut] if cut > 0 else "/"
        group = below.get(folder)
        if group is None:
            below[folder] = [(path[cut + 1 :], mode, oid)]
        else:
            group.append((path[cut + 1 :], mode, oid))
    by_depth: dict[int, list[str]] = {}
    for folder in list(below):
        while True:  # the folder and its ancestors not met yet
            by_depth.setdefault(0 if folder == "/" else folder.count("/"), []).append(folder)
            if folder == "/":
                break
            folder = folder[: folder.rfind("/")] or "/"
            if folder in below:
                break
            below[folder] = []
    hashes: dict[str, str] = {}
    for depth in sorted(by_depth, reverse=True):  # children before parents
        for folder in by_depth[depth]:
            digest = hashes[folder] = folder_hash(below[folder])
            if folder != "/":
                cut = folder.rfind("/")
                below[folder[:cut] or "/"].append((folder[cut + 1 :], FOLDER_MODE, digest))
    return hashes
