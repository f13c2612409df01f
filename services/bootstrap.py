"""The one place where things are wired: settings in, a ready application out."""

from __future__ import annotations

import psycopg
from psycopg import sql

from progres.services.commands import Progres
from progres.services.settings import Settings


def postgres_connect(settings: Settings, **kwargs: object) -> psycopg.Connection:
    return psycopg.connect(
        host=settings.postgres_host, port=settings.postgres_port, user=settings.postgres_user,
        password=settings.postgres_password.get_secret_value(), dbname=settings.postgres_dbname,
        connect_timeout=10, **kwargs,
    )


def ensure_postgres_schema(settings: Settings) -> None:
    """The library creates tables, not schemas: create the configured schema first."""
    if settings.postgres_schema == "public":
        return
    with postgres_connect(settings, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(settings.postgres_schema)))


def bootstrap(settings: Settings | None = None) -> Progres:
    """Builds the application on the configured store, creating its tables if needed."""
    settings = settings or Settings()
    if settings.store == "sqlite":
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    else:
        ensure_postgres_schema(settings)
    return Progres(
        env=settings.eventsourcing_env(),
        retries=settings.command_retries,
        snapshot_interval=settings.snapshot_interval,
    )
