"""The one place where things are wired: settings in, a ready application out."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

from progres.services.audit_chain import recorder_topic
from progres.services.audit_keys import load_keyring
from progres.services.commands import Progres
from progres.services.settings import Settings


def postgres_connect(settings: Settings, **kwargs: object) -> psycopg.Connection:
    return psycopg.connect(settings.postgres_conninfo(connect_timeout="10"), **kwargs)


def ensure_postgres_schema(settings: Settings) -> None:
    """The library creates tables, not schemas: create the configured schema first."""
    if settings.postgres_schema == "public":
        return
    with postgres_connect(settings, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(settings.postgres_schema)))


def notify_channel(settings: Settings) -> str:
    return f"progres_{settings.postgres_schema}"[:63]


def install_event_notifications(settings: Settings) -> None:
    """A trigger on the event table NOTIFYs runners, so that they wake at once instead of polling."""
    schema = sql.Identifier(settings.postgres_schema)
    function = sql.Identifier(settings.postgres_schema, "progres_notify_events")
    with postgres_connect(settings, autocommit=True) as connection:
        connection.execute(sql.SQL(
            "CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN PERFORM pg_notify({channel}, ''); RETURN NULL; END $$").format(
                function=function, channel=sql.Literal(notify_channel(settings))))
        connection.execute(sql.SQL(
            "CREATE OR REPLACE TRIGGER progres_events_notify AFTER INSERT ON {schema}.progres_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION {function}()").format(schema=schema, function=function))


STARTUP_LOCK = 7_260_001  # advisory lock id: one process at a time creates tables and triggers


@contextmanager
def startup_lock(settings: Settings) -> Iterator[None]:
    """Server workers start together: PostgreSQL refuses concurrent DDL on the same objects."""
    with postgres_connect(settings, autocommit=True) as connection:
        connection.execute("SELECT pg_advisory_lock(%s)", [STARTUP_LOCK])
        try:
            yield
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", [STARTUP_LOCK])


def bootstrap(settings: Settings | None = None) -> Progres:
    """Builds the application on the configured store, creating its tables if needed."""
    settings = settings or Settings()
    if settings.store == "sqlite":
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        return new_application(settings)
    with startup_lock(settings):
        ensure_postgres_schema(settings)
        app = new_application(settings)
        install_event_notifications(settings)
    return app


def new_application(settings: Settings) -> Progres:
    """The application on the keyed-chain recorder (services/audit_chain.py), with the audit keys attached:
    without a key it refuses to write."""
    env = {**settings.eventsourcing_env(), "APPLICATION_RECORDER_TOPIC": recorder_topic(settings.store)}
    app = Progres(env=env, retries=settings.command_retries, snapshot_interval=settings.snapshot_interval,
                  failover_seconds=settings.postgres_failover_seconds if settings.store == "postgres" else 0.0)
    app.recorder.keyring = load_keyring(settings)  # type: ignore[attr-defined]
    return app
