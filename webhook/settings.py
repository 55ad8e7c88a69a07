"""The server's configuration: an environment contract (``FLOAT_*``), overridable by the mapping
given to ``create_app`` (tests). Read once, validated once, then passed around as a value."""

from __future__ import annotations

import logging
import math
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from float_hooks.regen.env import NAME
from webhook.names import InvalidName, repo_key, valid_branch

ON_PUSH_MODES = ("regenerate", "queue", "off")
WORKER_MODES = ("thread", "off")


class SettingsError(Exception):
    """A configuration the server must refuse to start with."""


@dataclass(frozen=True)
class Settings:
    secret: bytes | None  # None only with the explicit insecure dev flag
    data_dir: Path
    git_url_template: str
    api_token: str | None
    repos: frozenset[str] | None  # lower-cased owner/name allowlist; None = any repository
    on_push: str
    github_token: str | None
    github_api_url: str
    branch: str | None  # tracked branch for every repository; None = the default branch
    trust_repo_config: bool  # run a repository's own command/HTTP regenerator settings
    worker: str  # "thread": worker threads in the app; "off": a separate process does it
    worker_threads: int
    lease_seconds: float
    poll_seconds: float
    max_attempts: int
    delivery_timeout: float  # seconds one delivery's process may take (job.py)
    delivery_memory_mb: int  # its data segment limit (RLIMIT_DATA)
    regen_env: tuple[str, ...] = ()  # key variables regenerators may see (FLOAT_REGEN_ENV)
    # FLOAT_DATABASE_URL: PostgreSQL (procrastinate) holds the queues, stored regeneration
    # answers and read model; None = embedded SQLite files in data_dir (the default)
    database_url: str | None = None
    # with PostgreSQL: command/openai regeneration is answered by regeneration workers
    # (python -m webhook.regen_worker), not in the sync worker's job process
    regen_remote: bool = False
    # with PostgreSQL: a worker silent (no heartbeat) this long is dead; its jobs are retried
    stalled_seconds: float = 30.0
    max_streams: int = 24  # event streams open at once per process (FLOAT_MAX_STREAMS)
    stream_seconds: float = 300.0  # an event stream's lifetime; clients reconnect after it
    # FLOAT_EXPORT_BRANCH: the branch of each origin the server pushes its export to
    # (export_push.py); None: nothing is pushed
    export_branch: str | None = None
    # FLOAT_DASHBOARD_UNFETCHED_DAYS: a repository that never fetched (no delivery done) leaves
    # the dashboard's overview this long after its last delivery
    dashboard_unfetched_seconds: float = 7 * 86400.0
    # FLOAT_HEALTH_MAX_WAIT_SECONDS: /health is degraded when the oldest open delivery has
    # waited longer (default: FLOAT_DELIVERY_TIMEOUT, at least 900 s; queues/health.py)
    health_max_wait_seconds: float = 900.0

    def allowed(self, full_name: str) -> bool:
        return self.repos is None or repo_key(full_name) in self.repos


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def for_process(prog: str, environ: Mapping[str, str] | None = None) -> Settings | None:
    """The settings of a worker process started from the command line (``prog``: its
    name), with logging set up; None after a one-line error on stderr (exit 2)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        return load(None, environ)
    except SettingsError as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return None


def load(config: Mapping[str, Any] | None = None,
         environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``environ`` (default: os.environ), with ``config`` taking precedence.
    Keys are the environment names, e.g. ``{"FLOAT_WEBHOOK_SECRET": "..."}``."""
    env: dict[str, Any] = dict(os.environ if environ is None else environ)
    env.update(config or {})

    def get(name: str, default: str | None = None) -> str | None:
        value = env.get(name)
        if value is None or str(value) == "":
            return default
        return str(value)

    secret = get("FLOAT_WEBHOOK_SECRET")
    if secret is None and not _flag(get("FLOAT_WEBHOOK_INSECURE")):
        # Without a secret anyone who can reach the server could queue work for any repository.
        raise SettingsError(
            "FLOAT_WEBHOOK_SECRET is not set: refusing to start (set it to the webhook's "
            "secret; FLOAT_WEBHOOK_INSECURE=1 skips signature checks for local development)")
    data_dir, database_url = storage(env)
    template = get("FLOAT_GIT_URL_TEMPLATE", "https://github.com/{full_name}.git") or ""
    if "{full_name}" not in template:
        raise SettingsError("FLOAT_GIT_URL_TEMPLATE must contain {full_name}")
    repos: frozenset[str] | None = None
    if get("FLOAT_REPOS"):
        names = [n.strip() for n in (get("FLOAT_REPOS") or "").split(",") if n.strip()]
        try:
            repos = frozenset(repo_key(n) for n in names)
        except InvalidName as e:
            raise SettingsError(f"FLOAT_REPOS: {e}") from e
    on_push = get("FLOAT_ON_PUSH", "regenerate") or ""
    if on_push not in ON_PUSH_MODES:
        raise SettingsError(f"FLOAT_ON_PUSH must be one of {', '.join(ON_PUSH_MODES)}")
    branch = get("FLOAT_BRANCH")
    if branch is not None and not valid_branch(branch):
        raise SettingsError("FLOAT_BRANCH: not a valid branch name by git's rules"
                            " (git check-ref-format --branch)")
    export_branch = get("FLOAT_EXPORT_BRANCH") or None
    if export_branch is not None and (not valid_branch(export_branch)
                                      or export_branch == branch):
        raise SettingsError("FLOAT_EXPORT_BRANCH: a valid branch name by git's rules, other"
                            " than FLOAT_BRANCH")
    # with PostgreSQL the web role only records and enqueues: workers are their own processes
    worker = get("FLOAT_WORKER", "off" if database_url else "thread") or ""
    if worker not in WORKER_MODES:
        raise SettingsError(f"FLOAT_WORKER must be one of {', '.join(WORKER_MODES)}")
    if database_url and worker == "thread":
        raise SettingsError("FLOAT_WORKER=thread runs the embedded SQLite queue; with"
                            " FLOAT_DATABASE_URL run `python -m webhook.worker` instead")
    try:
        threads = int(get("FLOAT_WORKER_THREADS", "2") or "2")
        lease = float(get("FLOAT_LEASE_SECONDS", "120") or "120")
        poll = float(get("FLOAT_POLL_SECONDS", "0.25") or "0.25")
        attempts = int(get("FLOAT_MAX_ATTEMPTS", "3") or "3")
        timeout = float(get("FLOAT_DELIVERY_TIMEOUT", "900") or "900")
        memory = int(get("FLOAT_DELIVERY_MEMORY_MB", "2048") or "2048")
        stalled = float(get("FLOAT_STALLED_SECONDS", "30") or "30")
        max_streams = int(get("FLOAT_MAX_STREAMS", "24") or "24")
        stream_seconds = float(get("FLOAT_STREAM_SECONDS", "300") or "300")
        unfetched_days = float(get("FLOAT_DASHBOARD_UNFETCHED_DAYS", "7") or "7")
        health_wait = float(get("FLOAT_HEALTH_MAX_WAIT_SECONDS", "") or max(900.0, timeout))
    except ValueError as e:
        raise SettingsError(f"invalid number in the worker settings: {e}") from e
    if not 0 < health_wait < math.inf:
        raise SettingsError("FLOAT_HEALTH_MAX_WAIT_SECONDS must be positive")
    if not 0 <= unfetched_days <= 36500:
        raise SettingsError("FLOAT_DASHBOARD_UNFETCHED_DAYS must be between 0 and 36500")
    if max_streams < 0 or not 0 < stream_seconds < math.inf:
        raise SettingsError("FLOAT_MAX_STREAMS must be 0 or more and FLOAT_STREAM_SECONDS"
                            " positive")
    if (threads < 1 or not 0 < lease < math.inf or not 0 < poll < math.inf or attempts < 1
            or not 0 < timeout < math.inf or memory < 64 or not 0 < stalled < math.inf):
        raise SettingsError("worker settings must be positive (FLOAT_DELIVERY_MEMORY_MB at"
                            " least 64)")
    regen_env = tuple(n.strip() for n in (get("FLOAT_REGEN_ENV") or "").split(",")
                      if n.strip())
    for name in regen_env:
        if not NAME.fullmatch(name):
            raise SettingsError("FLOAT_REGEN_ENV: a comma-separated list of variable names")
        if name.startswith("FLOAT_") or name.startswith("GIT_"):
            # the server's own settings and secrets, and git's (credentials), never go to a
            # program a repository chose
            raise SettingsError(f"FLOAT_REGEN_ENV may not name {name}: the server's own"
                                " FLOAT_* settings and GIT_* variables never reach a"
                                " regenerator")
    return Settings(
        secret=secret.encode() if secret is not None else None,
        data_dir=data_dir,
        git_url_template=template,
        api_token=get("FLOAT_API_TOKEN"),
        repos=repos,
        on_push=on_push,
        github_token=get("FLOAT_GITHUB_TOKEN"),
        github_api_url=(get("FLOAT_GITHUB_API_URL", "https://api.github.com") or "").rstrip("/"),
        branch=branch,
        trust_repo_config=_flag(get("FLOAT_TRUST_REPO_CONFIG")),
        worker=worker,
        worker_threads=threads,
        lease_seconds=lease,
        poll_seconds=poll,
        max_attempts=attempts,
        delivery_timeout=timeout,
        delivery_memory_mb=memory,
        regen_env=regen_env,
        database_url=database_url,
        regen_remote=database_url is not None,
        stalled_seconds=stalled,
        max_streams=max_streams,
        stream_seconds=stream_seconds,
        export_branch=export_branch,
        dashboard_unfetched_seconds=unfetched_days * 86400.0,
        health_max_wait_seconds=health_wait,
    )


def storage(environ: Mapping[str, Any]) -> tuple[Path, str | None]:
    """Where the server keeps its state: ``FLOAT_DATA_DIR`` (resolved) and
    ``FLOAT_DATABASE_URL`` (None: embedded SQLite). All a tool that only reads or writes
    that state needs (``python -m webhook.tokens``)."""
    data_dir = Path(str(environ.get("FLOAT_DATA_DIR") or "") or "float-data").resolve()
    return data_dir, _database_url(str(environ.get("FLOAT_DATABASE_URL") or "") or None)


def _database_url(url: str | None) -> str | None:
    if url is None:
        return None
    if not url.startswith(("postgresql://", "postgres://")):
        raise SettingsError("FLOAT_DATABASE_URL must be a postgresql:// URL")
    return url
