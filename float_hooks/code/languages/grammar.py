"""The interface every outline language fills in (see the package docstring)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Node = Any  # a tree_sitter.Node (typed loosely: tree-sitter ships no stubs for every grammar)


@dataclass(frozen=True)
class Grammar:
    name: str  # "python", "tsx"...
    module: str  # the grammar's Python module, from its wheel: "tree_sitter_python"
    function: str  # the module's function returning the language pointer
    extensions: tuple[str, ...]
    definitions: str  # the definitions query
    references: str  # the references query: @ref captures
    docstrings: bool = False  # Python: the first string of a body is the doc
    # node types a definition may sit in whose leading comments are its doc (export, template)
    wrappers: frozenset[str] = frozenset()
    # node types skipped between a definition and its doc comment (attributes, decorators)
    skipped: frozenset[str] = frozenset()
    # whether a definition is public: (name, kind, definition node, source, whether the
    # file has "export " statements) -> bool
    public: Callable[[str, str, Node, bytes, bool], bool] = field(
        default=lambda name, kind, node, src, exports: not name.startswith("_"))
    # text put before a signature by the definition's node type ("type " for a Go type_spec)
    prefixes: dict[str, str] = field(default_factory=dict)
    keep_constant: Callable[[str], bool] = field(default=lambda name: True)


def text(node: Node, src: bytes) -> str:
    return src[node.start_byte:node.end_byte].decode("utf-8", "replace")
