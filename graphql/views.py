"""The typed member view and plan balance: the read models' documents (services/read_models.py) as GraphQL types
(camelCase names, enums, `Decimal`, `Date`); the documents themselves are no longer sent (the `JSON` scalar is gone).

A map of the document becomes a list of objects carrying their key (`members: {id: …}` → `members { memberId
… }`), and a list that grows with the plan's life is a connection. tests/integration/test_graphql_typed_views.py
proves each typed read equal to the read model's document over the seed scenario.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import strawberry

from progres.graphql.enums import (
    ActionStatus,
    Aggregation,
    AvenantStatus,
    Direction,
    Exclusion,
    IndicatorKind,
    IndicatorScope,
    ObjectiveKind,
    Participation,
    Party,
    ProposalStatus,
    SmallModificationsReading,
    Weighting,
)
from progres.graphql.scalars import Decimal
from progres.graphql.types import (
    After,
    Before,
    CaoOpinion,
    Connection,
    First,
    Last,
    Organisation,
    organisation_of,
    paginate,
)
from progres.graphql.values import (
    FigurePositions,
    GainSharing,
    IndicatorFigures,
    MeasureCorrection,
    MemberStanding,
    PartyShare,
    ReviewPoint,
    SmallModificationsCheck,
    TrajectoryStep,
    day,
    figures,
    instant,
)


@strawberry.type(description="Une mesure telle qu'un membre la voit dans sa vue, avec la règle sous laquelle elle "
                             "compte.")
class Observation:
    period_start: date = strawberry.field(description="Premier jour de la période (aaaa-mm-jj).")
    period_end: date = strawberry.field(description="Dernier jour de la période (aaaa-mm-jj).")
    value: Decimal | None = strawberry.field(description="La valeur (indicateur quantitatif).")
    assessment: str | None = strawberry.field(description="L'appréciation (indicateur qualitatif).")
    source: str = strawberry.field(description="Origine du chiffre (fichier, comptage, facture…).")
    corrections: list[MeasureCorrection] = strawberry.field(
        description="Les valeurs antérieures, chacune avec le motif de sa correction.")
    positions: list[int] = strawberry.field(description="Positions du journal de l'enregistrement et de ses "
                                                        "corrections.")
    recorded_at: datetime | None = strawberry.field(description="Heure d'enregistrement, celle du serveur.")
    declared_on: date | None = strawberry.field(description="La date métier déclarée (aaaa-mm-jj).")
    partial: bool = strawberry.field(description="Vrai pour une période coupée par le début ou la fin du marché.")
    participation: Participation = strawberry.field(  # type: ignore[valid-type]
        description="La règle sous laquelle elle compte (ou non) dans les chiffres du groupement.")

    @classmethod
    def from_doc(cls, o: dict[str, Any]) -> Observation:
        return cls(period_start=date.fromisoformat(o["period_start"]), period_end=date.fromisoformat(o["period_end"]),
                   value=o["value"], assessment=o["assessment"], source=o["source"],
                   corrections=[MeasureCorrection.from_ledger(c) for c in o["corrections"]],
                   positions=list(o["positions"]), recorded_at=instant(o.get("recorded_at")),
                   declared_on=day(o.get("declared_on")), partial=o["partial"], participation=o["participation"])


@strawberry.type(description="Le chiffre du groupement pour une période.")
class GroupementFigure:
    period_end: date = strawberry.field(description="Dernier jour de la période (aaaa-mm-jj).")
    value: Decimal | None = strawberry.field(description="Le chiffre (null sans valeur à combiner).")
    members: int = strawberry.field(description="Nombre de membres comptés.")

    @classmethod
    def from_doc(cls, g: dict[str, Any]) -> GroupementFigure:
        return cls(period_end=date.fromisoformat(g["period_end"]), value=g["value"], members=g["members"])


@strawberry.type(description="Un indicateur dans la vue d'un membre : sa cible en vigueur, ses mesures et les "
                             "chiffres du groupement.")
class MemberIndicator(IndicatorFigures):
    key: str = strawberry.field(description="Clé de l'indicateur.")
    name: str = strawberry.field(description="Nom de l'indicateur.")
    kind: IndicatorKind = strawberry.field(description="Nature de l'indicateur.")  # type: ignore[valid-type]
    scope: IndicatorScope = strawberry.field(description="Portée de l'indicateur.")  # type: ignore[valid-type]
    unit: str | None = strawberry.field(description="Unité de mesure (ex. %, kg, €).")
    direction: Direction | None = strawberry.field(description="Sens souhaité.")  # type: ignore[valid-type]
    trajectory: list[TrajectoryStep] = strawberry.field(description="Les paliers datés de la cible.")
    target_in_force: Decimal | None = strawberry.field(description="La cible en vigueur au jour de la vue.")
    positions: FigurePositions = strawberry.field(description="D'où viennent les chiffres : positions du journal.")
    # The document's lists: only the page asked for is built as typed objects (48 months of 12 indicators are 576
    # observations a view, of which a client's page shows a few).
    all_observations: strawberry.Private[list[dict[str, Any]]]
    groupement_figures: strawberry.Private[list[dict[str, Any]]]

    @strawberry.field(description="Les mesures du membre (ou du groupement, pour un indicateur de portée "
                                  "groupement), dans l'ordre des périodes.")
    def observations(self, first: First = None, after: After = None, last: Last = None,
            before: Before = None) -> Connection[Observation]:
        return paginate(self.all_observations, first, after, last, before, build=Observation.from_doc)

    @strawberry.field(description="Les chiffres du groupement, période par période (indicateur quantitatif).")
    def groupement(self, first: First = None, after: After = None, last: Last = None,
            before: Before = None) -> Connection[GroupementFigure]:
        return paginate(self.groupement_figures, first, after, last, before, build=GroupementFigure.from_doc)

    @classmethod
    def from_doc(cls, i: dict[str, Any]) -> MemberIndicator:
        return cls(key=i["key"], name=i["name"], kind=i["kind"], scope=i["scope"], unit=i.get("unit"),
                   direction=i.get("direction"), trajectory=[TrajectoryStep.from_ledger(s) for s in i["trajectory"]],
                   target_in_force=i.get("target_in_force"), positions=FigurePositions.from_ledger(i["positions"]),
                   all_observations=i["observations"], groupement_figures=i["groupement"],
                   **figures(i))


@strawberry.type(description="Un membre laissé hors d'un chiffre du groupement, et pourquoi.")
class ExcludedMember:
    member_id: strawberry.ID | None = strawberry.field(description="Le membre.")
    rule: Exclusion = strawberry.field(description="Pourquoi il n'a pas été compté.")  # type: ignore[valid-type]


    @strawberry.field(description="Le membre (son nom, son SIRET…), à côté de `memberId`.")
    async def member(self, info: strawberry.Info) -> Organisation | None:
        return await organisation_of(info, self.member_id)


@strawberry.type(description="Comment le chiffre du groupement d'une période a été fait : la valeur, la pondération, "
                             "les membres comptés et ceux laissés de côté.")
class PeriodFigure:
    period_start: date = strawberry.field(description="Premier jour de la période (aaaa-mm-jj).")
    period_end: date = strawberry.field(description="Dernier jour de la période (aaaa-mm-jj).")
    value: Decimal | None = strawberry.field(description="Le chiffre du groupement (null sans valeur à combiner).")
    members: int = strawberry.field(description="Nombre de membres comptés.")
    weighting: Weighting | None = strawberry.field(  # type: ignore[valid-type]
        description="La pondération appliquée (moyenne pondérée seulement).")
    all_excluded: strawberry.Private[list[ExcludedMember]]

    @strawberry.field(description="Les membres laissés hors du chiffre, et pourquoi.")
    def excluded(self, first: First = None, after: After = None, last: Last = None,
            before: Before = None) -> Connection[ExcludedMember]:
        return paginate(self.all_excluded, first, after, last, before)

    @classmethod
    def from_doc(cls, p: dict[str, Any]) -> PeriodFigure:
        excluded = [ExcludedMember(member_id=strawberry.ID(e["member_id"]) if e["member_id"] else None,
                                   rule=e["rule"]) for e in p["excluded"]]
        return cls(period_start=date.fromisoformat(p["period_start"]), period_end=date.fromisoformat(p["period_end"]),
                   value=p["value"], members=p["members"], weighting=p.get("weighting"), all_excluded=excluded)


@strawberry.type(description="Un indicateur au bilan : ses chiffres pour le groupement et comment ils ont été faits.")
class BalanceIndicator(IndicatorFigures):
    key: str = strawberry.field(description="Clé de l'indicateur.")
    name: str = strawberry.field(description="Nom de l'indicateur.")
    kind: IndicatorKind = strawberry.field(description="Nature de l'indicateur.")  # type: ignore[valid-type]
    unit: str | None = strawberry.field(description="Unité de mesure (ex. %, kg, €).")
    positions: FigurePositions = strawberry.field(description="D'où viennent les chiffres : positions du journal.")
    aggregation: Aggregation | None = strawberry.field(  # type: ignore[valid-type]
        description="Comment les valeurs des membres se combinent (indicateur quantitatif par membre).")
    all_periods: strawberry.Private[list[dict[str, Any]] | None]  # built as typed objects page by page

    @strawberry.field(description="Le chiffre du groupement période par période, et comment il a été fait "
                                  "(indicateur quantitatif par membre ; null pour les autres).")
    def periods(self, first: First = None, after: After = None, last: Last = None,
            before: Before = None) -> Connection[PeriodFigure] | None:
        return None if self.all_periods is None else paginate(self.all_periods, first, after, last, before,
                                                              build=PeriodFigure.from_doc)

    @classmethod
    def from_doc(cls, i: dict[str, Any]) -> BalanceIndicator:
        return cls(key=i["key"], name=i["name"], kind=i["kind"], unit=i.get("unit"),
                   positions=FigurePositions.from_ledger(i["positions"]), aggregation=i.get("aggregation"),
                   all_periods=i.get("periods"),
                   **figures(i))


@strawberry.type(description="Un objectif au bilan, avec ses indicateurs.")
class BalanceObjective:
    key: str = strawberry.field(description="Clé de l'objectif.")
    title: str = strawberry.field(description="Intitulé de l'objectif.")
    kind: ObjectiveKind = strawberry.field(description="Nature de l'obligation.")  # type: ignore[valid-type]
    indicators: list[BalanceIndicator] = strawberry.field(description="Les indicateurs de l'objectif.")


@strawberry.type(description="Un axe au bilan, avec ses objectifs et le nombre de ses actions.")
class BalanceAxis:
    key: str = strawberry.field(description="Clé de l'axe.")
    title: str = strawberry.field(description="Intitulé de l'axe.")
    added_by_avenant: int | None = strawberry.field(description="Numéro de l'avenant qui l'a ajouté, le cas échéant.")
    objectives: list[BalanceObjective] = strawberry.field(description="Les objectifs de l'axe.")
    action_count: int = strawberry.field(description="Nombre d'actions de l'axe.")

    @classmethod
    def from_doc(cls, a: dict[str, Any]) -> BalanceAxis:
        return cls(key=a["key"], title=a["title"], added_by_avenant=a["added_by_avenant"], action_count=a["actions"],
                   objectives=[BalanceObjective(key=o["key"], title=o["title"], kind=o["kind"],
                                                indicators=[BalanceIndicator.from_doc(i) for i in o["indicators"]])
                               for o in a["objectives"]])


@strawberry.type(description="Les actions d'une partie au bilan, comptées par état au jour du bilan.")
class ActionTally:
    owner: Party = strawberry.field(description="La partie qui porte les actions.")  # type: ignore[valid-type]
    total: int = strawberry.field(description="Nombre d'actions.")
    done: int = strawberry.field(description="Faites.")
    cancelled: int = strawberry.field(description="Annulées.")
    late: int = strawberry.field(description="En retard : échéance passée, ni faites ni annulées.")
    on_time: int = strawberry.field(description="Dans les temps : échéance à venir.")

    @classmethod
    def from_doc(cls, owner: str, c: dict[str, int]) -> ActionTally:
        return cls(owner=owner, total=c.get("total", 0), done=c.get("done", 0), cancelled=c.get("cancelled", 0),
                   late=c.get("late", 0), on_time=c.get("on_time", 0))


@strawberry.type(description="Une proposition au bilan : son statut et l'impact attendu.")
class ProposalImpact:
    title: str = strawberry.field(description="Intitulé de la proposition.")
    status: ProposalStatus = strawberry.field(description="Son statut.")  # type: ignore[valid-type]
    expected_impact: str = strawberry.field(description="Impact attendu, en clair.")
    expected_gain: Decimal | None = strawberry.field(description="Gain attendu, en euros HT par an.")


@strawberry.type(description="Les propositions au bilan, comptées par statut.")
class ProposalTally:
    submitted: int = strawberry.field(description="Nombre de propositions soumises.")
    accepted: int = strawberry.field(description="Acceptées.")
    rejected: int = strawberry.field(description="Rejetées.")
    withdrawn: int = strawberry.field(description="Retirées.")
    pending: int = strawberry.field(description="En attente de décision (soumises ou reportées).")
    impacts: strawberry.Private[list[ProposalImpact]]

    @strawberry.field(description="Chaque proposition avec son statut et l'impact attendu, dans l'ordre de "
                                  "soumission.")
    def expected_impact(self, first: First = None, after: After = None, last: Last = None,
            before: Before = None) -> Connection[ProposalImpact]:
        return paginate(self.impacts, first, after, last, before)

    @classmethod
    def from_doc(cls, p: dict[str, Any]) -> ProposalTally:
        return cls(submitted=p["submitted"], accepted=p["accepted"], rejected=p["rejected"],
                   withdrawn=p["withdrawn"], pending=p["pending"],
                   impacts=[ProposalImpact(title=i["title"], status=i["status"], expected_impact=i["expected_impact"],
                                           expected_gain=i["expected_gain"]) for i in p["expected_impact"]])


@strawberry.type(description="Les revues au bilan : combien ont été tenues et les points soulevés.")
class ReviewTally:
    held: int = strawberry.field(description="Nombre de revues tenues.")
    all_points: strawberry.Private[list[ReviewPoint]]

    @strawberry.field(description="Les points soulevés dans les revues, dans l'ordre.")
    def points(self, first: First = None, after: After = None, last: Last = None,
            before: Before = None) -> Connection[ReviewPoint]:
        return paginate(self.all_points, first, after, last, before)


@strawberry.type(description="Un avenant au bilan.")
class BalanceAvenant:
    number: int = strawberry.field(description="Numéro de l'avenant.")
    basis: str = strawberry.field(description="Fondement juridique, ex. R2194-1.")
    status: AvenantStatus = strawberry.field(description="Statut de l'avenant.")  # type: ignore[valid-type]
    reason: str = strawberry.field(description="Motif, en clair.")
    amount_delta: Decimal = strawberry.field(description="Variation du montant, en euros HT.")
    notified_on: date | None = strawberry.field(description="Date de notification (aaaa-mm-jj).")
    cumulative_percent: Decimal = strawberry.field(description="Variation cumulée par rapport au montant initial, "
                                                               "en %.")
    needs_cao_opinion: bool = strawberry.field(description="Au-delà de 5 % : la CAO donne d'abord son avis.")
    cumulation: SmallModificationsReading | None = strawberry.field(  # type: ignore[valid-type]
        description="Comment R2194-9 a cumulé les modifications de faible montant à sa proposition.")
    small_modifications_check: SmallModificationsCheck | None = strawberry.field(
        description="R2194-8/-9 seulement : ce qui a été vérifié.")
    cao_opinion: CaoOpinion | None = strawberry.field(description="L'avis de la CAO, une fois enregistré.")

    @classmethod
    def from_doc(cls, a: dict[str, Any]) -> BalanceAvenant:
        return cls(number=a["number"], basis=a["basis"], status=a["status"], reason=a["reason"],
                   amount_delta=a["amount_delta"], notified_on=day(a["notified_on"]),
                   cumulative_percent=a["cumulative_percent"], needs_cao_opinion=a["needs_cao_opinion"],
                   cumulation=a.get("cumulation"),
                   small_modifications_check=SmallModificationsCheck.from_ledger(a.get("small_modifications")),
                   cao_opinion=CaoOpinion.from_ledger(a.get("cao_opinion")))


@strawberry.type(description="Le montant du marché au bilan.")
class MarcheAmounts:
    initial_amount: Decimal | None = strawberry.field(description="Montant initial, en euros HT ; null avant que rien "
                                                               "du plan ne soit enregistré.")
    current_amount: Decimal | None = strawberry.field(description="Montant après les avenants notifiés, en euros HT ; "
                                                               "null avant que rien du plan ne soit enregistré.")
    cumulative_change_percent: Decimal | None = strawberry.field(
        description="Variation cumulée par rapport au montant initial, en %.")


@strawberry.type(description="Le montant qui revient à un membre.")
class MemberAmount:
    member_id: strawberry.ID = strawberry.field(description="Le membre.")
    amount: Decimal = strawberry.field(description="Le montant, en euros HT.")


    @strawberry.field(description="Le membre (son nom, son SIRET…), à côté de `memberId`.")
    async def member(self, info: strawberry.Info) -> Organisation | None:
        return await organisation_of(info, self.member_id)


@strawberry.type(description="Les gains au bilan : le total attendu des propositions acceptées, partagé selon la "
                             "règle entre les parties puis entre les membres.")
class GainBalance:
    total: Decimal = strawberry.field(description="Gain total attendu des propositions acceptées, en euros HT par "
                                                  "an.")
    rule: GainSharing | None = strawberry.field(description="La règle de partage (null tant qu'elle n'est pas "
                                                            "définie).")
    parties: list[PartyShare] = strawberry.field(description="Ce qui revient à chaque partie, en euros HT.")
    member_amounts: strawberry.Private[list[MemberAmount]]

    @strawberry.field(description="Ce qui revient à chaque membre partie au marché, en euros HT.")
    def members(self, first: First = None, after: After = None, last: Last = None,
            before: Before = None) -> Connection[MemberAmount]:
        return paginate(self.member_amounts, first, after, last, before)

    @classmethod
    def from_doc(cls, g: dict[str, Any]) -> GainBalance:
        return cls(total=g["total"], rule=GainSharing.from_ledger(g["rule"]), parties=PartyShare.list_of(g["parties"]),
                   member_amounts=[MemberAmount(member_id=strawberry.ID(m), amount=a)
                                   for m, a in g["members"].items()])


@strawberry.type(description="Les chiffres d'un indicateur pour un membre au bilan, et les règles sous lesquelles "
                             "ses mesures ont compté.")
class MemberIndicatorFigures(IndicatorFigures):
    indicator_key: str = strawberry.field(description="Clé de l'indicateur.")
    rules: list[Participation] = strawberry.field(  # type: ignore[valid-type]
        description="Les règles sous lesquelles ses mesures ont compté (ou non).")


@strawberry.type(description="Un membre au bilan : ses chiffres, indicateur par indicateur (visibles du "
                             "coordonnateur, des auditeurs, du membre lui-même, et de tous quand la convention partage "
                             "le détail des membres).")
class MemberBalance:
    member_id: strawberry.ID = strawberry.field(description="Le membre.")
    indicators: list[MemberIndicatorFigures] = strawberry.field(
        description="Ses chiffres, pour chaque indicateur de portée membre.")


    @strawberry.field(description="Le membre (son nom, son SIRET…), à côté de `memberId`.")
    async def member(self, info: strawberry.Info) -> Organisation | None:
        return await organisation_of(info, self.member_id)


@strawberry.type(description="La place d'un membre (hors coordonnateur) dans le marché du plan.")
class MemberParty:
    member_id: strawberry.ID = strawberry.field(description="Le membre.")
    standing: MemberStanding = strawberry.field(description="Sa place dans le marché du plan.")


    @strawberry.field(description="Le membre (son nom, son SIRET…), à côté de `memberId`.")
    async def member(self, info: strawberry.Info) -> Organisation | None:
        return await organisation_of(info, self.member_id)


@strawberry.type(description="Le bilan final : sa date et sa synthèse.")
class BilanFinal:
    on: date = strawberry.field(description="Date du bilan final (aaaa-mm-jj).")
    summary: str = strawberry.field(description="Synthèse du bilan final.")
    position: int | None = strawberry.field(description="Position du journal de la clôture.")


def member_balance(entry: tuple[str, dict[str, Any]]) -> MemberBalance:
    member, breakdown = entry
    return MemberBalance(member_id=strawberry.ID(member),
                         indicators=[MemberIndicatorFigures(indicator_key=key, rules=summary["rules"],
                                                            **figures(summary))
                                     for key, summary in breakdown.items()])


def member_party(entry: tuple[str, dict[str, Any]]) -> MemberParty:
    member, standing = entry
    return MemberParty(member_id=strawberry.ID(member), standing=MemberStanding.from_ledger(standing))


@strawberry.type(description="Le nombre d'actions d'un statut.")
class ActionStatusCount:
    status: ActionStatus = strawberry.field(description="Le statut.")  # type: ignore[valid-type]
    count: int = strawberry.field(description="Nombre d'actions de ce statut.")


@strawberry.type(description="Le nombre de propositions d'un statut.")
class ProposalStatusCount:
    status: ProposalStatus = strawberry.field(description="Le statut.")  # type: ignore[valid-type]
    count: int = strawberry.field(description="Nombre de propositions de ce statut.")


@strawberry.type(description="L'état d'un plan après un événement rejoué : son arbre, son activité, le montant de son "
                             "marché (null avant que le plan existe, sauf `exists`).")
class ReplayedPlan:
    exists: bool = strawberry.field(description="Faux tant que le plan n'est pas établi.")
    axis_count: int | None = strawberry.field(description="Nombre d'axes.")
    objective_count: int | None = strawberry.field(description="Nombre d'objectifs.")
    indicator_count: int | None = strawberry.field(description="Nombre d'indicateurs.")
    measure_count: int | None = strawberry.field(description="Nombre de mesures.")
    correction_count: int | None = strawberry.field(description="Nombre de corrections de mesures.")
    actions_by_status: list[ActionStatusCount] | None = strawberry.field(
        description="Les actions, comptées par statut (un statut sans action n'est pas listé).")
    proposals_by_status: list[ProposalStatusCount] | None = strawberry.field(
        description="Les propositions, comptées par statut (un statut sans proposition n'est pas listé).")
    reviews_held: int | None = strawberry.field(description="Nombre de revues tenues.")
    avenants_notified: int | None = strawberry.field(description="Nombre d'avenants notifiés.")
    current_amount: Decimal | None = strawberry.field(description="Montant du marché après ses avenants notifiés, en "
                                                                  "euros HT.")
    active_members: int | None = strawberry.field(description="Nombre de membres du groupement encore membres.")
    closed: bool | None = strawberry.field(description="Vrai une fois le plan clos par son bilan final.")

    @classmethod
    def from_step(cls, p: dict[str, Any]) -> ReplayedPlan:
        if not p["exists"]:
            return cls(exists=False, axis_count=None, objective_count=None, indicator_count=None, measure_count=None,
                       correction_count=None, actions_by_status=None, proposals_by_status=None, reviews_held=None,
                       avenants_notified=None, current_amount=None, active_members=None, closed=None)
        return cls(exists=True, axis_count=p["axes"], objective_count=p["objectives"],
                   indicator_count=p["indicators"], measure_count=p["measures"], correction_count=p["corrections"],
                   actions_by_status=[ActionStatusCount(status=k, count=v) for k, v in p["actions"].items()],
                   proposals_by_status=[ProposalStatusCount(status=k, count=v) for k, v in p["proposals"].items()],
                   reviews_held=p["reviews_held"], avenants_notified=p["avenants_notified"],
                   current_amount=p["current_amount"], active_members=p["active_members"], closed=p["closed"])
