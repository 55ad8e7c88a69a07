"""One module per subcommand: ``HELP``, ``add_arguments(parser)``, ``run(args) -> exit code``."""

from __future__ import annotations

# subcommand -> module in float_hooks.commands (each has HELP, add_arguments, run)
COMMANDS: dict[str, str] = {
    "init": "init",
    "sync": "sync",
    "status": "status",
    "stale": "stale",
    "why": "why",
    "show": "show",
    "set": "set",
    "log": "log",
    "question": "question",
    "ref": "ref",
    "search": "search",
    "outline": "outline",
    "where": "where",
    "query": "query",
    "archive": "archive",
    "conflicts": "conflicts",
    "regenerate": "regenerate",
    "worker": "worker",
    "jobs": "jobs",
    "watch": "watch",
    "export": "export",
    "import": "import_",
    "install": "install",
    "uninstall": "uninstall",
    "check": "check",
    "mcp": "mcp",
    "agents": "agents",
    "brief": "brief",
    "hook-impl": "hook_impl",  # what hook shims run; HELP "" keeps it out of --help
}
