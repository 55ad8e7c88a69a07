"""The built-in regenerator: offline and deterministic (the same folder gives the same fields).

``map_children`` comes from the tree: each file's name, kind, size and first heading,
docstring or comment line; each child folder's own summary. ``map_summary`` and
``context_what`` come from what the folder says about itself: its README, its package
docstring (``__init__.py``, ``//!`` in ``lib.rs``/``mod.rs``, ``// Package`` in Go) or its
manifest (pyproject.toml, package.json, Cargo.toml, go.mod); failing those, a plain description
of its contents. It never writes ``context_why`` or ``context_patterns``: it cannot know them,
and what a person or an AI wrote there stays.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from float_hooks.regen.request import FileHead, Request
from float_hooks.code.summaries import first_line, first_sentence, sentences

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

MODEL = "builtin"

LANGUAGES = {
    ".py": "Python", ".pyi": "Python", ".js": "JavaScript", ".mjs": "JavaScript",
    ".ts": "TypeScript", ".tsx": "TypeScript", ".jsx": "JavaScript", ".rs": "Rust",
    ".go": "Go", ".java": "Java", ".kt": "Kotlin", ".rb": "Ruby", ".c": "C", ".h": "C",
    ".cc": "C++", ".cpp": "C++", ".hpp": "C++", ".cs": "C#", ".php": "PHP", ".swift": "Swift",
    ".sh": "shell", ".md": "Markdown", ".rst": "reStructuredText", ".toml": "TOML",
    ".yml": "YAML", ".yaml": "YAML", ".json": "JSON", ".html": "HTML", ".css": "CSS",
    ".sql": "SQL",
}


def regenerate(request: Request) -> tuple[dict[str, Any], str]:
    """(fields, model) for one folder."""
    children = [{"name": c["name"], "kind": "folder", "summary": c["map_summary"]}
                for c in request.folders]
    children += [{"name": f.name, "kind": f.kind, "size": f.size,
                  "summary": None if f.binary else first_line(f.name, f.text)}
                 for f in request.files]
    title, paragraph = _readme(request.files)
    manifest = _manifest(request.files)
    docstring = _package_doc(request.files)
    contents = _contents(request)
    summary = (first_sentence(paragraph or "") or docstring or manifest.get("description")
               or title or contents)
    what_parts = []
    if title or paragraph:
        what_parts.append(": ".join(x for x in (title, paragraph) if x))
    elif docstring:
        what_parts.append(docstring)
    if manifest:
        named = manifest.get("name")
        desc = manifest.get("description")
        what_parts.append(f"{manifest['kind']} {named}" + (f": {desc}" if desc else "")
                          if named else f"{manifest['kind']}: {desc}")
    what_parts.append(contents)
    return {
        "map_summary": summary,
        "map_children": children,
        "context_what": " ".join(p if p.endswith(".") else p + "." for p in what_parts),
    }, MODEL


def _named(files: list[FileHead], *names: str) -> FileHead | None:
    by_name = {f.name.lower(): f for f in files if not f.binary}
    return next((by_name[n] for n in names if n in by_name), None)


def _readme(files: list[FileHead]) -> tuple[str | None, str | None]:
    readme = next((f for f in sorted(files, key=lambda f: f.name)
                   if f.name.lower().startswith("readme") and not f.binary), None)
    if readme is None:
        return None, None
    title = first_line(readme.name, readme.text)
    para: list[str] = []
    for line in readme.text.splitlines():
        s = line.strip()
        skip = (s.startswith(("#", "[![", "![", "<", "===", "---", "```", "|"))
                or s == title or (s and set(s) <= set("=-~")))
        if not s or skip:
            if para:
                break
            continue
        para.append(s)
    return title, (sentences(" ".join(para), 600) or None)


def _package_doc(files: list[FileHead]) -> str | None:
    init = _named(files, "__init__.py")
    if init is not None:
        line = first_line(init.name, init.text)
        if line:
            return line
    rust = _named(files, "lib.rs", "mod.rs")
    if rust is not None:
        doc = _paragraph_after(rust.text.splitlines(), "//!")
        if doc:
            return first_sentence(doc)
    for f in files:
        if f.name.endswith(".go") and not f.binary:
            lines = f.text.splitlines()
            start = next((i for i, ln in enumerate(lines) if ln.startswith("// Package ")), None)
            if start is not None:
                return first_sentence(_paragraph_after(lines[start:], "//"))
    return None


def _paragraph_after(lines: list[str], marker: str) -> str:
    """The first paragraph of the comment lines starting with ``marker`` (``//!`` crate docs,
    ``//`` Go package docs), as one string."""
    para: list[str] = []
    for line in lines:
        s = line.strip()
        if not s.startswith(marker):
            if para:
                break
            continue
        text = s[len(marker):].strip()
        if not text:
            if para:
                break
            continue
        para.append(text)
    return " ".join(para)


def _manifest(files: list[FileHead]) -> dict[str, str]:
    """name/description from the first manifest that parses (excerpts may be cut short)."""
    for name, kind in (("pyproject.toml", "Python project"), ("package.json", "npm package"),
                       ("cargo.toml", "Rust crate"), ("go.mod", "Go module")):
        f = _named(files, name)
        if f is None:
            continue
        try:
            if name == "package.json":
                data: Any = json.loads(f.text)
                section = data if isinstance(data, dict) else {}
            elif name == "go.mod":
                m = re.search(r"^module\s+(\S+)", f.text, re.M)
                section = {"name": m.group(1)} if m else {}
            else:
                data = tomllib.loads(f.text)
                section = data.get("project") or data.get("package") or (
                    data.get("tool", {}).get("poetry", {}))
        except (ValueError, tomllib.TOMLDecodeError):
            continue
        out = {k: str(section[k]).strip() for k in ("name", "description")
               if isinstance(section, dict) and isinstance(section.get(k), str)
               and str(section[k]).strip()}
        if out:
            return {"kind": kind, **out}
    return {}


def _contents(request: Request) -> str:
    """``3 files (2 Python, 1 Markdown) and 2 folders (auth, tokens)`` style description."""
    langs: dict[str, int] = {}
    for f in request.files:
        ext = f.name[f.name.rfind("."):].lower() if "." in f.name else ""
        lang = LANGUAGES.get(ext)
        if lang:
            langs[lang] = langs.get(lang, 0) + 1
    parts = []
    n = len(request.files)
    if n:
        detail = ", ".join(f"{c} {lang}" for lang, c in sorted(langs.items(),
                                                                key=lambda x: (-x[1], x[0])))
        parts.append(f"{n} file{'s' if n != 1 else ''}" + (f" ({detail})" if detail else ""))
    k = len(request.folders)
    if k:
        names = ", ".join(c["name"] for c in request.folders[:8])
        more = f", +{k - 8} more" if k > 8 else ""
        parts.append(f"{k} folder{'s' if k != 1 else ''} ({names}{more})")
    return "Contains " + " and ".join(parts) if parts else "Empty folder"
