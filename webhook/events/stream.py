"""Server-Sent Events: ``GET /repos/<owner>/<repo>/events`` (one repository) and
``GET /dashboard/events`` (all of them, for the dashboard's page script).

Each event is ``id: N``, ``event: <kind>`` and one ``data:`` line holding the event as JSON
(``{"id", "repo", "kind", "data", "at"}``, the lines ``float-hooks watch --events`` prints).
A client that reconnects with ``Last-Event-ID`` (browsers' EventSource does it by itself; or
``?after=N``) gets what it missed, as far back as the log keeps (event_log.KEEP); if the log
has dropped some of it since, an ``event: gap`` comes first (reload: events were missed). A new
stream starts at the newest event. A comment line every KEEPALIVE_SECONDS keeps proxies from closing
an idle stream and finds clients that went away.

A stream holds one of the server's threads for as long as it is open, so streams are bounded:
at most ``FLOAT_MAX_STREAMS`` per process at once (more get 503 with Retry-After), each lives
at most ``FLOAT_STREAM_SECONDS`` (then the client reconnects where it left off), and a stream
ends within WAKE_SECONDS of its worker process shutting down. With docs/server.md's gunicorn
command (32 threads per process, 24 streams at most) eight threads per process always remain
for GitHub's deliveries and the API.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, current_app, g, request
from werkzeug.exceptions import BadRequest, Forbidden, ServiceUnavailable, Unauthorized
from werkzeug.wrappers import Response as BaseResponse

from webhook.access.grants import Grant, presented
from webhook.access.token_store import grant_for
from webhook.events import event_log, publish
from webhook.intake.github import http_error
from webhook.names import InvalidName, check, repo_key
from webhook.settings import Settings

bp = Blueprint("stream", __name__)

KEEPALIVE_SECONDS = 15.0
WAKE_SECONDS = 1.0
RETRY_MS = 3000  # how long a browser waits before it reconnects
BATCH = 100
_EVENT_ID = re.compile(r"[0-9]{1,18}")


def settings() -> Settings:
    value: Settings = current_app.extensions["float_settings"]
    return value


def signed_in(basic: bool = True) -> Grant | None:
    """The grant of the request's ``Authorization`` (a Bearer token, or with ``basic`` HTTP
    Basic with the token as the password: what browsers send by themselves); None: a 401.
    Kept in ``flask.g.float_grant`` for the request's later checks."""
    s = settings()
    grant = grant_for(presented(request.headers.get("Authorization", ""), basic),
                      s.api_token, s.data_dir, s.database_url)
    g.float_grant = grant
    return grant


def require(repo: str, role: str) -> None:
    """403 unless the request's grant (signed_in) allows ``role`` on ``repo`` (a key)."""
    grant: Grant | None = g.get("float_grant")
    why = "not signed in" if grant is None else grant.refusal(repo, role)
    if why is not None:
        raise Forbidden(why)


def challenge(basic: bool) -> BaseResponse:
    """401 with the scheme a client should answer (Basic makes a browser ask for it)."""
    response = http_error(Unauthorized("missing or wrong Authorization (Bearer token, or Basic"
                                       " with the API token as the password)"))
    response.headers["WWW-Authenticate"] = (
        'Basic realm="float-hooks", charset="UTF-8"' if basic else 'Bearer realm="float-hooks"')
    return response


def repository(owner: str, repo: str) -> str:
    """The validated, allowed ``owner/name`` (400, 403 otherwise)."""
    try:
        check(owner, repo)
    except InvalidName as e:
        raise BadRequest(str(e)) from e
    full_name = f"{owner}/{repo}"
    if not settings().allowed(full_name):
        raise Forbidden(f"{full_name} is not in FLOAT_REPOS")
    return full_name


_slots: dict[int, threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


def _slot(limit: int) -> threading.BoundedSemaphore:
    with _slots_lock:  # per process: a forked worker starts with all its slots free
        sem = _slots.get(os.getpid())
        if sem is None:
            sem = _slots[os.getpid()] = threading.BoundedSemaphore(max(limit, 1))
        return sem


def _start_after() -> int | None:
    """The id the client saw last (``Last-Event-ID`` or ``?after=``), or None (a new one)."""
    value = request.headers.get("Last-Event-ID") or request.args.get("after")
    if value is None or value == "":
        return None
    if not _EVENT_ID.fullmatch(value.strip()):
        raise BadRequest("Last-Event-ID (or after=) must be an event id: digits")
    return int(value.strip())


def format_event(event: event_log.Event) -> bytes:
    body = json.dumps(event.as_json(), separators=(",", ":"))  # one line: JSON escapes \n
    return f"id: {event.id}\nevent: {event.kind}\ndata: {body}\n\n".encode()


def gap_event(repo: str | None, after: int, trimmed: int) -> bytes:
    """Told first to a client resuming after an id the bounded backlog has since dropped
    events above: what it holds may be stale, so it should reload (the dashboard does)."""
    body = json.dumps({"repo": repo, "kind": "gap", "after": after, "missed_through": trimmed,
                       "at": event_log.now()}, separators=(",", ":"))
    return f"event: gap\ndata: {body}\n\n".encode()


class EventStream:
    """The response body: a WSGI iterable whose ``close()`` (called by the server when the
    response ends, however it ends) gives its slot back."""

    def __init__(self, log: event_log.EventLog, repo: str | None, after: int | None,
                 lifetime: float, slot: threading.BoundedSemaphore,
                 grant: Grant | None = None):
        self.log = log
        self.repo = repo
        self.grant = grant  # with repo None: only the repositories it covers are told
        self.after = after
        self.lifetime = lifetime
        self.slot: threading.BoundedSemaphore | None = slot

    def __iter__(self) -> Iterator[bytes]:
        cursor = self.log.latest() if self.after is None else self.after
        # the id a browser resumes from even if nothing happens before it reconnects
        yield f"retry: {RETRY_MS}\nid: {cursor}\n\n".encode()
        resumed = self.after is not None
        end = time.monotonic() + self.lifetime
        last_write = time.monotonic()
        while True:
            now = time.monotonic()
            if now >= end or not threading.main_thread().is_alive():
                return  # lifetime over, or this worker process is shutting down
            top = self.log.latest()  # before since(): nothing after it can be missed
            batch = self.log.since(self.repo, cursor, BATCH)
            if resumed:  # the mark read after the first read: a trim in between shows too
                resumed = False
                if (trimmed := self.log.trimmed_through(self.repo)) > cursor:
                    yield gap_event(self.repo, cursor, trimmed)
            if batch:
                cursor = batch[-1].id
                shown = [e for e in batch if self.grant is None or self.grant.covers(e.repo)]
                if shown:
                    last_write = now
                    yield b"".join(format_event(e) for e in shown)
                continue
            idle = now - last_write
            if idle >= KEEPALIVE_SECONDS:
                last_write = now
                yield b": keep-alive\n\n"
                continue
            self.log.wait(top, min(WAKE_SECONDS, end - now, KEEPALIVE_SECONDS - idle))

    def close(self) -> None:
        if self.slot is not None:
            self.slot.release()
            self.slot = None


def open_stream(repo: str | None, grant: Grant | None = None) -> BaseResponse:
    s = settings()
    after = _start_after()
    slot = _slot(s.max_streams)
    if s.max_streams == 0 or not slot.acquire(blocking=False):
        response = http_error(ServiceUnavailable(
            "too many event streams open on this server process; try again shortly"))
        response.headers["Retry-After"] = "5"
        return response
    try:
        body = EventStream(publish.shared(s), repo, after, s.stream_seconds, slot,
                           None if grant is None or grant.everywhere else grant)
    except BaseException:
        slot.release()
        raise
    return Response(body, 200, headers={
        "Content-Type": "text/event-stream; charset=utf-8",
        "Cache-Control": "no-store",
        "X-Accel-Buffering": "no",  # nginx: pass each event on at once
    })


@bp.get("/repos/<owner>/<repo>/events")
def repo_events(owner: str, repo: str) -> Any:
    if signed_in() is None:
        return challenge(basic=False)
    key = repo_key(repository(owner, repo))
    require(key, "read")
    return open_stream(key)


@bp.get("/dashboard/events")
def all_events() -> Any:
    grant = signed_in()
    if grant is None:
        return challenge(basic=True)
    return open_stream(None, grant)  # a scoped token hears its repositories only
