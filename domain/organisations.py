"""Organisations: acheteurs (collectivités, EPLE, State services, hospitals, établissements publics, buyers of
other EU states), suppliers and audit bodies, known by their SIRET, or by their EU VAT number when foreign."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import event

from progres.domain.base import ProgresAggregate
from progres.domain.errors import IdentifierDoesNotFitKind
from progres.domain.ids import derive_id
from progres.domain.values import EuVatNumber, OrganisationKind, Siret, parse_enum, require_text


def checked_identifier(kind: OrganisationKind, siret: str | None, vat_number: str | None) -> tuple[str | None,
                                                                                                   str | None]:
    """A French organisation has a SIRET; a buyer of another EU member state (L2113-8) has none, and is known
    by its VAT identification number instead. Each kind carries exactly the identifier that fits it."""
    if kind.is_foreign:
        if siret:
            raise IdentifierDoesNotFitKind("siret", rule="un acheteur d'un autre État de l'UE n'a pas de SIRET : "
                                                         "donnez son numéro de TVA (vat_number)")
        if not vat_number:
            raise IdentifierDoesNotFitKind("vat_number", rule="un acheteur d'un autre État de l'UE est connu par son "
                                                              "numéro de TVA (p. ex. DE136695976)")
        return None, EuVatNumber(vat_number).value
    if vat_number:
        raise IdentifierDoesNotFitKind("vat_number", rule=f"une organisation française ({kind.value}) est connue par "
                                                          "son seul SIRET")
    if not siret:
        raise IdentifierDoesNotFitKind("siret", rule=f"une organisation ({kind.value}) est connue par son SIRET")
    return Siret(siret).value, None


class Organisation(ProgresAggregate):
    """An organisation that may be a member, a coordonnateur, a titulaire or an auditor."""

    @staticmethod
    def create_id(siret: str | None, vat_number: str | None = None) -> UUID:
        """From its SIRET, or the VAT number of a buyer of another EU state (what its tokens name it by)."""
        return derive_id("organisation", siret or vat_number)

    @classmethod
    def register(cls, siret: str | None, name: str, kind: str, vat_number: str | None = None) -> Organisation:
        checked_kind = parse_enum(OrganisationKind, kind, "kind")
        checked_siret, checked_vat = checked_identifier(checked_kind, siret, vat_number)
        return cls(
            siret=checked_siret, name=require_text(name, "name", 255), kind=checked_kind.value, vat_number=checked_vat,
        )

    @event("Registered")
    def __init__(self, siret: str | None, name: str, kind: str, vat_number: str | None = None) -> None:
        # vat_number: absent from events written before buyers of other EU states could register.
        self.siret = siret
        self.name = name
        self.kind = OrganisationKind(kind)
        self.vat_number = vat_number

    @property
    def identifier(self) -> str:
        return self.siret or self.vat_number or ""

    def summary(self) -> dict[str, Any]:
        return {"id": str(self.id), "siret": self.siret, "vat_number": self.vat_number, "name": self.name,
                "kind": self.kind.value}
