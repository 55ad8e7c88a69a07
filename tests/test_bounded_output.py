"""Long lists are bounded in human output, `... and N more`; `--json` has them all
(issue 28)."""

from __future__ import annotations

from float_hooks.output import SHOWN
from tests.gitrepo import GitRepo
from tests.map_support import make_current

MANY = SHOWN + 15


def test_sync_and_stale_bound_their_lists(synced: GitRepo) -> None:
    for i in range(MANY):
        synced.write(f"many/d{i:02}/f.txt", "1\n")
    synced.commit("many")
    synced.float_ok("sync")
    make_current(synced)
    for i in range(MANY):
        synced.write(f"many/d{i:02}/f.txt", "2\n")
    out = synced.float_ok("sync").out
    line = next(x for x in out.splitlines() if "went stale" in x)
    assert f"{MANY + 2} folders went stale" in line  # + /many and /
    assert f"... and {MANY + 2 - SHOWN} more" in line and len(line) < 2000
    lines = synced.float_ok("stale").out.splitlines()
    assert len(lines) == SHOWN + 1 and f"... and {MANY + 2 - SHOWN} more" in lines[-1]
    assert len(synced.float_json("stale")["folders"]) == MANY + 2
