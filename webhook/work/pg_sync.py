"""The body of the ``float.sync`` job (PostgreSQL mode): one repository, under its lock.

1. Claim every open delivery of the repository (pg_store.claim): the latest one stands for
   them all (the sync always goes to the tracked branch's tip, pipeline._target); a burst
   becomes one sync and each earlier delivery ends ``done`` saying which one covered it.
2. Bring this worker's map up to date: with deliveries, or when the map is missing (a new
   worker, a lost disk) or behind what another worker published, the job process
   (job.JobProcess: pipeline.process under its time and memory budget) fetches the mirror
   and syncs, building a missing map from the committed export.
3. Apply the regeneration answers PostgreSQL holds that this map has not applied yet
   (``float_answers.seq`` > the map's ``pg_answer_seq``), under the stale-result guard: an
   answer is written when the folder still has the hash it was made for, or when the folder
   has no context at all (a rebuilt map: the context comes back, marked stale); then the
   agents' writes made through ``/mcp`` on the web hosts (pg_writes.py), each once per map.
4. Hand the folders that are ready (stale or pending, every child folder current: children
   before parents) to the regeneration workers, once per (folder, hash).
5. Publish the read model (with the decisions, questions and boot.md ``/mcp`` lists), then
   settle the writes and the deliveries (so ``applied`` and ``done`` mean visible everywhere).
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from float_hooks import failpoints
from float_hooks.reads.show import folder_document
from float_hooks.reads.stale import stale_list
from float_hooks.regen import job_queue
from float_hooks.regen.request import budgets, build_request
from float_hooks.repo.git import Git
from float_hooks.store.db import BASE_KEY, Store
from float_hooks.store.folder_context import status_counts, write_context
from webhook.events import publish
from webhook.queues.pg_queue import PgContext
from webhook.queues.sqlite_queue import BACKOFF_SECONDS, Delivery
from webhook.storage.maps import map_meta, map_path
from webhook.storage.mirror import mirror_path
from webhook.work import export_push, pg_writes, pipeline
from webhook.work.job import BudgetExceeded, JobProcess
from webhook.work.pipeline import BRANCH_KEY

log = logging.getLogger("webhook")

ANSWER_SEQ_KEY = "pg_answer_seq"  # meta: the last float_answers.seq this map applied
HEAD_KEY = "pg_head"  # meta: the commit this map was synced to (as published)
REMOTE_KEY = "pg_regen_remote"  # meta: "1" while remote workers regenerate this map
REQUESTS_PER_SYNC = 500  # folders handed out per job; the next job hands out the rest

_local = threading.local()


def _job_process(ctx: PgContext) -> JobProcess:
    job: JobProcess | None = getattr(_local, "job", None)
    if job is None:
        job = _local.job = JobProcess(ctx.settings)
    return job


def run_job(ctx: PgContext, attempts: int, repo: str, full_name: str) -> None:
    """The ``float.sync`` task (pg_queue.run_worker)."""
    sync_repo(ctx, repo, full_name)


def sync_repo(ctx: PgContext, repo: str, full_name: str) -> None:
    rows = ctx.store.claim(repo, ctx.owner)
    # as the embedded worker: each claimed delivery is now being applied
    publish.emit_many(ctx.settings, [(r["repo"], "delivery", _delivery_data(
        r, "running", attempt=int(r["attempts"]))) for r in rows])
    if rows:
        last = rows[-1]
        ctx.store.remember_repo(repo, last["full_name"], last["default_branch"])
    info = ctx.store.repo(repo)
    if info is None:
        return  # nothing was ever recorded for it
    db_path = map_path(ctx.settings.data_dir, info["full_name"])
    local_head = map_meta(db_path, HEAD_KEY)
    skips = {r["id"]: pipeline.skip_reason(ctx.settings, Delivery.from_row(r)) for r in rows}
    d = _delivery([r for r in rows if skips[r["id"]] is None] or rows, info, local_head)
    result: dict[str, Any] = {}
    state = "done"
    if d is not None:
        answer = _run(ctx, d)
        if "state" not in answer:
            _failed(ctx, repo, info["full_name"], rows, d, answer)
            return
        state, result = answer["state"], answer["result"]
    # an ignored delivery (a branch not tracked) leaves the map as it was, but the agents'
    # writes waiting for this job are applied all the same
    if db_path.exists() and (state == "done" or (state == "ignored"
                                                 and pg_writes.waiting(ctx, repo))):
        applied, requested = _after_sync(ctx, repo, info, db_path, result)
        if applied:
            result["answers_applied"] = len(applied)
            # the folders regeneration workers answered, as context events
            pipeline.emit_context_events(ctx.settings, repo,
                                         d.delivery if d is not None else None, applied)
            head = map_meta(db_path, HEAD_KEY)
            if d is None and ctx.settings.export_branch and head:  # no delivery to carry it
                export_push.publish_head(ctx.settings, info["full_name"], ctx.settings.branch
                                         or info["default_branch"], head)
        if requested:
            result["regeneration_requested"] = requested
    if rows and d is not None:
        if state == "done":
            pipeline.report_status(ctx.settings, d, result)
            export_push.publish(ctx.settings, d, result)
            pipeline.emit_events(ctx.settings, d, result)  # the job process cannot
        _settle(ctx, rows, skips, d, state, result)
        log.info("deliveries %s (%s): %s", ", ".join(r["delivery"] for r in rows), full_name,
                 state)


def _settle(ctx: PgContext, rows: list[dict[str, Any]], skips: dict[int, str | None],
            d: Delivery, state: str, result: dict[str, Any]) -> None:
    """As worker.Worker._settle: ``d``'s row gets ``result``; the other rows with work end
    ``state``, coalesced into it; those needing none end ``ignored`` with their reason. Runs
    of equal outcomes are settled together, in arrival order (their ``done_seq`` too)."""
    head = (result.get("sync") or {}).get("head")
    coalesced = {"coalesced_into": d.delivery, "head": head,
                 **({"reason": result["reason"]} if "reason" in result else {})}
    outcomes: list[tuple[dict[str, Any], str, dict[str, Any]]] = []
    for r in rows:
        skip = skips[r["id"]]
        if r["id"] == d.id:
            outcomes.append((r, state, result))
        elif skip is not None:
            outcomes.append((r, "ignored", {"reason": skip}))
        else:
            outcomes.append((r, state, coalesced))
    i = 0
    while i < len(outcomes):
        j = i
        while (j + 1 < len(outcomes) and outcomes[j + 1][1:] == outcomes[i][1:]
               and outcomes[i][0]["id"] != d.id and outcomes[j + 1][0]["id"] != d.id):
            j += 1
        run = outcomes[i:j + 1]
        ctx.store.settle([r["id"] for r, _, _ in run], run[0][1], run[0][2])
        _delivery_events(ctx, [r for r, _, _ in run], run[0][1],
                         reason=run[0][2].get("reason"))
        i = j + 1


def _delivery(rows: list[dict[str, Any]], info: dict[str, Any],
              local_head: str | None) -> Delivery | None:
    """The delivery to run: the latest of ``rows`` (those claimed that need work, else all
    of them; a full rebuild if any asked for one), or a
    catch-up sync when this map is missing or behind the published head; None: up to date."""
    if rows:
        last = rows[-1]
        full = any(r["created"] or r["kind"] == "resync" for r in rows)
        return Delivery.from_row(last, created=full and last["kind"] == "push")
    if info["head"] is None or (local_head is not None and local_head == info["head"]):
        return None
    branch = info["branch"] or info["default_branch"]
    return Delivery(
        id=0, delivery="catch-up", kind="push" if local_head and branch else "resync",
        repo=info["repo"], full_name=info["full_name"],
        ref=f"refs/heads/{branch}" if branch else None, before=None, after=None,
        default_branch=branch, created=False, deleted=False, forced=False, commits=0,
        attempts=1)


def _run(ctx: PgContext, d: Delivery) -> dict[str, Any]:
    try:
        return _job_process(ctx).run(d)
    except BudgetExceeded as e:
        return {"budget": str(e)}


def _failed(ctx: PgContext, repo: str, full_name: str, rows: list[dict[str, Any]],
            d: Delivery, answer: dict[str, Any]) -> None:
    """As worker.Worker._apply: a deterministic error fails the deliveries; a transient one
    (or over budget) puts them back with backoff until ``max_attempts``."""
    ids = [r["id"] for r in rows]
    if "error" in answer:
        log.error("delivery %s (%s) failed: %s", d.delivery, full_name, answer["error"])
        ctx.store.settle(ids, "failed", None, str(answer["error"]))
        _delivery_events(ctx, rows, "failed", error=str(answer["error"]))
        return
    reason = str(answer.get("retry") or answer.get("budget"))
    attempts = max((int(r["attempts"]) for r in rows), default=1)
    if not ids or attempts >= ctx.settings.max_attempts:
        log.warning("delivery %s (%s): %s; giving up", d.delivery, full_name, reason)
        error = f"gave up after {attempts} attempts: {reason}" if attempts > 1 else reason
        ctx.store.settle(ids, "failed", None, error)
        _delivery_events(ctx, rows, "failed", error=error)
        return
    log.warning("delivery %s (%s): %s; will retry", d.delivery, full_name, reason)
    retry_in = BACKOFF_SECONDS * 2 ** (attempts - 1)
    ctx.store.settle(ids, "queued", None, reason, retry_in=retry_in)
    _delivery_events(ctx, rows, "retrying", error=reason, retry_in=retry_in)
    ctx.defer_sync(repo, full_name, delay=retry_in)


def _delivery_events(ctx: PgContext, rows: list[dict[str, Any]], state: str,
                     **extra: Any) -> None:
    """A ``delivery`` event per settled row, in order, committed together on the shared log
    (event_log.py; never raises)."""
    publish.emit_many(ctx.settings, [(r["repo"], "delivery", _delivery_data(r, state, **extra))
                                     for r in rows])


def _delivery_data(r: dict[str, Any], state: str, **extra: Any) -> dict[str, Any]:
    return {"delivery": r["delivery"], "state": state, "kind": r["kind"], "ref": r["ref"],
            "after": r["after"], **{k: v for k, v in extra.items() if v is not None}}


def _after_sync(ctx: PgContext, repo: str, info: dict[str, Any], db_path: Path,
                result: dict[str, Any]) -> tuple[list[str], int]:
    """Steps 3-5 on this worker's map; (folders written from answers, requests handed
    out)."""
    store = Store.open(db_path)
    try:
        applied = apply_answers(ctx, repo, store)
        written = pg_writes.apply_writes(ctx, repo, info["full_name"], store)
        failpoints.reached("pg:writes-applied-unpublished")
        applied += written
        requested = 0
        remote = bool((result.get("regenerate") or {}).get("remote"))
        if "sync" in result:  # a delivery synced: its commit's config decides, until the next
            with store.write():
                store.set_meta(REMOTE_KEY, "1" if remote else "")
        if remote or ("sync" not in result and _remote_wanted(store)):
            requested = request_regeneration(ctx, repo, info, store)
        head = store.get_meta(HEAD_KEY)
        sync_head = (result.get("sync") or {}).get("head")
        if sync_head:
            head = sync_head
            with store.write():
                store.set_meta(HEAD_KEY, head)
        counts = status_counts(store)
        branch = store.get_meta(BRANCH_KEY)
        ctx.store.publish(repo, branch, head, counts, stale_list(store.conn),
                          folder_documents(store))
        pg_writes.publish_records(ctx, repo, info["full_name"], store)
        pg_writes.settle(ctx, store)
    finally:
        store.close()
    return applied, requested


def _remote_wanted(store: Any) -> bool:
    """Whether the last delivery's sync handed regeneration to remote workers (kept in the
    map, so a job that only applies answers keeps asking for the next level)."""
    return bool(store.get_meta(REMOTE_KEY))


def apply_answers(ctx: PgContext, repo: str, store: Any) -> list[str]:
    """Write the stored answers this map has not applied yet; returns the folders written."""
    seq = int(store.get_meta(ANSWER_SEQ_KEY) or 0)
    applied = []
    for a in ctx.store.answers_after(repo, seq):
        with store.write() as conn:
            row = conn.execute("SELECT source_hash, context_hash FROM folders WHERE path = ?",
                               (a["path"],)).fetchone()
            if row is not None and (row[0] == a["source_hash"] or row[1] is None):
                write_context(conn, store, a["path"], dict(a["fields"]), model=a["model"],
                              for_hash=a["source_hash"])
                if row[0] == a["source_hash"]:
                    job_queue.forget(conn, [a["path"]])
                applied.append(a["path"])
            store.set_meta(ANSWER_SEQ_KEY, str(a["seq"]))
    return applied


def request_regeneration(ctx: PgContext, repo: str, info: dict[str, Any], store: Any) -> int:
    """Hand the ready folders to the regeneration workers (children before parents)."""
    head = store.get_meta(HEAD_KEY) or store.get_meta(BASE_KEY)
    mirror = mirror_path(ctx.settings.data_dir, info["full_name"])
    if not head or not (mirror / "HEAD").exists():
        return 0
    git = Git(mirror, None)
    project = pipeline.MirrorProject(git, store.path, head, ctx.settings)
    if not project.may_regenerate():
        return 0
    cfg = project.config["regenerate"]
    regenerator = {k: cfg.get(k) for k in ("kind", "command", "timeout", "base_url", "model",
                                          "api_key_env")}
    ready = store.conn.execute(
        "SELECT f.path, f.source_hash FROM folders f WHERE f.status != 'current'"
        " AND NOT EXISTS (SELECT 1 FROM folders c WHERE c.parent_path = f.path"
        " AND c.status != 'current') ORDER BY f.path LIMIT ?",
        (REQUESTS_PER_SYNC,)).fetchall()
    n = 0
    for path, source_hash in ready:
        if not ctx.store.want_answer(repo, path, source_hash):
            continue
        request = build_request(git, store.conn, path, source_hash, *budgets(cfg))
        try:
            ctx.defer_regen(repo=repo, full_name=info["full_name"], path=path,
                            source_hash=source_hash, request=request.as_json(),
                            regenerator=regenerator)
        except Exception:
            ctx.store.forget_request(repo, path, source_hash)
            raise
        n += 1
    return n


def folder_documents(store: Any) -> dict[str, dict[str, Any]]:
    """Every folder's ``/folders/...`` document (the same as ``show --json``)."""
    conn = store.conn
    return {path: folder_document(conn, path)
            for (path,) in conn.execute("SELECT path FROM folders").fetchall()}
