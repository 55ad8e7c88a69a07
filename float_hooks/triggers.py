"""What every trigger (hooks, the webhook worker, the Action, watch) does around a sync.

Callers: run :func:`before_sync` first (it may import a changed committed export), then the
sync core, then :func:`after_sync` (it may queue regeneration or start a worker). Keeping these
two steps here means the hooks, the server and the Action cannot drift apart.
"""

from __future__ import annotations

from float_hooks.db import Store
from float_hooks.project import Project
from float_hooks.sync import SyncResult


def before_sync(project: Project, store: Store, rev: str | None = None) -> None:
    """Bring in authored content from the committed export when it changed (issue: export):
    from the work tree's ``.float/project/``, or from commit ``rev``'s tree for a bare mirror.

    Cheap when nothing changed (it runs in hooks): one ``git rev-parse REV:.float/project``
    compared with the tree id of the export imported last."""
    from float_hooks import importer  # only paid for by the triggers that call it

    importer.import_if_changed(project, store, rev)


def after_sync(project: Project, store: Store, result: SyncResult, event: str) -> None:
    """Queue regeneration for stale/pending folders per ``[trigger] on_commit``
    (issue: regeneration). ``event`` names the trigger: post-commit, post-merge, sync, push."""
