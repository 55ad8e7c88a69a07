"""Which files and symbols matter most, wherever a budget forces a choice: a graph rank over
the files (a file that references a name another file defines points at it; PageRank, as
Aider's repo map ranks), then per symbol: references from other files, public before private,
top-level before members, types before functions before methods, entry points first."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from float_hooks import paths
from float_hooks.code.parse import Outline, Symbol

DAMPING, ROUNDS = 0.85, 20
KIND_WEIGHT = {"class": 3.0, "struct": 3.0, "interface": 3.0, "trait": 3.0, "type": 2.0,
               "enum": 2.0, "module": 2.0, "function": 2.0, "macro": 1.0, "method": 1.5,
               "constructor": 1.0, "constant": 1.0, "impl": 0.5}
ENTRY_NAMES = frozenset({"main", "Main", "run", "app", "create_app", "cli", "New", "new",
                         "handler", "serve", "start", "setup"})
ENTRY_FILES = frozenset({"__init__.py", "__main__.py", "main.go", "main.rs", "lib.rs",
                         "mod.rs", "index.js", "index.ts", "index.tsx", "app.py", "main.py",
                         "cli.py", "main.c", "main.cpp", "server.go", "app.js", "app.ts"})


@dataclass
class RankedFile:
    path: str
    score: float
    symbols: list[tuple[float, Symbol]]  # best first


def rank(outlines: dict[str, Outline]) -> list[RankedFile]:
    """The files of ``outlines`` (path -> outline), best first, each with its symbols ranked."""
    defined: defaultdict[str, set[str]] = defaultdict(set)  # name -> files defining it
    for path, o in outlines.items():
        for s in o.symbols:
            defined[s.name].add(path)
    files = sorted(outlines)
    edges: dict[str, dict[str, float]] = {p: {} for p in files}
    for path in files:
        for name, count in outlines[path].refs.items():
            for target in defined.get(name, ()):
                if target != path:
                    edges[path][target] = edges[path].get(target, 0.0) + count
    file_rank = _pagerank(files, edges)
    used: defaultdict[str, float] = defaultdict(float)  # name -> rank-weighted references
    for path in files:
        for name, count in outlines[path].refs.items():
            if name in defined and defined[name] != {path}:
                used[name] += count * file_rank[path] * len(files)
    out = []
    for path in files:
        syms = sorted(((symbol_score(s, used.get(s.name, 0.0)), s)
                       for s in outlines[path].symbols), key=lambda x: (-x[0], x[1].line))
        entry = 2.0 if paths.name(path) in ENTRY_FILES else 1.0
        public = sum(1 for s in outlines[path].symbols if s.public and s.parent is None)
        score = file_rank[path] * len(files) * entry + 0.01 * public
        if not syms:
            score *= 0.01  # nothing to show: after every file that defines something
        out.append(RankedFile(path, score, syms))
    out.sort(key=lambda f: (-f.score, f.path))
    return out


def symbol_score(s: Symbol, used: float) -> float:
    if s.name.startswith("__") and s.name.endswith("__"):
        used = 0.0  # every super().__init__() "references" every __init__
    score = KIND_WEIGHT.get(s.kind, 1.0) * (1.0 + used)
    if s.public:
        score *= 3.0
    if s.parent is None:
        score *= 1.5
    if s.name in ENTRY_NAMES:
        score *= 2.0
    if s.doc:
        score *= 1.2
    return score


def _pagerank(nodes: list[str], edges: dict[str, dict[str, float]]) -> dict[str, float]:
    n = len(nodes)
    if not n:
        return {}
    rank = dict.fromkeys(nodes, 1.0 / n)
    for _ in range(ROUNDS):
        nxt = dict.fromkeys(nodes, (1.0 - DAMPING) / n)
        sink = 0.0
        for src in nodes:
            out = edges[src]
            total = sum(out.values())
            if not total:
                sink += rank[src]
                continue
            for dst, w in out.items():
                nxt[dst] += DAMPING * rank[src] * w / total
        for node in nodes:
            nxt[node] += DAMPING * sink / n
        rank = nxt
    return rank
