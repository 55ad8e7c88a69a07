"""The one atomic write (atomic.py) that export, init, `agents install` and the hook shims use:
whole or nothing, no temporary file left behind, and a user's permissions kept."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from float_hooks.atomic import write_atomic
from tests.gitrepo import GitRepo


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_rewrite_keeps_permissions_new_files_follow_the_umask(tmp_path: Path) -> None:
    private = tmp_path / "a" / "private.json"
    write_atomic(private, "{}\n")  # parents made
    old_umask = os.umask(0o022)
    os.umask(old_umask)
    assert mode(private) == 0o666 & ~old_umask
    private.chmod(0o600)
    write_atomic(private, '{"k": 1}\n')
    assert mode(private) == 0o600 and private.read_text() == '{"k": 1}\n'
    write_atomic(private, b"x", mode=0o755)
    assert mode(private) == 0o755 and private.read_bytes() == b"x"
    assert sorted(p.name for p in private.parent.iterdir()) == ["private.json"]


def test_a_private_file_is_never_readable_by_others_even_as_its_temporary(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "settings.json"
    secret.write_text("{}")
    secret.chmod(0o600)
    seen: list[tuple[int, int]] = []
    real_fchmod = os.fchmod

    def spy(fd: int, new_mode: int) -> None:  # the temporary as its mode is set
        st = os.fstat(fd)
        seen.append((stat.S_IMODE(st.st_mode), st.st_size))
        real_fchmod(fd, new_mode)

    monkeypatch.setattr(os, "fchmod", spy)
    write_atomic(secret, '{"token": "t"}')
    assert seen == [(0o600, 0)]  # created private, and still empty when given its mode
    assert mode(secret) == 0o600 and secret.read_text() == '{"token": "t"}'


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    (target / "inside").mkdir(parents=True)  # a directory where the file should go
    with pytest.raises(OSError):
        write_atomic(target, "text")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]
    assert [p.name for p in target.iterdir()] == ["inside"]


def test_agents_install_keeps_a_private_settings_file_private(synced: GitRepo) -> None:
    settings = synced.path / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text(json.dumps({"env": {"SOME_TOKEN": "secret"}}))
    settings.chmod(0o600)
    synced.float_ok("agents", "install", "--claude")
    data = json.loads(settings.read_text())
    assert data["env"] == {"SOME_TOKEN": "secret"} and "hooks" in data
    assert mode(settings) == 0o600
    assert not [p for p in settings.parent.iterdir() if p.name.endswith("tmp")]
