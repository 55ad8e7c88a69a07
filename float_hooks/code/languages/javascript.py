"""JavaScript, TypeScript and TSX: classes, functions (and functions bound to top-level
``const``), methods, interfaces, type aliases, enums, namespaces, top-level constants. In a
module with ``export`` statements only exported top-level names are public."""

from __future__ import annotations

from float_hooks.code.languages.grammar import Grammar, Node

_COMMON = """
(function_declaration name: (identifier) @name) @definition.function
(generator_function_declaration name: (identifier) @name) @definition.function
(method_definition name: [(property_identifier) (private_property_identifier)] @name)
  @definition.method
(program (lexical_declaration (variable_declarator name: (identifier) @name
  value: [(arrow_function) (function_expression)]) @definition.function))
(export_statement (lexical_declaration (variable_declarator name: (identifier) @name
  value: [(arrow_function) (function_expression)]) @definition.function))
(program (lexical_declaration (variable_declarator name: (identifier) @name)
  @definition.constant))
(export_statement (lexical_declaration (variable_declarator name: (identifier) @name)
  @definition.constant))
"""
JS = _COMMON + """
(class_declaration name: (identifier) @name) @definition.class
"""
TS = _COMMON + """
(class_declaration name: (type_identifier) @name) @definition.class
(abstract_class_declaration name: (type_identifier) @name) @definition.class
(interface_declaration name: (type_identifier) @name) @definition.interface
(type_alias_declaration name: (type_identifier) @name) @definition.type
(enum_declaration name: (identifier) @name) @definition.enum
(internal_module name: [(identifier) (nested_identifier)] @name) @definition.module
(function_signature name: (identifier) @name) @definition.function
(abstract_method_signature name: (property_identifier) @name) @definition.method
(method_signature name: (property_identifier) @name) @definition.method
"""
JS_REFS = """
(call_expression function: [(identifier) @ref
                            (member_expression property: (property_identifier) @ref)])
(new_expression constructor: [(identifier) @ref
                              (member_expression property: (property_identifier) @ref)])
(class_heritage (identifier) @ref)
(jsx_opening_element name: (identifier) @ref)
(jsx_self_closing_element name: (identifier) @ref)
(import_specifier name: (identifier) @ref)
"""
TS_REFS = """
(call_expression function: [(identifier) @ref
                            (member_expression property: (property_identifier) @ref)])
(new_expression constructor: [(identifier) @ref
                              (member_expression property: (property_identifier) @ref)])
(type_identifier) @ref
(extends_clause value: [(identifier) @ref (member_expression property: (property_identifier) @ref)])
(import_specifier name: (identifier) @ref)
"""
TSX_REFS = TS_REFS + """
(jsx_opening_element name: (identifier) @ref)
(jsx_self_closing_element name: (identifier) @ref)
"""

_WRAPPERS = frozenset({"export_statement", "lexical_declaration"})


def _public(name: str, kind: str, node: Node, src: bytes, exports: bool) -> bool:
    if name.startswith(("_", "#")):
        return False
    if kind in ("method",):
        return not any(c.type == "accessibility_modifier" and c.text in (b"private", b"protected")
                       for c in node.children)
    up = node.parent
    while up is not None and up.type in ("lexical_declaration", "variable_declaration"):
        up = up.parent
    if up is not None and up.type == "export_statement":
        return True
    # a module with exports keeps the rest to itself; a script or CommonJS file does not
    return not exports


GRAMMARS = [
    Grammar("javascript", "tree_sitter_javascript", "language",
            (".js", ".jsx", ".mjs", ".cjs"), JS, JS_REFS, wrappers=_WRAPPERS,
            skipped=frozenset({"decorator"}), public=_public),
    Grammar("typescript", "tree_sitter_typescript", "language_typescript", (".ts", ".mts", ".cts"),
            TS, TS_REFS, wrappers=_WRAPPERS, skipped=frozenset({"decorator"}), public=_public),
    Grammar("tsx", "tree_sitter_typescript", "language_tsx", (".tsx",), TS, TSX_REFS,
            wrappers=_WRAPPERS, skipped=frozenset({"decorator"}), public=_public),
]
