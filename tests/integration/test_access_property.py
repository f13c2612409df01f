"""Property (hypothesis): whoever asks, for whatever operation, no answer carries the detailed data of a
member the caller may not see. The oracle below is written from the access rules of docs/access.md, not
from the code that applies them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from progres.domain.organisations import Organisation
from progres.domain.values import siret_with_key
from progres.graphql.context import ProgresContext, Services
from progres.graphql.schema import build_schema
from progres.services.demo import run_seed_scenario
from progres.services.policy import Actor
from progres.services.settings import Settings

ROLES = ["coordonnateur", "acheteur", "titulaire", "auditeur", "admin"]
OPERATIONS = {
    "plan": "query($p: ID!) { plan(id: $p) { axes { objectives { indicators { measures(first: 500) "
            "{ edges { node { memberId } } } } } } } }",
    "member_view": "query($p: ID!, $m: ID!) { memberView(planId: $p, memberId: $m) { memberId document } }",
    "balance": "query($p: ID!) { planBalance(planId: $p) { document } }",
    "events": "query($g: ID!) { events(filter: {groupementId: $g}, first: 1000) "
              "{ edges { node { organisationId } } } }",
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    settings_ = Settings(store="sqlite", data_dir=tmp_path_factory.mktemp("access"))
    services = Services.wire(settings_)
    scenario = run_seed_scenario(services.app)
    services.models.fresh(None)
    stranger = str(Organisation.create_id(siret_with_key("9990000000001")))
    organisations = [scenario.region, *scenario.lycees, scenario.late_lycee, scenario.titulaire, scenario.auditor,
                     stranger]
    return services, build_schema(settings_), scenario, organisations


def may_see_details_of(actor_org: str, role: str, member: str, scenario: Any) -> bool:
    """docs/access.md: the coordonnateur's buyers, the groupement's auditors and the member's own buyers;
    the platform's admins; nobody else (the seed's convention does not share members' details)."""
    members = {*scenario.lycees, scenario.late_lycee, scenario.region}
    return (role == "admin"
            or (role == "coordonnateur" and actor_org == scenario.region)
            or (role == "auditeur" and actor_org == scenario.auditor)
            or (role == "acheteur" and actor_org == member and member in members))


def members_in(operation: str, data: dict[str, Any] | None) -> set[str]:
    """The members whose detailed data an answer carries."""
    if not data:
        return set()
    if operation == "plan":
        return {e["node"]["memberId"] for a in data["plan"]["axes"] for o in a["objectives"] for i in o["indicators"]
                for e in i["measures"]["edges"] if e["node"]["memberId"]}
    if operation == "member_view":
        return {data["memberView"]["memberId"]}
    if operation == "balance":
        document = data["planBalance"]["document"]
        return set(document["members"]) | set(document["gains"]["members"])
    return {e["node"]["organisationId"] for e in data["events"]["edges"] if e["node"]["organisationId"]}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(who=st.integers(0, 11), role=st.sampled_from(ROLES), operation=st.sampled_from(sorted(OPERATIONS)),
       subject=st.integers(0, 11))
def test_no_answer_carries_details_of_a_member_the_caller_may_not_see(world, who, role, operation, subject):
    services, schema, scenario, organisations = world
    actor_org = organisations[who % len(organisations)]
    member = organisations[subject % len(organisations)]
    variables = {"p": scenario.plan, "m": member, "g": scenario.groupement}
    used = {k: v for k, v in variables.items() if f"${k}" in OPERATIONS[operation]}
    result = asyncio.run(schema.execute(OPERATIONS[operation], used, context_value=ProgresContext(
        services, Actor.parse(actor_org, role))))
    seen = members_in(operation, result.data)
    members = {*scenario.lycees, scenario.late_lycee}
    leaked = {m for m in seen & members if not may_see_details_of(actor_org, role, m, scenario)}
    assert not leaked, f"{role} of {actor_org} saw details of {leaked} through {operation}"
    if result.errors:
        assert result.errors[0].extensions["code"] in ("forbidden", "not_found"), result.errors
