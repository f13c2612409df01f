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
import re
from typing import Any

import pytest

from progres.graphql.context import ProgresContext, Services
from progres.graphql.schema import build_schema
from progres.projections.replay import replay_plan
from progres.services.demo import run_seed_scenario
from progres.services.policy import Actor

SNAKE = re.compile(r"(?<!^)(?=[A-Z])")


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


def plain(value: Any) -> Any:
    """The answer in the document's shape: snake_case keys, a connection as the list of its nodes."""
    if isinstance(value, dict):
        if set(value) == {"edges", "pageInfo"}:
            assert value["pageInfo"] == {"hasNextPage": False}, "the whole list was asked for"
            return [plain(edge["node"]) for edge in value["edges"]]
        return {SNAKE.sub("_", key).lower(): plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def same(typed: Any, document: Any, where: str = "") -> None:
    """Equal, except that the typed answer may carry extra keys whose value is null."""
    if isinstance(document, dict):
        assert isinstance(typed, dict), f"{where}: {typed!r} is not an object"
        assert set(document) <= set(typed), f"{where}: keys {sorted(set(document) - set(typed))} not typed"
        for key in typed:
            if key in document:
                same(typed[key], document[key], f"{where}.{key}")
            else:
                assert typed[key] is None, f"{where}.{key}: {typed[key]!r} where the document has nothing"
    elif isinstance(document, list):
        assert isinstance(typed, list), f"{where}: {typed!r} is not a list"
        assert len(typed) == len(document), f"{where}: {typed!r} != {document!r}"
        for i, (t, d) in enumerate(zip(typed, document, strict=True)):
            same(t, d, f"{where}[{i}]")
    else:
        assert typed == document, f"{where}: {typed!r} != {document!r}"


ALL = "(first: 500) { pageInfo { hasNextPage } edges { node { "
END = " } } }"
FIGURES = ("baseline target first firstPeriod last lastPeriod achievement status measures: measureCount "
           "latestAssessment latestPeriod")
CORRECTION = "position correctsVersion previousValue previousAssessment reason correctedBy"
DOCUMENT = "sha256 name mediaType"
SMALL = ("small_modifications: smallModificationsCheck { reading cumulated cumulatedPercent capPercent "
         "threshold { amount validFrom validUntil source } }")
CAO = f"caoOpinion {{ givenOn favourable document {{ {DOCUMENT} }} }}"
GAIN_RULE = "basis reference periodMonths shares { party value } memberSplit settlement"
PROPOSAL = ("id authorId axisKey kind title content expectedImpact expectedGain submittedOn status "
            f"decisions: decisionsTaken{ALL} reviewId outcome reasons on: heldOn{END}")

MEMBER_VIEW = f"""
query($plan: ID!, $member: ID!) {{ memberView(planId: $plan, memberId: $member) {{
  planId memberId groupementId position active asOfDay
  standing {{ party launchedOn leftOn withdrawalClause rule }}
  indicators {{ key name kind scope unit direction trajectory {{ from target }} targetInForce {FIGURES}
    positions {{ first last latest }}
    observations{ALL} periodStart periodEnd value assessment source corrections {{ {CORRECTION} }} positions
      recordedAt declaredOn partial participation{END}
    groupement{ALL} periodEnd value members{END} }}
  actions{ALL} key axisKey title owner dueOn status statusOn ownerOrganisationId memberIds
    history {{ status on note }}{END}
  proposals{ALL} {PROPOSAL}{END}
  decisions{ALL} reviewId heldOn proposalId outcome reasons{END}
  avenants{ALL} number basis reason status signedOn notifiedOn proposedOn cumulativePercent needsCaoOpinion
    cumulation {SMALL} {CAO} position: proposedPosition notifiedPosition
    changes {{ amountDelta durationDeltaMonths titulaireIds planChanges {{ kind key title description }} }}
    decision: origin {{ proposalId reviewId }}{END}
}} }}"""


def map_of(items: list[dict[str, Any]], key: str, value: str | None = None) -> dict[str, Any]:
    return {item[key]: item[value] if value else {k: v for k, v in item.items() if k != key} for item in items}


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


PLAN_BALANCE = f"""
query($plan: ID!) {{ planBalance(planId: $plan) {{
  planId groupementId title position asOfDay final
  bilanFinal {{ on summary position }}
  axes {{ key title addedByAvenant actions: actionCount objectives {{ key title kind indicators {{
    key name kind unit aggregation {FIGURES} positions {{ first last latest }}
    periods{ALL} periodStart periodEnd value members weighting excluded{ALL} memberId rule{END}{END} }} }} }}
  actionsByOwner {{ owner total done cancelled late onTime }}
  proposals {{ submitted accepted rejected withdrawn pending
    expectedImpact{ALL} title status expectedImpact expectedGain{END} }}
  reviews {{ held points{ALL} kind text raisedBy {{ name function organisationId }}{END} }}
  avenants{ALL} number basis status reason amountDelta notifiedOn cumulativePercent needsCaoOpinion cumulation
    {SMALL} {CAO}{END}
  marche {{ initialAmount currentAmount cumulativeChangePercent }}
  gains {{ total rule {{ {GAIN_RULE} }} parties {{ party value }} members{ALL} memberId amount{END} }}
  members{ALL} memberId indicators {{ indicatorKey rules {FIGURES} }}{END}
  parties{ALL} memberId standing {{ party launchedOn leftOn withdrawalClause rule }}{END}
}} }}"""


def balance_shape(balance: dict[str, Any]) -> dict[str, Any]:
    """The typed balance with its keyed lists back as the document's maps."""
    typed = plain(balance)
    typed["actions"] = {t.pop("owner"): {k: v for k, v in t.items() if v} for t in typed.pop("actions_by_owner")}
    gains = typed["gains"]
    if gains["rule"]:
        gains["rule"]["shares"] = map_of(gains["rule"]["shares"], "party", "value")
    gains["parties"] = map_of(gains["parties"], "party", "value")
    gains["members"] = map_of(gains["members"], "member_id", "amount")
    typed["parties"] = map_of(typed["parties"], "member_id", "standing")
    typed["members"] = {m["member_id"]: map_of(m["indicators"], "indicator_key") for m in typed["members"]}
    return typed


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
    assert ledger["gain_sharing"] and ledger["governance"], "the seed defines both rules"
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
    assert reviews and sorted(r["id"] for r in typed_reviews) == sorted(reviews), "every review is compared"
    assert any(r["points"] for r in reviews.values()) and any(r["decisions"] for r in reviews.values())
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
