"""Read models in PostgreSQL, in a schema of their own, separate from the event store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from progres.projections.stores.sql import CountingCursor, Cursor, Dialect, SqlStore

DDL_LOCK = 7_260_002


class PostgresStore(SqlStore):
    def __init__(self, conninfo: str, schema: str, pool_size: int = 4) -> None:
        self.schema = schema
        self.dialect = Dialect(placeholder="%s", prefix=f'"{schema}".', json_type="TEXT", blob_type="BYTEA",
                               bigint="BIGINT")
        # Connections are checked when taken: after the server terminated them (restart, failover), a
        # request gets a new one instead of an error.
        self.pool = ConnectionPool(conninfo, min_size=1, max_size=pool_size, open=True,
                                   check=ConnectionPool.check_connection)
        # Processes starting together would run the same DDL at once, which PostgreSQL refuses.
        with psycopg.connect(conninfo, autocommit=True) as connection:
            connection.execute("SELECT pg_advisory_lock(%s)", [DDL_LOCK])
            try:
                connection.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
                self.create_tables()
            finally:
                connection.execute("SELECT pg_advisory_unlock(%s)", [DDL_LOCK])

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with self.pool.connection() as connection, connection.transaction(), connection.cursor() as cursor:
            yield CountingCursor(cursor, self)

    def bulk_insert(self, cur: Cursor, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        statement = sql.SQL("COPY {}.{} ({}) FROM STDIN").format(
            sql.Identifier(self.schema), sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
        with cur.copy(statement) as copy:  # type: ignore[attr-defined]
            for row in rows:
                copy.write_row(row)

    def close(self) -> None:
        self.pool.close()
