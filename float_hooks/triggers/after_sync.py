"""What every trigger (hooks, the webhook worker, the Action, watch) does around a sync.

Callers: run build.sync (it imports a changed committed export, then syncs), then
:func:`after_sync` (it may queue regeneration or start a worker). Keeping these steps in one
place means the hooks, the server and the Action cannot drift apart.
"""

from __future__ import annotations

from float_hooks.errors import ConfigError, quoted
from float_hooks.map.sync import SyncResult
from float_hooks.project import Project
from float_hooks.regen import job_queue
from float_hooks.store.db import Store

ON_COMMIT = ("queue", "background", "off")


def after_sync(project: Project, store: Store, result: SyncResult, event: str) -> None:
    """Queue regeneration for stale/pending folders per ``[trigger] on_commit``
    (issue: regeneration). ``event`` names the trigger: post-commit, post-merge, sync, push.

    Runs in hooks: only the folders updated since the last call are looked at (the cost
    follows the change, not the repository; the pre-commit sync may have applied the change
    already), and ``background`` starts a detached worker, never waits for it."""
    mode = project.config["trigger"]["on_commit"]
    if mode not in ON_COMMIT:
        raise ConfigError(f"[trigger] on_commit = {quoted(mode)}: must be one of"
                          f" {', '.join(ON_COMMIT)}")
    if mode == "off":
        return

    with store.write() as conn:
        job_queue.enqueue_changed(store, result.applied.removed)
        pending = job_queue.has_open(conn)
    if mode == "background" and pending:
        from float_hooks.regen import worker  # lazy: off the hooks' path (their start-up cost)

        worker.start_background(project)
