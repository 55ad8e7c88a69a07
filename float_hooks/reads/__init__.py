"""Answers about the map: why a folder is stale, a folder's document, search and its hits,
the session brief."""
