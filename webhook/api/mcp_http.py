"""The agents' tools over MCP's streamable HTTP transport, on the webhook server: ``/mcp``
(the repository as a tool argument, ``repository: "owner/name"``) or ``/mcp/<owner>/<repo>``.

Same tools and shapes as `float-hooks mcp` (float_hooks/agents/tools.py), on the server's maps
(one per repository, kept at the pushed commits). Behind ``Authorization: Bearer <token>``
(401 without it, as the read API), repository names validated before they touch a path (400)
and checked against ``FLOAT_REPOS`` (403). A token scoped to repositories (webhook/access) gets
403 for a URL naming another; a tool call needs the ``read`` role on its repository, or
``write`` for a tool that writes, else it is answered with an error and nothing is done.

The SDK's transport is an ASGI app and the server is WSGI (Flask under gunicorn), so each
process runs one asyncio loop in a thread for it, started on the first ``/mcp`` request (after
gunicorn's fork): a request's body is handed to the SDK's handler there and its answer
returned. Stateless JSON mode: every POST stands alone (no session to pin to a process, any
gunicorn worker can answer), so there is no server-to-client stream and no subscriptions; the
freshness a tool reports is the pushed commit the map is at and the deliveries still queued.
With PostgreSQL (``FLOAT_DATABASE_URL``) a web host holds no map: the tools answer from the
shared read model and writes go to the sync worker that holds the map (pg_mcp.py).
The SDK (~0.5 s to import) is loaded by the first ``/mcp`` request, never by a webhook.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Callable, Iterable, MutableMapping
from typing import Any

from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from float_hooks.agents import tools
from float_hooks.agents.mcp_server import MapServer, boot_md
from float_hooks.errors import FloatError, NoDatabase
from float_hooks.repo.git import Git
from float_hooks.store.db import Store
from webhook.access.grants import Grant, presented
from webhook.access.token_store import grant_for
from webhook.api.pg_mcp import PgMap
from webhook.intake.github import read_body
from webhook.names import InvalidName, check, repo_key
from webhook.queues.sqlite_queue import Queue
from webhook.settings import Settings
from webhook.storage.maps import map_path
from webhook.storage.mirror import mirror_path
from webhook.work.pipeline import BRANCH_KEY, MirrorProject

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
PREFIX = "/mcp"
MAX_BODY = 4 * 1024 * 1024
TIMEOUT = 120.0  # seconds one request may take in the loop (a next_job reads files)
READ_TIMEOUT = 10.0


class ServerMap:
    """One repository's map on the server, for agent_tools (one request's worth)."""

    def __init__(self, settings: Settings, full_name: str):
        self.settings = settings
        self.full_name = full_name
        self.db_path = map_path(settings.data_dir, full_name)
        if not self.db_path.exists():
            raise NoDatabase(f"{full_name}: no map yet (no push to its tracked branch"
                             " received)")
        self._store: Store | None = None
        self._readonly: Store | None = None
        base = self.store().get_meta("base_commit") or "HEAD"
        self.project = MirrorProject(Git(mirror_path(settings.data_dir, full_name), None),
                                     self.db_path, base, settings)

    def store(self) -> Store:
        if self._store is None:
            self._store = Store.open(self.db_path, timeout=READ_TIMEOUT)
        return self._store

    def readonly(self) -> Store:
        if self._readonly is None:
            self._readonly = Store.open_readonly(self.db_path, timeout=READ_TIMEOUT)
        return self._readonly

    def freshness(self, store: Store) -> dict[str, Any]:
        q = Queue(self.settings.data_dir, create=False)
        try:
            queued = q.pending(repo_key(self.full_name))
        finally:
            q.close()
        return {"snapshot": store.get_meta("snapshot"),
                "head": store.get_meta("base_commit") or None,
                "synced_at": store.get_meta("synced_at"),
                "branch": store.get_meta(BRANCH_KEY),
                "unsynced_changes": queued > 0, "queued_deliveries": queued,
                "watching": False, "repository": self.full_name}

    def history(self, many: bool) -> None:
        return None  # the server answers `why` from the store's record (as the read API)

    def close(self) -> None:
        for s in (self._store, self._readonly):
            if s is not None:
                s.close()


class Endpoint:
    """WSGI middleware: ``/mcp`` and ``/mcp/<owner>/<repo>`` here, the rest to ``app``."""

    def __init__(self, settings: Settings, app: WSGIApp):
        self.settings = settings
        self.app = app
        self._bridge: _Bridge | None = None
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path != PREFIX and not path.startswith(PREFIX + "/"):
            return self.app(environ, start_response)
        try:
            grant, repository = self._authorize(environ, path)
            try:  # the webhook's own bounded reader: Content-Length checked, chunked too
                body = read_body(environ, MAX_BODY)
            except RequestEntityTooLarge:
                raise _HTTPError(413, "Payload Too Large", "MCP request body over 4 MiB"
                                 ) from None
            except BadRequest:
                raise _HTTPError(400, "Bad Request", "invalid Content-Length") from None
            status, headers, out = self.bridge().handle(environ, body, repository, grant)
        except _HTTPError as e:
            status, headers, out = e.response()
        start_response(status, headers)
        return [out]

    def _authorize(self, environ: dict[str, Any], path: str) -> tuple[Grant, str | None]:
        s = self.settings
        grant = grant_for(presented(environ.get("HTTP_AUTHORIZATION", ""), basic=False),
                          s.api_token, s.data_dir, s.database_url)
        if grant is None:
            raise _HTTPError(401, "Unauthorized",
                             "missing or wrong Authorization: Bearer token",
                             [("WWW-Authenticate", 'Bearer realm="float-hooks"')])
        rest = path[len(PREFIX):].strip("/")
        if not rest:
            return grant, None
        parts = rest.split("/")
        if len(parts) != 2:
            raise _HTTPError(404, "Not Found", "use /mcp or /mcp/<owner>/<repo>")
        try:
            check(parts[0], parts[1])
        except InvalidName as e:
            raise _HTTPError(400, "Bad Request", str(e)) from None
        full_name = f"{parts[0]}/{parts[1]}"
        if not self.settings.allowed(full_name):
            raise _HTTPError(403, "Forbidden", f"{full_name} is not in FLOAT_REPOS")
        if not grant.covers(repo_key(full_name)):
            raise _HTTPError(403, "Forbidden", grant.refusal(repo_key(full_name), "read")
                             or "")
        return grant, full_name

    def bridge(self) -> _Bridge:
        with self._lock:
            if self._bridge is None or self._bridge.pid != os.getpid():
                self._bridge = _Bridge(self.settings)  # after gunicorn's fork, not before
            return self._bridge


def _dispatch(backend: ServerMap | PgMap, name: str, args: dict[str, Any]) -> dict[str, Any]:
    if isinstance(backend, PgMap):
        return backend.call(name, args)
    return tools.call(backend, name, args)


def _boot_of(backend: ServerMap | PgMap) -> str:
    return backend.boot() if isinstance(backend, PgMap) else boot_md(backend)


class _HTTPError(Exception):
    def __init__(self, code: int, name: str, message: str,
                 headers: list[tuple[str, str]] | None = None):
        self.code, self.name, self.message, self.headers = code, name, message, headers or []

    def response(self) -> tuple[str, list[tuple[str, str]], bytes]:
        body = json.dumps({"error": self.name, "message": self.message}).encode()
        return (f"{self.code} {self.name}",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                 *self.headers], body)


class _Bridge:
    """The SDK's stateless streamable-HTTP handler on an asyncio loop in its own thread."""

    def __init__(self, settings: Settings):
        from mcp.server.streamable_http_manager import (
            StreamableHTTPASGIApp,  # lazy: the MCP SDK is slow to import
        )
        from mcp.server.transport_security import (
            TransportSecuritySettings,  # lazy: the MCP SDK is slow to import
        )

        self.pid = os.getpid()
        self.settings = settings
        mapserver = MapServer(self._backend_for, repository_param=True,
                              dispatch=_dispatch, boot=_boot_of)
        # behind the bearer token: the SDK's DNS-rebinding checks are for local servers
        mapserver.server.streamable_http_app(
            stateless_http=True, json_response=True,
            transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False))
        manager = mapserver.server.session_manager
        self.app = StreamableHTTPASGIApp(manager)
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        async def keep_running() -> None:
            async with manager.run():
                ready.set()
                await asyncio.Event().wait()  # until the process ends

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(keep_running())

        threading.Thread(target=run, name="float-mcp", daemon=True).start()
        if not ready.wait(30):
            raise FloatError("the MCP handler did not start")

    def _backend_for(self, ctx: Any, args: dict[str, Any]) -> ServerMap | PgMap:
        given = args.pop("repository", None)
        scope = getattr(getattr(ctx, "request", None), "scope", None) or {}
        in_path = scope.get("float.repository")
        if given is not None and not isinstance(given, str):
            raise FloatError("repository must be owner/name")
        full_name = in_path or given
        if not full_name:
            raise FloatError("which repository? give repository: owner/name (or use the URL"
                             " /mcp/<owner>/<repo>)")
        try:
            key = repo_key(full_name)
            if in_path and given and repo_key(given) != key:
                raise FloatError("repository argument differs from the repository in the URL")
        except InvalidName as e:
            raise FloatError(str(e)) from None
        if not self.settings.allowed(key):
            raise FloatError(f"{key} is not in FLOAT_REPOS")
        grant: Grant | None = scope.get("float.grant")
        name = (ctx.params or {}).get("name") if ctx.method == "tools/call" else None
        tool = tools.BY_NAME.get(name) if isinstance(name, str) else None
        needed = "write" if tool is not None and tool.writes else "read"
        why = "not signed in" if grant is None else grant.refusal(key, needed)
        if why is not None:
            raise FloatError(f"refused: {why}")  # before the map is opened: nothing written
        if self.settings.database_url:  # web hosts hold no maps: the shared read model
            return PgMap(self.settings, key)
        return ServerMap(self.settings, key)

    def handle(self, environ: dict[str, Any], body: bytes, repository: str | None,
               grant: Grant) -> tuple[str, list[tuple[str, str]], bytes]:
        headers = [(k[5:].replace("_", "-").lower().encode("latin-1"), v.encode("latin-1"))
                   for k, v in environ.items() if k.startswith("HTTP_")]
        if environ.get("CONTENT_TYPE"):
            headers.append((b"content-type", environ["CONTENT_TYPE"].encode("latin-1")))
        headers.append((b"content-length", str(len(body)).encode()))
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": environ.get("REQUEST_METHOD", "GET"), "scheme": "http",
                 "path": PREFIX, "raw_path": PREFIX.encode(), "root_path": "",
                 "query_string": environ.get("QUERY_STRING", "").encode("latin-1"),
                 "headers": headers, "client": None, "server": None,
                 "float.repository": repository, "float.grant": grant}
        answer: dict[str, Any] = {"status": 500, "headers": [], "body": []}
        sent = asyncio.Event()

        async def receive() -> dict[str, Any]:
            if not answer.get("read"):
                answer["read"] = True
                return {"type": "http.request", "body": body, "more_body": False}
            await sent.wait()
            return {"type": "http.disconnect"}

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["headers"] = message.get("headers", [])
            elif message["type"] == "http.response.body":
                answer["body"].append(message.get("body", b""))
                if not message.get("more_body"):
                    sent.set()

        future = asyncio.run_coroutine_threadsafe(self.app(scope, receive, send), self.loop)
        try:
            future.result(TIMEOUT)
        except Exception as e:
            future.cancel()
            raise _HTTPError(500, "Internal Server Error",
                             "the MCP request failed") from e
        reason = {200: "OK", 202: "Accepted", 204: "No Content", 400: "Bad Request",
                  404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable",
                  413: "Payload Too Large", 415: "Unsupported Media Type"}
        code = int(answer["status"])
        out = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in answer["headers"]]
        return f"{code} {reason.get(code, 'Status')}", out, b"".join(answer["body"])
