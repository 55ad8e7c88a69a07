"""Queue semantics on real repositories: deduplication, children before parents, backoff and
max attempts, the stale-result guard, reuse of earlier context on a revert, and a parent
queued again when a child's summary changes."""

from __future__ import annotations

from typing import Any

from float_hooks.map.build import open_built
from float_hooks.project import Project
from float_hooks.regen import job_queue
from float_hooks.regen.request import RegenError, Request
from float_hooks.regen.run import run_jobs
from tests.gitrepo import GitRepo
from tests.regen_support import configure, folder, jobs


def _project(repo: GitRepo) -> Project:
    return Project.discover(repo.path)


def test_one_job_per_folder_deduplicated_with_its_hash(synced: GitRepo) -> None:
    store = open_built(_project(synced))
    try:
        with store.write() as conn:
            first = job_queue.enqueue_all(conn)
            again = job_queue.enqueue_all(conn)
    finally:
        store.close()
    listed = jobs(synced)
    assert first == len(listed) == 5 and again == 0
    hashes = {r["path"]: r["source_hash"] for r in
              synced.float_json("query", "SELECT path, source_hash FROM folders")}
    assert {p: j["source_hash"] for p, j in listed.items()} == hashes
    assert {j["reason"] for j in listed.values()} == {"pending"}
    # a change gives the same folder's job the new hash, still one job per folder
    synced.write("src/auth/login.py", "def login(): return 1\n")
    synced.float_ok("sync")
    store = open_built(_project(synced))
    try:
        with store.write() as conn:
            assert job_queue.enqueue_all(conn) == 3  # /src/auth, /src, /
    finally:
        store.close()
    after = jobs(synced)
    assert len(after) == 5
    assert after["/src/auth"]["source_hash"] != listed["/src/auth"]["source_hash"]
    assert after["/docs"] == listed["/docs"]


def test_children_before_parents(synced: GitRepo) -> None:
    order: list[str] = []

    def regen(req: Request) -> tuple[dict[str, Any], str]:
        # a parent is never asked before all its children are done
        for child in req.folders:
            assert child["map_summary"] == f"summary of {child['path']}", (req.path, child)
        order.append(req.path)
        return {"map_summary": f"summary of {req.path}"}, "test-model"

    proj = _project(synced)
    store = open_built(proj)
    try:
        summary = run_jobs(proj, store, regen=regen)
    finally:
        store.close()
    assert order.index("/src/auth/tokens") < order.index("/src/auth") < order.index("/src")
    assert order[-1] == "/"
    assert sorted(summary.done) == sorted(order) and summary.remaining == 0
    assert set(synced.folders().values()) == {"current"}
    assert folder(synced, "/src")["ai_model"] == "test-model"


def test_parent_not_taken_while_a_descendant_has_an_open_job(synced: GitRepo) -> None:
    store = open_built(_project(synced))
    try:
        with store.write() as conn:
            job_queue.enqueue_all(conn)
        first = job_queue.take(store, "w1", lease_seconds=60, max_attempts=3)
        assert first.job is not None and first.job.path == "/src/auth/tokens"
        # /src/auth is blocked by the running child; only /docs (no descendants) is ready
        second = job_queue.take(store, "w2", lease_seconds=60, max_attempts=3,
                            within=["/src/auth"])
        assert second.job is None
        third = job_queue.take(store, "w2", lease_seconds=60, max_attempts=3)
        assert third.job is not None and third.job.path == "/docs"
    finally:
        store.close()


def test_backoff_max_attempts_and_last_error(synced: GitRepo) -> None:
    configure(synced, max_attempts=3, backoff_seconds=100)
    calls: list[str] = []

    def failing(req: Request) -> tuple[dict[str, Any], str]:
        calls.append(req.path)
        raise RegenError(f"model refused {req.path}")

    proj = _project(synced)
    store = open_built(proj)
    try:
        s = run_jobs(proj, store, paths=["/docs"], regen=failing)
        assert calls == ["/docs"] and s.failed[0]["gave_up"] is False
        j = jobs(synced)["/docs"]
        assert (j["state"], j["attempts"], j["last_error"]) == ("queued", 1,
                                                                "model refused /docs")
        assert 90 < j["retry_in"] <= 100  # first delay: backoff_seconds
        # waiting for its retry: not taken again
        assert run_jobs(proj, store, paths=["/docs"], regen=failing, enqueue=False).done == []
        assert calls == ["/docs"]
        for attempt in (2, 3):
            store.conn.execute("UPDATE jobs SET not_before = 0")  # the delay has passed
            run_jobs(proj, store, paths=["/docs"], regen=failing, enqueue=False)
            j = jobs(synced)["/docs"]
            assert j["attempts"] == attempt
            if attempt == 2:
                assert 190 < j["retry_in"] <= 200  # doubled
        assert j["state"] == "failed" and j["last_error"] == "model refused /docs"
        assert calls == ["/docs"] * 3
        # a job that gave up stays, and is not retried by the next trigger for the same hash
        with store.write() as conn:
            assert job_queue.enqueue_all(conn, ["/docs"]) == 0
        assert synced.float_json("jobs")[-1]["state"] == "failed"
        # ...but `jobs --retry` (or the folder changing) queues it again
        synced.float_ok("jobs", "--retry")
        assert jobs(synced)["/docs"]["state"] == "queued"
    finally:
        store.close()
    assert folder(synced, "/docs")["status"] == "pending"  # nothing was written


def test_result_for_an_old_hash_is_not_applied_and_the_job_is_made_again(
        synced: GitRepo) -> None:
    proj = _project(synced)
    store = open_built(proj)
    synced.float_ok("regenerate")
    assert folder(synced, "/docs")["status"] == "current"
    before = folder(synced, "/docs")
    synced.write("docs/guide.md", "# guide v2\n")
    synced.float_ok("sync")

    def racing(req: Request) -> tuple[dict[str, Any], str]:
        # while the regenerator works, the folder changes again (a commit, a save + watch)
        if req.path == "/docs" and "v3" not in str(req.files[0].head):
            synced.write("docs/guide.md", "# guide v3\n")
            synced.float_ok("sync")
        return {"map_summary": f"from {req.files[0].head.decode().strip()}"}, "m"

    try:
        s = run_jobs(proj, store, paths=["/docs"], regen=racing, limit=1)
        assert s.requeued == ["/docs"] and s.done == []
        row = folder(synced, "/docs")
        assert row["status"] == "stale" and row["map_summary"] == before["map_summary"]
        j = jobs(synced)["/docs"]
        assert j["state"] == "queued" and j["attempts"] == 0
        assert j["source_hash"] == row["source_hash"]  # made again for the present hash
        s = run_jobs(proj, store, paths=["/docs"], regen=racing)
        assert s.done == ["/docs"]
    finally:
        store.close()
    row = folder(synced, "/docs")
    assert row["status"] == "current" and row["map_summary"] == "from # guide v3"


def test_revert_reuses_earlier_context_without_a_job(synced: GitRepo) -> None:
    synced.float_ok("regenerate")
    good = folder(synced, "/src/auth")
    synced.write("src/auth/login.py", "def login(): return 'changed'\n")
    changed = synced.commit("change auth")
    synced.float_ok("hook-impl", "post-commit")
    assert folder(synced, "/src/auth")["status"] == "stale"
    assert {"/src/auth", "/src", "/"} <= set(jobs(synced))

    synced.git("revert", "--no-edit", changed)
    synced.float_ok("hook-impl", "post-commit")
    again = folder(synced, "/src/auth")
    assert again["status"] == "current"
    assert again["map_summary"] == good["map_summary"]
    assert again["context_hash"] == good["context_hash"]
    assert jobs(synced) == {}  # nothing to regenerate: the earlier versions came back
    assert synced.float_json("regenerate", "--dry-run") == []
    # branch switch back and forth: same reuse
    synced.git("checkout", "-q", "-b", "other", changed)
    synced.float_ok("hook-impl", "post-checkout", "x", "y", "1")
    assert folder(synced, "/src/auth")["status"] == "stale"
    synced.float_ok("regenerate", "/src/auth")
    synced.git("checkout", "-q", "main")
    synced.float_ok("hook-impl", "post-checkout", "x", "y", "1")
    assert folder(synced, "/src/auth")["status"] == "current"
    assert "/src/auth" not in jobs(synced)


def test_child_summary_change_queues_a_current_parent(synced: GitRepo) -> None:
    synced.float_ok("set", "/src", "--summary", "source code")
    assert folder(synced, "/src")["status"] == "current"
    r = synced.float_json("regenerate", "/src/auth/tokens")
    assert r["done"] == ["/src/auth/tokens"]
    # /src/auth is pending: it needs context anyway, a changed child adds no job for
    # it; /src is untouched so far (its child /src/auth did not change)
    assert "/src" not in jobs(synced)
    synced.float_ok("regenerate", "/src/auth")
    j = jobs(synced)["/src"]
    assert j["reason"] == "child"
    assert folder(synced, "/src")["status"] == "current"  # status stays derived from hashes
    r = synced.float_json("regenerate", "/src")
    assert r["done"] == ["/src"]
    children = {c["name"]: c for c in folder(synced, "/src")["map_children"]}
    assert children["auth"]["summary"] == folder(synced, "/src/auth")["map_summary"]
    # the root never had context: a changed child does not queue it as "child" (a read's
    # sync of the work tree may queue it as pending, as any sync does)
    assert jobs(synced).get("/", {}).get("reason") in (None, "pending")


def test_concurrent_runners_keep_children_before_parents(synced: GitRepo) -> None:
    import threading

    for i in range(5):
        synced.write(f"pkg{i}/sub/mod.py", f"X = {i}\n")
    synced.float_ok("sync")
    threads: set[int] = set()
    lock = threading.Lock()
    # the first three jobs meet here: they run side by side, one on each runner
    side_by_side = threading.Barrier(3, timeout=30)
    met = 0

    def regen(req: Request) -> tuple[dict[str, Any], str]:
        nonlocal met
        for child in req.folders:
            assert child["map_summary"] == f"summary of {child['path']}", (req.path, child)
        with lock:
            threads.add(threading.get_ident())
            met += 1
            meets = met <= 3
        if meets:
            side_by_side.wait()
        return {"map_summary": f"summary of {req.path}"}, "m"

    proj = _project(synced)
    store = open_built(proj)
    try:
        summary = run_jobs(proj, store, regen=regen, concurrency=3)
    finally:
        store.close()
    assert summary.failed == [] and summary.remaining == 0
    assert len(summary.done) == len(synced.folders()) == 15
    assert set(synced.folders().values()) == {"current"}
    assert threading.get_ident() not in threads  # the work ran on the runner threads
    assert len(threads) == 3
