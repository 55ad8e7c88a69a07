"""The staleness rule: whether a folder's context is pending, current or stale.

A folder has a ``source_hash`` (the Merkle hash of what is in it now, docs/hash-format.md) and,
once context was written for it, a ``context_hash``: the ``source_hash`` that context was
written against. The rule is a comparison of the two, nothing else: no timestamps, no history.
Reverting a change makes the folder current again.

The DB computes it as the generated column ``folders.status`` (:data:`STATUS_SQL`, which the
schema uses); :func:`folder_status` is the same rule for code that holds the two hashes.
"""

from __future__ import annotations

PENDING = "pending"  # no context yet
CURRENT = "current"  # the context was written for the folder's present hash
STALE = "stale"  # the folder changed since its context was written
STATUSES = (PENDING, CURRENT, STALE)

STATUS_SQL = (f"CASE WHEN context_hash IS NULL THEN '{PENDING}'"
              f" WHEN context_hash = source_hash THEN '{CURRENT}'"
              f" ELSE '{STALE}' END")


def folder_status(context_hash: str | None, source_hash: str) -> str:
    """The rule of :data:`STATUS_SQL`, for a folder's two hashes."""
    if context_hash is None:
        return PENDING
    return CURRENT if context_hash == source_hash else STALE
