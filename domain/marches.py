"""Marché public awarded by a groupement: notified, amended by avenants, closed at its end."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from progres.domain import rules
from progres.domain.avenants import (
    DE_MINIMIS_BASES,
    DEFAULT_EU_THRESHOLD,
    Avenant,
    AvenantChanges,
    AvenantStatus,
    CaoOpinion,
    Cumulation,
    LegalBasis,
    below_threshold_rule,
    check_avenant,
    needs_cao_opinion,
    percent_of,
    small_modifications,
)
from progres.domain.base import ProgresAggregate
from progres.domain.decp import check_against_schema
from progres.domain.errors import (
    AvenantBasisNotAllowed,
    AvenantNotFound,
    AvenantWrongState,
    CaoOpinionAlreadyRecorded,
    CaoOpinionMissing,
    CaoOpinionNotExpected,
    CloseBeforeNotification,
    DecisionNotAccepted,
    InactiveMember,
    InvalidInput,
    LaunchAfterNotification,
    MarcheClosed,
    NotAPartyToMarche,
    SignedBeforeCaoOpinion,
    TitulaireMustBeSupplier,
    WithdrawnFromMarche,
)
from progres.domain.groupements import Groupement
from progres.domain.ids import derive_id
from progres.domain.organisations import Organisation
from progres.domain.parties import Participation, Stay, participation, takes_part_on, withdrawal_date
from progres.domain.thresholds import BuyerKind, ThresholdRow, eu_threshold
from progres.domain.values import (
    DocumentRef,
    MarcheNature,
    OrganisationKind,
    Period,
    add_months,
    days,
    parse_decimal,
    parse_enum,
    require_text,
)

DECP_ID_MAX_LENGTH = 16
CPV_PATTERN = re.compile(r"\d{8}(-\d)?")


def check_titulaires(titulaires: list[Organisation]) -> list[UUID]:
    if not titulaires:
        raise InvalidInput("titulaires", rule="un marché a au moins un titulaire")
    for organisation in titulaires:
        if organisation.kind is not OrganisationKind.SUPPLIER:
            raise TitulaireMustBeSupplier("titulaires", kind=organisation.kind.value)
    return [t.id for t in titulaires]


# What the award says that open data (DECP) publishes and the plan itself does not use.
PARTICULARS = {
    "procedure": str, "ccag": str, "forme_prix": str, "types_prix": list, "techniques": list,
    "modalites_execution": list, "considerations_sociales": list, "considerations_environnementales": list,
    "lieu_execution": dict, "offres_recues": int, "marche_innovant": bool, "attribution_avance": bool,
    "taux_avance": float, "type_groupement_operateurs": str, "sous_traitance_declaree": bool,
    "date_publication": str,
}


def check_particulars(particulars: dict[str, Any]) -> dict[str, Any]:
    """Known particulars of the right type, then what the DECP 2.0.3 schema says of each (domain/decp.py)."""
    for key, value in particulars.items():
        expected = PARTICULARS.get(key)
        if expected is None:
            raise InvalidInput(f"particulars.{key}", rule=f"inconnu ; connus : {', '.join(PARTICULARS)}")
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            continue
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise InvalidInput(f"particulars.{key}", rule=f"type attendu : {expected.__name__}")
    check_against_schema(particulars)
    return dict(particulars)


class Marche(ProgresAggregate):
    """The public contract of a groupement (DECP's `marche`), with its avenants."""

    # Class-level defaults: what marchés notified before these attributes existed read (events and snapshots).
    buyer_kind: BuyerKind = BuyerKind.POUVOIR_ADJUDICATEUR
    awarded_by_cao: bool = True
    class_version = 2  # v2: launch date and parties fixed at launch (snapshots of v1: launched when notified)
    flat_state = frozenset({"party_ids", "titulaire_ids"})  # ids: a copy copies the lists only
    derived_state = frozenset({"_party_set"})  # the parties as a set (made once, not snapshotted)

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state.setdefault("launched_on", state["notified_on"])
        state.setdefault("party_ids", None)

    @staticmethod
    def create_id(groupement_id: UUID, code: str) -> UUID:
        return derive_id("marche", groupement_id, code)

    @classmethod
    def notify(
        cls,
        groupement: Groupement,
        code: str,
        object: str,
        cpv: str,
        nature: str,
        titulaires: list[Organisation],
        initial_amount: Any,
        duration_months: int,
        notified_on: date,
        has_clause_reexamen: bool,
        lots: list[dict[str, Any]] | None = None,
        particulars: dict[str, Any] | None = None,
        buyer_kind: str = BuyerKind.POUVOIR_ADJUDICATEUR.value,
        awarded_by_cao: bool = True,
        launched_on: date | None = None,
    ) -> Marche:
        """`launched_on`: when the consultation was launched (its publication), by default the notification day.
        The members of the groupement that day are the marché's parties, fixed here once and for all."""
        code = require_text(code, "code", 64)
        if len(code) > DECP_ID_MAX_LENGTH:
            raise InvalidInput("code", rule=f"un identifiant de marché DECP a {DECP_ID_MAX_LENGTH} caractères au plus")
        if not CPV_PATTERN.fullmatch(cpv or ""):
            raise InvalidInput("cpv", rule=f"« {cpv} » n'est pas un code CPV (8 chiffres, éventuellement -clé)")
        amount = parse_decimal(initial_amount, "initial_amount")
        if amount <= 0:
            raise InvalidInput("initial_amount", rule="le montant initial HT doit être positif")
        if not isinstance(duration_months, int) or duration_months <= 0:
            raise InvalidInput("duration_months", rule="la durée doit être un nombre positif de mois")
        if notified_on < groupement.signed_on:
            raise InvalidInput("notified_on", rule="un marché est notifié après la constitution de son groupement")
        launch = launched_on or notified_on
        if launch > notified_on:
            raise LaunchAfterNotification("launched_on", rule=f"un marché est lancé ({launch}) avant d'être "
                                                                f"notifié ({notified_on})")
        if launch < groupement.signed_on:
            raise InvalidInput("launched_on", rule=f"le groupement lance ses marchés une fois constitué "
                                                   f"(convention signée le {groupement.signed_on})")
        checked_lots = []
        for index, lot in enumerate(lots or []):
            checked_lots.append({"number": int(lot["number"]),
                                 "title": require_text(lot.get("title"), f"lots[{index}].title", 255)})
        return cls(
            groupement_id=groupement.id,
            code=code,
            object=require_text(object, "object", 1000),
            cpv=cpv,
            nature=parse_enum(MarcheNature, nature, "nature").value,
            lots=checked_lots,
            titulaire_ids=check_titulaires(titulaires),
            initial_amount=amount,
            duration_months=duration_months,
            notified_on=notified_on,
            has_clause_reexamen=bool(has_clause_reexamen),
            particulars=check_particulars(particulars or {}),
            buyer_kind=parse_enum(BuyerKind, buyer_kind, "buyer_kind").value,
            awarded_by_cao=bool(awarded_by_cao),
            launched_on=launch,
            party_ids=groupement.active_members(launch),
        )

    @event("Notified")
    def __init__(
        self,
        groupement_id: UUID,
        code: str,
        object: str,
        cpv: str,
        nature: str,
        lots: list[dict[str, Any]],
        titulaire_ids: list[UUID],
        initial_amount: Decimal,
        duration_months: int,
        notified_on: date,
        has_clause_reexamen: bool,
        particulars: dict[str, Any] | None = None,  # absent from events written before it existed
        buyer_kind: str = BuyerKind.POUVOIR_ADJUDICATEUR.value,  # idem (issue 14): the buyers the platform had
        awarded_by_cao: bool = True,  # idem: asking for the CAO's opinion is the prudent default
        launched_on: date | None = None,  # absent before issue 14: launched when notified
        party_ids: list[UUID] | None = None,  # absent before issue 14: the members on the launch day
    ) -> None:
        self.groupement_id = groupement_id
        self.code = code
        self.object = object
        self.cpv = cpv
        self.nature = MarcheNature(nature)
        self.lots = list(lots)
        self.titulaire_ids = list(titulaire_ids)
        self.initial_amount = initial_amount
        self.duration_months = duration_months
        self.notified_on = notified_on
        self.has_clause_reexamen = has_clause_reexamen
        self.avenants: list[Avenant] = []
        self.closed_on: date | None = None
        self.particulars = dict(particulars or {})
        self.buyer_kind = BuyerKind(buyer_kind)
        self.awarded_by_cao = awarded_by_cao
        self.launched_on = launched_on or notified_on
        self.party_ids = list(party_ids) if party_ids is not None else None

    # Parties, fixed at the launch (QE 100136 of 2011; see domain/parties.py)
    def parties(self, groupement: Groupement) -> frozenset[UUID]:
        if self.party_ids is not None:  # fixed at the launch: made into a set once
            parties: frozenset[UUID] | None = self.__dict__.get("_party_set")
            if parties is None:
                parties = self._party_set = frozenset(self.party_ids)
            return parties
        return frozenset(groupement.active_members(self.launched_on))  # a marché notified before issue 14

    def derive(self) -> None:
        if self.party_ids is not None:
            self.parties(None)  # type: ignore[arg-type]

    def roster(self, groupement: Groupement) -> Roster:
        """Who takes part, indexed once for many questions on the same state of this marché and groupement."""
        stays: dict[UUID, list[Stay]] = {}
        for membership in groupement.memberships:
            stays.setdefault(membership.organisation_id, []).append(membership.stay)
        return Roster({k: tuple(v) for k, v in stays.items()}, frozenset(self.parties(groupement)))

    def _who(self, groupement: Groupement, organisation_id: UUID,
             roster: Roster | None) -> tuple[list[Stay] | tuple[Stay, ...], bool]:
        if roster is None:
            return groupement.stays(organisation_id), organisation_id in self.parties(groupement)
        return roster.stays.get(organisation_id, ()), organisation_id in roster.parties

    def participation(self, groupement: Groupement, organisation_id: UUID, period: Period,
                      roster: Roster | None = None) -> Participation:
        stays, is_party = self._who(groupement, organisation_id, roster)
        return participation(stays, self.launched_on, is_party, groupement.withdrawal_clause, period)

    def takes_part_on(self, groupement: Groupement, organisation_id: UUID, day: date,
                      roster: Roster | None = None) -> bool:
        stays, is_party = self._who(groupement, organisation_id, roster)
        return takes_part_on(stays, self.launched_on, is_party, groupement.withdrawal_clause, day)

    def check_party(self, groupement: Groupement, organisation_id: UUID, period: Period, field: str,
                    roster: Roster | None = None) -> Participation:
        """Refuses what a member does under this marché for a period it is not a party for: joined after the
        launch (not_a_party_to_marche), or gone under a clause that ends its part at withdrawal."""
        rule = self.participation(groupement, organisation_id, period, roster)
        if rule is Participation.NOT_A_MEMBER:
            raise InactiveMember(field, org=organisation_id, when=period.key())
        if rule is Participation.JOINED_AFTER_LAUNCH:
            raise NotAPartyToMarche(field, org=organisation_id, marche=self.code, launched=self.launched_on)
        if rule is Participation.AFTER_WITHDRAWAL:
            raise WithdrawnFromMarche(field, org=organisation_id, when=period.key(),
                                      left=withdrawal_date(groupement.stays(organisation_id), self.launched_on))
        return rule

    # Derived figures
    @property
    def current_amount(self) -> Decimal:
        return rules.current_amount(self.initial_amount, (a.changes.amount_delta for a in self.notified_avenants()))

    @property
    def current_duration_months(self) -> int:
        return self.duration_months + sum(a.changes.duration_delta_months for a in self.notified_avenants())

    @property
    def end_on(self) -> date:
        return add_months(self.notified_on, self.current_duration_months) - days(1)

    @property
    def execution_period(self) -> Period:
        return Period(self.notified_on, self.end_on)

    @property
    def cumulative_change_percent(self) -> Decimal:
        return rules.cumulative_change_percent(self.initial_amount, self.current_amount)

    def notified_avenants(self) -> list[Avenant]:
        return rules.notified(self.avenants, lambda a: a.status)

    def is_titulaire(self, organisation_id: UUID) -> bool:
        return organisation_id in self.titulaire_ids

    def check_open(self) -> None:
        if self.closed_on is not None:
            raise MarcheClosed("marche", id=self.code)

    def avenant(self, number: int) -> Avenant:
        for avenant in self.avenants:
            if avenant.number == number:
                return avenant
        raise AvenantNotFound("number", number=number)

    # Avenants
    def propose_avenant(
        self,
        basis: str,
        reason: str,
        changes: dict[str, Any],
        decision: dict[str, str] | None = None,
        decision_outcome: str | None = None,
        new_titulaires: list[Organisation] | None = None,
        on: date | None = None,
        cumulation: Cumulation = Cumulation.NET,
    ) -> int:
        """Proposes an avenant dated `on` (its date chooses the European threshold of R2194-8), cumulating
        small modifications as the groupement reads R2194-9 (`cumulation`)."""
        self.check_open()
        if on is not None and on < self.notified_on:
            raise InvalidInput("on", rule="un avenant est daté du jour de la notification de son marché ou après")
        legal_basis = parse_enum(LegalBasis, basis, "basis")
        parsed = AvenantChanges.parse(changes)
        if new_titulaires is not None:
            parsed.titulaire_ids = check_titulaires(new_titulaires)
        if decision is not None and decision_outcome != "accepted":
            raise DecisionNotAccepted("decision", status=decision_outcome or "unknown")
        if self.current_duration_months + parsed.duration_delta_months <= 0:
            raise InvalidInput("changes.duration_delta_months", rule="le marché n'aurait plus de durée")
        small: dict[str, Any] | None = None
        row: ThresholdRow | Decimal = DEFAULT_EU_THRESHOLD  # unused unless the basis is R2194-8/-9
        if legal_basis in DE_MINIMIS_BASES:
            if on is None:
                raise InvalidInput("on", rule="une modification de faible montant (R2194-8) est datée : "
                                               "sa date choisit le seuil européen")
            row = eu_threshold(self.nature, self.buyer_kind, on)
            small = small_modifications(legal_basis, parsed, self.avenants, nature=self.nature,
                                        initial_amount=self.initial_amount, eu_threshold=row, cumulation=cumulation)
        cumulative = check_avenant(
            legal_basis, parsed, nature=self.nature, initial_amount=self.initial_amount,
            has_clause_reexamen=self.has_clause_reexamen, earlier=self.avenants,
            eu_threshold=row, cumulation=cumulation,
            buyer=self.buyer_kind,
        )
        number = len(self.avenants) + 1
        self._avenant_proposed(
            number=number, basis=legal_basis.value, reason=require_text(reason, "reason"),
            changes=parsed.as_dict(), decision=decision,
            cumulative_percent=percent_of(cumulative, self.initial_amount),
            # L1414-4 CGCT: only for marchés the CAO awarded.
            needs_cao_opinion=self.awarded_by_cao and needs_cao_opinion(cumulative, self.initial_amount),
            proposed_on=on, cumulation=cumulation.value, small_modifications=small,
        )
        return number

    def record_cao_opinion(self, number: int, given_on: date, favourable: bool, document: DocumentRef | None) -> None:
        """L1414-4 CGCT: the CAO's opinion on a projet d'avenant raising the amount by more than 5 %."""
        avenant = self.avenant(number)
        if avenant.status is not AvenantStatus.PROPOSED:
            raise AvenantWrongState("number", number=number, status=avenant.status.value,
                                    action="enregistrer l'avis de la CAO (il précède la signature)")
        if not avenant.needs_cao_opinion:
            raise CaoOpinionNotExpected("number", rule=f"l'avenant n° {number} n'augmente pas de plus de 5 % le "
                                                       "montant d'un marché attribué par la CAO : aucun avis n'est "
                                                       "attendu")
        if avenant.cao_opinion is not None:
            raise CaoOpinionAlreadyRecorded("number", number=number, on=avenant.cao_opinion.given_on.isoformat())
        if document is None:
            raise InvalidInput("document", rule="l'avis de la CAO est référencé par son procès-verbal (sha256, "
                                                "nom, type de média)")
        if not isinstance(favourable, bool):
            raise InvalidInput("favourable", rule="vrai (true) ou faux (false)")
        if avenant.proposed_on is not None and given_on < avenant.proposed_on:
            raise InvalidInput("given_on", rule=f"la CAO rend son avis sur un projet d'avenant : le "
                                                f"{avenant.proposed_on.isoformat()} ou après")
        self._cao_opinion_recorded(number=number, given_on=given_on, favourable=favourable,
                                   document=document.as_dict())

    def correct_particulars(self, particulars: dict[str, Any], reason: str) -> None:
        """Corrects what DECP publishes of the marché, after its notification. Allowed on a closed marché too:
        its essential data must stay right after its end (they are published, never edited)."""
        if not isinstance(particulars, dict) or not particulars:
            raise InvalidInput("particulars", rule="nommez au moins une donnée à corriger")
        checked = check_particulars(particulars)
        if all(self.particulars.get(k) == v for k, v in checked.items()):
            raise InvalidInput("particulars", rule="la correction donne les données déjà enregistrées")
        self._particulars_corrected(particulars=checked, reason=require_text(reason, "reason"))

    def sign_avenant(self, number: int, signed_on: date, document: DocumentRef | None) -> None:
        self.check_open()
        avenant = self.avenant(number)
        if avenant.status is not AvenantStatus.PROPOSED:
            raise AvenantWrongState("number", number=number, status=avenant.status.value, action="le signer")
        if avenant.needs_cao_opinion and avenant.cao_opinion is None:
            raise CaoOpinionMissing("cao_opinion", number=number)
        if avenant.cao_opinion is not None and signed_on < avenant.cao_opinion.given_on:
            raise SignedBeforeCaoOpinion("signed_on", opinion_on=avenant.cao_opinion.given_on.isoformat(),
                                         signed_on=signed_on.isoformat())
        self.check_threshold_at_signature(avenant, signed_on)
        self._avenant_signed(number=number, signed_on=signed_on,
                             document=document.as_dict() if document else None)

    def check_threshold_at_signature(self, avenant: Avenant, signed_on: date) -> None:
        """R2194-8: the modification is concluded when signed; the threshold in force that day must still hold."""
        small = avenant.small_modifications
        if small is None:
            return
        row = eu_threshold(self.nature, self.buyer_kind, signed_on, field="signed_on")
        assessed = max(Decimal(small["cumulated"]), abs(avenant.changes.amount_delta))
        if assessed >= row.amount:
            raise AvenantBasisNotAllowed("signed_on", rule=below_threshold_rule(row.amount, row))

    def notify_avenant(self, number: int, notified_on: date) -> Avenant:
        self.check_open()
        avenant = self.avenant(number)
        if avenant.status is not AvenantStatus.SIGNED:
            raise AvenantWrongState("number", number=number, status=avenant.status.value, action="le notifier")
        assert avenant.signed_on is not None
        if notified_on < avenant.signed_on:
            raise InvalidInput("notified_on", rule="un avenant est notifié le jour de sa signature ou après")
        self._avenant_notified(number=number, notified_on=notified_on)
        return avenant

    def abandon_avenant(self, number: int, reason: str) -> None:
        self.check_open()
        avenant = self.avenant(number)
        if avenant.status not in (AvenantStatus.PROPOSED, AvenantStatus.SIGNED):
            raise AvenantWrongState("number", number=number, status=avenant.status.value, action="l'abandonner")
        self._avenant_abandoned(number=number, reason=require_text(reason, "reason"))

    def close(self, on: date) -> None:
        self.check_open()
        if on < self.notified_on:
            raise CloseBeforeNotification("on", on=on, notified=self.notified_on)
        self._closed(on=on)

    @event("AvenantProposed")
    def _avenant_proposed(
        self, number: int, basis: str, reason: str, changes: dict[str, Any],
        decision: dict[str, str] | None, cumulative_percent: Decimal, needs_cao_opinion: bool,
        proposed_on: date | None = None, cumulation: str | None = None,  # absent from events before issue 14
        small_modifications: dict[str, Any] | None = None,
    ) -> None:
        self.avenants.append(Avenant(
            number=number, basis=LegalBasis(basis), reason=reason,
            changes=AvenantChanges.from_dict(changes), cumulative_percent=cumulative_percent,
            needs_cao_opinion=needs_cao_opinion, decision=decision, proposed_on=proposed_on,
            cumulation=Cumulation(cumulation) if cumulation else None, small_modifications=small_modifications,
        ))

    @event("CaoOpinionRecorded")
    def _cao_opinion_recorded(self, number: int, given_on: date, favourable: bool, document: dict[str, str]) -> None:
        opinion_document = DocumentRef.from_dict(document)
        assert opinion_document is not None
        self.avenant(number).cao_opinion = CaoOpinion(given_on, favourable, opinion_document)

    @event("ParticularsCorrected")
    def _particulars_corrected(self, particulars: dict[str, Any], reason: str) -> None:
        self.particulars.update(particulars)

    @event("AvenantSigned")
    def _avenant_signed(self, number: int, signed_on: date, document: dict[str, str] | None) -> None:
        avenant = self.avenant(number)
        avenant.status = AvenantStatus.SIGNED
        avenant.signed_on = signed_on
        avenant.document = DocumentRef.from_dict(document)

    @event("AvenantNotified")
    def _avenant_notified(self, number: int, notified_on: date) -> None:
        avenant = self.avenant(number)
        avenant.status = AvenantStatus.NOTIFIED
        avenant.notified_on = notified_on
        if avenant.changes.titulaire_ids is not None:
            self.titulaire_ids = list(avenant.changes.titulaire_ids)

    @event("AvenantAbandoned")
    def _avenant_abandoned(self, number: int, reason: str) -> None:
        self.avenant(number).status = AvenantStatus.ABANDONED

    @event("Closed")
    def _closed(self, on: date) -> None:
        self.closed_on = on

    def summary(self) -> dict[str, Any]:
        return {
            "id": str(self.id), "code": self.code, "object": self.object, "cpv": self.cpv,
            "nature": self.nature.value, "initial_amount": str(self.initial_amount),
            "current_amount": str(self.current_amount), "duration_months": self.current_duration_months,
            "notified_on": self.notified_on.isoformat(), "launched_on": self.launched_on.isoformat(),
            "end_on": self.end_on.isoformat(),
            "cumulative_change_percent": str(self.cumulative_change_percent),
            "buyer_kind": self.buyer_kind.value, "awarded_by_cao": self.awarded_by_cao,
            "avenants": [a.summary() for a in self.avenants],
        }


@dataclass(frozen=True)
class Roster:
    """The stays of each member of a groupement and the parties of a marché, indexed once (`Marche.roster`): the
    same answers as scanning the groupement's memberships for each question, for a decision that asks many (an
    import of thousands of measures). Valid for the states of the marché and groupement it was made from."""

    stays: Mapping[UUID, tuple[Stay, ...]]
    parties: frozenset[UUID]
