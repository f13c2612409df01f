"""The GraphQL API in process (real schema, real stores): contract, limits, typed errors, SQL bounds, access."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLEnumType

from progres.domain.values import siret_with_key
from progres.graphql.context import ProgresContext
from progres.graphql.mutations import COMMANDS, camel
from progres.graphql.schema import build_schema, schema
from progres.services.demo import run_seed_scenario
from progres.services.policy import Actor
from progres.services.workload import build_region
from tests.graphql_api import InProcessApi
from tests.typed_views import MEMBER_VIEW

REPO = Path(__file__).resolve().parents[2]


class Api(InProcessApi):
    run = InProcessApi.answer  # these tests read the whole answer, errors included


@pytest.fixture
def api(sqlite_settings) -> Api:
    return Api(sqlite_settings)


@pytest.fixture
def seeded(api) -> tuple[Api, Any]:
    scenario = run_seed_scenario(api.app)
    api.models.fresh(None)
    return api, scenario


def test_the_checked_in_sdl_is_the_schema_of_the_code():
    checked_in = (REPO / "graphql" / "schema.graphql").read_text()
    assert checked_in == str(schema) + "\n", "the schema changed: run scripts/export-schema and commit the SDL"


def test_every_type_and_field_of_ours_is_described():
    from graphql import GraphQLInputObjectType, GraphQLObjectType  # noqa: PLC0415

    generic = ("Query", "Mutation", "Subscription")
    for name, kind in schema._schema.type_map.items():
        if name.startswith("__") or not isinstance(kind, GraphQLObjectType | GraphQLInputObjectType):
            continue
        if name not in generic and "Connection" not in name and not name.endswith("Edge"):
            assert kind.description, f"type {name} has no description"
        for field_name, field in kind.fields.items():
            assert field.description, f"{name}.{field_name} has no description"


def test_over_deep_queries_are_refused(seeded):
    api, scenario = seeded
    deep = (f'{{ plan(id: "{scenario.plan}") {{ axes {{ objectives {{ indicators {{ measures {{ edges {{ node '
            '{ source } } } } } } } }')
    ok = api.run(deep)
    assert ok.errors is None, ok.errors
    settings = api.services.settings.model_copy(update={"graphql_max_depth": 4})
    result = asyncio.run(build_schema(settings).execute(deep, context_value=ProgresContext(
        api.services, Actor.parse("platform", "admin"))))
    assert result.errors
    assert "exceeds maximum operation depth" in result.errors[0].message


def test_over_long_queries_are_refused(api):
    query = "{ " + " ".join(f"a{i}: groupements {{ id }}" for i in range(15)) + " }"
    long_query = query.replace("{ id }", "{ id code name purpose coordonnateurId planIds members { joinedOn } }") * 1
    result = api.run(long_query + " " * 10 + "#" + "x" * 10)
    settings = api.services.settings.model_copy(update={"graphql_max_tokens": 100})
    refused = asyncio.run(build_schema(settings).execute(long_query, context_value=ProgresContext(
        api.services, Actor.parse("platform", "admin"))))
    assert result.errors is None
    assert refused.errors
    assert "token" in refused.errors[0].message.lower()


def test_alias_bombs_are_refused(api):
    bomb = "{ " + " ".join(f"a{i}: groupements {{ id }}" for i in range(100)) + " }"
    result = api.run(bomb)
    assert result.errors
    assert "aliases" in result.errors[0].message.lower()


def test_a_request_without_an_actor_is_refused_with_a_code(api):
    result = api.run("{ groupements { id } }", actor=None)
    assert result.errors[0].extensions["code"] == "unauthenticated"


def malformed_arguments(field) -> dict[str, Any]:
    """Every argument given a value of the right GraphQL type but wrong for the domain."""
    values = {"ID": "not-an-id", "String": "", "Int": -1, "Boolean": False, "Date": "2001-01-01",
              "JSON": {"bad": True}, "DocumentInput": {"sha256": "x", "name": "", "mediaType": "?"},
              "Decimal": "beaucoup", "Float": -1.0}
    arguments = {}
    for name, argument in field.args.items():
        kind = str(argument.type).strip("!")
        if kind.startswith("["):
            arguments[name] = [malformed(values, kind.strip("[]!"))]
        else:
            arguments[name] = malformed(values, kind)
    arguments.pop("commandId", None)
    return arguments


def malformed(values: dict[str, Any], kind: str) -> Any:
    """The typed inputs (issue 13) and enums: their required fields, each malformed, and an enum's first value."""
    if kind in values:
        return values[kind]
    named = schema._schema.type_map[kind]
    if isinstance(named, GraphQLEnumType):
        return next(iter(named.values))
    return {name: [malformed(values, str(f.type).strip("[]!"))] if str(f.type).strip("!").startswith("[")
            else malformed(values, str(f.type).strip("!"))
            for name, f in named.fields.items() if str(f.type).endswith("!")}


@pytest.mark.parametrize("command", COMMANDS)
def test_malformed_input_to_any_mutation_gets_a_typed_error_and_writes_nothing(seeded, command):
    api, _ = seeded
    name = camel(command)
    field = schema._schema.mutation_type.fields[name]
    arguments = malformed_arguments(field)
    head = api.app.max_notification_id()
    definitions = ", ".join(f"${k}: {field.args[k].type}" for k in arguments)
    passed = ", ".join(f"{k}: ${k}" for k in arguments)
    result = api.run(f"mutation({definitions}) {{ {name}({passed}) {{ ok error {{ code field message }} }} }}",
                     arguments)
    assert result.errors is None, result.errors
    payload = result.data[name]
    assert payload["ok"] is False
    assert payload["error"]["code"]
    assert payload["error"]["message"]
    assert api.app.max_notification_id() == head, "the log head must not move"


def test_a_member_view_and_a_plan_tree_cost_a_bounded_number_of_sql_statements(api, monkeypatch):
    from progres.services import read_models  # noqa: PLC0415

    monkeypatch.setattr(read_models, "ACTIVE_RECHECK_SECONDS", 3600)  # no once-a-second check mid-count
    counts = {}
    for members in (30, 300):
        _region, lycees, plan = build_region(api.app, members=members, indicators=12, months=2,
                                            code=f"GC-{members}")
        api.models.fresh(None)
        api.models.store.statements = 0
        view = api.run(MEMBER_VIEW.replace("$plan", "$p").replace("$member", "$m"), {"p": plan, "m": lycees[-1]})
        assert view.errors is None, view.errors
        member_view_statements = api.models.store.statements
        api.models.store.statements = 0
        tree = api.run("query($p: ID!) { plan(id: $p) { axes { objectives { indicators { key measures(first: 500) "
                       "{ totalCount edges { node { value } } } } } } actions { key } reviews { id } } }", {"p": plan})
        assert tree.errors is None, tree.errors
        counts[members] = (member_view_statements, api.models.store.statements)
    print("SQL statements (member view, plan tree) for 30 and 300 members:", counts)
    assert counts[30] == counts[300], "the number of statements must not grow with the plan"
    assert counts[300][0] <= 9  # the document's 8, and the groupement's ledger for the typed avenants' marché
    assert counts[300][1] <= 8


def test_a_titulaire_sees_the_plan_but_not_a_members_view(seeded):
    api, scenario = seeded
    titulaire = f"{scenario.titulaire}:titulaire"
    plan = api.run("query($p: ID!) { plan(id: $p) { title } }", {"p": scenario.plan}, actor=titulaire)
    assert plan.errors is None
    view = api.run("query($p: ID!, $m: ID!) { memberView(planId: $p, memberId: $m) { position } }",
                   {"p": scenario.plan, "m": scenario.lycees[0]}, actor=titulaire)
    assert view.errors[0].extensions["code"] == "forbidden"


def test_an_organisation_outside_the_groupement_cannot_tell_a_plan_exists(seeded):
    api, scenario = seeded
    stranger = f"{siret_with_key('9990000000001')}:acheteur"
    hidden = api.run("query($p: ID!) { plan(id: $p) { title } }", {"p": scenario.plan}, actor=stranger)
    missing = api.run("query($p: ID!) { plan(id: $p) { title } }",
                      {"p": "00000000-0000-0000-0000-000000000000"}, actor=stranger)
    assert hidden.errors[0].message == missing.errors[0].message.replace(
        "00000000-0000-0000-0000-000000000000", scenario.plan)
    view = api.run("query($p: ID!, $m: ID!) { memberView(planId: $p, memberId: $m) { active } }",
                   {"p": scenario.plan, "m": scenario.lycees[0]}, actor=stranger)
    # The field at fault in the API's own names (the argument the client wrote), in the code and the message.
    assert view.errors[0].extensions == {"code": "not_found", "field": "planId"}
    assert view.errors[0].message.startswith("planId: plan introuvable")


def test_a_command_naming_another_groupements_plan_answers_as_for_a_plan_that_does_not_exist(seeded):
    """Every reference of a command belongs to the caller's groupement or is not found: a lycée of no groupement,
    or the coordonnateur of another, cannot tell a foreign plan (or proposition) from an unknown one; a party
    without the right (a member buyer adding an axis to its own plan) is still told `forbidden`."""
    api, scenario = seeded
    head = api.app.max_notification_id()
    missing_id = "00000000-0000-0000-0000-000000000000"
    add_axis = 'mutation($p: ID!) { addAxis(planId: $p, key: "x", title: "X") { ok error { code field message } } }'
    withdraw = ('mutation($p: ID!, $b: ID!) { withdrawProposal(proposalId: $p, by: $b, on: "2024-01-01", '
                'reason: "r") { ok error { code field message } } }')
    stranger_id = siret_with_key("9990000000001")
    for actor in (f"{stranger_id}:acheteur", f"{stranger_id}:coordonnateur"):
        hidden = api.run(add_axis, {"p": scenario.plan}, actor=actor).data["addAxis"]["error"]
        missing = api.run(add_axis, {"p": missing_id}, actor=actor).data["addAxis"]["error"]
        assert hidden["code"] == missing["code"] == "not_found"
        assert hidden["field"] == missing["field"]
        assert hidden["message"].replace(scenario.plan, "ID") == missing["message"].replace(missing_id, "ID")
        gone = api.run(withdraw, {"p": missing_id, "b": stranger_id}, actor=actor).data["withdrawProposal"]["error"]
        assert gone["code"] == "not_found"
    member = f"{scenario.members[0]}:acheteur"
    refused = api.run(add_axis, {"p": scenario.plan}, actor=member).data["addAxis"]["error"]
    assert refused["code"] == "forbidden"
    assert api.app.max_notification_id() == head


def test_a_member_admitted_just_before_reads_its_view_at_the_position_of_its_admission(seeded):
    """memberView(minPosition) waits for the position before the policy reads the parties, as `plan` does: the
    admission the caller just wrote decides what it may read (it was refused as unknown while the views lagged)."""
    api, scenario = seeded
    siret = siret_with_key("1930000000001")
    newcomer = api.app.register_organisation(siret=siret, name="Lycée nouveau", kind="eple").id
    admitted = api.app.admit_member(groupement_id=scenario.groupement, organisation_id=newcomer, on="2023-09-01",
                                    decision={"sha256": "a" * 64, "name": "deliberation.pdf",
                                              "media_type": "application/pdf"}, decided_on="2023-08-30")
    query = "query($p: ID!, $m: ID!, $at: Int) { memberView(planId: $p, memberId: $m, minPosition: $at) { active } }"
    answer = api.run(query, {"p": scenario.plan, "m": newcomer, "at": admitted.position}, actor=f"{newcomer}:acheteur")
    assert answer.errors is None, answer.errors
    assert answer.data["memberView"]["active"] is True


def test_an_auditor_replays_a_plan_through_graphql_and_a_member_may_not(seeded):
    api, scenario = seeded
    query = "query($p: ID!, $a: String) { replay(planId: $p, first: 500, after: $a) { edges { node { position type " \
            "planState { closed } } } pageInfo { hasNextPage endCursor } } }"
    steps = api.run(query, {"p": scenario.plan}, actor=f"{scenario.auditor}:auditeur")
    assert steps.errors is None, steps.errors
    nodes = [e["node"] for e in steps.data["replay"]["edges"]]
    assert [n["position"] for n in nodes] == sorted(n["position"] for n in nodes)
    assert nodes[-1]["type"] == "Marche.Closed"
    assert nodes[-1]["planState"]["closed"]
    denied = api.run(query, {"p": scenario.plan}, actor=f"{scenario.lycees[0]}:acheteur")
    assert denied.errors[0].extensions["code"] == "forbidden"
