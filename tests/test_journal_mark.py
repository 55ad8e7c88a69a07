"""A DB knows which journal file it committed through, not only how far: a compaction killed
between its rewrite and its COMMIT can leave a new journal exactly as long as the old one, and
the next open must still merge it (journal._mark)."""

from __future__ import annotations

import json
import os

from float_hooks.store.journal import path_for
from float_hooks.store.journal_format import line as journal_line
from tests.gitrepo import GitRepo


def test_a_rewritten_journal_of_the_same_size_is_caught_up(synced: GitRepo) -> None:
    synced.float_ok("set", "/docs", "--summary", "summary aaaa")
    journal = path_for(synced.path / ".git")
    data = journal.read_bytes()
    assert data.count(b"summary aaaa") == 1
    # what a killed compaction leaves: a new file (a new inode), the same length, holding a
    # write the DB never committed
    tmp = journal.with_name("rewritten.tmp")
    tmp.write_bytes(resum(data.replace(b"summary aaaa", b"summary bbbb")))
    os.replace(tmp, journal)
    assert journal.stat().st_size == len(data)
    assert synced.float_json("show", "docs")["map_summary"] == "summary bbbb"


def resum(data: bytes) -> bytes:
    """Journal lines edited by a test, with their checksums made right again (what a real
    writer would have written)."""
    out = []
    for raw in data.splitlines(keepends=True):
        entry = json.loads(raw)
        if "sum" in entry:
            entry.pop("sum")
            raw = journal_line(entry).encode()
        out.append(raw)
    return b"".join(out)
