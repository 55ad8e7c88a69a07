"""`float-hooks agents install/uninstall`: register the map with coding agents.

What is written (each format as its agent documents it):

- ``.float/float-hooks``, the launcher every entry below runs (``sh .float/float-hooks``),
  and ``.float/local/float-hooks``, this machine's installation (git-ignored): launcher.py.
- ``.mcp.json`` (Claude Code, project scope): ``mcpServers["float-hooks"]`` = a stdio server
  running the launcher's ``mcp`` (Claude Code starts project servers in the project
  directory).
- ``.cursor/mcp.json`` (Cursor): the same entry, with ``${workspaceFolder}`` (Cursor
  interpolates it in mcp.json).
- ``.claude/settings.json``: a ``SessionStart`` hook (matcher ``startup|resume|clear|compact``)
  running ``float-hooks brief`` in ``$CLAUDE_PROJECT_DIR``; Claude Code adds a SessionStart
  hook's stdout to the session's context.
- ``.cursor/hooks.json`` (``"version": 1``): a ``sessionStart`` hook running ``float-hooks brief
  --cursor``, which prints ``{"additional_context": ...}``, the field Cursor reads.
- ``AGENTS.md`` (created if missing) and ``CLAUDE.md`` (only if present): a short block between
  ``<!-- float-hooks:begin -->`` and ``<!-- float-hooks:end -->``.
- Codex keeps MCP servers in its global ``~/.codex/config.toml`` (``[mcp_servers.NAME]`` with
  ``command`` and ``args``): the snippet is printed, and written (in a marked block) only with
  ``--global``.

Existing keys, servers, hooks and text are kept; running install twice changes nothing; the
entries are ours by name (the server ``float-hooks``, hook commands running the launcher),
and ``.float/local/agents.json`` (git-ignored: one machine's record) says which files and keys
install created, so uninstall removes exactly what install added (and a file or folder only
if install created it). The map never includes these files (repo/scope.py's AGENT_FILES).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from float_hooks.agents.launcher import (
    LAUNCHER,
    LAUNCHER_TEXT,
    brief_command,
    codex_snippet,
    is_ours,
    local_dir,
    local_text,
    server_entry,
)
from float_hooks.atomic import read_text, through_symlink, write_atomic
from float_hooks.errors import FloatError
from float_hooks.repo.scope import AGENT_FILES

NAME = "float-hooks"
AGENTS = ("claude", "cursor", "codex")
MANIFEST = "agents.json"  # in .float/local/: what install created, for uninstall
BEGIN, END = "<!-- float-hooks:begin -->", "<!-- float-hooks:end -->"
TOML_BEGIN = "# >>> float-hooks (float-hooks agents install --codex --global) >>>"
TOML_END = "# <<< float-hooks <<<"
CLAUDE_MATCHER = "startup|resume|clear|compact"

BLOCK = f"""{BEGIN}
## Project map (float-hooks)

This repository keeps an AI-readable map: per-folder context (what, why, patterns), a decision
log and open questions, with staleness computed from content hashes. Before exploring a
folder, ask the `float-hooks` MCP server (`show`, `search`, `decisions`), or run
`float-hooks show PATH`; trust context only when its status is `current` (`stale` and `why`
say what changed). After you change or learn a folder, write its context back
(`set_context` with `for_hash` = the `source_hash` you read); `next_job` / `submit_job`
refresh stale folders one by one.
{END}
"""


def detect(work_tree: Path) -> list[str]:
    """The agents this machine or repository shows signs of; Claude Code and Cursor if none."""
    found = []
    if any((work_tree / p).exists() for p in (".claude", "CLAUDE.md", ".mcp.json")) \
            or shutil.which("claude"):
        found.append("claude")
    if (work_tree / ".cursor").exists() or shutil.which("cursor"):
        found.append("cursor")
    if shutil.which("codex") or codex_home().exists():
        found.append("codex")
    return found or ["claude", "cursor"]


def codex_home() -> Path:
    return Path(os.environ.get("CODEX_HOME") or Path.home() / ".codex")


# -- editing one file ------------------------------------------------------------------------
class Edit:
    """One file's old and new text, and what install created in it (for the manifest)."""

    def __init__(self, path: Path, rel: str, old: str | None):
        self.path = path
        self.rel = rel
        self.old = old
        self.new: str | None = old
        self.created_keys: list[list[str]] = []

    @property
    def action(self) -> str:
        if self.new == self.old:
            return "unchanged"
        if self.old is None:
            return "created"
        return "removed" if self.new is None else "updated"


MAX_READ = 4 * 1024 * 1024  # an agent's config file or instructions, as committed


def _read(path: Path, *, own: bool = False) -> str | None:
    """A file install edits. One of the repository's (committed: anyone's) is read only as a
    regular file, never through a symlink; ``own``: the user's (``~/.codex``), which a
    symlink into their dotfiles may well stand for."""
    return read_text(path, MAX_READ, follow=own,
                     why="; install edits only files of the repository")


def _load_json(edit: Edit) -> dict[str, Any]:
    if edit.old is None or not edit.old.strip():
        return {}
    try:
        data = json.loads(edit.old)
    except json.JSONDecodeError as e:
        raise FloatError(f"{edit.path}: not valid JSON (line {e.lineno}); fix it or move it"
                         " aside, nothing was changed") from None
    if not isinstance(data, dict):
        raise FloatError(f"{edit.path}: not a JSON object; nothing was changed")
    return data


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _container(data: dict[str, Any], keys: list[str], edit: Edit, kind: type) -> Any:
    node: Any = data
    for i, key in enumerate(keys):
        if key not in node:
            node[key] = {} if i < len(keys) - 1 or kind is dict else []
            edit.created_keys.append(keys[: i + 1])
        node = node[key]
        if not isinstance(node, dict if i < len(keys) - 1 or kind is dict else list):
            raise FloatError(f"{edit.path}: {'.'.join(keys[: i + 1])} is not a"
                             f" {'list' if kind is list and i == len(keys) - 1 else 'object'};"
                             " nothing was changed")
    return node


def add_server(edit: Edit, entry: dict[str, Any]) -> None:
    data = _load_json(edit)
    servers = _container(data, ["mcpServers"], edit, dict)
    if servers.get(NAME) != entry:
        servers[NAME] = entry
        edit.new = _dump(data)


def add_claude_hook(edit: Edit, command: str) -> None:
    data = _load_json(edit)
    groups = _container(data, ["hooks", "SessionStart"], edit, list)
    group = {"matcher": CLAUDE_MATCHER,
             "hooks": [{"type": "command", "command": command, "timeout": 30}]}
    mine = [g for g in groups if isinstance(g, dict)
            and any(is_ours(h.get("command")) for h in g.get("hooks", []) if isinstance(h, dict))]
    if mine == [group]:
        return
    groups[:] = [g for g in groups if g not in mine] + [group]
    edit.new = _dump(data)


def add_cursor_hook(edit: Edit, command: str) -> None:
    data = _load_json(edit)
    if "version" not in data:
        data["version"] = 1
        edit.created_keys.append(["version"])
    hooks = _container(data, ["hooks", "sessionStart"], edit, list)
    mine = [h for h in hooks if isinstance(h, dict) and is_ours(h.get("command"))]
    if mine == [{"command": command}]:
        return
    hooks[:] = [h for h in hooks if h not in mine] + [{"command": command}]
    edit.new = _dump(data)


def remove_json(edit: Edit, created: list[list[str]], created_file: bool) -> None:
    """Take our entries out of a JSON file, then the containers install created that are
    empty now; the file itself if install created it and nothing else is left."""
    if edit.old is None:
        return
    data = _load_json(edit)
    servers = data.get("mcpServers")
    if isinstance(servers, dict):
        servers.pop(NAME, None)
    hooks = data.get("hooks")
    if isinstance(hooks, dict):
        for event, items in hooks.items():
            if not isinstance(items, list):
                continue
            if event == "SessionStart":
                items[:] = [g for g in items if not (isinstance(g, dict) and any(
                    is_ours(h.get("command")) for h in g.get("hooks", []) if isinstance(h, dict)))]
            elif event == "sessionStart":
                items[:] = [h for h in items if not (isinstance(h, dict)
                                                     and is_ours(h.get("command")))]
    for keys in sorted(created, key=len, reverse=True):
        parent: Any = data
        for key in keys[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        if isinstance(parent, dict) and keys[-1] in parent:
            value = parent[keys[-1]]
            if value in ({}, []) or keys == ["version"]:
                del parent[keys[-1]]
    edit.new = None if created_file and not data else _dump(data)
    if edit.new is not None and edit.old is not None and json.loads(edit.old) == data:
        edit.new = edit.old  # nothing of ours was there: leave the bytes alone


def add_block(edit: Edit) -> str:
    """Put the block in (in place if it is there already); returns the separator written
    before an appended block, for uninstall to take out again."""
    text = edit.old or ""
    start, end = text.find(BEGIN), text.find(END)
    if start != -1 and end > start:
        new, sep = text[:start] + BLOCK.rstrip("\n") + text[end + len(END):], ""
    else:
        sep = "" if not text else ("\n" if text.endswith("\n") else "\n\n")
        new = text + sep + BLOCK
    if new != text:
        edit.new = new
    return sep


def remove_block(edit: Edit, sep: str, created_file: bool) -> None:
    text = edit.old
    if text is None:
        return
    start, end = text.find(BEGIN), text.find(END)
    if start == -1 or end < start:
        return
    stop = end + len(END) + (1 if text[end + len(END): end + len(END) + 1] == "\n" else 0)
    if sep and text[start - len(sep): start] == sep and stop == len(text):
        start -= len(sep)
    new = text[:start] + text[stop:]
    edit.new = None if created_file and not new.strip() else new


# -- install and uninstall -------------------------------------------------------------------
class Plan:
    """Every file's edit, computed (and validated) before any file is written."""

    def __init__(self, work_tree: Path, float_dir: Path):
        self.work_tree = work_tree
        self.float_dir = float_dir
        self.edits: list[Edit] = []
        self.manifest_path = local_dir(float_dir) / MANIFEST
        self._refuse_links(self.manifest_path.parent)
        self.old_manifest = float_dir / MANIFEST  # where earlier releases kept it
        self.manifest: dict[str, Any] = {}
        raw = _read(self.manifest_path)
        if raw is None:
            raw = _read(self.old_manifest)
        if raw:
            try:
                loaded = json.loads(raw)
            except json.JSONDecodeError:
                loaded = None
            if isinstance(loaded, dict) and isinstance(loaded.get("files"), dict):
                self.manifest = loaded
        self.manifest.setdefault("files", {})

    def edit(self, rel: str, path: Path | None = None) -> Edit:
        own = path is not None  # the user's own file (the global Codex config)
        if path is None:  # in the work tree: no folder on the way may be a symlink
            path = self.work_tree / rel
            self._refuse_links(path.parent)
        e = Edit(path, rel, _read(path, own=own))
        self.edits.append(e)
        return e

    def _refuse_links(self, folder: Path) -> None:
        refused = through_symlink(self.work_tree, folder)
        if refused:
            raise FloatError(refused)

    def record(self, e: Edit, **extra: Any) -> None:
        files = self.manifest["files"]
        known = files.get(e.rel) or {"created": e.old is None and e.new is not None,
                                     "keys": [], **extra}
        for k in e.created_keys:
            if k not in known["keys"]:
                known["keys"].append(k)
        files[e.rel] = known

    def write(self) -> list[dict[str, str]]:
        out = []
        for e in self.edits:
            out.append({"path": str(e.path), "action": e.action})
            if e.new == e.old:
                continue
            if e.new is None:
                e.path.unlink()
                _prune_dirs(e.path.parent, self.work_tree)
            else:
                write_atomic(e.path, e.new)
                if e.rel.endswith("/" + LAUNCHER):
                    e.path.chmod(0o755)
        files = self.manifest["files"]
        if files:
            write_atomic(self.manifest_path, _dump(self.manifest))
        else:
            self.manifest_path.unlink(missing_ok=True)
            _prune_dirs(self.manifest_path.parent, self.float_dir)
        self.old_manifest.unlink(missing_ok=True)
        return out


LAUNCHERS = (f".float/{LAUNCHER}", f".float/local/{LAUNCHER}")
IGNORED = "local/"  # the line .float/.gitignore needs for .float/local/


def install(work_tree: Path, float_dir: Path, agents: list[str],
            global_codex: bool = False) -> list[dict[str, str]]:
    plan = Plan(work_tree, float_dir)
    for rel, text in zip(LAUNCHERS, (LAUNCHER_TEXT, local_text()), strict=True):
        e = plan.edit(rel)
        e.new = text
        plan.record(e)
    e = plan.edit(".float/.gitignore")
    if IGNORED not in (e.old or "").splitlines():
        e.new = (e.old or "") + ("" if not e.old or e.old.endswith("\n") else "\n") \
            + f"# this machine's float-hooks for the agents' launcher\n{IGNORED}\n"
    if "claude" in agents:
        e = plan.edit(".mcp.json")
        add_server(e, server_entry(cursor=False))
        plan.record(e)
        e = plan.edit(".claude/settings.json")
        add_claude_hook(e, brief_command('"$CLAUDE_PROJECT_DIR"', cursor=False))
        plan.record(e)
    if "cursor" in agents:
        e = plan.edit(".cursor/mcp.json")
        add_server(e, server_entry(cursor=True))
        plan.record(e)
        e = plan.edit(".cursor/hooks.json")
        add_cursor_hook(e, brief_command(None, cursor=True))
        plan.record(e)
    for rel in ("AGENTS.md", "CLAUDE.md"):
        e = plan.edit(rel)
        if rel == "CLAUDE.md" and e.old is None:
            plan.edits.remove(e)
            continue
        sep = add_block(e)
        plan.record(e, sep=sep)
    if "codex" in agents and global_codex:
        path = codex_home() / "config.toml"
        e = plan.edit(str(path), path)
        add_toml_block(e)
    return plan.write()


def uninstall(work_tree: Path, float_dir: Path, global_codex: bool = False
              ) -> list[dict[str, str]]:
    plan = Plan(work_tree, float_dir)
    files = plan.manifest["files"]
    for rel in (*AGENT_FILES, *LAUNCHERS):
        info = files.get(rel, {"created": False, "keys": [], "sep": ""})
        e = plan.edit(rel)
        if rel in LAUNCHERS:
            e.new = None if info.get("created") else e.old
        elif rel.endswith(".md"):
            remove_block(e, info.get("sep", ""), bool(info.get("created")))
        else:
            remove_json(e, info.get("keys", []), bool(info.get("created")))
        files.pop(rel, None)
    if global_codex:
        path = codex_home() / "config.toml"
        remove_toml_block(plan.edit(str(path), path))
    plan.edits = [e for e in plan.edits if e.old is not None]
    return plan.write()


def add_toml_block(edit: Edit) -> None:
    text = edit.old or ""
    block = f"{TOML_BEGIN}\n{codex_snippet(NAME)}{TOML_END}\n"
    start, end = text.find(TOML_BEGIN), text.find(TOML_END)
    if start != -1 and end > start:
        new = text[:start] + block + text[end + len(TOML_END):].lstrip("\n")
    elif f"[mcp_servers.{NAME}]" in text or f'[mcp_servers."{NAME}"]' in text:
        raise FloatError(f"{edit.path} already has [mcp_servers.{NAME}] (not written by"
                         " float-hooks); edit it by hand, nothing was changed")
    else:
        new = text + ("\n" if text and not text.endswith("\n") else "") \
            + ("\n" if text.strip() else "") + block
    if new != text:
        edit.new = new


def remove_toml_block(edit: Edit) -> None:
    text = edit.old or ""
    start, end = text.find(TOML_BEGIN), text.find(TOML_END)
    if start != -1 and end > start:
        edit.new = (text[:start].rstrip("\n") + "\n" if text[:start].strip() else "") \
            + text[end + len(TOML_END):].lstrip("\n")


def _prune_dirs(folder: Path, stop: Path) -> None:
    """Remove ``folder`` (and its parents up to ``stop``) while empty: directories that only
    held a file install created (.cursor/, .claude/)."""
    while folder != stop and stop in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent
