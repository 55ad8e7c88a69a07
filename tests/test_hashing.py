"""The hash format (hashing.py) against a literal reading of its definition."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from float_hooks import paths
from float_hooks.repo.hashing import FOLDER_MODE, folder_hash


def reference(children: list[tuple[str, str, str]]) -> str:
    """docs/hash-format.md, verbatim: children sorted bytewise by name, each ``<mode> SP <name> NUL
    <hash> NUL``, SHA-256 of the concatenation."""
    out = b""
    for name, mode, child_hash in sorted(children, key=lambda c: c[0].encode()):
        out += mode.encode() + b" " + name.encode() + b"\0" + child_hash.encode() + b"\0"
    return hashlib.sha256(out).hexdigest()


def test_known_value() -> None:
    children = [("b.py", "100644", "a" * 40), ("A", FOLDER_MODE, "f" * 64)]
    assert folder_hash(children) == reference(children)
    assert folder_hash(children) == hashlib.sha256(
        b"40000 A\0" + b"f" * 64 + b"\0" + b"100644 b.py\0" + b"a" * 40 + b"\0").hexdigest()


names = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="/\0"), min_size=1,
    max_size=6,
)
raw_names = st.binary(min_size=1, max_size=6).filter(lambda b: b"/" not in b and b"\0" not in b)
modes = st.sampled_from(["100644", "100755", "120000", "160000", FOLDER_MODE])
oids = st.text("0123456789abcdef", min_size=1, max_size=4)


@given(st.dictionaries(names, st.tuples(modes, oids), max_size=8))
def test_order_is_bytewise_for_any_unicode_names(kids: dict[str, tuple[str, str]]) -> None:
    """Names as git stores them (UTF-8), spelled as the map stores them (paths.py doubles a
    backslash): the hash is over git's bytes."""
    raw = [(n.encode(), m, h) for n, (m, h) in kids.items()]
    stored = [(paths.from_git(b)[1:], m, h) for b, m, h in raw]
    assert folder_hash(stored) == reference_bytes(raw)
    assert folder_hash(reversed(stored)) == reference_bytes(raw)


@given(st.dictionaries(raw_names, st.tuples(modes, oids), max_size=8))
def test_any_git_names_bytes_included(kids: dict[bytes, tuple[str, str]]) -> None:
    """Names that are not UTF-8 (stored with escapes) hash as the bytes git has: two names
    never collide, a raw byte 0xFF and the four characters backslash-x-f-f included."""
    raw = [(n, m, h) for n, (m, h) in kids.items()]
    stored = [(paths.from_git(b)[1:], m, h) for b, m, h in raw]
    assert len({s for s, _, _ in stored}) == len(stored)
    assert folder_hash(stored) == reference_bytes(raw)


def reference_bytes(children: list[tuple[bytes, str, str]]) -> str:
    out = b""
    for name, mode, child_hash in sorted(children):
        out += mode.encode() + b" " + name + b"\0" + child_hash.encode() + b"\0"
    return hashlib.sha256(out).hexdigest()
