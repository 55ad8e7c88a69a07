"""Code facts: a symbol outline per file (tree-sitter), cached by blob id, and its ranking."""
