"""The per-repository bare mirror, ``DATA_DIR/<owner>/<repo>/mirror.git``, kept with GitPython.

``clone --mirror`` the first time, ``fetch --prune`` afterwards: the mirror then holds every
branch exactly as the origin has it, including after forced pushes and deletions. Credentials
come from git's own configuration (credential helpers, ``url.<base>.insteadOf``), never from
the URL template, so no token lands in the mirror's config file.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

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


def update(data_dir: Path, template: str, full_name: str) -> Path:
    """Clone or fetch the mirror; returns its path."""
    import git  # GitPython: imported here so that answering a request never pays for it

    path = mirror_path(data_dir, full_name)
    url = clone_url(template, full_name)
    env = {**_location_free_env(), **_GIT_ENV}
    try:
        if (path / "HEAD").exists():
            repo = git.Repo(path)
            with repo.git.custom_environment(**_GIT_ENV):
                # the URL follows the template, so a changed template (or a renamed origin)
                # takes effect without deleting the mirror
                repo.git.remote("set-url", "origin", url)
                repo.git.fetch("--prune", "--quiet", "origin")
            return path
        tmp = path.with_name(MIRROR + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.parent.mkdir(parents=True, exist_ok=True)
        # clone into a temporary name and rename: a crash mid-clone never leaves a
        # half-cloned directory that later looks like a mirror
        git.Repo.clone_from(url, tmp, mirror=True, env=env)
        os.replace(tmp, path)
        return path
    except git.GitCommandError as e:
        detail = (e.stderr or "").strip().splitlines()
        raise MirrorError(
            f"git {e.command[1] if len(e.command) > 1 else ''} for {full_name} failed: "
            f"{detail[-1] if detail else e.status}") from e


def head_branch(path: Path) -> str | None:
    """The branch the mirror's HEAD names (the origin's default branch at clone time)."""
    import git

    try:
        ref = str(git.Repo(path).git.symbolic_ref("--quiet", "HEAD"))
    except git.GitCommandError:
        return None
    return ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None


def _location_free_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items()
            if k not in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_PREFIX")}
