"""The per-repository bare mirror, ``DATA_DIR/<owner>/<repo>/mirror.git``, kept with GitPython.

A bare repository whose branches and tags are fetched with ``--prune`` onto the same names
(a mirror without GitHub's ``refs/pull/*``): it holds every branch exactly as the origin has
it, including after forced pushes and deletions. Credentials
come from git's own configuration (credential helpers, ``url.<base>.insteadOf``), never from
the URL template, so no token lands in the mirror's config file.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from webhook.names import repo_dir, split

MIRROR = "mirror.git"

# git must never stop to ask for a password on a server, nor run a configured askpass program.
_GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "SSH_ASKPASS": "true"}


class MirrorError(Exception):
    pass


def clone_url(template: str, full_name: str) -> str:
    owner, repo = split(full_name)  # validated again: this is the only place a URL is built
    return template.replace("{full_name}", f"{owner}/{repo}")


def mirror_path(data_dir: Path, full_name: str) -> Path:
    return repo_dir(data_dir, full_name) / MIRROR


def update(data_dir: Path, template: str, full_name: str,
           default_branch: str | None = None, branch: str | None = None) -> Path:
    """Create or fetch the mirror; returns its path. ``default_branch`` (from the payload)
    keeps the mirror's HEAD naming the origin's default branch; ``branch`` limits an update
    of an existing mirror to that branch."""
    import git  # GitPython: imported here so that answering a request never pays for it

    path = mirror_path(data_dir, full_name)
    url = clone_url(template, full_name)
    try:
        if (path / "HEAD").exists():
            repo = git.Repo(path)
        else:
            # built under a temporary name and renamed: a crash half-way never leaves a
            # directory that looks like a mirror
            tmp = path.with_name(MIRROR + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.parent.mkdir(parents=True, exist_ok=True)
            repo = git.Repo.init(tmp, bare=True)
            repo.git.remote("add", "origin", url)
            # branches and tags only: `clone --mirror` would also copy GitHub's refs/pull/*,
            # which for a busy repository is most of the refs and none of the map
            repo.git.config("remote.origin.fetch", "+refs/heads/*:refs/heads/*")
            repo.git.config("--add", "remote.origin.fetch", "+refs/tags/*:refs/tags/*")
            repo.git.config("gc.auto", "0")  # no gc racing a sync; `git gc` from cron instead
            # the forced-update check walks history only to print a message; the sync finds
            # rewritten history by itself
            repo.git.config("fetch.showForcedUpdates", "false")
            repo.git.config("advice.fetchShowForcedUpdates", "false")
            _fetch(repo, url)
            _set_head(repo, default_branch or _remote_head(repo))
            repo.close()
            os.replace(tmp, path)
            return path
        _fetch(repo, url, branch)
        if default_branch:
            _set_head(repo, default_branch)
        repo.close()
        return path
    except git.GitCommandError as e:
        raise MirrorError(
            f"git {e.command[1] if len(e.command) > 1 else ''} for {full_name} failed: "
            f"{git_reason(str(e.stderr or ''), e.status)}") from e


def fetch_ref(path: Path, ref: str, timeout: float) -> str | None:
    """The commit ``ref`` names on the origin now (None: no such ref), fetched into the
    mirror's ``ref`` (a push fetches only the tracked branch)."""
    import git  # lazy: GitPython: answering a request never pays for it

    repo = git.Repo(path)
    try:
        with repo.git.custom_environment(**_GIT_ENV):
            out = str(repo.git.ls_remote("origin", ref, kill_after_timeout=timeout))
            tip = next((line.split("\t")[0] for line in out.splitlines()
                        if line.endswith("\t" + ref)), None)
            if tip is None:
                repo.git.update_ref("-d", ref)
            else:
                repo.git.fetch("--quiet", "--no-write-fetch-head", "origin", f"+{ref}:{ref}",
                               kill_after_timeout=timeout)
        return tip
    except git.GitCommandError as e:
        raise MirrorError(f"git {e.command[1] if len(e.command) > 1 else ''} failed: "
                          f"{git_reason(str(e.stderr or ''), e.status)}") from e
    finally:
        repo.close()


def push(path: Path, commit: str, ref: str, expected: str | None, timeout: float) -> None:
    """Push ``commit`` to ``ref`` of the origin (the server's export branch, export_push.py)
    only if the origin still has ``expected`` there (None: no such ref), and keep the
    mirror's ``ref`` where the origin now has it."""
    import git  # lazy: GitPython: answering a request never pays for it

    repo = git.Repo(path)
    try:
        with repo.git.custom_environment(**_GIT_ENV):
            repo.git.push("--quiet", f"--force-with-lease={ref}:{expected or ''}", "origin",
                          f"{commit}:{ref}", kill_after_timeout=timeout)
        repo.git.update_ref(ref, commit)
    except git.GitCommandError as e:
        raise MirrorError(f"git push failed: {git_reason(str(e.stderr or ''), e.status)}"
                          ) from e
    finally:
        repo.close()


REASON_CHARS = 500


def git_reason(stderr: str, status: object) -> str:
    """git's own reason from its stderr: the ``fatal:``/``error:`` lines (git ends many of its
    messages with advice such as "... and the repository exists.", which is no reason), else
    the last line, else the exit status. GitPython quotes stderr as ``stderr: '...'``."""
    text = stderr.strip()
    if text.startswith("stderr: '") and text.endswith("'"):
        text = text[len("stderr: '"):-1]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    reasons = [line for line in lines if line.startswith(("fatal:", "error:"))]
    reason = "; ".join(reasons or lines[-1:]) or f"exit status {status}"
    return reason[:REASON_CHARS]


def _fetch(repo: Any, url: str, branch: str | None = None) -> None:
    """Fetch every branch and tag, or only ``branch`` (what a push needs: one ref to
    negotiate instead of all of them). Each git process costs milliseconds, so the
    bookkeeping around the fetch reads files through GitPython instead of running git."""
    with repo.git.custom_environment(**_GIT_ENV):
        if repo.remotes.origin.url != url:
            # the URL follows the template, so a changed template takes effect in place
            repo.git.remote("set-url", "origin", url)
        args = ["--prune", "--quiet", "--no-write-fetch-head", "origin"]
        if branch:
            try:
                repo.git.fetch(*args, f"+refs/heads/{branch}:refs/heads/{branch}")
                return
            except Exception as e:  # git.GitCommandError; the branch is gone since the push
                if "couldn't find remote ref" not in str(getattr(e, "stderr", "")):
                    raise
        repo.git.fetch(*args)


def _remote_head(repo: Any) -> str | None:
    with repo.git.custom_environment(**_GIT_ENV):
        out = str(repo.git.ls_remote("--symref", "origin", "HEAD"))
    for line in out.splitlines():
        if line.startswith("ref: refs/heads/"):
            return line[len("ref: refs/heads/"):].split("\t")[0]
    return None


def _set_head(repo: Any, branch: str | None) -> None:
    if not branch:
        return
    head = (Path(repo.git_dir) / "HEAD").read_text(encoding="utf-8", errors="replace")
    if head.strip() == f"ref: refs/heads/{branch}":
        return
    if repo.git.rev_parse("--verify", "--quiet", f"refs/heads/{branch}",
                          with_exceptions=False):
        repo.git.symbolic_ref("HEAD", f"refs/heads/{branch}")


def head_branch(path: Path) -> str | None:
    """The branch the mirror's HEAD names (the origin's default branch at clone time): read
    from the file, as _set_head does, not by starting git."""
    try:
        head = (path / "HEAD").read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
    return head.removeprefix("ref: refs/heads/") if head.startswith("ref: refs/heads/") else None


