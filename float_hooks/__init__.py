"""float-hooks: an AI-readable map of a git repository, kept fresh by content hashes."""

from __future__ import annotations

__version__ = "0.1.0"
