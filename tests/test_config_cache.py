"""The parsed config is cached in the git dir, keyed by the exact texts parsed: a hook with an
unchanged config imports no TOML parser, and any edit (even one of the same size, in the
same instant) is read again; every value is still checked on each load."""

from __future__ import annotations

import marshal
import subprocess
import sys
from pathlib import Path

import pytest

from float_hooks import config
from float_hooks.errors import ConfigError
from tests.gitrepo import GitRepo


def _paths(repo: GitRepo) -> tuple[Path, Path, Path]:
    git_dir = repo.path / ".git"
    return repo.path / ".float" / "config.toml", git_dir, git_dir / config.CACHE_NAME


def test_a_cached_config_is_read_without_a_toml_parser(synced: GitRepo) -> None:
    _cfg, git_dir, cache = _paths(synced)
    cache.unlink(missing_ok=True)
    first = config.load(synced.path, git_dir)
    assert cache.is_file() and first == config.load(synced.path)  # the same as uncached
    probe = ("import sys; from pathlib import Path; from float_hooks import config;"
             f" c = config.load(Path({str(synced.path)!r}), Path({str(git_dir)!r}));"
             " print(c['sync']['lock_timeout'], 'tomllib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["30", "False"]


def test_an_edit_of_the_same_size_is_read_again_and_values_are_checked(
        synced: GitRepo) -> None:
    cfg, git_dir, _cache = _paths(synced)
    text = cfg.read_text()
    assert config.load(synced.path, git_dir)["sync"]["lock_timeout"] == 30
    cfg.write_text(text.replace("lock_timeout = 30", "lock_timeout = 31"))
    assert config.load(synced.path, git_dir)["sync"]["lock_timeout"] == 31
    cfg.write_text(text.replace("lock_timeout = 30", "lock_timeout = '3'"))
    for _ in range(2):  # parsed, then from the cache: the check runs both times
        with pytest.raises(ConfigError, match="lock_timeout must be int"):
            config.load(synced.path, git_dir)
    cfg.write_text(text.replace("lock_timeout = 30", "lock_timeout = 3x"))
    with pytest.raises(ConfigError, match="invalid TOML"):
        config.load(synced.path, git_dir)
    cfg.unlink()  # no file: the defaults, cached too
    assert config.load(synced.path, git_dir) == config.DEFAULTS


def test_a_damaged_or_foreign_cache_is_parsed_again(synced: GitRepo) -> None:
    cfg, git_dir, cache = _paths(synced)
    cfg.write_text(cfg.read_text().replace("max_stale = -1", "max_stale = 4"))
    for junk in (b"", b"\x00garbage", b"\xe9" * 100):
        cache.write_bytes(junk)
        assert config.load(synced.path, git_dir)["check"]["max_stale"] == 4
    # a cache of other texts (an older template, another config) is not used
    cache.write_bytes(marshal.dumps(("old template", {}, cfg.read_text(), {})))
    assert config.load(synced.path, git_dir)["check"]["max_stale"] == 4
    # a TOML date cannot be cached: the load still says what is wrong, every time
    cfg.write_text("[sync]\nlock_timeout = 1979-05-27\n")
    for _ in range(2):
        with pytest.raises(ConfigError, match="lock_timeout must be int, not date"):
            config.load(synced.path, git_dir)
