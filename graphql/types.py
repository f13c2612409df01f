"""GraphQL types of progres, one per concept, each built from the read models by a `from_…` constructor."""

from __future__ import annotations

import base64
from typing import Any, Generic, TypeVar

import strawberry
from strawberry.scalars import JSON

from progres.domain.errors import InvalidInput

T = TypeVar("T")


@strawberry.type(description="Why a command was refused: a stable code, the field at fault and a readable message.")
class UserError:
    code: str = strawberry.field(description="Stable error code, e.g. `measure_already_recorded`.")
    field: str | None = strawberry.field(description="The input field at fault, when there is one.")
    message: str = strawberry.field(description="What is wrong and the rule that says so.")

    @classmethod
    def from_error(cls, error: Any) -> UserError:
        return cls(code=error.code, field=error.field, message=error.message)


@strawberry.type(description="What a mutation did: the id it wrote, the log position reached, or why it was refused.")
class MutationResult:
    ok: bool = strawberry.field(description="True when the command was accepted.")
    id: strawberry.ID | None = strawberry.field(description="Id of the entity written (avenants: `marche#number`).")
    position: int | None = strawberry.field(
        description="Log position after the command: pass it as `minPosition` to read your own write.")
    replayed: bool = strawberry.field(
        default=False, description="True when this command id was seen before: the first answer is returned.")
    error: UserError | None = strawberry.field(default=None, description="Why the command was refused.")


@strawberry.type(description="Pagination state of a connection.")
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type(description="An item of a connection with its cursor.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Cursor of this item, for `after`.")
    node: T = strawberry.field(description="The item.")


@strawberry.type(description="A page of a list that can grow (Relay cursor connection).")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="Items of this page.")
    page_info: PageInfo = strawberry.field(description="Pagination state.")
    total_count: int = strawberry.field(description="Number of items in the whole list (events: in this page).")


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def decode_cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode().split(":", 1)[1]) + 1
    except (ValueError, IndexError):
        raise InvalidInput("after", rule="not a cursor of this list") from None


def paginate(items: list[Any], first: int, after: str | None) -> Connection[Any]:
    if not 0 < first <= 500:
        raise InvalidInput("first", rule="ask for 1 to 500 items")
    start = decode_cursor(after)
    page = items[start:start + first]
    edges = [Edge(cursor=encode_cursor(start + i), node=node) for i, node in enumerate(page)]
    return Connection(edges=edges, page_info=PageInfo(has_next_page=start + first < len(items),
                                                      end_cursor=edges[-1].cursor if edges else None),
                      total_count=len(items))


@strawberry.type(description="An acheteur (collectivité, EPLE, State service, hospital, établissement public, buyer "
                             "of another EU state), a supplier or an audit body.")
class Organisation:
    id: strawberry.ID
    siret: str | None = strawberry.field(description="Its SIRET; null for a buyer of another EU state.")
    vat_number: str | None = strawberry.field(description="EU VAT number of a buyer of another EU state (L2113-8).")
    name: str
    kind: str = strawberry.field(description="collectivite, eple, state_service, hospital, public_establishment, "
                                             "eu_buyer, supplier or audit_body.")

    @classmethod
    def from_ledger(cls, data: dict[str, Any]) -> Organisation:
        return cls(id=strawberry.ID(data["id"]), siret=data.get("siret"), vat_number=data.get("vat_number"),
                   name=data["name"], kind=data["kind"])


@strawberry.type(description="An organisation's membership of a groupement, active between two dates.")
class Membership:
    organisation_id: strawberry.ID
    joined_on: str
    left_on: str | None
    decision: JSON | None = strawberry.field(
        default=None, description="Its délibération or décision d'adhésion (document by hash); null before issue 14.")
    decided_on: str | None = strawberry.field(default=None, description="Date of its adhesion decision.")


@strawberry.type(description="A document referenced by its content hash (the platform keeps the reference).")
class DocumentRef:
    sha256: str
    name: str
    media_type: str


@strawberry.type(description="The CAO's opinion on a projet d'avenant (L1414-4 CGCT): advisory, required before "
                             "signing an avenant raising by more than 5 % a marché the CAO awarded.")
class CaoOpinion:
    given_on: str = strawberry.field(description="Date of the CAO's meeting.")
    favourable: bool = strawberry.field(description="Whether the opinion is favourable.")
    document: DocumentRef = strawberry.field(description="The minutes, by content hash.")

    @classmethod
    def from_ledger(cls, o: dict[str, Any] | None) -> CaoOpinion | None:
        if o is None:
            return None
        return cls(given_on=o["given_on"], favourable=o["favourable"], document=DocumentRef(**o["document"]))


@strawberry.type(description="A signed change to the marché (modification de marché, CCP R2194-1 to R2194-9).")
class Avenant:
    number: int
    basis: str = strawberry.field(description="Legal basis, e.g. R2194-1 (clause de réexamen).")
    status: str = strawberry.field(description="proposed, signed, notified or abandoned.")
    reason: str
    amount_delta: str = strawberry.field(description="Change of the amount, € HT (negative for a reduction).")
    duration_delta_months: int
    cumulative_percent: str = strawberry.field(description="Cumulative change against the initial amount, in %.")
    needs_cao_opinion: bool = strawberry.field(description="Above 5 %: the CAO gives its opinion first.")
    signed_on: str | None
    notified_on: str | None
    proposed_on: str | None = strawberry.field(description="Date of the avenant as proposed: it chooses the European "
                                                           "threshold of R2194-8 (null for avenants proposed "
                                                           "before dates were recorded).")
    cumulation: str | None = strawberry.field(description="How R2194-9 cumulated the small modifications when it was "
                                                          "proposed: net (directive 2014/24 art. 72(2)) or absolute.")
    small_modifications: JSON | None = strawberry.field(
        description="R2194-8/-9 only: the reading applied, the cumulated amount and percentage, the cap and the "
                    "European threshold row (amount, validity, source) it was checked against.")
    cao_opinion: CaoOpinion | None = strawberry.field(description="The CAO's opinion, once recorded.")

    @classmethod
    def from_ledger(cls, a: dict[str, Any]) -> Avenant:
        return cls(number=a["number"], basis=a["basis"], status=a["status"], reason=a["reason"],
                   amount_delta=a["changes"]["amount_delta"],
                   duration_delta_months=a["changes"]["duration_delta_months"],
                   cumulative_percent=a["cumulative_percent"], needs_cao_opinion=a["needs_cao_opinion"],
                   signed_on=a["signed_on"], notified_on=a["notified_on"], proposed_on=a.get("proposed_on"),
                   cumulation=a.get("cumulation"), small_modifications=a.get("small_modifications"),
                   cao_opinion=CaoOpinion.from_ledger(a.get("cao_opinion")))


@strawberry.type(description="The public contract awarded by the groupement (DECP's marché).")
class Marche:
    id: strawberry.ID
    code: str = strawberry.field(description="DECP id, at most 16 characters.")
    object: str
    cpv: str
    nature: str
    initial_amount: str = strawberry.field(description="Initial amount, € HT.")
    duration_months: int
    notified_on: str
    launched_on: str = strawberry.field(description="When its consultation was launched: its parties are the "
                                                    "members of that day (QE 100136 of 2011).")
    party_ids: list[strawberry.ID] | None = strawberry.field(
        description="Members that are parties to it, fixed at its launch (null: marché notified before issue 14, "
                    "whose parties are the members on its launch day).")
    titulaire_ids: list[strawberry.ID]
    closed_on: str | None
    avenants: list[Avenant]
    buyer_kind: str = strawberry.field(description="Column of the European thresholds: pouvoir_adjudicateur, "
                                                   "autorite_publique_centrale or entite_adjudicatrice.")
    awarded_by_cao: bool = strawberry.field(description="Whether the CAO awarded it (then L1414-4 CGCT applies).")
    particulars: JSON = strawberry.field(description="What DECP publishes of it (procedure, CCAG, prices…), as "
                                                     "corrected since notification.")

    @classmethod
    def from_ledger(cls, m: dict[str, Any]) -> Marche:
        parties = m.get("party_ids")
        return cls(id=strawberry.ID(m["id"]), code=m["code"], object=m["object"], cpv=m["cpv"], nature=m["nature"],
                   initial_amount=m["initial_amount"], duration_months=m["duration_months"],
                   notified_on=m["notified_on"], titulaire_ids=[strawberry.ID(t) for t in m["titulaire_ids"]],
                   launched_on=m.get("launched_on") or m["notified_on"],
                   party_ids=[strawberry.ID(p) for p in parties] if parties is not None else None,
                   closed_on=m["closed_on"], buyer_kind=m.get("buyer_kind", "pouvoir_adjudicateur"),
                   awarded_by_cao=m.get("awarded_by_cao", True), particulars=m.get("particulars") or {},
                   avenants=[Avenant.from_ledger(a) for a in sorted(m["avenants"].values(),
                                                                    key=lambda a: a["number"])])


@strawberry.type(description="An observation of an indicator for a member (or the groupement) and a period.")
class Measure:
    id: strawberry.ID
    indicator_key: str
    member_id: strawberry.ID | None = strawberry.field(description="Null for a measure of the whole groupement.")
    period_start: str
    period_end: str
    value: str | None = strawberry.field(description="The number, for a quantitative indicator.")
    assessment: str | None = strawberry.field(description="The assessment, for a qualitative indicator.")
    source: str
    corrections: JSON = strawberry.field(description="Earlier values, each with the reason of its correction.")
    positions: list[int] = strawberry.field(description="Log positions of the recording and its corrections.")
    recorded_at: str | None = strawberry.field(description="When it was recorded: the server's time, never sent.")
    declared_on: str | None = strawberry.field(description="The business date its recorder declared.")
    partial: bool = strawberry.field(description="A calendar period cut by the marché's start or end.")

    @classmethod
    def from_ledger(cls, m: dict[str, Any]) -> Measure:
        return cls(id=strawberry.ID(m["id"]), indicator_key=m["indicator_key"],
                   member_id=strawberry.ID(m["member_id"]) if m["member_id"] else None,
                   period_start=m["period_start"], period_end=m["period_end"], value=m["value"],
                   assessment=m["assessment"], source=m["source"], corrections=m["corrections"],
                   positions=m["positions"], recorded_at=m.get("recorded_at"), declared_on=m.get("declared_on"),
                   partial=bool(m.get("partial")))


@strawberry.type(description="An indicator (indicateur): quantitative with unit and target, or qualitative.")
class Indicator:
    key: str
    name: str
    kind: str = strawberry.field(description="quantitative or qualitative.")
    unit: str | None
    baseline: str | None
    target: str | None
    trajectory: JSON = strawberry.field(description="Dated target steps, e.g. a share lowered year by year.")
    direction: str | None
    periodicity: str
    scope: str = strawberry.field(description="member (one value per member) or groupement.")
    aggregation: str = strawberry.field(description="How member values combine: sum, mean, weighted_mean.")
    plan_measures: strawberry.Private[list[dict[str, Any]]]

    @strawberry.field(description="Measures of this indicator that the caller may see, in period order.")
    def measures(self, first: int = 100, after: str | None = None) -> Connection[Measure]:
        items = sorted(self.plan_measures, key=lambda m: (m["period_start"], m["member_id"] or ""))
        return paginate([Measure.from_ledger(m) for m in items], first, after)

    @classmethod
    def from_ledger(cls, i: dict[str, Any], measures: list[dict[str, Any]]) -> Indicator:
        return cls(key=i["key"], name=i["name"], kind=i["kind"], unit=i.get("unit"), baseline=i.get("baseline"),
                   target=i.get("target"), trajectory=i.get("trajectory") or [], direction=i.get("direction"),
                   periodicity=i["periodicity"], scope=i["scope"], aggregation=i["aggregation"],
                   plan_measures=measures)


@strawberry.type(description="An objective (objectif): an obligation de moyens or de résultats.")
class Objective:
    key: str
    title: str
    kind: str = strawberry.field(description="moyens or resultats.")
    indicators: list[Indicator]


@strawberry.type(description="An axis (axe) of the plan de progrès.")
class Axis:
    key: str
    title: str
    description: str
    added_by_avenant: int | None = strawberry.field(description="Number of the avenant that added it, if any.")
    objectives: list[Objective]


@strawberry.type(description="An action owned by the titulaire, the acheteur or both.")
class Action:
    key: str
    axis_key: str
    title: str
    owner: str = strawberry.field(description="titulaire, acheteur or joint.")
    due_on: str
    status: str = strawberry.field(description="planned, in_progress, done or cancelled.")
    status_on: str | None

    @classmethod
    def from_ledger(cls, a: dict[str, Any]) -> Action:
        return cls(key=a["key"], axis_key=a["axis_key"], title=a["title"], owner=a["owner"], due_on=a["due_on"],
                   status=a["status"], status_on=a["status_on"])


@strawberry.type(description="A proposition: an improvement put forward by a member, the coordonnateur or titulaire.")
class Proposal:
    id: strawberry.ID
    author_id: strawberry.ID
    axis_key: str
    kind: str
    title: str
    content: str
    expected_impact: str
    expected_gain: str | None
    submitted_on: str
    status: str = strawberry.field(description="submitted, postponed, accepted, rejected or withdrawn.")
    decisions: JSON

    @classmethod
    def from_ledger(cls, p: dict[str, Any]) -> Proposal:
        return cls(id=strawberry.ID(p["id"]), author_id=strawberry.ID(p["author_id"]), axis_key=p["axis_key"],
                   kind=p["kind"], title=p["title"], content=p["content"], expected_impact=p["expected_impact"],
                   expected_gain=p["expected_gain"], submitted_on=p["submitted_on"], status=p["status"],
                   decisions=p["decisions"])


@strawberry.type(description="A revue (e.g. bilan semestriel): participants, points raised, decisions.")
class Review:
    id: strawberry.ID
    title: str
    scheduled_on: str
    status: str = strawberry.field(description="scheduled, held or closed.")
    held_on: str | None
    participants: JSON
    points: JSON = strawberry.field(description="Constraints, needs and difficulties raised, and by whom.")
    decisions: JSON

    @classmethod
    def from_ledger(cls, r: dict[str, Any]) -> Review:
        return cls(id=strawberry.ID(r["id"]), title=r["title"], scheduled_on=r["scheduled_on"], status=r["status"],
                   held_on=r["held_on"], participants=r["participants"], points=r["points"],
                   decisions=r["decisions"])


@strawberry.type(description="A plan de progrès: its tree, its commitments and its life.")
class Plan:
    id: strawberry.ID
    marche_id: strawberry.ID
    groupement_id: strawberry.ID
    title: str
    closed: bool = strawberry.field(description="True once closed by its bilan final.")
    axes: list[Axis]
    actions: list[Action]
    resources: JSON
    milestones: JSON
    gain_sharing: JSON | None  # null until the plan defines it
    governance: JSON | None
    all_proposals: strawberry.Private[list[Proposal]]
    reviews: list[Review]

    @strawberry.field(description="Propositions, in submission order.")
    def proposals(self, first: int = 50, after: str | None = None) -> Connection[Proposal]:
        return paginate(self.all_proposals, first, after)

    @classmethod
    def from_ledger(cls, ledger: dict[str, Any], plan_id: str, visible_members: set[str] | None) -> Plan:
        plan = ledger["plans"][plan_id]
        measures_by_indicator: dict[str, list[dict[str, Any]]] = {}
        for m in plan["measures"].values():
            if visible_members is None or m["member_id"] is None or m["member_id"] in visible_members:
                measures_by_indicator.setdefault(m["indicator_key"], []).append(m)
        axes = [Axis(key=a["key"], title=a["title"], description=a["description"],
                     added_by_avenant=a["added_by_avenant"],
                     objectives=[Objective(key=o["key"], title=o["title"], kind=o["kind"], indicators=[
                         Indicator.from_ledger(i, measures_by_indicator.get(i["key"], []))
                         for i in plan["indicators"].values() if i["objective_key"] == o["key"]])
                         for o in plan["objectives"].values() if o["axis_key"] == a["key"]])
                for a in plan["axes"].values()]
        return cls(id=strawberry.ID(plan_id), marche_id=strawberry.ID(plan["marche_id"]),
                   groupement_id=strawberry.ID(ledger["id"]), title=plan["title"],
                   closed=plan["bilan_final"] is not None, axes=axes,
                   actions=[Action.from_ledger(a) for a in plan["actions"].values()], resources=plan["resources"],
                   milestones=list(plan["milestones"].values()), gain_sharing=plan["gain_sharing"],
                   governance=plan["governance"],
                   all_proposals=[Proposal.from_ledger(p) for p in plan["proposals"].values()],
                   reviews=[Review.from_ledger(r) for r in plan["reviews"].values()])


@strawberry.type(description="A groupement de commandes: coordonnateur, members, marchés and plans.")
class Groupement:
    id: strawberry.ID
    code: str
    name: str
    purpose: str
    coordonnateur_id: strawberry.ID
    members: list[Membership]
    marches: list[Marche]
    plan_ids: list[strawberry.ID]
    small_modifications_reading: str = strawberry.field(
        description="How the groupement reads R2194-9's cumulated amount: net (the default, directive 2014/24 "
                    "art. 72(2)) or absolute (recorded by chooseSmallModificationsReading).")

    @classmethod
    def from_ledger(cls, ledger: dict[str, Any]) -> Groupement:
        g = ledger["groupement"]
        return cls(id=strawberry.ID(g["id"]), code=g["code"], name=g["name"], purpose=g["purpose"],
                   coordonnateur_id=strawberry.ID(g["coordonnateur_id"]),
                   members=[Membership(organisation_id=strawberry.ID(m["organisation_id"]), joined_on=m["joined_on"],
                                       left_on=m["left_on"], decision=m.get("decision"),
                                       decided_on=m.get("decided_on")) for m in g["memberships"]],
                   marches=[Marche.from_ledger(m) for m in ledger["marches"].values()],
                   plan_ids=[strawberry.ID(p) for p in ledger["plans"]],
                   small_modifications_reading=g.get("small_modifications_reading", "net"))


@strawberry.type(description="One event of the log, as the auditors' history index lists it.")
class Event:
    position: int
    groupement_id: strawberry.ID | None
    plan_id: strawberry.ID | None
    organisation_id: strawberry.ID | None
    aggregate_id: strawberry.ID
    version: int
    type: str = strawberry.field(description="e.g. Measure.Recorded, Marche.AvenantNotified.")
    timestamp: str

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Event:
        return cls(**row)


@strawberry.type(description="One step of an auditor's replay: an event and the plan's state after it.")
class ReplayStep:
    position: int
    timestamp: str
    type: str
    aggregate_id: strawberry.ID
    version: int
    data: JSON = strawberry.field(description="The event's own data, as stored.")
    plan: JSON = strawberry.field(description="The plan's state after the event (tree, activity, amount).")

    @classmethod
    def from_step(cls, step: dict[str, Any]) -> ReplayStep:
        return cls(position=step["position"], timestamp=step["timestamp"], type=step["type"],
                   aggregate_id=strawberry.ID(step["aggregate_id"]), version=step["version"], data=step["data"],
                   plan=step["plan"])


@strawberry.type(description="What one member sees of a plan: its indicators, actions, propositions, decisions.")
class MemberView:
    plan_id: strawberry.ID
    member_id: strawberry.ID
    position: int = strawberry.field(description="Log position the view reflects.")
    active: bool
    document: JSON = strawberry.field(description="The whole view (indicators with measures, actions, …).")

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> MemberView:
        return cls(plan_id=doc["plan_id"], member_id=doc["member_id"], position=doc["position"],
                   active=doc["active"], document=doc)


@strawberry.type(description="The bilan du plan: per axis and indicator, actions, propositions, avenants, gains.")
class PlanBalance:
    plan_id: strawberry.ID
    position: int = strawberry.field(description="Log position the balance reflects.")
    final: bool = strawberry.field(description="True once the plan is closed: the bilan final.")
    cumulative_change_percent: str | None
    document: JSON = strawberry.field(description="The whole balance, each figure with its log positions.")

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> PlanBalance:
        return cls(plan_id=doc["plan_id"], position=doc["position"], final=doc["final"],
                   cumulative_change_percent=doc["marche"]["cumulative_change_percent"], document=doc)


@strawberry.input(description="A document referenced by its content hash.")
class DocumentInput:
    sha256: str
    name: str
    media_type: str


@strawberry.input(description="Filters of the auditors' event list.")
class EventFilter:
    groupement_id: strawberry.ID | None = None
    plan_id: strawberry.ID | None = None
    organisation_id: strawberry.ID | None = None
    aggregate_id: strawberry.ID | None = None
    type: str | None = None
    since: str | None = strawberry.field(default=None, description="ISO 8601 time, inclusive.")
    until: str | None = strawberry.field(default=None, description="ISO 8601 time, inclusive.")


# Words of the glossary that describe the fields that carry them, wherever a field has no description.
GLOSSARY = {
    "id": "Stable identifier.", "code": "Code given by the buyers (DECP id for a marché).", "name": "Name.",
    "title": "Title, in the users' words.", "siret": "SIRET (14 digits, Luhn key checked).",
    "purpose": "Purpose stated by the convention constitutive.", "key": "Key, unique within the plan.",
    "organisation_id": "The organisation concerned.", "joined_on": "Date the membership starts.",
    "left_on": "Date the membership ends (exclusive), if it ended.", "coordonnateur_id": "The coordonnateur.",
    "members": "Members with their dates, the coordonnateur first.", "marches": "Marchés of the groupement.",
    "plan_ids": "Plans de progrès of the groupement's marchés.", "object": "Object of the marché.",
    "cpv": "CPV code.", "nature": "fournitures, services or travaux.", "duration_months": "Duration in months.",
    "notified_on": "Date of notification.", "titulaire_ids": "The titulaire(s).", "closed_on": "Date closed.",
    "avenants": "Avenants, in number order.", "number": "Number of the avenant, from 1.", "reason": "Why.",
    "signed_on": "Date signed.", "indicator_key": "Indicator measured.", "period_start": "First day of the period.",
    "period_end": "Last day of the period.", "source": "Where the figure comes from.", "unit": "Unit of measure.",
    "baseline": "Value at the start.", "target": "Final target.", "direction": "increase or decrease.",
    "periodicity": "monthly, quarterly, semestrial or yearly.", "indicators": "Indicators of the objective.",
    "description": "Description.", "objectives": "Objectives of the axis.", "axis_key": "Axis concerned.",
    "due_on": "Due date.", "status_on": "Date of the last status change.", "marche_id": "The marché.",
    "groupement_id": "The groupement.", "plan_id": "The plan de progrès.", "axes": "Axes of the plan.",
    "actions": "Actions of the plan.", "resources": "Moyens et ressources committed by each party.",
    "milestones": "Calendrier prévisionnel: dated milestones.", "gain_sharing": "Valeurs et partage des gains.",
    "governance": "Gouvernance: body, participants, review frequency.", "reviews": "Revues of the plan.",
    "author_id": "Organisation that submitted it.", "kind": "Kind.", "content": "What is proposed.",
    "expected_impact": "Expected impact, in words.", "expected_gain": "Expected gain, € HT a year.",
    "submitted_on": "Date submitted.", "decisions": "Decisions taken, with their reasons.",
    "scheduled_on": "Date planned.", "held_on": "Date held.", "participants": "Who took part, with their function.",
    "member_id": "The member.", "active": "Whether the member is active at the view's date.",
    "aggregate_id": "Entity the event belongs to.", "version": "Version of the entity after the event.",
    "timestamp": "Time the event was recorded (UTC).", "has_next_page": "More items follow.",
    "end_cursor": "Cursor of the last item, for `after`.", "edges": "Items of this page.", "cursor": "Cursor.",
    "node": "The item.", "page_info": "Pagination state.", "total_count": "Number of items in the whole list.",
    "sha256": "SHA-256 of the document's content.", "media_type": "Media type, e.g. application/pdf.",
    "duration_delta_months": "Change of the duration, in months.", "position": "Position in the log.",
    "cumulative_change_percent": "Cumulative change of the marché's amount against its initial amount, in %.",
    "since": "From this time (ISO 8601).", "until": "Until this time (ISO 8601).", "type": "Event type.",
}


def describe_fields(*types: type) -> None:
    for kind in types:
        for field_ in kind.__strawberry_definition__.fields:  # type: ignore[attr-defined]
            if not field_.description:
                field_.description = GLOSSARY.get(field_.python_name)
