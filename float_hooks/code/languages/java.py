"""Java: classes, records, interfaces, enums, annotation types, methods, constructors.
Members without ``private`` are public (package-private counts: it is the package's API)."""

from __future__ import annotations

from float_hooks.code.languages.grammar import Grammar, Node, text

DEFINITIONS = """
(class_declaration name: (identifier) @name) @definition.class
(record_declaration name: (identifier) @name) @definition.class
(interface_declaration name: (identifier) @name) @definition.interface
(enum_declaration name: (identifier) @name) @definition.enum
(annotation_type_declaration name: (identifier) @name) @definition.interface
(method_declaration name: (identifier) @name) @definition.method
(constructor_declaration name: (identifier) @name) @definition.constructor
"""
REFERENCES = """
(method_invocation name: (identifier) @ref)
(type_identifier) @ref
(object_creation_expression type: (type_identifier) @ref)
"""


def _public(name: str, kind: str, node: Node, src: bytes, exports: bool) -> bool:
    mods = next((c for c in node.children if c.type == "modifiers"), None)
    return mods is None or "private" not in text(mods, src).split()


GRAMMARS = [Grammar("java", "tree_sitter_java", "language", (".java",), DEFINITIONS,
                    REFERENCES, public=_public)]
