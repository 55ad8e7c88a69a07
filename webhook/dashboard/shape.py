"""The dashboard's rows as the templates take them, whichever store they were read from: a
delivery (short id, head commit, pusher, links, retrying), a stale folder (why, and since
when), the overview's filter. Plain dicts; Jinja escapes every value."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from webhook.queues.row_view import retry_state

DELIVERY_STATES = ("queued", "running", "retrying", "failed", "done")
MAP_STATES = ("stale", "current")
STATES = DELIVERY_STATES + MAP_STATES
MAX_QUERY = 100  # characters of a repository name filter
SHORT_ID = 8  # characters of a delivery id shown (the whole id is its title)
STALE_SYNCS = 100  # a repository's last syncs searched for when each stale folder went stale

_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_ZERO = re.compile(r"0+")
_PAGE = re.compile(r"https://[a-z0-9.:-]+/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", re.IGNORECASE)


class BadFilter(ValueError):
    """A filter the overview cannot apply (400)."""


@dataclass(frozen=True)
class Filter:
    """The overview's filter, from the query string (``?repo=<part of a name>&state=<state>``):
    a page that works without JavaScript, and a link that can be shared."""

    name: str = ""  # lower-cased substring of owner/name; "" = any
    state: str = ""  # one of STATES; "" = any
    scope: str = "*"  # the signed-in token's (access.grants): owner/name, owner/* or *

    @classmethod
    def parse(cls, args: Any) -> Filter:
        name = str(args.get("repo", "") or "").strip().lower()
        state = str(args.get("state", "") or "").strip().lower()
        if len(name) > MAX_QUERY or any(not c.isprintable() for c in name):
            raise BadFilter(f"repo: at most {MAX_QUERY} printable characters")
        if state and state not in STATES:
            raise BadFilter(f"state: one of {', '.join(STATES)}")
        return cls(name, state)

    @property
    def owner_prefix(self) -> str | None:
        """``owner/`` when the scope is an owner's repositories, else None."""
        return self.scope[:-1] if self.scope.endswith("/*") else None

    @property
    def delivery_state(self) -> str | None:
        return self.state if self.state in DELIVERY_STATES else None

    @property
    def map_state(self) -> str | None:
        return self.state if self.state in MAP_STATES else None

    def matches_map(self, repo: dict[str, Any]) -> bool:
        """Whether a repository's summary passes the stale/current part of the filter."""
        if self.map_state is None:
            return True
        m = repo.get("map")
        if not m:
            return False
        return bool(m["stale_total"] > 0) == (self.map_state == "stale")


def when(epoch: float | None) -> str:
    if not epoch:
        return ""
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def next_attempt(at: float | None, now: float) -> str:
    """"next attempt in N s", or "due now" (``at`` None: as soon as a worker is free)."""
    wait = (at or now) - now
    return f"next attempt in {int(wait + 0.999)} s" if wait > 0 else "next attempt due now"


def links(row: dict[str, Any]) -> tuple[str, str]:
    """(commit URL, compare URL) on the repository's page the intake kept (checked there
    against the operator's GitHub host); "" when there is no page or no such commit."""
    page = row.get("html_url") or ""
    if not isinstance(page, str) or not _PAGE.fullmatch(page):
        return "", ""
    before, after = row.get("before") or "", row.get("after") or ""
    if not _SHA.fullmatch(after) or _ZERO.fullmatch(after):
        return "", ""
    commit = f"{page}/commit/{after}"
    if not _SHA.fullmatch(before) or _ZERO.fullmatch(before):
        return commit, ""
    return commit, f"{page}/compare/{before[:12]}...{after[:12]}"


def delivery_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Delivery rows (oldest first, as both queues give them) for the page, newest first."""
    now = time.time()
    out = []
    for r in reversed(rows):
        result = r["result"] if isinstance(r["result"], dict) else {}
        commit_url, compare_url = links(r)
        state, next_at = retry_state(r)
        delivery = str(r["delivery"])
        out.append({
            "delivery": delivery, "short": delivery[:SHORT_ID], "kind": r["kind"],
            "ref": r["ref"] or "", "after": (r["after"] or "")[:12],
            "state": state,
            "next_attempt_at": next_at,
            "next_attempt": next_attempt(next_at, now) if state == "retrying" else "",
            "attempts": r["attempts"],
            "received": when(r["received_at"]), "finished": when(r["finished_at"]),
            "error": r["error"] or "", "reason": str(result.get("reason") or ""),
            "subject": r.get("head_subject") or "", "pusher": r.get("pusher") or "",
            "commit_url": commit_url, "compare_url": compare_url,
        })
    return out


def stale_row(folder: dict[str, Any]) -> dict[str, Any]:
    """A stale folder (context.stale_list's, or as published) as the page shows it."""
    return {"path": folder["path"], "changed_files": folder["changed_files"][:20],
            "changed_count": len(folder["changed_files"]),
            "via_children": folder["via_children"][:20]}


def became_stale(sync: dict[str, Any]) -> tuple[list[str], bool]:
    """(the folders a done delivery's sync listed as gone stale, whether that list is all of
    them): pipeline.process's ``sync.became_stale`` (capped; a list, or its JSON text) as
    ``listed``, and its ``became_stale_count`` as ``count``."""
    listed = sync.get("listed")
    if isinstance(listed, str):
        try:
            listed = json.loads(listed)
        except ValueError:
            return [], False
    if not isinstance(listed, list):
        return [], False
    paths = [p for p in listed if isinstance(p, str)]
    count = sync.get("count")
    return paths, not (isinstance(count, int) and count > len(paths))


def add_stale_since(stale: list[dict[str, Any]], syncs: Iterable[dict[str, Any]],
                    contexts: dict[str, dict[str, Any]]) -> None:
    """Say since when each stale folder is stale, honestly from what is recorded.

    ``syncs``: the repository's last done deliveries, newest first (``finished_at``,
    ``head``, and ``listed``/``count`` as ``became_stale`` takes; read only as far as
    needed). A folder went stale at the latest sync that listed it in ``became_stale`` (it
    has stayed stale since: going current and stale again would be listed
    again). When a later sync's list was cut short, or no sync in reach lists it (the map was
    built before, or the list was cut), the map alone is the record: the folder has been
    stale since some change after the commit its context was written at (``contexts``: the
    folder's ``context_commit`` and ``ai_updated``)."""
    for f in stale:
        f["since"], f["since_commit"], f["since_note"] = "", "", ""
    waiting = {f["path"]: f for f in stale}
    for sync in syncs if waiting else ():
        listed, whole = became_stale(sync)
        for path in waiting.keys() & set(listed):
            f = waiting.pop(path)
            f["since"] = when(sync.get("finished_at"))
            f["since_commit"] = str(sync.get("head") or "")[:12]
        if not whole or not waiting:
            break  # a folder left may be among those this sync did not list
    for f in waiting.values():
        ctx = contexts.get(f["path"]) or {}
        commit = str(ctx.get("context_commit") or "")[:12]
        written = str(ctx.get("ai_updated") or "")
        parts = ([f"commit {commit}"] if commit else []) + \
            ([f"written {written}"] if written else [])
        f["since_note"] = "not recorded: a change after its context" + (
            f" ({', '.join(parts)})" if parts else "")
