"""The SQLite store: schema and migrations, the DB, the write journal, authored records, their
merge and conflicts."""
