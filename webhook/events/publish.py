"""Publishing events: this process's event log (PostgreSQL's with ``FLOAT_DATABASE_URL``,
else the embedded one), opened once and shared by its threads, and :func:`emit`, which never
fails its caller."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

from webhook.events.event_log import EventLog, SqliteEventLog
from webhook.settings import Settings

log = logging.getLogger("webhook")


def open_event_log(settings: Settings) -> EventLog:
    """The event log the settings name: PostgreSQL's with ``FLOAT_DATABASE_URL`` (every host
    sees every event), else the embedded one in the data directory."""
    if settings.database_url is not None:
        from webhook.events.pg_log import PgEventLog  # the postgres extra: only when asked for

        return PgEventLog(settings.database_url)
    return SqliteEventLog(settings.data_dir)


_shared: dict[tuple[int, Path], EventLog] = {}


_shared_lock = threading.Lock()


def shared(settings: Settings) -> EventLog:
    """This process's log for ``settings`` (opened once, shared by its threads)."""
    key = (os.getpid(), settings.data_dir)
    with _shared_lock:
        found = _shared.get(key)
        if found is None:
            found = _shared[key] = open_event_log(settings)
        return found


def emit(settings: Settings, repo: str, kind: str, data: dict[str, Any]) -> int | None:
    """Append an event; an error is logged, never raised (events are notifications)."""
    try:
        return shared(settings).append(repo, kind, data)
    except Exception:  # a full disk, a lock held past WRITE_DEADLINE: the work goes on
        log.exception("could not record a %s event for %s", kind, repo)
        return None


def emit_many(settings: Settings, events: list[tuple[str, str, dict[str, Any]]]) -> None:
    """Append (repo, kind, data) events in order, committed together where the log can (a
    batch of deliveries' states); an error is logged, never raised."""
    try:
        shared(settings).append_many(events)
    except Exception:
        log.exception("could not record %d events", len(events))
