from __future__ import annotations

import argparse

from float_hooks.commands import _common
from float_hooks.output import emit, emit_json, table
from float_hooks.regen import job_queue

HELP = "list the regeneration queue (state, attempts, retry time, last error)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--retry", action="store_true",
                   help="put jobs that gave up back in the queue")
    _common.add_json(p)


def run(args: argparse.Namespace) -> int:
    store = _common.store(args)
    try:
        if args.retry:
            with store.write() as conn:
                n = job_queue.retry_failed(conn)
            if not args.json:
                emit(f"{n} failed jobs queued again")
        jobs = job_queue.list_jobs(store.conn)
    finally:
        store.close()
    if args.json:
        emit_json(jobs)
        return 0
    if not jobs:
        emit("no jobs")
        return 0
    rows = [["PATH", "STATE", "REASON", "ATTEMPTS", "NOTE"]]
    for j in jobs:
        if j["state"] == "running":
            note = f"lease {j['lease_left']}s ({j['lease_owner']})"
        elif j["retry_in"]:
            note = f"retry in {j['retry_in']}s"
        else:
            note = ""
        if j["last_error"]:
            note = (note + "; " if note else "") + j["last_error"].splitlines()[0][:100]
        rows.append([j["path"], j["state"], j["reason"], str(j["attempts"]), note])
    emit(table(rows))
    return 0
