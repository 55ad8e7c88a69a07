"""The built-in regenerator: offline and deterministic (the same folder gives the same fields).

``map_children`` comes from the tree: each file's name, kind, size, its first heading,
docstring or comment line (licences, build tags and generated-code banners skipped) and, for
code, its most important definitions (outlines, ranked); each child folder's own summary.
``map_summary`` comes from what the folder says about itself: its README, its package
docstring (``__init__.py``, ``//!`` in ``lib.rs``/``mod.rs``, ``// Package`` in Go) or its
manifest (pyproject.toml, package.json, Cargo.toml, go.mod); failing those, from what its code
defines (``Defines Flask, Blueprint, ... (Python)``), or, in a folder without code, from its
files' titles (headings, workflow and job names); a count only when there is nothing to quote.
``context_what`` adds the main definitions with their one-line docs. It never writes
``context_why`` or ``context_patterns``: it cannot know them, and what a person or an AI
wrote there stays.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from float_hooks.code.parse import Symbol
from float_hooks.code.rank import RankedFile, rank
from float_hooks.code.summaries import clip, first_line, first_sentence, sentences
from float_hooks.regen.request import FileHead, Request

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

MODEL = "builtin"
DEFINED_PER_FILE = 4  # definitions named in a file's line of map_children
DEFINED_PER_FOLDER = 5  # in a folder's summary
MAIN_DEFINITIONS = 8  # in context_what
LANGUAGE_NAMES = {"python": "Python", "go": "Go", "javascript": "JavaScript",
                  "typescript": "TypeScript", "tsx": "TypeScript", "rust": "Rust",
                  "java": "Java", "ruby": "Ruby", "c": "C", "cpp": "C++"}

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
    ranked = rank(request.outlines)
    top = {f.path: _most_important(f) for f in ranked}
    children = [{"name": c["name"], "kind": "folder", "summary": c["map_summary"]}
                for c in request.folders]
    children += [{"name": f.name, "kind": f.kind, "size": f.size,
                  "summary": None if f.binary else _file_summary(f, top.get(f.path, []))}
                 for f in request.files]
    title, paragraph = _readme(request.files)
    manifest = _manifest(request.files)
    docstring = _package_doc(request.files)
    contents = _contents(request)
    defines = _defines(request, ranked)
    summary = (first_sentence(paragraph or "") or docstring or manifest.get("description")
               or title or defines or _titles(request) or _subfolders(request) or contents)
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
    main = _main_definitions(ranked)
    anchors = _anchors(ranked)
    if main:
        what_parts.append("Main definitions: " + "; ".join(main))
    elif not defines and (titles := _titles(request)) and titles != summary:
        what_parts.append(titles)
    what_parts.append(contents)
    return {
        "map_summary": summary,
        "map_children": children,
        "context_what": " ".join(p if p.endswith(".") else p + "." for p in what_parts),
        **({"anchors": anchors} if anchors else {}),
    }, MODEL


def _label(s: Symbol) -> str:
    return f"{s.parent}.{s.name}" if s.parent and s.kind == "method" else s.name


def _most_important(f: RankedFile) -> list[Symbol]:
    """A file's top-level definitions, then its members (best-ranked first), public ones if
    it has any; no dunder methods, no impl blocks."""
    syms = [s for _, s in f.symbols if not s.name.startswith("__") and s.kind != "impl"]
    public = [s for s in syms if s.public] or syms
    return [s for s in public if s.parent is None] + [s for s in public if s.parent]


def _file_summary(f: FileHead, symbols: list[Symbol]) -> str | None:
    """The file's first line, then its most important definitions."""
    line = first_line(f.name, f.text)
    names = _unique([_label(s) for s in symbols])
    if not names:
        return line
    shown = ", ".join(names[:DEFINED_PER_FILE])
    more = f" and {len(names) - DEFINED_PER_FILE} more" if len(names) > DEFINED_PER_FILE else ""
    defines = f"Defines {shown}{more}."
    return f"{line if line.endswith(('.', '!', '?')) else line + '.'} {defines}" if line \
        else defines


def _unique(names: list[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _defines(request: Request, ranked: list[RankedFile]) -> str | None:
    """``Defines Flask, Blueprint and Config (Python)``: the folder's best-ranked public
    top-level definitions, from its best-ranked files."""
    best = sorted(((score, s) for f in ranked for score, s in f.symbols
                   if s.parent is None and s.kind not in ("impl", "constant")),
                  key=lambda x: (-x[0], x[1].name))
    names = _unique([s.name for _, s in best if s.public] or [s.name for _, s in best])
    if not names:
        return None
    langs = sorted({request.outlines[f.path].language for f in ranked if f.symbols})
    shown = names[:DEFINED_PER_FOLDER]
    listed = ", ".join(shown[:-1]) + f" and {shown[-1]}" if len(shown) > 1 else shown[0]
    more = f" (+{len(names) - len(shown)} more)" if len(names) > len(shown) else ""
    return f"Defines {listed}{more} ({', '.join(LANGUAGE_NAMES.get(x, x) for x in langs)})"


def _best(ranked: list[RankedFile]) -> list[tuple[float, str, Symbol]]:
    return sorted(((score, f.path, s) for f in ranked for score, s in f.symbols
                   if s.kind not in ("impl",)), key=lambda x: (-x[0], x[1], x[2].line))


def _anchors(ranked: list[RankedFile]) -> list[str]:
    """The main definitions the context names, as anchors (pinned by run.py): the context
    then says when the code it describes changed."""
    return _unique([f"{path}::{s.parent}.{s.name}" if s.parent else f"{path}::{s.name}"
                    for _, path, s in _best(ranked)[:MAIN_DEFINITIONS]])


def _main_definitions(ranked: list[RankedFile]) -> list[str]:
    """The best-ranked definitions with their kind, file and one-line doc."""
    out = []
    for _, path, s in _best(ranked)[:MAIN_DEFINITIONS]:
        doc = f": {s.doc.rstrip('.')}" if s.doc else ""
        out.append(f"{_label(s)} ({s.kind}, {path.rsplit('/', 1)[-1]}){doc}")
    return out


def _titles(request: Request) -> str | None:
    """What a folder without code holds, from its files: workflow names with their jobs,
    document headings, first lines."""
    workflows, titles = [], []
    for f in sorted(request.files, key=lambda f: (_priority(f.name), f.name)):
        if f.binary or f.path in request.outlines:
            continue
        if f.name.endswith((".yml", ".yaml")):
            flow = _workflow(f.text)
            if flow:
                workflows.append(flow)
                continue
        line = first_line(f.name, f.text)
        if line:
            titles.append(line.rstrip("."))
    parts = []
    if workflows:
        parts.append("Workflows: " + "; ".join(workflows[:4])
                     + (f" (+{len(workflows) - 4} more)" if len(workflows) > 4 else ""))
    if titles:
        parts.append("; ".join(titles[:4]) + (f" (+{len(titles) - 4} more)"
                                              if len(titles) > 4 else ""))
    return clip(". ".join(parts), 300) if parts else None


def _subfolders(request: Request) -> str | None:
    """``auth: Login and tokens; docs: Guides`` for a folder with child folders only."""
    said = [f"{c['name']}: {c['map_summary'].rstrip('.')}" for c in request.folders
            if c.get("map_summary") and not c["map_summary"].startswith("Contains ")]
    if request.files or not said:
        return None
    return clip("; ".join(said), 200)


def _priority(name: str) -> int:
    low = name.lower()
    return 0 if low.startswith(("readme", "index")) else 1


_JOBS = re.compile(r"^jobs:\s*$", re.M)


def _workflow(text: str) -> str | None:
    """``CI (jobs: test, lint)`` from a CI workflow's name and jobs (GitHub Actions style:
    read with regular expressions; a workflow is never executed or fully parsed here)."""
    name = re.search(r"^name:\s*['\"]?(.+?)['\"]?\s*$", text, re.M)
    jobs_at = _JOBS.search(text)
    if not jobs_at:
        return None
    jobs = re.findall(r"^  ([A-Za-z0-9_.-]+):\s*$", text[jobs_at.end():], re.M)
    label = name.group(1) if name else "workflow"
    return f"{label} (jobs: {', '.join(jobs[:6])})" if jobs else label


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
