"""Each typed read of the contract equals the `JSON` document clients received so far, over the seed scenario.

The typed fields are queried beside the deprecated `JSON` ones in the same request; the answer is brought back
to the document's shape (camelCase → snake_case, connections → lists, lists of keyed objects → maps, aliases
for the few renamed keys) and compared with it, value for value: a date, a decimal or an enum must travel as
the same string the document sent. A typed field may only add keys the document lacks when they are null
(the quantitative figures of a qualitative indicator, say).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from progres.graphql.context import ProgresContext, Services
from progres.graphql.schema import build_schema
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
  document planId memberId groupementId position active asOfDay
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
        document = view.pop("document")
        same(plain(view), document, "memberView")
        checked += 1
    assert checked >= 7


def test_a_member_sees_its_typed_view_as_its_document(seeded):
    """The same equality for the member itself: the typed view goes through the same access rules."""
    run, s = seeded
    view = run(MEMBER_VIEW, {"plan": s.plan, "member": s.lycees[0]}, (s.lycees[0], "acheteur"))["memberView"]
    document = view.pop("document")
    same(plain(view), document, "memberView")
    assert any(i["observations"]["edges"] for i in view["indicators"]), "the member has measures to compare"


PLAN_BALANCE = f"""
query($plan: ID!) {{ planBalance(planId: $plan) {{
  document planId groupementId title position asOfDay final
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
    document = balance.pop("document")
    same(balance_shape(balance), document, "planBalance")
    assert document["members"] or who == "titulaire", "the balance has members to compare"


PLAN = f"""
query($plan: ID!) {{ plan(id: $plan) {{
  resources committedResources{ALL} party description amount{END}
  milestones calendar{ALL} key title dueOn{END}
  gainSharing gainSharingRule {{ {GAIN_RULE} }}
  governance governanceRule {{ body participants reviewFrequencyMonths }}
  axes {{ objectives {{ indicators {{ trajectory trajectorySteps {{ from target }}
    measures(first: 500) {{ edges {{ node {{ corrections correctionHistory {{ {CORRECTION} }} }} }} }} }} }} }}
  reviews {{ participants points decisions attendees {{ name function organisationId }}
    raisedPoints{ALL} kind text raisedBy {{ name function organisationId }}{END}
    decisionsTaken{ALL} proposalId outcome reasons{END} }}
  proposals(first: 500) {{ edges {{ node {{ decisions decisionsTaken{ALL} reviewId outcome reasons on: heldOn{END}
    }} }} }}
}} }}"""


def test_the_typed_plan_tree_is_its_json_fields(seeded):
    run, s = seeded
    plan = run(PLAN, {"plan": s.plan})["plan"]
    same(plain(plan["committedResources"]), plan["resources"], "resources")
    same(plain(plan["calendar"]), plan["milestones"], "milestones")
    rule = plain(plan["gainSharingRule"])
    rule["shares"] = map_of(rule["shares"], "party", "value")
    same(rule, plan["gainSharing"], "gainSharing")
    same(plain(plan["governanceRule"]), plan["governance"], "governance")
    indicators = [i for a in plan["axes"] for o in a["objectives"] for i in o["indicators"]]
    assert any(i["trajectory"] for i in indicators), "the seed has a trajectory to compare"
    for indicator in indicators:
        same(plain(indicator["trajectorySteps"]), indicator["trajectory"], "trajectory")
        for edge in indicator["measures"]["edges"]:
            same(plain(edge["node"]["correctionHistory"]), edge["node"]["corrections"], "corrections")
    assert any(e["node"]["corrections"] for i in indicators for e in i["measures"]["edges"]), "a correction to compare"
    assert plan["reviews"], "the seed holds reviews"
    for review in plan["reviews"]:
        same(plain(review["attendees"]), review["participants"], "participants")
        same(plain(review["raisedPoints"]), review["points"], "points")
        same(plain(review["decisionsTaken"]), review["decisions"], "decisions")
    for edge in plan["proposals"]["edges"]:
        same(plain(edge["node"]["decisionsTaken"]), edge["node"]["decisions"], "proposal decisions")


DECP = ("decpParticulars { procedure ccag formePrix typesPrix techniques modalitesExecution considerationsSociales "
        "considerationsEnvironnementales lieuExecution { code typeCode } offresRecues marcheInnovant "
        "attributionAvance tauxAvance typeGroupementOperateurs sousTraitanceDeclaree datePublication }")
GROUPEMENTS = f"""
{{ groupements {{ members {{ decision decisionDocument {{ {DOCUMENT} }} }}
  marches {{ particulars {DECP} avenants {{ smallModifications {SMALL} }} }} }} }}"""


def test_the_typed_memberships_particulars_and_avenant_checks_are_their_json_fields(seeded):
    run, _ = seeded
    groupements = run(GROUPEMENTS, {})["groupements"]
    members = [m for g in groupements for m in g["members"]]
    assert any(m["decision"] for m in members)
    for member in members:
        if member["decision"] is None:
            assert member["decisionDocument"] is None
        else:
            same(plain(member["decisionDocument"]), member["decision"], "decision")
    marches = [m for g in groupements for m in g["marches"]]
    assert any(m["particulars"] for m in marches), "the seed's marché has DECP particulars to compare"
    for marche in marches:
        same(plain(marche["decpParticulars"]), marche["particulars"], "particulars")
    for avenant in (a for g in groupements for m in g["marches"] for a in m["avenants"]):
        if avenant["smallModifications"] is None:
            assert avenant["small_modifications"] is None
        else:
            same(plain(avenant["small_modifications"]), avenant["smallModifications"], "smallModifications")


REPLAY = """
query($plan: ID!, $after: String) { replay(planId: $plan, first: 1000, after: $after) {
  pageInfo { hasNextPage endCursor }
  edges { node { plan planState { exists axes: axisCount objectives: objectiveCount indicators: indicatorCount
    measures: measureCount corrections: correctionCount actions: actionsByStatus { status count }
    proposals: proposalsByStatus { status count } reviewsHeld avenantsNotified currentAmount activeMembers closed
  } } }
} }"""


def test_the_typed_replayed_plan_is_its_json_state_at_every_step(seeded):
    run, s = seeded
    steps, after = [], None
    while True:
        page = run(REPLAY, {"plan": s.plan, "after": after}, ("platform", "admin"))["replay"]
        steps += [edge["node"] for edge in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert len(steps) > 200, "the seed's whole history is compared"
    assert not steps[0]["plan"]["exists"], "a step before the plan is compared too"
    for i, step in enumerate(steps):
        state = plain(step["planState"])
        for counted in ("actions", "proposals"):
            if state[counted] is not None:
                state[counted] = map_of(state[counted], "status", "count")
        same(state, step["plan"], f"replay[{i}]")


def test_the_comparison_sees_a_value_that_differs():
    """The check can fail: a typed value, a missing key and an extra non-null key are each caught."""
    with pytest.raises(AssertionError, match="value"):
        same({"value": "30.0"}, {"value": "30"})
    with pytest.raises(AssertionError, match="not typed"):
        same({"a": 1}, {"a": 1, "b": 2})
    with pytest.raises(AssertionError, match="document has nothing"):
        same({"a": 1, "b": 2}, {"a": 1})
    same({"a": 1, "b": None}, {"a": 1})
