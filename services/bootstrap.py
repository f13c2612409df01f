"""The one place where things are wired: settings in, a ready application out."""

from __future__ import annotations

from progres.services.commands import Progres
from progres.services.settings import Settings


def bootstrap(settings: Settings | None = None) -> Progres:
    """Builds the application on the configured store, creating its tables if needed."""
    settings = settings or Settings()
    if settings.store == "sqlite":
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Progres(
        env=settings.eventsourcing_env(),
        retries=settings.command_retries,
        snapshot_interval=settings.snapshot_interval,
    )
