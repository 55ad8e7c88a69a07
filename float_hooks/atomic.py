"""Writing a file whole or not at all: the one way float-hooks writes a file someone reads
(export pages, `init`'s scaffold, agents' config files, git hook shims); and the guards for
files and folders of a repository, which anyone who can push may have placed: read bounded,
never through a symlink."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import threading
from pathlib import Path

from float_hooks.errors import FloatError, quoted


def through_symlink(base: Path, target: Path) -> str | None:
    """Why nothing may be read or written in ``target`` (a folder at or below ``base``), or
    None: one of its folders below ``base``, itself included, is a symlink or not a folder.
    A symlink committed there (anyone can push one) would choose where float-hooks reads or
    writes. Folders not made yet are fine."""
    at = base
    for part in target.relative_to(base).parts:
        at = at / part
        try:
            st = os.lstat(at)
        except FileNotFoundError:
            return None
        except OSError as e:
            return f"{quoted(str(at), 200)}: cannot look at it ({e.strerror})"
        if not stat.S_ISDIR(st.st_mode):  # lstat: a symlink to a folder is no folder here
            return (f"{quoted(str(at), 200)}: a symlink or a file where a folder goes;"
                    " float-hooks never reads or writes through one")
    return None


def open_regular(path: Path, flags: int, error: type[FloatError] = FloatError, *,
                 why: str = "", mode: int = 0o644) -> int:
    """A descriptor for a file of a repository (anyone who can push may have placed it):
    never opened through a symlink (O_NOFOLLOW), a FIFO does not block (O_NONBLOCK), and
    anything but a regular file is ``error``, one line (``why`` appended). Raises OSError
    (FileNotFoundError: there is none)."""
    try:
        fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK, mode)
    except OSError as e:
        if e.errno != errno.ELOOP:  # ELOOP: a symlink, refused below in plain words
            raise
        fd = -1
    if fd < 0 or not stat.S_ISREG(os.fstat(fd).st_mode):
        if fd >= 0:
            os.close(fd)
        raise error(f"{quoted(str(path), 200)}: a symlink, or not a regular file{why}")
    return fd


def read_text(path: Path, limit: int, error: type[FloatError] = FloatError, *,
              follow: bool = False, why: str = "") -> str | None:
    """The UTF-8 text of ``path``, at most ``limit`` bytes (None: there is no file). Unless
    ``follow`` (a file of the user's own), only a regular file (open_regular): never read
    through a symlink nor from a device (a link to /dev/zero would never end). Anything
    else is ``error``, one line."""
    shown = quoted(str(path), 200)
    try:
        fd = os.open(path, os.O_RDONLY) if follow \
            else open_regular(path, os.O_RDONLY, error, why=why)
        with open(fd, "rb") as f:
            raw = f.read(limit + 1)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise error(f"{shown}: cannot read ({e.strerror})") from None
    if len(raw) > limit:
        size = f"{limit // 2**20} MiB" if limit % 2**20 == 0 else f"{limit // 1024} KiB"
        raise error(f"{shown}: larger than {size}")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise error(f"{shown}: not UTF-8 text") from None


def write_atomic(path: Path, data: bytes | str, *, mode: int | None = None) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` through a temporary file beside it, renamed
    over it: a crash or a full disk leaves the old file (or none), never half a file, and no
    temporary file when the error can be seen. Parent folders are made. The file gets ``mode``
    if given, else an existing file's permission bits (a user's 0600 settings stay 0600),
    else the umask's. Not synced to disk: what must survive a power cut has a journal.
    Raises OSError."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode is None:
        with contextlib.suppress(FileNotFoundError):
            mode = stat.S_IMODE(os.stat(path).st_mode)
    # hidden, and unique per writer (two threads or processes writing the same file)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        # with a mode to keep, created private and given it before any byte is written: a
        # 0600 file of tokens is never readable by others, not even as its temporary
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                     0o600 if mode is not None else 0o666)
        with open(fd, "wb") as f:
            if mode is not None:
                os.fchmod(f.fileno(), mode)
            f.write(raw)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise

