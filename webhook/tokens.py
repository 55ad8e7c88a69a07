"""``python -m webhook.tokens``: the API tokens (webhook/access), run on a server host with its
environment (``FLOAT_DATA_DIR``, or ``FLOAT_DATABASE_URL`` for PostgreSQL).

- ``create --repo owner/name|owner/*|* --role read|write|admin [--label TEXT] [--json]``:
  prints the token once (only its hash is kept);
- ``list [--json]``: every token, revoked ones too (never a secret or a hash);
- ``revoke ID``: from the next request on, the token grants nothing.

Exit codes: 0 done; 1 ``revoke`` of an unknown id; 2 bad input or an unusable store (one line
on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import NoReturn

from float_hooks.errors import EXIT_ERROR, EXIT_FOUND, EXIT_OK
from webhook.access.grants import ID, ROLES, BadGrant, label_of, role_of, scope_of
from webhook.access.token_store import Tokens, open_tokens
from webhook.settings import SettingsError, storage

PROG = "webhook.tokens"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        print(f"{PROG}: {message}", file=sys.stderr)  # one line, not argparse's usage too
        raise SystemExit(EXIT_ERROR)


def _parser() -> _Parser:
    parser = _Parser(prog=f"python -m {PROG}", description="Create, list and revoke the"
                     " webhook server's API tokens.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    create = sub.add_parser("create", help="make a token (printed once)")
    create.add_argument("--repo", required=True, metavar="SCOPE",
                        help="owner/name, owner/* (every repository of owner) or '*' (all)")
    create.add_argument("--role", required=True, help=" < ".join(ROLES))
    create.add_argument("--label", default="", help="what it is for (shown by list)")
    create.add_argument("--json", action="store_true")
    listing = sub.add_parser("list", help="every token, revoked ones too")
    listing.add_argument("--json", action="store_true")
    revoke = sub.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("id")
    return parser


def _open() -> Tokens:
    data_dir, url = storage(os.environ)
    if url is not None:
        from webhook.queues.pg_store import apply_schema  # lazy: the [postgres] extra

        apply_schema(url)
    return open_tokens(data_dir, url)


def _when(at: float | None) -> str:
    return "" if at is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def run(args: argparse.Namespace) -> int:
    if args.command == "create":
        scope, role, label = scope_of(args.repo), role_of(args.role), label_of(args.label)
        tokens = _open()
        try:
            grant, token = tokens.create(scope, role, label)
        finally:
            tokens.close()
        if args.json:
            print(json.dumps({"id": grant.id, "scope": scope, "role": role, "label": label,
                              "token": token}))
        else:
            print(token)
            print(f"token {grant.id}: {role} on {scope}; shown once, keep it now",
                  file=sys.stderr)
        return EXIT_OK
    if args.command == "revoke":
        if not ID.fullmatch(args.id):
            raise BadGrant("a token id is 12 hex digits (python -m webhook.tokens list)")
        tokens = _open()
        try:
            done = tokens.revoke(args.id)
        finally:
            tokens.close()
        if done is None:
            print(f"{PROG}: no token {args.id}", file=sys.stderr)
            return EXIT_FOUND
        print(f"token {args.id} revoked" if done else f"token {args.id} was already revoked")
        return EXIT_OK
    tokens = _open()
    try:
        rows = tokens.rows()
    finally:
        tokens.close()
    if args.json:
        print(json.dumps(rows))
        return EXIT_OK
    for r in rows:
        state = f"revoked {_when(r['revoked_at'])}" if r["revoked_at"] else "active"
        print(f"{r['id']}  {r['role']:<5}  {r['scope']}  {state}  created"
              f" {_when(r['created_at'])}  {r['label']}".rstrip())
    if not rows:
        print("no tokens (create one with: python -m webhook.tokens create --repo OWNER/NAME"
              " --role read)")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return run(args)
    except (BadGrant, SettingsError) as e:
        print(f"{PROG}: {e}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as e:  # the store: a data directory we cannot write, PostgreSQL away
        print(f"{PROG}: cannot use the token store: {type(e).__name__}: "
              f"{' '.join(str(e).split())[:200]}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    raise SystemExit(main())
