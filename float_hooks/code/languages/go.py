"""Go: functions, methods (their receiver type is the parent), types, structs, interfaces,
constants. Exported (capitalised) names are public."""

from __future__ import annotations

from float_hooks.code.languages.grammar import Grammar

DEFINITIONS = """
(function_declaration name: (identifier) @name) @definition.function
(method_declaration
  receiver: (parameter_list (parameter_declaration
    type: [(type_identifier) @parent
           (pointer_type (type_identifier) @parent)
           (generic_type type: (type_identifier) @parent)
           (pointer_type (generic_type type: (type_identifier) @parent))]))
  name: (field_identifier) @name) @definition.method
(type_spec name: (type_identifier) @name type: (struct_type)) @definition.struct
(type_spec name: (type_identifier) @name type: (interface_type)) @definition.interface
(type_spec name: (type_identifier) @name) @definition.type
(type_alias name: (type_identifier) @name) @definition.type
(source_file (const_declaration (const_spec name: (identifier) @name) @definition.constant))
(method_elem name: (field_identifier) @name) @definition.method
"""
REFERENCES = """
(call_expression function: [(identifier) @ref (selector_expression field: (field_identifier) @ref)])
(type_identifier) @ref
(composite_literal type: (qualified_type name: (type_identifier) @ref))
(qualified_type name: (type_identifier) @ref)
"""

GRAMMARS = [Grammar("go", "tree_sitter_go", "language", (".go",), DEFINITIONS, REFERENCES,
                    wrappers=frozenset({"type_declaration", "const_declaration"}),
                    prefixes={"type_spec": "type ", "type_alias": "type ", "const_spec": "const "},
                    public=lambda name, kind, node, src, exports: name[:1].isupper())]
