"""Versions of the read models (issue 12, deliverable 2; Marten's projection lifecycle, blue-green): a version bump
rebuilds that read model beside the rows in use while reads keep the old ones, then switches in one transaction;
an unchanged version does nothing; `projections status` shows both versions and the progress. On SQLite and
PostgreSQL, and under a worker's fence. Also the proof that adding a read model is its module and one registry
entry: a read model registered by this test alone is built, rebuilt on a bump, listed and read."""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections import Counter
from typing import Any

import orjson
import pytest
from psycopg import sql

from progres.projections import registry
from progres.projections.ledger import Replay
from progres.projections.registry import LEDGER_EVENTS, ReadModel, Scope
from progres.projections.runner import ProjectionRunner, rebuild
from progres.projections.stores.sql import building_key
from progres.projections.stores.sqlite import SqliteStore
from progres.services.bootstrap import bootstrap, postgres_connect
from progres.services.read_models import ReadModels
from progres.services.workers import ProjectionWorker

from ..conftest import ADHESION, CONVENTION, build_world


@pytest.fixture
def views_settings(store_settings):
    """Read models of their own (on PostgreSQL, a schema of this test's, dropped after it)."""
    if store_settings.store != "postgres":
        yield store_settings
        return
    settings = store_settings.model_copy(update={"views_schema": f"views_{uuid.uuid4().hex[:10]}"})
    yield settings
    with postgres_connect(settings, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(settings.views_schema)))


@pytest.fixture
def world_models(views_settings):
    app = bootstrap(views_settings)
    world = build_world(app)
    world.measure()
    world.measure(member_id=world.lycees[1], recorded_by=world.lycees[1], value="40")
    models = ReadModels.open(app, views_settings)
    models.runner.catch_up()
    yield world, models, views_settings
    models.close()
    app.close()


def bump(monkeypatch: pytest.MonkeyPatch, name: str, version: int, mark: Any) -> ReadModel:
    """The code of `name` changes: its version and its documents (each gains a field `mark`)."""
    old = registry.read_model(name)
    new = dataclasses.replace(old, version=version,
                              rows=lambda s: [(k, m, g, {**doc, "mark": mark}) for k, m, g, doc in old.rows(s)])
    monkeypatch.setattr(registry, "REGISTRY", tuple(new if m.name == name else m for m in registry.REGISTRY))
    return new


def another_groupement(world, code: str) -> str:
    """One more groupement of the same organisations, with its marché and plan: one more chunk to rebuild."""
    app = world.app
    groupement = app.constitute_groupement(code, f"Groupement {code}", "Achats", True, world.region, "2021-06-01",
                                           CONVENTION, withdrawal_clause="ends_at_withdrawal").id
    app.admit_member(groupement, world.lycees[0], "2021-09-01", ADHESION, "2021-07-01")
    marche = app.notify_marche(groupement, f"2022-{code}", "BOF", "15500000-3", "fournitures", [world.titulaire],
                               "50000", 24, "2022-01-01").id
    return str(app.draw_up_plan(marche, f"Plan {code}").id)


def documents(store, table: str, projection: str) -> list[tuple[Any, ...]]:
    return [(r[1], r[2], r[3], r[5]) for r in store.rows(table, projection)]  # plan, member, groupement, doc


def clean(app, table: str) -> list[tuple[Any, ...]]:
    """The rows a clean rebuild makes of a table: the registry's rows of every ledger folded from the whole log."""
    rows = [row for ledger in Replay().feed_all(app.facts()).ledgers.values()
            for row in registry.derived_views(ledger).get(table, [])]
    return sorted((k, m, g, orjson.loads(orjson.dumps(doc))) for k, m, g, doc in rows)


def rebuilt(app, tmp_path, table: str) -> list[tuple[Any, ...]]:
    """The rows `progres projections rebuild` makes of a table, in a store of their own."""
    store = SqliteStore(tmp_path / f"clean-{uuid.uuid4().hex[:6]}.sqlite3")
    try:
        rebuild(app, store, "clean")
        return documents(store, table, "clean")
    finally:
        store.close()


def test_a_version_bump_rebuilds_beside_while_reads_keep_the_old_rows_then_switches(world_models, monkeypatch,
                                                                                     tmp_path):
    world, models, settings = world_models
    plans = [another_groupement(world, code) for code in ("GC-B", "GC-C")]
    projection, runner = models.projection, models.runner
    runner.catch_up()
    before = models.plan_balance(world.plan)
    assert "mark" not in before
    old, new = registry.read_model("plan_balance").version, registry.read_model("plan_balance").version + 1
    bump(monkeypatch, "plan_balance", new, "v2")
    runner.upgrade_chunk = 1
    reader = ReadModels.open(bootstrap(settings), settings)  # another process's reader: only reads rows
    reader.followed = True  # a server's reader: reads what is stored, never projects
    seen: list[Any] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            seen.append(reader.plan_balance(world.plan))

    thread = threading.Thread(target=read)
    thread.start()
    try:
        runner.run_batch()  # begins the rebuild and builds the first chunk (one groupement of three)
        listed = {m["name"]: m for m in models.read_models()}
        assert (listed["plan_balance"]["version"], listed["plan_balance"]["stored_version"],
                listed["plan_balance"]["building"]) == (new, old, new)
        assert (listed["plan_balance"]["done"], listed["plan_balance"]["total"]) == (1, 3)
        assert listed["member_view"]["stored_version"] == listed["member_view"]["version"] \
            == registry.read_model("member_view").version
        assert models.store.has_rows("plan_balances", building_key(projection, "plan_balance", new))
        assert "mark" not in reader.plan_balance(world.plan)  # reads keep the old rows meanwhile
        world.measure(member_id=world.lycees[2], recorded_by=world.lycees[2], value="45")  # arrives meanwhile
        plans.append(another_groupement(world, "GC-D"))  # a groupement the rebuild did not count
        runner.run_batch()  # the batch (its balances written beside the old ones) and the second chunk
        assert {m["name"]: m["done"] for m in models.read_models()}["plan_balance"] == 2
        assert reader.plan_balance(plans[-1]) is None  # no old row for it: not shown before the switch
        runner.upgrade()  # the last chunk, then the switch
        time.sleep(0.05)
    finally:
        stop.set()
        thread.join()
        reader.close()
        reader.app.close()
    assert seen
    assert all(doc is not None for doc in seen), "a read failed during the rebuild"
    assert {doc.get("mark") for doc in seen} <= {None, "v2"}
    after = models.plan_balance(world.plan)
    assert after["mark"] == "v2"
    assert runner.position == world.head()
    assert documents(models.store, "plan_balances", projection) == clean(models.app, "plan_balances") \
        == rebuilt(models.app, tmp_path, "plan_balances")
    assert [models.plan_balance(plan)["mark"] for plan in plans] == ["v2"] * 3
    assert not models.store.has_rows("plan_balances", building_key(projection, "plan_balance", new))
    listed = {m["name"]: (m["stored_version"], m["building"]) for m in models.read_models()}
    assert listed["plan_balance"] == (new, None)
    for table in ("groupement_parties", "plan_dashboards", "member_views"):  # kept up by the batches meanwhile
        assert documents(models.store, table, projection) == clean(models.app, table), table


def test_an_unchanged_version_does_nothing(world_models):
    _, models, _ = world_models
    runner = models.runner
    before = {t: models.store.rows(t, models.projection) for t in registry.tables()}
    versions = models.store.model_versions(models.projection)
    assert {name: v.version for name, v in versions.items()} == {m.name: m.version for m in registry.REGISTRY}
    assert not runner.upgrading
    statements = models.store.statements
    assert runner.run_batch() == 0
    assert models.store.statements - statements == 1  # the tracking position, nothing else
    runner.catch_up()
    assert models.store.model_versions(models.projection) == versions
    assert {t: models.store.rows(t, models.projection) for t in registry.tables()} == before


@pytest.mark.postgres
def test_a_worker_leader_upgrades_under_its_fence(pg_settings, monkeypatch):
    settings = pg_settings.model_copy(update={"views_schema": f"views_{uuid.uuid4().hex[:10]}"})
    app = bootstrap(settings)
    models = ReadModels.open(app, settings, worker=True)
    stop = threading.Event()
    try:
        world = build_world(app)
        world.measure()
        models.runner.catch_up()
        newer = registry.read_model("member_view").version + 2
        bump(monkeypatch, "member_view", newer, "v3")
        worker = ProjectionWorker(models, settings, "test:1", idle=0.1)
        thread = threading.Thread(target=worker.run, args=(stop,))
        thread.start()
        deadline = time.monotonic() + 20
        while models.store.model_versions(models.projection)["member_view"].version != newer:
            assert time.monotonic() < deadline, "the leader did not upgrade member_view"
            time.sleep(0.05)
        stop.set()
        thread.join()
        assert models.member_view(world.plan, world.lycees[0])["mark"] == "v3"
        assert documents(models.store, "member_views", models.projection) == clean(app, "member_views")
    finally:
        stop.set()
        models.close()
        app.close()
        with postgres_connect(settings, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                sql.Identifier(settings.views_schema)))


# Adding a read model: its module (here, this function) and one entry in the registry, nothing else.
def measure_counts(scope: Scope) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Per plan and member: how many measures the member recorded, per indicator."""
    counts = Counter((m["member_id"], m["indicator_key"]) for m in scope.ledger["plans"][scope.plan_id]["measures"]
                     .values())
    return [(scope.plan_id, member, scope.ledger["id"],
             {"by_indicator": {k: n for (who, k), n in sorted(counts.items()) if who == member},
              "total": sum(n for (who, _), n in counts.items() if who == member)})
            for member in scope.members]


def test_a_read_model_registered_alone_is_built_rebuilt_on_a_bump_listed_and_read(world_models, monkeypatch):
    world, models, _ = world_models  # a populated store, made before the read model existed
    extra = ReadModel("measure_counts", 1, "measure_counts", LEDGER_EVENTS, True, measure_counts)
    monkeypatch.setattr(registry, "REGISTRY", (*registry.REGISTRY, extra))
    registry._check()
    assert models.read("measure_counts", world.plan, world.lycees[0]) is None  # not built yet: nothing, no error
    assert models.runner.upgrading
    models.runner.catch_up()  # what `progres projections run`, a server's follower or a worker does
    assert models.read("measure_counts", world.plan, world.lycees[0]) == {"by_indicator": {"egalim_share": 1},
                                                                         "total": 1}
    world.measure(period_start="2022-07-01", period_end="2022-12-31", declared_on="2023-01-02")
    assert models.read("measure_counts", world.plan, world.lycees[0])["total"] == 2  # kept by the batches
    assert models.read("measure_counts", world.plan, world.lycees[2])["total"] == 0
    listed = {m["name"]: m for m in models.read_models()}["measure_counts"]
    assert (listed["version"], listed["stored_version"], listed["table"]) == (1, 1, "measure_counts")
    assert "Measure.Recorded" in listed["events"]
    bumped = bump(monkeypatch, "measure_counts", 2, "v2")
    assert models.runner.upgrading
    assert "mark" not in models.read("measure_counts", world.plan, world.lycees[0])  # the old rows until the switch
    models.runner.catch_up()
    assert models.read("measure_counts", world.plan, world.lycees[0]) == {
        "by_indicator": {"egalim_share": 2}, "total": 2, "mark": "v2"}
    assert documents(models.store, "measure_counts", models.projection) == clean(models.app, "measure_counts")
    assert bumped.version == {m["name"]: m["stored_version"] for m in models.read_models()}["measure_counts"]


@pytest.mark.postgres
def test_a_rebuild_step_under_a_lost_lock_is_refused_and_writes_nothing(pg_settings, monkeypatch):
    from progres.projections.runner import ProjectionRunner  # noqa: PLC0415
    from progres.projections.stores.sql import LeadershipLost  # noqa: PLC0415
    from progres.services.workers import Lease  # noqa: PLC0415

    settings = pg_settings.model_copy(update={"views_schema": f"views_{uuid.uuid4().hex[:10]}"})
    app = bootstrap(settings)
    models = ReadModels.open(app, settings)
    old, new = Lease(settings, models.projection, "old:1"), Lease(settings, models.projection, "new:2")
    try:
        world = build_world(app)
        world.measure()
        assert old.try_acquire()
        runner = ProjectionRunner(app, models.store, models.projection, fence=old.fence)
        runner.catch_up()
        bump(monkeypatch, "plan_dashboard", 2, "v2")
        versions = models.store.model_versions(models.projection)
        before = models.store.rows("plan_dashboards", models.projection)
        with postgres_connect(settings, autocommit=True) as admin:  # the leader's session ended
            admin.execute("SELECT pg_terminate_backend(%s)", [old.pid])
        assert new.try_acquire()
        with pytest.raises(LeadershipLost):
            runner.run_batch()
        assert models.store.model_versions(models.projection) == versions  # no rebuild begun
        assert not models.store.has_rows("plan_dashboards", building_key(models.projection, "plan_dashboard", 2))
        assert models.store.rows("plan_dashboards", models.projection) == before
        successor = ProjectionRunner(app, models.store, models.projection, fence=new.fence)
        successor.upgrade()
        assert models.plan_dashboard(world.plan)["mark"] == "v2"
    finally:
        old.close()
        new.close()
        models.close()
        app.close()
        with postgres_connect(settings, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                sql.Identifier(settings.views_schema)))


def test_what_a_runner_of_the_previous_release_projects_during_the_rebuild_is_caught_up_at_the_switch(world_models,
                                                                                                       monkeypatch):
    world, models, _ = world_models
    new = models.runner
    previous = ProjectionRunner(models.app, models.store, models.projection)
    previous.state()
    bump(monkeypatch, "member_view", registry.read_model("member_view").version + 1, "v2")
    new.upgrade_chunk = 1
    new.run_batch()  # the rebuild begins: the world's groupement is built
    assert {m["name"]: m["done"] for m in models.read_models()}["member_view"] == 1
    # A worker of the previous release leads for a while: it knows only version 1, and neither rebuilds nor
    # goes back to it; its batch writes member views where version 1 lives.
    monkeypatch.setattr(previous, "_outdated", list)
    world.measure(member_id=world.lycees[2], recorded_by=world.lycees[2], value="45")
    assert previous.run_batch() > 0
    new.upgrade()
    assert new.position == world.head()
    assert documents(models.store, "member_views", models.projection) == clean(models.app, "member_views")
    assert models.member_view(world.plan, world.lycees[2])["mark"] == "v2"


def test_an_older_version_in_the_code_does_not_rebuild(world_models, monkeypatch):
    _, models, _ = world_models
    bump(monkeypatch, "plan_dashboard", 3, "v3")
    models.runner.upgrade()
    monkeypatch.setattr(registry, "REGISTRY", tuple(dataclasses.replace(m, version=2) if m.name == "plan_dashboard"
                                                    else m for m in registry.REGISTRY))
    assert not models.runner.upgrading
    models.runner.catch_up()
    assert models.store.model_versions(models.projection)["plan_dashboard"].version == 3
