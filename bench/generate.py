"""Deterministic benchmark repositories, built with ``git fast-import`` and cached.

A repository of N files over ~N/12 folders (the default ~90k files land in ~7.5k folders),
shaped like a real project: a preferential-attachment folder tree (a few wide hubs, most
folders 3-7 levels deep), files per folder skewed (many small folders, a few big ones), a
sprinkling of executables. Same parameters -> same bytes -> same commit id, because every
name, content and date comes from a seeded RNG and pinned author/committer lines.

Building goes through one ``git fast-import`` stream (blobs, then one commit) instead of
writing files and ``git add``-ing them, then ``git reset --hard`` materialises a real work tree
and index: benchmarks need both (``git status``, ``git ls-files -s`` and work-tree syncs read
them). Built repositories are cached under ``bench/.cache/`` keyed by parameters; a benchmark
that mutates a repository works on a copy (``fresh_copy``) so the cache stays pristine.
Wipe the cache with ``rm -rf bench/.cache`` (the 90k repo takes ~20-50 s to build here).

Use from another benchmark (scripts in ``bench/`` have this directory on ``sys.path``)::

    from generate import fresh_copy, edit_files, commit
    repo = fresh_copy(90_000, Path(tmp) / "repo", link=True)
    changed = edit_files(repo, 5, seed=1)
    commit(repo, "edit 5 files")

CLI: ``python bench/generate.py --files 90000`` prints the cached repository's path.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def as_installed() -> None:
    """Byte-compile float_hooks and webhook, as pip does when it installs them. Benchmarks
    time fresh CLI processes; where PYTHONDONTWRITEBYTECODE is set (this sandbox sets it),
    every process would otherwise compile each module changed since its last .pyc from
    source, ~30 ms per start that no installed copy pays."""
    import compileall

    for package in ("float_hooks", "webhook"):
        compileall.compile_dir(str(PROJECT / package), quiet=1)


# Bump when the generator's output changes, so stale caches are not reused.
VERSION = 1
CACHE = Path(__file__).resolve().parent / ".cache"
FILES_PER_FOLDER = 12
MAX_DEPTH = 12

# A fixed identity and clock: commit ids depend on them.
PINNED_ENV = {
    "GIT_AUTHOR_NAME": "Bench Author",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "Bench Author",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00+00:00",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00+00:00",
    "GIT_CONFIG_NOSYSTEM": "1",
}
_EPOCH = 1767225600  # 2026-01-01T00:00:00Z, the fast-import spelling of the pinned date

_WORD_TEXT = (
    "api auth billing cache client config core data db docs events handlers http internal "
    "jobs lib models net parser plugins queue render routes schema search server services "
    "shared storage sync tests tools ui utils views worker admin assets build cli common "
    "crypto export graph i18n import index io kernel layout logging mail metrics migrations "
    "notify orders payments policy profile proto reports runtime scheduler session shell "
    "static stream support tasks templates theme types upload users vendor widgets"
)
_WORDS = tuple(_WORD_TEXT.split())
_EXTS = (".py", ".py", ".py", ".ts", ".ts", ".tsx", ".md", ".json", ".go", ".rs", ".yaml", ".txt")


def git_env() -> dict[str, str]:
    """The caller's environment with git location variables dropped and identity pinned."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(PINNED_ENV)
    env["LC_ALL"] = "C"
    return env


def _git(repo: Path, *args: str, input: bytes | None = None) -> bytes:
    proc = subprocess.run(["git", *args], cwd=repo, env=git_env(), input=input,
                          capture_output=True)
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)}: {proc.stderr.decode(errors='replace')}")
    return proc.stdout


def default_folders(files: int) -> int:
    return max(1, round(files / FILES_PER_FOLDER))


def layout(files: int, folders: int | None = None, seed: int = 0) -> list[tuple[str, str, bytes]]:
    """The repository's content as ``(mode, repo-relative path, bytes)``, sorted by path."""
    folders = default_folders(files) if folders is None else max(1, folders)
    rng = random.Random(seed)
    # Folder tree: each new folder attaches to an existing one with probability ~ (1 + its
    # child count): a plane-oriented recursive tree, mean depth ~ ln(n)/2, like real repos.
    dirs: list[str] = [""]
    depth = [0]
    taken: list[set[str]] = [set()]
    urn: list[int] = [0]
    while len(dirs) < folders:
        parent = urn[rng.randrange(len(urn))]
        if depth[parent] >= MAX_DEPTH:
            continue
        base = rng.choice(_WORDS)
        name = base
        n = 2
        while name in taken[parent]:
            name = f"{base}{n}"
            n += 1
        taken[parent].add(name)
        dirs.append(f"{dirs[parent]}/{name}" if dirs[parent] else name)
        depth.append(depth[parent] + 1)
        taken.append(set())
        urn.extend((len(dirs) - 1, parent))
    # Every folder holds at least one file (git has no empty folders); the rest skewed.
    counts = [1] * len(dirs)
    # (capped so that no single folder swallows thousands of files)
    weights = [min(rng.paretovariate(1.2), 40.0) for _ in dirs]
    for i in rng.choices(range(len(dirs)), weights=weights, k=max(0, files - len(dirs))):
        counts[i] += 1
    out: list[tuple[str, str, bytes]] = []
    serial = 0
    for d, count in zip(dirs, counts, strict=True):
        for k in range(count):
            serial += 1
            fname = f"{rng.choice(_WORDS)}_{k}{rng.choice(_EXTS)}"
            path = f"{d}/{fname}" if d else fname
            mode = "100755" if rng.random() < 0.01 else "100644"
            lines = rng.randrange(4, 40)
            body = "".join(
                f"{rng.choice(_WORDS)} = {rng.randrange(10**6)}  # line {i}\n"
                for i in range(lines)
            )
            out.append((mode, path, f"# {path} ({serial})\n{body}".encode()))
    out.sort(key=lambda e: e[1].encode())
    return out


def _stream(entries: list[tuple[str, str, bytes]], message: str) -> bytes:
    parts: list[bytes] = []
    for mark, (_mode, _path, data) in enumerate(entries, 1):
        parts.append(b"blob\nmark :%d\ndata %d\n%s\n" % (mark, len(data), data))
    who = f"{PINNED_ENV['GIT_AUTHOR_NAME']} <{PINNED_ENV['GIT_AUTHOR_EMAIL']}> {_EPOCH} +0000"
    msg = message.encode()
    parts.append(
        b"commit refs/heads/main\nauthor %s\ncommitter %s\ndata %d\n%s\n"
        % (who.encode(), who.encode(), len(msg), msg)
    )
    for mark, (mode, path, _data) in enumerate(entries, 1):
        parts.append(b"M %s :%d %s\n" % (mode.encode(), mark, path.encode()))
    parts.append(b"\ndone\n")
    return b"".join(parts)


def generate_repo(path: Path, files: int, folders: int | None = None, seed: int = 0) -> Path:
    """Build the repository at ``path`` (must not exist or be empty); returns ``path``."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    _git(path, "init", "-q", "-b", "main")
    _git(path, "config", "core.autocrlf", "false")
    _git(path, "config", "gc.auto", "0")  # no background gc skewing timings
    entries = layout(files, folders, seed)
    n_dirs = default_folders(files) if folders is None else folders
    _git(path, "fast-import", "--quiet", "--done",
         input=_stream(entries, f"bench: {files} files in {n_dirs} folders (seed {seed})\n"))
    _git(path, "reset", "-q", "--hard", "main")  # writes the work tree and the index
    return path


def cached_repo(files: int, folders: int | None = None, seed: int = 0,
                cache: Path | None = None) -> Path:
    """The pristine cached repository for these parameters (built on first use). Read only."""
    folders = default_folders(files) if folders is None else folders
    cache = CACHE if cache is None else Path(cache)
    dest = cache / f"repo-v{VERSION}-f{files}-d{folders}-s{seed}"
    if (dest / ".git").is_dir():
        return dest
    cache.mkdir(parents=True, exist_ok=True)
    # Build beside the cache entry and rename: concurrent builders never see half a repo.
    tmp = Path(tempfile.mkdtemp(prefix="build-", dir=cache))
    try:
        generate_repo(tmp / "repo", files, folders, seed)
        try:
            os.rename(tmp / "repo", dest)
        except OSError:
            if not (dest / ".git").is_dir():
                raise  # not a lost race: a real failure
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def build_cache_apart(files: int, folders: int | None = None, seed: int = 0,
                      cache: Path | None = None) -> None:
    """Build the cached repository in a child process. A benchmark that reports its children's
    peak memory must not build it itself: the children it starts later would inherit the
    build's high-water mark (a forked child's peak RSS starts at its parent's)."""
    argv = [sys.executable, __file__, "--files", str(files), "--seed", str(seed)]
    if folders is not None:
        argv += ["--folders", str(folders)]
    if cache is not None:
        argv += ["--cache", str(cache)]
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)


def fresh_copy(files: int, dest: Path, folders: int | None = None, seed: int = 0, *,
               link: bool = False, cache: Path | None = None) -> Path:
    """A private, writable copy of the cached repository at ``dest`` (must not exist).

    ``link=True`` hard-links the work-tree files instead of copying them (~3 s instead of
    ~40 s for 90k files on a slow disk). Then a file must be *replaced*, never written in place
    (``write_file``/``edit_files`` do that; so do git checkout/reset), or the cache is damaged.
    ``.git`` is always copied. The index is refreshed, so the copy starts clean and warm.
    """
    src = cached_repo(files, folders, seed, cache)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not link:
        # cp -a keeps mtimes, so the copied index stays clean and `git status` needs no refresh
        subprocess.run(["cp", "-a", str(src), str(dest)], check=True)
        return dest
    dest.mkdir()
    top = [str(p) for p in src.iterdir() if p.name != ".git"]
    if top:
        subprocess.run(["cp", "-al", *top, str(dest)], check=True)
    subprocess.run(["cp", "-a", str(src / ".git"), str(dest / ".git")], check=True)
    # Every new link to an inode changes its ctime, in *all* copies: a later copy would make
    # this one's index look stat-dirty (and every file get re-hashed). Git is told to ignore
    # ctime here; mtime, size and inode still catch real edits.
    _git(dest, "config", "core.trustctime", "false")
    # linking changed the files' ctime: let git re-stat them once now, not in a timed run
    _git(dest, "update-index", "-q", "--refresh")
    return dest


def write_file(repo: Path, rel: str, data: bytes) -> None:
    """Write a work-tree file by replacing it (safe for hard-linked copies)."""
    target = repo / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".bench-tmp")
    tmp.write_bytes(data)
    if target.exists():
        shutil.copymode(target, tmp)
    os.replace(tmp, target)


def edit_files(repo: Path, count: int, seed: int = 1) -> list[str]:
    """Append a line to ``count`` tracked files in distinct folders; returns their paths."""
    tracked = _git(repo, "ls-files", "-z").split(b"\0")
    tracked = [p for p in tracked if p and not p.startswith(b".float/")]
    rng = random.Random(seed)
    chosen: list[str] = []
    seen: set[str] = set()
    while len(chosen) < min(count, len(tracked)):
        rel = rng.choice(tracked).decode()
        folder = rel.rpartition("/")[0]
        if rel in chosen or (folder in seen and len(seen) < count):
            continue
        seen.add(folder)
        chosen.append(rel)
    for rel in chosen:
        write_file(repo, rel, (repo / rel).read_bytes() + f"edited = {seed}\n".encode())
    return chosen


def commit(repo: Path, message: str, paths: list[str] | None = None) -> str:
    """Stage ``paths`` (all tracked changes when None) and commit; returns the commit id."""
    if paths is None:
        _git(repo, "add", "-u")
    else:
        _git(repo, "add", "--", *paths)
    _git(repo, "commit", "-q", "--no-verify", "-m", message)
    return _git(repo, "rev-parse", "HEAD").decode().strip()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=90_000)
    ap.add_argument("--folders", type=int, default=None, help="default: files / 12")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None,
                    help="build here instead of the cache (the directory must not exist)")
    ap.add_argument("--cache", type=Path, default=None, help=f"default: {CACHE}")
    args = ap.parse_args(argv)
    if args.out is not None:
        path = generate_repo(args.out, args.files, args.folders, args.seed)
    else:
        path = cached_repo(args.files, args.folders, args.seed, args.cache)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
