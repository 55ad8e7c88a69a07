"""The delivery queues behind one interface: embedded SQLite (the default) and PostgreSQL
(procrastinate, ``FLOAT_DATABASE_URL``)."""
