"""The hash guard on set_context: a result prepared for an older folder hash is refused inside
the write transaction and leaves the folder exactly as it was."""

from __future__ import annotations

import pytest

from float_hooks.map.build import open_built
from float_hooks.project import Project
from float_hooks.store.folder_context import HashMismatch, get_folder, set_context
from tests.gitrepo import GitRepo


def test_expected_hash_guard_refuses_a_result_for_an_old_hash(synced: GitRepo) -> None:
    store = open_built(Project.discover(synced.path))
    try:
        old = get_folder(store.conn, "/src/auth")["source_hash"]
        set_context(store, "/src/auth", {"map_summary": "v1"}, expected_hash=old)
        assert get_folder(store.conn, "/src/auth")["status"] == "current"

        synced.write("src/auth/login.py", "def login(): return 2\n")
        synced.float_ok("sync")
        with pytest.raises(HashMismatch):
            set_context(store, "/src/auth", {"map_summary": "v2"}, model="m",
                        for_hash=old, expected_hash=old)
        row = get_folder(store.conn, "/src/auth")
        assert (row["map_summary"], row["status"]) == ("v1", "stale")
        # the refused write left no context version behind either
        versions = store.conn.execute(
            "SELECT count(*) FROM context_versions WHERE folder_path = '/src/auth'").fetchone()
        assert versions[0] == 1
    finally:
        store.close()
