"""Projection workers as their own processes (issue 18): one leader per projection through a PostgreSQL advisory
lock, standbys that take over when it dies, and fenced batches, so that the read models always end equal to a
clean rebuild, whatever moment the leader is killed (or paused) at."""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from psycopg import sql

from progres.projections.runner import FIRST_GENERATION, rebuild
from progres.projections.stores.sql import SqlStore, unpack
from progres.services.bootstrap import bootstrap, postgres_connect
from progres.services.commands import Progres
from progres.services.read_models import open_store, writer_application_name, writer_tag
from progres.services.settings import Settings
from progres.services.worker_drill import Drill, WriteLoad, leader_pid, worker_pool
from progres.services.workers import workers_of

from .conftest import REGION_SIRET

pytestmark = pytest.mark.postgres
COMPARED = ("member_views", "plan_dashboards", "plan_balances", "groupement_parties", "ledgers", "routes", "history")


@pytest.fixture
def drill_settings(postgres_ready, tmp_path) -> Iterator[Settings]:
    suffix = uuid.uuid4().hex[:10]
    settings = Settings(store="postgres", postgres_schema=f"workers_{suffix}", views_schema=f"workers_views_{suffix}",
                        data_dir=tmp_path, projection_batch_size=20, projection_max_batch_size=200)
    yield settings
    with postgres_connect(settings, autocommit=True) as connection:
        for schema in (settings.postgres_schema, settings.views_schema, f"{settings.views_schema}_clean"):
            connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def comparable(store: SqlStore, projection: str, table: str) -> list:
    rows = store.rows(table, projection)
    if table in ("member_views", "plan_dashboards", "plan_balances", "groupement_parties"):
        return [(r[1], r[2], r[5]) for r in rows]  # plan, member, document (not the batch position)
    if table == "ledgers":
        return [(r[1], unpack(r[3])) for r in rows]
    return [r[1:] for r in rows]


def assert_equal_to_a_clean_rebuild(app: Progres, settings: Settings, store: SqlStore, projection: str) -> None:
    clean = open_store(settings.model_copy(update={"views_schema": f"{settings.views_schema}_clean"}))
    try:
        rebuild(app, clean, "clean")
        for table in COMPARED:
            assert comparable(store, projection, table) == comparable(clean, "clean", table), table
    finally:
        clean.close()


def wait_until_caught_up(store: SqlStore, app: Progres, timeout: float = 60.0) -> int:
    head = app.max_notification_id() or 0
    deadline = time.monotonic() + timeout
    while store.position(FIRST_GENERATION) < head:
        assert time.monotonic() < deadline, f"the workers did not reach the head {head}"
        time.sleep(0.05)
    return head


def test_the_leader_killed_ten_times_under_writes_is_taken_over_and_the_views_equal_a_rebuild(
        drill_settings, tmp_path):
    app = bootstrap(drill_settings)
    store = open_store(drill_settings)
    load = WriteLoad(app)
    load.prepare()
    with worker_pool(drill_settings, 3, tmp_path, PROGRES_PROJECTION_BATCH_SIZE="20",
                     PROGRES_PROJECTION_MAX_BATCH_SIZE="200") as workers:
        drill = Drill(drill_settings, store, FIRST_GENERATION, workers)
        drill.wait_for_leader()
        drill.wait_registered()  # one leads, two stand by
        assert len(workers_of(drill_settings, FIRST_GENERATION)["standby"]) == 2
        load.start()
        try:
            takeovers = drill.run(kills=10)
        finally:
            load.finish()
        assert not load.errors, load.errors
        assert len(takeovers) == 10
        figures = drill.figures()
        print(f"\ntakeover after SIGKILL over {len(takeovers)} kills: median {figures['median']:.3f} s, "
              f"max {figures['max']:.3f} s")
        assert drill.positions == sorted(drill.positions), "tracking never goes back"
        head = wait_until_caught_up(store, app)
        assert max(load.acknowledged) <= head
        survivor = leader_pid(drill_settings, FIRST_GENERATION)
        assert survivor is not None
        assert survivor not in {t.killed for t in takeovers}
        drill.wait_registered()  # replacements started by the drill have had time to set their SIGTERM handler
        codes = workers.terminate_all()
    # Graceful shutdown: every survivor exits 0 on SIGTERM and says so; the killed ones died of SIGKILL.
    for pid, code in codes.items():
        killed = pid in {t.killed for t in takeovers}
        assert code == (-signal.SIGKILL if killed else 0), (pid, code, workers.logs[pid].read_text()[-2000:])
        if not killed:
            assert "stopped" in workers.logs[pid].read_text()
    assert workers_of(drill_settings, FIRST_GENERATION) == {"leader": None, "leader_since": None, "standby": []}
    assert store.position(FIRST_GENERATION) == head
    assert_equal_to_a_clean_rebuild(app, drill_settings, store, FIRST_GENERATION)
    store.close()
    app.close()


def test_a_worker_whose_sessions_are_ended_while_it_starts_retries_its_start_then_leads(drill_settings, tmp_path):
    """A new leader ends the sessions of other writers caught inside a transaction (`Lease.depose`), those of a worker
    starting among them (CI saw a worker replaced during the drill above exit 2, store_unreachable, at its start):
    the start is retried with backoff, as a running worker retries, and the worker then leads and stops cleanly."""
    bootstrap(drill_settings)
    tag = writer_tag(drill_settings.views_schema)
    ended = 0
    with worker_pool(drill_settings, 1, tmp_path) as workers:
        pid = next(iter(workers.processes))
        log = workers.logs[pid]
        with postgres_connect(drill_settings, autocommit=True) as admin:
            deadline = time.monotonic() + 60
            # Every session of the starting worker that opens a transaction is ended at once, until one was.
            while not ended and time.monotonic() < deadline and workers.alive():
                row = admin.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND starts_with(application_name, %s) AND xact_start IS NOT NULL", [tag]).fetchone()
                ended += row[0] if row else 0
        assert ended, "no session of the starting worker was seen inside a transaction"
        while "leads" not in log.read_text() and time.monotonic() < deadline and workers.alive():
            time.sleep(0.1)
        text = log.read_text()
        assert workers.alive() == [pid], text[-2000:]
        assert "nouvel essai" in text, text[-2000:]
        assert "leads" in text, text[-2000:]
        codes = workers.terminate_all()
    assert codes == {pid: 0}, log.read_text()[-2000:]


def test_a_paused_leader_loses_its_lease_and_never_writes_after_the_takeover(drill_settings, tmp_path):
    """SIGSTOP the leader: PostgreSQL ends its silent lock session after the lease (2 s), a standby takes over;
    resumed, the old leader finds its lock gone (heartbeat or the fence of its next batch) and stands by."""
    app = bootstrap(drill_settings)
    store = open_store(drill_settings)
    load = WriteLoad(app, clients=2)
    load.prepare()
    with worker_pool(drill_settings, 2, tmp_path, PROGRES_WORKER_LEASE_SECONDS="2",
                     PROGRES_PROJECTION_BATCH_SIZE="20") as workers:
        drill = Drill(drill_settings, store, FIRST_GENERATION, workers)
        paused = drill.wait_for_leader()
        load.start()
        try:
            time.sleep(1.0)
            workers.processes[paused].send_signal(signal.SIGSTOP)
            stopped_at = store.position(FIRST_GENERATION)
            successor = drill.wait_for_leader(timeout=30, other_than=paused)
            deadline = time.monotonic() + 30
            while store.position(FIRST_GENERATION) <= stopped_at + 20:
                assert time.monotonic() < deadline, (
                    f"the successor does not advance the tracking: position {store.position(FIRST_GENERATION)}, "
                    f"stopped at {stopped_at}, head {app.max_notification_id()}, acknowledged "
                    f"{len(load.acknowledged)}, errors {load.errors}\n" + workers.logs[successor].read_text()[-3000:])
                time.sleep(0.02)
            workers.processes[paused].send_signal(signal.SIGCONT)
            deadline = time.monotonic() + 30
            while "lost" not in workers.logs[paused].read_text():
                assert time.monotonic() < deadline, workers.logs[paused].read_text()[-2000:]
                time.sleep(0.05)
            time.sleep(1.0)  # both alive, writes going on: only the successor may write
        finally:
            load.finish()
        assert not load.errors, load.errors
        head = wait_until_caught_up(store, app)
        # The successor leads still, unless a starved heartbeat of its own (a loaded machine) handed over since.
        assert leader_pid(drill_settings, FIRST_GENERATION) in {successor, paused}
        assert set(workers.alive()) == {paused, successor}, "the resumed worker stands by, it does not die"
        assert workers.terminate_all() == {paused: 0, successor: 0}
    assert store.position(FIRST_GENERATION) == head
    assert_equal_to_a_clean_rebuild(app, drill_settings, store, FIRST_GENERATION)
    store.close()
    app.close()


def test_a_deposed_leader_stuck_inside_a_batch_does_not_stop_its_successor(drill_settings, tmp_path):
    """A leader paused while it sends a batch (a COPY half sent) holds the tracking row, and no server timeout
    ends a session waiting for its client's data. Played here by a session named as another worker's writer,
    holding the row inside a transaction, with no timeout: the elected worker ends it and projects to the head."""
    app = bootstrap(drill_settings)
    store = open_store(drill_settings)
    load = WriteLoad(app)
    load.prepare()
    head = app.max_notification_id()
    with store.transaction() as cur:  # the row the deposed leader had moved
        cur.execute(store.q("INSERT INTO {p}tracking (projection, position) VALUES (?, 0)"), [FIRST_GENERATION])
    stuck = postgres_connect(drill_settings, application_name=writer_application_name(
        drill_settings.views_schema, "4242@deposed"))
    stuck.execute(sql.SQL("UPDATE {}.tracking SET position = position WHERE projection = %s").format(
        sql.Identifier(drill_settings.views_schema)), [FIRST_GENERATION])  # inside a transaction, left open
    try:
        with worker_pool(drill_settings, 1, tmp_path) as workers:
            assert wait_until_caught_up(store, app, timeout=60) == head
            log = next(iter(workers.logs.values())).read_text()
            assert "deposed writer (" + writer_application_name(drill_settings.views_schema, "4242@deposed") in log
            assert workers.terminate_all() == dict.fromkeys(workers.logs, 0)
        with pytest.raises(psycopg.OperationalError):
            stuck.execute("SELECT 1")
    finally:
        stuck.close()
    assert_equal_to_a_clean_rebuild(app, drill_settings, store, FIRST_GENERATION)
    store.close()
    app.close()


MEMBER_VIEW = ("query($p: ID!, $m: ID!, $n: Int) { memberView(planId: $p, memberId: $m, minPosition: $n) { "
               "indicators { key last } } }")
PLAN = "query($p: ID!, $n: Int) { plan(id: $p, minPosition: $n) { id } }"


def ready(url: str) -> tuple[int, dict]:
    answer = httpx.get(f"{url}/ready", timeout=10)
    return answer.status_code, answer.json()


@pytest.mark.server_env(PROGRES_FOLLOWER="external", PROGRES_READ_WAIT_SECONDS="1", PROGRES_READY_MAX_LAG="0")
def test_a_server_with_external_workers_never_projects_and_is_ready_once_a_worker_caught_up(server, world_factory,
                                                                                            tmp_path):
    app = bootstrap(server.settings)
    store = open_store(server.settings)
    try:
        world = world_factory(app)
        head = app.max_notification_id()
        assert ready(server.url) == (503, {"status": "not ready", "reason": "lagging", "projection": FIRST_GENERATION,
                                           "position": 0, "head": head, "lag": head})
        asked = server.post(PLAN, {"p": world.plan, "n": head}, actor=(REGION_SIRET, "coordonnateur"))
        assert asked["errors"][0]["extensions"]["code"] == "read_models_lagging", asked
        assert store.position(FIRST_GENERATION) == 0  # the server waited, it did not project
        with worker_pool(server.settings, 1, tmp_path):
            deadline = time.monotonic() + 60
            while ready(server.url)[0] != 200:
                assert time.monotonic() < deadline, ready(server.url)
                time.sleep(0.1)
            assert ready(server.url)[1]["lag"] == 0
            written = world.measure(value="43")
            view = server.post(MEMBER_VIEW, {"p": world.plan, "m": world.lycees[0], "n": written.position},
                               actor=(REGION_SIRET, "coordonnateur"))
            indicator = next(i for i in view["data"]["memberView"]["indicators"]
                             if i["key"] == "egalim_share")
            assert indicator["last"] == "43"
    finally:
        store.close()
        app.close()
