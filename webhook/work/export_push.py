"""The server's context back into the repository: with ``FLOAT_EXPORT_BRANCH=<name>``, after
each delivery that ends ``done``, the map's export (the pages ``float-hooks export`` writes) as
one commit on top of the synced head, pushed to that branch of the origin. A team merges the
branch (or opens a pull request from it) to take what the server regenerated; until then the
server keeps the context in its map (and, with PostgreSQL, its stored answers).

The commit is built in the bare mirror with pygit2, in memory: only the export directory's
subtree is read and rebuilt (its generated pages replaced by the rendered ones, those of
folders that are gone removed, any other file kept), then grafted onto the head's tree.
Nothing is pushed when the head already holds this export, or the branch already holds it on
this head (a redelivery, a push that changed nothing the map shows).

Nothing authored is overwritten on the way, as ``float-hooks export`` refuses to (export_files):
a generated page the map never read (a conflicted or unreadable page, which the sync skipped)
is never replaced or removed: the push is refused until it is mended. The branch is the
server's own: the push is refused when it holds a commit float-hooks did not make (a person's
fix-up), and it is made with ``--force-with-lease`` on the tip seen, so a commit pushed
meanwhile is never lost either.

What the repository decides is bounded: its configured export directory is used only as a
path inside the repository (``importer.export_dir``); the branch name, the remote and its
credentials are the server's (``FLOAT_EXPORT_BRANCH``, ``FLOAT_GIT_URL_TEMPLATE``, git's
credential configuration), and the branch is never the tracked one.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from float_hooks.errors import quoted
from float_hooks.pages import frontmatter, reader
from float_hooks.pages.importer import export_dir
from float_hooks.pages.render import render_pages
from float_hooks.repo.git import Git
from float_hooks.store.db import Store
from webhook.queues.sqlite_queue import Delivery
from webhook.settings import Settings
from webhook.storage import mirror
from webhook.storage.maps import map_meta, map_path
from webhook.work.pipeline import BRANCH_KEY, MirrorProject

log = logging.getLogger("webhook")

PUSH_SECONDS = 60.0  # under the worker's lease: the push runs while the delivery is held
MAX_EXPORT_ENTRIES = 500_000  # files in the export directory read at most
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
    No error is raised (the map is right either way): it is in the outcome, and logged."""
    branch = settings.export_branch
    path, db_path = mirror.mirror_path(settings.data_dir, full_name), map_path(
        settings.data_dir, full_name)
    try:
        # the branch the map follows, however this sync was asked for (a manual resync
        # names none): the map's own record, the mirror's default branch
        followed = {tracked, map_meta(db_path, BRANCH_KEY), mirror.head_branch(path)}
        if not branch or branch in followed:
            return {"pushed": False, "error": f"FLOAT_EXPORT_BRANCH {branch} is the tracked"
                    " branch: nothing pushed"}
        return push_export(path, db_path, head, branch, settings)
    except Exception as e:  # anyone's repository: a path libgit2 refuses, an odd tree
        # our own messages quote what they name; anything else is quoted whole
        line = str(e) if isinstance(e, ExportPushError) else quoted(
            f"{type(e).__name__}: {' '.join(str(e).split())}", 300)
        log.warning("export of %s not pushed to %s: %s", full_name, branch, line)
        return {"pushed": False, "error": line}


def push_export(path: Path, db_path: Path, head: str, branch: str,
                settings: Settings) -> dict[str, Any]:
    import pygit2  # lazy: slow to import; never on the hook path

    repo = pygit2.Repository(str(path))
    base = repo.get(head)
    if not isinstance(base, pygit2.Commit):
        raise ExportPushError(f"{head[:12]} is not a commit in the mirror")
    rel = _export_dir(path, db_path, head, settings)
    if not rel:
        return {"pushed": False, "reason": "the export directory is outside the repository"}
    rendered, known = _rendered(db_path)
    tree, changed = _export_tree(repo, base.tree, rel, rendered, known)
    if tree == base.tree_id:
        return {"pushed": False, "reason": "the head already holds this export"}
    ref = f"refs/heads/{branch}"
    tip = mirror.fetch_ref(path, ref, PUSH_SECONDS)  # what the origin holds now
    if tip is not None:
        held = repo.get(tip)
        if not isinstance(held, pygit2.Commit) or held.author.email != AUTHOR[1]:
            raise ExportPushError(f"{branch} holds a commit float-hooks did not make;"
                                  " nothing pushed (merge or delete the branch)")
        if held.tree_id == tree and held.parent_ids == [base.id]:
            return {"pushed": False, "reason": "the branch already holds this export",
                    "commit": tip}
    # stamped with the head's time: the same export on the same head is the same commit
    who = pygit2.Signature(*AUTHOR, base.committer.time, base.committer.offset)
    commit = str(repo.create_commit(None, who, who, MESSAGE.format(head=head), tree,
                                    [base.id]))
    try:
        mirror.push(path, commit, ref, tip, PUSH_SECONDS)
    except mirror.MirrorError as e:
        raise ExportPushError(str(e)) from None
    return {"pushed": True, "branch": branch, "commit": commit, "pages_changed": changed}


def _export_dir(path: Path, db_path: Path, head: str, settings: Settings) -> str:
    return export_dir(MirrorProject(Git(path, None), db_path, head, settings))


def _rendered(db_path: Path) -> tuple[dict[str, bytes], dict[str, str]]:
    """The map's pages, and the blob of each page it read or wrote (``export_pages``)."""
    store = Store.open_readonly(db_path)
    try:
        pages = {name: text.encode() for name, text in render_pages(store.conn).items()}
        known = dict(store.conn.execute("SELECT page, blob FROM export_pages").fetchall())
        return pages, known
    finally:
        store.close()


def _export_tree(repo: Any, root: Any, rel: str, pages: dict[str, bytes],
                 known: dict[str, str]) -> tuple[Any, int]:
    """``root`` (a tree) with the export under ``rel`` replaced by ``pages``; and how many
    pages differ. Only the export's own subtree is read."""
    import pygit2  # lazy: slow to import; never on the hook path

    parts = rel.split("/")
    chain = [root]  # the trees from the root down to the export directory, where they exist
    for name in parts:
        entry = chain[-1][name] if chain[-1] is not None and name in chain[-1] else None
        if entry is not None and entry.filemode != pygit2.enums.FileMode.TREE:
            raise ExportPushError(f"{quoted(rel)}: a file stands where the export directory"
                                  " goes; nothing pushed")
        chain.append(repo[entry.id] if entry is not None else None)
    files = _files(repo, chain[-1])
    blobs = {name: repo.create_blob(data) for name, data in pages.items()}
    generated = _Generated(repo)
    changed = 0
    for name, (oid, mode) in list(files.items()):
        if blobs.get(name) == oid or (name not in blobs and not name.endswith(".md")):
            continue  # the same page, or no page at all
        if not generated(oid, mode):
            continue  # hand-written: kept (a rendered page of its name replaces it, as export)
        if known.get(name) != str(oid):
            raise ExportPushError(f"{quoted(name)}: a page the map could not read (see the"
                                  " sync's skipped_pages); nothing pushed until it is mended")
        if name not in blobs:
            del files[name]  # a folder that is gone
            changed += 1
    for name, oid in blobs.items():
        if files.get(name, (None, None))[0] != oid:
            files[name] = (oid, pygit2.enums.FileMode.BLOB)
            changed += 1
    new = _tree(repo, files)
    for name, parent in zip(reversed(parts), reversed(chain[:-1]), strict=True):
        builder = repo.TreeBuilder(parent) if parent is not None else repo.TreeBuilder()
        builder.insert(name, new, pygit2.enums.FileMode.TREE)
        new = builder.write()
    return new, changed


class _Generated:
    """Whether a file of anyone's export is a generated page: each distinct file read once,
    its size known before its bytes, and all it reads bounded as the sync's page reader is
    (reader.MAX_EXPORT_BYTES): 500,000 names for one 2 MiB file cost one read, not a TB."""

    def __init__(self, repo: Any):
        self.repo = repo
        self.seen: dict[Any, bool] = {}
        self.read = 0

    def __call__(self, oid: Any, mode: Any) -> bool:
        import pygit2  # lazy: slow to import; never on the hook path

        if mode != pygit2.enums.FileMode.BLOB:
            return False
        if oid not in self.seen:
            _kind, size = self.repo.odb.read_header(oid)
            if size > frontmatter.MAX_PAGE_BYTES:
                self.seen[oid] = False
            else:
                self.read += size
                if self.read > reader.MAX_EXPORT_BYTES:
                    raise ExportPushError("the export directory holds over"
                                          f" {reader.MAX_EXPORT_BYTES // (1024 * 1024)} MiB of"
                                          " pages; nothing pushed")
                self.seen[oid] = frontmatter.is_generated_bytes(self.repo[oid].data)
        return self.seen[oid]


def _files(repo: Any, tree: Any) -> dict[str, tuple[Any, Any]]:
    """Every entry below ``tree`` but trees, by path: (id, mode); bounded."""
    import pygit2  # lazy: slow to import; never on the hook path

    out: dict[str, tuple[Any, Any]] = {}
    stack = [("", tree)] if tree is not None else []
    while stack:
        prefix, node = stack.pop()
        for entry in node:
            if len(out) + len(stack) > MAX_EXPORT_ENTRIES:
                raise ExportPushError(f"the export directory holds over {MAX_EXPORT_ENTRIES}"
                                      " files; nothing pushed")
            if entry.filemode == pygit2.enums.FileMode.TREE:
                stack.append((f"{prefix}{entry.name}/", repo[entry.id]))
            else:
                out[prefix + entry.name] = (entry.id, entry.filemode)
    return out


def _tree(repo: Any, files: dict[str, tuple[Any, Any]]) -> Any:
    """The tree holding ``files`` (path: (id, mode)); a name both a file and a folder is
    refused."""
    import pygit2  # lazy: slow to import; never on the hook path

    nested: dict[str, Any] = {}
    for name, value in files.items():
        *dirs, leaf = name.split("/")
        node = nested
        for d in dirs:
            node = node.setdefault(d, {})
            if not isinstance(node, dict):
                raise ExportPushError(f"{quoted(name)}: a file stands where a folder of the"
                                      " export goes; nothing pushed")
        if isinstance(node.get(leaf), dict):
            raise ExportPushError(f"{quoted(name)}: a folder stands where a page of the"
                                  " export goes; nothing pushed")
        node[leaf] = value

    def write(node: dict[str, Any]) -> Any:
        builder = repo.TreeBuilder()
        for name, value in node.items():
            if isinstance(value, dict):
                builder.insert(name, write(value), pygit2.enums.FileMode.TREE)
            else:
                builder.insert(name, *value)
        return builder.write()

    return write(nested)
