"""The operators' dashboard: its views and what they show, from SQLite or PostgreSQL."""
