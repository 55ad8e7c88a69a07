"""A repository's files on the server: its bare mirror and its map."""
