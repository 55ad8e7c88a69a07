from __future__ import annotations

import argparse

from float_hooks.agents import install, launcher
from float_hooks.commands import _common
from float_hooks.errors import FloatError
from float_hooks.output import emit, emit_json

HELP = "register the map with coding agents (Claude Code, Cursor, Codex): MCP server, session" \
       " hooks, AGENTS.md"


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    inst = sub.add_parser("install", help="write or merge the agents' config files")
    for name, label in (("claude", "Claude Code"), ("cursor", "Cursor"), ("codex", "Codex")):
        inst.add_argument(f"--{name}", action="append_const", const=name, dest="agents",
                          help=f"configure {label}")
    inst.add_argument("--all", action="store_true", help="configure every agent")
    inst.add_argument("--global", dest="global_codex", action="store_true",
                      help="also write Codex's global ~/.codex/config.toml ($CODEX_HOME)")
    _common.add_json(inst)
    un = sub.add_parser("uninstall", help="remove exactly what install added")
    un.add_argument("--global", dest="global_codex", action="store_true",
                    help="also remove the block install wrote to Codex's config.toml")
    _common.add_json(un)


def run(args: argparse.Namespace) -> int:
    proj = _common.project(args)
    if proj.work_tree is None:
        raise FloatError("agents install needs a work tree (this is a bare repository)")
    _common.require_initialised(proj)  # the server and the brief serve .float/'s map
    if args.action == "uninstall":
        changes = install.uninstall(proj.work_tree, proj.float_dir, args.global_codex)
        _report(changes, None, args.json)
        return 0
    chosen = list(install.AGENTS) if args.all else (args.agents or install.detect(proj.work_tree))
    if args.global_codex and "codex" not in chosen:
        chosen.append("codex")
    changes = install.install(proj.work_tree, proj.float_dir, chosen, args.global_codex)
    snippet = (launcher.codex_snippet(install.NAME) if "codex" in chosen and not args.global_codex
               else None)
    _report(changes, snippet, args.json, chosen)
    return 0


def _report(changes: list[dict[str, str]], snippet: str | None, as_json: bool,
            chosen: list[str] | None = None) -> None:
    if as_json:
        emit_json({"agents": chosen, "changes": changes, "codex_snippet": snippet})
        return
    for c in changes:
        emit(f"{c['action']:<9} {c['path']}")
    if snippet:
        emit("\nCodex reads MCP servers from ~/.codex/config.toml; add this (or run"
             " `float-hooks agents install --codex --global`):\n")
        emit(snippet.rstrip("\n"))
