"""Groupement de commandes: constituted by a convention, members join and leave at effective dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from progres.domain.avenants import Cumulation
from progres.domain.base import ProgresAggregate
from progres.domain.errors import (
    AlreadyAssigned,
    AlreadyMember,
    AuditorMustBeAuditBody,
    CoordonnateurCannotLeave,
    CoordonnateurMustBeBuyer,
    DateBeforeConvention,
    DateBeforeMembership,
    InactiveMember,
    InvalidInput,
    MemberMustBeBuyer,
    NotAMember,
)
from progres.domain.ids import derive_id
from progres.domain.organisations import Organisation
from progres.domain.values import DocumentRef, OrganisationKind, Period, parse_enum, require_text


@dataclass
class Membership:
    organisation_id: UUID
    joined_on: date
    left_on: date | None = None

    def active_on(self, day: date) -> bool:
        return self.joined_on <= day and (self.left_on is None or day < self.left_on)

    def active_during(self, period: Period) -> bool:
        return self.joined_on <= period.end and (self.left_on is None or period.start < self.left_on)


class Groupement(ProgresAggregate):
    """A groupement de commandes (CCP L2113-6 to L2113-8) formed by a convention constitutive."""

    # R2194-9 read as directive 2014/24 art. 72(2) says (net) until the groupement records another reading;
    # a class-level default, so groupements constituted before the choice existed read it too.
    small_modifications_reading: Cumulation = Cumulation.NET

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
    ) -> Groupement:
        if not coordonnateur.kind.is_buyer:
            raise CoordonnateurMustBeBuyer("coordonnateur", kind=coordonnateur.kind.value)
        return cls(
            code=require_text(code, "code", 64),
            name=require_text(name, "name", 255),
            purpose=require_text(purpose, "purpose"),
            permanent=bool(permanent),
            coordonnateur_id=coordonnateur.id,
            signed_on=signed_on,
            convention=convention.as_dict() if convention else None,
            shares_member_details=bool(shares_member_details),
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
    ) -> None:
        self.code = code
        self.name = name
        self.purpose = purpose
        self.permanent = permanent
        self.coordonnateur_id = coordonnateur_id
        self.signed_on = signed_on
        self.convention = DocumentRef.from_dict(convention)
        self.shares_member_details = shares_member_details
        self.memberships: list[Membership] = [Membership(coordonnateur_id, signed_on)]
        self.auditor_ids: list[UUID] = []

    # Commands
    def admit(self, organisation: Organisation, on: date) -> None:
        if not organisation.kind.is_buyer:
            raise MemberMustBeBuyer("organisation", kind=organisation.kind.value)
        if on < self.signed_on:
            raise DateBeforeConvention("on", on=on, signed=self.signed_on)
        current = self.current_membership(organisation.id)
        if current is not None and (current.left_on is None or on < current.left_on):
            raise AlreadyMember("organisation", org=organisation.name)
        self._member_joined(organisation_id=organisation.id, on=on)

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
            raise InvalidInput("reading", rule=f"the groupement already reads R2194-9 as '{chosen.value}'")
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
    def _member_joined(self, organisation_id: UUID, on: date) -> None:
        self.memberships.append(Membership(organisation_id, on))

    @event("MemberLeft")
    def _member_left(self, organisation_id: UUID, on: date) -> None:
        membership = self.current_membership(organisation_id)
        assert membership is not None
        membership.left_on = on

    # Queries
    def current_membership(self, organisation_id: UUID) -> Membership | None:
        found = [m for m in self.memberships if m.organisation_id == organisation_id]
        return found[-1] if found else None

    def is_active(self, organisation_id: UUID, on: date) -> bool:
        return any(m.active_on(on) for m in self.memberships if m.organisation_id == organisation_id)

    def is_active_during(self, organisation_id: UUID, period: Period) -> bool:
        return any(m.active_during(period) for m in self.memberships if m.organisation_id == organisation_id)

    def check_active(self, organisation_id: UUID, on: date, field: str = "member") -> None:
        if not self.is_active(organisation_id, on):
            raise InactiveMember(field, org=organisation_id, when=on.isoformat())

    def check_active_during(self, organisation_id: UUID, period: Period, field: str = "member") -> None:
        if not self.is_active_during(organisation_id, period):
            raise InactiveMember(field, org=organisation_id, when=period.key())

    def active_members(self, on: date) -> list[UUID]:
        return list(dict.fromkeys(m.organisation_id for m in self.memberships if m.active_on(on)))

    def summary(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "code": self.code,
            "name": self.name,
            "coordonnateur_id": str(self.coordonnateur_id),
            "members": [
                {"organisation_id": str(m.organisation_id), "joined_on": m.joined_on.isoformat(),
                 "left_on": m.left_on.isoformat() if m.left_on else None}
                for m in self.memberships
            ],
        }
