"""Faults (issue 9, defect 5): every backend of the server's database is terminated, twice, under a small write
load. The server's projection follower reconnects by itself, the read models are back at the head within 5 s,
and /ready said "not ready" meanwhile. The server gets a database of its own, so that terminating "every
backend" touches nothing but this test."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import psycopg
import pytest
from psycopg import sql

from progres.services.bootstrap import bootstrap, postgres_connect
from progres.services.serving import served
from progres.services.settings import Settings

from .conftest import Server
from .tenants import tenant

pytestmark = pytest.mark.postgres
REQUIRE_POSTGRES = os.environ.get("PROGRES_REQUIRE_POSTGRES") == "1"

TERMINATE_ALL = ("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                 "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'")


@pytest.fixture
def own_database_server(postgres_ready, tmp_path) -> Iterator[Server]:
    name = f"progres_fault_{uuid.uuid4().hex[:10]}"
    admin = Settings(store="postgres")
    try:
        with postgres_connect(admin, autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.errors.InsufficientPrivilege:
        message = "the PostgreSQL role may not create databases: run deploy/postgres/ensure.sh as root"
        if REQUIRE_POSTGRES:
            pytest.fail(message)
        pytest.skip(message)
    settings = Settings(store="postgres", postgres_dbname=name, data_dir=tmp_path)
    env = {**os.environ, "PROGRES_STORE": "postgres", "PROGRES_POSTGRES_DBNAME": name,
           "PROGRES_ENVIRONMENT": "development", "PROGRES_DATA_DIR": str(tmp_path)}
    log = (tmp_path / "server.log").open("w")
    try:
        with served(env, log=log) as url:
            yield Server(url, settings)
    finally:
        with postgres_connect(admin, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        log.close()


@dataclass
class Probe:
    """Polls /ready every 10 ms: (time, HTTP status, lag or None)."""

    url: str
    seen: list[tuple[float, int, int | None]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(timeout=5) as client:
            while not self.stop.is_set():
                try:
                    response = client.get(f"{self.url}/ready")
                    self.seen.append((time.monotonic(), response.status_code, response.json().get("lag")))
                except httpx.HTTPError:
                    self.seen.append((time.monotonic(), 0, None))
                time.sleep(0.01)


@dataclass
class Load:
    """A small write load: one coordonnateur adds an axis every 50 ms; keeps the keys acknowledged."""

    server: Server
    plan: str
    actor: tuple[str, str]
    acknowledged: list[str] = field(default_factory=list)
    failed: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        query = ("mutation($p: ID!, $k: String!) { addAxis(planId: $p, key: $k, title: \"Axe\") "
                 "{ ok error { code } } }")
        number = 0
        while not self.stop.is_set():
            number += 1
            key = f"axe-{number}"
            try:
                answer = self.server.post(query, {"p": self.plan, "k": key}, actor=self.actor)
                if answer.get("data") and answer["data"]["addAxis"]["ok"]:
                    self.acknowledged.append(key)
                else:
                    self.failed += 1
            except (httpx.HTTPError, ValueError):
                self.failed += 1
            time.sleep(0.05)


def test_the_follower_recovers_by_itself_when_every_backend_is_terminated(own_database_server):
    server = own_database_server
    app = bootstrap(server.settings)
    group = tenant(app, 6)
    # Several probes: one whose request met a dead connection waits for the retry; the others keep looking.
    probes = [Probe(server.url) for _ in range(3)]
    load = Load(server, group.plan, group.coordinator)
    threads = [threading.Thread(target=p.run) for p in probes] + [threading.Thread(target=load.run)]
    for thread in threads:
        thread.start()
    kills: list[tuple[float, int]] = []
    try:
        for _ in range(2):
            time.sleep(1.5)
            with postgres_connect(server.settings, autocommit=True) as connection:
                killed_at = time.monotonic()
                terminated = connection.execute(TERMINATE_ALL).fetchone()[0]
            kills.append((killed_at, terminated))
        time.sleep(5.5)
    finally:
        load.stop.set()
        for probe in probes:
            probe.stop.set()
        for thread in threads:
            thread.join(timeout=30)

    for number, (killed_at, terminated) in enumerate(kills):
        assert terminated >= 2, f"kill {number}: only {terminated} backends to terminate"
        seen = sorted(sample for probe in probes for sample in probe.seen)
        after = [(t, status, lag) for t, status, lag in seen if t >= killed_at]
        # pg_terminate_backend only signals: the server notices within milliseconds, then says it is not ready.
        down = next((t for t, status, _ in after if status == 503), None)
        said = (server.settings.data_dir / "server.log").read_text()[-1500:]
        assert down is not None, f"kill {number}: /ready never said not ready: {after[:40]} {said}"
        assert down - killed_at < 2.0, f"kill {number}: /ready said not ready too late: {after[:40]} {said}"
        recovered = next((t for t, status, lag in after if t > down and status == 200 and lag == 0), None)
        assert recovered is not None, f'kill {number}: lag not back to 0 within 5 s ({after[-3:]})'
        assert recovered - killed_at < 5.0, f'kill {number}: lag not back to 0 within 5 s ({after[-3:]})'
    assert len(load.acknowledged) >= 20, (len(load.acknowledged), load.failed)

    # Every acknowledged write is in the log, and the read models served by the server show it.
    axes = app.plan(group.plan).axes
    assert set(load.acknowledged) <= set(axes)
    head = app.max_notification_id()
    plan = server.post("query($p: ID!, $n: Int) { plan(id: $p, minPosition: $n) { axes { key } } }",
                       {"p": group.plan, "n": head}, actor=group.coordinator)
    assert "errors" not in plan, plan
    assert set(load.acknowledged) <= {a["key"] for a in plan["data"]["plan"]["axes"]}
    ready = httpx.get(f"{server.url}/ready", timeout=5)
    assert ready.status_code == 200, ready.text
    assert ready.json()['lag'] == 0, ready.text
    said = (server.settings.data_dir / "server.log").read_text()
    assert said.count('projection follower failed') >= 2, said[-2000:]
    assert 'projection follower recovered' in said, said[-2000:]
    app.close()
