"""The agent as regenerator: the MCP tools ``next_job`` and ``submit_job`` on the regeneration
queue every worker uses (job_queue.py), so an agent can refresh the map in its own session.

``next_job`` queues the stale and pending folders (as ``regenerate`` does), claims the next
ready job under a lease (children before parents, the same ``job_queue.take`` as the workers) and
returns the request a ``command`` regenerator would receive on stdin. ``submit_job`` applies
the answer through ``regenerate.apply_answer``: written only while the claim is still the
agent's and the folder still has the hash the request was read for. A claim nobody answers
goes back to the queue when its lease ends (the next ``take`` after that hands it out again).

A job's id is the lease owner recorded in the ``jobs`` table (``agent:<random>``), so no state
lives in the server process: a submit after a server restart, or to another process serving
the same map, finds its job.
"""

from __future__ import annotations

import uuid
from typing import Any

from float_hooks.code import anchors as anchor_code
from float_hooks.errors import FloatError, NotFound
from float_hooks.project import Project
from float_hooks.regen import job_queue
from float_hooks.regen.request import RegenError, budgets, build_request, validate
from float_hooks.regen.run import apply_answer
from float_hooks.repo.git import Git
from float_hooks.store.db import Store
from float_hooks.store.folder_context import HashMismatch

OWNER_PREFIX = "agent:"
MIN_LEASE, MAX_LEASE = 1.0, 3600.0
DEFAULT_LEASE = 900.0  # an agent reads the request and writes the answer within a turn


def next_job(project: Project, store: Store, lease_seconds: float = DEFAULT_LEASE
             ) -> dict[str, Any]:
    """Claim the next job: ``{"id", "path", "reason", "source_hash", "lease_seconds",
    "remaining", "request"}``, or ``{"id": None, ...}`` with a message when none is ready."""
    lease = min(max(float(lease_seconds), MIN_LEASE), MAX_LEASE)
    cfg = project.config["regenerate"]
    with store.write() as conn:
        job_queue.enqueue_all(conn)
    while True:
        owner = OWNER_PREFIX + uuid.uuid4().hex[:16]
        taken = job_queue.take(store, owner, lease_seconds=lease,
                           max_attempts=int(cfg["max_attempts"]))
        job = taken.job
        if job is None:
            remaining = job_queue.open_count(store.conn)
            wait = job_queue.next_ready_in(store.conn)
            message = ("the queue is empty: every folder's context is current" if not remaining
                       else f"{remaining} jobs are open but none is ready (claimed by another"
                            f" worker or agent, or waiting for a retry; next in"
                            f" {wait or 0:.0f} s)")
            return {"id": None, "path": None, "remaining": remaining, "message": message}
        try:
            request = build_request(project.git, store.conn, job.path, job.source_hash,
                                    *budgets(cfg))
        except HashMismatch:  # a sync ran between the claim and the read: claim it again
            with store.write() as conn:
                job_queue.requeue(conn, job)
            continue
        except NotFound:
            with store.write() as conn:
                job_queue.forget(conn, [job.path])
            continue
        return {"id": owner, "path": job.path, "reason": job.reason,
                "source_hash": job.source_hash, "attempt": job.attempts,
                "lease_seconds": lease, "remaining": job_queue.open_count(store.conn) - 1,
                "request": request.as_json()}


def submit_job(store: Store, job_id: str, answer: dict[str, Any],
               git: Git | None = None) -> dict[str, Any]:
    """Apply an answer to a job this agent claimed. Raises FloatError (one line) when the
    answer is invalid, the claim was lost, or the folder changed (the job is then queued
    again for the folder's new hash and nothing is written)."""
    if not isinstance(job_id, str) or not job_id.startswith(OWNER_PREFIX) or len(job_id) > 64:
        raise FloatError("not a job id from next_job")
    if not isinstance(answer, dict):
        raise FloatError("answer must be an object with the set_context fields")
    model = answer.get("ai_model")
    if model is not None and not isinstance(model, str):
        raise FloatError("answer field ai_model must be a string")
    try:
        fields = validate(answer)
    except RegenError as e:
        raise FloatError(str(e)) from None
    given = answer.get("anchors")
    if given is not None:
        if not isinstance(given, list) or not all(isinstance(x, str) for x in given):
            raise FloatError("answer field anchors must be a list of strings")
        if given and git is not None:  # pinned now, refused (nothing written) if one is off
            fields["anchors"] = anchor_code.resolve(store.conn, git, given)
    row = store.conn.execute(
        "SELECT folder_path, source_hash, reason, attempts FROM jobs WHERE lease_owner = ?",
        (job_id,)).fetchone()
    if row is None:
        raise FloatError("this job is no longer yours: its lease ended and it went back to the"
                         " queue, or it was answered; call next_job again")
    job = job_queue.Taken(row[0], row[1], row[2], row[3], job_id)
    try:
        written = apply_answer(store, job, fields, model or "agent")
    except HashMismatch:
        with store.write() as conn:
            job_queue.requeue(conn, job)
        raise FloatError(f"{job.path} changed since the job was claimed (files were edited or"
                         " a commit landed); nothing written, the job is queued again for its"
                         " new hash: call next_job") from None
    if not written:
        raise FloatError("this job is no longer yours: its lease ended and another worker or"
                         " agent claimed it; nothing written")
    folder = store.conn.execute(
        "SELECT status, source_hash, context_hash, context_commit FROM folders WHERE path = ?",
        (job.path,)).fetchone()
    return {"id": job_id, "path": job.path, "written": True, "status": folder[0],
            "source_hash": folder[1], "context_hash": folder[2], "context_commit": folder[3],
            "remaining": job_queue.open_count(store.conn)}
