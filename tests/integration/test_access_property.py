"""Property (hypothesis): whoever asks, for whatever operation, an answer carries the detailed data of
exactly the members the caller may see: none it may not see, and all it may (a policy that denies
everything fails as surely as one that leaks). The oracle below is written from the access rules of
docs/access.md, not from the code that applies them; what exists is what an admin is answered."""

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
    "member_view": "query($p: ID!, $m: ID!) { memberView(planId: $p, memberId: $m) { memberId standing { party } "
                   "indicators { key observations(first: 500) { totalCount } } } }",
    "balance": "query($p: ID!) { planBalance(planId: $p) { members(first: 500) { edges { node { memberId } } } "
               "gains { members(first: 500) { edges { node { memberId } } } } } }",
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
    return services, build_schema(settings_), scenario, organisations, {}


def ask(world: Any, operation: str, actor_org: str, role: str, member: str) -> Any:
    services, schema, scenario, _, _ = world
    variables = {"p": scenario.plan, "m": member, "g": scenario.groupement}
    used = {k: v for k, v in variables.items() if f"${k}" in OPERATIONS[operation]}
    return asyncio.run(schema.execute(OPERATIONS[operation], used, context_value=ProgresContext(
        services, Actor.parse(actor_org, role))))


def existing(world: Any, operation: str, member: str) -> tuple[set[str], bool]:
    """The members whose details the operation's full answer carries (as an admin is answered), and
    whether that answer is an error; cached per operation and subject."""
    cache = world[4]
    if (operation, member) not in cache:
        answer = ask(world, operation, "platform", "admin", member)
        cache[operation, member] = (members_in(operation, answer.data), bool(answer.errors))
    return cache[operation, member]


def may_read(actor_org: str, role: str, operation: str, member: str, scenario: Any) -> bool:
    """docs/access.md: the plan and its aggregates are read by the groupement's parties (its members'
    buyers, the titulaire, its auditors), raw events by the coordonnateur and the auditors only, a
    member view by those who may see that member's details."""
    if operation == "member_view":
        return may_see_details_of(actor_org, role, member, scenario)
    whole_groupement = (role == "admin" or (role == "coordonnateur" and actor_org == scenario.region)
                        or (role == "auditeur" and actor_org == scenario.auditor))
    if operation == "events":
        return whole_groupement
    members = {*scenario.lycees, scenario.late_lycee, scenario.region}
    return (whole_groupement or (role == "acheteur" and actor_org in members)
            or (role == "titulaire" and actor_org == scenario.titulaire))


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
        balance = data["planBalance"]
        return ({e["node"]["memberId"] for e in balance["members"]["edges"]}
                | {e["node"]["memberId"] for e in balance["gains"]["members"]["edges"]})
    return {e["node"]["organisationId"] for e in data["events"]["edges"] if e["node"]["organisationId"]}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(who=st.integers(0, 11), role=st.sampled_from(ROLES), operation=st.sampled_from(sorted(OPERATIONS)),
       subject=st.integers(0, 11))
def test_an_answer_carries_the_details_of_exactly_the_members_the_caller_may_see(world, who, role, operation,
                                                                                 subject):
    _, _, scenario, organisations, _ = world
    actor_org = organisations[who % len(organisations)]
    member = organisations[subject % len(organisations)]
    result = ask(world, operation, actor_org, role, member)
    seen = members_in(operation, result.data)
    members = {*scenario.lycees, scenario.late_lycee}
    leaked = {m for m in seen & members if not may_see_details_of(actor_org, role, m, scenario)}
    assert not leaked, f"{role} of {actor_org} saw details of {leaked} through {operation}"
    if result.errors:
        assert result.errors[0].extensions["code"] in ("forbidden", "not_found"), result.errors
    everything, failed = existing(world, operation, member)
    if not may_read(actor_org, role, operation, member, scenario) or failed:
        assert seen == set()
        return
    assert result.errors is None, f"{role} of {actor_org} may read {operation}: {result.errors}"
    visible = {m for m in everything & members if may_see_details_of(actor_org, role, m, scenario)}
    assert seen & members == visible, f"{role} of {actor_org} was denied details of {visible - seen} ({operation})"


def test_what_exists_is_every_members_details(world):
    """The reference answers are not empty: the property above compares against real data."""
    _, _, scenario, _, _ = world
    members = {*scenario.lycees, scenario.late_lycee}
    for operation in ("plan", "balance"):
        assert existing(world, operation, scenario.lycees[0])[0] >= members, operation
    assert existing(world, "member_view", scenario.lycees[0]) == ({scenario.lycees[0]}, False)


def test_the_coordonnateur_sees_every_members_details_and_a_member_its_own_only(world):
    _, _, scenario, _, _ = world
    members = {*scenario.lycees, scenario.late_lycee}
    for member in members:
        view = ask(world, "member_view", scenario.region, "coordonnateur", member)
        assert view.errors is None, view.errors
        assert view.data["memberView"]["memberId"] == member
    for operation in ("plan", "balance", "events"):
        answer = ask(world, operation, scenario.region, "coordonnateur", scenario.lycees[0])
        assert answer.errors is None, answer.errors
        assert members_in(operation, answer.data) >= members, operation
    own, other = scenario.lycees[0], scenario.lycees[1]
    mine = ask(world, "member_view", own, "acheteur", own)
    assert mine.errors is None, mine.errors
    assert mine.data["memberView"]["memberId"] == own
    refused = ask(world, "member_view", own, "acheteur", other)
    assert refused.errors[0].extensions["code"] in ("forbidden", "not_found")
    for operation in ("plan", "balance"):
        answer = ask(world, operation, own, "acheteur", own)
        assert answer.errors is None, answer.errors
        assert members_in(operation, answer.data) & members == {own}, operation
    titulaire = ask(world, "balance", scenario.titulaire, "titulaire", own)
    assert titulaire.errors is None, titulaire.errors
    assert members_in("balance", titulaire.data) & members == set()
