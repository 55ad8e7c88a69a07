"""The worker: takes deliveries from the queue and applies them.

By default the app runs it as threads in each server process; ``FLOAT_WORKER=off`` leaves the
work to a separate process, ``python -m webhook.worker``. Any number of threads and processes
can share one data directory: the queue hands each repository to one of them at a time, in
the order its deliveries arrived, while other repositories proceed in parallel.

A worker thread claims a repository's open deliveries (``Queue.claim_batch``), renews their
lease while it runs, hands the latest that needs work to its job process (``job.JobProcess``:
``pipeline.process`` under a time and memory budget), and records the outcome for all of them:
``Queue.settle`` (done or ignored, after posting the commit status; failed when deterministic
or out of attempts) or ``Queue.requeue`` with a retry time (transient, over budget, crashed;
each counted). Those Queue calls are the only places a delivery changes state, so a later
queue backend or an event stream hooks in there.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import os
import signal
import sqlite3
import sys
import threading
import time
import uuid
import weakref
from collections.abc import Iterator, Mapping
from typing import Any

from float_hooks.repo.git import lower_priority
from webhook.events import publish
from webhook.queues.owner_lock import OwnerLock, worker_id
from webhook.queues.sqlite_queue import BACKOFF_SECONDS, Delivery, Queue
from webhook.settings import Settings, for_process
from webhook.work import export_push, pipeline
from webhook.work.job import BudgetExceeded, JobProcess

log = logging.getLogger("webhook")

WORKER_NICE = 10
# Answering GitHub comes first: a job starts only once this process has been answering no
# delivery for QUIET_SECONDS (a burst's deliveries arrive within a few ms of each other). A
# worker thread defers at most MAX_DEFER_SECONDS in all between two moments with nothing to
# do, so a steady stream of deliveries cannot hold the work up for long.
QUIET_SECONDS = 0.02
MAX_DEFER_SECONDS = 2.0


class Worker:
    """Worker threads that claim deliveries (deliveries.Queue) and apply each in a job process
    (job.JobProcess). The interface the app and other deployments use: ``start()``/``stop()``
    (threads in this process), ``notify()`` (a delivery was recorded), ``answering()`` (a
    request is being answered: jobs wait), ``run_until_idle()`` (apply what is queued, in the
    calling thread). ``owner`` names this process's claims; ``OwnerLock`` proves it alive."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.owner = ""
        self.owner_lock: OwnerLock | None = None
        self.owner_pid = 0
        self.jobs: set[JobProcess] = set()
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.pid: int | None = None
        self._lock = threading.Lock()
        # time.monotonic() when this process last started or finished answering a delivery,
        # and how many answers are under way
        self.last_request = 0.0
        self.answers = 0
        self._answers_lock = threading.Lock()

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        """Start the threads once per process (again in a forked child, whose copy of the
        parent's threads does not run)."""
        with self._lock:
            if self.pid == os.getpid() and self.threads:
                return
            self.pid = os.getpid()
            self._new_owner()
            self.stopping.clear()
            q = Queue(self.settings.data_dir)
            try:
                q.release_dead()
            finally:
                q.close()
            self.threads = [
                threading.Thread(target=self._loop, name=f"float-worker-{i}", daemon=True)
                for i in range(self.settings.worker_threads)
            ]
            for t in self.threads:
                t.start()

    def start_after_fork(self) -> None:
        """Start the threads in every process forked from this one, not in this one (a
        server's master process that only forks workers: ``gunicorn --preload``)."""
        ref = weakref.ref(self)

        def forked() -> None:
            worker = ref()
            if worker is not None:
                worker.start()

        os.register_at_fork(after_in_child=forked)

    def _new_owner(self) -> None:
        """A fresh owner name and its lock, for this process (see queues/owner_lock.py)."""
        if self.owner_lock is not None and self.owner_lock.fd is not None \
                and self.owner_pid == os.getpid():
            return
        tag = uuid.uuid4().hex[:16]
        self.owner_lock = OwnerLock(self.settings.data_dir, tag)
        self.owner_pid = os.getpid()
        self.owner = f"{worker_id()}:{tag}"
        ref = weakref.ref(self)

        def forked() -> None:  # a forked child shares the lock's open file: let go of it
            worker = ref()
            if worker is not None and worker.owner_lock is not None:
                worker.owner_lock.forget()
                worker.jobs = set()

        os.register_at_fork(after_in_child=forked)

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the jobs in hand (up to ``timeout``), then hand back anything unfinished."""
        if not self.threads or self.pid != os.getpid():
            return
        self.stopping.set()
        self.wake.set()
        for t in self.threads:
            t.join(timeout)
        self.threads = []
        for job in list(self.jobs):  # still running a delivery after the timeout
            job.kill()
        try:
            q = Queue(self.settings.data_dir, create=False)
            try:
                q.release(self.owner)
            finally:
                q.close()
        except sqlite3.Error:
            log.exception("could not hand back unfinished deliveries (their leases will)")
        if self.owner_lock is not None:
            self.owner_lock.release()

    def notify(self) -> None:
        self.wake.set()

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """A delivery is being answered in this process (see QUIET_SECONDS)."""
        with self._answers_lock:  # gthread workers answer from several threads
            self.answers += 1
            self.last_request = time.monotonic()
        try:
            yield
        finally:
            with self._answers_lock:
                self.answers -= 1
                self.last_request = time.monotonic()

    def settle(self, budget: float) -> float:
        """Wait, before starting a job, until this process has a quiet moment, spending at
        most ``budget`` seconds; returns what is left of it. A job's Python work holds the
        interpreter lock the thread answering GitHub needs: a burst of 100 deliveries to a
        tracked branch, answered while the worker synced, had a p99 about three times the
        one with nothing else running (docs/performance.md)."""
        while budget > 0 and not self.stopping.is_set():
            now = time.monotonic()
            wait = QUIET_SECONDS if self.answers > 0 else (
                self.last_request + QUIET_SECONDS - now)
            if wait <= 0:
                break
            wait = min(wait, budget)
            self.stopping.wait(wait)
            budget -= wait
        return budget

    def _loop(self) -> None:
        # Linux nice values are per thread and inherited by the git processes this thread
        # starts: mirror fetches and syncs then yield the CPU to answering deliveries.
        lower_priority(threading.get_native_id(), WORKER_NICE)
        q = Queue(self.settings.data_dir)
        job = JobProcess(self.settings)
        self.jobs.add(job)
        try:
            budget = MAX_DEFER_SECONDS
            while not self.stopping.is_set():
                budget = self.settle(budget)
                if self.stopping.is_set():
                    break
                try:
                    did = self.run_one(q, job)
                except Exception:  # the loop must survive anything (a full disk, a bug)
                    log.exception("worker loop error")
                    did = 0
                if not did:
                    budget = MAX_DEFER_SECONDS
                    self.idle(q)
                    job.close_if_idle()
                    self.wake.wait(self.settings.poll_seconds)
                    self.wake.clear()
        finally:
            job.close()
            self.jobs.discard(job)
            q.close()

    def idle(self, q: Queue) -> None:
        """Nothing to claim: copy the log the request path appended to into the queue's
        file (requests never checkpoint: see Queue)."""
        try:
            q.checkpoint()
        except sqlite3.Error:
            log.exception("checkpoint of the delivery queue failed")

    # -- one job -------------------------------------------------------------------------
    def run_one(self, q: Queue, job: JobProcess | None = None) -> int:
        """Claim and apply one repository's open deliveries (a burst: one sync); how many
        (0: there was nothing to claim)."""
        self._new_owner()
        batch = q.claim_batch(self.owner, self.settings.lease_seconds,
                              self.settings.max_attempts)
        if not batch:
            return 0
        for d in batch:
            self._event(d, "running", attempt=d.attempts)
        if job is not None:
            self._apply(q, batch, job)
            return len(batch)
        job = JobProcess(self.settings)
        try:
            self._apply(q, batch, job)
        finally:
            job.close()
        return len(batch)

    def run_until_idle(self) -> int:
        """Apply everything claimable now, in this thread; returns how many deliveries were
        applied (a repository's burst in one sync)."""
        q = Queue(self.settings.data_dir)
        job = JobProcess(self.settings)
        n = 0
        try:
            while did := self.run_one(q, job):
                n += did
            self.idle(q)  # a worker run from cron is the only one that checkpoints then
        finally:
            job.close()
            q.close()
        return n

    def _apply(self, q: Queue, batch: list[Delivery], job: JobProcess) -> None:
        """Apply a repository's claimed deliveries (oldest first) as one: the latest that
        needs work stands for them all (the sync always goes to the tracked branch's tip,
        pipeline._target), a full rebuild if any of them asked for one; the others end as
        it does, saying which one covered them (``coalesced_into``), and those that need no
        work end ``ignored``. Settled together, in the order they were received."""
        skips = {d.id: pipeline.skip_reason(self.settings, d) for d in batch}
        work = [d for d in batch if skips[d.id] is None]
        if not work:
            self._settle(q, batch, skips, "ignored", {})
            return
        last = work[-1]
        full = any(d.created or d.kind == "resync" for d in work)
        d = dataclasses.replace(last, created=full and last.kind == "push",
                                attempts=max(w.attempts for w in batch))
        renew = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(batch, renew), daemon=True)
        beat.start()
        try:
            answer = job.run(d)
            if answer.get("state") == "done":  # still holding the deliveries' leases
                pipeline.report_status(self.settings, d, answer["result"])
                export_push.publish(self.settings, d, answer["result"])
        except BudgetExceeded as e:
            answer = {"budget": str(e)}
        finally:
            renew.set()
            beat.join()
        names = ("delivery " if len(work) == 1 else "deliveries ") + ", ".join(
            w.delivery for w in work)
        if "state" in answer:
            self._settle(q, batch, skips, answer["state"], answer["result"], last)
            return
        if "error" in answer:
            # a deterministic failure (bad config in the repository, a bug): trying again
            # would fail the same way and hold up the repository's later pushes
            log.error("%s (%s) failed: %s", names, d.full_name, answer["error"])
            self._settle(q, batch, skips, "failed", {}, error=str(answer["error"]))
            return
        # transient (a fetch, a locked map), or over its budget: retried, each time counted
        reason = str(answer.get("retry") or answer.get("budget"))
        retry = d.attempts < self.settings.max_attempts
        log.warning("%s (%s): %s%s", names, d.full_name, reason,
                    "; will retry" if retry else "; giving up")
        if not retry:
            if d.attempts > 1:
                reason = f"gave up after {d.attempts} attempts: {reason}"
            self._settle(q, batch, skips, "failed", {}, error=reason)
            return
        # every claimed row goes back, those needing no work too: settling a later one now
        # would put it ahead of earlier ones in the order deliveries finish
        retry_in = BACKOFF_SECONDS * 2 ** (d.attempts - 1)
        q.requeue([b.id for b in batch], self.owner, reason, retry_in)
        for b in batch:
            self._event(b, "retrying", error=reason, retry_in=retry_in)

    def _settle(self, q: Queue, batch: list[Delivery], skips: dict[int, str | None],
                state: str, result: dict[str, Any], last: Delivery | None = None,
                error: str | None = None) -> None:
        """End every row of ``batch`` (one transaction, in the order received) and announce
        each: ``last`` gets ``result``; the others with work end ``state``, coalesced into
        ``last``; those needing none end ``ignored`` with their reason."""
        head = (result.get("sync") or {}).get("head")
        outcomes: list[tuple[int, str, dict[str, Any] | None, str | None]] = []
        for b in batch:
            skip = skips[b.id]
            if skip is not None:
                outcomes.append((b.id, "ignored", {"reason": skip}, None))
            elif state == "failed":
                outcomes.append((b.id, "failed", None, error))
            elif last is None or b.id == last.id:
                outcomes.append((b.id, state, result, None))
            else:
                outcomes.append((b.id, state, {
                    "coalesced_into": last.delivery, "head": head,
                    **({"reason": result["reason"]} if "reason" in result else {})}, None))
        q.settle(self.owner, outcomes)
        for b, (_, end, res, err) in zip(batch, outcomes, strict=True):
            if end != "failed":
                log.info("delivery %s (%s %s): %s%s", b.delivery, b.full_name, b.ref or b.kind,
                         end, f" (coalesced into {last.delivery})"
                         if last is not None and b.id != last.id and skips[b.id] is None
                         else "")
            extra: dict[str, Any] = {}
            if end == "ignored":
                extra["reason"] = (res or {}).get("reason")
            elif end == "failed":
                extra["error"] = err
            self._event(b, end, **extra)

    def _event(self, d: Delivery, state: str, **extra: Any) -> None:
        """A ``delivery`` event for the event stream (event_log.py); never raises."""
        publish.emit(self.settings, d.repo, "delivery", {
            "delivery": d.delivery, "state": state, "kind": d.kind, "ref": d.ref,
            "after": d.after, **extra})

    def _heartbeat(self, batch: list[Delivery], done: threading.Event) -> None:
        q: Queue | None = None
        try:
            while not done.wait(self.settings.lease_seconds / 3):
                q = q or Queue(self.settings.data_dir)
                q.renew([d.id for d in batch], self.owner, self.settings.lease_seconds)
        except Exception:
            log.exception("lease renewal failed for delivery %s", batch[-1].delivery)
        finally:
            if q is not None:
                q.close()


def main(argv: list[str] | None = None, environ: Mapping[str, Any] | None = None) -> int:
    """``python -m webhook.worker``: the worker as its own process (FLOAT_* environment)."""
    p = argparse.ArgumentParser(prog="python -m webhook.worker", description=__doc__)
    p.add_argument("--until-idle", action="store_true",
                   help="apply what is queued now, then exit (cron, tests)")
    args = p.parse_args(argv)
    settings = for_process("webhook.worker", environ)
    if settings is None:
        return 2
    if settings.database_url:  # PostgreSQL: the sync role of a scaled-out deployment
        if args.until_idle:
            print("webhook.worker: --until-idle is for the embedded SQLite queue",
                  file=sys.stderr)
            return 2
        from webhook.queues.pg_queue import (  # lazy: the [postgres] extra
            SYNC_QUEUE,
            SYNC_TASK,
            run_worker,
        )
        from webhook.work import pg_sync  # lazy: the [postgres] extra

        return run_worker(settings, SYNC_QUEUE, SYNC_TASK, pg_sync.run_job,
                          settings.worker_threads)
    worker = Worker(settings)
    if args.until_idle:
        q = Queue(settings.data_dir)
        try:
            q.release_dead()
        finally:
            q.close()
        n = worker.run_until_idle()
        print(f"applied {n} deliveries")
        return 0
    stop = threading.Event()

    def _stop(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    worker.start()
    stop.wait()
    worker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
