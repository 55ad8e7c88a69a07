"""`float-hooks mcp`: the map over the Model Context Protocol (the official `mcp` SDK, 2.x).

Built on the SDK's low-level ``Server``: the tools' schemas are the contract written out in
tools.py (not derived from Python signatures), arguments are checked there with one-line
errors that never echo a value, and results carry both JSON text and ``structured_content``.

Resources: ``float://boot`` (.float/boot.md) and ``float://folder/{path}`` (a folder's context
as markdown, with its freshness). Clients hear about changes both ways the protocol has had:
``resources/subscribe`` (2025-era sessions, what agents speak today) and
``subscriptions/listen`` (2026-07-28). The stdio server's background loop syncs the work tree
after edits (fresh_answers.py), notices writes by other processes (a hook's sync, `float-hooks
set`, another agent) through SQLite's ``data_version``, and notifies each folder whose row,
decisions or questions changed since it last looked, and ``float://boot`` when boot.md does.

Imported only by `float-hooks mcp` and the webhook's ``/mcp``: the hooks never pay for the SDK.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote

import anyio
import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.session import ServerSession
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler, ResourceUpdated

from float_hooks import __version__
from float_hooks.agents import tools
from float_hooks.agents.fresh_answers import LocalMap
from float_hooks.agents.tools import Backend
from float_hooks.errors import FloatError
from float_hooks.project import BOOT_NAME, read_float_file
from float_hooks.store.db import now
from float_hooks.store.record_format import listed

BOOT_URI = "float://boot"
FOLDER_PREFIX = "float://folder/"
QUIET = 0.3  # seconds without file events before the background loop syncs
POLL = 0.25  # seconds between the background loop's looks
INSTRUCTIONS = (
    "float-hooks serves this repository's map: per-folder context (what, why, patterns),"
    " decisions, open questions, and which folders are stale. Call `show` on a folder before"
    " exploring it and trust its context only when status is current; `stale` and `why` say"
    " what changed. After you learn or change a folder, write its context with set_context"
    " (for_hash = the source_hash you read). `next_job`/`submit_job` let you refresh the map"
    " folder by folder."
)

BackendFor = Callable[[ServerRequestContext[Any], dict[str, Any]], Any]
# runs a tool on what backend_for returned (default: tools.call on a Backend); and reads
# float://boot from it (default: boot_md)
Dispatch = Callable[[Any, str, dict[str, Any]], dict[str, Any]]
BootReader = Callable[[Any], str]


def folder_uri(path: str) -> str:
    return FOLDER_PREFIX + quote(path.lstrip("/"), safe="/")


def uri_folder(uri: str) -> str | None:
    if not uri.startswith(FOLDER_PREFIX):
        return None
    return tools.folder_path("/" + unquote(uri[len(FOLDER_PREFIX):]))


def _result(data: dict[str, Any]) -> types.CallToolResult:
    text = json.dumps(data, ensure_ascii=False, default=str)
    return types.CallToolResult(content=[types.TextContent(type="text", text=text)],
                                structured_content=json.loads(text))


def _error(message: str) -> types.CallToolResult:
    line = " ".join(message.split())
    return types.CallToolResult(content=[types.TextContent(type="text", text=line)],
                                is_error=True)


def folder_markdown(doc: dict[str, Any]) -> str:
    """A folder's map entry as the markdown a resource reader attaches to a prompt."""
    snap = doc["freshness"]
    lines = [f"# {doc['path']}", "",
             f"status: {doc['status']} (source_hash {doc['source_hash'][:12]}, context_hash"
             f" {(doc['context_hash'] or '-')[:12]}, context_commit"
             f" {(doc['context_commit'] or '-')[:12]})",
             f"map synced at {(snap.get('head') or 'no commit')[:12]}"
             + (" (the work tree has changes not synced yet)" if snap.get("unsynced_changes")
                else "")]
    if doc["status"] == "stale":
        lines.append("WARNING: the files changed since this context was written; call `why`.")
    for label, key in (("Summary", "map_summary"), ("What", "context_what"),
                       ("Why", "context_why")):
        if doc.get(key):
            lines += ["", f"## {label}", "", str(doc[key])]
    if doc.get("context_patterns"):
        lines += ["", "## Patterns", ""] + [f"- {p}" for p in listed(doc["context_patterns"])]
    lines += ["", "## Children", ""]
    for c in doc["children"]:
        extra = f" [{c['status']}] {c['map_summary'] or ''}" if c["kind"] == "folder" else ""
        lines.append(f"- {c['name']}{'/' if c['kind'] == 'folder' else ''}{extra}".rstrip())
    for d in doc["decisions"]:
        lines.append(f"- decision {d['date']} [{d['status']}] {d['title']}")
    for q in doc["questions"]:
        lines.append(f"- open question #{q['id']}: {q['question']}")
    return "\n".join(lines) + "\n"


class MapServer:
    """The MCP server for one map (stdio, with ``local``) or many (HTTP, ``backend_for``
    picks the repository per request)."""

    def __init__(self, backend_for: BackendFor, *, local: LocalMap | None = None,
                 repository_param: bool = False, dispatch: Dispatch | None = None,
                 boot: BootReader | None = None):
        self.backend_for = backend_for
        self.dispatch: Dispatch = dispatch or tools.call
        self.boot: BootReader = boot or boot_md
        self.local = local
        self.repository_param = repository_param
        self.bus = InMemorySubscriptionBus()
        self.subscribers: dict[str, set[ServerSession]] = {}
        self._seen_version: int | None = None  # PRAGMA data_version at the last look
        self._since = now()  # changes at or after this time are not notified yet
        self._boot_mtime = self._boot_stamp()
        live = local is not None  # only a local server has changes to push
        self.server: Server[Any] = Server(
            "float-hooks", version=__version__, title="float-hooks map",
            instructions=INSTRUCTIONS,
            on_list_tools=self._list_tools, on_call_tool=self._call_tool,
            on_list_resources=self._list_resources,
            on_list_resource_templates=self._list_templates,
            on_read_resource=self._read_resource,
            on_subscribe_resource=self._subscribe if live else None,
            on_unsubscribe_resource=self._unsubscribe if live else None,
            on_subscriptions_listen=ListenHandler(self.bus) if live else None,
        )

    # -- tools -----------------------------------------------------------------------------
    def tools(self) -> list[types.Tool]:
        out = []
        for t in tools.TOOLS:
            schema = t.input_schema()
            if self.repository_param:
                schema["properties"]["repository"] = {
                    "type": "string", "description": "owner/name on the server (not needed"
                    " when the URL names it: /mcp/owner/name)"}
            out.append(types.Tool(
                name=t.name, description=t.description, input_schema=schema,
                annotations=types.ToolAnnotations(read_only_hint=not t.writes,
                                                  destructive_hint=False,
                                                  idempotent_hint=not t.writes,
                                                  open_world_hint=False)))
        return out

    async def _list_tools(self, ctx: ServerRequestContext[Any],
                          params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        return types.ListToolsResult(tools=self.tools())

    async def _call_tool(self, ctx: ServerRequestContext[Any],
                         params: types.CallToolRequestParams) -> types.CallToolResult:
        args = dict(params.arguments or {})
        try:
            if self.local is None:  # a server's maps: opened, used and closed in one thread
                data = await anyio.to_thread.run_sync(self._call_remote, ctx, params.name,
                                                      args)
            else:
                outliner = self.local.outliner
                if outliner is not None:
                    outliner.calling += 1  # it steps aside between batches (outliner.py)
                try:
                    await self.freshen()
                    data = tools.call(self.local, params.name, args)
                finally:
                    if outliner is not None:
                        outliner.calling -= 1
        except FloatError as e:
            return _error(str(e))
        tool = tools.BY_NAME[params.name]
        if tool.writes and self.local is not None:
            await self.notify_changes(force=True)  # our own writes leave data_version alone
        return _result(data)

    def _call_remote(self, ctx: ServerRequestContext[Any], name: str, args: dict[str, Any]
                     ) -> dict[str, Any]:
        backend = self.backend_for(ctx, args)  # takes `repository` out of args
        try:
            return self.dispatch(backend, name, args)
        finally:
            getattr(backend, "close", lambda: None)()

    async def freshen(self) -> None:
        if self.local is not None:
            await anyio.to_thread.run_sync(self.local.catch_up)

    # -- resources -------------------------------------------------------------------------
    async def _list_resources(self, ctx: ServerRequestContext[Any],
                              params: types.PaginatedRequestParams | None
                              ) -> types.ListResourcesResult:
        items = [types.Resource(uri=BOOT_URI, name="boot.md", mime_type="text/markdown",
                                description="The project's notes for AI sessions (.float/boot.md)")]
        if self.local is not None and self.local.initialised():
            store = self.local.store()
            rows = store.conn.execute(
                "SELECT path, status, map_summary FROM folders WHERE path = '/'"
                " OR parent_path = '/' ORDER BY path LIMIT 200").fetchall()
            items += [types.Resource(uri=folder_uri(r[0]), name=r[0], mime_type="text/markdown",
                                     description=f"[{r[1]}] {r[2] or 'no context yet'}")
                      for r in rows]
        return types.ListResourcesResult(resources=items)

    async def _list_templates(self, ctx: ServerRequestContext[Any],
                              params: types.PaginatedRequestParams | None
                              ) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(resource_templates=[types.ResourceTemplate(
            uri_template=FOLDER_PREFIX + "{+path}", name="folder", mime_type="text/markdown",
            description="A folder's context and freshness, e.g. float://folder/src/auth")])

    async def _read_resource(self, ctx: ServerRequestContext[Any],
                             params: types.ReadResourceRequestParams
                             ) -> types.ReadResourceResult:
        uri = str(params.uri)
        try:
            if self.local is None:
                text = await anyio.to_thread.run_sync(self._read_remote, ctx, uri)
            else:
                await self.freshen()
                text = self._read(self.local, uri, tools.call, boot_md)
        except FloatError as e:
            from mcp.shared.exceptions import (
                MCPError,  # lazy: the MCP SDK is slow to import
            )

            raise MCPError(types.INVALID_PARAMS, " ".join(str(e).split())) from None
        return types.ReadResourceResult(contents=[types.TextResourceContents(
            uri=uri, text=text, mime_type="text/markdown")])

    def _read_remote(self, ctx: ServerRequestContext[Any], uri: str) -> str:
        backend = self.backend_for(ctx, {})
        try:
            return self._read(backend, uri, self.dispatch, self.boot)
        finally:
            getattr(backend, "close", lambda: None)()

    @staticmethod
    def _read(backend: Any, uri: str, call: Dispatch, boot: BootReader) -> str:
        if uri == BOOT_URI:
            return boot(backend)
        path = uri_folder(uri)
        if path is None:
            raise FloatError("unknown resource: use float://boot or float://folder/<path>")
        return folder_markdown(call(backend, "show", {"path": path}))

    # -- subscriptions (2025-era resources/subscribe; 2026 listen goes through the bus) ----
    async def _subscribe(self, ctx: ServerRequestContext[Any],
                         params: types.SubscribeRequestParams) -> types.EmptyResult:
        self.subscribers.setdefault(str(params.uri), set()).add(ctx.session)
        return types.EmptyResult()

    async def _unsubscribe(self, ctx: ServerRequestContext[Any],
                           params: types.UnsubscribeRequestParams) -> types.EmptyResult:
        self.subscribers.get(str(params.uri), set()).discard(ctx.session)
        return types.EmptyResult()

    # -- the background loop (stdio) -------------------------------------------------------
    async def background(self) -> None:
        """Sync after edits once the tree is quiet; notify readers of what changed."""
        assert self.local is not None
        local = self.local
        while True:
            await anyio.sleep(POLL)
            watcher = local.watcher
            if (watcher is not None and watcher.running and local.needs_sync()
                    and time.monotonic() - watcher.last_event >= QUIET):
                await anyio.to_thread.run_sync(local.sync)
            await self.notify_changes()

    def _boot_stamp(self) -> int | None:
        if self.local is None:
            return None
        try:
            return (self.local.project.float_dir / BOOT_NAME).stat().st_mtime_ns
        except OSError:
            return None

    async def notify_changes(self, force: bool = False) -> None:
        """Notify subscribers of folders changed since the last look (by any process)."""
        local = self.local
        if local is None or not local.initialised():
            return
        changed: set[str] = set()
        stamp = self._boot_stamp()
        if stamp != self._boot_mtime:
            changed.add(BOOT_URI)
        self._boot_mtime = stamp
        try:
            conn = local.store().conn
            # data_version moves when another connection commits (a hook, the CLI, our own
            # syncs, which run in their own connection); our own writes pass ``force``
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            if force or version != self._seen_version:
                stamp_now = now()
                changed |= {folder_uri(p) for p in _changed_folders(conn, self._since)}
                self._seen_version, self._since = version, stamp_now
        except (FloatError, sqlite3.Error):
            return  # a locked or missing DB: the next look tries again
        for uri in sorted(changed):
            await self.bus.publish(ResourceUpdated(uri=uri))
            for session in list(self.subscribers.get(uri, ())):
                try:
                    await session.send_resource_updated(uri)
                except Exception:  # a session that went away
                    self.subscribers[uri].discard(session)


BOOT_MAX = 100_000  # bytes of boot.md an agent is given


def boot_md(backend: Backend) -> str:
    """.float/boot.md: from the work tree, or (a server's mirror) the synced commit."""
    project = backend.project
    try:
        if project.work_tree is not None:  # a pushed file: only what is shown is read
            raw = read_float_file(project.float_dir / BOOT_NAME, BOOT_MAX)
            if raw is None:
                raise FloatError("no boot.md")
        else:
            store = backend.store()
            rev = store.get_meta("base_commit") or "HEAD"
            raw = project.git.read_blob_head(f"{rev}:.float/boot.md", BOOT_MAX)
            if not raw:
                raise FloatError("no boot.md")
    except (OSError, FloatError):
        return "(no .float/boot.md in this repository)\n"
    return raw.decode("utf-8", "replace")


def _changed_folders(conn: sqlite3.Connection, since: str) -> set[str]:
    """Folders whose row, decisions or questions were updated at or after ``since``."""
    rows = conn.execute(
        "SELECT path FROM folders WHERE updated_at >= ?1"
        " UNION SELECT folder_path FROM log_entries WHERE updated_at >= ?1"
        " AND folder_path IS NOT NULL"
        " UNION SELECT folder_path FROM open_questions WHERE updated_at >= ?1"
        " AND folder_path IS NOT NULL", (since,)).fetchall()
    return {r[0] for r in rows}


def serve_stdio(local: LocalMap) -> None:
    """Serve ``local`` over stdin/stdout until the client closes the connection."""
    from mcp.server.stdio import (
        stdio_server,  # lazy: the MCP SDK is slow to import
    )

    mapserver = MapServer(lambda ctx, args: local, local=local)

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(mapserver.background)
            async with stdio_server() as (read, write):
                await mapserver.server.run(read, write,
                                           mapserver.server.create_initialization_options())
            tg.cancel_scope.cancel()

    anyio.run(main)
