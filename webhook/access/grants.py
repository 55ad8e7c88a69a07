"""What a token grants, and how a presented token is told apart from a wrong one.

A token is ``flt_<id>_<secret>``: ``id`` (12 hex digits) names its row, ``secret`` (32 random
bytes, URL-safe base64) is shown once at creation and stored only as its SHA-256, compared in
constant time. A grant is a scope (``owner/name``, ``owner/*`` or ``*``, lower-cased as
repository keys are) and a role:

- ``read``: the read API, the event stream, the dashboard and MCP's read tools;
- ``write``: also MCP's tools that write (set_context, log, question, answers, jobs);
- ``admin``: also the manual resync (a fetch and a full rebuild: an operator's repair).

``FLOAT_API_TOKEN`` is ``admin`` over ``*`` (ADMIN), as it always could do everything.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from webhook.names import InvalidName, check

ROLES = ("read", "write", "admin")  # each allows what the ones before it allow
PREFIX = "flt_"
_TOKEN = re.compile(r"flt_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
ID = re.compile(r"[0-9a-f]{12}")
MAX_LABEL = 100


class BadGrant(ValueError):
    """A scope, role or label that cannot be granted (one line, never echoing the value)."""


@dataclass(frozen=True)
class Grant:
    id: str
    scope: str  # owner/name, owner/* or *
    role: str
    label: str = ""

    def covers(self, repo: str) -> bool:
        """Whether ``repo`` (a lower-cased ``owner/name`` key) is in this grant's scope."""
        if self.scope == "*" or self.scope == repo:
            return True
        return self.scope.endswith("/*") and repo.partition("/")[0] == self.scope[:-2]

    def allows(self, repo: str, role: str) -> bool:
        return self.covers(repo) and rank(self.role) >= rank(role)

    @property
    def everywhere(self) -> bool:
        return self.scope == "*"

    def refusal(self, repo: str, role: str) -> str | None:
        """Why this grant may not do what needs ``role`` on ``repo`` (a validated key), or
        None when it may."""
        if not self.covers(repo):
            return f"this token does not cover {repo} (its scope is {self.scope})"
        if rank(self.role) < rank(role):
            return f"this token may {self.role} {repo}; this needs the {role} role"
        return None


ADMIN = Grant("env", "*", "admin", "FLOAT_API_TOKEN")


def rank(role: str) -> int:
    return ROLES.index(role)


def role_of(text: str) -> str:
    if text not in ROLES:
        raise BadGrant(f"a role is one of {', '.join(ROLES)}")
    return text


def scope_of(text: str) -> str:
    """``owner/name``, ``owner/*`` or ``*``, checked by GitHub's naming rules and lower-cased."""
    if text == "*":
        return text
    owner, slash, name = text.partition("/")
    try:
        if not slash:
            raise InvalidName("no slash")
        check(owner, "x" if name == "*" else name)
    except InvalidName:
        raise BadGrant("a scope is owner/name, owner/* or * (every repository)") from None
    return f"{owner}/{name}".lower()


def label_of(text: str) -> str:
    if len(text) > MAX_LABEL or not all(c.isprintable() for c in text):
        raise BadGrant(f"a label is at most {MAX_LABEL} printable characters")
    return text


def new_token() -> tuple[str, str, str]:
    """(id, the stored hash, the token to show once)."""
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return token_id, digest(secret), f"{PREFIX}{token_id}_{secret}"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse(token: str) -> tuple[str, str] | None:
    """(id, secret) of a well-formed token, else None."""
    found = _TOKEN.fullmatch(token)
    return (found.group(1), found.group(2)) if found else None


def matches(secret: str, stored: str) -> bool:
    return hmac.compare_digest(digest(secret).encode(), stored.encode())


def presented(header: str, basic: bool = True) -> str:
    """The token in ``Authorization: Bearer <token>`` or (``basic``) HTTP Basic with the
    token as the password (any user name: what a browser can send by itself); "" if none."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if basic and scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return decoded.partition(":")[2]
    return ""


def is_admin_token(given: str, admin_token: str | None) -> bool:
    """``FLOAT_API_TOKEN``, compared in constant time (none configured: nothing matches)."""
    return bool(admin_token) and bool(given) and hmac.compare_digest(
        given.encode("utf-8", "replace"), (admin_token or "").encode())
