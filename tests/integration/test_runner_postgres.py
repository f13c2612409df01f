"""Runners on PostgreSQL: exactly once under SIGKILL, with concurrent writers, and read-your-writes."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest
from psycopg import sql

from progres.projections.runner import rebuild
from progres.projections.stores.sql import unpack
from progres.services.bootstrap import bootstrap, postgres_connect
from progres.services.demo import run_seed_scenario
from progres.services.read_models import ReadModels, open_store

pytestmark = pytest.mark.postgres

SEMESTERS = [("2022-01-01", "2022-06-30"), ("2022-07-01", "2022-12-31"), ("2023-01-01", "2023-06-30"),
             ("2023-07-01", "2023-12-31")]
COMPARED = ("member_views", "plan_dashboards", "plan_balances", "groupement_parties", "ledgers", "routes", "history")


@pytest.fixture
def views_settings(pg_settings):
    settings = pg_settings.model_copy(update={"views_schema": f"views_{uuid.uuid4().hex[:10]}"})
    yield settings
    with postgres_connect(settings, autocommit=True) as connection:
        for schema in (settings.views_schema, f"{settings.views_schema}_clean"):
            connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def comparable(store, projection: str, table: str) -> list:
    rows = store.rows(table, projection)
    if table in ("member_views", "plan_dashboards", "plan_balances", "groupement_parties"):
        return [(r[1], r[2], r[5]) for r in rows]  # plan, member, document (not the batch position)
    if table == "ledgers":
        return [(r[1], unpack(r[3])) for r in rows]
    return [r[1:] for r in rows]


def assert_equal_to_a_clean_rebuild(app, settings, store, projection: str) -> None:
    clean = open_store(settings.model_copy(update={"views_schema": f"{settings.views_schema}_clean"}))
    try:
        rebuild(app, clean, "clean")
        for table in COMPARED:
            assert comparable(store, projection, table) == comparable(clean, "clean", table), table
    finally:
        clean.close()


def test_a_runner_killed_again_and_again_ends_with_the_views_of_a_clean_rebuild(views_settings):
    app = bootstrap(views_settings)
    run_seed_scenario(app)
    head = app.max_notification_id()
    env = {**os.environ, "PROGRES_STORE": "postgres", "PROGRES_POSTGRES_SCHEMA": views_settings.postgres_schema,
           "PROGRES_VIEWS_SCHEMA": views_settings.views_schema, "PROGRES_PROJECTION_BATCH_SIZE": "2",
           "PROGRES_PROJECTION_MAX_BATCH_SIZE": "2"}
    models = ReadModels.open(app, views_settings)
    kills, attempts, positions = 0, 0, []
    while kills < 10 and attempts < 60:
        attempts += 1
        runner = subprocess.Popen([sys.executable, "-m", "progres.services.cli", "projections", "run"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        before = models.runner.position
        deadline = time.monotonic() + 30
        while models.runner.position == before and runner.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)  # wait until it has started projecting…
        time.sleep(random.uniform(0, 0.05))  # …then kill it at a random moment of its catch-up
        if runner.poll() is None:
            runner.send_signal(signal.SIGKILL)
            runner.wait()
            if models.runner.position < head:
                kills += 1
                positions.append(models.runner.position)
        else:
            assert runner.returncode == 0, runner.stderr.read().decode()
        if models.runner.position >= head:
            break
    assert kills >= 10, f"only {kills} kills landed during catch-up (positions {positions})"
    final = subprocess.run([sys.executable, "-m", "progres.services.cli", "projections", "run"], env=env,
                           capture_output=True, text=True, timeout=120, check=False)
    assert final.returncode == 0, final.stderr
    assert models.runner.position == head
    assert positions == sorted(positions), "tracking never goes back"
    assert_equal_to_a_clean_rebuild(app, views_settings, models.store, models.projection)
    models.close()
    app.close()


def test_views_followed_while_writers_write_equal_a_rebuild(views_settings, world_factory):
    app = bootstrap(views_settings)
    world = world_factory(app)
    models = ReadModels.open(app, views_settings)
    stop = threading.Event()
    follower = threading.Thread(target=models.follow, args=(views_settings, stop.is_set, 0.2))
    follower.start()
    errors: list[Exception] = []

    def writer(index: int) -> None:
        member = world.lycees[index]
        try:
            for n, (start, end) in enumerate(SEMESTERS):
                measure = app.record_measure(world.plan, "egalim_share", member, start, end, "factures", member,
                                             end, value=20 + n + index).id
                app.submit_proposal(world.plan, member, "egalim", "innovation", f"Idée {index}-{n}", "C", "I",
                                    "2022-05-01")
                app.correct_measure(measure, "relevé revu", world.region, "2024-01-10", value=30 + n)
                app.declare_purchase_volume(world.plan, member, 1000 * (n + 1))
        except Exception as error:
            errors.append(error)

    writers = [threading.Thread(target=writer, args=(i,)) for i in range(3)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    time.sleep(0.5)  # the follower, woken by NOTIFY, is catching up
    stop.set()
    follower.join()
    assert not errors
    models.runner.catch_up()
    assert models.status()["lag"] == 0
    assert_equal_to_a_clean_rebuild(app, views_settings, models.store, models.projection)
    models.close()
    app.close()


def test_a_read_that_asks_for_its_write_position_sees_the_write(views_settings, world_factory):
    app = bootstrap(views_settings)
    world = world_factory(app)
    models = ReadModels.open(app, views_settings)
    models.runner.catch_up()
    written = app.record_measure(world.plan, "egalim_share", world.lycees[0], "2022-01-01", "2022-06-30",
                                 "factures", world.lycees[0], "2022-07-01", value="37.5")
    assert models.status()["lag"] > 0
    view = models.member_view(world.plan, world.lycees[0], min_position=written.position)
    egalim = next(i for i in view["indicators"] if i["key"] == "egalim_share")
    assert egalim["last"] == "37.5"
    assert view["position"] >= written.position
    models.close()
    app.close()
