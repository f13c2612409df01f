"""Global ids, object references and Relay connections over the seed scenario beside a foreign groupement
(real schema, real stores): every object with an identity comes back from `node(id:)` as itself; an object of
a groupement the caller may not read answers exactly as an id that does not exist; pages run forwards and
backwards with a full `pageInfo` and the count of the whole list; bad page arguments get their stable codes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from psycopg import sql

from progres.domain.organisations import Organisation
from progres.domain.values import siret_with_key
from progres.graphql.context import ProgresContext
from progres.graphql.identity import global_id, parse_global_id
from progres.services.bootstrap import postgres_connect
from progres.services.demo import run_seed_scenario
from progres.services.policy import Actor
from progres.services.settings import Settings
from tests.e2e.tenants import tenant
from tests.graphql_api import InProcessApi

Api = InProcessApi


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[tuple[Api, Any, Any]]:
    api = Api(Settings(store="sqlite", data_dir=tmp_path_factory.mktemp("nodes")))
    scenario = run_seed_scenario(api.services.app)
    foreign = tenant(api.services.app, 7, with_accepted_proposal=True)
    api.services.models.fresh(None)
    yield api, scenario, foreign
    api.services.app.close()


TREE = """query($p: ID!) { plan(id: $p) { nodeId id
  axes { nodeId key objectives { nodeId key indicators { nodeId key measures(first: 500) { edges { node {
    nodeId id } } } } } }
  allActions(first: 500) { edges { node { nodeId key } } }
  proposals(first: 500) { edges { node { nodeId id } } }
  allReviews(first: 500) { edges { node { nodeId id decisionsTaken(first: 500) { edges { node {
    nodeId reviewId proposalId } } } } } }
  marche { nodeId id allAvenants(first: 500) { edges { node { nodeId number } } } }
  groupement { nodeId id } } }"""


def nodes_of(connection: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in connection["edges"]]


def every_node(api: Api, plan_id: str, actor: str = "platform:admin") -> dict[str, list[dict[str, Any]]]:
    """Each object with an identity that the plan's tree shows its caller, by type."""
    plan = api.run(TREE, {"p": plan_id}, actor)["plan"]
    axes = plan["axes"]
    objectives = [o for a in axes for o in a["objectives"]]
    indicators = [i for o in objectives for i in o["indicators"]]
    reviews = nodes_of(plan["allReviews"])
    return {
        "Plan": [plan], "Axis": axes, "Objective": objectives, "Indicator": indicators,
        "Measure": [m for i in indicators for m in nodes_of(i["measures"])],
        "Action": nodes_of(plan["allActions"]), "Proposal": nodes_of(plan["proposals"]), "Review": reviews,
        "Decision": [d for r in reviews for d in nodes_of(r["decisionsTaken"])],
        "Marche": [plan["marche"]], "Avenant": nodes_of(plan["marche"]["allAvenants"]),
        "Groupement": [plan["groupement"]],
    }


NODE = """query($id: ID!) { node(id: $id) { __typename nodeId
  ... on Plan { id } ... on Groupement { id } ... on Marche { id } ... on Measure { id } ... on Proposal { id }
  ... on Review { id } ... on Organisation { id } ... on Axis { key } ... on Objective { key }
  ... on Indicator { key } ... on Action { key } ... on Avenant { number } ... on Decision { reviewId proposalId }
} }"""


def test_every_object_with_an_identity_comes_back_from_node_as_itself(world):
    api, scenario, _ = world
    found = every_node(api, scenario.plan)
    organisations = nodes_of(api.run("{ organisations(first: 500) { edges { node { nodeId id } } } }")
                             ["organisations"])
    found["Organisation"] = organisations
    assert all(found.values()), {kind: len(items) for kind, items in found.items()}
    for kind, items in found.items():
        for item in items:
            assert parse_global_id(item["nodeId"])[0] == kind
            node = api.run(NODE, {"id": item["nodeId"]})["node"]
            own = {k: v for k, v in item.items() if not isinstance(v, dict | list)}  # its identity, not its tree
            assert node == {"__typename": kind, **own}, (kind, item["nodeId"])
    # nodes(ids:) answers in the order asked, the same objects.
    ids = [items[0]["nodeId"] for items in found.values()]
    answered = api.run("query($ids: [ID!]!) { nodes(ids: $ids) { __typename nodeId } }", {"ids": ids})["nodes"]
    assert [n["nodeId"] for n in answered] == ids
    assert [n["__typename"] for n in answered] == list(found)


def test_a_global_id_encodes_type_and_domain_id_and_is_stable(world):
    api, scenario, _ = world
    plan = api.run("query($p: ID!) { plan(id: $p) { nodeId id } }", {"p": scenario.plan})["plan"]
    assert plan["nodeId"] == global_id("Plan", scenario.plan) != plan["id"] == scenario.plan
    again = api.run("query($p: ID!) { plan(id: $p) { nodeId } }", {"p": scenario.plan})["plan"]
    assert again["nodeId"] == plan["nodeId"]
    assert parse_global_id(plan["nodeId"]) == ("Plan", (scenario.plan,))


def foreign_ids(foreign: Any) -> list[str]:
    return [global_id("Groupement", foreign.groupement), global_id("Marche", foreign.marche),
            global_id("Plan", foreign.plan), global_id("Axis", foreign.plan, "egalim"),
            global_id("Proposal", foreign.proposal), global_id("Review", foreign.review),
            global_id("Decision", foreign.review, foreign.proposal)]


def unknown_ids() -> list[str]:
    nobody = str(uuid.uuid4())
    return [global_id("Groupement", nobody), global_id("Marche", nobody), global_id("Plan", nobody),
            global_id("Axis", nobody, "egalim"), global_id("Proposal", nobody), global_id("Review", nobody),
            global_id("Decision", nobody, nobody)]


def test_an_object_of_a_foreign_groupement_answers_exactly_as_an_unknown_id(world):
    api, scenario, foreign = world
    coordonnateur = f"{scenario.region}:coordonnateur"
    # The foreign objects exist: their own coordonnateur reads each of them.
    owner = f"{foreign.coordonnateur}:coordonnateur"
    for node_id in foreign_ids(foreign):
        assert api.run(NODE, {"id": node_id}, owner)["node"]["nodeId"] == node_id
    for hidden, unknown in zip(foreign_ids(foreign), unknown_ids(), strict=True):
        seen_hidden = api.answer(NODE, {"id": hidden}, coordonnateur)
        seen_unknown = api.answer(NODE, {"id": unknown}, coordonnateur)
        assert (seen_hidden.data, seen_hidden.errors) == (seen_unknown.data, seen_unknown.errors) \
            == ({"node": None}, None)
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { nodeId } }"
    mine = global_id("Plan", scenario.plan)
    answered = api.run(query, {"ids": [*foreign_ids(foreign), mine]}, coordonnateur)["nodes"]
    assert answered == [None] * len(foreign_ids(foreign)) + [{"nodeId": mine}]
    assert api.run(query, {"ids": unknown_ids()}, coordonnateur)["nodes"] == [None] * len(unknown_ids())


def test_a_member_gets_through_node_only_the_measures_it_sees_in_the_plan(world):
    api, scenario, _ = world
    admin_measures = {m["nodeId"] for m in every_node(api, scenario.plan)["Measure"]}
    lycee = f"{scenario.lycees[0]}:acheteur"
    visible = {m["nodeId"] for m in every_node(api, scenario.plan, lycee)["Measure"]}
    assert visible < admin_measures  # the seed's convention does not share the members' details
    for node_id in admin_measures:
        node = api.run(NODE, {"id": node_id}, lycee)["node"]
        assert (node is not None) == (node_id in visible), node_id


@pytest.mark.parametrize("value", ["nope", "", "x" * 500, global_id("Ship", "1"), global_id("Axis", "only-plan")])
def test_a_value_that_is_not_a_global_id_is_refused_with_its_field(world, value):
    api, _, _ = world
    assert api.refusal(NODE, {"id": value}) == {"code": "invalid_input", "field": "id"}
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { nodeId } }"
    good = global_id("Plan", str(uuid.uuid4()))
    assert api.refusal(query, {"ids": [good, value]}) == {"code": "invalid_input", "field": "ids[1]"}


def test_nodes_asks_for_one_to_a_hundred_ids(world):
    api, _, _ = world
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { nodeId } }"
    assert api.refusal(query, {"ids": []}) == {"code": "invalid_input", "field": "ids"}
    many = [global_id("Plan", str(uuid.uuid4())) for _ in range(101)]
    assert api.refusal(query, {"ids": many}) == {"code": "invalid_input", "field": "ids"}


def test_object_references_stand_beside_the_ids(world):
    api, scenario, _ = world
    names = {o["id"]: o["name"] for o in nodes_of(api.run(
        "{ organisations(first: 500) { edges { node { id name } } } }")["organisations"])}
    data = api.run("""query($p: ID!) { plan(id: $p) {
      proposals(first: 500) { edges { node { authorId author { name } } } }
      axes { objectives { indicators { measures(first: 500) { edges { node { memberId member { name } } } } } } }
      allActions(first: 500) { edges { node { ownerOrganisationId ownerOrganisation { name } memberIds
        members { id } } } }
      allReviews(first: 500) { edges { node { attendees { organisationId organisation { name } }
        decisionsTaken(first: 500) { edges { node { proposalId proposal { id } review { id } } } } } } }
      marche { titulaireIds titulaires { id } parties(first: 500) { totalCount edges { node { id } } }
        groupement { coordonnateurId coordonnateur { name } memberships(first: 500) { edges { node {
          organisationId organisation { name } } } } plans { edges { node { id } } } } } } }""",
                   {"p": scenario.plan})["plan"]
    proposals = nodes_of(data["proposals"])
    assert proposals
    assert all(p["author"]["name"] == names[p["authorId"]] for p in proposals)
    measures = [m for a in data["axes"] for o in a["objectives"] for i in o["indicators"]
                for m in nodes_of(i["measures"])]
    assert any(m["memberId"] is None for m in measures)
    assert any(m["memberId"] for m in measures)
    assert all((m["member"] or {}).get("name") == names.get(m["memberId"]) for m in measures)
    for action in nodes_of(data["allActions"]):
        assert (action["ownerOrganisation"] or {}).get("name") == names.get(action["ownerOrganisationId"])
        assert [m["id"] for m in action["members"]] == action["memberIds"]
    reviews = nodes_of(data["allReviews"])
    for attendee in [a for r in reviews for a in r["attendees"]]:
        assert (attendee["organisation"] or {}).get("name") == names.get(attendee["organisationId"])
    decisions = [d for r in reviews for d in nodes_of(r["decisionsTaken"])]
    assert decisions
    assert all(d["proposal"]["id"] == d["proposalId"] for d in decisions)
    marche = data["marche"]
    assert [t["id"] for t in marche["titulaires"]] == marche["titulaireIds"]
    groupement = marche["groupement"]
    assert groupement["coordonnateur"]["name"] == names[groupement["coordonnateurId"]]
    assert all(m["organisation"]["name"] == names[m["organisationId"]]
               for m in nodes_of(groupement["memberships"]))
    assert [p["id"] for p in nodes_of(groupement["plans"])] == [scenario.plan]


# Paging.

def walk(api: Api, query: str, path: str, forwards: bool, size: int, variables: dict[str, Any] | None = None,
         actor: str = "platform:admin") -> tuple[list[Any], list[dict[str, Any]]]:
    """Every element of a connection, page by page (forwards with first/after, backwards with last/before)."""
    items: list[Any] = []
    infos = []
    cursor = None
    while True:
        arguments = {"n": size, "c": cursor, **(variables or {})}
        data = api.run(query % ("first: $n, after: $c" if forwards else "last: $n, before: $c"), arguments, actor)
        for key in path.split("."):
            data = data[key]
        page = [edge["node"] for edge in data["edges"]]
        assert [e["cursor"] for e in data["edges"]][:1] == ([data["pageInfo"]["startCursor"]] if page else [])
        assert [e["cursor"] for e in data["edges"]][-1:] == ([data["pageInfo"]["endCursor"]] if page else [])
        items = items + page if forwards else page + items
        infos.append({**data["pageInfo"], "totalCount": data["totalCount"], "size": len(page)})
        more = data["pageInfo"]["hasNextPage"] if forwards else data["pageInfo"]["hasPreviousPage"]
        if not more:
            return items, infos
        cursor = data["pageInfo"]["endCursor"] if forwards else data["pageInfo"]["startCursor"]


PAGE = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor } totalCount edges { cursor node { %s } }"


@pytest.mark.parametrize(("query", "path", "key"), [
    ("query($p: ID!, $n: Int, $c: String) { plan(id: $p) { proposals(%s) { " + PAGE % "id" + " } } }",
     "plan.proposals", "id"),
    ("query($p: ID!, $n: Int, $c: String) { plan(id: $p) { allActions(%s) { " + PAGE % "key" + " } } }",
     "plan.allActions", "key"),
    ("query($p: ID!, $n: Int, $c: String) { planBalance(planId: $p) { members(%s) { " + PAGE % "memberId"
     + " } } }", "planBalance.members", "memberId"),
    ("query($n: Int, $c: String) { organisations(%s) { " + PAGE % "id" + " } }", "organisations", "id"),
])
def test_a_connection_reads_the_same_list_forwards_and_backwards(world, query, path, key):
    api, scenario, _ = world
    variables = {"p": scenario.plan} if "$p" in query else {}
    whole, _ = walk(api, query, path, True, 500, variables)
    assert len(whole) >= 3, whole
    forwards, pages = walk(api, query, path, True, 2, variables)
    backwards, back_pages = walk(api, query, path, False, 2, variables)
    assert forwards == backwards == whole
    assert all(p["totalCount"] == len(whole) for p in pages + back_pages)  # the whole list, not the page
    assert [p["hasPreviousPage"] for p in pages] == [False] + [True] * (len(pages) - 1)
    assert [p["hasNextPage"] for p in back_pages] == [False] + [True] * (len(back_pages) - 1)
    assert {item[key] for item in whole} == {item[key] for item in forwards}


def test_the_events_count_the_whole_history_and_page_backwards(world):
    api, scenario, _ = world
    auditor = f"{scenario.auditor}:auditeur"
    query = ("query($g: ID!, $n: Int, $c: String) { events(filter: {groupementId: $g}, %s) { "
             + PAGE % "position type" + " } }")
    variables = {"g": scenario.groupement}
    whole, pages = walk(api, query, "events", True, 1000, variables, auditor)
    assert len(pages) == 1
    assert len(whole) > 40
    forwards, pages = walk(api, query, "events", True, 15, variables, auditor)
    backwards, back_pages = walk(api, query, "events", False, 15, variables, auditor)
    assert forwards == backwards == whole
    assert [p["totalCount"] for p in pages + back_pages] == [len(whole)] * (len(pages) + len(back_pages))
    assert [e["position"] for e in whole] == sorted(e["position"] for e in whole)
    assert [p["hasPreviousPage"] for p in pages] == [False] + [True] * (len(pages) - 1)
    # A filter counts what it keeps, all pages together.
    typed = api.run("query($g: ID!) { events(filter: {groupementId: $g, type: \"Measure.Recorded\"}, first: 1) "
                    "{ totalCount } }", variables, auditor)["events"]["totalCount"]
    assert typed == sum(1 for e in whole if e["type"] == "Measure.Recorded") > 1


def test_the_replay_pages_backwards_and_counts_every_step(world):
    api, scenario, _ = world
    auditor = f"{scenario.auditor}:auditeur"
    query = ("query($p: ID!, $n: Int, $c: String) { replay(planId: $p, %s) { "
             + PAGE % "position" + " } }")
    variables = {"p": scenario.plan}
    whole, _ = walk(api, query, "replay", True, 1000, variables, auditor)
    tail, pages = walk(api, query, "replay", False, 40, variables, auditor)
    assert tail == whole
    assert pages[0]["totalCount"] == len(whole)
    assert pages[0]["hasPreviousPage"]
    assert not pages[0]["hasNextPage"]


@pytest.mark.parametrize(("arguments", "code", "field"), [
    ("first: 2, last: 2", "conflicting_page_arguments", "last"),
    ("last: 0", "invalid_input", "last"),
    ("last: -3", "invalid_input", "last"),
    ("first: -1", "invalid_input", "first"),
    ("last: 501", "invalid_input", "last"),
    ("first: 501", "invalid_input", "first"),
    ('before: "pas-un-curseur"', "invalid_input", "before"),
    ('after: "pas-un-curseur"', "invalid_input", "after"),
])
def test_page_arguments_out_of_their_rules_get_a_stable_code(world, arguments, code, field):
    api, scenario, _ = world
    query = f"query($p: ID!) {{ plan(id: $p) {{ proposals({arguments}) {{ totalCount }} }} }}"
    assert api.refusal(query, {"p": scenario.plan}) == {"code": code, "field": field}


@pytest.mark.parametrize(("arguments", "code", "field"), [
    ("first: 2, last: 2", "conflicting_page_arguments", "last"),
    ("last: 1001", "invalid_input", "last"),
    ('before: "x"', "invalid_input", "before"),
    ('before: "-4"', "invalid_input", "before"),
])
def test_event_page_arguments_out_of_their_rules_get_a_stable_code(world, arguments, code, field):
    api, scenario, _ = world
    query = f"query($g: ID!) {{ events(filter: {{groupementId: $g}}, {arguments}) {{ totalCount }} }}"
    assert api.refusal(query, {"g": scenario.groupement}, f"{scenario.auditor}:auditeur") == {"code": code,
                                                                                              "field": field}


def test_the_events_of_each_store_count_whole_and_page_backwards(store_settings):
    if store_settings.store == "postgres":  # read models of their own, beside the test's event schema
        store_settings = store_settings.model_copy(update={"views_schema": f"{store_settings.postgres_schema}_views"})
    api = Api(store_settings)
    try:
        foreign = tenant(api.services.app, 3, with_accepted_proposal=True)
        api.services.models.fresh(None)
        query = ("query($g: ID!, $n: Int, $c: String) { events(filter: {groupementId: $g}, %s) { "
                 + PAGE % "position" + " } }")
        variables = {"g": foreign.groupement}
        whole, _ = walk(api, query, "events", True, 1000, variables)
        forwards, pages = walk(api, query, "events", True, 3, variables)
        backwards, back_pages = walk(api, query, "events", False, 3, variables)
        assert len(whole) > 6
        assert forwards == backwards == whole
        assert {p["totalCount"] for p in pages + back_pages} == {len(whole)}
        assert back_pages[0]["hasPreviousPage"]
        assert not back_pages[0]["hasNextPage"]
        assert back_pages[-1]["size"] == (len(whole) % 3 or 3)
    finally:
        api.services.models.close()
        api.services.app.close()
        if store_settings.store == "postgres":
            with postgres_connect(store_settings, autocommit=True) as connection:
                connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    sql.Identifier(store_settings.views_schema)))


def test_a_websocket_context_reads_each_operation_afresh(world):
    """One context serves every operation of a WebSocket connection: what one operation read by id is not
    what the next one answers once the object exists."""
    api, _, _ = world
    siret = siret_with_key("3333333300001")
    node_id = global_id("Organisation", str(Organisation.create_id(siret)))
    context = ProgresContext(api.services, Actor.parse("platform", "admin"))

    def ask() -> Any:
        result = asyncio.run(api.schema.execute(NODE, {"id": node_id}, context_value=context))
        assert result.errors is None, result.errors
        return result.data["node"]

    assert ask() is None
    api.services.app.register_organisation(siret, "Cuisine centrale de Liévin", "collectivite")
    api.services.models.fresh(None)
    assert ask() == {"__typename": "Organisation", "nodeId": node_id, "id": str(Organisation.create_id(siret))}


def test_views_and_events_name_their_plan_groupement_and_organisations(world):
    api, scenario, _ = world
    lycee = scenario.lycees[0]
    data = api.run("""query($p: ID!, $m: ID!) {
      memberView(planId: $p, memberId: $m) { member { id } plan { id } groupement { id } }
      planBalance(planId: $p) { plan { id } groupement { id } members(first: 500) { edges { node { memberId
        member { id } } } } } }""", {"p": scenario.plan, "m": lycee}, f"{lycee}:acheteur")
    assert data["memberView"] == {"member": {"id": lycee}, "plan": {"id": scenario.plan},
                                  "groupement": {"id": scenario.groupement}}
    assert data["planBalance"]["plan"] == {"id": scenario.plan}
    assert data["planBalance"]["groupement"] == {"id": scenario.groupement}
    assert [m["member"]["id"] for m in nodes_of(data["planBalance"]["members"])] == [lycee]  # its own only
    events = nodes_of(api.run("""query($g: ID!) { events(filter: {groupementId: $g}, first: 1000) { edges { node {
      organisationId organisation { id } planId plan { id } groupementId groupement { id } } } } }""",
                              {"g": scenario.groupement}, f"{scenario.auditor}:auditeur")["events"])
    assert all((e["organisation"] or {}).get("id") == e["organisationId"] for e in events)
    assert all((e["plan"] or {}).get("id") == e["planId"] for e in events)
    assert {e["groupement"]["id"] for e in events} == {scenario.groupement}
