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
