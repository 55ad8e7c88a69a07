"""A repository's map on the server (``DATA_DIR/<owner>/<repo>/index.db``), opened to read it:
the read API, the dashboard and the workers' look at a map's meta. One place says where a map
lives and when there is one to read."""

from __future__ import annotations

from pathlib import Path

from float_hooks.errors import FloatError, NoDatabase
from float_hooks.store.db import Store
from webhook.names import repo_dir

INDEX_DB = "index.db"


def map_path(data_dir: Path, full_name: str) -> Path:
    return repo_dir(data_dir, full_name) / INDEX_DB


def open_map(db_path: Path, timeout: float) -> Store:
    """The map, read-only (waiting at most ``timeout`` seconds for a writer). NoDatabase when
    there is none to read yet: no push received, or the first sync is still creating it."""
    if not db_path.exists():
        raise NoDatabase("no map yet (no push to its tracked branch received)")
    store = Store.open_readonly(db_path, timeout=timeout)
    if store.conn.execute("PRAGMA user_version").fetchone()[0] == 0:
        store.close()
        raise NoDatabase("the map is being built; try again shortly")
    return store


def map_meta(db_path: Path, key: str, timeout: float = 30.0) -> str | None:
    """A meta value of the map; None when there is no map or it cannot be read."""
    try:
        store = open_map(db_path, timeout)
    except FloatError:
        return None
    try:
        return store.get_meta(key)
    finally:
        store.close()
