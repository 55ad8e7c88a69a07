"""What each git hook does: pick the snapshot, call the shared sync, print at most one line.

Every hook is a thin caller of ``build.sync`` -> ``after_sync.after_sync``,
so the hooks cannot drift from the webhook worker or the Action. A hook must never cost the
user a commit: any internal failure (corrupt or locked DB, a bug) prints one line on stderr and
exits 0, unless ``[hooks] strict = true``. Only ``check`` (the float-check hook) fails a commit
on purpose, and only when the user configured a threshold in ``[check]``.

The plain post-commit shim starts its hook in the background (background.py): git has made
the commit already and ignores the hook's exit code, so it need not wait.

Kept light on purpose: it runs on every commit, so it imports no pygit2, yaml or HTTP library
(the index and commit snapshots are read with git subprocesses).
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from float_hooks import background, paths
from float_hooks.background import MARKER_ENV
from float_hooks.errors import (
    EXIT_ERROR,
    EXIT_FOUND,
    EXIT_OK,
    CorruptDatabase,
    FloatError,
    quoted,
)

if TYPE_CHECKING:
    from float_hooks.project import Project  # lazy: after the hook's cheap early exits

# Hooks git calls, in the order a user meets them, and what each syncs to.
HOOKS = ("pre-commit", "post-commit", "post-merge", "post-checkout", "post-rewrite")
CHECK = "check"  # pre-commit + the [check] threshold: the float-check hook
NAMES = (*HOOKS, CHECK)
_SHOWN = 6  # folder paths printed before "(+N more)": the report stays one short line


# (exit code, a line for stderr or ""). A plain tuple: importing dataclasses is slow.
Outcome = tuple[int, str]


def run_hook(name: str, argv: Sequence[str] = (), cwd: str = ".") -> int:
    """Run hook ``name`` (one of :data:`NAMES`) in the repository at ``cwd``; the exit code."""
    # set by the post-commit shim when it started us in the background (background.py)
    marker = os.environ.pop(MARKER_ENV, None)
    git = None
    if marker:
        marker = os.path.abspath(marker)  # the shim's is relative to where git started it
        git = _discover(cwd)  # found once: the log's place, then the hook's repository
        background.detach(marker, git.git_dir if git is not None else _cwd_path(cwd))
    strict: list[bool] = [False]  # set as soon as the config is read
    try:
        out = _run(name, list(argv), cwd, strict, waits=not marker, git=git)
    except ImportError as e:
        if sys.flags.no_site:  # the fast shim start could not find a module: start normally
            if marker:
                os.environ[MARKER_ENV] = marker  # the restarted hook claims it again
            _restart_with_site(name, argv)
        out = _internal(e, strict[0])
    except FloatError as e:
        out = _internal(_damaged(e), strict[0])
    except sqlite3.Error as e:
        from float_hooks.store.db import translate  # lazy: only on an SQLite error

        out = _internal(_damaged(translate(e, _db_hint(cwd))), strict[0])
    except Exception as e:  # a bug must not cost the user a commit either
        out = _internal(e, strict[0], bug=True)
    code, message = out
    if message:
        if marker:  # a line in the log: say when, and which hook
            message = time.strftime("%Y-%m-%dT%H:%M:%SZ ", time.gmtime()) + f"{name}: {message}"
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
    if marker:
        background.release(marker)  # written: let readers in
    return code


def _run(name: str, argv: list[str], cwd: str, strict: list[bool], waits: bool,
         git: Any = None) -> Outcome:
    if name not in NAMES:
        raise FloatError(f"unknown hook {quoted(name)} (one of: {', '.join(NAMES)})")
    if name == "post-rewrite":
        _drain_stdin()  # git writes "old new" pairs; we sync to HEAD and do not need them
    if name == "post-checkout" and _checkout_type(argv) == "0":
        return (EXIT_OK, "")  # `git checkout -- <file>`: HEAD did not move

    from float_hooks.project import Project  # after the cheap early exits above

    project = Project(git) if git is not None else Project.discover(cwd)
    if project.work_tree is None or not project.float_dir.is_dir():
        return (EXIT_OK, "")  # not initialised here: say nothing, cost nothing
    strict[0] = bool(project.config["hooks"]["strict"])
    if waits:  # the previous commit's post-commit may still be syncing: after it, in order
        project.wait_for_hooks()
    return _sync(project, name)


def _sync(project: Project, name: str) -> Outcome:
    from float_hooks.map import build  # lazy: after the hook's cheap early exits
    from float_hooks.repo.snapshot import Target  # lazy: after the hook's cheap early exits
    from float_hooks.triggers import after_sync  # lazy: after the hook's cheap early exits

    staged = name in ("pre-commit", CHECK)
    store = project.open_store()
    try:
        # pre-commit reads the index being committed (GIT_INDEX_FILE: a temporary index for
        # `commit -a` and `commit <paths>`); the post-* hooks read the new HEAD
        target = Target("index") if staged else Target("commit")
        if not store.is_built():
            # a fresh clone or new worktree has .float/ (committed) but no DB yet: build it,
            # with the committed export and the journal, as every entry point does
            result, line = build.build(project, store, target)
            message = f"float: {line}" if line else ""
        else:
            # the post-* hooks bring in an export the commit, merge or checkout changed
            result = build.sync(project, store, target, imports=not staged)
            a = result.applied
            changed = (commit_folders(store.conn) if staged
                       else {*a.folders_changed, *a.removed})
            message = stale_line(changed, a.became_stale, _statuses(store.conn, changed, a))
        if not staged:
            after_sync.after_sync(project, store, result, name)
        if name == CHECK:
            failure = check_threshold(store.conn, project.config["check"])
            if failure:
                return (EXIT_FOUND, "\n".join(m for m in (message, failure) if m))
        return (EXIT_OK, message)
    finally:
        store.close()


def stale_line(changed: Collection[str], stale: Sequence[str],
               others: dict[str, int] | None = None) -> str:
    """The hook's one line: how many folders the commit changes and which of them it makes
    stale, ``float: 3 folders changed, 1 newly stale: /src/auth``; when none goes stale,
    why (``others``: how many of the changed folders were stale already, or have no context
    yet). "" when nothing changed."""
    if not changed and not stale:
        return ""
    n = max(len(changed), len(stale))
    line = f"float: {n} folder{'s' if n != 1 else ''} changed"
    if stale:
        ordered = sorted(stale, key=lambda p: (-p.count("/") if p != "/" else 1, p))
        shown = " ".join(ordered[:_SHOWN])
        more = f" (+{len(ordered) - _SHOWN} more)" if len(ordered) > _SHOWN else ""
        return f"{line}, {len(ordered)} newly stale: {shown}{more}"
    why = [f"{c} {what}" for c, what in (((others or {}).get("stale", 0), "already stale"),
                                         ((others or {}).get("pending", 0), "without context"))
           if c]
    return f"{line}, none newly stale" + (f" ({', '.join(why)})" if why else "")


def commit_folders(conn: sqlite3.Connection) -> set[str]:
    """After a sync of the index: the folders the commit changes, i.e. those holding a file
    where the index differs from HEAD (the sync's overlay), and their ancestors."""

    folders: set[str] = set()
    for (path,) in conn.execute("SELECT path FROM overlay"):
        folder = paths.parent(path)
        while folder not in folders:
            folders.add(folder)
            if folder == paths.ROOT:
                break
            folder = paths.parent(folder)
    return folders


def _statuses(conn: sqlite3.Connection, changed: Collection[str], applied: Any,
              ) -> dict[str, int] | None:
    """How many of the ``changed`` folders are stale or pending now, asked only when none
    became stale (the line then says why)."""
    if applied.became_stale or not changed:
        return None
    from float_hooks.store.db import select_in  # lazy: after the hook's cheap early exits

    rows = select_in(conn, "SELECT status FROM folders WHERE path IN ({})", changed)
    counts: dict[str, int] = {}
    for (status,) in rows:
        counts[status] = counts.get(status, 0) + 1
    return counts


def check_threshold(conn: sqlite3.Connection, settings: dict[str, Any]) -> str:
    """Why the float-check hook fails this commit per ``[check]``, or "" when it passes."""
    max_stale = int(settings["max_stale"])
    watched = [str(f) for f in settings["folders"]]
    if max_stale < 0 and not watched:
        return ""  # no threshold configured: the check is opt-in
    stale = [r[0] for r in conn.execute(
        "SELECT path FROM folders WHERE status = 'stale' ORDER BY path")]
    problems = []
    if 0 <= max_stale < len(stale):
        problems.append(f"{len(stale)} folders are stale, more than [check] max_stale ="
                        f" {max_stale} allows")

    hit = [f for f in (_normal(paths, w) for w in watched) if f in set(stale)]
    if hit:
        problems.append(f"watched folders are stale: {' '.join(hit)}")
    if not problems:
        return ""
    return (f"float-check: {'; '.join(problems)}. Refresh their context (`float-hooks stale`"
            " lists them), or commit with --no-verify to skip the check.")


def _normal(paths: Any, folder: str) -> str:
    try:
        return str(paths.normalize(folder))
    except ValueError:
        return folder


def _checkout_type(argv: list[str]) -> str:
    """post-checkout's third argument (1 = branch checkout, 0 = file checkout). The pre-commit
    framework passes it in PRE_COMMIT_CHECKOUT_TYPE instead of arguments."""
    if len(argv) >= 3:
        return argv[2]
    return os.environ.get("PRE_COMMIT_CHECKOUT_TYPE", "1")


def _drain_stdin() -> None:
    try:
        if sys.stdin is not None and not sys.stdin.isatty():
            sys.stdin.buffer.read()
    except (OSError, ValueError):
        pass


def _damaged(e: FloatError) -> FloatError:
    """A DB found damaged mid-hook is moved aside: the next hook or command rebuilds it."""

    if isinstance(e, CorruptDatabase):
        from float_hooks.project import kept_aside  # lazy: only for a damaged DB

        return FloatError(kept_aside(e))
    return e


def _internal(e: BaseException, strict: bool, bug: bool = False) -> Outcome:
    what = f"internal error ({type(e).__name__}: {e})" if bug else str(e)
    what = " ".join(what.split())  # one line, whatever the exception carried
    if strict:
        return (EXIT_ERROR, f"float-hooks: {what} ([hooks] strict = true: failing)")
    return (EXIT_OK, f"float-hooks: {what} (hook skipped; the git operation goes on)")


def _discover(cwd: str) -> Any:
    """The repository at ``cwd`` (a Git), or None if there is none: the hook then reports
    that from its own discovery."""
    from float_hooks.repo.git import Git  # lazy: after the hook's cheap early exits

    try:
        return Git.discover(cwd)
    except FloatError:
        return None


def _cwd_path(cwd: str) -> Any:

    return Path(cwd)


def _db_hint(cwd: str) -> Any:

    return Path(cwd) / ".float" / "index.db"


def _restart_with_site(name: str, argv: Sequence[str]) -> None:
    """The shims start Python with -S (no site: ~40 ms faster). If a module lives where only
    site processing finds it (an unusual install), run again the ordinary way."""
    exe = sys.executable
    os.execv(exe, [exe, "-m", "float_hooks", "hook-impl", name, *argv])
