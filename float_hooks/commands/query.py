from __future__ import annotations

import argparse

from float_hooks.commands import _common
from float_hooks.map.build import open_built
from float_hooks.output import emit, emit_json, error, table
from float_hooks.store import sqlguard

HELP = "run read-only SQL against the database (writes, ATTACH and PRAGMA writes are refused)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("sql", metavar="SQL",
                   help="one read-only SQL statement, e.g. \"SELECT path, status FROM folders\";"
                        " `query \"SELECT name FROM sqlite_master WHERE type = 'table'\"`"
                        " lists the tables")
    p.add_argument("--max-rows", type=int, default=10000, metavar="N",
                   help="return at most N rows (default 10000; a note on stderr says when"
                        " there were more)")
    p.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                   help="stop the query after this long (default 10)")
    _common.add_json(p)


def run(args: argparse.Namespace) -> int:
    proj = _common.settled(_common.project(args))
    open_built(proj).close()  # create/upgrade the schema first; the query itself is read-only
    store = proj.open_readonly()
    try:
        result = sqlguard.run(store.conn, args.sql, max_rows=max(args.max_rows, 0),
                              timeout=max(args.timeout, 0.001))
    finally:
        store.close()
    if args.json:
        emit_json(result.as_dicts())
    elif result.columns:
        emit(table([result.columns] + [["" if v is None else str(v) for v in r]
                                       for r in result.rows]))
    if result.truncated:
        error(f"showing the first {args.max_rows} rows (--max-rows)")
    return 0
