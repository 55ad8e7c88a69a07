"""`float-hooks watch` and the MCP server's watcher ignore the same noise (one filter,
tree_watcher.py): writes in .float/ (the map's own DB), in git's internals and in git-ignored
directories do not wake it; a source edit and a commit (a ref moving) do."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from float_hooks.map.sync import SyncResult
from float_hooks.project import Project
from float_hooks.triggers import watch_sync
from float_hooks.triggers.tree_watcher import Watcher
from tests.gitrepo import GitRepo
from tests.waiting import wait_until

SETTLE = 30.0  # seconds an event may take to reach the watcher on a loaded machine


@contextmanager
def watching(repo: GitRepo) -> Iterator[tuple[Watcher, list[SyncResult]]]:
    """`float-hooks watch`'s loop in a thread (what the command runs), with its watcher."""
    project = Project.discover(repo.path)
    watcher = Watcher(project)
    reports: list[SyncResult] = []
    ready, stop = threading.Event(), threading.Event()
    thread = threading.Thread(target=watch_sync.watch, args=(project,), kwargs={
        "debounce": 0.0, "report": reports.append, "ready": ready.set, "stop": stop,
        "watcher": watcher}, daemon=True)
    thread.start()
    try:
        assert ready.wait(SETTLE) and watcher.ignored_read.wait(SETTLE)
        yield watcher, reports
    finally:
        stop.set()
        thread.join(SETTLE)
    assert not thread.is_alive()


def test_watch_ignores_noise_and_syncs_on_edits_and_commits(synced: GitRepo) -> None:
    synced.write(".gitignore", "build/\n")
    synced.write("build/out.o", "object\n")
    synced.commit("ignore build output")
    synced.float_ok("sync")
    with watching(synced) as (watcher, reports):
        watcher.barrier(SETTLE)
        before, syncs = watcher.generation, len(reports)
        synced.write("build/out.o", "object, rebuilt\n")  # a git-ignored directory
        synced.write("build/deeper/more.o", "more\n")
        synced.git("hash-object", "-w", "--stdin", input=b"a loose object\n")  # .git/objects
        synced.float_ok("set", "/docs", "--summary", "the docs")  # .float/index.db, journal
        watcher.barrier(SETTLE)  # every event above has been handled
        assert watcher.generation == before, "an ignored write counted as a change"
        assert len(reports) == syncs

        synced.write("docs/guide.md", "# guide, edited while watching\n")
        watcher.barrier(SETTLE)
        assert watcher.generation > before
        wait_until(lambda: any("/docs" in r.applied.folders_changed for r in reports[syncs:]),
                   "a sync of the edit", SETTLE)

        edited = len(reports)
        synced.commit("edit the guide")  # only refs and HEAD's log move in the work tree
        wait_until(lambda: len(reports) > edited, "a sync after the commit", SETTLE)


def test_ignored_directories_whose_names_share_a_start(synced: GitRepo) -> None:
    synced.write(".gitignore", "build/\nbuild-tmp/\n")
    for d in ("build", "build-tmp", "buildx"):
        synced.write(f"{d}/out.o", "object\n")
    watcher = Watcher(Project.discover(synced.path))
    watcher._read_ignored()
    root = str(synced.path)
    assert not watcher.relevant(f"{root}/build/out.o")  # "build-tmp/" sorts in between
    assert not watcher.relevant(f"{root}/build-tmp/out.o")
    assert not watcher.relevant(f"{root}/build")
    assert watcher.relevant(f"{root}/buildx/out.o") and watcher.relevant(f"{root}/docs/a.md")


def test_a_stopped_watcher_leaves_no_handler_behind(synced: GitRepo) -> None:
    import logging

    logger = logging.getLogger("watchdog.observers.inotify_c")
    before = list(logger.handlers)
    watcher = Watcher(Project.discover(synced.path))
    watcher.start()
    assert len(logger.handlers) == len(before) + 1  # overflows count as changes meanwhile
    watcher.stop()
    assert logger.handlers == before
