"""Ruby: modules, classes, methods (``def self.x`` too), constants."""

from __future__ import annotations

from float_hooks.code.languages.grammar import Grammar

DEFINITIONS = """
(class name: [(constant) @name (scope_resolution name: (constant) @name)]) @definition.class
(module name: [(constant) @name (scope_resolution name: (constant) @name)]) @definition.module
(method name: (_) @name) @definition.method
(singleton_method name: (_) @name) @definition.method
(assignment left: (constant) @name) @definition.constant
"""
REFERENCES = """
(call method: (identifier) @ref)
(constant) @ref
"""

GRAMMARS = [Grammar("ruby", "tree_sitter_ruby", "language", (".rb", ".rake", ".gemspec"),
                    DEFINITIONS, REFERENCES)]
