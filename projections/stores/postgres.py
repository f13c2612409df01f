"""Read models in PostgreSQL, in a schema of their own, separate from the event store."""

from __future__ import annotations

import select
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from progres.projections.stores.sql import CountingCursor, Cursor, Dialect, Fence, LeadershipLost, SqlStore

DDL_LOCK = 7_260_002


COPY_CHUNK = 1 << 20  # bytes of COPY data per write
COPY_ROWS = 5000  # rows made into COPY text at once


def _escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def copy_text(rows: list[tuple[Any, ...]]) -> bytes:
    """Rows of text, integers and None in COPY's text format, made in one go (psycopg's `write_row` adapts value by
    value: most of a rebuild's writing time went there). Raises TypeError for any other value."""
    lines = []
    for row in rows:
        fields = []
        for value in row:
            kind = type(value)
            if kind is str:
                fields.append(_escaped(value) if "\\" in value or "\t" in value or "\n" in value or "\r" in value
                              else value)
            elif value is None:
                fields.append("\\N")
            elif kind is int:
                fields.append(str(value))
            else:
                raise TypeError(f"no COPY text for {kind.__name__}")
        lines.append("\t".join(fields))
    lines.append("")
    return "\n".join(lines).encode()


class PostgresStore(SqlStore):
    rebuild_writers = 4  # the rows of a rebuild (history, routes, measures, views), stored by 4 server processes
    def __init__(self, conninfo: str, schema: str, pool_size: int = 4, options: dict[str, str] | None = None) -> None:
        """`options`: server settings of every pooled session (e.g. the timeouts of a projection worker)."""
        self.schema = schema
        self.dialect = Dialect(placeholder="%s", prefix=f'"{schema}".', json_type="TEXT", blob_type="BYTEA",
                               bigint="BIGINT")
        kwargs = {"options": " ".join(f"-c {name}={value}" for name, value in options.items())} if options else {}
        self.pool = ConnectionPool(conninfo, min_size=1, max_size=pool_size, open=True, kwargs=kwargs)
        self.conninfo = conninfo
        self.create_tables()

    def create_tables(self) -> None:
        # Processes starting together would run the same DDL at once, which PostgreSQL refuses.
        with psycopg.connect(self.conninfo, autocommit=True) as connection:
            connection.execute("SELECT pg_advisory_lock(%s)", [DDL_LOCK])
            try:
                connection.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema)))
                super().create_tables()
            finally:
                connection.execute("SELECT pg_advisory_unlock(%s)", [DDL_LOCK])

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        connection = self.live_connection()
        try:
            with connection.transaction(), connection.cursor() as cursor:
                yield CountingCursor(cursor, self)
        finally:
            self.pool.putconn(connection)

    # A live batch (a few facts: one new measure) is sent in one pipeline: its guard (tracking) is waited for, then
    # every write and the commit go together, two round trips instead of one per statement (about 12). Its commit does
    # not wait for the disk (`synchronous_commit off`, PostgreSQL's asynchronous commit: a crash of the server may lose
    # the last transactions whole, never a part of one nor corrupt anything): read models are derived from the log,
    # a batch lost is lost with its tracking position and projected again from the log, which keeps waiting for the
    # disk on every command. docs/read-models.md, "Latency of a new measure".
    live_batches_wait_for_disk = False

    @contextmanager
    def batch_transaction(self, small: bool = False) -> Iterator[Cursor]:
        if not small:
            with self.transaction() as cur:
                yield cur
            return
        connection = self.live_connection()
        try:
            with connection.pipeline() as pipeline, connection.transaction(), connection.cursor() as cursor:
                counting = CountingCursor(cursor, self)
                counting.batch_pipeline = pipeline  # type: ignore[attr-defined]
                if not self.live_batches_wait_for_disk:
                    counting.execute("SET LOCAL synchronous_commit TO off")
                yield counting
        finally:
            self.pool.putconn(connection)

    def sync(self, cur: Cursor) -> None:
        pipeline = getattr(cur, "batch_pipeline", None)
        if pipeline is not None:
            pipeline.sync()

    @contextmanager
    def single_statement(self) -> Iterator[Cursor]:
        connection = self.live_connection()
        try:
            connection.autocommit = True  # one statement: no BEGIN and COMMIT to wait for
            try:
                with connection.cursor() as cursor:
                    yield CountingCursor(cursor, self)
            finally:
                if not connection.closed:
                    connection.autocommit = False
        finally:
            self.pool.putconn(connection)

    def live_connection(self) -> psycopg.Connection[Any]:
        """A pooled connection whose server end is alive. An idle connection has nothing to read unless its
        backend ended (terminated, restarted: a FATAL message, then EOF), so one poll of the socket tells,
        without a round trip. The pool's own check would ping every time and sleep a backoff (1 s, 2 s...)
        for each dead connection it meets; here all of them are discarded at once."""
        for _ in range(self.pool.max_size + 1):
            connection = self.pool.getconn()
            if not select.select([connection.fileno()], [], [], 0)[0]:
                return connection
            connection.close()
            self.pool.putconn(connection)  # closed: the pool replaces it
            self.pool.check()
        return self.pool.getconn()

    def check_fence(self, cur: Cursor, fence: Fence) -> None:
        # A bigint advisory lock shows in pg_locks as classid (high 32 bits), objid (low 32 bits), objsubid 1.
        cur.execute("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = %s AND objid = %s "
                    "AND objsubid = 1 AND pid = %s AND granted",
                    [(fence.key >> 32) & 0xFFFFFFFF, fence.key & 0xFFFFFFFF, fence.pid])
        if cur.fetchone() is None:
            raise LeadershipLost(f"session {fence.pid} no longer holds lock {fence.key}")

    def unhurried_commit(self, cur: Cursor) -> None:
        cur.execute("SET LOCAL synchronous_commit TO off")

    def bulk_insert(self, cur: Cursor, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if getattr(cur, "batch_pipeline", None) is not None:  # COPY cannot be pipelined: a live batch's few rows
            super().bulk_insert(cur, table, columns, rows)
            return
        statement = sql.SQL("COPY {}.{} ({}) FROM STDIN").format(
            sql.Identifier(self.schema), sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
        with cur.copy(statement) as copy:  # type: ignore[attr-defined]
            for start in range(0, len(rows), COPY_ROWS):  # the text of a few thousand rows at a time
                part = rows[start:start + COPY_ROWS]
                try:
                    text = copy_text(part)
                except TypeError:  # a value other than text, an integer or None (e.g. bytes): psycopg adapts it
                    for row in part:
                        copy.write_row(row)
                    continue
                for at in range(0, len(text), COPY_CHUNK):
                    copy.write(text[at:at + COPY_CHUNK])

    def analyze(self) -> None:
        with self.transaction() as cur:
            for table in ("measures", "history"):
                cur.execute(self.q(f"ANALYZE {{p}}{table}"))

    def close(self) -> None:
        self.pool.close()
