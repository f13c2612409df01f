"""The GraphQL documents the console's pages run, and how: in process, against the same strawberry schema as
`/graphql`, with the session's actor in the context. The console holds no rule of its own: what a page shows
or refuses is what the API answers that actor.

The console speaks the typed contract only (tests/unit/test_console_contract.py checks every document here against
the schema): each mutation gives its one `input` and reads from its payload `userErrors`, the log position and the
changed object; each query reads typed fields and connections, never a field or argument marked `@deprecated`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from strawberry import Schema

from progres.graphql.context import ProgresContext, Services
from progres.services.policy import Actor

USER_ERRORS = "userErrors { code field message }"


def command(operation: str, changed: str) -> str:
    """A mutation of the typed contract: its `input`, and from its payload the refusals (`userErrors`), the log
    position and the changed object (`changed`, a selection of the payload)."""
    name = operation[0].upper() + operation[1:]
    return (f"mutation Console{name}($input: {name}Input!) {{\n"
            f"  {operation}(input: $input) {{ {USER_ERRORS} position {changed} }}\n}}\n")


DIRECTORY = """
query ConsoleDirectory($after: String) {
  organisations(first: 500, after: $after) { edges { node { id siret name kind } } pageInfo { hasNextPage endCursor } }
}
"""

# A page of a groupement's memberships; the console reads the next ones until the last (`Executor.groupements`).
MEMBERS_PAGE = """
fragment ConsoleMembersPage on MembershipConnection {
  edges { node { organisationId joinedOn leftOn } }
  pageInfo { hasNextPage endCursor }
}
"""

GROUPEMENTS = """
query ConsoleGroupements {
  groupements: allGroupements(first: 500) { edges { node {
    id nodeId code name coordonnateurId
    plans(first: 500) { edges { node { id } } }
    members: memberships(first: 500) { ...ConsoleMembersPage }
    marches: allMarches(first: 500) { edges { node { id code object titulaireIds } } }
  } } }
}
""" + MEMBERS_PAGE

MEMBERS = """
query ConsoleMembers($groupement: ID!, $after: String) {
  node(id: $groupement) {
    ... on Groupement { members: memberships(first: 500, after: $after) { ...ConsoleMembersPage } }
  }
}
""" + MEMBERS_PAGE

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
        indicators {
          key name kind unit baseline target trajectory: trajectorySteps { from target } direction periodicity scope
        }
      }
    }
    actions: allActions(first: 500) { edges { node { key axisKey title owner dueOn status statusOn } } }
    resources: committedResources(first: 500) { edges { node { party description amount } } }
    milestones: calendar(first: 500) { edges { node { key title dueOn } } }
    gainSharing: gainSharingRule { basis reference periodMonths shares { party value } memberSplit settlement }
    governance: governanceRule { body participants reviewFrequencyMonths }
  }
}
"""

MEMBER_VIEW = """
query ConsoleMemberView($plan: ID!, $member: ID!, $minPosition: Int) {
  memberView(planId: $plan, memberId: $member, minPosition: $minPosition) {
    position active
    indicators {
      key name kind unit target targetInForce trajectory { from target }
      observations(first: 500) { edges { node { periodStart periodEnd value assessment source } } }
      groupement(first: 500) { edges { node { periodEnd value members } } }
    }
  }
}
"""

RECORD_MEASURE = command("recordMeasure", "measure { id }")


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

SUBMIT_PROPOSAL = command("submitProposal", "proposal { id }")

REPLAY = """
query ConsoleReplay($plan: ID!, $after: String) {
  replay(planId: $plan, first: 50, after: $after) {
    edges { node { position timestamp type aggregateId version planState {
      exists axisCount objectiveCount indicatorCount measureCount correctionCount
      actionsByStatus { status count } proposalsByStatus { status count } reviewsHeld avenantsNotified currentAmount
      closed
    } } }
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
      edges { node { id memberId periodStart periodEnd value assessment source } }
    } } } }
  }
}
"""

CORRECT_MEASURE = command("correctMeasure", "measure { id }")


REVIEWS = """
query ConsoleReviews($plan: ID!, $minPosition: Int) {
  plan(id: $plan, minPosition: $minPosition) {
    id title closed groupementId marcheId
    reviews: allReviews(first: 500) { edges { node {
      id title scheduledOn status heldOn
      participants: attendees { name function organisationId }
      points: raisedPoints(first: 500) { edges { node { kind text raisedBy { name function organisationId } } } }
      decisions: decisionsTaken(first: 500) { edges { node { proposalId outcome reasons } } }
    } } }
    proposals(first: 200) {
      totalCount edges { node { id authorId axisKey kind title expectedGain submittedOn status } }
    }
    actions: allActions(first: 500) { edges { node { key axisKey title owner dueOn status statusOn } } }
  }
}
"""

SCHEDULE_REVIEW = command("scheduleReview", "review { id }")

HOLD_REVIEW = command("holdReview", "review { id }")

DECIDE = command("decide", "proposal { id status }")

RAISE_POINT = command("raisePoint", "review { id }")

ABANDON_AVENANT = command("abandonAvenant", "avenant { number status }")

CLOSE_REVIEW = command("closeReview", "review { id status }")


MARCHES = """
query ConsoleMarches {
  groupements: allGroupements(first: 500) { edges { node {
    id name coordonnateurId
    plans(first: 500) { edges { node { id } } }
    marches: allMarches(first: 500) { edges { node {
      id code object nature initialAmount durationMonths buyerKind notifiedOn closedOn
      avenants: allAvenants(first: 500) { edges { node {
        number basis status reason amountDelta durationDeltaMonths cumulativePercent needsCaoOpinion signedOn
        notifiedOn proposedOn caoOpinion { givenOn favourable document { sha256 name mediaType } }
        origin { proposalId reviewId }
      } } }
    } } }
  } } }
}
"""

BALANCE = """
query ConsoleBalance($plan: ID!) {
  planBalance(planId: $plan) {
    position final asOfDay
    marche { initialAmount currentAmount cumulativeChangePercent }
    actionsByOwner { owner total late }
    proposals { accepted rejected pending }
    reviews { held }
    avenants(first: 1) { totalCount }
    gains { total }
    axes { key title objectives { key title indicators {
      key name kind unit baseline target last achievement status
      periods(first: 500) { edges { node { periodStart periodEnd value } } }
    } } }
  }
}
"""

IMPORT_MEASURES = command("importMeasures", "plan { id }")

PLAN_AT = """
query ConsolePlanAt($plan: ID!, $minPosition: Int) { plan(id: $plan, minPosition: $minPosition) { id } }
"""

PROPOSE_AVENANT = command("proposeAvenant", "avenant { number status }")

RECORD_CAO_OPINION = command("recordCaoOpinion", "avenant { number status }")

SIGN_AVENANT = command("signAvenant", "avenant { number status }")

NOTIFY_AVENANT = command("notifyAvenant", "avenant { number status }")


@dataclass
class Refusal(Exception):
    """The API refused the read: its code (`forbidden`, `not_found`, `unauthenticated`…) and message."""

    code: str
    text: str

    def __str__(self) -> str:
        return f"{self.code}: {self.text}"


def nodes_of(value: Any) -> Any:
    """`{edges: [{node: x}]}` → `[x]`, through the whole answer."""
    if isinstance(value, list):
        return [nodes_of(item) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"edges"}:
        return [nodes_of(edge["node"]) for edge in value["edges"]]
    return {key: nodes_of(item) for key, item in value.items()}


@dataclass(frozen=True)
class Outcome:
    """A mutation's answer: its payload (the changed object under its name), its log position when it was accepted,
    else its first refusal (`userErrors`: a stable code, the field as a GraphQL path such as `input.measures.3.value`,
    the message)."""

    payload: dict[str, Any]

    @property
    def accepted(self) -> bool:
        return not self.payload["userErrors"]

    @property
    def position(self) -> int | None:
        return self.payload["position"]

    @property
    def code(self) -> str:
        return str(self.payload["userErrors"][0]["code"]) if self.payload["userErrors"] else ""

    @property
    def message(self) -> str:
        return str(self.payload["userErrors"][0]["message"]) if self.payload["userErrors"] else ""

    @property
    def text(self) -> str:
        """The message as the first contract said it, after the field it names (`indicator.unit: ne doit pas être
        vide`): the refusal shown names the field in the API's words too."""
        return f"{'.'.join(self.path)}: {self.message}" if self.path else self.message

    @property
    def path(self) -> list[str]:
        """The refused field's path in the input, without `input`: `input.measures.3.value` → measures, 3, value."""
        field = self.payload["userErrors"][0]["field"] if self.payload["userErrors"] else None
        segments = (field or "").split(".") if field else []
        return segments[1:] if segments[:1] == ["input"] else segments

    def field(self, mapping: dict[str, str], default: str = "form") -> str:
        """The form's field the refusal names (see `form_field_of`)."""
        return form_field_of(self.path, mapping, default)


def form_field_of(path: list[str], mapping: dict[str, str], default: str = "form") -> str:
    """The form's field a refusal's path names: its deepest segment that the form knows (`avenantChanges.amountDelta`
    → the form's amount), else `default` (the refusal is then shown above the form)."""
    return next((mapping[segment] for segment in reversed(path) if segment in mapping), default)


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

    async def read(self, document: str, actor: Actor | None, **variables: Any) -> dict[str, Any]:
        """A query's answer, each of its connections read as the list of its nodes (`{edges: [{node}]}` → `[node]`):
        the console asks for whole lists (a connection's page of 500, the API's longest); a connection asked with its
        `totalCount` or `pageInfo` is left as it is."""
        answer: dict[str, Any] = nodes_of(await self.run(document, actor, **variables))
        return answer

    async def read_all(self, document: str, actor: Actor | None, connection: str, **variables: Any) -> dict[str, Any]:
        """A query whose root field `connection` is asked with `after: $after` and `pageInfo { hasNextPage endCursor }`,
        read page by page to its end (a page holds 500 at most: a region's directory may hold more), its edges put
        together as one page (`{edges}`)."""
        answer = await self.run(document, actor, **variables)
        edges, info = list(answer[connection]["edges"]), answer[connection]["pageInfo"]
        while info["hasNextPage"]:
            page = (await self.run(document, actor, **variables, after=info["endCursor"]))[connection]
            edges += page["edges"]
            info = page["pageInfo"]
        answer[connection] = {"edges": edges}
        return answer

    async def groupements(self, document: str, actor: Actor | None) -> list[dict[str, Any]]:
        """The groupements of a query listing them with `nodeId` and `members: memberships(first: 500) {
        ...ConsoleMembersPage }`, each one's members read to the last page (a groupement may have more than 500) as
        the list of their nodes."""
        groupements: list[dict[str, Any]] = (await self.read(document, actor))["groupements"]
        for groupement in groupements:
            members = groupement["members"]
            edges, info = list(members["edges"]), members["pageInfo"]
            while info["hasNextPage"]:
                page = (await self.run(MEMBERS, actor, groupement=groupement["nodeId"],
                                       after=info["endCursor"]))["node"]["members"]
                edges += page["edges"]
                info = page["pageInfo"]
            groupement["members"] = [edge["node"] for edge in edges]
        return groupements

    async def command(self, document: str, actor: Actor | None, /, **fields: Any) -> Outcome:
        """A mutation made by `command()`, its input given field by field (GraphQL names); its payload's outcome."""
        data = await self.run(document, actor, input={k: v for k, v in fields.items() if v is not None})
        return Outcome(next(iter(data.values())))
