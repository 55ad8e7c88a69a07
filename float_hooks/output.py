"""Printing for people and for agents: JSON on request, a progress line only on a terminal."""

from __future__ import annotations

import json
import sys
import time
from typing import Any


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


def emit_json_rows(rows: list[Any]) -> None:
    """A JSON array with one element per line: the same data as :func:`emit_json`, for long
    lists. ``indent`` makes json use its pure-Python encoder; this keeps the C one, an order of
    magnitude faster on long lists."""
    if not rows:
        sys.stdout.write("[]\n")
        return
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    sys.stdout.write("[\n  " + ",\n  ".join(map(dumps, rows)) + "\n]\n")


def emit(line: str = "") -> None:
    sys.stdout.write(line + "\n")


# items a human list shows before ``... and N more`` (--json gives them all)
SHOWN = 20


def bounded(items: list[str], *, indent: str = "  ", limit: int = SHOWN) -> str:
    """``items``, one a line, at most ``limit`` of them, then ``... and N more``."""
    lines = [f"{indent}{item}" for item in items[:limit]]
    if len(items) > limit:
        lines.append(f"{indent}... and {len(items) - limit} more (--json lists them all)")
    return "\n".join(lines)


def inline(items: list[str], *, limit: int = SHOWN) -> str:
    """``items`` on one line, space-separated, at most ``limit``, then ``... and N more``."""
    text = " ".join(items[:limit])
    if len(items) > limit:
        text += f" ... and {len(items) - limit} more (--json lists them all)"
    return text


def error(message: str) -> None:
    sys.stderr.write(f"float-hooks: {message}\n")


class Progress:
    """``label: 1234/7500`` redrawn in place on stderr, at most ten times a second, and only
    when the output goes to a terminal: hooks, CI logs, pipes and agents see nothing."""

    def __init__(self, label: str, enabled: bool | None = None):
        self.label = label
        if enabled is None:
            enabled = sys.stdout.isatty() and sys.stderr.isatty()
        self.enabled = enabled
        self._last = 0.0
        self._shown = False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total < 500:
            return
        t = time.monotonic()
        if done < total and t - self._last < 0.1:
            return
        self._last = t
        self._shown = True
        sys.stderr.write(f"\r{self.label}: {done}/{total}")
        sys.stderr.flush()

    def close(self) -> None:
        if self._shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def table(rows: list[list[str]]) -> str:
    if not rows:
        return ""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    )
