"""Read models in a SQLite file beside the embedded event store."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from progres.projections.stores.sql import CountingCursor, Cursor, Dialect, SqlStore


class SqliteStore(SqlStore):
    dialect = Dialect(placeholder="?", prefix="", json_type="TEXT", blob_type="BLOB", bigint="INTEGER")

    def __init__(self, path: Path) -> None:
        self.path = path
        self.local = threading.local()
        self.create_tables()

    def connection(self) -> sqlite3.Connection:
        connection = getattr(self.local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
            connection.execute("PRAGMA journal_mode=WAL")
            self.local.connection = connection
        return connection

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        connection = self.connection()
        cursor = connection.cursor()
        cursor.execute("BEGIN IMMEDIATE")
        try:
            yield CountingCursor(cursor, self)
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        cursor.execute("COMMIT")

    def close(self) -> None:
        connection: Any = getattr(self.local, "connection", None)
        if connection is not None:
            connection.close()
            self.local.connection = None
