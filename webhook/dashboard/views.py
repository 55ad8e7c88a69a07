"""The operators' dashboard: ``GET /dashboard`` (every repository: head, counts, stale folders
and why, last deliveries, the regeneration queue) and ``GET /dashboard/<owner>/<repo>`` (the
folder tree with each folder's context and status).

Pages are rendered on the server (they work without JavaScript) from Jinja templates, which
escape every value: folder names, context text and error messages come from whoever can push.
A small script served from the package (static/dashboard.js, no build step, nothing from the
internet) follows ``/dashboard/events`` and re-renders the page's main part when something
happens. Protected like the read API: HTTP Basic with a token as the password (any user
name; what a browser can send by itself), or the bearer header; 401 with a Basic challenge
otherwise. A token scoped to repositories (webhook/access) sees only those: the overview
lists them alone, another's page is a 403. A Content-Security-Policy allows only the
server's own script and style.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from flask import Blueprint, Response, abort, g, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from webhook.dashboard import sqlite_data
from webhook.dashboard.shape import DELIVERY_STATES, MAP_STATES, BadFilter, Filter
from webhook.events.stream import challenge, repository, require, settings, signed_in
from webhook.names import repo_key

bp = Blueprint("dashboard", __name__, template_folder="templates", static_folder="static",
               static_url_path="/dashboard/static")

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self';"
       " img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


@bp.before_request
def _auth() -> BaseResponse | None:
    if request.endpoint == "dashboard.static":
        return None  # the script and style sheet hold nothing secret
    if signed_in(basic=True) is None:
        return challenge(basic=True)
    args = request.view_args or {}
    if "owner" in args and "repo" in args:
        require(repo_key(repository(args["owner"], args["repo"])), "read")
    return None


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    if request.endpoint != "dashboard.static":
        response.headers["Cache-Control"] = "no-store"
    return response


def _page(template: str, **values: Any) -> Response:
    html = render_template(template, generated=sqlite_data.generated(), **values)
    return Response(html, 200, mimetype="text/html")


def _source() -> tuple[Any, Any]:
    """The module that reads what the pages show, and what it reads: the data directory, or
    with FLOAT_DATABASE_URL the shared PostgreSQL (every web host shows the same)."""
    if settings().database_url is None:
        return sqlite_data, settings().data_dir
    from webhook.dashboard import pg_data  # lazy: the [postgres] extra
    from webhook.queues.pg_queue import intake  # lazy: the [postgres] extra

    return pg_data, intake(settings()).ctx.store


@bp.get("/dashboard")
def overview() -> Response:
    """Every repository, or those the query string's filter matches (``?repo=`` part of a
    name, ``?state=`` a delivery or map state): a page without JavaScript, and a link.
    Repositories that never fetched leave it FLOAT_DASHBOARD_UNFETCHED_DAYS after their last
    delivery (only the overview: nothing is deleted, their pages still answer)."""
    try:
        filt = Filter.parse(request.args)
    except BadFilter as e:
        abort(400, str(e))
    read, source = _source()
    since = time.time() - settings().dashboard_unfetched_seconds
    grant = g.float_grant
    filt = dataclasses.replace(filt, scope=grant.scope)  # applied before the page's limit
    repos = [r for r in read.overview(source, filt, since) if grant.covers(r["key"])]
    return _page("overview.html", repos=repos, filt=filt, cap=sqlite_data.MAX_REPOS,
                 delivery_states=DELIVERY_STATES, map_states=MAP_STATES,
                 aged_out=read.aged_out(source, since, filt),
                 unfetched_days=settings().dashboard_unfetched_seconds / 86400)


@bp.get("/dashboard/<owner>/<repo>")
def repository_page(owner: str, repo: str) -> Response:
    full_name = repository(owner, repo)
    read, source = _source()
    found = read.find(source, repo_key(full_name))
    if found is None:
        abort(404, f"{full_name}: no delivery received for it yet")
    info = read.summary(source, found, deliveries_limit=sqlite_data.DELIVERIES_REPO)
    folders, total = read.tree(source, found["full_name"])
    return _page("repository.html", repo=info, folders=folders, folder_total=total,
                 folder_cap=sqlite_data.MAX_FOLDERS)
