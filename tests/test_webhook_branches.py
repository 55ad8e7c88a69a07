"""Branch names by git's own rules: the server follows default branches such as
``développement``, ``fix#12`` or ``release@2024``, and FLOAT_BRANCH takes them; the Python
check agrees with ``git check-ref-format --branch`` on random names."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.webhook_support import Origin, app_config, post, rows
from webhook import create_app
from webhook.names import valid_branch, valid_refname
from webhook.settings import SettingsError, load

REAL_NAMES = ["développement", "fix#12", "release@2024", "feature/ünïcode", "v1.2", "a@b",
              "@", "x/y/z", "日本語"]
REFUSED = ["HEAD", "-x", "a..b", "a b", "a:b", "a~1", "a^", "a?", "a*", "a[b", "a\\b",
           "a@{1}", "@{-1}", "a.lock", "a/b.lock/c", ".a", "a/.b", "a.", "a/", "/a", "a//b",
           "", "a\x00b", "a\x7fb", "a\nb", "\ud800"]


def git_says(name: str, cwd: Path) -> bool:
    return subprocess.run(["git", "check-ref-format", "--branch", name], cwd=cwd,
                          capture_output=True).returncode == 0


@pytest.mark.parametrize("name", REAL_NAMES)
def test_real_branch_names_are_valid(name: str, tmp_path: Path) -> None:
    assert git_says(name, tmp_path)
    assert valid_branch(name) and valid_refname(f"refs/heads/{name}")


@pytest.mark.parametrize("name", REFUSED, ids=repr)
def test_names_git_refuses(name: str, tmp_path: Path) -> None:
    if "\x00" not in name and "\ud800" not in name:  # argv cannot carry these two
        assert not git_says(name, tmp_path)
    assert not valid_branch(name)


ALPHABET = st.sampled_from([*list("ab.-/@{}~^:?*[\\ #é\x01\x7f"), "lock", "HEAD"])


@settings(max_examples=300, deadline=None)
@given(st.lists(ALPHABET, min_size=1, max_size=8).map("".join))
def test_the_same_verdict_as_git(tmp_path_factory: pytest.TempPathFactory, name: str) -> None:
    cwd = tmp_path_factory.getbasetemp()  # not a repository: no @{-1} expansion
    assert valid_branch(name) == git_says(name, cwd), name


@pytest.mark.parametrize("name", REAL_NAMES[:3])
def test_settings_take_real_branch_names(name: str, tmp_path: Path) -> None:
    s = load({"FLOAT_WEBHOOK_SECRET": "s", "FLOAT_DATA_DIR": str(tmp_path),
              "FLOAT_BRANCH": name}, environ={})
    assert s.branch == name
    with pytest.raises(SettingsError, match="check-ref-format"):
        load({"FLOAT_WEBHOOK_SECRET": "s", "FLOAT_DATA_DIR": str(tmp_path),
              "FLOAT_BRANCH": name + ".lock"}, environ={})


@pytest.mark.parametrize("branch", REAL_NAMES[:3])
@pytest.mark.parametrize("how", ["default", "FLOAT_BRANCH"])
def test_a_real_branch_is_followed(tmp_path: Path, branch: str, how: str) -> None:
    origin = Origin(tmp_path)
    origin.commit({"src/app.py": "app\n"}, "initial")
    before, after = origin.push(branch)
    extra = {"FLOAT_BRANCH": branch} if how == "FLOAT_BRANCH" else {}
    app = create_app(app_config(tmp_path, origin, FLOAT_WORKER="off", **extra))
    payload = origin.payload(before, after, branch, default_branch=branch if how == "default"
                             else "main")
    r = post(app.test_client(), "push", payload)
    assert r.status_code == 202 and r.json["status"] == "queued", r.json
    assert app.extensions["float_worker"].run_until_idle() == 1
    (row,) = rows(app)
    assert row["state"] == "done", row
    assert row["result"]["sync"]["head"] == after
    assert row["default_branch"] == (branch if how == "default" else "main")
