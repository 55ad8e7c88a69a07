"""``/mcp`` in PostgreSQL mode: web hosts hold no maps (they live with the sync workers), so
the agents' tools answer from the read model every sync publishes (pg_store, pg_agent), the
documents the read API serves, and writes travel to the map through PostgreSQL.

- Reads: ``status``, ``stale``, ``show`` (and the ``float://folder/...`` resource),
  ``decisions``, ``questions`` and ``float://boot``, each with the keys the stdio server
  gives and the same ``freshness`` (the published head, the deliveries still queued, plus
  ``queued_writes`` and ``served_from: "read model"``). What the read model cannot answer
  says so: ``why``, ``search``, ``outline``, ``where`` and ``query`` need the map itself (its
  full-text index, its SQL, git), ``next_job``/``submit_job`` are the regeneration workers'
  (``python -m webhook.regen_worker``); anchors' states are not evaluated.
- Writes (``set_context``, ``log_decision``, ``add_question``, ``resolve_question``,
  ``add_reference``): recorded in ``float_agent_writes`` (pg_agent.py) and handed to the
  repository's sync job, which applies them to its map with the tool's own checks
  (work/pg_writes.py). The same write sent again (the same tool and arguments) with no
  other write since is a retry: the same row, applied once. The answer waits up to
  WRITE_WAIT seconds for the outcome: applied, the tool's own answer; refused, the tool's
  own error; else ``write.state: queued`` with its id (the same call again reports the
  outcome).
- Errors say whether the repository is unknown (no delivery ever recorded) or not synced yet.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from float_hooks.agents import tools
from float_hooks.agents.read_answers import bounded, capped
from float_hooks.agents.tool_args import check_args
from float_hooks.errors import FloatError, NoDatabase
from float_hooks.reads import show
from webhook.names import repo_key
from webhook.settings import Settings

WRITE_WAIT = 5.0  # seconds a write's answer waits for the sync worker to apply it
WRITE_POLL = 0.1
WRITE_CHARS = 256 * 1024  # of one write's arguments (JSON)
READS = ("status", "stale", "show", "decisions", "questions")
WRITES = ("set_context", "log_decision", "add_question", "resolve_question", "add_reference")
NEEDS_MAP = ("why", "search", "outline", "where", "query")


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\0" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


class UnknownRepository(FloatError):
    """No delivery was ever recorded for the repository."""


class PgMap:
    """One repository as the shared read model holds it, for the agents' tools."""

    def __init__(self, settings: Settings, full_name: str):
        from webhook.queues.pg_agent import AgentStore  # lazy: the [postgres] extra
        from webhook.queues.pg_queue import intake  # lazy: the [postgres] extra

        self.ctx = intake(settings).ctx
        self.full_name = full_name
        self.repo = repo_key(full_name)
        self.agents = AgentStore(self.ctx.pool)
        self.info = self._published()

    def _published(self) -> dict[str, Any]:
        info = self.ctx.store.repo(self.repo)
        if info is not None and info["counts"] is not None:
            return dict(info)
        delivered = self.agents.delivered(self.repo)
        if info is None and not delivered:
            raise UnknownRepository(
                f"{self.full_name}: unknown repository: this server never received a push"
                " for it (is the GitHub App installed on it, the webhook set up?)")
        queued = self.ctx.store.pending(self.repo)
        raise NoDatabase(
            f"{self.full_name}: not synced yet: {delivered} deliveries received, "
            + (f"{queued} still queued for its first sync; try again shortly" if queued else
               "none for its tracked branch synced into a map yet (a push to it makes one)"))

    def freshness(self) -> dict[str, Any]:
        counts = self.info["counts"] or {}
        queued = self.ctx.store.pending(self.repo)
        writes = self.agents.queued_writes(self.repo)
        return {"snapshot": counts.get("snapshot"), "head": self.info["head"],
                "synced_at": counts.get("synced_at"), "branch": self.info["branch"],
                "unsynced_changes": queued > 0 or writes > 0, "queued_deliveries": queued,
                "queued_writes": writes, "watching": False, "repository": self.full_name,
                "served_from": "read model", "published_at": self.info["published_at"]}

    def close(self) -> None:
        return None  # the pool is the process's

    # -- the tools -------------------------------------------------------------------------
    def call(self, name: str, args: dict[str, Any] | None) -> dict[str, Any]:
        tool = tools.BY_NAME.get(name)
        if tool is None:
            return tools.call(self, name, args)  # type: ignore[arg-type]  # its one-line error
        a = check_args(tool, args)
        if name in READS:
            out: dict[str, Any] = getattr(self, "_" + name)(a)
            return out
        if name in WRITES:
            return self._write(name, a)
        if name in NEEDS_MAP:
            raise FloatError(
                f"{name} is not served in PostgreSQL mode: it needs the map itself, which"
                " lives with the sync workers, not on this web host; use show, stale,"
                " decisions or questions, or the map in a checkout (float-hooks mcp)")
        raise FloatError(f"{name} is not served in PostgreSQL mode: regeneration jobs go to"
                         " the regeneration workers (python -m webhook.regen_worker)")

    def _status(self, a: dict[str, Any]) -> dict[str, Any]:
        return {**dict(self.info["counts"]), "freshness": self.freshness(),
                "writes": self.agents.recent_writes(self.repo, 10)}

    def _stale(self, a: dict[str, Any]) -> dict[str, Any]:
        published = list(self.info["stale"] or [])
        shown = published[:bounded(a, "limit", 50, 1000)]
        fresh = self.agents.folder_freshness(self.repo, [s["path"] for s in shown])
        for item in shown:
            item.update(fresh.get(item["path"], {}))
        return {"freshness": self.freshness(), "total": len(published), "folders": shown,
                "more": max(0, len(published) - len(shown))}

    def _show(self, a: dict[str, Any]) -> dict[str, Any]:
        path = tools.folder_path(a.get("path", "/"))
        doc = self.ctx.store.folder(self.repo, path)
        if doc is None:
            raise FloatError(f"no folder {path} in the map (at {str(self.info['head'])[:12]})")
        limit = bounded(a, "limit", show.LIMIT, show.MAX_LIMIT)
        offset = max(0, int(a.get("offset", 0)))
        children, total = doc["children"], int(doc["children_total"])
        if offset + min(limit, total - offset) > len(children) and offset < total:
            raise FloatError(
                f"{path}: the read model holds its first {len(children)} children of {total};"
                " paging past them is not served in PostgreSQL mode")
        doc["children"] = children[offset:offset + limit]
        more = dict(doc.get("more") or {})
        more["children"] = max(0, total - offset - len(doc["children"]))
        for key in ("decisions", "questions", "references"):
            items = doc.get(key) or []
            doc[key] = items[-limit:]
            more[key] = int(more.get(key, 0)) + len(items) - len(doc[key])
        doc["more"] = more
        return {"freshness": self.freshness(), **doc}

    def _records(self, key: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """The published ``key`` (decisions, questions), and a note when older ones were
        left out of the read model (pg_agent.RECORDS_MAX)."""
        rec = self.agents.records(self.repo) or {}
        items = list(rec.get(key) or [])
        recorded = int(rec.get(f"{key}_total") or 0)
        if recorded <= len(items):
            return items, {}
        return items, {"note": f"the read model holds the newest {len(items)} of {recorded}"
                               f" {key}; older ones are not listed in PostgreSQL mode"}

    def _decisions(self, a: dict[str, Any]) -> dict[str, Any]:
        items, partial = self._records("decisions")
        folder = tools.folder_path(a["folder"]) if "folder" in a else None
        items = [d for d in items
                 if (not a.get("month") or str(d.get("date", ""))[:7] == a["month"])
                 and (not a.get("year") or str(d.get("date", ""))[:4] == a["year"])
                 and (not a.get("status") or d.get("status") == a["status"])
                 and (not folder or d.get("folder_path") == folder)
                 and (not a.get("tag") or a["tag"] in (d.get("tags") or []))]
        items.reverse()  # newest first, as the stdio server
        shown, more = capped(items, bounded(a, "limit", 50, 500))
        return {"freshness": self.freshness(), "total": len(items), "decisions": shown,
                "more": more, **partial}

    def _questions(self, a: dict[str, Any]) -> dict[str, Any]:
        items, partial = self._records("questions")
        folder = tools.folder_path(a["folder"]) if "folder" in a else None
        items = [q for q in items
                 if (a.get("include_resolved") or q.get("resolved_at") is None)
                 and (not folder or q.get("folder_path") == folder)]
        items.reverse()
        shown, more = capped(items, bounded(a, "limit", 50, 500))
        return {"freshness": self.freshness(), "total": len(items), "questions": shown,
                "more": more, **partial}

    def boot(self) -> str:
        rec = self.agents.records(self.repo) or {}
        return str(rec.get("boot") or "(no .float/boot.md in this repository)\n")

    # -- writes ----------------------------------------------------------------------------
    def _write(self, name: str, a: dict[str, Any]) -> dict[str, Any]:
        if name == "set_context":  # the hash guard, as far as the read model knows
            path = tools.folder_path(a["path"])
            doc = self.ctx.store.folder(self.repo, path)
            if doc is None:
                raise FloatError(f"no folder {path} in the map")
            if doc["source_hash"] != a["for_hash"]:
                raise FloatError(
                    f"{path} changed since you read it: its hash is now"
                    f" {doc['source_hash'][:12]}, not the for_hash you gave; nothing written."
                    " Read it again (show or why) and write context for what it holds now")
        text = json.dumps(a, sort_keys=True, ensure_ascii=False)
        if len(text) > WRITE_CHARS:
            raise FloatError(f"{name}: arguments over {WRITE_CHARS // 1024} KiB; send less")
        if _has_nul(a):  # PostgreSQL's jsonb cannot hold one
            raise FloatError(f"{name}: a text holds a NUL character; nothing written")
        key = hashlib.sha256(f"{name}\0{text}".encode()).hexdigest()
        row, _ = self.agents.queue_write(self.repo, key, name, a)
        if row["state"] == "queued":  # also for a retry: its first hand-off may have failed
            self.ctx.defer_sync(self.repo, self.full_name)
        deadline = time.monotonic() + WRITE_WAIT
        while row["state"] == "queued" and time.monotonic() < deadline:
            time.sleep(WRITE_POLL)
            row = self.agents.write(self.repo, int(row["id"])) or row
        write = {"id": str(row["id"]), "state": row["state"], "received_at":
                 row["received_at"], "applied_at": row["applied_at"]}
        if row["state"] == "refused":
            raise FloatError(f"{row['error']} (write {row['id']}, refused by the map)")
        if row["state"] == "queued":
            return {"freshness": self.freshness(), "queued": True, "write": write,
                    "note": f"queued for the sync worker that holds {self.full_name}'s map"
                            " (web hosts hold none); it is applied once, in order. Call the"
                            " same tool with the same arguments again to see its outcome"
                            " (status lists recent writes)"}
        self.info = self._published()  # the read model the write was published in
        return {**dict(row["result"] or {}), "freshness": self.freshness(), "queued": False,
                "write": write}
