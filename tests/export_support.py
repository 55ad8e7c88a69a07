"""The committed export's pages, read for assertions, and a repository given authored records."""

from __future__ import annotations

from pathlib import Path

from float_hooks.pages import frontmatter
from tests.gitrepo import GitRepo

EXPORT = Path(".float/project")


def pages(repo: GitRepo, where: Path = EXPORT) -> dict[str, bytes]:
    root = repo.path / where
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def front(repo: GitRepo, rel: str) -> dict[str, object]:
    parsed = frontmatter.parse((repo.path / EXPORT / rel).read_text())
    assert parsed is not None
    return parsed[0]


def author(repo: GitRepo) -> None:
    repo.float_ok("set", "/src/auth", "--summary", "Login and tokens", "--what",
                  "Two lines\nof what", "--why", "a | pipe", "--model", "m1")
    repo.float_ok("log", "add", "--title", "Use JWT", "--decision", "JWT", "--folder",
                  "/src/auth", "--tag", "auth", "--file", "src/auth/login.py", "--date",
                  "2026-01-15")
    repo.float_ok("log", "add", "--title", "Docs in markdown", "--date", "2025-12-01")
    repo.float_ok("question", "add", "Keep v1 tokens?", "--folder", "/src/auth")
    repo.float_ok("ref", "add", "folder:/src/auth", "url:https://example.invalid/rfc7519")
