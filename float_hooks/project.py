"""Where a repository's float files live, and opening them: the one place for those paths."""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

from float_hooks import background, config
from float_hooks.atomic import open_regular
from float_hooks.errors import CorruptDatabase, FloatError, NoDatabase, quoted
from float_hooks.paths import FLOAT_DIR
from float_hooks.repo.git import Git
from float_hooks.repo.scope import Scope
from float_hooks.store import fts
from float_hooks.store.db import DB_NAME, Store
from float_hooks.store.journal import Journal
from float_hooks.store.journal import path_for as journal_path

BOOT_NAME = "boot.md"  # what every AI session should know (committed)
DB_SIDE_FILES = ("", "-wal", "-shm", "-journal")  # the DB's file and SQLite's beside it
def open_float_file(path: Path, flags: int) -> int:
    """A descriptor for a file in ``.float/`` (atomic.open_regular: never through a symlink,
    a regular file only). Raises OSError, FloatError."""
    return open_regular(path, flags, why="; float-hooks uses only files of its own there"
                        " (remove it)")


def read_float_file(path: Path, limit: int) -> bytes | None:
    """At most ``limit`` bytes of a regular file in ``.float/`` (open_float_file); None if
    it is missing or anything else."""
    try:
        fd = open_float_file(path, os.O_RDONLY)
    except (OSError, FloatError):
        return None
    try:
        return os.read(fd, limit)
    finally:
        os.close(fd)


class Project:
    """A repository plus its ``.float/`` folder (or, for a bare mirror, an explicit DB path)."""

    def __init__(self, git: Git, db_path: Path | None = None):
        self.git = git
        self.placed = db_path is not None  # a DB the caller placed (the webhook's), not .float
        if db_path is None:
            if git.work_tree is None:
                db_path = git.git_dir / "float" / DB_NAME
            else:
                db_path = git.work_tree / FLOAT_DIR / DB_NAME
        self.db_path = db_path
        self._config: dict[str, dict[str, Any]] | None = None

    @classmethod
    def discover(cls, path: str | os.PathLike[str] = ".") -> Project:
        return cls(Git.discover(path))

    @property
    def work_tree(self) -> Path | None:
        return self.git.work_tree

    @property
    def float_dir(self) -> Path:
        return self.db_path.parent

    @property
    def config(self) -> dict[str, dict[str, Any]]:
        if self._config is None:
            self._config = config.load(self.git.work_tree, self.git.git_dir)
        return self._config

    def scope(self) -> Scope:
        return Scope(self.config["sync"]["exclude"])

    def lock_timeout(self) -> float:
        return float(self.config["sync"]["lock_timeout"])

    def wait_for_hooks(self) -> None:
        """Wait while a post-commit hook syncs this map in the background (background.py)."""
        background.wait_for(self.float_dir, self.lock_timeout())

    @property
    def journal(self) -> Journal:
        return Journal(journal_path(self.git.git_dir))

    def refuse_linked_float_dir(self) -> None:
        """Refuse a ``.float`` that is a symlink, or a DB file in it that is one (``git add
        -f`` commits either): a committed link would choose where the map is written
        (another repository's map included)."""
        if self.placed:
            return
        if os.path.islink(self.float_dir):
            raise FloatError(f"{quoted(str(self.float_dir), 200)}: a symlink; float-hooks"
                             " keeps its map only in a real .float/ folder of the repository"
                             " (remove the link, then run `float-hooks init`)")
        for suffix in DB_SIDE_FILES:
            side = self.db_path.with_name(self.db_path.name + suffix)
            if os.path.islink(side):
                raise FloatError(f"{quoted(str(side), 200)}: a symlink; the map is kept only"
                                 " in a file of its own (remove the link)")

    def require_float_dir(self) -> None:
        """Refuse a repository nobody set up for float-hooks (a clone with ``.float/`` is set
        up: its DB is built on first use)."""
        self.refuse_linked_float_dir()
        if self.placed or self.float_dir.is_dir():
            return
        if self.work_tree is None:
            raise NoDatabase(f"{self.git.git_dir}: a bare repository without a map; run"
                             " `float-hooks init` to keep one of its HEAD in"
                             f" {self.float_dir}")
        raise NoDatabase(f"{self.work_tree}: no .float/ here yet; run `float-hooks init`")

    def open_store(self, *, create: bool = True) -> Store:
        """The DB, opened (created if missing, a damaged one replaced: see
        :func:`quarantine`) and migrated, but not built: map/build.py's ``open_built`` opens
        and builds; triggers that build from another snapshot (the hooks, `sync --rev`) open
        here and call build.sync themselves."""
        return self._open(create)

    def _open(self, create: bool) -> Store:
        self.require_float_dir()
        timeout = self.lock_timeout()
        try:
            store = Store.open(self.db_path, create=create, timeout=timeout,
                               journal=self.journal)
        except CorruptDatabase as e:
            kept = quarantine(self.db_path)
            if kept is None:  # SQLite finds it sound (another process was writing it)
                try:
                    return self._opened(Store.open(self.db_path, create=create,
                                                   timeout=timeout, journal=self.journal))
                except CorruptDatabase:
                    kept = quarantine(self.db_path, force=True)  # refused twice: aside
            if kept is not None:
                sys.stderr.write(f"float-hooks: {e.args[0].split('; ')[0]}; kept it as"
                                 f" {kept.name} and rebuilding the map from the committed"
                                 " export and the write journal\n")
            store = Store.open(self.db_path, create=True, timeout=timeout,
                               journal=self.journal)
        return self._opened(store)

    @staticmethod
    def _opened(store: Store) -> Store:
        if store.is_built():
            fts.check(store)
            store.journal_check()
        return store

    def open_readonly(self) -> Store:
        return Store.open_readonly(self.db_path, timeout=self.lock_timeout())


def kept_aside(e: CorruptDatabase) -> str:
    """The line for a DB found damaged while in use; the file is moved aside first, so that
    the next command rebuilds the map (from the committed export and the write journal)."""
    kept = quarantine(Path(str(e.path))) if e.path is not None else None
    if kept is None:
        return str(e)
    return (f"{str(e).split('; ')[0]}; kept it as {kept.name}: run the command again to"
            " rebuild the map from the committed export and the write journal")


def quarantine(db_path: Path, force: bool = False) -> Path | None:
    """Move a damaged DB (and its side files) aside as ``index.db.corrupt``, once: under a
    lock, and only if it is still damaged (another process may have replaced it already) or
    with ``force``."""

    lock = db_path.with_name(db_path.name + ".lock")
    try:
        fd = open_float_file(lock, os.O_WRONLY | os.O_CREAT)
    except (OSError, FloatError):
        fd = -1
    try:
        if fd >= 0:
            fcntl.flock(fd, fcntl.LOCK_EX)
        kept = db_path.with_name(db_path.name + ".corrupt")
        # still damaged? SQLite's own quick check decides: db.damage's size test can be
        # wrong about a file another process is writing (that process does not take this
        # lock), and a file with a sound header can be scribbled over
        if not force and _opens(db_path):
            return None
        for suffix in DB_SIDE_FILES:
            src = db_path.with_name(db_path.name + suffix)
            with contextlib.suppress(FileNotFoundError):
                os.replace(src, kept.with_name(kept.name + suffix))
        return kept
    finally:
        if fd >= 0:
            os.close(fd)


def _opens(db_path: Path) -> bool:
    """The file passes SQLite's own check (only asked once damage was seen: it reads it
    whole)."""
    if not db_path.exists():
        return True  # gone already: nothing to keep aside
    try:
        conn = sqlite3.connect(db_path)
        try:
            return bool(conn.execute("PRAGMA quick_check(1)").fetchone()[0] == "ok")
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return False
