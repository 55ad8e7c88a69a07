"""C and C++: functions (definitions, and prototypes in headers), structs, unions, enums,
typedefs, macros; C++ adds classes, namespaces, methods and aliases. A function's name is
read from its declarator (pointers, references and ``A::b`` qualified names included).
``static`` functions and ``private:`` members are private."""

from __future__ import annotations

from float_hooks.code.languages.grammar import Grammar, Node, text

_C = """
(function_definition) @definition.function
(translation_unit (declaration declarator: [(function_declarator)
                                            (pointer_declarator (function_declarator))])
  @definition.function)
(struct_specifier name: (type_identifier) @name body: (_)) @definition.struct
(union_specifier name: (type_identifier) @name body: (_)) @definition.struct
(enum_specifier name: (type_identifier) @name body: (_)) @definition.enum
(type_definition declarator: (type_identifier) @name) @definition.type
(preproc_def name: (identifier) @name) @definition.constant
(preproc_function_def name: (identifier) @name) @definition.macro
"""
CPP = _C + """
(class_specifier name: (type_identifier) @name body: (_)) @definition.class
(namespace_definition name: (namespace_identifier) @name) @definition.module
(field_declaration declarator: (function_declarator)) @definition.method
(declaration_list (declaration declarator: [(function_declarator)
                                            (pointer_declarator (function_declarator))])
  @definition.function)
(alias_declaration name: (type_identifier) @name) @definition.type
(concept_definition name: (identifier) @name) @definition.type
"""
REFS = """
(call_expression function: [(identifier) @ref (field_expression field: (field_identifier) @ref)])
(type_identifier) @ref
"""
CPP_REFS = REFS + """
(call_expression function: (qualified_identifier name: (identifier) @ref))
"""


def _public(name: str, kind: str, node: Node, src: bytes, exports: bool) -> bool:
    head = src[node.start_byte:node.start_byte + 200].split(b"(")[0].split()
    if b"static" in head and kind == "function":
        return False
    # a member's access: the last access specifier before it in its class body
    prev = node.prev_named_sibling
    while prev is not None:
        if prev.type == "access_specifier":
            return text(prev, src).startswith("public")
        prev = prev.prev_named_sibling
    up = node.parent
    if up is not None and up.type == "field_declaration_list" and up.parent is not None:
        return bool(up.parent.type != "class_specifier")  # class members default to private
    return not name.startswith("_")


_HEADERS = (".h",)
GRAMMARS = [
    Grammar("c", "tree_sitter_c", "language", (".c", *_HEADERS), _C, REFS, public=_public),
    Grammar("cpp", "tree_sitter_cpp", "language",
            (".cc", ".cpp", ".cxx", ".c++", ".hpp", ".hh", ".hxx", ".h++", ".ipp", ".inl"),
            CPP, CPP_REFS, wrappers=frozenset({"template_declaration"}), public=_public),
]
