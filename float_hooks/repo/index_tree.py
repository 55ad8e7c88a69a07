"""The tree an index would commit, read from the index file's cache-tree extension without
reading its entries.

``git commit`` brings the index's cache tree up to date (writing every tree object) before it
runs the pre-commit hook, so the root of that extension names the tree being committed. A
``git diff-tree`` of HEAD against it then costs what the commit changes, where anything that
reads the index (``git diff-index --cached``) costs what the repository holds: its entries are
~100 bytes each, read and checked before the first line of output.

The extensions follow the entries, and where the entries end is only known by reading them
all (or from the optional EOIE extension). The reader instead looks for the ``TREE``
signature from the end and accepts a candidate only if the extensions from there chain exactly
to the checksum at the end of the file and its root covers every entry the header counts. A
root marked invalid (``git add`` since the last tree was written, a partial commit's
temporary index), a split index (the header counts only the split part's entries) or any
other doubt gives None: the caller then reads the index as before.

Specified by git's Documentation/gitformat-index.txt ("Cache tree"): a ``TREE`` extension's
first entry is the root, ``<path>\\0<entry_count> <subtrees>\\n<object name>``, with an empty
path and ``entry_count`` -1 when it is invalid.
"""

from __future__ import annotations

import mmap
import os

_HEADER = 12  # "DIRC", version, number of entries
_HASH_SIZES = (20, 32)  # SHA-1, SHA-256: the file's trailing checksum is one of these
_EXTENSION_HEADER = 8  # signature, size
_ROOT_HEADER_MAX = 1 + 2 * 11 + 1  # "\0" + two decimal counts, a space, a newline


def cached_root_tree(index_path: str | os.PathLike[str]) -> str | None:
    """The root tree id of ``index_path``'s valid cache tree, or None."""
    try:
        with open(index_path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size < _HEADER + min(_HASH_SIZES):
                return None
            view = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None
    with view:
        if view[:4] != b"DIRC" or _be32(view, 4) not in (2, 3, 4):
            return None
        count = _be32(view, 8)
        at = size
        # one with the extension stops there, valid or not; an index without it (rare: git
        # writes one even after `read-tree`) is searched through, once, before the caller
        # reads the whole index anyway
        while (at := view.rfind(b"TREE", _HEADER, at)) >= 0:
            for hash_size in _HASH_SIZES:
                end = size - hash_size
                if _chained(view, at, end):  # the extension itself: its root or nothing
                    return _root(view, at, end, count, hash_size)
    return None


def _be32(view: mmap.mmap, at: int) -> int:
    return int.from_bytes(view[at:at + 4], "big")


def _chained(view: mmap.mmap, at: int, end: int) -> bool:
    """Whether the extensions from ``at`` on end exactly where the checksum begins."""
    nxt = at
    while nxt < end:
        if nxt + _EXTENSION_HEADER > end:
            return False
        nxt += _EXTENSION_HEADER + _be32(view, nxt + 4)
    return nxt == end


def _root(view: mmap.mmap, at: int, end: int, count: int, hash_size: int) -> str | None:
    """The root tree of the cache-tree extension at ``at`` if it is valid; None otherwise."""
    data = at + _EXTENSION_HEADER
    data_end = data + _be32(view, at + 4)
    if view[data:data + 1] != b"\0":  # the root's path is empty
        return None
    newline = view.find(b"\n", data, min(data_end, data + _ROOT_HEADER_MAX))
    if newline < 0 or newline + 1 + hash_size > data_end:
        return None
    counts = view[data + 1:newline].split(b" ")
    if len(counts) != 2 or not all(c.isdigit() for c in counts):
        return None  # "-1": invalid, or not a cache tree at all
    if int(counts[0]) != count:
        return None  # a split index, or not the root of this index
    return view[newline + 1:newline + 1 + hash_size].hex()
