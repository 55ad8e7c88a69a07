"""The agents' tools: names, arguments, descriptions and what each answers, independent of the
MCP SDK (mcp_server.py serves them over stdio, webhook/mcp_http.py over HTTP).

Names and shapes are a contract, like the CLI's ``--json``: arguments and results use the same
field names (the seed's column names). Every answer carries ``freshness`` (the snapshot the
map reflects: the synced commit, whether the work tree has changes not yet synced) and every
folder in it its ``status``, ``source_hash``, ``context_hash`` and ``context_commit``, so an agent
never takes stale context for current. Errors are one line (FloatError); input is never echoed
with repr().
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from typing import Any, Protocol

from float_hooks import paths
from float_hooks.agents import job_tools
from float_hooks.agents.read_answers import (
    bounded,
    capped,
    search_answer,
    stale_answer,
    where_answer,
)
from float_hooks.agents.tool_args import Param, Tool, check_args, safe_name
from float_hooks.code import anchors as anchor_code
from float_hooks.code import answers
from float_hooks.code.answers import folder_freshness as fresh_folder
from float_hooks.errors import FloatError
from float_hooks.project import Project
from float_hooks.reads import anchored, show, stale
from float_hooks.store import folder_context, paper_trail, sqlguard
from float_hooks.store.db import Store, translate

QUERY_MAX_ROWS, QUERY_TIMEOUT = 500, 5.0
OUTLINE_MAX, WHERE_MAX = 1000, 200  # symbols of an outline, places of a where


class Backend(Protocol):
    """Where the tools read and write one repository's map."""

    @property
    def project(self) -> Project: ...

    def store(self) -> Store: ...  # read-write, synced as fresh as the backend makes it

    def readonly(self) -> Store: ...  # for `query`: the sqlguard authorizer is installed

    def freshness(self, store: Store) -> dict[str, Any]: ...

    def history(self, many: bool) -> stale.History | None: ...


def folder_path(value: str) -> str:
    """A folder argument (``/src/auth``, ``src/auth``, ``/``), relative to the repository root."""
    if len(value) > 4096 or "\0" in value:
        raise FloatError("path is not a folder path")
    try:
        return paths.whole(value)
    except ValueError:
        raise FloatError("path may not contain '.' or '..' (paths are relative to the repository"
                         " root, e.g. /src/auth)") from None


# -- reading ---------------------------------------------------------------------------------
def _status(b: Backend, a: dict[str, Any]) -> dict[str, Any]:
    store = b.store()
    return {**folder_context.status_counts(store), "freshness": b.freshness(store)}


def _stale(b: Backend, a: dict[str, Any]) -> dict[str, Any]:
    return stale_answer(b, bounded(a, "limit", 50, 1000))


def _why(b: Backend, a: dict[str, Any]) -> dict[str, Any]:
    store = b.store()
    out = stale.why(store.conn, folder_path(a["path"]), b.history(False))
    anchored.why(anchored.evaluator(store.conn, b.project.git), store.conn, out)
    limit = bounded(a, "limit", 200, 5000)
    out["changed_files_total"] = len(out["changed_files"])
    out["changed_files"] = out["changed_files"][:limit]
    return {"freshness": b.freshness(store), **out}


def _show(b: Backend, a: dict[str, Any]) -> dict[str, Any]:
    store = b.store()
    path = folder_path(a.get("path", "/"))
    # the same document as `show --json`, its lists bounded (show.py), its anchors' states
    document = show.folder_document(store.conn, path, limit=bounded(a, "limit", show.LIMIT,
                                                                    show.MAX_LIMIT),
                                    offset=max(0, int(a.get("offset", 0))))
    data = anchored.folder_document(anchored.evaluator(store.conn, b.project.git), document)
    return {"freshness": b.freshness(store), **data}


def _search(b: Backend, a: dict[str, Any]) -> dict[str, Any]:
    return search_answer(b, a["query"], bounded(a, "limit", 20, 200))


def _decisions(b: Backend, a: dict[str, Any]) -> dict[str, Any]:
    store = b.store()
    folder = folder_path(a["folder"]) if "folder" in a else None
    items = paper_trail.list_logs(store.conn, month=a.get("month"), year=a.get("year"),
                                  status=a.get("status"), tag=a.get("tag"), folder=folder)
    items.reverse()  # newest first: the ones that bind now
    shown, more = capped(items, bounded(a, "limit", 50, 500))
    anchored.annotate_all(anchored.evaluator(store.conn, b.project.git), shown)
    return {"freshness": b.freshness(store), "total": len(items), "decisions": shown,
            "more": more}


def _questions(b: Backend, a: dict[str, Any]) -> dict[str, Any]:
    store = b.store()
    folder = folder_path(a["folder"]) if "folder" in a else None
    items = paper_trail.list_questions(store.conn, folder=folder,
                                       include_resolved=bool(a.get("include_resolved")))
    items.reverse()  # newest first
    shown, more = capped(items, bounded(a, "limit", 50, 500))
    anchored.annotate_all(anchored.evaluator(store.conn, b.project.git), shown)
    return {"freshness": b.freshness(store), "total": len(items), "questions": shown,
            "more": more}


def _query(b: Backend, a: dict[str, Any]) -> dict[str, Any]:
    store = b.store()  # synced first, so the query sees the work tree as it is now
    fresh = b.freshness(store)
    max_rows = max(1, min(int(a.get("max_rows", 100)), QUERY_MAX_ROWS))
    result = sqlguard.run(b.readonly().conn, a["sql"], max_rows=max_rows,
                          timeout=QUERY_TIMEOUT)
    return {"freshness": fresh, "columns": result.columns, "rows": result.as_dicts(),
            "truncated": result.truncated}


def _outline(b: Backend, a: dict[str, Any]) -> dict[str, Any]:
    store = b.store()
    limit = max(1, min(int(a.get("limit", 100)), OUTLINE_MAX))
    out = answers.outline_of(store.conn, b.project.git, folder_path(a.get("path", "/")), limit)
    return {"freshness": b.freshness(store), **out}


def _where(b: Backend, a: dict[str, Any]) -> dict[str, Any]:
    limit = max(1, min(int(a.get("limit", 20)), WHERE_MAX))
    name = a["name"].strip()
    if not name or len(name) > 200:
        raise FloatError("where: name must be a symbol name of at most 200 characters")
    return where_answer(b, name, limit)


# -- writing ---------------------------------------------------------------------------------
CONTEXT_FIELDS = ("map_summary", "map_children", "context_what", "context_why",
                  "context_patterns")


def _anchors(b: Backend, store: Store, a: dict[str, Any]) -> list[dict[str, str]] | None:
    """The ``anchors`` argument pinned to what each names now (code/anchors.py); paths are
    relative to the repository root. One that names nothing is refused: nothing written."""
    if not a.get("anchors"):
        return None
    return anchor_code.resolve(store.conn, b.project.git, list(a["anchors"]))


def _set_context(b: Backend, a: dict[str, Any]) -> dict[str, Any]:
    store = b.store()
    path = folder_path(a["path"])
    fields = {k: a[k] for k in CONTEXT_FIELDS if k in a}
    pinned = _anchors(b, store, a)
    if pinned is not None:
        fields["anchors"] = pinned
    if not fields:
        raise FloatError("set_context: give at least one of " + ", ".join(CONTEXT_FIELDS)
                         + " or anchors")
    try:
        saved = folder_context.set_context(store, path, fields, model=a.get("ai_model") or "agent",
                                    for_hash=a["for_hash"], expected_hash=a["for_hash"],
                                    settles_conflicts=True)
    except folder_context.HashMismatch:
        now = fresh_folder(store.conn, path).get("source_hash") or "?"
        raise FloatError(f"{path} changed since you read it: its hash is now {now[:12]}, not"
                         " the for_hash you gave; nothing written. Read it again (show or why)"
                         " and write context for what it holds now") from None
    return {"freshness": b.freshness(store), **saved}


def _log_decision(b: Backend, a: dict[str, Any]) -> dict[str, Any]:
    store = b.store()
    if "date" in a:
        try:
            dt.date.fromisoformat(a["date"])
        except ValueError:
            raise FloatError("log_decision: date must be YYYY-MM-DD") from None
    fields = {k: a.get(k) for k in paper_trail.LOG_FIELDS if k != "folder_path"}
    fields["folder_path"] = folder_path(a["folder"]) if "folder" in a else None
    entry = paper_trail.add_log(store, fields, list(a.get("tags", [])),
                                list(a.get("files_changed", [])), _anchors(b, store, a))
    return {"freshness": b.freshness(store), **entry}


def _add_question(b: Backend, a: dict[str, Any]) -> dict[str, Any]:
    store = b.store()
    folder = folder_path(a["folder"]) if "folder" in a else None
    q = paper_trail.add_question(store, a["question"], a.get("context"), folder,
                                 _anchors(b, store, a))
    return {"freshness": b.freshness(store), **q}


def _resolve_question(b: Backend, a: dict[str, Any]) -> dict[str, Any]:
    store = b.store()
    q = paper_trail.resolve_question(store, str(a["id"]), a["resolved_by"])
    return {"freshness": b.freshness(store), **q}


def _add_reference(b: Backend, a: dict[str, Any]) -> dict[str, Any]:
    store = b.store()
    ends = []
    for side in ("source", "target"):
        kind, ident = a[f"{side}_type"], a[f"{side}_id"]
        if kind not in paper_trail.REF_TYPES:
            raise FloatError(f"{side}_type must be one of {', '.join(paper_trail.REF_TYPES)}")
        ends.append((kind, folder_path(ident) if kind == "folder" else ident))
    (st, si), (tt, ti) = ends
    r = paper_trail.add_ref(store, st, si, tt, ti, a.get("context"), _anchors(b, store, a))
    return {"freshness": b.freshness(store), **r}


def _next_job(b: Backend, a: dict[str, Any]) -> dict[str, Any]:
    store = b.store()
    job = job_tools.next_job(b.project, store,
                              float(a.get("lease_seconds", job_tools.DEFAULT_LEASE)))
    return {"freshness": b.freshness(store), **job}


def _submit_job(b: Backend, a: dict[str, Any]) -> dict[str, Any]:
    store = b.store()
    out = job_tools.submit_job(store, a["id"], a["answer"], b.project.git)
    return {"freshness": b.freshness(store), **out}


_FRESH = (" Every answer carries `freshness` (the commit the map is synced to and whether the"
          " work tree has edits not yet synced) and each folder its `status` (pending: no"
          " context yet; current: context written for the folder's present content; stale:"
          " files changed since), `source_hash`, `context_hash` and `context_commit`.")
_PATH = "A folder, relative to the repository root: / or /src/auth (src/auth works too)."
_ANCHORS = Param("anchors", "array", "What this cites, each checked and pinned to its text"
              " now: a file (/src/auth/login.py), a symbol in it"
              " (/src/auth/login.py::Session.refresh) or a folder (/src/auth). Answers then"
              " say per anchor whether that code is ok, changed, moved or gone.",
              items="string")
_CONTEXT_PARAMS = [
    Param("map_summary", "string", "One line (under 120 characters): what the folder is for."),
    Param("map_children", "array", "One entry per child: {\"name\": ..., \"summary\": ...}.",
          items="object"),
    Param("context_what", "string", "A short paragraph: what is in the folder, how it fits."),
    Param("context_why", "string", "A short paragraph: why it exists, decisions to know."),
    Param("context_patterns", "array", "Conventions to follow in this folder.", items="string"),
    Param("ai_model", "string", "The model writing this (recorded with the context)."),
    _ANCHORS,
]

TOOLS: list[Tool] = [
    Tool("status", "Map overview: how many folders are pending, current and stale, the synced"
         " commit. Call first in a session to see whether the map can be trusted." + _FRESH,
         [], _status),
    Tool("stale", "Folders whose context no longer matches their files, each with the files"
         " that changed (changed_files) and the child folders that carried the change"
         " (via_children). Call before relying on context, or to pick what to refresh.",
         [Param("limit", "integer", "At most this many folders (default 50); `total` and"
                " `more` say how many there are.")], _stale),
    Tool("why", "Why one folder is stale: each file changed since its context was written"
         " (added, modified, deleted), with old and new blob hashes. Call before rewriting a"
         " folder's context to see exactly what moved." + _FRESH,
         [Param("path", "string", _PATH, required=True),
          Param("limit", "integer", "At most this many changed files (default 200).")], _why),
    Tool("show", "One folder's map entry: summary, what, why, patterns, children (with their"
         " summaries and status), decisions, open questions and references. Call before"
         " exploring or editing a folder instead of reading every file; check `status`"
         " first: stale context describes older code. Lists hold at most `limit` entries"
         " each from `offset`; `children_total` and `more` say what is left." + _FRESH,
         [Param("path", "string", _PATH + " Default: the root."),
          Param("limit", "integer", f"At most this many children, decisions, questions and"
                f" references each (default {show.LIMIT}, at most {show.MAX_LIMIT})."),
          Param("offset", "integer", "Skip this many children first (to page).")], _show),
    Tool("search", "Ask a question or give words: ranked search over folder context (what,"
         " why, patterns, summaries), each file's one-line summary, file names, symbols"
         " (names, split at camelCase and snake_case, and first doc sentences), decisions"
         " and open questions. Not every word must match; stop words are dropped and words"
         " are stemmed; a folder's or a file's exact name or a folder path comes first. Each"
         " result says its `kind` (folder, file, symbol, decision, question), `path`, why it"
         " matched (`matched`, `field`, `snippet`) and its folder's freshness (`status`;"
         " for stale context `changed_files`). End a word with * for a prefix." + _FRESH,
         [Param("query", "string", "A question or words to find.", required=True),
          Param("limit", "integer", "At most this many results (default 20, at most 200).")],
         _search),
    Tool("outline", "What code defines, without reading it: for a file, its symbols (kind,"
         " name, parent, lines, signature, first doc sentence, public); for a folder, its"
         " code files ranked by importance (references from other files) with their most"
         " important symbols. Call before opening files to find the ones that matter. At"
         " most `limit` symbols and 64 KiB; `more` says how many were left out." + _FRESH,
         [Param("path", "string", "A file or a folder, relative to the repository root:"
                " /src/app.py or /src. Default: the root."),
          Param("limit", "integer", "At most this many symbols (default 100, at most"
                " 1000).")], _outline),
    Tool("where", "Where a symbol is defined: each file and line with its kind, signature,"
         " first doc sentence and the folder's freshness. Give a name (Flask), or narrow by"
         " its parent (Flask.route, Router::new). Public and top-level definitions first.",
         [Param("name", "string", "The symbol's name.", required=True),
          Param("limit", "integer", "At most this many places (default 20, at most 200);"
                " `total` says how many there are.")], _where),
    Tool("decisions", "The decision log (architecture decisions with rationale), filtered."
         " Call before changing how something works, to respect or supersede what was"
         " decided.",
         [Param("month", "string", "YYYY-MM"), Param("year", "string", "YYYY"),
          Param("status", "string", "e.g. accepted, proposed, superseded, locked"),
          Param("tag", "string", "One tag."), Param("folder", "string", _PATH),
          Param("limit", "integer", "At most this many, newest first (default 50, at most"
                " 500, and at most 64 KiB); `total` and `more` say how many there are.")],
         _decisions),
    Tool("questions", "Open questions recorded about the code (unresolved unless asked)."
         " Call to learn known unknowns before working in a folder.",
         [Param("folder", "string", _PATH),
          Param("include_resolved", "boolean", "Also list resolved questions."),
          Param("limit", "integer", "At most this many, newest first (default 50, at most"
                " 500, and at most 64 KiB).")], _questions),
    Tool("query", "Read-only SQL (SQLite) over the map: tables folders, files, log_entries,"
         " open_questions, \"references\", tags, log_entry_tags, jobs. Writes, ATTACH and"
         " PRAGMA writes are refused; a query stops after 5 s. Call for questions the other"
         " tools do not answer, e.g. counts or joins.",
         [Param("sql", "string", "One SELECT (or WITH ... SELECT) statement.", required=True),
          Param("max_rows", "integer", "At most this many rows (default 100, at most 500).")],
         _query),
    Tool("set_context", "Write a folder's context after you understood it. Give for_hash ="
         " the source_hash you read with show or why: if the folder changed since, nothing is"
         " written and you get an error (read it again). The folder becomes current. Returns"
         " the folder as stored.",
         [Param("path", "string", _PATH, required=True),
          Param("for_hash", "string", "The folder's source_hash when you read it.",
                required=True), *_CONTEXT_PARAMS], _set_context, writes=True),
    Tool("log_decision", "Record a decision (what, why, before/after) in the decision log."
         " Call when you made or learned an architectural choice a future agent must know.",
         [Param("title", "string", "Short title.", required=True),
          Param("decision", "string", "What was decided."),
          Param("rationale", "string", "Why."),
          Param("folder", "string", _PATH + " The folder it is about."),
          Param("status", "string", "accepted (default), proposed, locked"),
          Param("date", "string", "YYYY-MM-DD (default today)"),
          Param("topic", "string", "A topic word."),
          Param("tags", "array", "Tags.", items="string"),
          Param("before_state", "string", "How it was."),
          Param("after_state", "string", "How it is now."),
          Param("future_agent", "string", "A note for the next agent."),
          Param("files_changed", "array", "Files the decision changed.", items="string"),
          Param("supersedes", "string", "uid of the decision this one replaces."), _ANCHORS],
         _log_decision, writes=True),
    Tool("add_question", "Record an open question about the code for people or later agents.",
         [Param("question", "string", "The question.", required=True),
          Param("context", "string", "What prompted it."),
          Param("folder", "string", _PATH), _ANCHORS], _add_question, writes=True),
    Tool("resolve_question", "Mark an open question resolved, saying what resolved it.",
         [Param("id", "string", "The question's id or uid.", required=True),
          Param("resolved_by", "string", "What resolved it: a decision uid, a commit, or a"
                " sentence.", required=True)], _resolve_question, writes=True),
    Tool("add_reference", "Link two things (folder, file, log, question, url, commit), e.g."
         " a folder to the RFC it implements.",
         [Param("source_type", "string", "folder, file, log, question, url or commit",
                required=True),
          Param("source_id", "string", "e.g. /src/auth", required=True),
          Param("target_type", "string", "folder, file, log, question, url or commit",
                required=True),
          Param("target_id", "string", "e.g. https://...", required=True),
          Param("context", "string", "Why they are related."), _ANCHORS],
         _add_reference, writes=True),
    Tool("next_job", "Refresh the map yourself: claim the next folder whose context needs"
         " writing (stale or pending; children before parents) under a lease. Returns id,"
         " path and request (the folder's children with summaries, file excerpts, previous"
         " context, what changed, and instructions), or id null when nothing is left. Write"
         " the answer and call submit_job before the lease ends, or the job goes back to"
         " the queue.",
         [Param("lease_seconds", "number", "How long the claim lasts (default 900).")],
         _next_job, writes=True),
    Tool("submit_job", "Answer a job from next_job. answer holds the set_context fields"
         " (map_summary required). Written only if the folder did not change since the"
         " claim; otherwise the job is queued again and you get an error.",
         [Param("id", "string", "The id next_job returned.", required=True),
          Param("answer", "object", "{map_summary, map_children, context_what, context_why,"
                " context_patterns, ai_model, anchors}: anchors as in set_context",
                required=True)], _submit_job, writes=True),
]
BY_NAME = {t.name: t for t in TOOLS}


def call(backend: Backend, name: str, args: dict[str, Any] | None) -> dict[str, Any]:
    """Run tool ``name``; FloatError (one line) for anything the caller got wrong."""
    tool = BY_NAME.get(name)
    if tool is None:
        raise FloatError(f"no tool named {safe_name(name)}; the tools are "
                         + ", ".join(BY_NAME))
    try:
        return tool.impl(backend, check_args(tool, args))
    except sqlite3.Error as e:
        raise translate(e, backend.project.db_path) from None
