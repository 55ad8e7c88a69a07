"""Commit statuses on GitHub (``float/context``: "N folders stale") through the REST API.

Only sent when ``FLOAT_GITHUB_TOKEN`` is set. A failure to report is recorded in the delivery's
result and logged; it never fails the delivery (the map itself is already up to date).
"""

from __future__ import annotations

from typing import Any

from webhook.names import split

CONTEXT = "float/context"
TIMEOUT = 10.0


def describe(counts: dict[str, Any]) -> tuple[str, str]:
    """(state, description) for the status counts of a synced repository."""
    stale = int(counts.get("stale", 0))
    pending = int(counts.get("pending", 0))
    text = f"{stale} folder{'' if stale == 1 else 's'} stale"
    if pending:
        text += f", {pending} without context"
    return ("success" if stale == 0 else "failure"), text


def report(api_url: str, token: str, full_name: str, sha: str,
           counts: dict[str, Any], target_url: str | None = None) -> dict[str, Any]:
    """POST /repos/{owner}/{repo}/statuses/{sha}; returns what was sent and GitHub's answer."""
    import requests  # not needed to answer a request, so not imported by one

    owner, repo = split(full_name)
    if len(sha) != 40 or any(c not in "0123456789abcdef" for c in sha):
        return {"sent": False, "error": "not a commit id"}
    state, description = describe(counts)
    body: dict[str, Any] = {"state": state, "description": description, "context": CONTEXT}
    if target_url:
        body["target_url"] = target_url
    try:
        resp = requests.post(
            f"{api_url}/repos/{owner}/{repo}/statuses/{sha}",
            json=body,
            headers={"Authorization": f"Bearer {token}",
                     "Accept": "application/vnd.github+json",
                     "X-GitHub-Api-Version": "2022-11-28",
                     "User-Agent": "float-hooks-webhook"},
            timeout=TIMEOUT,
        )
    except requests.RequestException as e:
        return {"sent": False, "state": state, "description": description,
                "error": f"{type(e).__name__}: {e}"}
    out: dict[str, Any] = {"sent": resp.ok, "state": state, "description": description,
                           "http_status": resp.status_code}
    if not resp.ok:
        out["error"] = resp.text[:200]
    return out
