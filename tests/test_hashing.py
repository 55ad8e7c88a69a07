"""The hash format (hashing.py) against a literal reading of its definition."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from float_hooks.hashing import FOLDER_MODE, folder_hash


def reference(children: list[tuple[str, str, str]]) -> str:
    """DESIGN.md, verbatim: children sorted bytewise by name, each ``<mode> SP <name> NUL
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


@given(st.dictionaries(names, st.tuples(st.sampled_from(["100644", "100755", "120000",
                                                          "160000", FOLDER_MODE]),
                                        st.text("0123456789abcdef", min_size=1, max_size=4)),
                       max_size=8))
def test_order_is_bytewise_for_any_unicode_names(kids: dict[str, tuple[str, str]]) -> None:
    children = [(n, m, h) for n, (m, h) in kids.items()]
    assert folder_hash(children) == reference(children)
    assert folder_hash(reversed(children)) == reference(children)
