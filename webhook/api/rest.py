"""The read API for agents and dashboards (and a manual resync), behind a bearer token.

``GET /health`` is open; everything under ``/repos/<owner>/<repo>/`` needs
``Authorization: Bearer <token>`` and answers 401 without it (or when no token is configured:
an API without a token would publish every repository's map). The token is
``FLOAT_API_TOKEN`` (everything) or one made by ``python -m webhook.tokens`` (webhook/access):
reads need the ``read`` role on the repository, the resync ``admin`` (403 otherwise).
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import (
    BadRequest,
    NotFound,
    ServiceUnavailable,
    Unauthorized,
)

from float_hooks import paths
from float_hooks.errors import LockedDatabase, NoDatabase
from float_hooks.errors import NotFound as FolderNotFound
from float_hooks.reads.show import LIMIT, MAX_LIMIT, folder_document
from float_hooks.reads.stale import stale_list
from float_hooks.store.folder_context import status_counts
from webhook.events import publish
from webhook.events.stream import repository, require, signed_in
from webhook.intake.github import http_error
from webhook.names import repo_key
from webhook.queues import health as queue_health
from webhook.queues.row_view import shown
from webhook.queues.sqlite_queue import Queue
from webhook.settings import Settings
from webhook.storage.maps import map_path, open_map
from webhook.work.pipeline import BRANCH_KEY

bp = Blueprint("api", __name__)
READ_TIMEOUT = 10.0  # seconds a read waits for a write to the map (a first build takes a few)


@bp.errorhandler(LockedDatabase)
def _busy(e: LockedDatabase) -> Any:
    # a new map is built under a rollback journal, which keeps readers out until it is done
    response = http_error(ServiceUnavailable("the map is being written; try again shortly"))
    response.headers["Retry-After"] = "5"
    return response


def _settings() -> Settings:
    settings: Settings = current_app.extensions["float_settings"]
    return settings


@bp.get("/health")
def health() -> Any:
    """``ok`` or ``degraded`` (queues/health.py says when), answered 200 either way: the
    server still records every delivery, and a load balancer that took it out of rotation
    would turn them away (GitHub does not redeliver on its own). ``?strict=1`` answers 503
    when degraded, for monitors that read only the status code. Repository names and errors
    only with a token, and only those it covers."""
    settings = _settings()
    if settings.database_url:
        store = _pg()
        pending = store.pending()
        open_rows, recent = store.health_rows(queue_health.OPEN_LIMIT, queue_health.RECENT)
    else:
        q = Queue(settings.data_dir, create=False)
        try:
            pending = q.pending()
            open_rows, recent = q.health_rows(queue_health.OPEN_LIMIT, queue_health.RECENT)
        finally:
            q.close()
    report = queue_health.assess(open_rows, recent, settings.health_max_wait_seconds)
    listed = report.pop("repositories")
    grant = signed_in(basic=False)
    if grant is not None:  # a scoped token sees its own repositories' problems only
        report["repositories"] = [r for r in listed if grant.covers(repo_key(r["repository"]))]
    code = 503 if report["status"] != "ok" and request.args.get("strict") == "1" else 200
    return jsonify(queued=pending, **report), code


# what each endpoint needs of the token on its repository (the rest: read)
ROLE_NEEDED = {"api.resync": "admin"}  # a fetch and a full rebuild: an operator's repair


@bp.before_request
def _auth() -> None:
    if request.endpoint in ("api.health",):
        return
    if signed_in(basic=False) is None:
        raise Unauthorized("missing or wrong Authorization: Bearer token")
    args = request.view_args or {}
    if "owner" in args and "repo" in args:
        full_name = repository(args["owner"], args["repo"])  # 400 or 403 first
        require(repo_key(full_name), ROLE_NEEDED.get(request.endpoint or "", "read"))


def _pg() -> Any:
    """PostgreSQL mode: the read model every sync publishes (pg_store), the same on every
    web host."""
    from webhook.queues.pg_queue import intake  # lazy: the [postgres] extra

    return intake(_settings()).ctx.store


def _published(full_name: str) -> dict[str, Any]:
    info = _pg().repo(repo_key(full_name))
    if info is None or info["counts"] is None:
        raise NotFound(f"{full_name}: no map yet (no push to its tracked branch received)")
    return dict(info)


def _open(full_name: str) -> Any:
    try:
        return open_map(map_path(_settings().data_dir, full_name), READ_TIMEOUT)
    except NoDatabase as e:
        raise NotFound(f"{full_name}: {e}") from None


@bp.get("/repos/<owner>/<repo>/status")
def status(owner: str, repo: str) -> Any:
    full_name = repository(owner, repo)

    if _settings().database_url:
        info = _published(full_name)
        counts = dict(info["counts"])
        counts["branch"] = info["branch"]
        counts["queued_deliveries"] = _pg().pending(repo_key(full_name))
        counts["repository"] = full_name
        return jsonify(counts)
    store = _open(full_name)
    try:
        counts = status_counts(store)
        counts["branch"] = store.get_meta(BRANCH_KEY)
    finally:
        store.close()
    q = Queue(_settings().data_dir, create=False)
    try:
        counts["queued_deliveries"] = q.pending(repo_key(full_name))
    finally:
        q.close()
    counts["repository"] = full_name
    return jsonify(counts)


@bp.get("/repos/<owner>/<repo>/stale")
def stale(owner: str, repo: str) -> Any:
    full_name = repository(owner, repo)

    if _settings().database_url:
        return jsonify(_published(full_name)["stale"])
    store = _open(full_name)
    try:
        return jsonify(stale_list(store.conn))
    finally:
        store.close()


@bp.get("/repos/<owner>/<repo>/folders/")
@bp.get("/repos/<owner>/<repo>/folders/<path:folder>")
def folder(owner: str, repo: str, folder: str = "") -> Any:
    full_name = repository(owner, repo)

    try:
        path = paths.whole(folder)
    except ValueError as e:
        raise BadRequest(str(e)) from e
    if _settings().database_url:
        _published(full_name)
        doc = _pg().folder(repo_key(full_name), path)
        if doc is None:
            raise NotFound(f"no folder {path}")
        return jsonify(doc)
    limit = max(1, min(request.args.get("limit", LIMIT, type=int), MAX_LIMIT))
    offset = max(0, request.args.get("offset", 0, type=int))
    store = _open(full_name)
    try:  # the same document as `float-hooks show --json`, paged as it is
        return jsonify(folder_document(store.conn, path, limit, offset))
    except FolderNotFound as e:
        raise NotFound(str(e)) from e
    finally:
        store.close()


@bp.get("/repos/<owner>/<repo>/deliveries")
def deliveries(owner: str, repo: str) -> Any:
    full_name = repository(owner, repo)
    if _settings().database_url:
        return jsonify([shown(r) for r in _pg().rows(repo_key(full_name), limit=100)])
    q = Queue(_settings().data_dir, create=False)
    try:
        return jsonify([shown(r) for r in q.rows(repo_key(full_name), limit=100)])
    finally:
        q.close()


@bp.post("/repos/<owner>/<repo>/sync")
def resync(owner: str, repo: str) -> Any:
    """Queue a full rebuild from the tracked branch's tip (after fetching the mirror)."""
    full_name = repository(owner, repo)
    settings = _settings()
    delivery = f"resync-{uuid.uuid4()}"
    def received() -> None:  # before any worker can be handed it (intake.Intake)
        publish.emit(settings, repo_key(full_name), "delivery",
                     {"delivery": delivery, "state": "received", "kind": "resync"})

    if settings.database_url:
        from webhook.queues.pg_queue import intake  # lazy: the [postgres] extra

        intake(settings).record(delivery, "resync", repo_key(full_name), full_name,
                                then=received)
    else:
        q = Queue(settings.data_dir, create=False)
        try:
            q.record(delivery, "resync", repo_key(full_name), full_name, then=received)
        finally:
            q.close()
        current_app.extensions["float_worker"].notify()
    return jsonify(status="queued", delivery=delivery, repository=full_name), 202
