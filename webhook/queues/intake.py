"""The one interface ``POST /webhook`` records deliveries through, whichever queue backs it:
the embedded SQLite queue (the default) or PostgreSQL (``FLOAT_DATABASE_URL``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

from webhook.queues.sqlite_queue import Queue
from webhook.settings import Settings


class Intake(Protocol):
    """Record one delivery; False when it was recorded before (a redelivery). ``then`` runs
    once a new delivery is recorded, before any worker can be handed it (the ``received``
    event: so no ``running`` event comes before it)."""

    def record(self, delivery: str, kind: str, repo: str, full_name: str, *,
               ref: str | None = None, before: str | None = None, after: str | None = None,
               default_branch: str | None = None, created: bool = False,
               deleted: bool = False, forced: bool = False, commits: int = 0,
               ignored: str | None = None, head_subject: str | None = None,
               pusher: str | None = None, html_url: str | None = None,
               then: Callable[[], Any] | None = None) -> bool: ...


_local = threading.local()


def sqlite_queue(settings: Settings) -> Queue:
    """This thread's connection to the embedded queue (kept open: a request only inserts one
    row)."""
    cached: tuple[Any, Queue] | None = getattr(_local, "queue", None)
    if cached is None or cached[0] != settings.data_dir:
        cached = (settings.data_dir, Queue(settings.data_dir, create=False,
                                           answers_github=True))
        _local.queue = cached
    return cached[1]


def open_intake(settings: Settings) -> Intake:
    """The queue the settings name: PostgreSQL's with ``FLOAT_DATABASE_URL``, else the
    embedded one in the data directory."""
    if settings.database_url is None:
        return sqlite_queue(settings)
    from webhook.queues import pg_queue  # lazy: the [postgres] extra

    return pg_queue.intake(settings)
