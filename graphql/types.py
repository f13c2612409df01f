"""GraphQL types of progres, one per concept, each built from the read models by a `from_…` constructor."""

from __future__ import annotations

import base64
from typing import Any, Generic, TypeVar

import strawberry
from strawberry.scalars import JSON

from progres.domain.errors import InvalidInput

T = TypeVar("T")


@strawberry.type(description="Pourquoi une commande a été refusée : un code stable, le champ en faute et un message "
                             "lisible.")
class UserError:
    code: str = strawberry.field(description="Code d'erreur stable, ex. `measure_already_recorded`.")
    field: str | None = strawberry.field(description="Le champ de la commande en faute, s'il y en a un.")
    message: str = strawberry.field(description="Ce qui ne va pas et la règle qui le dit.")

    @classmethod
    def from_error(cls, error: Any) -> UserError:
        return cls(code=error.code, field=error.field, message=error.message)


@strawberry.type(description="Ce qu'a fait une mutation : l'identifiant écrit, la position atteinte dans le journal, "
                             "ou pourquoi elle a été refusée.")
class MutationResult:
    ok: bool = strawberry.field(description="Vrai si la commande a été acceptée.")
    id: strawberry.ID | None = strawberry.field(description="Identifiant de l'entité écrite (pour un avenant : "
                                                            "`<id du marché>#<numéro>`).")
    position: int | None = strawberry.field(
        description="Position du journal après la commande : la passer en `minPosition` pour relire sa propre "
                    "écriture.")
    replayed: bool = strawberry.field(
        default=False, description="Vrai si cet identifiant de commande a déjà été vu : la première réponse est "
                                   "renvoyée.")
    error: UserError | None = strawberry.field(default=None, description="Pourquoi la commande a été refusée.")


@strawberry.type(description="État de la pagination d'une liste paginée.")
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type(description="Un élément d'une liste paginée, avec son curseur.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="Curseur de cet élément, à passer en `after`.")
    node: T = strawberry.field(description="L'élément.")


@strawberry.type(description="Une page d'une liste qui peut grandir (connexion Relay à curseurs).")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="Les éléments de la page.")
    page_info: PageInfo = strawberry.field(description="État de la pagination.")
    total_count: int = strawberry.field(description="Nombre d'éléments de toute la liste (événements : de cette page).")


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


@strawberry.type(description="Une organisation : un acheteur (collectivité, EPLE, service de l'État, hôpital, "
                             "établissement public, acheteur d'un autre État de l'UE), un fournisseur ou un organisme "
                             "d'audit.")
class Organisation:
    id: strawberry.ID
    siret: str | None = strawberry.field(description="Son SIRET ; null pour un acheteur d'un autre État de l'UE.")
    vat_number: str | None = strawberry.field(description="Numéro de TVA intracommunautaire d'un acheteur d'un autre "
                                                          "État de l'UE (L2113-8).")
    name: str
    kind: str = strawberry.field(description="Type : collectivite, eple, state_service, hospital, "
                                             "public_establishment, eu_buyer, supplier ou audit_body.")

    @classmethod
    def from_ledger(cls, data: dict[str, Any]) -> Organisation:
        return cls(id=strawberry.ID(data["id"]), siret=data.get("siret"), vat_number=data.get("vat_number"),
                   name=data["name"], kind=data["kind"])


@strawberry.type(description="L'adhésion d'une organisation au groupement, active entre deux dates.")
class Membership:
    organisation_id: strawberry.ID
    joined_on: str
    left_on: str | None
    decision: JSON | None = strawberry.field(
        default=None, description="Sa délibération ou décision d'adhésion (document par empreinte) ; null si elle "
                                 "n'a pas été enregistrée.")
    decided_on: str | None = strawberry.field(default=None, description="Date de sa décision d'adhésion (aaaa-mm-jj).")


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
class Avenant:
    number: int
    basis: str = strawberry.field(description="Fondement juridique, ex. R2194-1 (clause de réexamen).")
    status: str = strawberry.field(description="Statut : proposed (proposé), signed (signé), notified (notifié) ou "
                                               "abandoned (abandonné).")
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
    cumulation: str | None = strawberry.field(description="Comment R2194-9 a cumulé les modifications de faible "
                                                          "montant à sa proposition : net (directive 2014/24, "
                                                          "art. 72(2)) ou absolute.")
    small_modifications: JSON | None = strawberry.field(
        description="R2194-8/-9 seulement : la lecture appliquée, le montant et le pourcentage cumulés, le "
                    "plafond et le seuil européen (montant, validité, source) auxquels il a été comparé.")
    cao_opinion: CaoOpinion | None = strawberry.field(description="L'avis de la CAO, une fois enregistré.")

    @classmethod
    def from_ledger(cls, a: dict[str, Any]) -> Avenant:
        return cls(number=a["number"], basis=a["basis"], status=a["status"], reason=a["reason"],
                   amount_delta=a["changes"]["amount_delta"],
                   duration_delta_months=a["changes"]["duration_delta_months"],
                   cumulative_percent=a["cumulative_percent"], needs_cao_opinion=a["needs_cao_opinion"],
                   signed_on=a["signed_on"], notified_on=a["notified_on"], proposed_on=a.get("proposed_on"),
                   cumulation=a.get("cumulation"), small_modifications=a.get("small_modifications"),
                   cao_opinion=CaoOpinion.from_ledger(a.get("cao_opinion")))


@strawberry.type(description="Le marché public attribué par le groupement (le marché des DECP).")
class Marche:
    id: strawberry.ID
    code: str = strawberry.field(description="Identifiant DECP, au plus 16 caractères.")
    object: str
    cpv: str
    nature: str
    initial_amount: str = strawberry.field(description="Montant initial, en euros HT (nombre décimal en chaîne).")
    duration_months: int
    notified_on: str
    launched_on: str = strawberry.field(description="Date de lancement de sa consultation (aaaa-mm-jj) : ses "
                                                    "parties sont les membres de ce jour (QE 100136 de 2011).")
    party_ids: list[strawberry.ID] | None = strawberry.field(
        description="Les membres parties au marché, fixés à son lancement (null : marché notifié avant "
                    "l'enregistrement des parties, dont les parties sont les membres du jour du lancement).")
    titulaire_ids: list[strawberry.ID]
    closed_on: str | None
    avenants: list[Avenant]
    buyer_kind: str = strawberry.field(description="Colonne des seuils européens : pouvoir_adjudicateur, "
                                                   "autorite_publique_centrale ou entite_adjudicatrice.")
    awarded_by_cao: bool = strawberry.field(description="Vrai si la CAO l'a attribué (L1414-4 CGCT s'applique alors).")
    particulars: JSON = strawberry.field(description="Ce que les DECP en publient (procédure, CCAG, prix…), "
                                                     "corrigé depuis la notification.")

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


@strawberry.type(description="Une mesure : la valeur d'un indicateur pour un membre (ou le groupement) et une période.")
class Measure:
    id: strawberry.ID
    indicator_key: str
    member_id: strawberry.ID | None = strawberry.field(description="Null pour une mesure de tout le groupement.")
    period_start: str
    period_end: str
    value: str | None = strawberry.field(description="La valeur, pour un indicateur quantitatif (nombre décimal en "
                                                               "chaîne).")
    assessment: str | None = strawberry.field(description="L'appréciation, pour un indicateur qualitatif.")
    source: str
    corrections: JSON = strawberry.field(description="Les valeurs antérieures, chacune avec le motif de sa correction.")
    positions: list[int] = strawberry.field(description="Positions du journal de l'enregistrement et de ses "
                                                        "corrections.")
    recorded_at: str | None = strawberry.field(description="Heure d'enregistrement : celle du serveur, jamais "
                                                           "envoyée par le client.")
    declared_on: str | None = strawberry.field(description="La date métier déclarée par qui l'a enregistrée "
                                                          "(aaaa-mm-jj).")
    partial: bool = strawberry.field(description="Vrai pour une période du calendrier coupée par le début ou la fin "
                                                 "du marché.")

    @classmethod
    def from_ledger(cls, m: dict[str, Any]) -> Measure:
        return cls(id=strawberry.ID(m["id"]), indicator_key=m["indicator_key"],
                   member_id=strawberry.ID(m["member_id"]) if m["member_id"] else None,
                   period_start=m["period_start"], period_end=m["period_end"], value=m["value"],
                   assessment=m["assessment"], source=m["source"], corrections=m["corrections"],
                   positions=m["positions"], recorded_at=m.get("recorded_at"), declared_on=m.get("declared_on"),
                   partial=bool(m.get("partial")))


@strawberry.type(description="Un indicateur : quantitatif (avec unité et cible) ou qualitatif.")
class Indicator:
    key: str
    name: str
    kind: str = strawberry.field(description="Nature : quantitative ou qualitative.")
    unit: str | None
    baseline: str | None
    target: str | None
    trajectory: JSON = strawberry.field(description="Les paliers datés de la cible, ex. une part abaissée d'année en "
                                                    "année.")
    direction: str | None
    periodicity: str
    scope: str = strawberry.field(description="Portée : member (une valeur par membre) ou groupement.")
    aggregation: str = strawberry.field(description="Comment les valeurs des membres se combinent : sum, mean, "
                                                    "weighted_mean ou none.")
    plan_measures: strawberry.Private[list[dict[str, Any]]]

    @strawberry.field(description="Les mesures de cet indicateur que l'appelant peut voir, dans l'ordre des "
                                  "périodes.")
    def measures(self, first: int = 100, after: str | None = None) -> Connection[Measure]:
        items = sorted(self.plan_measures, key=lambda m: (m["period_start"], m["member_id"] or ""))
        return paginate([Measure.from_ledger(m) for m in items], first, after)

    @classmethod
    def from_ledger(cls, i: dict[str, Any], measures: list[dict[str, Any]]) -> Indicator:
        return cls(key=i["key"], name=i["name"], kind=i["kind"], unit=i.get("unit"), baseline=i.get("baseline"),
                   target=i.get("target"), trajectory=i.get("trajectory") or [], direction=i.get("direction"),
                   periodicity=i["periodicity"], scope=i["scope"], aggregation=i["aggregation"],
                   plan_measures=measures)


@strawberry.type(description="Un objectif : une obligation de moyens ou de résultats.")
class Objective:
    key: str
    title: str
    kind: str = strawberry.field(description="Nature : moyens ou resultats.")
    indicators: list[Indicator]


@strawberry.type(description="Un axe du plan de progrès.")
class Axis:
    key: str
    title: str
    description: str
    added_by_avenant: int | None = strawberry.field(description="Numéro de l'avenant qui l'a ajouté, le cas échéant.")
    objectives: list[Objective]


@strawberry.type(description="Une action du plan, portée par le titulaire, l'acheteur ou les deux.")
class Action:
    key: str
    axis_key: str
    title: str
    owner: str = strawberry.field(description="Qui la porte : titulaire, acheteur ou joint.")
    due_on: str
    status: str = strawberry.field(description="Statut : planned (prévue), in_progress (en cours), done "
                                               "(faite) ou cancelled (annulée).")
    status_on: str | None

    @classmethod
    def from_ledger(cls, a: dict[str, Any]) -> Action:
        return cls(key=a["key"], axis_key=a["axis_key"], title=a["title"], owner=a["owner"], due_on=a["due_on"],
                   status=a["status"], status_on=a["status_on"])


@strawberry.type(description="Une proposition : une amélioration avancée par un membre, le coordonnateur ou le "
                             "titulaire.")
class Proposal:
    id: strawberry.ID
    author_id: strawberry.ID
    axis_key: str
    kind: str = strawberry.field(description="Type : innovation, service_improvement (amélioration du service) ou "
                                             "sur_qualite_reduction (réduction de la sur-qualité).")
    title: str
    content: str
    expected_impact: str
    expected_gain: str | None
    submitted_on: str
    status: str = strawberry.field(description="Statut : submitted (soumise), postponed (reportée), "
                                               "accepted (acceptée), rejected (rejetée) ou withdrawn "
                                               "(retirée).")
    decisions: JSON

    @classmethod
    def from_ledger(cls, p: dict[str, Any]) -> Proposal:
        return cls(id=strawberry.ID(p["id"]), author_id=strawberry.ID(p["author_id"]), axis_key=p["axis_key"],
                   kind=p["kind"], title=p["title"], content=p["content"], expected_impact=p["expected_impact"],
                   expected_gain=p["expected_gain"], submitted_on=p["submitted_on"], status=p["status"],
                   decisions=p["decisions"])


@strawberry.type(description="Une revue (ex. bilan semestriel) : participants, points soulevés, décisions.")
class Review:
    id: strawberry.ID
    title: str
    scheduled_on: str
    status: str = strawberry.field(description="Statut : scheduled (programmée), held (tenue) ou closed (close).")
    held_on: str | None
    participants: JSON
    points: JSON = strawberry.field(description="Contraintes, besoins, difficultés et idées soulevés, et par qui.")
    decisions: JSON

    @classmethod
    def from_ledger(cls, r: dict[str, Any]) -> Review:
        return cls(id=strawberry.ID(r["id"]), title=r["title"], scheduled_on=r["scheduled_on"], status=r["status"],
                   held_on=r["held_on"], participants=r["participants"], points=r["points"],
                   decisions=r["decisions"])


@strawberry.type(description="Un plan de progrès : son arbre, ses engagements et sa vie.")
class Plan:
    id: strawberry.ID
    marche_id: strawberry.ID
    groupement_id: strawberry.ID
    title: str
    closed: bool = strawberry.field(description="Vrai une fois le plan clos par son bilan final.")
    axes: list[Axis]
    actions: list[Action]
    resources: JSON
    milestones: JSON
    gain_sharing: JSON | None  # null until the plan defines it
    governance: JSON | None
    all_proposals: strawberry.Private[list[Proposal]]
    reviews: list[Review]

    @strawberry.field(description="Les propositions, dans l'ordre de leur soumission.")
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


@strawberry.type(description="Un groupement de commandes : coordonnateur, membres, marchés et plans.")
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
        description="Comment le groupement lit le montant cumulé de R2194-9 : net (par défaut, directive "
                    "2014/24, art. 72(2)) ou absolute (consigné par chooseSmallModificationsReading).")

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
    data: JSON = strawberry.field(description="Les données de l'événement, telles qu'enregistrées.")
    plan: JSON = strawberry.field(description="L'état du plan après l'événement (arbre, activité, montant).")

    @classmethod
    def from_step(cls, step: dict[str, Any]) -> ReplayStep:
        return cls(position=step["position"], timestamp=step["timestamp"], type=step["type"],
                   aggregate_id=strawberry.ID(step["aggregate_id"]), version=step["version"], data=step["data"],
                   plan=step["plan"])


@strawberry.type(description="Ce qu'un membre voit d'un plan : ses indicateurs, actions, propositions, décisions.")
class MemberView:
    plan_id: strawberry.ID
    member_id: strawberry.ID
    position: int = strawberry.field(description="Position du journal que la vue reflète.")
    active: bool
    document: JSON = strawberry.field(description="Toute la vue (indicateurs avec leurs mesures, actions…).")

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> MemberView:
        return cls(plan_id=doc["plan_id"], member_id=doc["member_id"], position=doc["position"],
                   active=doc["active"], document=doc)


@strawberry.type(description="Le bilan du plan : par axe et indicateur, les actions, propositions, avenants et gains.")
class PlanBalance:
    plan_id: strawberry.ID
    position: int = strawberry.field(description="Position du journal que le bilan reflète.")
    final: bool = strawberry.field(description="Vrai une fois le plan clos : c'est le bilan final.")
    cumulative_change_percent: str | None
    document: JSON = strawberry.field(description="Tout le bilan, chaque chiffre avec ses positions dans le journal.")

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> PlanBalance:
        return cls(plan_id=doc["plan_id"], position=doc["position"], final=doc["final"],
                   cumulative_change_percent=doc["marche"]["cumulative_change_percent"], document=doc)


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
