"""Answers about the map: why a folder is stale, a folder's document, search, the session brief."""
