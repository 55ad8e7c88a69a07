"""What the worker does with one delivery: update the mirror, then run exactly what the hooks
run (``build.sync`` -> ``after_sync``, then regeneration per ``FLOAT_ON_PUSH``)
against the repository's DB, and report a commit status."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from float_hooks import config as float_config
from float_hooks.errors import ConfigError, LockedDatabase, quoted
from float_hooks.map import build
from float_hooks.project import Project
from float_hooks.regen import job_queue, run
from float_hooks.regen.env import scrubbed
from float_hooks.repo.git import Git
from float_hooks.repo.snapshot import Target
from float_hooks.store.db import Store
from float_hooks.store.folder_context import status_counts
from float_hooks.triggers import after_sync
from webhook.events import publish
from webhook.queues.sqlite_queue import Delivery
from webhook.settings import Settings
from webhook.storage import mirror
from webhook.storage.maps import map_path
from webhook.work import commit_status

log = logging.getLogger("webhook")

BRANCH_KEY = "webhook_branch"  # meta: the branch this repository's map follows
LIST_LIMIT = 50  # paths listed per kind in a delivery's result (counts are always complete)
CONTEXT_EVENTS = 200  # folders announced one by one per delivery (event_log.py)


class Retry(Exception):
    """A failure worth trying again later (network, a locked DB)."""


class MirrorProject(Project):
    """A project on the server's bare mirror. Settings come from the pushed commit's
    ``.float/config.toml`` (a bare repository has no work tree to read it from), except that
    the server, not the repository, decides what happens after a sync: a repository's own
    command or HTTP regenerator runs only when the operator trusts repository configs, since
    anyone who can push could otherwise run commands on the server or read its secrets."""

    def __init__(self, git: Git, db_path: Path, rev: str, settings: Settings):
        super().__init__(git, db_path=db_path)
        self.rev = rev
        self.settings = settings
        self.notes: list[str] = []

    @property
    def config(self) -> dict[str, dict[str, Any]]:
        if self._config is None:
            merged = float_config.load(None)
            limit = float_config.MAX_BYTES  # pushed: anyone's
            text = self.git.read_blob_head(f"{self.rev}:.float/config.toml", limit + 1)
            if len(text) > limit:
                raise ConfigError(f"{self.rev[:12]}:.float/config.toml: larger than"
                                  f" {limit // 1024} KiB")
            if text:
                merged = float_config.merge(merged, text.decode("utf-8", "replace"),
                                            f"{self.rev[:12]}:.float/config.toml")
            # the server's FLOAT_ON_PUSH decides; never start a detached background worker
            merged["trigger"]["on_commit"] = "off" if self.settings.on_push == "off" else "queue"
            self._config = merged
        return self._config

    def may_regenerate(self) -> bool:
        kind = self.config["regenerate"]["kind"]
        if kind == "builtin" or self.settings.trust_repo_config:
            return True
        self.notes.append(f"regenerator kind {quoted(kind)} not run: set FLOAT_TRUST_REPO_CONFIG=1 "
                          "to let repository configs choose commands or endpoints")
        return False


def skip_reason(settings: Settings, d: Delivery) -> str | None:
    """Why ``d`` needs no work (it ends ``ignored``), or None when it is to be applied."""
    tracked = settings.branch or d.default_branch
    if d.kind == "push":
        if not tracked or d.ref != f"refs/heads/{tracked}":
            return f"{d.ref} is not the tracked branch ({tracked})"
        if d.deleted:
            return "the tracked branch was deleted; map left as it was"
    return None


def process(settings: Settings, d: Delivery) -> tuple[str, dict[str, Any]]:
    """Apply one delivery; returns (final state, result). Raises Retry for transient errors."""
    tracked = settings.branch or d.default_branch
    skip = skip_reason(settings, d)
    if skip is not None:
        return "ignored", {"reason": skip}
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    try:
        path = mirror.update(settings.data_dir, settings.git_url_template, d.full_name,
                             d.default_branch, tracked if d.kind == "push" else None)
    except mirror.MirrorError as e:
        raise Retry(str(e)) from e
    timings["fetch"] = time.perf_counter() - t0
    git = Git(path, None)
    db_path = map_path(settings.data_dir, d.full_name)
    rev, full, branch = _target(git, db_path, d, tracked)
    if rev is None:
        return "ignored", {"reason": f"branch {branch} does not exist in the mirror"}
    project = MirrorProject(git, db_path, rev, settings)

    try:
        store = project.open_store()
    except LockedDatabase as e:
        raise Retry(str(e)) from e
    try:
        t0 = time.perf_counter()
        # a new map is built with the pushed commit's export; a built one first imports what
        # the push changed in it (build.sync)
        result = build.sync(project, store, Target("commit", rev), full=full)
        store.set_meta(BRANCH_KEY, branch)
        timings["sync"] = time.perf_counter() - t0
        out: dict[str, Any] = {"sync": _summary(result.as_json())}
        if d.kind == "push" and d.after and d.after != rev:
            # a newer push got there first (or this one arrived late): the tip was synced
            out["synced_tip"] = {"pushed": d.after, "tip": rev}
        t0 = time.perf_counter()
        if settings.on_push != "off":
            after_sync.after_sync(project, store, result, "push")
        regenerates = settings.on_push == "regenerate" and project.may_regenerate()
        if regenerates and settings.regen_remote \
                and project.config["regenerate"]["kind"] != "builtin":
            # PostgreSQL mode: regeneration workers answer (pg_sync hands the requests out)
            out["regenerate"] = {"remote": True}
        elif regenerates:
            # a repository's regenerator sees the basics and the keys the operator named,
            # never the server's secrets (regen_env)
            regen = run.regenerator(project, scrubbed(os.environ, settings.regen_env))
            # this delivery's claim makes this process the only one working on the
            # repository's map: a job still running was left by a job process that died
            with store.write() as conn:
                job_queue.expire_leases(conn)
            out["regenerate"] = _jsonable(run.run_jobs(project, store, regen=regen))
        timings["after_sync"] = time.perf_counter() - t0
        counts = status_counts(store)
        out["status"] = counts
        out["timings"] = {k: round(v, 4) for k, v in timings.items()}
        if not settings.regen_remote:
            # with PostgreSQL this process has no database URL: the sync worker emits the
            # events from this result (pg_sync)
            emit_events(settings, d, out)
    except LockedDatabase as e:
        raise Retry(str(e)) from e
    finally:
        store.close()
    if project.notes:
        out["notes"] = project.notes
    return "done", out


def emit_events(settings: Settings, d: Delivery, out: dict[str, Any]) -> None:
    """The ``sync`` event of a done delivery's result (``out``, process()'s), then a
    ``context`` event per folder whose context was written (the first CONTEXT_EVENTS of them;
    one more event counts the rest)."""
    sync = out.get("sync") or {}
    counts = out.get("status") or {}

    def capped(key: str) -> dict[str, Any]:  # the result lists LIST_LIMIT paths and a count
        paths = list(sync.get(key) or [])
        return {"paths": paths, "count": int(sync.get(f"{key}_count", len(paths)))}

    publish.emit(settings, d.repo, "sync", {
        "delivery": d.delivery, "head": sync.get("head"), "mode": sync.get("mode"),
        "files_changed": sync.get("files_changed"), "counts": {
            k: counts.get(k) for k in ("files", "folders", "pending", "current", "stale")},
        "stale": capped("became_stale"), "current": capped("became_current")})
    emit_context_events(settings, d.repo, d.delivery,
                        list((out.get("regenerate") or {}).get("done") or []))


def emit_context_events(settings: Settings, repo: str, delivery: str | None,
                        written: list[str]) -> None:
    """A ``context`` event per folder written (the first CONTEXT_EVENTS; one more counts the
    rest)."""
    for path in written[:CONTEXT_EVENTS]:
        publish.emit(settings, repo, "context", {"delivery": delivery, "path": path,
                                                "status": "current"})
    if len(written) > CONTEXT_EVENTS:
        publish.emit(settings, repo, "context", {"delivery": delivery, "path": None,
                                                "more": len(written) - CONTEXT_EVENTS})


def report_status(settings: Settings, d: Delivery, out: dict[str, Any]) -> None:
    """Post the commit status for a done delivery's synced commit (``out`` is process()'s
    result; the report is added to it). Called by the worker, not in the delivery's own
    process, which never sees FLOAT_GITHUB_TOKEN."""
    head = (out.get("sync") or {}).get("head")
    counts = out.get("status")
    if not settings.github_token or not isinstance(head, str) or not isinstance(counts, dict):
        return
    out["commit_status"] = commit_status.report(settings.github_api_url, settings.github_token,
                                         d.full_name, head, counts)
    if not out["commit_status"]["sent"]:
        log.warning("commit status for %s not sent: %s", d.full_name,
                    out["commit_status"].get("error"))


def _target(git: Git, db_path: Path, d: Delivery,
            tracked: str | None) -> tuple[str | None, bool, str | None]:
    """(commit to sync to, full rebuild?, the branch it is on).

    Always the tracked branch's tip as just fetched, never the commit the delivery names:
    deliveries can arrive late or out of order (an operator redelivers an old push by hand;
    GitHub retries), and syncing to an older push's ``after`` would rewind the map. The tip is
    what the branch holds now; a forced push that moved it back is followed too, because the
    tip is the truth either way."""
    if d.kind == "push":
        rev = git.resolve_commit(f"refs/heads/{tracked}") if tracked else None
        # a (re)created branch shares no history we can trust with what was synced: rebuild
        return rev, d.created, tracked
    # a resync: the configured branch, else the one the map followed, else the origin's default
    branch = tracked or _stored_branch(db_path) or mirror.head_branch(git.git_dir)
    if not branch:
        return None, True, None
    return git.resolve_commit(f"refs/heads/{branch}"), True, branch


def _stored_branch(db_path: Path) -> str | None:
    if not db_path.exists():
        return None

    store = Store.open(db_path)
    try:
        return store.get_meta(BRANCH_KEY)
    finally:
        store.close()


def _summary(sync_json: dict[str, Any]) -> dict[str, Any]:
    """Counts for every list, and the first paths of each (a first sync lists every folder)."""
    out: dict[str, Any] = {}
    for key, value in sync_json.items():
        if isinstance(value, list):
            out[key] = value[:LIST_LIMIT]
            out[f"{key}_count"] = len(value)
        else:
            out[key] = value
    return out


def _jsonable(value: Any) -> Any:
    if hasattr(value, "as_json"):
        return value.as_json()
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    return value
