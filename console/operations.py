"""The GraphQL documents the console's pages run, and how: in process, against the same strawberry schema as
`/graphql`, with the session's actor in the context. The console holds no rule of its own: what a page shows
or refuses is what the API answers that actor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from strawberry import Schema

from progres.graphql.context import ProgresContext, Services
from progres.services.policy import Actor

DIRECTORY = """
query ConsoleDirectory { organisations(first: 500) { edges { node { id siret name kind } } } }
"""

GROUPEMENTS = """
query ConsoleGroupements {
  groupements {
    id code name coordonnateurId planIds
    members { organisationId joinedOn leftOn }
    marches { id code object titulaireIds }
  }
}
"""

PLAN_SUMMARY = """
query ConsolePlanSummary($plan: ID!) { plan(id: $plan) { id title closed marcheId groupementId } }
"""

PLAN_TREE = """
query ConsolePlanTree($plan: ID!) {
  plan(id: $plan) {
    id title closed groupementId
    axes {
      key title description addedByAvenant
      objectives {
        key title kind
        indicators { key name kind unit baseline target trajectory direction periodicity scope }
      }
    }
    actions { key axisKey title owner dueOn status statusOn }
    resources milestones gainSharing governance
  }
}
"""

MEMBER_VIEW = """
query ConsoleMemberView($plan: ID!, $member: ID!, $minPosition: Int) {
  memberView(planId: $plan, memberId: $member, minPosition: $minPosition) { position active document }
}
"""

RECORD_MEASURE = """
mutation ConsoleRecordMeasure($plan: ID!, $indicator: String!, $member: ID, $start: Date!, $end: Date!,
                              $value: Decimal, $source: String!, $by: ID!, $declaredOn: Date) {
  recordMeasure(planId: $plan, indicatorKey: $indicator, memberId: $member, periodStart: $start,
                periodEnd: $end, value: $value, source: $source, recordedBy: $by, declaredOn: $declaredOn) {
    ok id position error { code field message }
  }
}
"""


PROPOSALS = """
query ConsoleProposals($plan: ID!, $minPosition: Int) {
  plan(id: $plan, minPosition: $minPosition) {
    id title closed
    axes { key title }
    proposals(first: 200) {
      totalCount
      edges { node { id authorId axisKey kind title content expectedImpact expectedGain submittedOn status } }
    }
  }
}
"""

SUBMIT_PROPOSAL = """
mutation ConsoleSubmitProposal($plan: ID!, $author: ID!, $axis: String!, $kind: String!, $title: String!,
                               $content: String!, $impact: String!, $on: Date!, $gain: Decimal) {
  submitProposal(planId: $plan, authorId: $author, axisKey: $axis, kind: $kind, title: $title, content: $content,
                 expectedImpact: $impact, submittedOn: $on, expectedGain: $gain) {
    ok id position error { code field message }
  }
}
"""

REPLAY = """
query ConsoleReplay($plan: ID!, $after: String) {
  replay(planId: $plan, first: 50, after: $after) {
    edges { node { position timestamp type aggregateId version plan } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


LOG_VERIFICATION = """
query ConsoleLogVerification($plan: ID!) {
  logVerification(planId: $plan) {
    intact verifiedAt verifiedPosition checkedEvents logHeadPosition activeKeyId headsChecked adoptionRecordsChecked
    fault { position kind detail }
    latestCheckpoint { size lastPosition signedAt keyId }
  }
}
"""


MEASURES = """
query ConsoleMeasures($plan: ID!, $minPosition: Int) {
  plan(id: $plan, minPosition: $minPosition) {
    id title closed
    axes { objectives { indicators { key name unit kind measures(first: 500) {
      edges { node { id memberId periodStart periodEnd value source } }
    } } } }
  }
}
"""

CORRECT_MEASURE = """
mutation ConsoleCorrectMeasure($measure: ID!, $reason: String!, $by: ID!, $on: Date!, $value: Decimal) {
  correctMeasure(measureId: $measure, reason: $reason, correctedBy: $by, correctedOn: $on, value: $value) {
    ok id position error { code field message }
  }
}
"""


REVIEWS = """
query ConsoleReviews($plan: ID!, $minPosition: Int) {
  plan(id: $plan, minPosition: $minPosition) {
    id title closed groupementId marcheId
    reviews { id title scheduledOn status heldOn participants points decisions }
    proposals(first: 200) { edges { node { id authorId axisKey kind title expectedGain submittedOn status } } }
    actions { key axisKey title owner dueOn status statusOn }
  }
}
"""

SCHEDULE_REVIEW = """
mutation ConsoleScheduleReview($plan: ID!, $title: String!, $on: Date!) {
  scheduleReview(planId: $plan, title: $title, scheduledOn: $on) { ok id position error { code field message } }
}
"""

HOLD_REVIEW = """
mutation ConsoleHoldReview($review: ID!, $on: Date!, $participants: [JSON!]!, $minutes: DocumentInput) {
  holdReview(reviewId: $review, heldOn: $on, participants: $participants, minutes: $minutes) {
    ok id position error { code field message }
  }
}
"""

DECIDE = """
mutation ConsoleDecide($review: ID!, $proposal: ID!, $outcome: String!, $reasons: String!) {
  decide(reviewId: $review, proposalId: $proposal, outcome: $outcome, reasons: $reasons) {
    ok id position error { code field message }
  }
}
"""

RAISE_POINT = """
mutation ConsoleRaisePoint($review: ID!, $kind: String!, $text: String!, $by: ParticipantInput!) {
  raisePoint(reviewId: $review, kind: $kind, text: $text, raisedByParticipant: $by) {
    ok id position error { code field message }
  }
}
"""

ABANDON_AVENANT = """
mutation ConsoleAbandonAvenant($marche: ID!, $number: Int!, $reason: String!) {
  abandonAvenant(marcheId: $marche, number: $number, reason: $reason) { ok id position error { code field message } }
}
"""

CLOSE_REVIEW = """
mutation ConsoleCloseReview($review: ID!, $on: Date!) {
  closeReview(reviewId: $review, on: $on) { ok id position error { code field message } }
}
"""


MARCHES = """
query ConsoleMarches {
  groupements {
    id name coordonnateurId planIds
    marches {
      id code object nature initialAmount durationMonths buyerKind notifiedOn closedOn
      avenants {
        number basis status reason amountDelta durationDeltaMonths cumulativePercent needsCaoOpinion signedOn
        notifiedOn proposedOn smallModifications caoOpinion { givenOn favourable document { sha256 name mediaType } }
        origin { proposalId reviewId }
      }
    }
  }
}
"""

BALANCE = """
query ConsoleBalance($plan: ID!) {
  planBalance(planId: $plan) { position final cumulativeChangePercent document }
}
"""

IMPORT_MEASURES = """
mutation ConsoleImportMeasures($plan: ID!, $rows: [JSON!]!, $by: ID!, $source: String!, $declaredOn: Date) {
  importMeasures(planId: $plan, rows: $rows, recordedBy: $by, source: $source, declaredOn: $declaredOn) {
    ok id position error { code field message }
  }
}
"""

PLAN_AT = """
query ConsolePlanAt($plan: ID!, $minPosition: Int) { plan(id: $plan, minPosition: $minPosition) { id } }
"""

PROPOSE_AVENANT = """
mutation ConsoleProposeAvenant($marche: ID!, $basis: String!, $reason: String!, $changes: JSON!, $on: Date,
                               $proposal: ID) {
  proposeAvenant(marcheId: $marche, basis: $basis, reason: $reason, changes: $changes, on: $on,
                 proposalId: $proposal) {
    ok id position error { code field message }
  }
}
"""

RECORD_CAO_OPINION = """
mutation ConsoleCaoOpinion($marche: ID!, $number: Int!, $on: Date!, $favourable: Boolean!, $file: DocumentInput) {
  recordCaoOpinion(marcheId: $marche, number: $number, givenOn: $on, favourable: $favourable, document: $file) {
    ok id position error { code field message }
  }
}
"""

SIGN_AVENANT = """
mutation ConsoleSignAvenant($marche: ID!, $number: Int!, $on: Date!, $file: DocumentInput) {
  signAvenant(marcheId: $marche, number: $number, signedOn: $on, document: $file) {
    ok id position error { code field message }
  }
}
"""

NOTIFY_AVENANT = """
mutation ConsoleNotifyAvenant($marche: ID!, $number: Int!, $on: Date!) {
  notifyAvenant(marcheId: $marche, number: $number, notifiedOn: $on) { ok id position error { code field message } }
}
"""


@dataclass
class Refusal(Exception):
    """The API refused the read: its code (`forbidden`, `not_found`, `unauthenticated`…) and message."""

    code: str
    text: str

    def __str__(self) -> str:
        return f"{self.code}: {self.text}"


@dataclass
class Executor:
    schema: Schema
    services: Services

    async def run(self, document: str, actor: Actor | None, **variables: Any) -> dict[str, Any]:
        """The answer's data; the first error, if any, raised as a `Refusal` with its code."""
        result = await self.schema.execute(document, variable_values=variables,
                                           context_value=ProgresContext(self.services, actor))
        if result.errors:
            error = result.errors[0]
            code = str((error.extensions or {}).get("code") or "internal")
            raise Refusal(code, error.message)
        return result.data or {}
