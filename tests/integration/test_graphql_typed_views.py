"""Each typed read of the contract equals the read model's own document, over the seed scenario.

The `JSON` fields that sent these documents are gone from the schema; the typed answer is compared with the
document the read side holds in Python (services/read_models.py: the member view, the balance as
services/access.py gives it to the reader; the groupement's ledger; projections/replay.py's replayed states),
read beside the query from the same services. The answer is brought back to the document's shape (camelCase →
snake_case, connections → lists, lists of keyed objects → maps, aliases for the few renamed keys) and compared
with it, value for value: a date, a decimal or an enum must travel as the same string the document holds, every
key of the document must be typed, and every entry of a keyed collection (indicators, measures, reviews,
proposals, memberships, marchés, avenants, replay steps) must be answered. A typed field may only add keys the
document lacks when they are null (the quantitative figures of a qualitative indicator, say).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from progres.graphql.context import ProgresContext, Services
from progres.graphql.schema import build_schema
from progres.projections.replay import replay_plan
from progres.services.demo import run_seed_scenario
from progres.services.policy import Actor
from tests.typed_views import (
    ALL,
    CORRECTION,
    DOCUMENT,
    END,
    GAIN_RULE,
    MEMBER_VIEW,
    PLAN_BALANCE,
    SMALL,
    balance_shape,
    map_of,
    plain,
    same,
)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    from progres.services.settings import Settings  # noqa: PLC0415

    settings = Settings(store="sqlite", data_dir=tmp_path_factory.mktemp("typed"))
    services = Services.wire(settings)
    scenario = run_seed_scenario(services.app)
    services.models.fresh(None)
    schema = build_schema(settings)

    def run(query: str, variables: dict[str, Any], actor: tuple[str, str] = ("platform", "admin")) -> Any:
        result = asyncio.run(schema.execute(query, variables, context_value=ProgresContext(services,
                                                                                          Actor.parse(*actor))))
        assert result.errors is None, result.errors
        return result.data

    run.services = services  # type: ignore[attr-defined]  # the read side the typed answers are compared with
    return run, scenario


def test_the_typed_member_view_is_the_document_of_every_member(seeded):
    run, s = seeded
    checked = 0
    for member in s.members:
        view = run(MEMBER_VIEW, {"plan": s.plan, "member": member})["memberView"]
        document = run.services.models.member_view(s.plan, member)
        assert document is not None
        same(plain(view), document, "memberView")
        checked += 1
    assert checked >= 7


def test_a_member_sees_its_typed_view_as_its_document(seeded):
    """The same equality for the member itself: the typed view goes through the same access rules."""
    run, s = seeded
    view = run(MEMBER_VIEW, {"plan": s.plan, "member": s.lycees[0]}, (s.lycees[0], "acheteur"))["memberView"]
    run.services.access.check_member_view(Actor.parse(s.lycees[0], "acheteur"), s.plan, s.lycees[0])
    same(plain(view), run.services.models.member_view(s.plan, s.lycees[0]), "memberView")
    assert any(i["observations"]["edges"] for i in view["indicators"]), "the member has measures to compare"


@pytest.mark.parametrize("who", ["admin", "coordonnateur", "titulaire", "auditeur"])
def test_the_typed_plan_balance_is_the_document(seeded, who):
    run, s = seeded
    actor = {"admin": ("platform", "admin"), "coordonnateur": (s.region, "coordonnateur"),
             "titulaire": (s.titulaire, "titulaire"), "auditeur": (s.auditor, "auditeur")}[who]
    balance = run(PLAN_BALANCE, {"plan": s.plan}, actor)["planBalance"]
    services, reader = run.services, Actor.parse(*actor)
    _, parties = services.access.readable_plan(reader, s.plan)
    document = services.access.balance_for(reader, parties, services.models.plan_balance(s.plan))
    same(balance_shape(balance), document, "planBalance")
    assert document["members"] or who == "titulaire", "the balance has members to compare"


PLAN = f"""
query($plan: ID!) {{ plan(id: $plan) {{
  groupementId
  committedResources{ALL} party description amount{END}
  calendar{ALL} key title dueOn{END}
  gainSharingRule {{ {GAIN_RULE} }}
  governanceRule {{ body participants reviewFrequencyMonths }}
  axes {{ objectives {{ indicators {{ key trajectorySteps {{ from target }}
    measures(first: 500) {{ pageInfo {{ hasNextPage }} edges {{ node {{ id correctionHistory {{ {CORRECTION} }} }} }}
    }} }} }} }}
  allReviews{ALL} id attendees {{ name function organisationId }}
    raisedPoints{ALL} kind text raisedBy {{ name function organisationId }}{END}
    decisionsTaken{ALL} proposalId outcome reasons{END}{END}
  proposals(first: 500) {{ pageInfo {{ hasNextPage }} edges {{ node {{ id
    decisionsTaken{ALL} reviewId outcome reasons on: heldOn{END} }} }} }}
}} }}"""


def plan_ledger(run: Any, groupement_id: str, plan_id: str) -> dict[str, Any]:
    """The plan as the read side's ledger of its groupement holds it (what `Plan` is built from)."""
    return run.services.models.ledgers([groupement_id])[groupement_id]["plans"][plan_id]


def test_the_typed_plan_tree_is_the_ledger_of_the_plan(seeded):
    run, s = seeded
    plan = run(PLAN, {"plan": s.plan})["plan"]
    ledger = plan_ledger(run, plan["groupementId"], s.plan)
    same(plain(plan["committedResources"]), ledger["resources"], "resources")
    same(plain(plan["calendar"]), list(ledger["milestones"].values()), "milestones")
    assert ledger["gain_sharing"], "the seed defines its gain sharing"
    assert ledger["governance"], "the seed defines its governance"
    rule = plain(plan["gainSharingRule"])
    rule["shares"] = map_of(rule["shares"], "party", "value")
    same(rule, ledger["gain_sharing"], "gainSharing")
    same(plain(plan["governanceRule"]), ledger["governance"], "governance")
    indicators = [i for a in plan["axes"] for o in a["objectives"] for i in o["indicators"]]
    assert sorted(i["key"] for i in indicators) == sorted(i["key"] for i in ledger["indicators"].values())
    assert any(i.get("trajectory") for i in ledger["indicators"].values()), "the seed has a trajectory to compare"
    measures = {m["id"]: m for m in ledger["measures"].values()}
    seen = []
    for indicator in indicators:
        expected = next(i for i in ledger["indicators"].values() if i["key"] == indicator["key"])
        same(plain(indicator["trajectorySteps"]), expected.get("trajectory") or [], f"trajectory {indicator['key']}")
        assert indicator["measures"]["pageInfo"] == {"hasNextPage": False}, "every measure is compared"
        for edge in indicator["measures"]["edges"]:
            seen.append(edge["node"]["id"])
            same(plain(edge["node"]["correctionHistory"]), measures[edge["node"]["id"]]["corrections"],
                 f"corrections {edge['node']['id']}")
    assert sorted(seen) == sorted(measures), "the admin reads every measure of the plan"
    assert any(m["corrections"] for m in measures.values()), "a correction to compare"
    reviews = {r["id"]: r for r in ledger["reviews"].values()}
    typed_reviews = plain(plan["allReviews"])
    assert reviews, "the seed holds reviews"
    assert sorted(r["id"] for r in typed_reviews) == sorted(reviews), "every review is compared"
    assert any(r["points"] for r in reviews.values()), "a point raised to compare"
    assert any(r["decisions"] for r in reviews.values()), "a decision to compare"
    for review in typed_reviews:
        expected = reviews[review["id"]]
        same(review["attendees"], expected["participants"], "participants")
        same(review["raised_points"], expected["points"], "points")
        same(review["decisions_taken"], expected["decisions"], "decisions")
    proposals = {p["id"]: p for p in ledger["proposals"].values()}
    assert plan["proposals"]["pageInfo"] == {"hasNextPage": False}
    assert sorted(e["node"]["id"] for e in plan["proposals"]["edges"]) == sorted(proposals)
    assert any(p["decisions"] for p in proposals.values()), "a proposal's decisions to compare"
    for edge in plan["proposals"]["edges"]:
        same(plain(edge["node"]["decisionsTaken"]), proposals[edge["node"]["id"]]["decisions"], "proposal decisions")


DECP = ("decpParticulars { procedure ccag formePrix typesPrix techniques modalitesExecution considerationsSociales "
        "considerationsEnvironnementales lieuExecution { code typeCode } offresRecues marcheInnovant "
        "attributionAvance tauxAvance typeGroupementOperateurs sousTraitanceDeclaree datePublication }")
GROUPEMENTS = f"""
{{ groupements {{ id members {{ organisationId decisionDocument {{ {DOCUMENT} }} }}
  marches {{ id {DECP} avenants {{ number {SMALL} }} }} }} }}"""


def test_the_typed_memberships_particulars_and_avenant_checks_are_the_ledgers(seeded):
    run, _ = seeded
    groupements = run(GROUPEMENTS, {})["groupements"]
    ledgers = run.services.models.ledgers([g["id"] for g in groupements])
    decisions = particulars = 0
    for groupement in groupements:
        ledger = ledgers[groupement["id"]]
        memberships = ledger["groupement"]["memberships"]
        assert [m["organisationId"] for m in groupement["members"]] == [m["organisation_id"] for m in memberships]
        for member, expected in zip(groupement["members"], memberships, strict=True):
            if expected.get("decision") is None:
                assert member["decisionDocument"] is None
            else:
                same(plain(member["decisionDocument"]), expected["decision"], "decision")
                decisions += 1
        assert sorted(m["id"] for m in groupement["marches"]) == sorted(m["id"] for m in ledger["marches"].values())
        for marche in groupement["marches"]:
            expected_marche = next(m for m in ledger["marches"].values() if m["id"] == marche["id"])
            same(plain(marche["decpParticulars"]), expected_marche.get("particulars") or {}, "particulars")
            particulars += bool(expected_marche.get("particulars"))
            avenants = {a["number"]: a for a in expected_marche["avenants"].values()}
            assert sorted(a["number"] for a in marche["avenants"]) == sorted(avenants)
            for avenant in marche["avenants"]:
                expected_check = avenants[avenant["number"]].get("small_modifications")
                if expected_check is None:
                    assert avenant["small_modifications"] is None
                else:
                    same(plain(avenant["small_modifications"]), expected_check, "smallModifications")
    assert decisions, "the seed records adhesion decisions to compare"
    assert particulars, "the seed's marché has DECP particulars to compare"


REPLAY = """
query($plan: ID!, $after: String) { replay(planId: $plan, first: 1000, after: $after) {
  pageInfo { hasNextPage endCursor }
  edges { node { position planState { exists axes: axisCount objectives: objectiveCount indicators: indicatorCount
    measures: measureCount corrections: correctionCount actions: actionsByStatus { status count }
    proposals: proposalsByStatus { status count } reviewsHeld avenantsNotified currentAmount activeMembers closed
  } } }
} }"""


def test_the_typed_replayed_plan_is_the_replayed_state_at_every_step(seeded):
    run, s = seeded
    steps, after = [], None
    while True:
        page = run(REPLAY, {"plan": s.plan, "after": after}, ("platform", "admin"))["replay"]
        steps += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    expected = list(replay_plan(run.services.app.facts(), s.plan))
    assert len(steps) > 200, "the seed's whole history is compared"
    assert [step["position"] for step in steps] == [step["position"] for step in expected]
    assert not expected[0]["plan"]["exists"], "a step before the plan is compared too"
    for i, (step, replayed) in enumerate(zip(steps, expected, strict=True)):
        state = plain(step["planState"])
        for counted in ("actions", "proposals"):
            if state[counted] is not None:
                state[counted] = map_of(state[counted], "status", "count")
        same(state, replayed["plan"], f"replay[{i}]")


def test_the_comparison_sees_a_value_that_differs():
    """The check can fail: a typed value, a missing key and an extra non-null key are each caught."""
    with pytest.raises(AssertionError, match="value"):
        same({"value": "30.0"}, {"value": "30"})
    with pytest.raises(AssertionError, match="not typed"):
        same({"a": 1}, {"a": 1, "b": 2})
    with pytest.raises(AssertionError, match="document has nothing"):
        same({"a": 1, "b": 2}, {"a": 1})
    same({"a": 1, "b": None}, {"a": 1})
