"""Python: classes, functions (methods inside classes), module-level UPPER_CASE constants."""

from __future__ import annotations

from float_hooks.code.languages.grammar import Grammar

DEFINITIONS = """
(class_definition name: (identifier) @name) @definition.class
(function_definition name: (identifier) @name) @definition.function
(module (expression_statement (assignment left: (identifier) @name) @definition.constant))
"""
REFERENCES = """
(call function: [(identifier) @ref (attribute attribute: (identifier) @ref)])
(argument_list (identifier) @ref)
(class_definition superclasses: (argument_list [(identifier) @ref
                                                (attribute attribute: (identifier) @ref)]))
(type (identifier) @ref)
(import_from_statement name: (dotted_name (identifier) @ref))
(decorator [(identifier) @ref (attribute attribute: (identifier) @ref)])
"""


def _public(name: str, kind: str, node: object, src: bytes, exports: bool) -> bool:
    return not name.startswith("_") or (name.startswith("__") and name.endswith("__"))


GRAMMARS = [Grammar("python", "tree_sitter_python", "language", (".py", ".pyi"), DEFINITIONS,
                    REFERENCES, docstrings=True, wrappers=frozenset({"decorated_definition"}),
                    public=_public,
                    # UPPER_CASE names; not one-letter TypeVars (T = TypeVar("T"))
                    keep_constant=lambda name: (name.isupper() and len(name) > 1)
                    or name == "__all__")]
