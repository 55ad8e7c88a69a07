"""The layout holds: imports point down. Read from the source with ``ast``, counting imports
inside functions too (a lazy import hides a cycle from Python, not from this test);
``TYPE_CHECKING``-only imports do not count. CONTRIBUTING.md's Layout section names the rooms."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("float_hooks", "webhook")

# float_hooks' rooms, lowest first: a module may import its own room and the ones below.
# The top-level modules other than project and main are the base (errors, paths, output...).
RANKS = {
    "base": 0, "repo": 1, "store": 2, "code": 3, "project": 4, "pages": 5, "map": 6, "reads": 7,
    "regen": 8, "triggers": 9, "agents": 10, "commands": 11, "main": 12, "__main__": 13,
}
MAX_TOP_LEVEL = 15


def modules() -> dict[str, Path]:
    found = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _type_checking_only(tree: ast.AST) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    return skip


def imports_of(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The project modules ``name`` imports (the longest known prefix of each target)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_only(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: list[str] = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            targets += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            targets += [f"{base}.{a.name}" for a in node.names] + [base]
    out = set()
    for t in targets:
        while t and t not in known:
            t = t.rpartition(".")[0]
        if t and t != name and not name.startswith(t + "."):  # a package's own __init__
            out.add(t)
    return out


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def room(module: str) -> str:
    parts = module.split(".")
    if parts[0] != "float_hooks" or len(parts) == 1:
        return "base"
    if parts[1] in RANKS:
        return parts[1]
    return "base"  # a top-level module: errors, paths, output, config, ...


def test_the_cycle_finder_finds_cycles() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_import_reader_sees_lazy_imports_and_skips_type_checking(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("from typing import TYPE_CHECKING\n"
                      "if TYPE_CHECKING:\n    from float_hooks.main import main\n"
                      "def f():\n    from float_hooks.store import db\n")
    known = {"float_hooks.main": source, "float_hooks.store.db": source,
             "float_hooks.store": source, "x.m": source}
    assert imports_of("x.m", source, known) == {"float_hooks.store.db", "float_hooks.store"}


def test_no_import_cycles() -> None:
    found = cycles(graph())
    assert found == [], f"import cycles (lazy imports count): {found}"


def test_imports_point_down() -> None:
    upward = []
    for src, targets in graph().items():
        if not src.startswith("float_hooks"):
            continue
        for dst in targets:
            if dst.startswith("webhook"):
                upward.append(f"{src} -> {dst} (the tool never imports the server)")
            elif RANKS[room(dst)] > RANKS[room(src)]:
                upward.append(f"{src} ({room(src)}) -> {dst} ({room(dst)})")
    assert upward == []


def test_the_store_imports_no_sync_regenerator_or_agent() -> None:
    bad = [f"{s} -> {d}" for s, ds in graph().items() if room(s) == "store"
           for d in ds if room(d) in ("map", "regen", "agents", "triggers")]
    assert bad == []


def test_every_lazy_import_says_why() -> None:
    """An import inside a function stays only where start-up cost (the hooks', a worker
    process's) or an optional extra needs it, with the reason on its line."""
    silent = []
    for path in modules().values():
        lines = path.read_text(encoding="utf-8").split("\n")
        tree = ast.parse("\n".join(lines))
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    text = lines[node.lineno - 1:node.end_lineno]
                    if not any("#" in line for line in text):
                        silent.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert sorted(set(silent)) == []


@pytest.mark.parametrize("package", ["float_hooks"])
def test_few_modules_at_the_top(package: str) -> None:
    top = sorted(p.name for p in (ROOT / package).glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL, top


def test_contributing_names_every_room() -> None:
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    layout = text.split("## Layout", 1)[1].split("\n## ", 1)[0]
    rooms = [p.name for p in (ROOT / "float_hooks").iterdir()
             if (p / "__init__.py").exists()]
    rooms += [p.name for p in (ROOT / "webhook").iterdir() if (p / "__init__.py").exists()]
    missing = [r for r in rooms if f"{r}/" not in layout]
    assert missing == []
