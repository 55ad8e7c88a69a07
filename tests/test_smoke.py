from __future__ import annotations

from tests.gitrepo import GitRepo


def test_init_then_status(synced: GitRepo) -> None:
    status = synced.float_json("status")
    assert status["files"] == 5
    assert status["folders"] == 5
    assert status["pending"] == 5
    assert status["head"] == synced.head()
