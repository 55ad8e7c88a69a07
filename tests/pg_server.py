"""A throwaway PostgreSQL server for the tests: initdb in a temporary directory, a loopback
port and a unix socket in that directory, trust authentication, stopped (and deleted) at the
end (found in FLOAT_TEST_PG_BIN or the installed /usr/lib/postgresql/<major>/bin; missing, the
PostgreSQL tests are skipped, saying why, and fail instead under ``CI=true``). initdb and
postgres refuse to run as root: as root (CI) they run as the ``postgres`` (or
``nobody``) user, which owns the directory. Not a test module: nothing here is collected.

``pg_server`` (session) is the server; ``pg_url`` (per test) a fresh database on it. Import
both into a test module: ``from tests.pg_server import pg_server, pg_url  # noqa: F401``.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

TOOLS = ("initdb", "pg_ctl", "postgres")


def _version(d: Path) -> int:
    return int(d.parent.name) if d.parent.name.isdigit() else 0


def bin_dirs() -> list[str]:
    """Where the server binaries may be: FLOAT_TEST_PG_BIN, then Debian/Ubuntu's packages
    (``/usr/lib/postgresql/<major>/bin``, whichever majors are installed, newest first),
    then /usr/local/bin."""
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version, reverse=True)
    return [d for d in (os.environ.get("FLOAT_TEST_PG_BIN"), *map(str, debian),
                        "/usr/local/bin") if d]


def find_bin() -> Path | None:
    """The directory holding initdb, pg_ctl and postgres, or None."""
    for d in bin_dirs():
        if all((Path(d) / n).exists() for n in TOOLS):
            return Path(d)
    found = shutil.which("pg_ctl")
    if found and (Path(found).parent / "initdb").exists():
        return Path(found).parent
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    def __init__(self, bindir: Path, **settings: str):
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="float-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.user: str | None = None
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                with contextlib.suppress(KeyError):
                    pw = pwd.getpwnam(name)
                    os.chown(self.root, pw.pw_uid, pw.pw_gid)
                    self.user = name
                    break
        # a throwaway server: no fsync (nothing here must survive the machine crashing)
        self.settings = {"fsync": "off", "full_page_writes": "off",
                         "max_connections": "200", **settings}
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                  "--no-sync", "-E", "UTF8")
        self.start()

    def _run(self, tool: str, *args: str) -> None:
        argv = [str(self.bindir / tool), *args]
        if self.user is not None:
            argv = ["runuser", "-u", self.user, "--", *argv]
        proc = subprocess.run(argv, capture_output=True, text=True, cwd=self.root, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"{tool} failed: {proc.stderr[-2000:]}")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        opts = " ".join([f"-p {self.port}", f"-k {self.root}", "-c listen_addresses=127.0.0.1",
                         *(f"-c {k}={v}" for k, v in self.settings.items())])
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-o", opts,
                  "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def restart(self) -> None:
        """Stop (closing every connection) and start again on the same port."""
        self.stop()
        self.start()

    def new_database(self) -> str:
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def close(self) -> None:
        with contextlib.suppress(RuntimeError):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


def missing(why: str) -> None:
    """Skip the PostgreSQL tests saying ``why``; under ``CI=true`` fail instead: CI must run
    every test, so a machine without what they need is a broken CI, never a silent skip."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"the PostgreSQL tests cannot run under CI=true: {why}", pytrace=False)
    pytest.skip(why)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    bindir = find_bin()
    if bindir is None:
        missing(f"no PostgreSQL server binaries ({', '.join(TOOLS)}) in"
                f" {', '.join(bin_dirs())} or on PATH; install them (Debian: apt-get install"
                " postgresql) or set FLOAT_TEST_PG_BIN to their directory")
    try:
        import procrastinate  # noqa: F401
    except ImportError:
        missing("the [postgres] extra (procrastinate) is not installed")
    assert bindir is not None
    server = PgServer(bindir)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    return pg_server.new_database()
