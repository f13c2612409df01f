"""Views stores for the read side's tests: one on the test's store settings (SQLite or PostgreSQL) with its schema
dropped afterwards, and a throw-away SQLite one projected by a runner or a rebuild (hypothesis examples)."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from psycopg import sql

from progres.projections.runner import ProjectionRunner, rebuild
from progres.projections.stores.sqlite import SqliteStore
from progres.services.bootstrap import postgres_connect
from progres.services.read_models import open_store


@contextlib.contextmanager
def views_store(store_settings: Any, schema: str | None = None) -> Iterator[Any]:
    """A views store on the test's settings (schema `schema`, else the event store's with `_views`); closed, and on
    PostgreSQL its schema dropped, at the end."""
    settings = store_settings.model_copy(
        update={"views_schema": schema or f"{store_settings.postgres_schema}_views"})
    store = open_store(settings)
    try:
        yield store
    finally:
        store.close()
        if settings.store == "postgres":
            with postgres_connect(settings, autocommit=True) as connection:
                connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    sql.Identifier(settings.views_schema)))


@contextlib.contextmanager
def projected_on_sqlite(app: Any, batch: int, every: int, rebuilt: bool) -> Iterator[tuple[SqliteStore, str]]:
    """A throw-away SQLite views store holding the app's log, projected by a runner in batches of `batch` or by a
    rebuild in chunks of `batch`, with checkpoints every `every` positions: (store, projection)."""
    with tempfile.TemporaryDirectory() as directory:
        store = SqliteStore(Path(directory) / "views.sqlite3")
        try:
            if rebuilt:
                rebuild(app, store, "views_v1", batch=batch, checkpoint_every=every)
                yield store, "views_v1"
            else:
                runner = ProjectionRunner(app, store, batch_size=batch, checkpoint_every=every)
                runner.catch_up()
                yield store, runner.projection
        finally:
            store.close()
