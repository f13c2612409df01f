"""Events no read model uses (command receipts) still move tracking on (issue 9, defect 1), on SQLite and
PostgreSQL: catch-up, read-your-writes and rebuilds all reach the log head when the last event is a receipt."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from psycopg import sql

from progres.services.bootstrap import postgres_connect
from progres.services.read_models import PositionAhead, ReadModels, ReadModelsLagging
from progres.services.settings import Settings

from ..conftest import build_world


@pytest.fixture
def models(app, store_settings: Settings):
    settings = store_settings.model_copy(update={"views_schema": f"views_{uuid.uuid4().hex[:10]}"})
    read_models = ReadModels.open(app, settings)
    yield read_models
    read_models.close()
    if settings.store == "postgres":
        with postgres_connect(settings, autocommit=True) as connection:
            schema = sql.Identifier(settings.views_schema)
            connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(schema))


def test_receipts_at_the_end_of_the_log_are_passed_by_every_runner(app, models):
    world = build_world(app)
    result = app.add_axis(world.plan, "env", "Environnement", command_id="client-1")
    head = app.max_notification_id()
    assert result.position == head  # the receipt is the last event

    models.fresh(head)  # read-your-writes at the receipt's position returns at once
    assert models.runner.position == head
    assert models.status()["lag"] == 0
    assert models.runner.catch_up() == 0  # nothing left: it finishes

    app.add_axis(world.plan, "social", "Social", command_id="client-2")
    assert models.runner.catch_up() == 2  # the axis and its receipt
    assert models.runner.position == app.max_notification_id()

    rebuilt = models.rebuild()
    assert rebuilt["events"] == app.max_notification_id()
    assert models.status()["lag"] == 0


def test_a_position_beyond_the_head_is_refused_and_a_lagging_wait_is_bounded(app, models):
    world = build_world(app)
    head = app.max_notification_id()
    with pytest.raises(PositionAhead) as refused:
        models.fresh(head + 1)
    assert refused.value.code == "position_ahead_of_log"
    assert refused.value.field == "minPosition"

    # Another runner holds tracking and makes no progress: the wait ends after read_wait_seconds, asleep.
    models.read_wait_seconds = 0.3
    app.add_axis(world.plan, "env", "Environnement")
    runner = models.runner
    runner._lock.acquire()
    try:
        done: list[BaseException] = []

        def read() -> None:
            try:
                models.fresh(app.max_notification_id())
            except ReadModelsLagging as error:
                done.append(error)

        reader = threading.Thread(target=read)
        started = time.monotonic()
        reader.start()
        reader.join(timeout=5)
        elapsed = time.monotonic() - started
    finally:
        runner._lock.release()
    assert done
    assert done[0].code == "read_models_lagging"
    assert elapsed < 2
    models.fresh(app.max_notification_id())  # the lock released, the read goes through
    assert models.status()["lag"] == 0
