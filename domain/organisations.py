"""Organisations: collectivités, EPLE (lycées), suppliers and audit bodies, known by their SIRET."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from progres.domain.base import ProgresAggregate
from progres.domain.ids import derive_id
from progres.domain.values import OrganisationKind, Siret, parse_enum, require_text


class Organisation(ProgresAggregate):
    """An organisation that may be a member, a coordonnateur, a titulaire or an auditor."""

    @staticmethod
    def create_id(siret: str) -> UUID:
        return derive_id("organisation", siret)

    @classmethod
    def register(cls, siret: str, name: str, kind: str) -> Organisation:
        checked = Siret(siret)
        return cls(
            siret=checked.value,
            name=require_text(name, "name", 255),
            kind=parse_enum(OrganisationKind, kind, "kind").value,
        )

    @event("Registered")
    def __init__(self, siret: str, name: str, kind: str) -> None:
        self.siret = siret
        self.name = name
        self.kind = OrganisationKind(kind)

    def summary(self) -> dict[str, Any]:
        return {"id": str(self.id), "siret": self.siret, "name": self.name, "kind": self.kind.value}
