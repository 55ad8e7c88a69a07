"""The PostgreSQL event log (webhook/events/pg_log.py) against a real server: ids are monotonic,
``since`` filters and pages, the log keeps the last N events per repository, and ``wait`` in
one process wakes when another process appends."""

from __future__ import annotations

import subprocess
import sys
import threading

from tests.gitrepo import PROJECT_ROOT
from tests.pg_server import pg_server, pg_url  # noqa: F401
from webhook.events.pg_log import PgEventLog


def test_append_since_and_trim(pg_url: str) -> None:  # noqa: F811
    log = PgEventLog(pg_url, keep=3)
    try:
        ids = [log.append("acme/a" if i % 2 == 0 else "acme/b", "sync", {"n": i})
               for i in range(8)]
        assert ids == sorted(ids) and len(set(ids)) == 8
        a = log.since("acme/a", 0)
        assert [e.data["n"] for e in a] == [2, 4, 6]  # the last 3 of acme/a's 4
        assert all(e.repo == "acme/a" and e.kind == "sync" for e in a)
        b = log.since("acme/b", 0)
        assert [e.data["n"] for e in b] == [3, 5, 7]
        every = log.since(None, 0)
        assert [e.id for e in every] == sorted(e.id for e in a + b)  # oldest first
        assert log.since(None, ids[5], limit=1) == [every[every.index(
            next(e for e in every if e.id > ids[5]))]]
        assert a[0].at.endswith("Z")  # UTC, as the embedded log gives it
        assert log.wait(ids[-1] - 1, 0.0)  # already there: no waiting
        assert not log.wait(ids[-1], 0.2)
    finally:
        log.close()


APPEND = """
import sys, time
from webhook.events.pg_log import PgEventLog
log = PgEventLog(sys.argv[1])
sys.stdin.readline()  # go
print(log.append("acme/x", "context", {"path": "/src"}), flush=True)
log.close()
"""


def test_wait_wakes_when_another_process_appends(pg_url: str) -> None:  # noqa: F811
    log = PgEventLog(pg_url)
    last = log.append("acme/x", "sync", {})
    proc = subprocess.Popen([sys.executable, "-c", APPEND, pg_url], cwd=PROJECT_ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert not log.wait(last, 0.2)  # nothing new yet
        woke: list[bool] = []
        waiter = threading.Thread(target=lambda: woke.append(log.wait(last, 60.0)))
        waiter.start()
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
        new_id = int(proc.stdout.readline())
        waiter.join(60)
        assert woke == [True]
        assert new_id > last
        events = log.since(None, last)
        assert [(e.id, e.kind, e.data) for e in events] == [
            (new_id, "context", {"path": "/src"})]
    finally:
        proc.wait(30)
        log.close()


def _blocked(target: object, *args: object) -> tuple[threading.Thread, list[object]]:
    """Run ``target(*args)`` in a thread; its result lands in the returned list."""
    out: list[object] = []
    t = threading.Thread(target=lambda: out.append(target(*args)),  # type: ignore[operator]
                         daemon=True)
    t.start()
    return t, out


def test_ids_and_answer_seqs_become_visible_in_order(pg_url: str) -> None:  # noqa: F811
    """A writer that took a lower id (or answer seq) but commits later would be skipped by
    a reader that moved past a higher one: appends and answers commit in order."""
    import psycopg

    from webhook.events.pg_log import APPEND_LOCK
    from webhook.queues.pg_store import PgStore, apply_schema, connect_pool

    apply_schema(pg_url)
    log = PgEventLog(pg_url)
    store = PgStore(connect_pool(pg_url))
    slow = psycopg.connect(pg_url)  # a writer that has taken its id, not yet committed
    try:
        with slow.transaction():
            slow.execute("SELECT pg_advisory_xact_lock(%s)", (APPEND_LOCK,))
            row = slow.execute("INSERT INTO float_events(repo, kind, data) VALUES"
                               " ('acme/a', 'sync', '{}') RETURNING id").fetchone()
            assert row is not None
            early = row[0]
            t, later = _blocked(log.append, "acme/a", "sync", {})
            t.join(1.0)
            assert t.is_alive()  # waits for the earlier id's commit
        t.join(30)
        assert later[0] > early and [e.id for e in log.since("acme/a", early - 1)][:2] == \
            [early, later[0]]
        with slow.transaction():
            slow.execute("SELECT pg_advisory_xact_lock(hashtext('float_answers:' || %s))",
                         ("acme/a",))
            t, seq = _blocked(store.store_answer, "acme/a", "/src", "h1", {"map_summary": "s"},
                              "m", "w1")
            t.join(1.0)
            assert t.is_alive()  # another answer of the repository is being committed
        t.join(30)
        assert [a["path"] for a in store.answers_after("acme/a", 0)] == ["/src"]
        assert isinstance(seq[0], int)
    finally:
        slow.close()
        log.close()
        store.pool.close()


def test_concurrent_appends_are_committed_together_in_order(pg_url: str) -> None:  # noqa: F811
    # appends from many threads at once share transactions (group commit): every one gets
    # its own id, each thread's ids rise in the order it appended, and all are readable
    log = PgEventLog(pg_url)
    got: dict[int, list[int]] = {}

    def appender(t: int) -> None:
        got[t] = [log.append(f"acme/r{t % 3}", "delivery", {"t": t, "n": n}) for n in range(5)]

    try:
        threads = [threading.Thread(target=appender, args=(t,)) for t in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(got) == list(range(16))
        for ids in got.values():
            assert ids == sorted(ids)
        every = {e.id: e.data for e in log.since(None, 0, 1000)}
        assert len(every) == 80 and set(every) == {i for ids in got.values() for i in ids}
        for t, ids in got.items():
            assert [every[i] for i in ids] == [{"t": t, "n": n} for n in range(5)]
    finally:
        log.close()
