"""Reading an export's pages (``.float/project/``) into records, from disk or from git.

Pages are input from anyone who can push, so each is bounded and checked before its records
are believed (frontmatter.parse refuses oversize pages, YAML aliases, tags and deep nesting;
here each record's fields must have the types the DB stores). A bad page fails alone, with one
line naming it; the other pages are read. Only regular files and blobs are read: a symlink or
a FIFO in the export directory is skipped, never followed.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from float_hooks.errors import quoted
from float_hooks.pages import frontmatter
from float_hooks.repo.git import Git, blob_id
from float_hooks.store import record_format
from float_hooks.store.merge import ExportData
from float_hooks.store.schema import AUTHORED_FOLDER_FIELDS

FORMAT = 1  # the page format this version writes and reads (export.FORMAT)
# The whole export read at once is bounded too (the webhook server reads pushed ones).
MAX_EXPORT_BYTES = 512 * 1024 * 1024

_KEYS = {"decisions": "decisions", "questions": "questions", "references": "references",
         "archive": "archived", "conflicts": "conflicts"}


@dataclass
class PageSet:
    """Records read from pages, the one-line errors of pages that were skipped, and the git
    blob id of each page read (render.py compares them with what it wrote)."""

    data: ExportData = field(default_factory=ExportData)
    errors: list[str] = field(default_factory=list)
    blobs: dict[str, str] = field(default_factory=dict)
    # records of pages whose blob is not among ``committed`` (parse_pages): not in git yet
    uncommitted: ExportData = field(default_factory=ExportData)


def parse_pages(pages: Iterable[tuple[str, bytes]], where: str = "",
                object_format: str = "sha1", committed: set[str] | None = None,
                known: dict[str, str] | None = None) -> PageSet:
    """The records in generated pages (name, bytes), in the order given; other files are
    ignored. With ``committed`` (blob ids), records of the other pages go to
    ``uncommitted``. ``known``: the blob ids of pages read from git (not hashed again)."""
    out = PageSet()
    def shown(name: str) -> str:  # a page's name is anyone's: bounded and escaped
        return quoted(f"{where}/{name}" if where else name, 200)

    for name, raw in pages:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            if frontmatter.is_generated_bytes(raw):
                out.errors.append(f"{shown(name)}: skipped: not UTF-8 text")
            continue  # not one of ours
        try:
            parsed = frontmatter.parse(text)
            if parsed is None:
                continue
            blob = known.get(name) if known else None
            if blob is None:
                blob = blob_id(raw, object_format)
            if committed is not None and blob not in committed and b"\r\n" in raw:
                # checked out with CRLF endings: git holds the LF bytes
                blob = blob_id(raw.replace(b"\r\n", b"\n"), object_format)
            into = out.data if committed is None or blob in committed else out.uncommitted
            _collect(parsed[0], into)
            # only a page whose records were taken counts as read (export and the server's
            # export push overwrite read pages only)
            out.blobs[name] = blob
        except frontmatter.PageError as e:
            out.errors.append(f"{shown(name)}: skipped: {e}")
    return out


def _collect(meta: dict[str, Any], data: ExportData) -> None:
    fmt = meta.get("format", 1)
    if not isinstance(fmt, int) or isinstance(fmt, bool) or fmt > FORMAT:
        raise frontmatter.PageError("written in a newer page format; upgrade float-hooks")
    kind = meta.get("kind")
    if kind == "folder":
        data.folders.append(_folder(meta))
        return
    key = _KEYS.get(kind) if isinstance(kind, str) else None
    if key is None:
        return  # an index or year page: nothing to import
    items = meta.get(key) or []
    if not isinstance(items, list):
        raise frontmatter.PageError(f"{key} is not a list")
    check = {"decisions": _decision, "questions": _question, "references": _reference,
             "archived": _archived, "conflicts": _conflict}[key]
    records = [check(item) for item in items]  # all checked before any is taken
    getattr(data, key).extend(records)


# -- field checks: the types the DB stores, and nothing else ------------------------------------
def _need(ok: bool, what: str) -> None:
    if not ok:
        raise frontmatter.PageError(what)


def _text(value: Any, what: str) -> None:
    _need(value is None or isinstance(value, str), f"{what} is not text")


def _texts(value: Any, what: str) -> None:
    _need(value is None or (isinstance(value, list)
                            and all(isinstance(v, str) for v in value)), f"{what} is not a list"
          " of text")


def _path(value: Any, what: str) -> str:
    _need(isinstance(value, str) and value.startswith("/") and "\0" not in value
          and not any(p in ("", ".", "..") for p in value[1:].split("/") if value != "/"),
          f"{what} is not a repository path")
    return str(value)


def _anchors(value: Any) -> None:
    """Anchors as code/anchors.py writes them: a list of mappings of text."""
    _need(value is None or (isinstance(value, list) and all(
        isinstance(a, dict) and isinstance(a.get("anchor"), str)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in a.items())
        for a in value)), "anchors is not a list of anchors")


def _lineage(rec: dict[str, Any]) -> None:
    _text(rec.get("version"), "version")
    _texts(rec.get("parents"), "parents")


def _folder(meta: dict[str, Any]) -> dict[str, Any]:
    _path(meta.get("path"), "path")
    for f in AUTHORED_FOLDER_FIELDS:
        value = meta.get(f)
        if f == "anchors":
            _anchors(value)
        elif f in record_format.FOLDER_JSON:
            _need(value is None or isinstance(value, (str, list)), f"{f} is not a list")
        else:
            _text(value, f)
    _text(meta.get("source_hash"), "source_hash")
    _lineage(meta)
    return meta


def _decision(item: Any) -> dict[str, Any]:
    _need(isinstance(item, dict) and isinstance(item.get("uid"), str) and item["uid"]
          and isinstance(item.get("title"), str) and isinstance(item.get("date"), str),
          "a decision without uid, title or date")
    for c in record_format.LOG_COLUMNS:
        if c not in ("files_changed", "anchors"):
            _text(item.get(c), c)
    _anchors(item.get("anchors"))
    _texts(item.get("files_changed"), "files_changed")
    _texts(item.get("tags"), "tags")
    _lineage(item)
    return dict(item)


def _simple(columns: tuple[str, ...], required: tuple[str, ...]) -> Any:
    """The check of a question's or reference's record: a uid, the ``required`` texts (the
    columns the DB holds NOT NULL), and the other columns text or absent."""
    def check(item: Any) -> dict[str, Any]:
        _need(isinstance(item, dict) and isinstance(item.get("uid"), str) and item["uid"],
              "a record without uid")
        for c in required:
            _need(isinstance(item.get(c), str) and item[c] != "", f"a record without {c}")
        for c in columns:
            if c != "anchors":
                _text(item.get(c), c)
        _anchors(item.get("anchors"))
        _lineage(item)
        return dict(item)
    return check


_question = _simple(record_format.QUESTION_COLUMNS, ("question",))
_reference = _simple(record_format.REFERENCE_COLUMNS,
                     ("source_type", "source_id", "target_type", "target_id"))


def _archived(item: Any) -> dict[str, Any]:
    _need(isinstance(item, dict) and isinstance(item.get("content"), dict),
          "an archived folder without content")
    _path(item.get("path"), "path")
    for c in record_format.ARCHIVE_COLUMNS:
        if c != "path":
            _text(item.get(c), c)
    _folder({**item["content"], "path": item["path"]})
    return dict(item)


def _conflict(item: Any) -> dict[str, Any]:
    """A conflict's record is checked as a record of its kind: resolving the conflict in its
    favour writes it."""
    _need(isinstance(item, dict) and item.get("kind") in record_format.VERSIONED
          and isinstance(item.get("key"), str) and isinstance(item.get("record"), dict),
          "a conflict without kind, key or record")
    kind, record = item["kind"], item["record"]
    if kind == "folder":
        _folder({**record, "path": item["key"]})
    else:
        {"decision": _decision, "question": _question, "reference": _reference}[kind](record)
    return dict(item)


# -- sources -------------------------------------------------------------------------------------
def read_dir(root: Path, object_format: str = "sha1",
             committed: set[str] | None = None) -> PageSet:
    """Every page under ``root`` (a work tree's export)."""
    errors: list[str] = []
    files = markdown_files(root, errors, max_file=frontmatter.MAX_PAGE_BYTES,
                           max_total=MAX_EXPORT_BYTES)
    out = parse_pages(files, str(root), object_format, committed)
    out.errors[:0] = errors
    return out


def markdown_files(root: Path, errors: list[str], *, max_file: int,
                   max_total: int | None = None, max_files: int | None = None,
                   where: Callable[[str], str] | None = None) -> Iterator[tuple[str, bytes]]:
    """Every regular ``*.md`` file under ``root``, sorted, as (relative path, at most
    ``max_file`` + 1 bytes): symlinks, FIFOs and devices are never followed or opened. What
    is skipped (too large, unreadable, past ``max_total`` bytes or ``max_files`` files) is
    one line in ``errors``, the file named by ``where`` (default: root/path)."""
    name_of = where or (lambda rel: f"{root}/{rel}")
    total = count = 0
    prefix = os.path.join(root, "")
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if not name.endswith(".md"):
                continue
            full = os.path.join(dirpath, name)
            rel = full[len(prefix):].replace(os.sep, "/")
            if max_files is not None and count >= max_files:
                errors.append(f"{quoted(str(root), 200)}: more than {max_files} files;"
                              " the rest skipped")
                return
            try:
                st = os.lstat(full)
                if not stat.S_ISREG(st.st_mode):
                    continue  # a symlink, FIFO or device: never followed or opened
                if st.st_size > max_file:
                    errors.append(f"{quoted(name_of(rel), 200)}: skipped: larger than"
                                  f" {_size(max_file)}")
                    continue
                total += st.st_size
                if max_total is not None and total > max_total:
                    errors.append(f"{root}: larger than {_size(max_total)} in all;"
                                  " the rest skipped")
                    return
                with open(full, "rb") as f:
                    data = f.read(max_file + 1)
            except OSError as e:
                errors.append(f"{quoted(name_of(rel), 200)}: skipped: {e.strerror}")
                continue
            count += 1
            yield rel, data


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n % (1024 * 1024) == 0 else f"{n // 1024} KiB"


def read_tree(git: Git, tree: str, only: set[str] | None = None) -> PageSet:
    """The pages of an export stored in git (a tree id): for a bare mirror, and for what a
    commit brought (``only``: just these pages)."""
    errors: list[str] = []
    listing = git.run("ls-tree", "-r", "-l", "-z", "--end-of-options", tree)
    wanted: list[tuple[str, str]] = []
    total = 0
    for rec in listing.split(b"\0"):
        if not rec:
            continue
        meta, _, raw = rec.partition(b"\t")
        mode, kind, oid, size = meta.decode().split()
        name = os.fsdecode(raw)
        if kind != "blob" or mode not in ("100644", "100755") or not name.endswith(".md") \
                or (only is not None and name not in only):
            continue
        if int(size) > frontmatter.MAX_PAGE_BYTES:
            errors.append(f"{quoted(name, 200)}: skipped: larger than"
                          f" {frontmatter.MAX_PAGE_BYTES // (1024 * 1024)} MiB")
            continue
        total += int(size)
        if total > MAX_EXPORT_BYTES:
            errors.append(f"the export is larger than {MAX_EXPORT_BYTES // (1024 * 1024)} MiB;"
                          " the rest skipped")
            break
        wanted.append((name, oid))
    found: list[tuple[str, bytes]] = []
    if wanted:
        raw = git.run("cat-file", "--batch", input="".join(o + "\n" for _, o in wanted).encode())
        pos = 0
        for name, _oid in wanted:
            header_end = raw.index(b"\n", pos)
            length = int(raw[pos:header_end].split(b" ")[2])
            found.append((name, raw[header_end + 1 : header_end + 1 + length]))
            pos = header_end + 1 + length + 1
    out = parse_pages(sorted(found), "", git.object_format())
    out.errors[:0] = errors
    return out
