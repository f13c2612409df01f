"""Groupement de commandes: constituted by a convention, members join and leave at effective dates."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from progres.domain.avenants import Cumulation
from progres.domain.base import ProgresAggregate
from progres.domain.errors import (
    AdhesionDecidedAfterJoining,
    AdhesionDecisionRequired,
    AlreadyAssigned,
    AlreadyMember,
    AuditorMustBeAuditBody,
    ConventionRequired,
    CoordonnateurCannotLeave,
    CoordonnateurMustBeBuyer,
    CoordonnateurMustBeFrench,
    DateBeforeConvention,
    DateBeforeMembership,
    InactiveMember,
    InvalidInput,
    MemberMustBeBuyer,
    NotAMember,
)
from progres.domain.ids import derive_id
from progres.domain.organisations import Organisation
from progres.domain.parties import Stay
from progres.domain.values import DocumentRef, OrganisationKind, Period, WithdrawalClause, parse_enum, require_text

# What a leaving member owes under marchés under way when the convention says nothing else: it stays bound
# until they end (a marché binds the buyers that took part in it; leaving the groupement does not undo that).
DEFAULT_WITHDRAWAL_CLAUSE = WithdrawalClause.BOUND_UNTIL_MARCHE_END.value


@dataclass(frozen=True)
class Membership:
    """One stay of an organisation in the groupement (never changed: a departure replaces it with its end date)."""

    organisation_id: UUID
    joined_on: date
    left_on: date | None = None
    decision: dict[str, str] | None = None  # the délibération or décision d'adhésion, by hash (None before issue 14)
    decided_on: date | None = None

    @property
    def stay(self) -> Stay:
        return Stay(self.joined_on, self.left_on)

    def active_on(self, day: date) -> bool:
        return self.stay.active_on(day)

    def active_during(self, period: Period) -> bool:
        return self.stay.overlaps(period)


class Groupement(ProgresAggregate):
    """A groupement de commandes (CCP L2113-6 to L2113-8) formed by a convention constitutive."""

    # R2194-9 read as directive 2014/24 art. 72(2) says (net) until the groupement records another reading;
    # a class-level default, so groupements constituted before the choice existed read it too.
    small_modifications_reading: Cumulation = Cumulation.NET
    class_version = 2  # v2: the convention's withdrawal clause (snapshots of v1 get the default clause)
    flat_state = frozenset({"memberships", "auditor_ids"})  # frozen memberships, ids: a copy copies the lists only
    # Where each organisation's stays are in `memberships` (organisation id -> positions): a member's questions
    # (admitting it, is it active) cost the same with 30 or 3,000 members. Made from `memberships`, not snapshotted.
    derived_state = frozenset({"_stays_at"})

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state.setdefault("withdrawal_clause", WithdrawalClause.BOUND_UNTIL_MARCHE_END)

    @staticmethod
    def create_id(code: str) -> UUID:
        return derive_id("groupement", code)

    @classmethod
    def constitute(
        cls,
        code: str,
        name: str,
        purpose: str,
        permanent: bool,
        coordonnateur: Organisation,
        signed_on: date,
        convention: DocumentRef | None = None,
        shares_member_details: bool = False,
        withdrawal_clause: str | None = None,
    ) -> Groupement:
        if not coordonnateur.kind.is_buyer:
            raise CoordonnateurMustBeBuyer("coordonnateur", kind=coordonnateur.kind.value)
        if coordonnateur.kind.is_foreign:
            raise CoordonnateurMustBeFrench("coordonnateur")
        if convention is None:
            raise ConventionRequired("convention")  # L2113-6: the convention constitutes the groupement
        clause = parse_enum(WithdrawalClause, withdrawal_clause or DEFAULT_WITHDRAWAL_CLAUSE, "withdrawal_clause")
        return cls(
            code=require_text(code, "code", 64),
            name=require_text(name, "name", 255),
            purpose=require_text(purpose, "purpose"),
            permanent=bool(permanent),
            coordonnateur_id=coordonnateur.id,
            signed_on=signed_on,
            convention=convention.as_dict(),
            shares_member_details=bool(shares_member_details),
            withdrawal_clause=clause.value,
        )

    @event("Constituted")
    def __init__(
        self,
        code: str,
        name: str,
        purpose: str,
        permanent: bool,
        coordonnateur_id: UUID,
        signed_on: date,
        convention: dict[str, str] | None,
        shares_member_details: bool,
        withdrawal_clause: str | None = None,  # absent from events written before issue 14: the default clause
    ) -> None:
        self.code = code
        self.name = name
        self.purpose = purpose
        self.permanent = permanent
        self.coordonnateur_id = coordonnateur_id
        self.signed_on = signed_on
        self.convention = DocumentRef.from_dict(convention)
        self.shares_member_details = shares_member_details
        self.withdrawal_clause = WithdrawalClause(withdrawal_clause or DEFAULT_WITHDRAWAL_CLAUSE)
        self.memberships: list[Membership] = [Membership(coordonnateur_id, signed_on, None, convention, signed_on)]
        self.auditor_ids: list[UUID] = []

    # Commands
    def admit(self, organisation: Organisation, on: date, decision: DocumentRef | None = None,
              decided_on: date | None = None) -> None:
        """Admits an acheteur (L2113-6, L2113-7; of another EU state: L2113-8) on the strength of its
        délibération or décision d'adhésion, referenced by hash with its date."""
        if not organisation.kind.is_buyer:
            raise MemberMustBeBuyer("organisation", kind=organisation.kind.value)
        if on < self.signed_on:
            raise DateBeforeConvention("on", on=on, signed=self.signed_on)
        current = self.current_membership(organisation.id)
        if current is not None and (current.left_on is None or on < current.left_on):
            raise AlreadyMember("organisation", org=organisation.name)
        if decision is None:
            raise AdhesionDecisionRequired("decision")
        if decided_on is None:
            raise AdhesionDecisionRequired("decided_on")
        if decided_on > on:
            raise AdhesionDecidedAfterJoining("decided_on", decided=decided_on, on=on)
        self._member_joined(organisation_id=organisation.id, on=on, decision=decision.as_dict(),
                            decided_on=decided_on)

    def release(self, organisation_id: UUID, on: date) -> None:
        if organisation_id == self.coordonnateur_id:
            raise CoordonnateurCannotLeave("organisation")
        current = self.current_membership(organisation_id)
        if current is None or current.left_on is not None:
            raise NotAMember("organisation", org=organisation_id, on=on)
        if on <= current.joined_on:
            raise DateBeforeMembership("on", on=on, joined=current.joined_on)
        self._member_left(organisation_id=organisation_id, on=on)

    def assign_auditor(self, organisation: Organisation) -> None:
        if organisation.kind is not OrganisationKind.AUDIT_BODY:
            raise AuditorMustBeAuditBody("organisation", kind=organisation.kind.value)
        if organisation.id in self.auditor_ids:
            raise AlreadyAssigned("organisation", org=organisation.name)
        self._auditor_assigned(organisation_id=organisation.id)

    def choose_small_modifications_reading(self, reading: str, on: date, reason: str,
                                           document: DocumentRef | None = None) -> None:
        """Records how the groupement reads R2194-9's "montant cumulé" (e.g. on legal advice): `net` (directive
        2014/24 art. 72(2), the default) or `absolute`. Avenants proposed afterwards apply it and record it."""
        chosen = parse_enum(Cumulation, reading, "reading")
        if on < self.signed_on:
            raise DateBeforeConvention("on", on=on, signed=self.signed_on)
        if chosen is self.small_modifications_reading:
            raise InvalidInput("reading", rule=f"le groupement lit déjà R2194-9 comme « {chosen.value} »")
        self._small_modifications_reading_chosen(reading=chosen.value, on=on, reason=require_text(reason, "reason"),
                                                 document=document.as_dict() if document else None)

    @event("SmallModificationsReadingChosen")
    def _small_modifications_reading_chosen(self, reading: str, on: date, reason: str,
                                            document: dict[str, str] | None) -> None:
        self.small_modifications_reading = Cumulation(reading)

    @event("AuditorAssigned")
    def _auditor_assigned(self, organisation_id: UUID) -> None:
        self.auditor_ids.append(organisation_id)

    @event("MemberJoined")
    def _member_joined(self, organisation_id: UUID, on: date, decision: dict[str, str] | None = None,
                       decided_on: date | None = None) -> None:  # both absent from events before issue 14
        self.memberships.append(Membership(organisation_id, on, None, decision, decided_on))
        index = self.__dict__.get("_stays_at")
        if index is not None:
            index[organisation_id] = (*index.get(organisation_id, ()), len(self.memberships) - 1)

    @event("MemberLeft")
    def _member_left(self, organisation_id: UUID, on: date) -> None:
        # The organisation's last stay, replaced with its end (memberships are shared between copies: never changed).
        position = self._stays_index()[organisation_id][-1]
        self.memberships[position] = dataclasses.replace(self.memberships[position], left_on=on)

    def derive(self) -> None:
        self._stays_index()

    def _stays_index(self) -> dict[UUID, tuple[int, ...]]:
        index: dict[UUID, tuple[int, ...]] | None = self.__dict__.get("_stays_at")
        if index is None:
            index = {}
            for position, membership in enumerate(self.memberships):
                index[membership.organisation_id] = (*index.get(membership.organisation_id, ()), position)
            self._stays_at = index
        return index

    def memberships_of(self, organisation_id: UUID) -> list[Membership]:
        """The organisation's stays, in order."""
        return [self.memberships[p] for p in self._stays_index().get(organisation_id, ())]

    # Queries
    def current_membership(self, organisation_id: UUID) -> Membership | None:
        positions = self._stays_index().get(organisation_id)
        return self.memberships[positions[-1]] if positions else None

    def is_active(self, organisation_id: UUID, on: date) -> bool:
        return any(m.active_on(on) for m in self.memberships_of(organisation_id))

    def is_active_during(self, organisation_id: UUID, period: Period) -> bool:
        return any(m.active_during(period) for m in self.memberships_of(organisation_id))

    def check_active(self, organisation_id: UUID, on: date, field: str = "member") -> None:
        if not self.is_active(organisation_id, on):
            raise InactiveMember(field, org=organisation_id, when=on.isoformat())

    def check_active_during(self, organisation_id: UUID, period: Period, field: str = "member") -> None:
        if not self.is_active_during(organisation_id, period):
            raise InactiveMember(field, org=organisation_id, when=period.key())

    def stays(self, organisation_id: UUID) -> list[Stay]:
        return [m.stay for m in self.memberships_of(organisation_id)]

    def was_ever_member(self, organisation_id: UUID) -> bool:
        return organisation_id in self._stays_index()

    def active_members(self, on: date) -> list[UUID]:
        return list(dict.fromkeys(m.organisation_id for m in self.memberships if m.active_on(on)))

    def summary(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "code": self.code,
            "name": self.name,
            "coordonnateur_id": str(self.coordonnateur_id),
            "withdrawal_clause": self.withdrawal_clause.value,
            "members": [
                {"organisation_id": str(m.organisation_id), "joined_on": m.joined_on.isoformat(),
                 "left_on": m.left_on.isoformat() if m.left_on else None}
                for m in self.memberships
            ],
        }
