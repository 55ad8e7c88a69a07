from __future__ import annotations

import argparse
import sqlite3

from float_hooks.commands import _common
from float_hooks.errors import FloatError
from float_hooks.output import emit, emit_json, table

HELP = "run read-only SQL against the database (writes are refused)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("sql", metavar="SQL",
                   help="one read-only SQL statement, e.g. \"SELECT path, status FROM folders\";"
                        " `query \"SELECT name FROM sqlite_master WHERE type = 'table'\"`"
                        " lists the tables")
    _common.add_json(p)


def run(args: argparse.Namespace) -> int:
    proj = _common.settled(_common.project(args))
    proj.open_store().close()  # create/upgrade the schema first; the query itself is read-only
    store = proj.open_readonly()
    try:
        cur = store.conn.execute(args.sql)
        rows = cur.fetchall()
    except sqlite3.Error as e:
        msg = str(e)
        if "readonly" in msg or "read-only" in msg:
            raise FloatError("query is read-only: writes are refused") from e
        raise FloatError(f"query failed: {msg}") from e
    columns = [d[0] for d in cur.description or []]
    data = [dict(zip(columns, r, strict=True)) for r in rows]
    if args.json:
        emit_json(data)
    elif columns:
        emit(table([columns] + [["" if v is None else str(v) for v in r] for r in rows]))
    return 0
