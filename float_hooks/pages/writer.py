"""Writing the export (render.py renders it) to disk, without ever dropping a record.

The export directory is the team's shared copy and a rebuild's source, so before any page is
replaced, the pages on disk that this DB did not write or read itself (a teammate's commit
that was never imported, a page edited by hand, an older DB's export) are merged into the DB
(merge.py keeps both sides of any conflict). A page that cannot be read safely stops the
export with one line and nothing written: replacing it would drop what it holds.

Only pages whose bytes changed are written (each through a temporary file and a rename, the
temporary file removed if the disk is full), pages of records that no longer exist are
removed, and files the export did not generate are never touched. The DB remembers the blob
of every page it wrote (``export_pages``).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from float_hooks import failpoints
from float_hooks.atomic import through_symlink, write_atomic
from float_hooks.errors import FloatError
from float_hooks.pages import frontmatter, importer, reader
from float_hooks.pages.render import render_pages
from float_hooks.repo.git import blob_id
from float_hooks.store.db import Store, select_in
from float_hooks.store.merge import ImportResult


@dataclass
class ExportResult:
    pages: int
    written: list[str]
    removed: list[str]
    merged: ImportResult = field(default_factory=ImportResult)

    @property
    def changed(self) -> bool:
        return bool(self.written or self.removed)

    def as_json(self, where: str) -> dict[str, Any]:
        return {"dir": where, "pages": self.pages, "written": len(self.written),
                "removed": len(self.removed), "changed": self.changed,
                "written_pages": self.written, "removed_pages": self.removed,
                "merged_first": self.merged.as_json()}


class ExportRefused(FloatError):
    pass


def export(store: Store, out: Path, object_format: str = "sha1",
           base: Path | None = None) -> ExportResult:
    """Write the export to ``out`` (one transaction: the pages on disk merged in first, then
    the pages written, then their blobs remembered). No folder from ``base`` (default:
    ``out`` itself) down to a page may be a symlink (atomic.through_symlink)."""
    refused = through_symlink(base or out, out)
    if refused:
        raise ExportRefused(f"{refused}; nothing was written")
    with store.write() as conn:
        on_disk = _generated_pages(out)
        known = dict(select_in(conn, "SELECT page, blob FROM export_pages WHERE page IN ({})",
                               on_disk, scan="SELECT page, blob FROM export_pages"))
        unknown = [(rel, data) for rel, data in sorted(on_disk.items())
                   if known.get(rel) != blob_id(data, object_format)]
        found = reader.parse_pages(unknown, str(out), object_format)
        if found.errors:
            raise ExportRefused(f"{found.errors[0]}; the export would replace it, so nothing"
                                " was written (fix or remove the page, then export again)")
        merged = importer.merge_pages(conn, found, source=str(out))
        rendered = render_pages(conn)
        pages = {rel: text.encode("utf-8") for rel, text in sorted(rendered.items())}
        _importable(pages)
        _real_folders(out, [rel for rel, data in pages.items() if on_disk.get(rel) != data])
        written: list[str] = []
        blobs: list[tuple[str, str]] = []
        for rel, data in pages.items():
            blobs.append((rel, blob_id(data, object_format)))
            if on_disk.get(rel) == data:
                continue
            _write(out / rel, data)
            written.append(rel)
            if len(written) == 2:
                failpoints.reached("export:writing")
        removed = sorted(rel for rel in on_disk if rel not in rendered)
        for rel in removed:
            try:
                (out / rel).unlink()
            except FileNotFoundError:
                pass
            except OSError as e:
                raise FloatError(f"{out / rel}: cannot remove it ({e.strerror})") from e
            failpoints.reached("export:removed")
        _prune_dirs(out)
        conn.executemany("DELETE FROM export_pages WHERE page = ?", [(r,) for r in removed])
        importer.remember_blobs(conn, blobs)
    return ExportResult(len(rendered), written, removed, merged)


def _importable(pages: dict[str, bytes]) -> None:
    """Refuse, before anything is written, an export that import would not take back whole
    (a page over frontmatter.MAX_PAGE_BYTES, an export over reader.MAX_EXPORT_BYTES): a
    clone would skip those pages and lose what they hold."""
    mib = 1024 * 1024
    for rel, data in pages.items():
        if len(data) > frontmatter.MAX_PAGE_BYTES:
            raise ExportRefused(
                f"{rel}: would be {len(data) / mib:.1f} MiB, more than the"
                f" {frontmatter.MAX_PAGE_BYTES // mib} MiB a page may hold for import; nothing"
                " was written (shorten that folder's context or its records)")
    total = sum(len(data) for data in pages.values())
    if total > reader.MAX_EXPORT_BYTES:
        raise ExportRefused(f"the export would be {total // mib} MiB, more than the"
                            f" {reader.MAX_EXPORT_BYTES // mib} MiB import reads; nothing was"
                            " written")


def _real_folders(out: Path, pages: list[str]) -> None:
    """Refuse, before anything is written, pages whose folders below ``out`` are reached
    through a symlink (a committed one would send the page anywhere)."""
    seen: set[str] = set()
    for rel in pages:
        folder = rel.rpartition("/")[0]
        if folder and folder not in seen:
            seen.add(folder)
            refused = through_symlink(out, out / folder)
            if refused:
                raise ExportRefused(f"{refused}; nothing was written")


def _generated_pages(out: Path) -> dict[str, bytes]:
    """The pages under ``out`` that an export wrote (by their first line), as bytes."""
    found: dict[str, bytes] = {}
    if not out.is_dir():
        return found
    for dirpath, dirnames, filenames in os.walk(out):
        dirnames.sort()
        for name in sorted(filenames):
            if not name.endswith(".md"):
                continue
            full = Path(dirpath) / name
            try:
                if not full.is_file() or full.is_symlink():
                    continue
                with open(full, "rb") as f:
                    data = f.read(frontmatter.MAX_PAGE_BYTES + 1)
            except OSError as e:
                raise FloatError(f"{full}: cannot read it ({e.strerror})") from e
            if frontmatter.is_generated_bytes(data):
                found[full.relative_to(out).as_posix()] = data
    return found


def _write(target: Path, data: bytes) -> None:
    try:
        write_atomic(target, data)
    except OSError as e:
        raise FloatError(f"{target}: cannot write it ({e.strerror}); the pages written so far"
                         " are complete, run export again") from e


def _prune_dirs(out: Path) -> None:
    for dirpath, _dirs, _files in os.walk(out, topdown=False):
        if Path(dirpath) != out:
            with contextlib.suppress(OSError):
                os.rmdir(dirpath)  # only succeeds when empty
