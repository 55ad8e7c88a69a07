"""The server's context back into the repository: with ``FLOAT_EXPORT_BRANCH=<name>``, after
each delivery that ends ``done``, the map's export (the pages ``float-hooks export`` writes) as
one commit on top of the synced head, pushed with ``--force`` to that branch of the origin. A
team merges the branch (or opens a pull request from it) to take what the server regenerated;
until then the server keeps the context in its map (and, with PostgreSQL, its stored answers).

The commit is built in the bare mirror with pygit2, in memory (no work tree, no index file):
the head's tree with the export directory's generated pages replaced by the rendered ones and
the generated pages of folders that are gone removed; any other file there stays. Nothing is
pushed when the head already holds this export, or when the branch already holds this commit's
tree on this head (a redelivery, a push that changed nothing the map shows).

What the repository decides is bounded: its configured export directory is used only as a
path inside the repository (``importer.export_dir``); the branch name, the remote and its
credentials are the server's (``FLOAT_EXPORT_BRANCH``, ``FLOAT_GIT_URL_TEMPLATE``, git's
credential configuration), and the branch is never the tracked one.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from webhook.deliveries import Delivery
from webhook.maps import map_path
from webhook.mirror import MirrorError, mirror_path
from webhook.mirror import push as mirror_push
from webhook.settings import Settings

log = logging.getLogger("webhook")

PUSH_SECONDS = 300.0
AUTHOR = ("float-hooks", "float-hooks@users.noreply.github.com")
MESSAGE = "float-hooks: the map's context, exported by the server\n\nOn top of {head}.\n"


class ExportPushError(Exception):
    pass


def publish(settings: Settings, d: Delivery, out: dict[str, Any]) -> None:
    """Push the export for a done delivery (``out`` is its result; the outcome is added to it
    as ``export_branch``). Called by the worker, which has git's credentials."""
    head = (out.get("sync") or {}).get("head")
    if settings.export_branch and isinstance(head, str):
        out["export_branch"] = publish_head(settings, d.full_name,
                                            settings.branch or d.default_branch, head)


def publish_head(settings: Settings, full_name: str, tracked: str | None,
                 head: str) -> dict[str, Any]:
    """Push the export of ``full_name``'s map, synced to ``head`` of ``tracked``; the outcome.
    An error is in the outcome and logged, never raised: the map is right either way."""
    branch = settings.export_branch
    if not branch or branch == tracked:  # never overwrite the branch the map follows
        return {"pushed": False, "error": f"FLOAT_EXPORT_BRANCH {branch} is the tracked"
                " branch: nothing pushed"}
    try:
        return push_export(mirror_path(settings.data_dir, full_name),
                           map_path(settings.data_dir, full_name), head, branch,
                           settings)
    except ExportPushError as e:
        log.warning("export of %s not pushed to %s: %s", full_name, branch, e)
        return {"pushed": False, "error": str(e)}


def push_export(mirror: Path, db_path: Path, head: str, branch: str,
                settings: Settings) -> dict[str, Any]:
    import pygit2

    repo = pygit2.Repository(str(mirror))
    base = repo.get(head)
    if not isinstance(base, pygit2.Commit):
        raise ExportPushError(f"{head[:12]} is not a commit in the mirror")
    rel = _export_dir(mirror, db_path, head, settings)
    if not rel:
        return {"pushed": False, "reason": "the export directory is outside the repository"}
    tree, changed = _export_tree(repo, base, rel, _rendered(db_path))
    if tree == base.tree_id:
        return {"pushed": False, "reason": "the head already holds this export"}
    ref = f"refs/heads/{branch}"
    held = repo.references.get(ref)
    if held is not None:
        tip = repo.get(held.target)
        if isinstance(tip, pygit2.Commit) and tip.tree_id == tree and tip.parent_ids == [
                base.id]:
            return {"pushed": False, "reason": "the branch already holds this export",
                    "commit": str(tip.id)}
    who = pygit2.Signature(*AUTHOR)
    commit = repo.create_commit(None, who, who, MESSAGE.format(head=head), tree, [base.id])
    try:
        mirror_push(mirror, str(commit), ref, PUSH_SECONDS)
    except MirrorError as e:
        raise ExportPushError(str(e)) from None
    return {"pushed": True, "branch": branch, "commit": str(commit), "pages_changed": changed}


def _export_dir(mirror: Path, db_path: Path, head: str, settings: Settings) -> str:
    from float_hooks.git import Git
    from float_hooks.importer import export_dir
    from webhook.pipeline import MirrorProject

    return export_dir(MirrorProject(Git(mirror, None), db_path, head, settings))


def _rendered(db_path: Path) -> dict[str, bytes]:
    from float_hooks.db import Store
    from float_hooks.export import render_pages

    store = Store.open_readonly(db_path)
    try:
        return {name: text.encode() for name, text in render_pages(store.conn).items()}
    finally:
        store.close()


def _export_tree(repo: Any, base: Any, rel: str, pages: dict[str, bytes]) -> tuple[Any, int]:
    """The tree of ``base`` with the export under ``rel`` replaced by ``pages``; and how many
    pages differ."""
    import pygit2

    from float_hooks import frontmatter

    index = pygit2.Index()
    index.read_tree(base.tree)
    prefix = rel + "/"
    held = {e.path[len(prefix):]: e for e in index if e.path.startswith(prefix)}
    changed = 0
    for name, entry in held.items():  # generated pages of folders that are gone
        if name in pages or not name.endswith(".md") or entry.mode != pygit2.enums.FileMode.BLOB:
            continue
        _kind, size = repo.odb.read_header(entry.id)  # anyone's file: its size before its bytes
        if size <= frontmatter.MAX_PAGE_BYTES and frontmatter.is_generated_bytes(
                repo[entry.id].data):
            index.remove(entry.path)
            changed += 1
    for name, data in pages.items():
        oid = repo.create_blob(data)
        old = held.get(name)
        if old is None or old.id != oid:
            index.add(pygit2.IndexEntry(prefix + name, oid, pygit2.enums.FileMode.BLOB))
            changed += 1
    return index.write_tree(repo), changed
