"""Leader election and fencing of projection workers on PostgreSQL (issue 18), in one process: the lock, the
fence a batch is written under, the roll call `progres projections status` reads, servers that only read."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid

import pytest
from psycopg import sql

from progres.projections.runner import ProjectionRunner
from progres.projections.stores.sql import LeadershipLost, StaleTracking
from progres.services.bootstrap import postgres_connect
from progres.services.read_models import ReadModels, ReadModelsLagging
from progres.services.workers import Lease, ProjectionWorker, lock_key, workers_of

from ..conftest import build_world

pytestmark = pytest.mark.postgres


@pytest.fixture
def settings(pg_settings):
    settings = pg_settings.model_copy(update={"views_schema": f"views_{uuid.uuid4().hex[:10]}",
                                              "read_wait_seconds": 1.0})
    yield settings
    with postgres_connect(settings, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(settings.views_schema)))


@pytest.fixture
def models(pg_settings, settings):
    from progres.services.bootstrap import bootstrap  # noqa: PLC0415

    app = bootstrap(settings)
    read_models = ReadModels.open(app, settings)
    yield read_models
    read_models.close()
    app.close()


def test_lock_keys_are_stable_and_differ_by_schema_and_projection():
    # Pinned: workers of two versions must agree on the key during a rolling upgrade, or both would lead.
    assert lock_key("progres_views", "views_v1") == lock_key("progres_views", "views_v1") == 8063636697567783381
    assert len({lock_key("progres_views", "views_v1"), lock_key("progres_views", "views_v2"),
                lock_key("other_views", "views_v1"), lock_key("progres_views", "views_v1", "member")}) == 4


def test_one_lease_per_projection_and_the_lock_is_released_when_its_session_ends(settings):
    first, second = Lease(settings, "views_v1", "a:1"), Lease(settings, "views_v1", "b:2")
    other = Lease(settings, "views_v2", "c:3")
    try:
        assert first.try_acquire()
        assert not second.try_acquire()
        assert other.try_acquire()  # another projection has a leader of its own
        assert first.held()
        assert not second.held()
        assert workers_of(settings, "views_v1")["leader"] == "a:1"
        assert workers_of(settings, "views_v1")["standby"] == ["b:2"]
        with postgres_connect(settings, autocommit=True) as admin:  # the leader's session dies
            admin.execute("SELECT pg_terminate_backend(%s)", [first.pid])
        assert not first.held()
        assert second.try_acquire()
        assert workers_of(settings, "views_v1") | {"leader_since": None} == {
            "leader": "b:2", "leader_since": None, "standby": []}
    finally:
        for lease in (first, second, other):
            lease.close()
    assert workers_of(settings, "views_v1")["leader"] is None


def test_a_batch_under_a_lost_lock_is_refused_and_nothing_is_written(models, settings):
    world = build_world(models.app)
    old, new = Lease(settings, models.projection, "old:1"), Lease(settings, models.projection, "new:2")
    try:
        assert old.try_acquire()
        runner = ProjectionRunner(models.app, models.store, models.projection, fence=old.fence)
        assert runner.run_batch() > 0  # the leader writes under its lock
        world.measure()
        before = models.store.rows("member_views", models.projection)
        position = runner.position
        with postgres_connect(settings, autocommit=True) as admin:  # paused too long: PostgreSQL ended it
            admin.execute("SELECT pg_terminate_backend(%s)", [old.pid])
        assert new.try_acquire()
        with pytest.raises(LeadershipLost):
            runner.run_batch()
        assert runner.position == position  # tracking unmoved
        assert models.store.rows("member_views", models.projection) == before  # nothing written
        successor = ProjectionRunner(models.app, models.store, models.projection, fence=new.fence)
        assert successor.run_batch() > 0
        assert successor.position == world.head()
    finally:
        old.close()
        new.close()


def test_two_writers_from_the_same_position_never_both_advance_tracking(models):
    world = build_world(models.app)
    first = ProjectionRunner(models.app, models.store, models.projection)
    second = ProjectionRunner(models.app, models.store, models.projection)
    head = world.head()
    facts = list(models.app.facts(1, stop=head))
    batches = [runner.fold(runner.state(), list(facts), 0, head) for runner in (first, second)]
    assert models.store.commit_batch(models.projection, 0, head, batches[0])
    with pytest.raises(StaleTracking):
        models.store.commit_batch(models.projection, 0, head, batches[1])
    assert models.store.position(models.projection) == head


def test_a_server_with_external_workers_only_reads_and_waits_for_them(models, settings):
    world = build_world(models.app)
    models.external = True
    with pytest.raises(ReadModelsLagging):
        models.fresh(world.head())  # no worker runs: the server waits, it never projects
    assert models.runner.position == 0
    stop = threading.Event()
    worker = ProjectionWorker(ReadModels.open(models.app, settings, worker=True), settings, "w:1", idle=0.1)
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        written = world.measure(value="41")
        view = models.member_view(world.plan, world.lycees[0], min_position=written.position)
        assert next(i for i in view["indicators"] if i["key"] == "egalim_share")["last"] == "41"
        assert models.status()["lag"] == 0
        assert workers_of(settings, models.projection)["leader"] == "w:1"
    finally:
        stop.set()
        thread.join(timeout=10)
        worker.models.close()
    assert not thread.is_alive()
    assert workers_of(settings, models.projection)["leader"] is None  # SIGTERM path: the lock is given back


def wait_until(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_the_leader_follows_a_rebuild_to_the_new_generation(models, settings, monkeypatch):
    from progres.services import read_models  # noqa: PLC0415

    monkeypatch.setattr(read_models, "ACTIVE_RECHECK_SECONDS", 0)
    world = build_world(models.app)
    stop = threading.Event()
    worker = ProjectionWorker(ReadModels.open(models.app, settings, worker=True), settings, "w:1", idle=0.1)
    thread = threading.Thread(target=worker.run, args=(stop,))
    thread.start()
    try:
        wait_until(lambda: workers_of(settings, "views_v1")["leader"] == "w:1")
        result = models.rebuild()
        assert result["projection"] == "views_v2"
        wait_until(lambda: workers_of(settings, "views_v2")["leader"] == "w:1")
        assert workers_of(settings, "views_v1")["leader"] is None
        written = world.measure(value="44")
        wait_until(lambda: models.store.position("views_v2") >= written.position)
    finally:
        stop.set()
        thread.join(timeout=10)
        worker.models.close()


def test_projections_status_names_the_leader_and_the_standbys(models, settings):
    models.runner.catch_up()
    env = {**os.environ, "PROGRES_STORE": "postgres", "PROGRES_POSTGRES_SCHEMA": settings.postgres_schema,
           "PROGRES_VIEWS_SCHEMA": settings.views_schema, "COLUMNS": "200"}

    def status() -> str:
        done = subprocess.run([sys.executable, "-m", "progres.services.cli", "projections", "status"], env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "aucun processus de projection ne le mène (suivi dans les serveurs)" in status()
    leader, standby = Lease(settings, models.projection, "host-a:101"), Lease(settings, models.projection, "host-b:202")
    try:
        assert leader.try_acquire()
        assert not standby.try_acquire()
        said = status()
        assert "mené par le processus de projection host-a:101" in said
        assert "en attente : host-b:202" in said
    finally:
        leader.close()
        standby.close()
