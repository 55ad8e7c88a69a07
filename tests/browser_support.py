"""A real headless browser for the tests: Chromium from the Debian packages, driven by
Playwright (its Python package only: no browser download). Not a test module.

``chromium()`` finds the browser; when it is missing and the tests run as root on Debian (CI
does) it installs it with apt-get, once (the install is the project's, not the CI's: the
test command (README, .ci/run) is all CI runs). Elsewhere without Chromium the browser tests are
skipped with that reason, never silently; under ``CI=true`` they fail instead.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
PACKAGES = ("chromium",)
# Chromium as root in a container: no sandbox (it needs user namespaces), no GPU, and nothing
# that reaches the network by itself (updates, sync, field trials, QUIC probes)
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-dev-shm-usage"]


def _found() -> str | None:
    for path in (shutil.which("chromium"), *CANDIDATES):
        if path and os.access(path, os.X_OK):
            return path
    return None


def _install() -> str:
    """apt-get install chromium (root on Debian/Ubuntu); '' when done, else why not."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return "Chromium is not installed (apt-get install chromium, as root)"
    lock = Path(tempfile.gettempdir()) / "float-hooks-chromium-install.lock"
    with open(lock, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # parallel test processes install once
        if _found():
            return ""
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES]
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:  # a fresh container has no package lists yet
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True,
                           timeout=600)
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            return "apt-get install chromium failed: " + (done.stderr.strip().splitlines()
                                                          or ["?"])[-1]
    return ""


def chromium() -> str:
    """The path of the Chromium executable (installing it if need be and possible)."""
    path = _found()
    if path is None:
        why = _install()
        path = _found()
        if path is None:
            if os.environ.get("CI"):
                pytest.fail(f"the browser tests need Chromium: {why}")
            pytest.skip(f"the browser tests need Chromium: {why}")
    return path
