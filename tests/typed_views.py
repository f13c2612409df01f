"""The typed member view and plan balance as a client reads them whole, brought back to the read model's document.

`MEMBER_VIEW` and `PLAN_BALANCE` ask for every typed field (the documents themselves are no longer sent: the `JSON`
scalar left the contract); `plain` and `balance_shape` turn the answer into the document's shape (camelCase →
snake_case, connections → lists, keyed lists → maps), and `same` compares it with the document the read side holds
in Python, value for value (tests/integration/test_graphql_typed_views.py, the e2e and time-axis tests).
"""

from __future__ import annotations

import re
from typing import Any

SNAKE = re.compile(r"(?<!^)(?=[A-Z])")


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

# Every field of the member view, and the query of one member's view now.
MEMBER_VIEW_FIELDS = f"""
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
    decision: origin {{ proposalId reviewId }}{END}"""
MEMBER_VIEW = ("query($plan: ID!, $member: ID!) { memberView(planId: $plan, memberId: $member) { "
               + MEMBER_VIEW_FIELDS + " } }")


def map_of(items: list[dict[str, Any]], key: str, value: str | None = None) -> dict[str, Any]:
    return {item[key]: item[value] if value else {k: v for k, v in item.items() if k != key} for item in items}


# Every field of the balance, and the query of a plan's balance now.
PLAN_BALANCE_FIELDS = f"""
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
  parties{ALL} memberId standing {{ party launchedOn leftOn withdrawalClause rule }}{END}"""
PLAN_BALANCE = "query($plan: ID!) { planBalance(planId: $plan) { " + PLAN_BALANCE_FIELDS + " } }"


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
