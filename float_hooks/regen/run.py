"""Running regeneration jobs: take a job, build the folder's request, call the configured
regenerator, and apply its answer only if the folder still has the hash the request was read
for (checked inside the write transaction that writes the context and closes the job).

:func:`run_jobs` is the one entry point: the `regenerate` command, the worker, and the webhook
worker (``FLOAT_ON_PUSH=regenerate``) all call it.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from float_hooks.code.anchors import resolve
from float_hooks.errors import ConfigError, FloatError, NotFound, quoted
from float_hooks.map.build import open_built
from float_hooks.project import Project
from float_hooks.regen import builtin, estimate, job_queue
from float_hooks.regen.command import CommandRegenerator
from float_hooks.regen.env import keys_only
from float_hooks.regen.openai_api import OpenAIRegenerator
from float_hooks.regen.request import RegenError, Request, budgets, build_request
from float_hooks.repo.git import Git
from float_hooks.store.db import Store
from float_hooks.store.folder_context import HashMismatch, write_context

Regenerator = Callable[[Request], tuple[dict[str, Any], str]]
KINDS = ("builtin", "command", "openai")


@dataclass
class RunSummary:
    queued: int = 0  # jobs made or refreshed before running
    done: list[str] = field(default_factory=list)  # folders whose context was written
    failed: list[dict[str, Any]] = field(default_factory=list)  # path, error, gave_up
    requeued: list[str] = field(default_factory=list)  # folder changed while its job ran
    skipped: list[str] = field(default_factory=list)  # current again or gone: job dropped
    remaining: int = 0  # open jobs left in the queue (waiting, blocked or beyond --limit)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def regenerator(project: Project, env: Mapping[str, str] | None = None) -> Regenerator:
    """The regenerator ``[regenerate] kind`` names. ``env``: the environment it may use (a
    command's whole environment, where an HTTP key is looked up); None: this process's own
    (the CLI). The webhook server passes regen_env.scrubbed(...)."""
    cfg = project.config["regenerate"]
    kind = cfg["kind"]
    if kind == "builtin":
        return builtin.regenerate
    if kind == "command":
        cwd = project.work_tree or project.git.git_dir
        return CommandRegenerator(cfg["command"], float(cfg["timeout"]), Path(cwd), env)
    if kind == "openai":
        return OpenAIRegenerator(cfg["base_url"], cfg["model"], cfg["api_key_env"],
                                 float(cfg["timeout"]), None if env is None else keys_only(env))
    raise ConfigError(f"[regenerate] kind = {quoted(kind)}: must be one of {', '.join(KINDS)}")


def plan(project: Project, store: Store, paths: Sequence[str] | None = None,
         force: bool = False) -> list[dict[str, Any]]:
    """The jobs a run would do, children first, with an estimate of each request's size
    (regen_estimate: no file is read). Writes nothing and takes no lock."""
    sizes = estimate.IndexSizes(project.git, paths)  # git reads its index meanwhile
    budget, tokens = budgets(project.config["regenerate"])
    conn = store.conn
    conn.execute("BEGIN")  # one consistent read
    try:
        jobs = job_queue.planned(conn, paths, force=force)
        return estimate.estimate(conn, jobs, sizes, budget, paths, tokens)
    finally:
        conn.execute("COMMIT")


def run_jobs(
    project: Project,
    store: Store,
    *,
    limit: int | None = None,
    paths: Sequence[str] | None = None,
    concurrency: int = 1,
    enqueue: bool = True,
    force: bool = False,
    wait: bool = False,
    regen: Regenerator | None = None,
) -> RunSummary:
    """Queue the stale and pending folders (at or below ``paths``; every folder with
    ``force``) and run ready jobs until none is left or ``limit`` jobs ran. With ``wait``,
    jobs waiting for a retry or a lease are waited for instead of left in the queue."""
    summary = RunSummary()
    if enqueue:
        with store.write() as conn:
            summary.queued = job_queue.enqueue_all(conn, paths, force=force,
                                                   retry_failed=bool(paths) or force)
    regen = regen or regenerator(project)
    runner = _Runner(project, regen, summary, limit, paths, wait)
    if concurrency <= 1:
        runner.loop(store)
    else:
        threads = [threading.Thread(target=runner.loop_own_store, daemon=True)
                   for _ in range(concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if runner.error is not None:
            raise runner.error
    summary.remaining = job_queue.open_count(store.conn, paths)
    return summary


class _Heartbeat:
    """Renews a running job's lease every third of it, so a job may take longer than
    lease_seconds (a slow model) and only a worker that died loses its jobs. Its own DB
    connection: the worker's thread is busy waiting for the regenerator."""

    def __init__(self, project: Project, job: job_queue.Taken, lease: float):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, args=(project, job, lease),
                                        daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self, project: Project, job: job_queue.Taken, lease: float) -> None:
        store: Store | None = None
        try:
            while not self._stop.wait(lease / 3):
                try:
                    # a short busy timeout: a beat never holds up the end of its job
                    store = store or Store.open(project.db_path, timeout=min(lease / 3, 5.0))
                    if not job_queue.renew(store, job, lease):
                        return  # taken over (the lease ran out first): apply() will see it
                except FloatError:
                    continue  # a busy DB: the next beat tries again, well within the lease
        finally:
            if store is not None:
                store.close()


class _Runner:
    """The job loop; several threads may share one (each with its own DB connection)."""

    def __init__(self, project: Project, regen: Regenerator, summary: RunSummary,
                 limit: int | None, within: Sequence[str] | None, wait: bool):
        cfg = project.config["regenerate"]
        self.project = project
        self.regen = regen
        self.summary = summary
        self.limit = limit
        self.within = list(within) if within else None
        self.wait = wait
        self.lease = float(cfg["lease_seconds"])
        self.max_attempts = int(cfg["max_attempts"])
        self.backoff = float(cfg["backoff_seconds"])
        self.budgets = budgets(cfg)
        self.lock = threading.Lock()
        self.started = 0
        self.error: BaseException | None = None
        self.owner_prefix = f"{os.uname().nodename}:{os.getpid()}"

    def loop_own_store(self) -> None:
        try:
            store = open_built(self.project)
            try:
                self.loop(store)
            finally:
                store.close()
        except BaseException as e:  # surfaced by run_jobs in the calling thread
            self.error = e

    def loop(self, store: Store) -> None:
        owner = f"{self.owner_prefix}:{uuid.uuid4().hex[:8]}"
        while True:
            with self.lock:
                if self.limit is not None and self.started >= self.limit:
                    return
                if self.error is not None:
                    return
                taken = job_queue.take(store, owner, lease_seconds=self.lease,
                                   max_attempts=self.max_attempts, within=self.within)
                self.summary.skipped += taken.skipped
                self.summary.failed += [{"path": p, "error": "lease expired", "gave_up": True}
                                        for p in taken.gave_up]
                if taken.job is not None:
                    self.started += 1
            if taken.job is None:
                pause = job_queue.next_ready_in(store.conn) if self.wait else None
                if pause is None:
                    return
                time.sleep(min(max(pause, 0.2), 5.0))
                continue
            self.run_one(store, taken.job)

    def run_one(self, store: Store, job: job_queue.Taken) -> None:
        try:
            request = build_request(self.project.git, store.conn, job.path, job.source_hash,
                                    *self.budgets)
            with _Heartbeat(self.project, job, self.lease):
                fields, model = self.regen(request)
            self.apply(store, job, pin_anchors(store, self.project.git, fields), model)
        except HashMismatch:
            with store.write() as conn:
                job_queue.requeue(conn, job)
            self._add("requeued", job.path)
        except NotFound:
            with store.write() as conn:
                job_queue.forget(conn, [job.path])
            self._add("skipped", job.path)
        except (KeyboardInterrupt, SystemExit):
            job_queue.release(store, job)
            raise
        except Exception as e:  # a regenerator's failure, or a bug in one: the job retries
            message = str(e) if isinstance(e, RegenError) else f"{type(e).__name__}: {e}"
            gave_up = job_queue.fail(store, job, message, backoff_seconds=self.backoff,
                                 max_attempts=self.max_attempts)
            with self.lock:
                self.summary.failed.append({"path": job.path, "error": message,
                                            "attempts": job.attempts, "gave_up": gave_up})

    def apply(self, store: Store, job: job_queue.Taken, fields: dict[str, Any], model: str) -> None:
        if apply_answer(store, job, fields, model):
            self._add("done", job.path)
        else:  # our lease ran out and another worker has the job now: it will write
            self._add("skipped", job.path)

    def _add(self, what: str, path: str) -> None:
        with self.lock:
            getattr(self.summary, what).append(path)


def pin_anchors(store: Store, git: Git, fields: dict[str, Any]) -> dict[str, Any]:
    """A regenerator's answer with its ``anchors`` pinned (code/anchors.py); one that names
    nothing in the map is left out (an agent over MCP is refused instead: job_tools.py)."""
    given = fields.pop("anchors", None)
    kept: list[dict[str, str]] = []
    for text in given or []:
        try:
            kept += resolve(store.conn, git, [text])
        except FloatError:
            continue
    if kept:
        fields["anchors"] = kept
    return fields


def apply_answer(store: Store, job: job_queue.Taken, fields: dict[str, Any], model: str) -> bool:
    """Write a job's answer and close the job, in one transaction, only if the job is still
    ``job.owner``'s (False otherwise: nothing written) and the folder still has the hash the
    request was read for (``HashMismatch`` otherwise: nothing written). A changed summary
    queues the parent (its map lists this folder's summary). Workers and agents (MCP
    ``submit_job``) both answer through here."""
    with store.write() as conn:
        if not job_queue.holds(conn, job):
            return False
        before = conn.execute("SELECT map_summary FROM folders WHERE path = ?",
                              (job.path,)).fetchone()
        write_context(conn, store, job.path, fields, model=model, for_hash=job.source_hash,
                      expected_hash=job.source_hash)
        job_queue.done(conn, job)
        if before is not None and before[0] != fields.get("map_summary", before[0]):
            job_queue.enqueue_parent(conn, job.path)
    return True
