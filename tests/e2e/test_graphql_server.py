"""End to end, against a real `progres serve` process on PostgreSQL, over HTTP and WebSocket."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time

import httpx
import pytest
import websockets
from psycopg import sql

from progres.domain.values import Period, siret_with_key
from progres.services.bootstrap import bootstrap, postgres_connect
from progres.services.demo import run_seed_scenario
from progres.services.read_models import ReadModels
from tests.conftest import ADHESION, CONVENTION
from tests.typed_views import MEMBER_VIEW_FIELDS, PLAN_BALANCE_FIELDS, balance_shape, plain, same

from .conftest import REGION_ID, GraphQLRunner

pytestmark = pytest.mark.postgres

# The whole typed view and balance (tests/typed_views.py), compared with the read models' own documents.
MEMBER_VIEW = ("query($p: ID!, $m: ID!, $n: Int) { memberView(planId: $p, memberId: $m, minPosition: $n) { "
               + MEMBER_VIEW_FIELDS + " } }")
BALANCE = "query($p: ID!, $n: Int) { planBalance(planId: $p, minPosition: $n) { " + PLAN_BALANCE_FIELDS + " } }"


def test_the_seed_scenario_driven_through_mutations_reads_back_as_the_read_models_hold_it(server):
    runner = GraphQLRunner(server)
    scenario = run_seed_scenario(None, runner)
    assert runner.count > 250
    coordonnateur = (runner.sirets[REGION_ID], "coordonnateur")
    head = server.post(f'{{ planBalance(planId: "{scenario.plan}") {{ position }} }}', actor=coordonnateur)
    assert "errors" not in head, head

    app = bootstrap(server.settings)
    models = ReadModels.open(app, server.settings)
    last = app.max_notification_id()
    try:
        balance = server.post(BALANCE, {"p": scenario.plan, "n": last}, actor=coordonnateur)
        assert "errors" not in balance, balance
        assert balance["data"]["planBalance"]["final"]
        same(balance_shape(balance["data"]["planBalance"]), models.plan_balance(scenario.plan, last), "planBalance")
        assert balance["data"]["planBalance"]["marche"]["cumulativeChangePercent"] == "3.33"
        for member in scenario.lycees:
            seen = server.post(MEMBER_VIEW, {"p": scenario.plan, "m": member, "n": last},
                               actor=(runner.sirets[member], "acheteur"))
            assert "errors" not in seen, seen
            same(plain(seen["data"]["memberView"]), models.member_view(scenario.plan, member, last), "memberView")
    finally:
        models.close()
        app.close()


SUBSCRIPTION = "subscription($p: ID!, $after: Int!) { planEvents(planId: $p, afterPosition: $after) { position type } }"


async def subscribe(url: str, headers: dict[str, str], plan: str, after: int, wanted: int) -> list[dict]:
    received: list[dict] = []
    async with websockets.connect(url.replace("http", "ws") + "/graphql", subprotocols=["graphql-transport-ws"],
                                  additional_headers=headers) as socket:
        await socket.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
            "query": SUBSCRIPTION, "variables": {"p": plan, "after": after}}}))
        while len(received) < wanted:
            message = json.loads(await asyncio.wait_for(socket.recv(), timeout=30))
            assert message["type"] == "next", message
            received.append(message["payload"]["data"]["planEvents"])
        await socket.send(json.dumps({"id": "1", "type": "complete"}))
    return received


def test_a_subscription_receives_the_events_of_mutations_made_meanwhile(server):
    runner = GraphQLRunner(server)
    coordonnateur = runner("register_organisation", siret=siret_with_key("2000537670001"), name="Région",
                           kind="collectivite")
    titulaire = runner("register_organisation", siret=siret_with_key("4190012340001"), name="Laiterie",
                       kind="supplier")
    lycee = runner("register_organisation", siret=siret_with_key("1962001230001"), name="Lycée", kind="eple")
    groupement = runner("constitute_groupement", code="GC-WS", name="G", purpose="Achats", permanent=True,
                        coordonnateur_id=coordonnateur, signed_on="2021-06-01", convention=CONVENTION)
    runner("admit_member", groupement_id=groupement, organisation_id=lycee, on="2021-09-01", decision=ADHESION,
           decided_on="2021-07-01")
    marche = runner("notify_marche", groupement_id=groupement, code="M-WS", object="BOF", cpv="15500000-3",
                    nature="fournitures", titulaire_ids=[titulaire], initial_amount="1000", duration_months=24,
                    notified_on="2022-01-01")
    plan = runner("draw_up_plan", marche_id=marche, title="Plan")
    runner("add_axis", plan_id=plan, key="egalim", title="EGalim")
    actor = (runner.sirets[coordonnateur], "coordonnateur")
    start = server.post(f'{{ planBalance(planId: "{plan}", minPosition: 1) {{ position }} }}',
                        actor=actor)["data"]["planBalance"]["position"]

    results: list[list[dict]] = []
    listener = threading.Thread(target=lambda: results.append(asyncio.run(
        subscribe(server.url, server.headers(actor), plan, start, 3))))
    listener.start()
    for n in range(3):
        runner("add_objective", plan_id=plan, key=f"o{n}", axis_key="egalim", title=f"Objectif {n}", kind="moyens")
    listener.join(timeout=60)
    assert results, "the subscription received nothing"
    assert [e["type"] for e in results[0]] == ["ProgressPlan.ObjectiveAdded"] * 3
    assert all(e["position"] > start for e in results[0])


def ready_at(server, head: int, timeout: float = 60) -> dict:
    """/ready once the read side has projected up to `head`."""
    deadline = time.monotonic() + timeout
    while True:
        answer = httpx.get(f"{server.url}/ready")
        if answer.json().get("position") == head or time.monotonic() > deadline:
            return {"http": answer.status_code, **answer.json()}
        time.sleep(0.2)


@contextlib.contextmanager
def projection_held(settings, projection: str):
    """Holds the read side's tracking row, as a long transaction would: the server's runner can read the
    log but cannot commit what it projected until the block ends."""
    with postgres_connect(settings) as connection:
        connection.execute(sql.SQL("SELECT position FROM {}.tracking WHERE projection = %s FOR UPDATE").format(
            sql.Identifier(settings.views_schema)), [projection])
        yield
        connection.rollback()


def test_readiness_reports_a_lagging_read_side_and_then_a_caught_up_one(server, world_factory):
    assert httpx.get(f"{server.url}/health").json() == {"status": "ok"}
    app = bootstrap(server.settings)
    try:
        world = world_factory(app)
        # Issue 14: a measure's period is its indicator's calendar period, no longer any day: monthly indicators
        # give enough measures (2 × 24 months × 3 lycées) to put the read side more than ready_max_lag behind.
        monthly = ("monthly_a", "monthly_b")
        for key in monthly:
            app.define_indicator(world.plan, {"key": key, "objective_key": "criteres", "name": key,
                                              "kind": "quantitative", "unit": "%", "baseline": 20, "target": 50,
                                              "direction": "increase", "periodicity": "monthly", "scope": "member",
                                              "aggregation": "mean"})
        head = app.max_notification_id()
        caught_up = ready_at(server, head)
        projection = caught_up["projection"]
        assert caught_up == {"http": 200, "status": "ready", "projection": projection, "position": head,
                             "head": head, "lag": 0}
        months = [Period.month(2022 + n // 12, n % 12 + 1) for n in range(24)]
        rows = [{"indicator_key": key, "member_id": member, "period_start": month.start.isoformat(),
                 "period_end": month.end.isoformat(), "value": 30}
                for key in monthly for month in months for member in world.lycees]
        with projection_held(server.settings, projection):
            app.import_measures(world.plan, rows, world.region, "2024-01-02", "fichier d'achats")
            later = app.max_notification_id()
            assert later - head > server.settings.ready_max_lag
            time.sleep(1)  # the runner has been notified and is waiting on the held row
            answer = httpx.get(f"{server.url}/ready")
            assert (answer.status_code, answer.json()) == (503, {
                "status": "not ready", "reason": "lagging", "projection": projection, "position": head,
                "head": later, "lag": later - head})
        assert ready_at(server, later) == {"http": 200, "status": "ready", "projection": projection,
                                           "position": later, "head": later, "lag": 0}
    finally:
        app.close()
