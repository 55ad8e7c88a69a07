"""``python -m webhook.regen_worker``: the regeneration role (PostgreSQL mode).

Takes ``float.regenerate`` jobs: one folder's self-contained request (the JSON a ``command``
regenerator receives on stdin) and the regenerator the repository's sync worker chose;
calls the model, keeps the answer in PostgreSQL (``float_answers``) and defers the
repository's sync job, which applies it under the stale-result guard. Stateless: it needs no
mirror and no map, so regeneration scales with the model's latency by adding hosts.

A command runs in a fresh temporary directory with the scrubbed environment the server gives
every regenerator (the basics and ``FLOAT_REGEN_ENV``'s keys, never the server's secrets).
Repository-chosen regenerators run only where the operator set ``FLOAT_TRUST_REPO_CONFIG=1``
(the sync worker checks it too). A failed answer is retried by procrastinate with backoff;
after the last attempt the folder may be asked again by a later sync.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from procrastinate import RetryStrategy

from float_hooks.errors import quoted
from float_hooks.regen.command import CommandRegenerator
from float_hooks.regen.env import keys_only, scrubbed
from float_hooks.regen.openai_api import OpenAIRegenerator
from float_hooks.regen.request import RegenError, Request, validate
from webhook.queues.pg_queue import REGEN_QUEUE, REGEN_TASK, PgContext, run_worker
from webhook.settings import Settings, for_process

log = logging.getLogger("webhook")

ATTEMPTS = 3
RETRY = RetryStrategy(max_attempts=ATTEMPTS, wait=2, exponential_wait=2)


class StoredRequest:
    """The fields of regen_io.Request a regenerator reads, from the request's JSON."""

    def __init__(self, path: str, source_hash: str, document: dict[str, Any]):
        self.path = path
        self.source_hash = source_hash
        self.document = document

    def as_json(self) -> dict[str, Any]:
        return self.document


def regenerator(spec: Mapping[str, Any], cwd: Path, settings: Settings) -> Any:
    env = scrubbed(os.environ, settings.regen_env)
    kind = spec.get("kind")
    if not settings.trust_repo_config:
        raise RegenError(f"regenerator kind {quoted(kind)} not run: set"
                         " FLOAT_TRUST_REPO_CONFIG=1 on the regeneration workers")
    if kind == "command":
        return CommandRegenerator(str(spec.get("command") or ""),
                                  float(spec.get("timeout") or 300), cwd, env)
    if kind == "openai":
        return OpenAIRegenerator(str(spec.get("base_url")), str(spec.get("model")),
                                 str(spec.get("api_key_env")),
                                 float(spec.get("timeout") or 300), keys_only(env))
    raise RegenError(f"regenerator kind {quoted(kind)} is not answered by regeneration"
                     " workers")


def answer(ctx: PgContext, *, repo: str, full_name: str, path: str, source_hash: str,
           request: dict[str, Any], regenerator_spec: dict[str, Any],
           attempt: int = 0) -> int:
    """Answer one request and keep the answer; returns its seq."""
    with tempfile.TemporaryDirectory(prefix="float-regen-") as tmp:
        try:
            regen = regenerator(regenerator_spec, Path(tmp), ctx.settings)
            fields, model = regen(cast(Request, StoredRequest(path, source_hash, request)))
            fields = validate(fields)
        except Exception:
            if attempt + 1 >= ATTEMPTS:  # given up: a later sync may ask again
                ctx.store.forget_request(repo, path, source_hash)
            raise
    seq = ctx.store.store_answer(repo, path, source_hash, fields, model, ctx.owner)
    ctx.defer_sync(repo, full_name)
    return seq


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m webhook.regen_worker", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--concurrency", type=int, default=None,
                   help="requests answered at once (default FLOAT_WORKER_THREADS)")
    args = p.parse_args(argv)
    settings = for_process("webhook.regen_worker", environ)
    if settings is None:
        return 2
    if not settings.database_url:
        print("webhook.regen_worker: FLOAT_DATABASE_URL is not set (regeneration workers"
              " need PostgreSQL)", file=sys.stderr)
        return 2
    def handle(ctx: PgContext, attempts: int, repo: str, full_name: str, path: str,
               source_hash: str, request: dict[str, Any], regenerator: dict[str, Any]) -> int:
        return answer(ctx, repo=repo, full_name=full_name, path=path,
                      source_hash=source_hash, request=request, regenerator_spec=regenerator,
                      attempt=attempts)

    concurrency = args.concurrency or settings.worker_threads
    return run_worker(settings, REGEN_QUEUE, REGEN_TASK, handle, concurrency, retry=RETRY)


if __name__ == "__main__":
    sys.exit(main())
