"""Typed values of the plan tree, the reviews and the avenants, in place of the `JSON` documents the first
contract exposed (removed since: docs/graphql.md, CHANGELOG.md).

Each type is built by a `from_ledger` constructor from the read model's dict, field for field under its GraphQL
(camelCase) name: tests/integration/test_graphql_typed_views.py proves both equal over the seed scenario.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from progres.graphql.enums import (
    DecisionOutcome,
    IndicatorStatus,
    MemberSplit,
    ParticipantFunction,
    Party,
    PlanChangeKind,
    PointKind,
    Settlement,
    SmallModificationsReading,
    StandingRule,
    WithdrawalClause,
)
from progres.graphql.identity import Node
from progres.graphql.scalars import Decimal

if TYPE_CHECKING:
    from progres.graphql.types import Organisation, Proposal, Review

TYPES = "progres.graphql.types"  # the entity types, which import this module


async def organisation_named(info: strawberry.Info, organisation_id: str | None) -> Any:
    from progres.graphql.types import organisation_of  # noqa: PLC0415 (types imports this module)

    return await organisation_of(info, organisation_id)


async def entity(info: strawberry.Info, kind: str, entity_id: str | None) -> Any:
    from progres.graphql.types import node_of  # noqa: PLC0415 (types imports this module)

    return await node_of(info, kind, entity_id) if entity_id else None


def day(text: str | None) -> date | None:
    return date.fromisoformat(text[:10]) if text else None


def instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def ids(values: list[str] | None) -> list[strawberry.ID] | None:
    return None if values is None else [strawberry.ID(v) for v in values]


@strawberry.type(description="Un palier de la trajectoire d'un indicateur : la cible qui s'applique à partir d'une "
                             "date.")
class TrajectoryStep:
    from_: date = strawberry.field(name="from", description="Premier jour où ce palier s'applique (aaaa-mm-jj).")
    target: Decimal = strawberry.field(description="La cible de ce palier.")

    @classmethod
    def from_ledger(cls, step: dict[str, Any]) -> TrajectoryStep:
        return cls(from_=date.fromisoformat(step["from"]), target=step["target"])


@strawberry.type(description="Une correction d'une mesure : la valeur qu'elle a remplacée et son motif.")
class MeasureCorrection:
    position: int = strawberry.field(description="Position du journal de la correction.")
    corrects_version: int = strawberry.field(description="Version de la mesure que la correction remplace.")
    previous_value: Decimal | None = strawberry.field(description="La valeur remplacée (indicateur quantitatif).")
    previous_assessment: str | None = strawberry.field(
        description="L'appréciation remplacée (indicateur qualitatif).")
    reason: str = strawberry.field(description="Motif de la correction, en clair.")
    corrected_by: strawberry.ID = strawberry.field(description="L'organisation qui a corrigé la mesure.")

    @strawberry.field(description="L'organisation qui a corrigé la mesure (son nom, son SIRET…), à côté de "
                                  "`correctedBy`.")
    async def corrector(self, info: strawberry.Info) -> Annotated[Organisation, strawberry.lazy(TYPES)] | None:
        return await organisation_named(info, self.corrected_by)  # type: ignore[no-any-return]

    @classmethod
    def from_ledger(cls, c: dict[str, Any]) -> MeasureCorrection:
        return cls(position=c["position"], corrects_version=c["corrects_version"],
                   previous_value=c["previous_value"], previous_assessment=c["previous_assessment"],
                   reason=c["reason"], corrected_by=strawberry.ID(c["corrected_by"]))


@strawberry.type(description="Un moyen ou une ressource qu'une partie s'engage à mettre en œuvre pour le plan.")
class Resource:
    party: Party = strawberry.field(description="La partie qui l'engage.")  # type: ignore[valid-type]
    description: str = strawberry.field(description="Le moyen, en clair (personnel, outil, budget…).")
    amount: Decimal | None = strawberry.field(description="Montant engagé en euros HT, s'il est chiffré.")

    @classmethod
    def from_ledger(cls, r: dict[str, Any]) -> Resource:
        return cls(party=r["party"], description=r["description"], amount=r.get("amount"))


@strawberry.type(description="Un jalon daté du calendrier prévisionnel du plan.")
class Milestone:
    key: str = strawberry.field(description="Clé du jalon, unique dans le plan.")
    title: str = strawberry.field(description="Intitulé du jalon.")
    due_on: date = strawberry.field(description="Date prévue (aaaa-mm-jj).")

    @classmethod
    def from_ledger(cls, m: dict[str, Any]) -> Milestone:
        return cls(key=m["key"], title=m["title"], due_on=date.fromisoformat(m["due_on"]))


@strawberry.type(description="La part d'une partie : du gain partagé, ou d'un montant.")
class PartyShare:
    party: Party = strawberry.field(description="La partie.")  # type: ignore[valid-type]
    value: Decimal = strawberry.field(description="Sa part : un pourcentage pour une règle de partage, un montant "
                                                  "en euros HT pour un gain réparti.")

    @classmethod
    def list_of(cls, shares: dict[str, Any]) -> list[PartyShare]:
        return [cls(party=party, value=value) for party, value in shares.items()]


@strawberry.type(description="Valeurs et partage des gains : comment le gain se mesure, la part de chaque partie, la "
                             "répartition entre les membres et le règlement.")
class GainSharing:
    basis: str = strawberry.field(description="Base du gain, en clair (ex. économies constatées sur les factures).")
    reference: str = strawberry.field(description="Référence à laquelle le gain est mesuré, en clair.")
    period_months: int = strawberry.field(description="Durée de la période de mesure du gain, en mois.")
    shares: list[PartyShare] = strawberry.field(description="Part du gain de chaque partie, en % (somme 100).")
    member_split: MemberSplit = strawberry.field(  # type: ignore[valid-type]
        description="Répartition de la part de l'acheteur entre les membres.")
    settlement: Settlement = strawberry.field(description="Règlement du gain.")  # type: ignore[valid-type]

    @classmethod
    def from_ledger(cls, g: dict[str, Any] | None) -> GainSharing | None:
        if g is None:
            return None
        return cls(basis=g["basis"], reference=g["reference"], period_months=g["period_months"],
                   shares=PartyShare.list_of(g["shares"]), member_split=g["member_split"],
                   settlement=g["settlement"])


@strawberry.type(description="Gouvernance du plan : l'instance, qui y participe et la fréquence des revues.")
class Governance:
    body: str = strawberry.field(description="L'instance (ex. comité de pilotage).")
    participants: list[str] = strawberry.field(description="Les fonctions ou organisations représentées.")
    review_frequency_months: int = strawberry.field(description="Fréquence des revues, en mois.")

    @classmethod
    def from_ledger(cls, g: dict[str, Any] | None) -> Governance | None:
        if g is None:
            return None
        return cls(body=g["body"], participants=list(g["participants"]),
                   review_frequency_months=g["review_frequency_months"])


@strawberry.type(description="Un participant à une revue, ou la personne qui y soulève un point.")
class Participant:
    name: str = strawberry.field(description="Son nom, ou sa fonction dans son établissement.")
    function: ParticipantFunction = strawberry.field(description="Sa fonction.")  # type: ignore[valid-type]
    organisation_id: strawberry.ID | None = strawberry.field(
        description="L'organisation qu'il représente, partie au groupement, si elle est dite.")

    @strawberry.field(description="L'organisation qu'il représente (son nom, son SIRET…), si elle est dite, à côté "
                                  "de `organisationId`.")
    async def organisation(self, info: strawberry.Info) -> Annotated[Organisation, strawberry.lazy(TYPES)] | None:
        return await organisation_named(info, self.organisation_id)  # type: ignore[no-any-return]

    @classmethod
    def from_ledger(cls, p: dict[str, Any]) -> Participant:
        organisation = p.get("organisation_id")
        return cls(name=p["name"], function=p["function"],
                   organisation_id=strawberry.ID(organisation) if organisation else None)


@strawberry.type(description="Un point soulevé en revue : contrainte, besoin, difficulté ou idée, et par qui.")
class ReviewPoint:
    kind: PointKind = strawberry.field(description="Nature du point.")  # type: ignore[valid-type]
    text: str = strawberry.field(description="Le point, en clair.")
    raised_by: Participant = strawberry.field(description="Qui l'a soulevé.")

    @classmethod
    def from_ledger(cls, p: dict[str, Any]) -> ReviewPoint:
        return cls(kind=p["kind"], text=p["text"], raised_by=Participant.from_ledger(p["raised_by"]))


@strawberry.type(description="Une décision prise en revue sur une proposition, avec ses motifs.")
class Decision(Node):
    review_id: strawberry.ID = strawberry.field(description="La revue qui l'a prise.")
    proposal_id: strawberry.ID = strawberry.field(description="La proposition décidée.")
    outcome: DecisionOutcome = strawberry.field(description="Ce qui a été décidé.")  # type: ignore[valid-type]
    reasons: str = strawberry.field(description="Motifs de la décision, en clair.")
    held_on: date | None = strawberry.field(description="Date de la revue qui l'a prise (aaaa-mm-jj).")

    def identity(self) -> tuple[str, ...]:
        return (str(self.review_id), str(self.proposal_id))

    @strawberry.field(description="La revue qui l'a prise, à côté de `reviewId`.")
    async def review(self, info: strawberry.Info) -> Annotated[Review, strawberry.lazy(TYPES)] | None:
        return await entity(info, "Review", self.review_id)  # type: ignore[no-any-return]

    @strawberry.field(description="La proposition décidée, à côté de `proposalId`.")
    async def proposal(self, info: strawberry.Info) -> Annotated[Proposal, strawberry.lazy(TYPES)] | None:
        return await entity(info, "Proposal", self.proposal_id)  # type: ignore[no-any-return]

    @classmethod
    def from_ledger(cls, d: dict[str, Any], review_id: str, proposal_id: str, held_on: str | None) -> Decision:
        return cls(review_id=strawberry.ID(review_id), proposal_id=strawberry.ID(proposal_id), outcome=d["outcome"],
                   reasons=d["reasons"], held_on=day(held_on))


@strawberry.type(description="Un changement qu'un avenant apporte au plan de progrès (un axe laissé de côté au "
                             "lancement, ajouté).")
class PlanChange:
    kind: PlanChangeKind = strawberry.field(description="Le changement.")  # type: ignore[valid-type]
    key: str = strawberry.field(description="Clé de l'axe ajouté.")
    title: str = strawberry.field(description="Intitulé de l'axe ajouté.")
    description: str | None = strawberry.field(description="Description de l'axe ajouté, si elle a été donnée.")

    @classmethod
    def from_ledger(cls, c: dict[str, Any]) -> PlanChange:
        return cls(kind=c["kind"], key=c["key"], title=c["title"], description=c.get("description"))


@strawberry.type(description="Ce que change un avenant : montant, durée, titulaires, plan.")
class AvenantChanges:
    amount_delta: Decimal = strawberry.field(description="Variation du montant en euros HT (négative pour une "
                                                         "baisse).")
    duration_delta_months: int = strawberry.field(description="Variation de la durée, en mois.")
    titulaire_ids: list[strawberry.ID] | None = strawberry.field(
        description="Les nouveaux titulaires (null : inchangés).")
    plan_changes: list[PlanChange] = strawberry.field(description="Ce qu'il apporte au plan.")

    @strawberry.field(description="Les nouveaux titulaires (leur nom, leur SIRET…), à côté de `titulaireIds` (null : "
                                  "inchangés).")
    async def titulaires(self, info: strawberry.Info) -> list[Annotated[Organisation, strawberry.lazy(TYPES)]] | None:
        if self.titulaire_ids is None:
            return None
        found = [await organisation_named(info, t) for t in self.titulaire_ids]
        return [o for o in found if o is not None]

    @classmethod
    def from_ledger(cls, c: dict[str, Any]) -> AvenantChanges:
        return cls(amount_delta=c["amount_delta"], duration_delta_months=c["duration_delta_months"],
                   titulaire_ids=ids(c.get("titulaire_ids")),
                   plan_changes=[PlanChange.from_ledger(p) for p in c.get("plan_changes") or []])


@strawberry.type(description="La décision de revue dont un avenant découle.")
class AvenantOrigin:
    proposal_id: strawberry.ID | None = strawberry.field(description="La proposition décidée.")
    review_id: strawberry.ID | None = strawberry.field(description="La revue qui l'a décidée.")

    @strawberry.field(description="La proposition décidée, à côté de `proposalId`.")
    async def proposal(self, info: strawberry.Info) -> Annotated[Proposal, strawberry.lazy(TYPES)] | None:
        return await entity(info, "Proposal", self.proposal_id)  # type: ignore[no-any-return]

    @strawberry.field(description="La revue qui l'a décidée, à côté de `reviewId`.")
    async def review(self, info: strawberry.Info) -> Annotated[Review, strawberry.lazy(TYPES)] | None:
        return await entity(info, "Review", self.review_id)  # type: ignore[no-any-return]

    @classmethod
    def from_ledger(cls, d: dict[str, Any] | None) -> AvenantOrigin | None:
        if not d:
            return None
        return cls(proposal_id=strawberry.ID(d["proposal_id"]) if d.get("proposal_id") else None,
                   review_id=strawberry.ID(d["review_id"]) if d.get("review_id") else None)


@strawberry.type(description="Un seuil européen de procédure formalisée, daté, avec sa source.")
class EuThreshold:
    amount: Decimal = strawberry.field(description="Montant du seuil, en euros HT.")
    valid_from: date | None = strawberry.field(description="Premier jour de validité (aaaa-mm-jj).")
    valid_until: date | None = strawberry.field(description="Dernier jour de validité (aaaa-mm-jj).")
    source: str | None = strawberry.field(description="Le règlement délégué qui le fixe.")

    @classmethod
    def from_ledger(cls, t: dict[str, Any]) -> EuThreshold:
        return cls(amount=t["amount"], valid_from=day(t.get("valid_from")), valid_until=day(t.get("valid_until")),
                   source=t.get("source"))


@strawberry.type(description="R2194-8/-9 : ce qui a été vérifié d'une modification de faible montant.")
class SmallModificationsCheck:
    reading: SmallModificationsReading = strawberry.field(  # type: ignore[valid-type]
        description="La lecture du cumul appliquée.")
    cumulated: Decimal = strawberry.field(description="Montant cumulé des modifications de faible montant, en euros "
                                                      "HT.")
    cumulated_percent: Decimal = strawberry.field(description="Ce cumul, en % du montant initial.")
    cap_percent: Decimal = strawberry.field(description="Le plafond, en % du montant initial (10 ou 15).")
    threshold: EuThreshold = strawberry.field(description="Le seuil européen auquel il a été comparé.")

    @classmethod
    def from_ledger(cls, s: dict[str, Any] | None) -> SmallModificationsCheck | None:
        if s is None:
            return None
        return cls(reading=s["reading"], cumulated=s["cumulated"], cumulated_percent=s["cumulated_percent"],
                   cap_percent=s["cap_percent"], threshold=EuThreshold.from_ledger(s["threshold"]))


@strawberry.type(description="La place d'un membre dans le marché du plan : partie ou non, sa sortie, ce que dit la "
                             "convention.")
class MemberStanding:
    party: bool = strawberry.field(description="Vrai s'il est partie au marché (membre à son lancement).")
    launched_on: date | None = strawberry.field(description="Date de lancement de la consultation (aaaa-mm-jj).")
    left_on: date | None = strawberry.field(description="Date de sa sortie du groupement, s'il est sorti.")
    withdrawal_clause: WithdrawalClause = strawberry.field(  # type: ignore[valid-type]
        description="La clause de retrait de la convention.")
    rule: StandingRule | None = strawberry.field(  # type: ignore[valid-type]
        description="Sa place dans le marché (null sans marché).")

    @classmethod
    def from_ledger(cls, s: dict[str, Any]) -> MemberStanding:
        return cls(party=s["party"], launched_on=day(s.get("launched_on")), left_on=day(s.get("left_on")),
                   withdrawal_clause=s["withdrawal_clause"], rule=s.get("rule"))


@strawberry.type(description="Les positions du journal des mesures et corrections dont un chiffre est calculé.")
class FigurePositions:
    first: list[int] | None = strawberry.field(description="Celles de la première valeur (quantitatif).")
    last: list[int] | None = strawberry.field(description="Celles de la dernière valeur (quantitatif).")
    latest: list[int] | None = strawberry.field(description="Celles de la dernière appréciation (qualitatif).")

    @classmethod
    def from_ledger(cls, p: dict[str, Any]) -> FigurePositions:
        return cls(first=p.get("first"), last=p.get("last"), latest=p.get("latest"))


@strawberry.interface(description="Les chiffres d'un indicateur sur une série de mesures : première et dernière "
                                  "valeurs contre la référence et la cible (quantitatif), dernière appréciation "
                                  "(qualitatif).")
class IndicatorFigures:
    baseline: Decimal | None = strawberry.field(description="Valeur de référence.")
    target: Decimal | None = strawberry.field(description="Cible en vigueur pour la dernière période mesurée.")
    first: Decimal | None = strawberry.field(description="Première valeur mesurée.")
    first_period: date | None = strawberry.field(description="Dernier jour de la période de la première valeur.")
    last: Decimal | None = strawberry.field(description="Dernière valeur mesurée.")
    last_period: date | None = strawberry.field(description="Dernier jour de la période de la dernière valeur.")
    achievement: Decimal | None = strawberry.field(
        description="Part du chemin de la référence à la cible parcourue, en %.")
    status: IndicatorStatus = strawberry.field(  # type: ignore[valid-type]
        description="Où en est l'indicateur par rapport à sa cible.")
    measure_count: int = strawberry.field(description="Nombre de mesures de la série.")
    latest_assessment: str | None = strawberry.field(description="Dernière appréciation (qualitatif).")
    latest_period: date | None = strawberry.field(description="Dernier jour de la période de la dernière "
                                                              "appréciation.")


def figures(summary: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of an IndicatorFigures from a summary of projections/indicators.py."""
    return {"baseline": summary.get("baseline"), "target": summary.get("target"), "first": summary.get("first"),
            "first_period": day(summary.get("first_period")), "last": summary.get("last"),
            "last_period": day(summary.get("last_period")), "achievement": summary.get("achievement"),
            "status": summary["status"], "measure_count": summary["measures"],
            "latest_assessment": summary.get("latest_assessment"), "latest_period": day(summary.get("latest_period"))}


@strawberry.type(description="Le lieu d'exécution principal du marché, tel que les DECP le publient.")
class LieuExecution:
    code: str = strawberry.field(description="Le code du lieu (ex. code commune INSEE `62498`).")
    type_code: str = strawberry.field(description="Le type de ce code, dans la liste des DECP 2.0.3 (ex. `Code "
                                                  "commune`).")


@strawberry.type(description="Ce que les DECP 2.0.3 publient du marché et que le plan n'utilise pas (procédure, CCAG, "
                             "prix…), corrigé depuis la notification ; chaque valeur d'une liste de codes est celle "
                             "du schéma des DECP. Null : non renseigné.")
class DecpParticulars:
    procedure: str | None = strawberry.field(description="Procédure de passation (liste de codes des DECP).")
    ccag: str | None = strawberry.field(description="CCAG de référence (liste de codes des DECP).")
    forme_prix: str | None = strawberry.field(description="Forme du prix (liste de codes des DECP).")
    types_prix: list[str] | None = strawberry.field(description="Types de prix (liste de codes des DECP).")
    techniques: list[str] | None = strawberry.field(description="Techniques d'achat (accord-cadre…).")
    modalites_execution: list[str] | None = strawberry.field(description="Modalités d'exécution (bons de "
                                                                         "commande…).")
    considerations_sociales: list[str] | None = strawberry.field(description="Considérations sociales.")
    considerations_environnementales: list[str] | None = strawberry.field(
        description="Considérations environnementales.")
    lieu_execution: LieuExecution | None = strawberry.field(description="Lieu d'exécution principal.")
    offres_recues: int | None = strawberry.field(description="Nombre d'offres reçues.")
    marche_innovant: bool | None = strawberry.field(description="Vrai pour un marché innovant.")
    attribution_avance: bool | None = strawberry.field(description="Vrai si une avance est attribuée.")
    taux_avance: float | None = strawberry.field(description="Taux de l'avance (nombre, comme les DECP l'écrivent).")
    type_groupement_operateurs: str | None = strawberry.field(
        description="Type de groupement des opérateurs économiques (liste de codes des DECP).")
    sous_traitance_declaree: bool | None = strawberry.field(description="Vrai si une sous-traitance est déclarée.")
    date_publication: date | None = strawberry.field(description="Date de publication des données (aaaa-mm-jj).")

    @classmethod
    def from_ledger(cls, p: dict[str, Any]) -> DecpParticulars:
        lieu = p.get("lieu_execution")
        lists = ("types_prix", "techniques", "modalites_execution", "considerations_sociales",
                 "considerations_environnementales")
        return cls(**{k: p.get(k) for k in ("procedure", "ccag", "forme_prix", "offres_recues", "marche_innovant",
                                            "attribution_avance", "taux_avance", "type_groupement_operateurs",
                                            "sous_traitance_declaree")},
                   **{k: list(p[k]) if p.get(k) is not None else None for k in lists},
                   lieu_execution=LieuExecution(code=lieu["code"], type_code=lieu["type_code"]) if lieu else None,
                   date_publication=day(p.get("date_publication")))
