"""The environment a regenerator runs with when the caller must not hand it its own.

The webhook server runs regenerators chosen by repositories (``FLOAT_TRUST_REPO_CONFIG=1``):
they get the basics a program needs (PATH, HOME, locale, time zone, temp dir, proxies and CA
bundles) plus the key variables the operator named, and nothing else: never the server's own
secrets (``FLOAT_WEBHOOK_SECRET``, ``FLOAT_API_TOKEN``, ``FLOAT_GITHUB_TOKEN``), nor git's
settings (``GIT_*`` may carry credentials). The local CLI passes no environment, so a
user's own ``command`` regenerator sees theirs, as any program they start does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

BASICS = frozenset({
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ", "TMPDIR", "TEMP",
    "TMP", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
    "no_proxy", "all_proxy",
})
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")


def scrubbed(environ: Mapping[str, str], keys: Iterable[str] = ()) -> dict[str, str]:
    """``environ`` reduced to the basics (and ``LC_*``) plus the variables named in
    ``keys`` that are set."""
    allowed = BASICS | set(keys)
    return {k: v for k, v in environ.items() if k in allowed or k.startswith("LC_")}


def keys_only(environ: Mapping[str, str]) -> dict[str, str]:
    """What ``scrubbed`` kept beyond the basics: the named key variables, the only ones an
    HTTP regenerator may send as its key (not HOME or PATH)."""
    return {k: v for k, v in environ.items() if k not in BASICS and not k.startswith("LC_")}
