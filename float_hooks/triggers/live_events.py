"""Events from a working copy's map, for ``float-hooks watch --events``: the same ``sync`` and
``context`` events the webhook server streams (webhook/events.py), as JSON lines.

They are read from the map itself, not from the code that writes it, so every writer counts:
the watcher's own syncs, the git hooks after a commit or checkout, `regenerate`, `set`, an
agent over MCP. ``poll`` is cheap while nothing changed (two ``stat`` calls: a commit changes
the database file or its -wal); after a change it reads each folder's status and context
stamp once (O(folders): a few ms for thousands) and reports the differences.
There are no ``delivery`` events on a working copy (nothing is delivered to it).
"""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

from float_hooks.errors import FloatError
from float_hooks.store.db import Store

LIST_LIMIT = 50  # paths per list in a sync event (the counts are always complete)
RECENT_SECONDS = 0.05  # a file modified this recently is read again (timestamp granularity)


class _State(NamedTuple):
    head: str | None
    synced_at: str | None
    files: int
    folders: dict[str, tuple[str, Any]]  # path -> (status, context stamp or None)


def _capped(paths: list[str]) -> dict[str, Any]:
    return {"paths": paths[:LIST_LIMIT], "count": len(paths)}


def event_time(moment: datetime | None = None) -> str:
    """An event's time as every event log gives it (this one, the server's two): UTC,
    milliseconds, ``Z``; now unless ``moment``."""
    moment = moment or datetime.now(timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


class MapEvents:
    """Diffs of one map between polls, as events ``{"id", "repo", "kind", "data", "at"}``."""

    def __init__(self, db_path: Path, repo: str):
        self.db_path = db_path
        self.repo = repo
        self.signature: tuple[Any, ...] | None = None
        self.state: _State | None = None
        self.next_id = 1

    def _signature(self) -> tuple[Any, ...] | None:
        """The files' identity, size and modification time: every commit changes the
        database file (rollback journal) or its -wal (WAL). A file changed within the last
        RECENT_SECONDS may change again within the same timestamp tick: read it again."""
        sig: list[Any] = []
        for path in (self.db_path, self.db_path.with_name(self.db_path.name + "-wal")):
            try:
                st = path.stat()
            except FileNotFoundError:
                sig.append(None)
                continue
            if time.time() - st.st_mtime < RECENT_SECONDS:
                return None
            sig.append((st.st_ino, st.st_size, st.st_mtime_ns))
        return tuple(sig)

    def _read(self) -> _State | None:
        # No connection is kept open between polls: the map switches between WAL and a
        # rollback journal (a build), and a connection that outlived the switch reads an
        # old snapshot through the deleted -shm. Nothing changed: nothing is opened.
        sig = self._signature()
        if sig is not None and sig == self.signature and self.state is not None:
            return self.state
        if not self.db_path.exists():
            return None

        store = Store.open_readonly(self.db_path, timeout=5.0)  # a read-only map dir too
        conn = store.conn
        try:
            conn.execute("BEGIN")  # one consistent read
            meta = dict(conn.execute(
                "SELECT key, value FROM meta WHERE key IN ('base_commit', 'synced_at')"))
            files = conn.execute("SELECT count(*) FROM files").fetchone()[0]
            # ai_updated has whole seconds: the hash and version tell two writes apart
            folders = {r[0]: (r[1], None if r[2] is None else (r[2], r[3], r[4]))
                       for r in conn.execute("SELECT path, status, ai_updated, context_hash,"
                                             " version FROM folders")}
            conn.execute("COMMIT")
        finally:
            store.close()
        self.signature = sig
        return _State(meta.get("base_commit") or None, meta.get("synced_at"), int(files),
                      folders)

    def poll(self) -> list[dict[str, Any]]:
        """The events since the last poll (none on the first: it takes the baseline)."""
        try:
            new = self._read()
        except (sqlite3.Error, FloatError):
            return []  # locked past the timeout, or being rebuilt: the next poll reads it
        old, self.state = self.state, new
        if old is None or new is None or new is old:
            return []
        out: list[dict[str, Any]] = []
        written = [p for p, (_, stamp) in sorted(new.folders.items())
                   if stamp is not None and stamp != old.folders.get(p, ("", None))[1]]
        # a sync: the snapshot moved, or a status changed that no context write explains
        if (new.head, new.synced_at, new.files) != (old.head, old.synced_at, old.files) \
                or new.folders.keys() != old.folders.keys() \
                or any(new.folders[p][0] != s for p, (s, _) in old.folders.items()
                       if p in new.folders and p not in written):
            stale = sorted(p for p, (s, _) in new.folders.items()
                           if s == "stale" and old.folders.get(p, ("",))[0] != "stale")
            current = sorted(p for p, (s, _) in new.folders.items()
                             if s == "current" and old.folders.get(p, ("",))[0] == "stale")
            counts: dict[str, int] = {"files": new.files, "folders": len(new.folders),
                                      "pending": 0, "current": 0, "stale": 0}
            for s, _ in new.folders.values():
                counts[s] = counts.get(s, 0) + 1
            out.append(self._event("sync", {
                "head": new.head, "previous_head": old.head, "counts": counts,
                "stale": _capped(stale), "current": _capped(current),
                "added": _capped(sorted(new.folders.keys() - old.folders.keys())),
                "removed": _capped(sorted(old.folders.keys() - new.folders.keys()))}))
        for path in written:
            out.append(self._event("context", {"path": path, "status": new.folders[path][0]}))
        return out

    def _event(self, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        event = {"id": self.next_id, "repo": self.repo, "kind": kind, "data": data,
                 "at": event_time()}
        self.next_id += 1
        return event
