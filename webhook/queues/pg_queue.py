"""The server's queues on PostgreSQL, through procrastinate 3 (``FLOAT_DATABASE_URL``).

Two procrastinate queues:

- ``float_sync``: one task, ``float.sync(repo, full_name)``, deferred with ``lock=repo:<key>``
  (procrastinate runs the jobs sharing a lock one at a time, oldest first, across every
  worker: a repository's order) and ``queueing_lock=sync:<key>`` (a burst of pushes leaves at
  most one waiting job: the job that runs claims every open delivery of the repository, so
  the later ones are coalesced into one sync of the branch tip). pg_sync.py is its body.
- ``float_regen``: ``float.regenerate``: one folder's self-contained request, answered by a
  regeneration worker (regen_worker.py); deduplicated per (folder, hash) in pg_store.

A worker that dies mid-job stops its procrastinate heartbeat; every live worker retries the
jobs of workers silent for ``FLOAT_STALLED_SECONDS`` (procrastinate's stalled jobs), and a
sweeper defers a sync for any repository left with open deliveries and no job (a web host
that recorded a delivery and lost PostgreSQL before deferring). Whatever a connection error
stops (PostgreSQL restarted), the worker starts again after a pause.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from procrastinate import App, PsycopgConnector, SyncPsycopgConnector
from procrastinate.exceptions import AlreadyEnqueued, ConnectorException

from webhook.queues.pg_store import PgStore, apply_schema, connect_pool
from webhook.settings import Settings

log = logging.getLogger("webhook")

SYNC_QUEUE = "float_sync"
REGEN_QUEUE = "float_regen"
SYNC_TASK = "float.sync"
REGEN_TASK = "float.regenerate"
SWEEP_SECONDS = 5.0
# a web process's connections: one per request thread of the documented command (gunicorn
# --threads 32, docs/server.md; a request holds at most one at a time), so a burst does not
# queue for a connection. The pool opens them as needed and closes idle ones after 10 min.
WEB_POOL_SIZE = 32
RESTART_PAUSE = 1.0


def repo_lock(repo: str) -> str:
    return f"repo:{repo}"


class PgContext:
    """What a process needs to talk to PostgreSQL: a pool, float's tables, and a sync
    procrastinate app to defer jobs with (from request threads and task threads)."""

    def __init__(self, settings: Settings, *, max_size: int = 8, check: bool = True):
        assert settings.database_url is not None
        self.settings = settings
        self.pool = connect_pool(settings.database_url, max_size=max_size, check=check)
        self.store = PgStore(self.pool)
        self.app = App(connector=SyncPsycopgConnector())
        self.app.open(self.pool)
        self.owner = f"{socket.gethostname()}:{os.getpid()}"

    def defer_sync(self, repo: str, full_name: str, *, delay: float = 0.0) -> bool:
        """A sync job for the repository; False when one is already waiting (it will see
        what was recorded before this call)."""
        options: dict[str, Any] = {"lock": repo_lock(repo), "queueing_lock": f"sync:{repo}",
                                   "queue": SYNC_QUEUE}
        if delay > 0:
            options["schedule_in"] = {"seconds": delay}
        try:
            self.app.configure_task(SYNC_TASK, **options).defer(repo=repo, full_name=full_name)
        except AlreadyEnqueued:
            return False
        return True

    def defer_regen(self, **args: Any) -> None:
        self.app.configure_task(REGEN_TASK, queue=REGEN_QUEUE).defer(**args)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.app.close()
        self.pool.close()


class Intake:
    """The web role's side of the queue (github.Endpoint calls ``record``, the API reads):
    record the delivery, then defer the repository's sync job."""

    def __init__(self, ctx: PgContext):
        self.ctx = ctx

    def record(self, delivery: str, kind: str, repo: str, full_name: str, *,
               then: Callable[[], Any] | None = None, **fields: Any) -> bool:
        from psycopg import Error as PgError  # lazy: the [postgres] extra
        from psycopg_pool import PoolTimeout  # lazy: the [postgres] extra
        from werkzeug.exceptions import (
            ServiceUnavailable,  # lazy: the worker processes have no use for Flask
        )

        for attempt in (1, 2):  # a connection PostgreSQL closed (a restart) fails once
            try:
                # one round trip: the row, and whether the repository's sync job is waiting
                # (then it will see this row: skip the defer, the common case in a burst)
                fresh, waiting = self.ctx.store.record_and_check(
                    delivery, kind, repo, full_name, queueing_lock=f"sync:{repo}", **fields)
                if fresh and then is not None:
                    then()  # before the job is deferred: a worker could start it at once
                    then = None  # once, even if the defer fails and the loop goes round
                if fresh and not waiting and fields.get("ignored") is None:
                    # the row is committed first: a job that starts before this defer sees
                    # it, one deferred after it finds it; if PostgreSQL goes away in between
                    # (or a waiting job started in the instant between), the workers'
                    # sweeper defers the job (SWEEP_SECONDS)
                    self.ctx.defer_sync(repo, full_name)
                return fresh
            except (PgError, PoolTimeout, ConnectorException) as e:
                if attempt == 1 and isinstance(e, (PgError, ConnectorException)):
                    continue
                log.warning("delivery %s not recorded: PostgreSQL: %s", delivery, e)
                raise ServiceUnavailable("the queue's database is unreachable; redeliver"
                                         " later") from e
        raise AssertionError("unreachable")


_intake: dict[str, Intake] = {}
_intake_lock = threading.Lock()


def intake(settings: Settings) -> Intake:
    """This process's Intake (made on first use, after gunicorn's fork; one pool, shared by
    the request threads)."""
    url = settings.database_url
    assert url is not None
    with _intake_lock:
        if url not in _intake or _intake[url].ctx.pool.closed:
            _intake[url] = Intake(PgContext(settings, max_size=WEB_POOL_SIZE, check=False))
        return _intake[url]


# -- workers ---------------------------------------------------------------------------------
def run_worker(settings: Settings, queue: str, task: str,
               handler: Callable[..., Any], concurrency: int, retry: Any = None) -> int:
    """Run a procrastinate worker on ``queue`` until SIGTERM/SIGINT; each job runs
    ``handler(ctx, attempts, **args)`` in a thread (``attempts``: earlier attempts of this
    job). Restarts after a lost connection."""
    assert settings.database_url is not None
    url = settings.database_url
    stop = asyncio.Event()
    deadline = time.monotonic() + 60.0
    while True:  # PostgreSQL may still be starting when the worker does
        try:
            apply_schema(url)
            break
        except Exception as e:
            if time.monotonic() > deadline:
                log.error("cannot reach PostgreSQL: %s", e)
                return 2
            time.sleep(RESTART_PAUSE)
    ctx = PgContext(settings, max_size=concurrency + 2)

    def job(context: Any, /, **args: Any) -> Any:
        return handler(ctx, int(context.job.attempts), **args)

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        while not stop.is_set():
            app = App(connector=PsycopgConnector(conninfo=url, min_size=1,
                                                 max_size=concurrency + 2))
            app.task(name=task, queue=queue, pass_context=True, retry=retry)(job)
            try:
                async with app.open_async():
                    side = asyncio.create_task(_maintain(app, ctx, queue, stop))
                    work = asyncio.create_task(app.run_worker_async(
                        queues=[queue], concurrency=concurrency, wait=True,
                        install_signal_handlers=False, name=f"{queue}@{ctx.owner}",
                        update_heartbeat_interval=settings.stalled_seconds / 4,
                        stalled_worker_timeout=settings.stalled_seconds,
                        shutdown_graceful_timeout=settings.delivery_timeout))
                    stopping = asyncio.create_task(stop.wait())
                    await asyncio.wait({work, side, stopping},
                                       return_when=asyncio.FIRST_COMPLETED)
                    side.cancel()
                    stopping.cancel()
                    if not work.done():
                        # stopping, or the maintenance lost its connection: procrastinate
                        # stops gracefully on cancel (running jobs finish first)
                        work.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await work
                    if side.done() and not side.cancelled() and side.exception():
                        raise side.exception()  # type: ignore[misc]
            except Exception as e:
                log.warning("worker stopped (%s: %s); starting again", type(e).__name__, e)
            if not stop.is_set():
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), RESTART_PAUSE)

    try:
        asyncio.run(serve())
    finally:
        ctx.close()
    return 0


async def _take_over(app: App, job: Any) -> None:
    """A stalled job (its worker stopped sending heartbeats) goes back to ``todo``. When
    another job with its queueing lock is already waiting (a sync deferred meanwhile), that
    one covers it (it claims every open delivery of the repository, those the dead job held
    included): the stalled one ends ``failed``. Another live worker may be doing the same
    at the same moment: whichever comes second finds nothing to do."""
    from procrastinate.jobs import Status  # lazy: the [postgres] extra

    try:
        await app.job_manager.retry_job(job)
        log.warning("job %s (%s) retried: its worker stopped sending heartbeats",
                    job.id, job.task_name)
        return
    except ConnectorException:
        pass
    with contextlib.suppress(ConnectorException):
        await app.job_manager.finish_job(job, Status.FAILED, delete_job=False)
        log.warning("job %s (%s) dropped: its worker stopped sending heartbeats, and a"
                    " waiting job covers it", job.id, job.task_name)


async def _maintain(app: App, ctx: PgContext, queue: str, stop: asyncio.Event) -> None:
    """Retry the jobs of dead workers; (sync role) defer a job for repositories with open
    deliveries. Raises on a lost connection, which restarts the worker."""
    every = max(ctx.settings.stalled_seconds / 4, 0.5)
    last_sweep = 0.0
    while not stop.is_set():
        stalled = await app.job_manager.get_stalled_jobs(
            queue=queue, seconds_since_heartbeat=ctx.settings.stalled_seconds)
        for job in stalled:
            await _take_over(app, job)
        if queue == SYNC_QUEUE and time.monotonic() - last_sweep > SWEEP_SECONDS:
            last_sweep = time.monotonic()
            for repo, full_name in await asyncio.to_thread(ctx.store.open_repos):
                await asyncio.to_thread(ctx.defer_sync, repo, full_name)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), every)
