"""End to end, against a real `progres serve` process on PostgreSQL, over HTTP and WebSocket."""

from __future__ import annotations

import asyncio
import json
import threading

import httpx
import pytest
import websockets

from progres.domain.values import siret_with_key
from progres.services.bootstrap import bootstrap
from progres.services.demo import run_seed_scenario
from progres.services.read_models import ReadModels

from .conftest import REGION_ID, GraphQLRunner

pytestmark = pytest.mark.postgres

MEMBER_VIEW = "query($p: ID!, $m: ID!, $n: Int) { memberView(planId: $p, memberId: $m, minPosition: $n) { document } }"
BALANCE = "query($p: ID!, $n: Int) { planBalance(planId: $p, minPosition: $n) { final document } }"


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
        assert balance["data"]["planBalance"]["final"]
        assert balance["data"]["planBalance"]["document"] == models.plan_balance(scenario.plan, last)
        assert balance["data"]["planBalance"]["document"]["marche"]["cumulative_change_percent"] == "3.33"
        for member in scenario.lycees:
            seen = server.post(MEMBER_VIEW, {"p": scenario.plan, "m": member, "n": last},
                               actor=(runner.sirets[member], "acheteur"))
            assert "errors" not in seen, seen
            assert seen["data"]["memberView"]["document"] == models.member_view(scenario.plan, member, last)
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
                        coordonnateur_id=coordonnateur, signed_on="2021-06-01")
    runner("admit_member", groupement_id=groupement, organisation_id=lycee, on="2021-09-01")
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


def test_health_and_readiness(server):
    assert httpx.get(f"{server.url}/health").json() == {"status": "ok"}
    ready = httpx.get(f"{server.url}/ready").json()
    assert ready["status"] == "ready"
    assert ready["position"] == ready["head"] - ready["lag"]
    assert ready["lag"] <= 1000  # the readiness threshold
