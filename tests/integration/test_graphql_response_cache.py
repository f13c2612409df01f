"""The answers of `memberView` and `planBalance` kept per process (graphql/loaders.py `ResponseCache`): an answer
comes back only to the same operation, variables and caller, and only while the read models have not moved; what a
write changes is seen by the next read, and another caller never gets an answer it could not read itself."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from progres.graphql.context import ProgresContext, Services
from progres.graphql.schema import build_schema
from progres.services.policy import Actor
from progres.services.settings import Settings
from progres.services.workload import import_months, setup_region

VIEW = ("query($p: ID!, $m: ID!) { memberView(planId: $p, memberId: $m) { position "
        "indicators { key observations(last: 12) { totalCount edges { node { periodEnd value } } } } } }")
BALANCE = ("query($p: ID!) { planBalance(planId: $p) { position "
           "members(first: 20) { totalCount edges { node { memberId } } } } }")


@pytest.fixture
def region(tmp_path):
    settings = Settings(store="sqlite", data_dir=tmp_path)
    services = Services.wire(settings)
    region, lycees, plan = setup_region(services.app, 2, 2, 3)
    months = import_months(services.app, plan, region, lycees, 2, 3)
    next(months)
    next(months)  # two months of three imported
    services.models.fresh(None)
    services.models.followed = True  # as in a server, whose follower keeps the views (here: fresh() below)
    schema = build_schema(settings)

    def run(query: str, variables: dict[str, Any], organisation: str, role: str) -> Any:
        return asyncio.run(schema.execute(query, variables, context_value=ProgresContext(
            services, Actor.parse(organisation, role))))

    yield services, run, region, lycees, plan, months
    services.models.close()
    services.app.close()


def test_an_answer_is_kept_and_given_again_while_the_views_stay(region):
    services, run, _, lycees, plan, _ = region
    first = run(VIEW, {"p": plan, "m": lycees[0]}, lycees[0], "acheteur")
    assert first.errors is None
    assert len(services.responses) == 1
    kept = next(iter(services.responses.values()))
    again = run(VIEW, {"p": plan, "m": lycees[0]}, lycees[0], "acheteur")
    assert again.data == first.data
    assert next(iter(services.responses.values())) is kept  # answered from the entry, not computed and kept anew
    counts = [i["observations"]["totalCount"] for i in again.data["memberView"]["indicators"]]
    assert counts == [2, 2]


def test_a_write_is_seen_by_the_next_read(region):
    services, run, region_id, lycees, plan, months = region
    before = run(VIEW, {"p": plan, "m": lycees[0]}, lycees[0], "acheteur").data["memberView"]
    balance = run(BALANCE, {"p": plan}, region_id, "coordonnateur").data["planBalance"]
    next(months)  # the third month
    services.models.fresh(None)
    after = run(VIEW, {"p": plan, "m": lycees[0]}, lycees[0], "acheteur").data["memberView"]
    assert after["position"] > before["position"]
    assert [i["observations"]["totalCount"] for i in after["indicators"]] == [3, 3]
    assert run(BALANCE, {"p": plan}, region_id, "coordonnateur").data["planBalance"]["position"] > balance["position"]


def test_another_caller_never_gets_an_answer_it_could_not_read(region):
    services, run, region_id, lycees, plan, _ = region
    assert run(VIEW, {"p": plan, "m": lycees[0]}, lycees[0], "acheteur").errors is None
    refused = run(VIEW, {"p": plan, "m": lycees[0]}, lycees[1], "acheteur")  # another lycée, same operation
    assert refused.data is None
    assert refused.errors[0].extensions["code"] in {"not_found", "forbidden"}
    assert len(services.responses) == 1  # a refusal is not kept
    coordinator = run(BALANCE, {"p": plan}, region_id, "coordonnateur").data["planBalance"]["members"]
    member = run(BALANCE, {"p": plan}, lycees[1], "acheteur").data["planBalance"]["members"]
    assert coordinator["totalCount"] == 2
    assert [e["node"]["memberId"] for e in member["edges"]] == [lycees[1]]  # its own breakdown only


def test_reads_of_another_moment_are_not_kept(region):
    services, run, region_id, _, plan, _ = region
    at = run(BALANCE.replace("planBalance(planId: $p)", "planBalance(planId: $p, position: 5)"), {"p": plan},
             region_id, "coordonnateur")
    assert at.errors is None
    assert len(services.responses) == 0


def test_the_same_question_asked_at_once_is_computed_once_and_another_caller_still_refused(region):
    services, _, _, lycees, plan, _ = region
    schema = build_schema(services.settings)

    async def together() -> list[Any]:
        def ask(organisation: str) -> Any:
            return schema.execute(VIEW, {"p": plan, "m": lycees[0]},
                                  context_value=ProgresContext(services, Actor.parse(organisation, "acheteur")))
        return await asyncio.gather(*[ask(lycees[0]) for _ in range(6)], ask(lycees[1]))

    *answers, other = asyncio.run(together())
    assert [a.errors for a in answers] == [None] * 6
    assert all(a.data == answers[0].data for a in answers)
    assert services.answers.computed == 2  # the lycée's view once, and the other lycée's refusal
    # The five others waited for it (or, reaching the cache after it was kept, read it there).
    assert services.answers.shared + services.answers.kept == 5
    assert other.data is None
    assert other.errors[0].extensions["code"] in {"not_found", "forbidden"}
    assert len(services.responses) == 1
