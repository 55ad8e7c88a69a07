"""boot.md is anyone's who can push, so it is read only as far as it is shown (by `brief`, the
agents' session-start hook, and by the MCP boot resource), and only as a regular file: never
through a symlink (tests/test_pages_hostile_more.py) nor from a named pipe. Observed directly: a
boot.md that is a pipe serving bytes without end, counting how many were taken, is not read
at all (a reader that read it whole would never finish: the test fails on its deadline); a
large regular one is shown only as far as the reader's share."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from mcp import Client

from float_hooks.agents.mcp_server import BOOT_MAX
from float_hooks.reads.brief import BOOT_SHARE
from tests.gitrepo import GitRepo
from tests.mcp_support import installed, session

HEAD = b"# Read me first\n"
SERVED = 16 * 2**20  # bytes served at most, then the pipe stays open without an end
PIPE_SLACK = 256 * 1024  # what sits in the pipe unread (64 KiB by default) and read-ahead


@contextmanager
def endless_boot(repo: GitRepo) -> Iterator[list[int]]:
    """.float/boot.md as a pipe; yields [bytes taken], final once the reader closed it."""
    path = repo.path / ".float" / "boot.md"
    path.unlink()
    os.mkfifo(path)
    taken = [0]
    done = threading.Event()

    def serve() -> None:
        fd = os.open(path, os.O_WRONLY)  # once the reader opens it
        try:
            chunk = HEAD + b"y" * (64 * 1024 - len(HEAD))
            while taken[0] < SERVED:
                taken[0] += os.write(fd, chunk)
                chunk = b"y" * (64 * 1024)
            done.wait()  # never an end of file: a whole read waits for ever
        except BrokenPipeError:
            pass  # the reader closed it: all it will take
        finally:
            os.close(fd)

    writer = threading.Thread(target=serve, daemon=True)
    writer.start()
    try:
        yield taken
    finally:
        done.set()
        if writer.is_alive():  # the reader never opened it: let the writer's open return
            os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
        writer.join(timeout=30)


def test_brief_reads_boot_md_only_as_a_file_and_as_far_as_it_shows(synced: GitRepo) -> None:
    with endless_boot(synced) as taken:
        proc = subprocess.run([sys.executable, "-m", "float_hooks", "brief"], cwd=synced.path,
                              capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "# Read me first" not in proc.stdout
    assert taken[0] <= PIPE_SLACK  # what one open lets into the pipe, never read
    big = synced.path / ".float" / "boot.md"
    big.unlink()
    big.write_bytes(HEAD + b"y" * (8 * 2**20))
    proc = subprocess.run([sys.executable, "-m", "float_hooks", "brief"], cwd=synced.path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "# Read me first" in proc.stdout and proc.stdout.count("y") <= BOOT_SHARE


def test_the_mcp_boot_resource_reads_boot_md_only_as_a_file_and_as_far_as_it_shows(
        synced: GitRepo) -> None:
    repo = installed(synced)
    texts: list[str] = []

    async def body(c: Client) -> None:
        texts.append((await c.read_resource("float://boot")).contents[0].text)  # type: ignore[union-attr]

    with endless_boot(repo) as taken:
        session(repo, body)
    assert not texts[0].startswith("# Read me first")
    assert taken[0] <= PIPE_SLACK
    big = repo.path / ".float" / "boot.md"
    big.unlink()
    big.write_bytes(HEAD + b"y" * (8 * 2**20))
    session(repo, body)
    assert texts[1].startswith("# Read me first") and len(texts[1]) <= BOOT_MAX
