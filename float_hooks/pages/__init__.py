"""The markdown export (`.float/project/`): safe YAML, front matter, rendering, reading, writing,
importing."""
