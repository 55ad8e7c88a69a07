"""git's object database through libgit2 (pygit2), for reading many blobs in process: one
repository handle per thread and repository (libgit2 objects are not shared across threads).
Never on the hooks' path: pygit2 is slow to import."""

from __future__ import annotations

import threading
from typing import Any

from float_hooks.repo.git import Git

_local = threading.local()


def odb(git: Git) -> Any:
    """This thread's object database of ``git``'s repository."""
    import pygit2  # lazy: slow to import; never on the hook path

    cache: dict[str, Any] = _local.__dict__.setdefault("odbs", {})
    key = str(git.git_dir)
    if key not in cache:
        cache[key] = pygit2.Repository(key).odb
    return cache[key]
