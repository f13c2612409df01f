"""Store adapters of the read models: the same SQL on SQLite and on PostgreSQL."""
