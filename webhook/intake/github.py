"""``POST /webhook``: verify, record, queue, answer. No git work happens in the request.

Checks, in order, each answered before anything is written: body size (413), signature over
the raw body (401), event and delivery headers (400), payload decoding (400), repository name
(400), allowlist (403). Only then is a push recorded.

The endpoint is a plain WSGI handler in front of the Flask app (``create_app`` wraps
``app.wsgi_app`` with it, Flask's documented place for middleware): GitHub sends bursts, and
Flask's per-request machinery (contexts, session, signals, routing) was more than half of an
acknowledgement's CPU, werkzeug's request and response objects a third of the rest. So the
body and headers are read from the WSGI environ (PEP 3333) and the answers written directly;
errors are werkzeug's HTTP exceptions, as JSON. Everything else (the read API) is Flask's.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from werkzeug.exceptions import (
    BadRequest,
    Forbidden,
    HTTPException,
    MethodNotAllowed,
    RequestEntityTooLarge,
    Unauthorized,
)
from werkzeug.wrappers import Response

from webhook.events import publish
from webhook.intake.push_fields import push_fields
from webhook.names import InvalidName, repo_key, split, valid_branch, valid_refname
from webhook.queues.intake import open_intake
from webhook.settings import Settings

if TYPE_CHECKING:
    from webhook.worker import Worker

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

PATH = "/webhook"
MAX_BODY = 25 * 1024 * 1024  # GitHub caps payloads at 25 MB
log = logging.getLogger("webhook")

_DELIVERY = re.compile(r"[A-Za-z0-9-]{1,100}")
_EVENT = re.compile(r"[a-z_]{1,64}")
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_LENGTH = re.compile(r"[0-9]{1,12}")  # ASCII digits only (str.isdigit takes "²")
_STATUS = {200: "200 OK", 202: "202 Accepted", 204: "204 No Content"}


def signature(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify(secret: bytes, body: bytes, header: str | None) -> bool:
    if not header:
        return False
    # compare_digest on bytes: constant time, and no error for non-ASCII input
    return hmac.compare_digest(signature(secret, body).encode(), header.encode("utf-8", "replace"))


def _payload(body: bytes, content_type: str) -> dict[str, Any]:
    if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        try:
            form = parse_qs(body.decode("utf-8"), strict_parsing=True, max_num_fields=10)
        except (UnicodeDecodeError, ValueError) as e:
            raise BadRequest("malformed form body") from e
        values = form.get("payload")
        if not values or len(values) != 1:
            raise BadRequest("form body without exactly one payload= field")
        text = values[0]
    else:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as e:
            raise BadRequest("body is not UTF-8") from e
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as e:
        # ValueError: JSONDecodeError, and an integer past Python's 4300-digit limit
        raise BadRequest("malformed JSON payload") from e
    if not isinstance(data, dict):
        raise BadRequest("payload is not a JSON object")
    return data


def _utf8(value: object) -> bool:
    """A str that encodes to UTF-8 (JSON's \\ud800 escape gives a lone surrogate, which
    neither SQLite nor an answer could hold)."""
    if not isinstance(value, str):
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise BadRequest(f"{key} must be a string")
    return value


def read_body(environ: dict[str, Any], limit: int = MAX_BODY) -> bytes:
    """The request body, at most ``limit`` bytes (413 above, before reading it all; 400 for
    an invalid Content-Length)."""
    stream = environ["wsgi.input"]
    length = (environ.get("CONTENT_LENGTH") or "").strip(" \t")
    if length:
        if not _LENGTH.fullmatch(length):
            raise BadRequest("invalid Content-Length")
        size = int(length)
        if size > limit:
            raise RequestEntityTooLarge()
    elif environ.get("wsgi.input_terminated"):  # chunked: the server ends the stream
        size = limit + 1
    else:
        return b""  # no length and no end: PEP 3333 says read nothing
    parts = []
    while size > 0:
        part = stream.read(size)
        if not part:
            break
        parts.append(part)
        size -= len(part)
    body = b"".join(parts)
    if len(body) > limit:
        raise RequestEntityTooLarge()
    return body


class Endpoint:
    """``POST /webhook`` in front of ``app`` (every other request goes to ``app``)."""

    def __init__(self, settings: Settings, worker: Worker, app: WSGIApp):
        self.settings = settings
        self.worker = worker
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        if self.settings.worker == "thread":
            self.worker.start()  # no-op unless this process was forked after create_app
        if environ.get("PATH_INFO") != PATH:
            return self.app(environ, start_response)
        with self.worker.answering():
            try:
                if environ.get("REQUEST_METHOD") != "POST":
                    raise MethodNotAllowed(["POST"])
                code, answer = self.receive(environ)
            except HTTPException as e:
                return http_error(e)(environ, start_response)
            except Exception:
                return internal_error()(environ, start_response)
        # the answers to GitHub are written here, not through werkzeug's Response (see the
        # module docstring)
        if answer is None:  # 204: no body, and no Content-Length (RFC 9110, 8.6)
            start_response(_STATUS[code], [])
            return [b""]
        out = json.dumps(answer, allow_nan=False).encode()
        start_response(_STATUS[code], [("Content-Type", "application/json"),
                                       ("Content-Length", str(len(out)))])
        return [out]

    def receive(self, environ: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        """The answer to one delivery: (status, JSON body or None); errors are raised."""
        settings = self.settings
        body = read_body(environ)  # raw bytes: the signature covers exactly these
        if settings.secret is not None and not verify(
                settings.secret, body, environ.get("HTTP_X_HUB_SIGNATURE_256")):
            raise Unauthorized("missing or wrong X-Hub-Signature-256")
        event = environ.get("HTTP_X_GITHUB_EVENT", "")
        delivery = environ.get("HTTP_X_GITHUB_DELIVERY", "")
        if not _EVENT.fullmatch(event) or not _DELIVERY.fullmatch(delivery):
            raise BadRequest("missing or invalid X-GitHub-Event / X-GitHub-Delivery header")
        data = _payload(body, environ.get("CONTENT_TYPE", ""))
        if event == "ping":
            zen = data.get("zen")
            return 200, {"status": "pong", "zen": zen if _utf8(zen) else None}
        if event != "push":
            return 204, None
        repository = data.get("repository")
        if not isinstance(repository, dict):
            raise BadRequest("push without a repository object")
        full_name = repository.get("full_name")
        try:
            owner, name = split(full_name)
        except InvalidName as e:
            raise BadRequest(str(e)) from e
        full_name = f"{owner}/{name}"
        if not settings.allowed(full_name):
            raise Forbidden(f"{full_name} is not in FLOAT_REPOS")
        ref = _str(data, "ref")
        before, after = _str(data, "before"), _str(data, "after")
        if ref is None or not ref.startswith("refs/") or not valid_refname(ref):
            raise BadRequest("push without a valid ref")
        for sha in (before, after):
            if sha is not None and not _SHA.fullmatch(sha):
                raise BadRequest("before/after must be commit ids")
        default_branch = repository.get("default_branch")
        if not valid_branch(default_branch):
            default_branch = None  # then no push can match it: all are recorded as ignored
        commits = data.get("commits")
        # a push to a branch the map does not follow needs no work: settle it now
        tracked = settings.branch or default_branch
        ignored = None if ref == f"refs/heads/{tracked}" else (
            f"{ref} is not the tracked branch ({tracked})")
        fresh = open_intake(settings).record(
            delivery, "push", repo_key(full_name), full_name, ref=ref, before=before,
            after=after, default_branch=default_branch, created=data.get("created") is True,
            deleted=data.get("deleted") is True, forced=data.get("forced") is True,
            commits=len(commits) if isinstance(commits, list) else 0, ignored=ignored,
            **push_fields(data, full_name, settings.github_api_url),
            then=lambda: publish.emit(settings, repo_key(full_name), "delivery", {
                "delivery": delivery, "state": "ignored" if ignored else "received",
                "kind": "push", "ref": ref, "after": after,
                **({"reason": ignored} if ignored else {})}))
        if not fresh:
            return 200, {"status": "duplicate", "delivery": delivery}
        if ignored:
            return 202, {"status": "ignored", "delivery": delivery, "repository": full_name,
                         "reason": ignored}
        self.worker.notify()
        return 202, {"status": "queued", "delivery": delivery, "repository": full_name}


def http_error(e: HTTPException) -> Response:
    """Every error the server answers, as JSON: ``{"error", "message"}`` (with the
    exception's own headers, e.g. 405's Allow)."""
    response = _json(e.code or 500, error=e.name, message=e.description)
    for name, value in e.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def internal_error() -> Response:
    log.exception("unhandled error")
    return _json(500, error="Internal Server Error", message="the server failed; see its log")


def _json(code: int, **body: Any) -> Response:
    # json.dumps straight into a Response: jsonify's provider machinery is a measurable
    # share of this hot path's CPU, and these bodies are flat dicts of strings
    return Response(json.dumps(body), code, mimetype="application/json")
