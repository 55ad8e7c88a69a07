"""Errors that end a command with a clear one-line message and a script-stable exit code."""

from __future__ import annotations

# Exit codes are a contract (hooks, the webhook, the Action and scripts rely on them).
EXIT_OK = 0
EXIT_FOUND = 1  # ran, but found a problem the user asked to be told about
EXIT_ERROR = 2  # usage or environment error


class FloatError(Exception):
    """An expected failure: printed as one line, never as a traceback."""

    exit_code = EXIT_ERROR


class NotARepository(FloatError):
    pass


class NoDatabase(FloatError):
    pass


class CorruptDatabase(FloatError):
    """A damaged DB file (``path``): kept aside and rebuilt (project.quarantine)."""

    def __init__(self, message: str, path: object = None):
        super().__init__(message)
        self.path = path


class LockedDatabase(FloatError):
    pass


class GitError(FloatError):
    pass


class ConfigError(FloatError):
    pass


class NotFound(FloatError):
    pass


def quoted(text: object, limit: int = 80) -> str:
    """Text that came from elsewhere (a page, a repository's config, a model's answer, an
    argument), fit for a one-line message: in double quotes, cut at ``limit`` characters,
    with line breaks, control and invisible characters, quotes and backslashes escaped.
    Messages use this, never ``repr()``: its cost and length follow the input's."""
    s = str(text)
    cut = len(s) > limit
    shown = "".join(c if c.isprintable() and c not in '"\\' else _escaped(c) for c in s[:limit])
    return f'"{shown}{"…" if cut else ""}"'


def _escaped(c: str) -> str:
    if c in '"\\':
        return "\\" + c
    code = ord(c)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 \
        else f"\\U{code:08x}"
