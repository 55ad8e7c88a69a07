"""Live events: the event log (SQLite or PostgreSQL) and its Server-Sent Events stream."""
