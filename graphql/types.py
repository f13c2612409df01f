"""GraphQL types of progres, one per concept, each built from the read models by a `from_…` constructor."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import strawberry

from progres.graphql.context import off_loop
from progres.graphql.enums import (
    ActionStatus,
    AvenantStatus,
    BuyerKind,
    Direction,
    IndicatorKind,
    IndicatorScope,
    MarcheNature,
    ObjectiveKind,
    OrganisationKind,
    Party,
    Periodicity,
    ProposalKind,
    ProposalStatus,
    ReviewStatus,
    SmallModificationsReading,
)
from progres.graphql.enums import Aggregation as AggregationMode
from progres.graphql.error_codes import UserErrorCode
from progres.graphql.identity import Node
from progres.graphql.loaders import directory_of, ledgers_of
from progres.graphql.paging import (  # Edge, PageInfo and the cursors are still imported from here
    LIST_DEPRECATED,
    After,
    Before,
    Connection,
    Edge,  # noqa: F401
    First,
    Last,
    PageInfo,  # noqa: F401
    decode_cursor,  # noqa: F401
    encode_cursor,  # noqa: F401
    paginate,
)
from progres.graphql.values import (
    AvenantChanges,
    AvenantOrigin,
    Decision,
    DecpParticulars,
    GainSharing,
    Governance,
    MeasureCorrection,
    MemberStanding,
    Milestone,
    Participant,
    Resource,
    ReviewPoint,
    SmallModificationsCheck,
    TrajectoryStep,
)
from progres.projections.as_of import BalancePages
from progres.projections.ledger import DIRECTORY

if TYPE_CHECKING:
    from progres.graphql.views import (
        ActionTally,
        BalanceAvenant,
        BalanceAxis,
        BilanFinal,
        GainBalance,
        MarcheAmounts,
        MemberBalance,
        MemberIndicator,
        MemberParty,
        ProposalTally,
        ReplayedPlan,
        ReviewTally,
    )

VIEWS = "progres.graphql.views"  # the typed member view and balance (graphql/views.py), which import this module


async def organisation_of(info: strawberry.Info, organisation_id: str | None) -> Organisation | None:
    """An organisation a field names by its id (organisations are visible to every caller, as `organisations`)."""
    if not organisation_id:
        return None
    found = (await directory_of(info)).get(str(organisation_id))
    return Organisation.from_ledger(found) if found else None


async def marche_of_plan(info: strawberry.Info, groupement_id: str, plan_id: str) -> str:
    """The marché of a plan, from its groupement's ledger (a view's document names the plan only)."""
    ledger = (await ledgers_of(info, [groupement_id])).get(groupement_id) or {}
    return str(ledger.get("plans", {}).get(plan_id, {}).get("marche_id", ""))


async def node_of(info: strawberry.Info, kind: str, *parts: str) -> Any:
    """An object another one refers to, read through the same policy as `node(id:)` (null if hidden)."""
    from progres.graphql.nodes import load_node  # noqa: PLC0415 (nodes builds the types of this module)

    return await load_node(info, kind, *(str(p) for p in parts))


@strawberry.type(description="Pourquoi une commande a été refusée : un code stable, le champ en faute et un message "
                             "lisible.")
class UserError:
    code: UserErrorCode = strawberry.field(  # type: ignore[valid-type]
        description="Code d'erreur stable, ex. `measure_already_recorded`.")
    field: str | None = strawberry.field(description="Le champ de la commande en faute, s'il y en a un : dans "
                                                     "`userErrors`, un chemin de noms GraphQL (ex. `input.value`, "
                                                     "`input.measures.3.value`).")
    message: str = strawberry.field(description="Ce qui ne va pas et la règle qui le dit.")

    @classmethod
    def from_error(cls, error: Any) -> UserError:
        return cls(code=error.code, field=error.field, message=error.message)




@strawberry.type(description="Une organisation : un acheteur (collectivité, EPLE, service de l'État, hôpital, "
                             "établissement public, acheteur d'un autre État de l'UE), un fournisseur ou un organisme "
                             "d'audit.")
class Organisation(Node):
    id: strawberry.ID = strawberry.field(description="Identifiant métier de l'organisation (celui que prennent les "
                                                      "mutations) ; son identifiant global est `nodeId`.")
    siret: str | None = strawberry.field(description="Son SIRET ; null pour un acheteur d'un autre État de l'UE.")
    vat_number: str | None = strawberry.field(description="Numéro de TVA intracommunautaire d'un acheteur d'un autre "
                                                          "État de l'UE (L2113-8).")
    name: str
    kind: OrganisationKind = strawberry.field(description="Type d'organisation.")  # type: ignore[valid-type]

    def identity(self) -> tuple[str, ...]:
        return (str(self.id),)

    @classmethod
    def from_ledger(cls, data: dict[str, Any]) -> Organisation:
        return cls(id=strawberry.ID(data["id"]), siret=data.get("siret"), vat_number=data.get("vat_number"),
                   name=data["name"], kind=data["kind"])


@strawberry.type(description="L'adhésion d'une organisation au groupement, active entre deux dates.")
class Membership:
    organisation_id: strawberry.ID
    joined_on: str
    left_on: str | None
    decision_document: DocumentRef | None = strawberry.field(
        default=None, description="Sa délibération ou décision d'adhésion, par son empreinte ; null si elle n'a pas "
                                  "été enregistrée.")
    decided_on: str | None = strawberry.field(default=None, description="Date de sa décision d'adhésion (aaaa-mm-jj).")

    @strawberry.field(description="L'organisation membre (son nom, son SIRET…), à côté de `organisationId`.")
    async def organisation(self, info: strawberry.Info) -> Organisation | None:
        return await organisation_of(info, self.organisation_id)


@strawberry.type(description="Un document désigné par l'empreinte de son contenu (la plateforme garde la référence, "
                             "pas "
                             "le document).")
class DocumentRef:
    sha256: str
    name: str
    media_type: str


@strawberry.type(description="L'avis de la CAO sur un projet d'avenant (L1414-4 CGCT) : consultatif, requis avant "
                             "de signer un avenant qui augmente de plus de 5 % un marché qu'elle a attribué.")
class CaoOpinion:
    given_on: str = strawberry.field(description="Date de la séance de la CAO (aaaa-mm-jj).")
    favourable: bool = strawberry.field(description="Vrai si l'avis est favorable.")
    document: DocumentRef = strawberry.field(description="Le procès-verbal, par son empreinte.")

    @classmethod
    def from_ledger(cls, o: dict[str, Any] | None) -> CaoOpinion | None:
        if o is None:
            return None
        return cls(given_on=o["given_on"], favourable=o["favourable"], document=DocumentRef(**o["document"]))


@strawberry.type(description="Un avenant : modification du marché (CCP R2194-1 à R2194-9).")
class Avenant(Node):
    number: int
    basis: str = strawberry.field(description="Fondement juridique, ex. R2194-1 (clause de réexamen).")
    status: AvenantStatus = strawberry.field(description="Statut de l'avenant.")  # type: ignore[valid-type]
    reason: str
    amount_delta: str = strawberry.field(description="Variation du montant, en euros HT (négative pour une baisse), "
                                                     "nombre décimal en chaîne.")
    duration_delta_months: int
    cumulative_percent: str = strawberry.field(description="Variation cumulée par rapport au montant initial, en %.")
    needs_cao_opinion: bool = strawberry.field(description="Au-delà de 5 % : la CAO donne d'abord son avis.")
    signed_on: str | None
    notified_on: str | None
    proposed_on: str | None = strawberry.field(description="Date de l'avenant proposé : elle choisit le seuil "
                                                           "européen de R2194-8 (null pour les avenants proposés "
                                                           "avant que ces dates soient enregistrées).")
    cumulation: SmallModificationsReading | None = strawberry.field(  # type: ignore[valid-type]
        description="Comment R2194-9 a cumulé les modifications de faible montant à sa proposition.")
    small_modifications_check: SmallModificationsCheck | None = strawberry.field(
        description="R2194-8/-9 seulement : la lecture appliquée, le montant et le pourcentage cumulés, le "
                    "plafond et le seuil européen auxquels il a été comparé.")
    cao_opinion: CaoOpinion | None = strawberry.field(description="L'avis de la CAO, une fois enregistré.")
    changes: AvenantChanges = strawberry.field(description="Ce que change l'avenant : montant, durée, titulaires, "
                                                           "plan.")
    origin: AvenantOrigin | None = strawberry.field(description="La décision de revue dont il découle, le cas "
                                                                "échéant.")
    proposed_position: int | None = strawberry.field(description="Position du journal de sa proposition.")
    notified_position: int | None = strawberry.field(description="Position du journal de sa notification.")
    marche_id: strawberry.Private[str] = ""

    def identity(self) -> tuple[str, ...]:
        return (self.marche_id, str(self.number))

    @strawberry.field(description="Le marché que l'avenant modifie.")
    async def marche(self, info: strawberry.Info) -> Marche | None:
        return await node_of(info, "Marche", self.marche_id)  # type: ignore[no-any-return]

    @classmethod
    def from_ledger(cls, a: dict[str, Any], marche_id: str = "") -> Avenant:
        return cls(number=a["number"], basis=a["basis"], status=a["status"], reason=a["reason"],
                   amount_delta=a["changes"]["amount_delta"],
                   duration_delta_months=a["changes"]["duration_delta_months"],
                   cumulative_percent=a["cumulative_percent"], needs_cao_opinion=a["needs_cao_opinion"],
                   signed_on=a["signed_on"], notified_on=a["notified_on"], proposed_on=a.get("proposed_on"),
                   cumulation=a.get("cumulation"),
                   small_modifications_check=SmallModificationsCheck.from_ledger(a.get("small_modifications")),
                   cao_opinion=CaoOpinion.from_ledger(a.get("cao_opinion")),
                   changes=AvenantChanges.from_ledger(a["changes"]),
                   origin=AvenantOrigin.from_ledger(a.get("decision")),
                   proposed_position=a.get("position"), notified_position=a.get("notified_position"),
                   marche_id=marche_id)


@strawberry.type(description="Le marché public attribué par le groupement (le marché des DECP).")
class Marche(Node):
    id: strawberry.ID = strawberry.field(description="Identifiant métier du marché (celui que prennent les "
                                                      "mutations) ; son identifiant global est `nodeId`.")
    code: str = strawberry.field(description="Identifiant DECP, au plus 16 caractères.")
    object: str
    cpv: str
    nature: MarcheNature = strawberry.field(description="Nature du marché.")  # type: ignore[valid-type]
    initial_amount: str = strawberry.field(description="Montant initial, en euros HT (nombre décimal en chaîne).")
    duration_months: int
    notified_on: str
    launched_on: str = strawberry.field(description="Date de lancement de sa consultation (aaaa-mm-jj) : ses "
                                                    "parties sont les membres de ce jour (QE 100136 de 2011).")
    party_ids: list[strawberry.ID] | None = strawberry.field(
        description="Les membres parties au marché, fixés à son lancement (null : marché notifié avant "
                    "l'enregistrement des parties, dont les parties sont les membres du jour du lancement).",
        deprecation_reason=LIST_DEPRECATED.format("parties"))
    titulaire_ids: list[strawberry.ID]
    closed_on: str | None
    avenants: list[Avenant] = strawberry.field(description="Les avenants, dans l'ordre de leurs numéros.",
                                               deprecation_reason=LIST_DEPRECATED.format("allAvenants"))
    buyer_kind: BuyerKind = strawberry.field(  # type: ignore[valid-type]
        description="Colonne des seuils européens qui s'applique à l'acheteur.")
    awarded_by_cao: bool = strawberry.field(description="Vrai si la CAO l'a attribué (L1414-4 CGCT s'applique alors).")
    decp_particulars: DecpParticulars = strawberry.field(
        description="Ce que les DECP en publient (procédure, CCAG, prix…), corrigé depuis la notification.")
    groupement_id: strawberry.Private[str] = ""

    def identity(self) -> tuple[str, ...]:
        return (str(self.id),)

    @strawberry.field(description="Les avenants du marché, dans l'ordre de leurs numéros, page par page.")
    def all_avenants(self, first: First = None, after: After = None, last: Last = None,
                     before: Before = None) -> Connection[Avenant]:
        return paginate(self.avenants, first, after, last, before)

    @strawberry.field(description="Les membres parties au marché, fixés à son lancement, page par page (vide pour un "
                                  "marché notifié avant l'enregistrement des parties : ce sont alors les membres du "
                                  "jour du lancement).")
    async def parties(self, info: strawberry.Info, first: First = None, after: After = None, last: Last = None,
                      before: Before = None) -> Connection[Organisation]:
        directory = await directory_of(info)
        found = [Organisation.from_ledger(directory[p]) for p in self.party_ids or [] if p in directory]
        return paginate(found, first, after, last, before)

    @strawberry.field(description="Le ou les titulaires du marché (leur nom, leur SIRET…), à côté de "
                                  "`titulaireIds`.")
    async def titulaires(self, info: strawberry.Info) -> list[Organisation]:
        directory = await directory_of(info)
        return [Organisation.from_ledger(directory[t]) for t in self.titulaire_ids if t in directory]

    @strawberry.field(description="Le groupement qui a attribué le marché.")
    async def groupement(self, info: strawberry.Info) -> Groupement | None:
        return await node_of(info, "Groupement", self.groupement_id)  # type: ignore[no-any-return]

    @classmethod
    def from_ledger(cls, m: dict[str, Any], groupement_id: str = "") -> Marche:
        parties = m.get("party_ids")
        return cls(id=strawberry.ID(m["id"]), code=m["code"], object=m["object"], cpv=m["cpv"], nature=m["nature"],
                   initial_amount=m["initial_amount"], duration_months=m["duration_months"],
                   notified_on=m["notified_on"], titulaire_ids=[strawberry.ID(t) for t in m["titulaire_ids"]],
                   launched_on=m.get("launched_on") or m["notified_on"],
                   party_ids=[strawberry.ID(p) for p in parties] if parties is not None else None,
                   closed_on=m["closed_on"], buyer_kind=m.get("buyer_kind", "pouvoir_adjudicateur"),
                   awarded_by_cao=m.get("awarded_by_cao", True),
                   decp_particulars=DecpParticulars.from_ledger(m.get("particulars") or {}),
                   avenants=[Avenant.from_ledger(a, m["id"]) for a in sorted(m["avenants"].values(),
                                                                             key=lambda a: a["number"])],
                   groupement_id=groupement_id)


@strawberry.type(description="Une mesure : la valeur d'un indicateur pour un membre (ou le groupement) et une période.")
class Measure(Node):
    id: strawberry.ID = strawberry.field(description="Identifiant métier de la mesure (celui que prennent les "
                                                      "mutations) ; son identifiant global est `nodeId`.")
    indicator_key: str
    member_id: strawberry.ID | None = strawberry.field(description="Null pour une mesure de tout le groupement.")
    period_start: str
    period_end: str
    value: str | None = strawberry.field(description="La valeur, pour un indicateur quantitatif (nombre décimal en "
                                                               "chaîne).")
    assessment: str | None = strawberry.field(description="L'appréciation, pour un indicateur qualitatif.")
    source: str
    correction_history: list[MeasureCorrection] = strawberry.field(
        description="Les valeurs antérieures, chacune avec le motif de sa correction, dans l'ordre.")
    positions: list[int] = strawberry.field(description="Positions du journal de l'enregistrement et de ses "
                                                        "corrections.")
    recorded_at: str | None = strawberry.field(description="Heure d'enregistrement : celle du serveur, jamais "
                                                           "envoyée par le client.")
    declared_on: str | None = strawberry.field(description="La date métier déclarée par qui l'a enregistrée "
                                                          "(aaaa-mm-jj).")
    partial: bool = strawberry.field(description="Vrai pour une période du calendrier coupée par le début ou la fin "
                                                 "du marché.")

    def identity(self) -> tuple[str, ...]:
        return (str(self.id),)

    @strawberry.field(description="Le membre dont c'est la mesure (son nom, son SIRET…), à côté de `memberId` ; null "
                                  "pour une mesure de tout le groupement.")
    async def member(self, info: strawberry.Info) -> Organisation | None:
        return await organisation_of(info, self.member_id)

    @classmethod
    def from_ledger(cls, m: dict[str, Any]) -> Measure:
        return cls(id=strawberry.ID(m["id"]), indicator_key=m["indicator_key"],
                   member_id=strawberry.ID(m["member_id"]) if m["member_id"] else None,
                   period_start=m["period_start"], period_end=m["period_end"], value=m["value"],
                   assessment=m["assessment"], source=m["source"],
                   correction_history=[MeasureCorrection.from_ledger(c) for c in m["corrections"]],
                   positions=m["positions"], recorded_at=m.get("recorded_at"), declared_on=m.get("declared_on"),
                   partial=bool(m.get("partial")))


@strawberry.type(description="Un indicateur : quantitatif (avec unité et cible) ou qualitatif.")
class Indicator(Node):
    key: str
    name: str
    kind: IndicatorKind = strawberry.field(description="Nature de l'indicateur.")  # type: ignore[valid-type]
    unit: str | None
    baseline: str | None
    target: str | None
    trajectory_steps: list[TrajectoryStep] = strawberry.field(
        description="Les paliers datés de la cible, ex. une part abaissée d'année en année, dans l'ordre des dates.")
    direction: Direction | None = strawberry.field(description="Sens souhaité.")  # type: ignore[valid-type]
    periodicity: Periodicity = strawberry.field(  # type: ignore[valid-type]
        description="Périodicité des mesures.")
    scope: IndicatorScope = strawberry.field(description="Portée de l'indicateur.")  # type: ignore[valid-type]
    aggregation: AggregationMode = strawberry.field(  # type: ignore[valid-type]
        description="Comment les valeurs des membres se combinent.")
    plan_measures: strawberry.Private[list[dict[str, Any]]]
    plan_id: strawberry.Private[str] = ""

    def identity(self) -> tuple[str, ...]:
        return (self.plan_id, self.key)

    @strawberry.field(description="Les mesures de cet indicateur que l'appelant peut voir, dans l'ordre des "
                                  "périodes.")
    def measures(self, first: First = None, after: After = None, last: Last = None,
                 before: Before = None) -> Connection[Measure]:
        items = sorted(self.plan_measures, key=lambda m: (m["period_start"], m["member_id"] or ""))
        return paginate(items, first, after, last, before, build=Measure.from_ledger)

    @classmethod
    def from_ledger(cls, i: dict[str, Any], measures: list[dict[str, Any]], plan_id: str = "") -> Indicator:
        return cls(key=i["key"], name=i["name"], kind=i["kind"], unit=i.get("unit"), baseline=i.get("baseline"),
                   target=i.get("target"), direction=i.get("direction"),
                   trajectory_steps=[TrajectoryStep.from_ledger(t) for t in i.get("trajectory") or []],
                   periodicity=i["periodicity"], scope=i["scope"], aggregation=i["aggregation"],
                   plan_measures=measures, plan_id=plan_id)


@strawberry.type(description="Un objectif : une obligation de moyens ou de résultats.")
class Objective(Node):
    key: str
    title: str
    kind: ObjectiveKind = strawberry.field(description="Nature de l'obligation.")  # type: ignore[valid-type]
    indicators: list[Indicator]
    plan_id: strawberry.Private[str] = ""

    def identity(self) -> tuple[str, ...]:
        return (self.plan_id, self.key)


@strawberry.type(description="Un axe du plan de progrès.")
class Axis(Node):
    key: str
    title: str
    description: str
    added_by_avenant: int | None = strawberry.field(description="Numéro de l'avenant qui l'a ajouté, le cas échéant.")
    objectives: list[Objective]
    plan_id: strawberry.Private[str] = ""

    def identity(self) -> tuple[str, ...]:
        return (self.plan_id, self.key)


@strawberry.type(description="Un changement de statut d'une action.")
class ActionStep:
    status: ActionStatus = strawberry.field(description="Le nouveau statut.")  # type: ignore[valid-type]
    on: date = strawberry.field(description="Date du changement (aaaa-mm-jj).")
    note: str = strawberry.field(description="Commentaire sur le changement (vide s'il n'y en a pas).")


@strawberry.type(description="Une action du plan, portée par le titulaire, l'acheteur ou les deux.")
class Action(Node):
    key: str
    axis_key: str
    title: str
    owner: Party = strawberry.field(description="Qui la porte.")  # type: ignore[valid-type]
    due_on: str
    status: ActionStatus = strawberry.field(description="Statut de l'action.")  # type: ignore[valid-type]
    status_on: str | None
    owner_organisation_id: strawberry.ID | None = strawberry.field(
        description="L'organisation qui la porte, si elle est nommée.")
    member_ids: list[strawberry.ID] = strawberry.field(description="Les membres qu'elle concerne (vide : tous).")
    history: list[ActionStep] = strawberry.field(description="Ses changements de statut, dans l'ordre.")
    plan_id: strawberry.Private[str] = ""

    def identity(self) -> tuple[str, ...]:
        return (self.plan_id, self.key)

    @strawberry.field(description="L'organisation qui la porte (son nom, son SIRET…), si elle est nommée, à côté de "
                                  "`ownerOrganisationId`.")
    async def owner_organisation(self, info: strawberry.Info) -> Organisation | None:
        return await organisation_of(info, self.owner_organisation_id)

    @strawberry.field(description="Les membres qu'elle concerne (leur nom, leur SIRET…), à côté de `memberIds` ; "
                                  "vide : tous.")
    async def members(self, info: strawberry.Info) -> list[Organisation]:
        directory = await directory_of(info)
        return [Organisation.from_ledger(directory[m]) for m in self.member_ids if m in directory]

    @classmethod
    def from_ledger(cls, a: dict[str, Any], plan_id: str = "") -> Action:
        owner_organisation = a.get("owner_organisation_id")
        return cls(key=a["key"], axis_key=a["axis_key"], title=a["title"], owner=a["owner"], due_on=a["due_on"],
                   status=a["status"], status_on=a["status_on"],
                   owner_organisation_id=strawberry.ID(owner_organisation) if owner_organisation else None,
                   member_ids=[strawberry.ID(m) for m in a.get("member_ids") or []],
                   history=[ActionStep(status=h["status"], on=date.fromisoformat(h["on"]), note=h.get("note") or "")
                            for h in a.get("history") or []], plan_id=plan_id)


@strawberry.type(description="Une proposition : une amélioration avancée par un membre, le coordonnateur ou le "
                             "titulaire.")
class Proposal(Node):
    id: strawberry.ID = strawberry.field(description="Identifiant métier de la proposition (celui que prennent les "
                                                      "mutations) ; son identifiant global est `nodeId`.")
    author_id: strawberry.ID
    axis_key: str
    kind: ProposalKind = strawberry.field(description="Type de proposition.")  # type: ignore[valid-type]
    title: str
    content: str
    expected_impact: str
    expected_gain: str | None
    submitted_on: str
    status: ProposalStatus = strawberry.field(description="Statut de la proposition.")  # type: ignore[valid-type]
    decision_list: strawberry.Private[list[Decision]]

    @strawberry.field(description="Les décisions prises en revue sur cette proposition, dans l'ordre.")
    def decisions_taken(self, first: First = None, after: After = None, last: Last = None,
                        before: Before = None) -> Connection[Decision]:
        return paginate(self.decision_list, first, after, last, before)

    def identity(self) -> tuple[str, ...]:
        return (str(self.id),)

    @strawberry.field(description="L'organisation qui l'a soumise (son nom, son SIRET…), à côté de `authorId`.")
    async def author(self, info: strawberry.Info) -> Organisation | None:
        return await organisation_of(info, self.author_id)

    @classmethod
    def from_ledger(cls, p: dict[str, Any]) -> Proposal:
        return cls(id=strawberry.ID(p["id"]), author_id=strawberry.ID(p["author_id"]), axis_key=p["axis_key"],
                   kind=p["kind"], title=p["title"], content=p["content"], expected_impact=p["expected_impact"],
                   expected_gain=p["expected_gain"], submitted_on=p["submitted_on"], status=p["status"],
                   decision_list=[Decision.from_ledger(d, d["review_id"], p["id"], d.get("on"))
                                  for d in p["decisions"]])


@strawberry.type(description="Une revue (ex. bilan semestriel) : participants, points soulevés, décisions.")
class Review(Node):
    id: strawberry.ID = strawberry.field(description="Identifiant métier de la revue (celui que prennent les "
                                                      "mutations) ; son identifiant global est `nodeId`.")
    title: str
    scheduled_on: str
    status: ReviewStatus = strawberry.field(description="Statut de la revue.")  # type: ignore[valid-type]
    held_on: str | None
    attendees: list[Participant] = strawberry.field(description="Les participants, avec leur fonction.")
    point_list: strawberry.Private[list[ReviewPoint]]
    decision_list: strawberry.Private[list[Decision]]

    @strawberry.field(description="Contraintes, besoins, difficultés et idées soulevés, et par qui, dans l'ordre.")
    def raised_points(self, first: First = None, after: After = None, last: Last = None,
                      before: Before = None) -> Connection[ReviewPoint]:
        return paginate(self.point_list, first, after, last, before)

    @strawberry.field(description="Les décisions prises sur des propositions, avec leurs motifs, dans l'ordre.")
    def decisions_taken(self, first: First = None, after: After = None, last: Last = None,
                        before: Before = None) -> Connection[Decision]:
        return paginate(self.decision_list, first, after, last, before)

    def identity(self) -> tuple[str, ...]:
        return (str(self.id),)

    @classmethod
    def from_ledger(cls, r: dict[str, Any]) -> Review:
        return cls(id=strawberry.ID(r["id"]), title=r["title"], scheduled_on=r["scheduled_on"], status=r["status"],
                   held_on=r["held_on"], attendees=[Participant.from_ledger(p) for p in r["participants"]],
                   point_list=[ReviewPoint.from_ledger(p) for p in r["points"]],
                   decision_list=[Decision.from_ledger(d, r["id"], d["proposal_id"], r["held_on"])
                                  for d in r["decisions"]])


@strawberry.type(description="Un plan de progrès : son arbre, ses engagements et sa vie.")
class Plan(Node):
    id: strawberry.ID = strawberry.field(description="Identifiant métier du plan (celui que prennent les mutations) ; "
                                                      "son identifiant global est `nodeId`.")
    marche_id: strawberry.ID
    groupement_id: strawberry.ID
    title: str
    closed: bool = strawberry.field(description="Vrai une fois le plan clos par son bilan final.")
    axes: list[Axis]
    actions: list[Action] = strawberry.field(description="Les actions du plan.",
                                             deprecation_reason=LIST_DEPRECATED.format("allActions"))
    gain_sharing_rule: GainSharing | None = strawberry.field(
        description="Valeurs et partage des gains (null tant que le plan ne l'a pas défini).")
    governance_rule: Governance | None = strawberry.field(
        description="Gouvernance : instance, participants, fréquence des revues (null tant qu'elle n'est pas "
                    "définie).")
    resource_list: strawberry.Private[list[Resource]]
    milestone_list: strawberry.Private[list[Milestone]]
    all_proposals: strawberry.Private[list[Proposal]]
    reviews: list[Review] = strawberry.field(description="Les revues du plan.",
                                             deprecation_reason=LIST_DEPRECATED.format("allReviews"))

    def identity(self) -> tuple[str, ...]:
        return (str(self.id),)

    @strawberry.field(description="Moyens et ressources engagés par chaque partie, dans l'ordre de leur engagement.")
    def committed_resources(self, first: First = None, after: After = None, last: Last = None,
                            before: Before = None) -> Connection[Resource]:
        return paginate(self.resource_list, first, after, last, before)

    @strawberry.field(description="Calendrier prévisionnel : les jalons datés, dans l'ordre de leur inscription.")
    def calendar(self, first: First = None, after: After = None, last: Last = None,
                 before: Before = None) -> Connection[Milestone]:
        return paginate(self.milestone_list, first, after, last, before)

    @strawberry.field(description="Les propositions, dans l'ordre de leur soumission (50 par page sans `first` ni "
                                  "`last`).")
    def proposals(self, first: First = None, after: After = None, last: Last = None,
                  before: Before = None) -> Connection[Proposal]:
        return paginate(self.all_proposals, first, after, last, before, default=50)

    @strawberry.field(description="Les actions du plan, dans l'ordre de leur inscription, page par page.")
    def all_actions(self, first: First = None, after: After = None, last: Last = None,
                    before: Before = None) -> Connection[Action]:
        return paginate(self.actions, first, after, last, before)

    @strawberry.field(description="Les revues du plan, dans l'ordre de leur programmation, page par page.")
    def all_reviews(self, first: First = None, after: After = None, last: Last = None,
                    before: Before = None) -> Connection[Review]:
        return paginate(self.reviews, first, after, last, before)

    @strawberry.field(description="Le marché du plan, tel qu'il est maintenant.")
    async def marche(self, info: strawberry.Info) -> Marche | None:
        return await node_of(info, "Marche", self.marche_id)  # type: ignore[no-any-return]

    @strawberry.field(description="Le groupement du plan, tel qu'il est maintenant.")
    async def groupement(self, info: strawberry.Info) -> Groupement | None:
        return await node_of(info, "Groupement", self.groupement_id)  # type: ignore[no-any-return]

    @classmethod
    def from_ledger(cls, ledger: dict[str, Any], plan_id: str, visible_members: set[str] | None) -> Plan:
        plan = ledger["plans"][plan_id]
        measures_by_indicator: dict[str, list[dict[str, Any]]] = {}
        for m in plan["measures"].values():
            if visible_members is None or m["member_id"] is None or m["member_id"] in visible_members:
                measures_by_indicator.setdefault(m["indicator_key"], []).append(m)
        axes = [Axis(key=a["key"], title=a["title"], description=a["description"],
                     added_by_avenant=a["added_by_avenant"], plan_id=plan_id,
                     objectives=[Objective(key=o["key"], title=o["title"], kind=o["kind"], plan_id=plan_id, indicators=[
                         Indicator.from_ledger(i, measures_by_indicator.get(i["key"], []), plan_id)
                         for i in plan["indicators"].values() if i["objective_key"] == o["key"]])
                         for o in plan["objectives"].values() if o["axis_key"] == a["key"]])
                for a in plan["axes"].values()]
        return cls(id=strawberry.ID(plan_id), marche_id=strawberry.ID(plan["marche_id"]),
                   groupement_id=strawberry.ID(ledger["id"]), title=plan["title"],
                   closed=plan["bilan_final"] is not None, axes=axes,
                   actions=[Action.from_ledger(a, plan_id) for a in plan["actions"].values()],
                   gain_sharing_rule=GainSharing.from_ledger(plan["gain_sharing"]),
                   governance_rule=Governance.from_ledger(plan["governance"]),
                   resource_list=[Resource.from_ledger(r) for r in plan["resources"]],
                   milestone_list=[Milestone.from_ledger(m) for m in plan["milestones"].values()],
                   all_proposals=[Proposal.from_ledger(p) for p in plan["proposals"].values()],
                   reviews=[Review.from_ledger(r) for r in plan["reviews"].values()])


@strawberry.type(description="Un groupement de commandes : coordonnateur, membres, marchés et plans.")
class Groupement(Node):
    id: strawberry.ID = strawberry.field(description="Identifiant métier du groupement (celui que prennent les "
                                                      "mutations) ; son identifiant global est `nodeId`.")
    code: str
    name: str
    purpose: str
    coordonnateur_id: strawberry.ID
    members: list[Membership] = strawberry.field(description="Les membres avec leurs dates, le coordonnateur en "
                                                             "premier.",
                                                 deprecation_reason=LIST_DEPRECATED.format("memberships"))
    marches: list[Marche] = strawberry.field(description="Les marchés du groupement.",
                                             deprecation_reason=LIST_DEPRECATED.format("allMarches"))
    plan_ids: list[strawberry.ID] = strawberry.field(description="Les plans de progrès des marchés du groupement.",
                                                     deprecation_reason=LIST_DEPRECATED.format("plans"))
    small_modifications_reading: SmallModificationsReading = strawberry.field(  # type: ignore[valid-type]
        description="Comment le groupement lit le montant cumulé de R2194-9 : net par défaut, ou celle consignée "
                    "par chooseSmallModificationsReading.")

    def identity(self) -> tuple[str, ...]:
        return (str(self.id),)

    @strawberry.field(description="Les adhésions au groupement (membres avec leurs dates, le coordonnateur en "
                                  "premier), page par page.")
    def memberships(self, first: First = None, after: After = None, last: Last = None,
                    before: Before = None) -> Connection[Membership]:
        return paginate(self.members, first, after, last, before)

    @strawberry.field(description="Les marchés du groupement, dans l'ordre de leur notification, page par page.")
    def all_marches(self, first: First = None, after: After = None, last: Last = None,
                    before: Before = None) -> Connection[Marche]:
        return paginate(self.marches, first, after, last, before)

    @strawberry.field(description="Les plans de progrès des marchés du groupement, page par page (chacun tel que "
                                  "l'appelant peut le voir, comme `plan(id:)`).")
    async def plans(self, info: strawberry.Info, first: First = None, after: After = None, last: Last = None,
                    before: Before = None) -> Connection[Plan]:
        page = paginate(self.plan_ids, first, after, last, before)
        for edge in page.edges:
            edge.node = await node_of(info, "Plan", edge.node)
        return page

    @strawberry.field(description="Le coordonnateur du groupement (son nom, son SIRET…), à côté de "
                                  "`coordonnateurId`.")
    async def coordonnateur(self, info: strawberry.Info) -> Organisation | None:
        return await organisation_of(info, self.coordonnateur_id)

    @classmethod
    def from_ledger(cls, ledger: dict[str, Any]) -> Groupement:
        g = ledger["groupement"]
        return cls(id=strawberry.ID(g["id"]), code=g["code"], name=g["name"], purpose=g["purpose"],
                   coordonnateur_id=strawberry.ID(g["coordonnateur_id"]),
                   members=[Membership(organisation_id=strawberry.ID(m["organisation_id"]), joined_on=m["joined_on"],
                                       left_on=m["left_on"],
                                       decision_document=DocumentRef(**m["decision"]) if m.get("decision") else None,
                                       decided_on=m.get("decided_on")) for m in g["memberships"]],
                   marches=[Marche.from_ledger(m, g["id"]) for m in ledger["marches"].values()],
                   plan_ids=[strawberry.ID(p) for p in ledger["plans"]],
                   small_modifications_reading=g.get("small_modifications_reading", "net"))


@strawberry.type(description="Un événement du journal, tel que l'index d'historique des auditeurs le liste.")
class Event:
    position: int
    groupement_id: strawberry.ID | None
    plan_id: strawberry.ID | None
    organisation_id: strawberry.ID | None
    aggregate_id: strawberry.ID
    version: int
    type: str = strawberry.field(description="Type d'événement, ex. Measure.Recorded, "
                                             "Marche.AvenantNotified.")
    timestamp: str

    @strawberry.field(description="L'organisation qui a agi (son nom, son SIRET…), à côté de `organisationId`.")
    async def organisation(self, info: strawberry.Info) -> Organisation | None:
        return await organisation_of(info, self.organisation_id)

    @strawberry.field(description="Le groupement de l'événement, tel qu'il est maintenant (null pour un événement de "
                                  "l'annuaire des organisations).")
    async def groupement(self, info: strawberry.Info) -> Groupement | None:
        found = self.groupement_id
        return await node_of(info, "Groupement", found) if found and found != DIRECTORY else None

    @strawberry.field(description="Le plan de l'événement, tel que l'appelant peut le voir maintenant (null pour un "
                                  "événement qui ne touche pas un plan).")
    async def plan(self, info: strawberry.Info) -> Plan | None:
        return await node_of(info, "Plan", self.plan_id) if self.plan_id else None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Event:
        return cls(**row)


@strawberry.type(description="Une étape du rejeu d'un auditeur : un événement et l'état du plan après lui.")
class ReplayStep:
    position: int
    timestamp: str
    type: str
    aggregate_id: strawberry.ID
    version: int
    recorded_data: str = strawberry.field(
        description="Les données de l'événement telles qu'enregistrées, en texte JSON : leur forme est celle de son "
                    "type et de sa version (docs/domain.md), que le contrat ne fige pas ; à lire avec `type` et "
                    "`version`, comme un document.")
    plan: strawberry.Private[dict[str, Any]]

    @strawberry.field(description="L'état du plan après l'événement : son arbre, son activité, le montant de son "
                                  "marché.")
    def plan_state(self) -> Annotated[ReplayedPlan, strawberry.lazy(VIEWS)]:
        from progres.graphql.views import ReplayedPlan  # noqa: PLC0415 (views imports this module)

        return ReplayedPlan.from_step(self.plan)

    @classmethod
    def from_step(cls, step: dict[str, Any]) -> ReplayStep:
        return cls(position=step["position"], timestamp=step["timestamp"], type=step["type"],
                   aggregate_id=strawberry.ID(step["aggregate_id"]), version=step["version"],
                   recorded_data=orjson.dumps(step["data"], default=str).decode(), plan=step["plan"])


def paginate_as(items: list[Any], first: int | None, after: str | None, build: Any, last: int | None = None,
                before: str | None = None) -> Connection[Any]:
    """A page of a document's list, only the page's items built as typed objects."""
    return paginate(items, first, after, last, before, build=build)


@strawberry.type(description="Ce qu'un membre voit d'un plan : ses indicateurs, actions, propositions, décisions.")
class MemberView:
    """Built from the member view's document; each typed field reads its part of it when asked for."""

    plan_id: strawberry.ID
    member_id: strawberry.ID
    position: int = strawberry.field(description="Position du journal que la vue reflète.")
    active: bool
    document: strawberry.Private[dict[str, Any]]  # the member view's document, read by the typed fields

    @strawberry.field(description="Le groupement du plan ; null avant que rien du plan ne soit enregistré (état "
                                  "vide, avec sa notice).")
    def groupement_id(self) -> strawberry.ID | None:
        found = self.document["groupement_id"]
        return strawberry.ID(found) if found else None

    @strawberry.field(description="Le jour que la vue reflète (aaaa-mm-jj) : celui du dernier événement lu, ou la "
                                  "date métier demandée ; null pour un état vide sans date demandée.")
    def as_of_day(self) -> date | None:
        found = self.document["as_of_day"]
        return date.fromisoformat(found) if found else None

    @strawberry.field(description="La place du membre dans le marché du plan ; null avant que rien du plan ne soit "
                                  "enregistré.")
    def standing(self) -> MemberStanding | None:
        found = self.document["standing"]
        return MemberStanding.from_ledger(found) if found else None

    @strawberry.field(description="Chaque indicateur du plan avec les mesures du membre et les chiffres du "
                                  "groupement.")
    def indicators(self) -> list[Annotated[MemberIndicator, strawberry.lazy(VIEWS)]]:
        from progres.graphql.views import MemberIndicator  # noqa: PLC0415 (views imports this module)

        return [MemberIndicator.from_doc(i) for i in self.document["indicators"]]

    @strawberry.field(description="Les actions du plan qui concernent le membre (toutes celles qui ne nomment pas "
                                  "de membres, et celles qui le nomment).")
    def actions(self, first: First = None, after: After = None, last: Last = None,
                before: Before = None) -> Connection[Action]:
        return paginate_as(self.document["actions"], first, after, lambda a: Action.from_ledger(a, self.plan_id),
                           last, before)

    @strawberry.field(description="Les propositions que le membre a soumises, dans l'ordre de leur soumission.")
    def proposals(self, first: First = None, after: After = None, last: Last = None,
                  before: Before = None) -> Connection[Proposal]:
        return paginate_as(self.document["proposals"], first, after, Proposal.from_ledger, last, before)

    @strawberry.field(description="Les décisions prises en revue, revue par revue.")
    def decisions(self, first: First = None, after: After = None, last: Last = None,
                  before: Before = None) -> Connection[Decision]:
        return paginate_as(self.document["decisions"], first, after,
                           lambda d: Decision.from_ledger(d, d["review_id"], d["proposal_id"], d["held_on"]),
                           last, before)

    @strawberry.field(description="Les avenants en vigueur (notifiés), dans l'ordre de leur proposition.")
    async def avenants(self, info: strawberry.Info, first: First = None, after: After = None, last: Last = None,
                       before: Before = None) -> Connection[Avenant]:
        marche_id = await marche_of_plan(info, str(self.document["groupement_id"]), str(self.plan_id))
        return paginate_as(self.document["avenants"], first, after, lambda a: Avenant.from_ledger(a, marche_id),
                           last, before)

    @strawberry.field(description="Le groupement du plan, tel qu'il est maintenant.")
    async def groupement(self, info: strawberry.Info) -> Groupement | None:
        return await node_of(info, "Groupement", self.document["groupement_id"])  # type: ignore[no-any-return]

    @strawberry.field(description="Le plan de la vue, tel que le membre peut le voir maintenant.")
    async def plan(self, info: strawberry.Info) -> Plan | None:
        return await node_of(info, "Plan", self.plan_id)  # type: ignore[no-any-return]

    @strawberry.field(description="Le membre de la vue (son nom, son SIRET…), à côté de `memberId`.")
    async def member(self, info: strawberry.Info) -> Organisation | None:
        return await organisation_of(info, self.member_id)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> MemberView:
        return cls(plan_id=doc["plan_id"], member_id=doc["member_id"], position=doc["position"],
                   active=doc["active"], document=doc)


@strawberry.type(description="Le bilan du plan : par axe et indicateur, les actions, propositions, avenants et gains.")
class PlanBalance:
    """Built from the balance's document; each typed field reads its part of it when asked for."""

    plan_id: strawberry.ID
    position: int = strawberry.field(description="Position du journal que le bilan reflète.")
    final: bool = strawberry.field(description="Vrai une fois le plan clos : c'est le bilan final.")
    cumulative_change_percent: str | None
    document: strawberry.Private[dict[str, Any]]  # the balance's document, read by the typed fields
    # as known at a past moment (AsOf): the members' breakdowns made for the page `members` resolves only
    pages: strawberry.Private[BalancePages | None] = None

    @strawberry.field(description="Le groupement du plan ; null avant que rien du plan ne soit enregistré (état "
                                  "vide, avec sa notice).")
    def groupement_id(self) -> strawberry.ID | None:
        found = self.document["groupement_id"]
        return strawberry.ID(found) if found else None

    @strawberry.field(description="Intitulé du plan ; null avant que rien du plan ne soit enregistré.")
    def title(self) -> str | None:
        found = self.document["title"]
        return None if found is None else str(found)

    @strawberry.field(description="Le jour que le bilan reflète (aaaa-mm-jj) : celui du dernier événement lu, ou la "
                                  "date métier demandée ; null pour un état vide sans date demandée.")
    def as_of_day(self) -> date | None:
        found = self.document["as_of_day"]
        return date.fromisoformat(found) if found else None

    @strawberry.field(description="Le bilan final, une fois le plan clos.")
    def bilan_final(self) -> Annotated[BilanFinal, strawberry.lazy(VIEWS)] | None:
        from progres.graphql.views import BilanFinal  # noqa: PLC0415 (views imports this module)

        found = self.document.get("bilan_final")
        return BilanFinal(on=date.fromisoformat(found["on"]), summary=found["summary"],
                          position=found.get("position")) if found else None

    @strawberry.field(description="Par axe, objectif et indicateur : les chiffres du groupement et comment ils ont "
                                  "été faits.")
    def axes(self) -> list[Annotated[BalanceAxis, strawberry.lazy(VIEWS)]]:
        from progres.graphql.views import BalanceAxis  # noqa: PLC0415

        return [BalanceAxis.from_doc(a) for a in self.document["axes"]]

    @strawberry.field(description="Les actions de chaque partie, comptées par état.")
    def actions_by_owner(self) -> list[Annotated[ActionTally, strawberry.lazy(VIEWS)]]:
        from progres.graphql.views import ActionTally  # noqa: PLC0415

        return [ActionTally.from_doc(owner, c) for owner, c in self.document["actions"].items()]

    @strawberry.field(description="Les propositions, comptées par statut, avec l'impact attendu de chacune.")
    def proposals(self) -> Annotated[ProposalTally, strawberry.lazy(VIEWS)]:
        from progres.graphql.views import ProposalTally  # noqa: PLC0415

        return ProposalTally.from_doc(self.document["proposals"])

    @strawberry.field(description="Les revues tenues et les points soulevés.")
    def reviews(self) -> Annotated[ReviewTally, strawberry.lazy(VIEWS)]:
        from progres.graphql.views import ReviewTally  # noqa: PLC0415

        reviews = self.document["reviews"]
        return ReviewTally(held=reviews["held"], all_points=[ReviewPoint.from_ledger(p) for p in reviews["points"]])

    @strawberry.field(description="Le montant du marché : initial, actuel et sa variation cumulée.")
    def marche(self) -> Annotated[MarcheAmounts, strawberry.lazy(VIEWS)]:
        from progres.graphql.views import MarcheAmounts  # noqa: PLC0415

        return MarcheAmounts(**self.document["marche"])

    @strawberry.field(description="Les gains attendus et leur partage entre les parties et les membres.")
    def gains(self) -> Annotated[GainBalance, strawberry.lazy(VIEWS)]:
        from progres.graphql.views import GainBalance  # noqa: PLC0415

        return GainBalance.from_doc(self.document["gains"])

    @strawberry.field(description="Les avenants du marché, dans l'ordre de leurs numéros.")
    def avenants(self, first: First = None, after: After = None, last: Last = None, before: Before = None,
                 ) -> Connection[Annotated[BalanceAvenant, strawberry.lazy(VIEWS)]]:
        from progres.graphql.views import BalanceAvenant  # noqa: PLC0415

        return paginate_as(self.document["avenants"], first, after, BalanceAvenant.from_doc, last, before)

    @strawberry.field(description="Les chiffres de chaque membre (hors coordonnateur) que l'appelant peut voir, page "
                                  "par page.")
    async def members(self, first: First = None, after: After = None, last: Last = None, before: Before = None,
                      ) -> Connection[Annotated[MemberBalance, strawberry.lazy(VIEWS)]]:
        from progres.graphql.views import member_balance  # noqa: PLC0415

        if self.pages is None:
            return paginate_as(list(self.document["members"].items()), first, after, member_balance, last, before)
        page = paginate_as(self.pages.members, first, after, None, last, before)
        found = await off_loop(self.pages.breakdowns, [edge.node for edge in page.edges])
        for edge in page.edges:
            edge.node = member_balance((edge.node, found[edge.node]))
        return page

    @strawberry.field(description="La place de chaque membre (hors coordonnateur) dans le marché du plan.")
    def parties(self, first: First = None, after: After = None, last: Last = None, before: Before = None,
                ) -> Connection[Annotated[MemberParty, strawberry.lazy(VIEWS)]]:
        from progres.graphql.views import member_party  # noqa: PLC0415

        return paginate_as(list(self.document["parties"].items()), first, after, member_party, last, before)

    @strawberry.field(description="Le groupement du plan, tel qu'il est maintenant.")
    async def groupement(self, info: strawberry.Info) -> Groupement | None:
        return await node_of(info, "Groupement", self.document["groupement_id"])  # type: ignore[no-any-return]

    @strawberry.field(description="Le plan du bilan, tel que l'appelant peut le voir maintenant.")
    async def plan(self, info: strawberry.Info) -> Plan | None:
        return await node_of(info, "Plan", self.plan_id)  # type: ignore[no-any-return]

    @classmethod
    def from_doc(cls, doc: dict[str, Any], pages: BalancePages | None = None) -> PlanBalance:
        return cls(plan_id=doc["plan_id"], position=doc["position"], final=doc["final"],
                   cumulative_change_percent=doc["marche"]["cumulative_change_percent"], document=doc, pages=pages)


@strawberry.input(description="Un document désigné par l'empreinte SHA-256 de son contenu.")
class DocumentInput:
    sha256: str
    name: str
    media_type: str


@strawberry.input(description="Filtres de la liste des événements des auditeurs.")
class EventFilter:
    groupement_id: strawberry.ID | None = None
    plan_id: strawberry.ID | None = None
    organisation_id: strawberry.ID | None = None
    aggregate_id: strawberry.ID | None = None
    type: str | None = None
    since: str | None = strawberry.field(default=None, description="Instant ISO 8601, inclus.")
    until: str | None = strawberry.field(default=None, description="Instant ISO 8601, inclus.")
