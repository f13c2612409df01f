"""Read models in PostgreSQL, in a schema of their own, separate from the event store."""

from __future__ import annotations

import hashlib
import re
import select
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from progres.projections.stores.sql import CountingCursor, Cursor, Dialect, Fence, LeadershipLost, SqlStore

DDL_LOCK = 7_260_002
# The largest tables of a generation, partitioned by generation (`projection`): a rebuild loads its own partition
# without indexes, makes them once the rows are in, then attaches it; rows of other generations go to the default one.
PARTITIONED = ("measures", "history")


LOAD_SORT_MEMORY = "256MB"  # each session making a loaded partition's indexes (see end_load)


class PostgresStore(SqlStore):
    rebuild_writers = 4  # the rows of a rebuild (history, routes, measures, views), stored by 4 server processes
    def __init__(self, conninfo: str, schema: str, pool_size: int = 4, options: dict[str, str] | None = None) -> None:
        """`options`: server settings of every pooled session (e.g. the timeouts of a projection worker)."""
        self.schema = schema
        self.dialect = Dialect(placeholder="%s", prefix=f'"{schema}".', json_type="TEXT", blob_type="BYTEA",
                               bigint="BIGINT", partitioned=" PARTITION BY LIST (projection)")
        self._loading: dict[str, dict[str, str]] = {}  # generation -> table -> its partition being loaded
        self._partitioned: bool | None = None
        self._copy_types: dict[str, dict[str, int]] = {}  # table -> column -> type oid (binary COPY)
        self._lz4: bool | None = None  # the server compresses values by lz4 (see unhurried_commit)
        self._reads = threading.local()  # the cursor of `reading`, per thread
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
                # Tables made before they were partitioned stay as they are (a rebuild then writes into them).
                for table in self.partitioned_tables(connection):
                    connection.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} PARTITION OF {} DEFAULT").format(
                        sql.Identifier(self.schema, f"{table}_default"), sql.Identifier(self.schema, table)))
            finally:
                connection.execute("SELECT pg_advisory_unlock(%s)", [DDL_LOCK])

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        held = getattr(self._reads, "cursor", None)
        if held is not None:  # inside `reading`: its transaction
            yield held
            return
        connection = self.live_connection()
        try:
            with connection.transaction(), connection.cursor() as cursor:
                yield CountingCursor(cursor, self)
        finally:
            self.pool.putconn(connection)

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Reads only (as-of): every `transaction` of this thread inside is this one, on one connection."""
        if getattr(self._reads, "cursor", None) is not None:
            yield
            return
        with self.transaction() as cursor:
            self._reads.cursor = cursor
            try:
                yield
            finally:
                self._reads.cursor = None

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
        """Also: the documents of the transaction compressed by lz4 where the server has it (a view's JSON above 2 kB is
        compressed as it is stored, TOAST: pglz, the default, took 0.5 s of the server's time for the 300-member
        views' 52 MB, lz4 0.19 s; each value records its method, read either way)."""
        if self._lz4 is None:
            self._lz4 = bool(cur.execute("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = "
                                         "'default_toast_compression'").fetchone()[0])
        cur.execute("SELECT set_config('synchronous_commit', 'off', true)" + (
            ", set_config('default_toast_compression', 'lz4', true)" if self._lz4 else ""))

    def bulk_insert(self, cur: Cursor, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        """COPY in binary, each value sent as its column's type (`copy_types`): psycopg makes a row in one step (its C
        code) and the server reads each value as it is, no text to parse; a third of the client's time of COPY text
        made in Python, and less of the server's (docs/performance.md, "Full rebuild, round 25")."""
        if not rows:
            return
        if getattr(cur, "batch_pipeline", None) is not None:  # COPY cannot be pipelined: a live batch's few rows
            super().bulk_insert(cur, table, columns, rows)
            return
        statement = sql.SQL("COPY {}.{} ({}) FROM STDIN (FORMAT BINARY)").format(
            sql.Identifier(self.schema), sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
        types = self.copy_types(cur, table, columns)
        with cur.copy(statement) as copy:  # type: ignore[attr-defined]
            copy.set_types(types)
            for row in rows:
                copy.write_row(row)

    def copy_types(self, cur: Cursor, table: str, columns: tuple[str, ...]) -> list[int]:
        """The type (oid) of each of these columns of a table of the schema, read from the catalog once per table (a
        binary COPY must send each value as its column's type: an INTEGER is not a BIGINT)."""
        known = self._copy_types.get(table)
        if known is None or not set(columns) <= known.keys():
            connection: Any = cur.connection  # type: ignore[attr-defined]  # (not counted as the caller's statement)
            found = connection.execute(
                "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = to_regclass(quote_ident(%s) || '.' || "
                "quote_ident(%s)) AND attnum > 0 AND NOT attisdropped", [self.schema, table]).fetchall()
            known = self._copy_types[table] = {name: int(oid) for name, oid in found}
        return [known[column] for column in columns]

    def partitioned_tables(self, connection: psycopg.Connection[Any]) -> list[str]:
        rows = connection.execute("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                                  "WHERE n.nspname = %s AND c.relkind = 'p' AND c.relname = ANY(%s)",
                                  [self.schema, list(PARTITIONED)]).fetchall()
        return [row[0] for row in rows]

    @staticmethod
    def partition(table: str, projection: str) -> str:
        return f"{table}_{hashlib.sha1(projection.encode()).hexdigest()[:16]}"

    def begin_load(self, projection: str) -> None:
        """The generation's partitions of the largest tables, made empty and without indexes (see `end_load`)."""
        if self._partitioned is None:
            with psycopg.connect(self.conninfo, autocommit=True) as connection:
                self._partitioned = set(self.partitioned_tables(connection)) == set(PARTITIONED)
        if not self._partitioned:
            return
        with psycopg.connect(self.conninfo) as connection, connection.transaction():
            for table in PARTITIONED:
                part = sql.Identifier(self.schema, self.partition(table, projection))
                connection.execute(sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS)").format(
                    part, sql.Identifier(self.schema, table)))
                connection.execute(sql.SQL("ALTER TABLE {} ADD CHECK (projection = {})").format(
                    part, sql.Literal(projection)))
        self._loading[projection] = {table: self.partition(table, projection) for table in PARTITIONED}

    def load_table(self, projection: str, table: str) -> str:
        return self._loading.get(projection, {}).get(table, table)

    def end_load(self, projection: str) -> None:
        """Each partition loaded gets the indexes of its table (each made in one pass over the rows already in, not
        entry by entry as rows come; side by side, each on its own connection), is attached to its table and
        analyzed.

        Every index is made by `CREATE INDEX` (the primary key's too, then made the key from it: `ADD PRIMARY KEY`
        would lock the table whole and wait for, then hold up, the other indexes of the table), the largest table's
        and widest indexes first; a table is attached and analyzed as soon as its own indexes are made (ANALYZE waits
        for the index builds of its table, not for the other table's)."""
        parts = self._loading.pop(projection, None)
        if parts is None:
            self.analyze()
            return
        with self.transaction() as cur:  # each index of the tables; the primary key's is its constraint's
            cur.execute("SELECT i.tablename, i.indexname, i.indexdef, EXISTS (SELECT 1 FROM pg_constraint c JOIN "
                        "pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = i.schemaname AND c.contype = 'p' "
                        "AND c.conname = i.indexname), pg_relation_size(to_regclass(quote_ident(%s) || '.' || "
                        "quote_ident(p.part))) "
                        "FROM pg_indexes i JOIN unnest(%s::text[], %s::text[]) AS p(tablename, part) "
                        "ON p.tablename = i.tablename WHERE i.schemaname = %s ORDER BY i.tablename, i.indexname",
                        [self.schema, list(parts), list(parts.values()), self.schema])
            definitions = cur.fetchall()
        builds: list[tuple[int, int, str, str]] = []  # (table's size, columns, table, statement)
        finish: dict[str, list[Any]] = {table: [] for table in parts}  # per table, once its indexes are made
        for number, (table, name, definition, primary, size) in enumerate(definitions):
            part = f'"{self.schema}"."{parts[table]}"'
            index = f"{parts[table]}_pkey" if primary else f"{parts[table]}_{number}"
            statement = re.sub(r" ON ONLY \S+ USING ", f" ON {part} USING ", definition, count=1).replace(
                f"INDEX {name} ON", f"INDEX {index} ON", 1)
            builds.append((size or 0, definition.count(","), table, statement))
            if primary:  # the partition's index must back a primary key too, or attaching makes another one
                finish[table].append(f"ALTER TABLE {part} ADD CONSTRAINT {index} PRIMARY KEY USING INDEX {index}")
        for table, part in parts.items():
            finish[table].append(sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES IN ({})").format(
                sql.Identifier(self.schema, table), sql.Identifier(self.schema, part), sql.Literal(projection)))
            finish[table].append(sql.SQL("ANALYZE {}").format(sql.Identifier(self.schema, part)))

        local, opened, lock = threading.local(), [], threading.Lock()

        def run(statements: list[Any]) -> None:  # on the thread's connection, opened once
            connection = getattr(local, "connection", None)
            if connection is None:
                connection = local.connection = psycopg.connect(self.conninfo, autocommit=True)
                with lock:
                    opened.append(connection)
                connection.execute("SET synchronous_commit TO off")
                # Each index is made by sorting its entries: in memory when they fit (the default 64 MB spills a
                # 300-member generation's to disk in runs and merges them; 4 such sessions side by side at most).
                connection.execute(sql.SQL("SET maintenance_work_mem TO {}").format(sql.Literal(LOAD_SORT_MEMORY)))
            for statement in statements:
                connection.execute(statement)

        builds.sort(key=lambda build: (-build[0], -build[1]))
        made: dict[str, list[Future[None]]] = {table: [] for table in parts}

        def made_whole(table: str) -> None:  # queued after every build: runs once they are all taken
            for future in made[table]:
                future.result()
            run(finish[table])

        try:
            with ThreadPoolExecutor(min(len(builds), 4) or 1) as pool:
                for _, _, table, statement in builds:
                    made[table].append(pool.submit(run, [statement]))
                for future in [pool.submit(made_whole, table) for table in parts]:
                    future.result()
        finally:
            for connection in opened:
                connection.close()

    def drop(self, projection: str) -> None:
        """A generation's partitions are dropped whole (attached or left by a stopped rebuild), the rest deleted."""
        self._loading.pop(projection, None)
        with psycopg.connect(self.conninfo) as connection, connection.transaction():
            for table in PARTITIONED:
                connection.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(
                    sql.Identifier(self.schema, self.partition(table, projection))))
        super().drop(projection)

    def analyze(self) -> None:
        with self.transaction() as cur:
            for table in ("measures", "history"):
                cur.execute(self.q(f"ANALYZE {{p}}{table}"))

    def close(self) -> None:
        self.pool.close()
