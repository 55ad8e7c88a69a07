"""What the dashboard shows of a push, taken from its payload at intake: the head commit's
subject, the pusher, and the repository's page (the commit and compare links are built from
it and the checked commit ids when a page is rendered, never taken from the payload).

The payload is hostile: each field is kept only when it has the expected type, cut to a
bounded length, stripped of control characters; the repository page only when it is exactly
``https://<GitHub's web host>/<owner>/<name>`` for the repository the delivery is for, the
host being the operator's (FLOAT_GITHUB_API_URL's), never one the payload names.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import urlsplit

MAX_SUBJECT = 200  # characters of the head commit's first line
MAX_PUSHER = 100
_HOST = re.compile(r"[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:[0-9]{1,5})?")


def web_host(api_url: str) -> str:
    """GitHub's web host for its API URL: GitHub Enterprise Server serves both from one host
    (``https://ghe.example/api/v3``); github.com and GitHub Enterprise Cloud with data
    residency serve the API from ``api.`` before the web host (``api.github.com``,
    ``api.acme.ghe.com``)."""
    parts = urlsplit(api_url)
    host = (parts.netloc or "").lower()
    if host.startswith("api.") and not parts.path.startswith("/api/"):
        return host[len("api."):]
    return host


def _text(value: object, limit: int) -> str | None:
    """A one-line printable string of at most ``limit`` characters, or None."""
    if not isinstance(value, str):
        return None
    line = value.strip().split("\n", 1)[0].strip()
    # control and format characters (bidi overrides among them) and lone surrogates go
    line = "".join(c for c in line if unicodedata.category(c) not in ("Cc", "Cf", "Cs"))
    if not line:
        return None
    return line if len(line) <= limit else line[:limit - 1] + "\u2026"


def repository_page(repository: dict[str, Any], full_name: str, api_url: str) -> str | None:
    """The repository's html_url when it is its page on the operator's GitHub, else None."""
    url = repository.get("html_url")
    host = web_host(api_url)
    if not isinstance(url, str) or len(url) > 400 or not _HOST.fullmatch(host):
        return None
    expected = f"https://{host}/{full_name}"
    return expected if url.lower() == expected.lower() else None


def push_fields(data: dict[str, Any], full_name: str, api_url: str) -> dict[str, str | None]:
    """The dashboard's fields of a push payload (``data``), each None when absent or unfit."""
    head = data.get("head_commit")
    pusher = data.get("pusher")
    repository = data.get("repository")
    return {
        "head_subject": _text(head.get("message"), MAX_SUBJECT)
        if isinstance(head, dict) else None,
        "pusher": _text(pusher.get("name"), MAX_PUSHER) if isinstance(pusher, dict) else None,
        "html_url": repository_page(repository, full_name, api_url)
        if isinstance(repository, dict) else None,
    }
