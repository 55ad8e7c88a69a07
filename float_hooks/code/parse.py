"""One file's outline from its bytes: the definitions a language's query finds (kind, name,
parent, lines, signature, first doc sentence, visibility, a hash of the symbol's own text) and
the identifiers the file references (for ranking). A pure function of the blob: cache.py
stores it once per blob id. tree-sitter and the grammars are imported on the first parse."""

from __future__ import annotations

import hashlib
import importlib
import re
import threading
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from float_hooks.code.languages.grammar import Grammar, Node, text
from float_hooks.code.summaries import boilerplate, first_sentence

# Bumped whenever a query or the extraction changes: outlines cached by an older version are
# computed again (cache.py), so a release never serves outlines its queries would not give.
VERSION = 3
MAX_BYTES = 1 << 20  # larger blobs (bundles, generated tables) are not outlined
MAX_REFS = 1000  # distinct referenced names kept per file, the most frequent first
SIGNATURE_LIMIT = 200
CONTAINERS = frozenset({"class", "struct", "impl", "trait", "interface", "enum", "module"})
_SCOPES = frozenset({"function", "method", "constructor"})  # what is inside one is local


@dataclass
class Symbol:
    kind: str
    name: str
    parent: str | None
    line: int  # first line, 1-based
    end_line: int
    signature: str
    doc: str | None
    public: bool
    hash: str  # of the symbol's own text: which symbols a change touched

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Outline:
    language: str
    symbols: list[Symbol]
    refs: dict[str, int]  # referenced name -> how often


class _Tools(threading.local):
    def __init__(self) -> None:
        self.by_grammar: dict[str, tuple[Any, Any, dict[str, int]]] = {}


_tools = _Tools()  # a parser per thread (tree-sitter parsers are not shared across threads)


def _load(g: Grammar) -> tuple[Any, Any, dict[str, int]]:
    found = _tools.by_grammar.get(g.name)
    if found is None:
        import tree_sitter  # lazy: only code reads parse; the hooks never load tree-sitter

        lang = tree_sitter.Language(getattr(importlib.import_module(g.module), g.function)())
        # one query, one walk of the tree: definitions and references together
        query = tree_sitter.Query(lang, g.definitions + "\n" + g.references)
        # a node two definition patterns capture is the first one's ("struct" before "type")
        order = {query.capture_name(i): i for i in range(query.capture_count)}
        found = (tree_sitter.Parser(lang), query, order)
        _tools.by_grammar[g.name] = found
    return found


def parse_tree(g: Grammar, src: bytes) -> Any:
    """The bare tree-sitter parse (what the benchmark's floor measures)."""
    return _load(g)[0].parse(src)


def outline(g: Grammar, src: bytes) -> Outline:
    """The outline of ``src`` in grammar ``g`` (empty for a blob over MAX_BYTES)."""
    if len(src) > MAX_BYTES:
        return Outline(g.name, [], {})
    import tree_sitter  # lazy: see _load

    parser, query, order = _load(g)
    caps = tree_sitter.QueryCursor(query).captures(parser.parse(src).root_node)
    found: dict[tuple[int, int], list[Any]] = {}  # (start, end) -> [priority, kind, node]
    for capture, nodes in caps.items():
        if not capture.startswith("definition."):
            continue
        rank, kind = order[capture], capture[11:]
        for node in nodes:
            key = (node.start_byte, node.end_byte)
            if key not in found or found[key][0] > rank:
                found[key] = [rank, kind, node]
    names = _owners(caps.get("name", ()), found)
    parents = _owners(caps.get("parent", ()), found)
    rows: list[_Found] = []
    for key, (_, kind, node) in found.items():
        parent = parents.get(key)
        rows.append((key[0], -key[1], kind, node, names.get(key),
                     text(parent, src) if parent is not None else None))
    rows.sort(key=lambda f: (f[0], f[1]))
    counts = Counter(src[n.start_byte:n.end_byte] for n in caps.get("ref", ()))
    refs = {k.decode("utf-8", "replace"): v for k, v in counts.most_common(MAX_REFS)}
    return Outline(g.name, _symbols(g, src, rows), refs)


def _owners(nodes: Any, found: dict[tuple[int, int], list[Any]]) -> dict[tuple[int, int], Node]:
    """Each captured name (or parent) node by the definition it belongs to: its nearest
    enclosing definition node (a pattern's name lies at most a few levels below it)."""
    out: dict[tuple[int, int], Node] = {}
    for node in nodes:
        up = node.parent
        for _ in range(6):
            if up is None:
                break
            key = (up.start_byte, up.end_byte)
            if key in found:
                out.setdefault(key, node)
                break
            up = up.parent
    return out


# a definition found: start byte, -end byte (the sort key), kind, node, name node, parent
_Found = tuple[int, int, str, Node, "Node | None", "str | None"]


def _symbols(g: Grammar, src: bytes, found: list[_Found]) -> list[Symbol]:
    out: list[Symbol] = []
    stack: list[tuple[int, Symbol]] = []  # enclosing symbols: (end byte, symbol)
    exports = b"export " in src  # JavaScript: whether the file is a module with exports
    for start, neg_end, kind, node, name_node, parent in found:
        while stack and stack[-1][0] <= start:
            stack.pop()
        outer = stack[-1][1] if stack else None
        if outer is not None and outer.kind in _SCOPES:
            continue  # a definition local to a function body is not part of the outline
        name = text(name_node, src) if name_node is not None else _declarator_name(node, src)
        if not name:
            continue
        if "::" in name and parent is None:
            parent, name = name.rsplit("::", 1)
        if kind == "constant" and not g.keep_constant(name):
            continue
        if parent is None and outer is not None:
            parent = outer.name
        if kind == "function" and outer is not None and outer.kind in CONTAINERS:
            kind = "method"
        sym = Symbol(kind, name, parent, node.start_point[0] + 1, node.end_point[0] + 1,
                     _signature(g, node, src), _doc(g, node, src),
                     g.public(name, kind, node, src, exports),
                     hashlib.sha256(src[start:-neg_end]).hexdigest()[:16])
        out.append(sym)
        stack.append((-neg_end, sym))
    return out


_NAMES = frozenset({"identifier", "field_identifier", "qualified_identifier", "type_identifier",
                    "destructor_name", "operator_name", "namespace_identifier"})


def _declarator_name(node: Node, src: bytes) -> str | None:
    """A C/C++ function's name: down its declarator chain to the identifier."""
    d = node
    for _ in range(12):
        nxt = d.child_by_field_name("declarator")
        if nxt is None:
            break
        d = nxt
    return text(d, src) if d.type in _NAMES else None


def _signature(g: Grammar, node: Node, src: bytes) -> str:
    start, end = node.start_byte, None
    up = node.parent
    while up is not None and up.type in ("lexical_declaration", "export_statement"):
        start, up = up.start_byte, up.parent
    body = node.child_by_field_name("body")
    owner = node
    value = node.child_by_field_name("value") if body is None else None
    if value is not None and value.type.endswith("function"):
        owner, body = value, value.child_by_field_name("body")
    if body is not None and body.start_byte > start:
        end = body.start_byte
        for child in owner.children:  # up to the last token before the body, not a comment
            if child.start_byte >= body.start_byte:
                break
            if "comment" not in child.type:
                end = child.end_byte
    else:  # no body: up to a brace or a semicolon, at most three lines
        end = min(node.end_byte, node.start_byte + SIGNATURE_LIMIT * 2)
        text_ = src[node.start_byte:end]
        cut = min((i for i in (text_.find(b"{"), text_.find(b";")) if i != -1),
                  default=len(text_))
        lines = text_[:cut].split(b"\n")
        end = node.start_byte + len(b"\n".join(lines[:3]))
    sig = g.prefixes.get(node.type, "") + " ".join(
        src[start:end].decode("utf-8", "replace").split()).rstrip("{:= ")
    return sig if len(sig) <= SIGNATURE_LIMIT else sig[: SIGNATURE_LIMIT - 1] + "…"


_DOC_QUOTES = re.compile(r'^[rRuUbBfF]*("""|\'\'\'|"|\')(.*?)(?:\1)?$', re.S)
# reStructuredText and Sphinx roles: :class:`~flask.ctx.AppContext` reads AppContext
_ROLE = re.compile(r":[\w:.-]+:`(~?)([^`<]*?)(?:\s*<[^>]*>)?`")


def _role_text(m: re.Match[str]) -> str:
    target = m.group(2).strip()
    return target.rsplit(".", 1)[-1] if m.group(1) else target


_COMMENT_MARKS = re.compile(r"^\s*(?:/\*+!?|\*+/?|//[/!]?|#+|--)\s?")


def _doc(g: Grammar, node: Node, src: bytes) -> str | None:
    if g.docstrings:
        body = node.child_by_field_name("body")
        first = body.named_child(0) if body is not None else None
        string = first.named_child(0) if first is not None and \
            first.type == "expression_statement" else None
        if string is not None and string.type == "string":
            m = _DOC_QUOTES.match(text(string, src).strip())
            if m:
                return _sentence(m.group(2).split("\n\n", 1)[0].splitlines())
    start = node
    while start.parent is not None and (start.parent.type in g.wrappers or (
            start.prev_sibling is None and start.parent.start_byte == start.start_byte)):
        start = start.parent  # an export, a template, a body the definition opens
    comments: list[str] = []
    row = start.start_point[0]
    prev = start.prev_sibling
    while prev is not None and prev.type in g.skipped:
        row, prev = prev.start_point[0], prev.prev_sibling
    while prev is not None and "comment" in prev.type and prev.end_point[0] >= row - 1:
        comment = text(prev, src)
        if comment.startswith(("//!", "/*!")):
            break  # an inner doc comment documents the enclosing module
        comments.insert(0, comment)
        row, prev = prev.start_point[0], prev.prev_sibling
    if not comments:
        return None
    lines = [_COMMENT_MARKS.sub("", ln).rstrip("*/ ").strip()
             for c in comments for ln in c.splitlines()]
    return _sentence(lines)


def _sentence(lines: list[str]) -> str | None:
    """The first sentence of a doc's first paragraph (tags such as @param end it)."""
    para: list[str] = []
    for ln in lines:
        s = ln.strip()
        if s.startswith(("@", ":param", ":return", "Args:", "Returns:")) or (not s and para):
            break
        if s.strip("-=~*#/"):  # not a rule or an underline
            para.append(s)
    joined = _ROLE.sub(_role_text, " ".join(para)).replace("``", "")
    if not joined or boilerplate(joined):
        return None
    return first_sentence(joined)
