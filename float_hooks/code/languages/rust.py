"""Rust: functions (methods inside impl and trait blocks), structs, enums, traits, type
aliases, modules, constants, statics, macros, impl blocks. ``pub`` items are public."""

from __future__ import annotations

from float_hooks.code.languages.grammar import Grammar, Node

DEFINITIONS = """
(function_item name: (identifier) @name) @definition.function
(function_signature_item name: (identifier) @name) @definition.function
(struct_item name: (type_identifier) @name) @definition.struct
(enum_item name: (type_identifier) @name) @definition.enum
(union_item name: (type_identifier) @name) @definition.struct
(trait_item name: (type_identifier) @name) @definition.trait
(type_item name: (type_identifier) @name) @definition.type
(mod_item name: (identifier) @name) @definition.module
(const_item name: (identifier) @name) @definition.constant
(static_item name: (identifier) @name) @definition.constant
(macro_definition name: (identifier) @name) @definition.macro
(impl_item type: [(type_identifier) @name
                  (generic_type type: (type_identifier) @name)
                  (scoped_type_identifier name: (type_identifier) @name)]) @definition.impl
"""
REFERENCES = """
(call_expression function: [(identifier) @ref
                            (scoped_identifier name: (identifier) @ref)
                            (field_expression field: (field_identifier) @ref)])
(type_identifier) @ref
(macro_invocation macro: (identifier) @ref)
"""


def _public(name: str, kind: str, node: Node, src: bytes, exports: bool) -> bool:
    if kind == "impl":
        return True
    return any(c.type == "visibility_modifier" for c in node.children)


GRAMMARS = [Grammar("rust", "tree_sitter_rust", "language", (".rs",), DEFINITIONS, REFERENCES,
                    skipped=frozenset({"attribute_item"}), public=_public)]
