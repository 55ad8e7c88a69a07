"""How a delivery row is shown (the dashboard, ``/deliveries``), the same in both modes: a row
put back ``queued`` after a failed attempt (its error kept, ``not_before`` its backoff) is
``retrying``, with ``next_attempt_at`` (epoch seconds; None: as soon as a worker is free).
The queues store it as ``queued``: only the view tells the two apart."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def retry_state(row: Mapping[str, Any]) -> tuple[str, float | None]:
    """(the state to show, the next attempt's time when ``retrying``)."""
    state = str(row["state"])
    if state == "retrying" or (state == "queued" and row.get("error")):
        not_before = float(row.get("not_before") or 0.0)
        return "retrying", not_before if not_before > 0 else None
    return state, None


def shown(row: Mapping[str, Any]) -> dict[str, Any]:
    """The row with ``state`` as shown and ``next_attempt_at`` added."""
    state, next_at = retry_state(row)
    return {**row, "state": state, "next_attempt_at": next_at}
