"""The agents' writes through ``/mcp`` (PostgreSQL mode), applied by the sync worker that owns
the repository (pg_sync.py calls ``apply_writes`` under the repository's lock, after the
regeneration answers).

Each write runs the same tool as over stdio (agents/tools.py: the same hash guard, the same
checks, anchors resolved against the mirror) inside one map transaction that also records
the write's id as applied (meta ``pg_write_seq``): a worker killed at any instant either
applied the write and recorded it, or neither, and the next job (on this worker or another)
carries on from the last id its map recorded. So a write is applied once per map, and every
map (a new worker's, a rebuilt one) applies every write: the rows stay in PostgreSQL.
The write's outcome (the tool's answer, or why it was refused) is kept in the map in that
same transaction (meta ``pg_write_outcome:<id>``), and PostgreSQL is told it after the read model
is published (``settle``); a worker killed in between leaves it in the map, and the next job
tells PostgreSQL the very answer (a record's uid included: a rebuilt map that imported the
record knows it by that uid, and does not record it twice).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from float_hooks.agents import tools
from float_hooks.errors import CorruptDatabase, FloatError, LockedDatabase, NoDatabase
from float_hooks.project import Project
from float_hooks.reads.stale import History
from float_hooks.repo.git import Git
from float_hooks.store import paper_trail
from float_hooks.store.db import BASE_KEY, Store
from float_hooks.store.folder_context import write_context
from webhook.queues.pg_agent import BOOT_CHARS, RECORDS_MAX, AgentStore
from webhook.queues.pg_queue import PgContext
from webhook.storage.mirror import mirror_path
from webhook.work import pipeline

WRITE_SEQ_KEY = "pg_write_seq"  # meta: the last float_agent_writes.id this map applied
# meta, one key per write: an outcome this map applied that PostgreSQL was not told yet
OUTCOME_PREFIX = "pg_write_outcome:"
WRITES_PER_SYNC = 500  # writes applied per job; the next job applies the rest


class _Joined:
    """The map's Store inside a transaction the applier holds: a tool's own ``write()``
    joins it, so the write and the record that it was applied commit together."""

    def __init__(self, store: Store, conn: Any):
        self._store = store
        self._conn = conn

    @contextmanager
    def write(self) -> Iterator[Any]:
        yield self._conn

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


class _Applier:
    """agents.tools.Backend over the worker's map, its writes joined to one transaction."""

    def __init__(self, project: Project, store: Store):
        self._project = project
        self._store = store
        self.joined: Any = store

    @property
    def project(self) -> Project:
        return self._project

    def store(self) -> Store:
        return self.joined  # type: ignore[no-any-return]

    def readonly(self) -> Store:
        raise FloatError("not a read")

    def freshness(self, store: Store) -> dict[str, Any]:
        return {"head": store.get_meta(BASE_KEY) or None}

    def history(self, many: bool) -> History | None:
        return None


Outcome = tuple[int, str, "dict[str, Any] | None", "str | None"]


def apply_writes(ctx: PgContext, repo: str, full_name: str, store: Store) -> list[str]:
    """Apply the writes this map has not; the folders whose context was written. Each
    write's outcome is kept in the map for ``settle`` (after the read model is published, so
    a write reported applied is visible on every web host)."""
    agents = AgentStore(ctx.pool)
    seq = int(store.get_meta(WRITE_SEQ_KEY) or 0)
    rows = agents.writes_after(repo, seq, WRITES_PER_SYNC)
    if not rows:
        return []
    if len(rows) == WRITES_PER_SYNC:
        ctx.defer_sync(repo, full_name)  # the next job applies the rest
    head = store.get_meta(BASE_KEY) or "HEAD"
    project = pipeline.MirrorProject(Git(mirror_path(ctx.settings.data_dir, full_name), None),
                                     store.path, head, ctx.settings)
    backend = _Applier(project, store)
    written: list[str] = []
    for row in rows:  # those another map applied first are applied here too
        write_id = int(row["id"])
        if _already_here(store, row):  # came with the export another map's write pushed
            with store.write():
                _keep(store, (write_id, "applied", dict(row["result"]), None))
            continue
        try:
            with store.write() as conn:
                backend.joined = _Joined(store, conn)
                result = tools.call(backend, row["tool"], dict(row["args"]))
                result.pop("freshness", None)
                _keep(store, (write_id, "applied", result, None))
            if row["tool"] == "set_context":
                written.append(str(result.get("path")))
        except FloatError as e:
            if _from_the_map(e):
                raise  # the map failed (locked, full disk): the job is retried, nothing lost
            error = " ".join(str(e).split())
            with store.write() as conn:
                if row["state"] == "applied" and _restored(conn, store, row):
                    # context another map took: kept here too, marked stale (PostgreSQL
                    # keeps the first map's answer)
                    _keep(store, (write_id, "applied", None, None))
                else:
                    _keep(store, (write_id, "refused", None, error))
        finally:
            backend.joined = store
    return written


def _keep(store: Store, outcome: Outcome) -> None:
    """Record ``outcome`` as this map's, inside the transaction that applied the write."""
    store.set_meta(f"{OUTCOME_PREFIX}{outcome[0]}", json.dumps(outcome[1:]))
    store.set_meta(WRITE_SEQ_KEY, str(outcome[0]))


def unsettled(store: Store) -> list[Outcome]:
    """The outcomes this map applied that PostgreSQL has not been told, in write order."""
    out: list[Outcome] = []
    for key, value in store.conn.execute(
            "SELECT key, value FROM meta WHERE key >= ? AND key < ?",
            (OUTCOME_PREFIX, OUTCOME_PREFIX[:-1] + ";")):  # ";" follows ":"
        state, result, error = json.loads(value)
        out.append((int(key[len(OUTCOME_PREFIX):]), state, result, error))
    return sorted(out, key=lambda o: o[0])


def waiting(ctx: PgContext, repo: str) -> bool:
    """Whether writes of ``repo`` wait for a map to apply them."""
    return AgentStore(ctx.pool).queued_writes(repo) > 0


def settle(ctx: PgContext, store: Store) -> None:
    """Tell PostgreSQL the outcomes ``store`` keeps; called once the read model is published,
    so a write reported applied is visible on every web host. They include those of a worker
    killed before it could tell them. Only a write still queued takes an outcome: the first
    map's answer stands."""
    outcomes = unsettled(store)
    if not outcomes:
        return
    agents = AgentStore(ctx.pool)
    for write_id, state, result, error in outcomes:
        agents.settle_write(write_id, state, result, error, ctx.owner)
    with store.write() as conn:
        conn.executemany("DELETE FROM meta WHERE key = ?",
                         [(f"{OUTCOME_PREFIX}{o[0]}",) for o in outcomes])


# the records a write creates, by tool: their table (each has its own uid)
_RECORD_TABLES = {"log_decision": "log_entries", "add_question": "open_questions",
                  "add_reference": '"references"'}


def _already_here(store: Store, row: dict[str, Any]) -> bool:
    """Whether a record another map created for ``row`` is in this map already: a new or
    rebuilt map imports the export that map pushed, and applying the write again would record
    it twice under a second uid."""
    table = _RECORD_TABLES.get(str(row["tool"]))
    result = row.get("result")
    if table is None or row["state"] != "applied" or not isinstance(result, dict):
        return False
    uid = result.get("uid")
    return isinstance(uid, str) and store.conn.execute(
        f"SELECT 1 FROM {table} WHERE uid = ?", (uid,)).fetchone() is not None


def _restored(conn: Any, store: Store, row: dict[str, Any]) -> bool:
    """A set_context another map applied, refused here because this map's folder changed
    since (a rebuilt map): written anyway when the folder has no context at all, for the
    hash it was written against (so it reads stale), as pg_sync.apply_answers does."""
    args = row["args"]
    if row["tool"] != "set_context":
        return False
    try:
        path = tools.folder_path(str(args.get("path", "")))
    except FloatError:
        return False
    found = conn.execute("SELECT context_hash FROM folders WHERE path = ?", (path,)).fetchone()
    if found is None or found[0] is not None:
        return False
    fields = {k: args[k] for k in tools.CONTEXT_FIELDS if k in args}
    if not fields:
        return False
    write_context(conn, store, path, fields, model=args.get("ai_model") or "agent",
                  for_hash=str(args["for_hash"]))
    return True


def _from_the_map(e: BaseException) -> bool:
    """Whether an error came from SQLite (the map), not from the write's own content."""
    if isinstance(e, (LockedDatabase, CorruptDatabase, NoDatabase)):
        return True
    seen: BaseException | None = e
    for _ in range(8):
        seen = seen.__cause__ or seen.__context__ if seen is not None else None
        if seen is None:
            return False
        if isinstance(seen, sqlite3.Error):
            return True
    return False


def publish_records(ctx: PgContext, repo: str, full_name: str, store: Store) -> None:
    """The map's decisions and questions and boot.md, for the read tools of every web host."""
    boot: str | None = None
    mirror = mirror_path(ctx.settings.data_dir, full_name)
    head = store.get_meta(BASE_KEY)
    if head and (mirror / "HEAD").exists():
        try:
            raw = Git(mirror, None).read_blob_head(f"{head}:.float/boot.md", BOOT_CHARS)
            boot = raw.decode("utf-8", "replace") if raw else None
        except FloatError:
            boot = None
    conn = store.conn
    AgentStore(ctx.pool).publish_records(
        repo, paper_trail.list_logs(conn, newest=RECORDS_MAX),
        conn.execute("SELECT count(*) FROM log_entries").fetchone()[0],
        paper_trail.list_questions(conn, include_resolved=True, newest=RECORDS_MAX),
        conn.execute("SELECT count(*) FROM open_questions").fetchone()[0], boot)
