"""The outline languages behind one small interface: a :class:`Grammar` says where its
tree-sitter grammar lives (a module of an installed wheel, imported only when a file of that
language is parsed), which nodes are definitions (a query of our own: ``@definition.<kind>``
with ``@name``), which identifiers count as references, and how a definition's visibility
reads. One module per language family; :func:`grammar_for` picks one by file name."""

from __future__ import annotations

from float_hooks.code.languages import c_family, go, java, javascript, python, ruby, rust
from float_hooks.code.languages.grammar import Grammar

ALL: list[Grammar] = [*python.GRAMMARS, *go.GRAMMARS, *javascript.GRAMMARS, *rust.GRAMMARS,
                      *java.GRAMMARS, *ruby.GRAMMARS, *c_family.GRAMMARS]
BY_EXTENSION: dict[str, Grammar] = {ext: g for g in ALL for ext in g.extensions}


def grammar_for(name: str) -> Grammar | None:
    """The grammar for a file name (by extension), or None: not a language we outline."""
    dot = name.rfind(".")
    return BY_EXTENSION.get(name[dot:].lower()) if dot > 0 else None
