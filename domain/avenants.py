"""Avenants (modification de marché, CCP R2194-1 to R2194-9): legal bases, caps and the CAO flag.

The rules are pure functions of the marché's figures so that they can be read and tested alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from progres.domain.errors import (
    AvenantBasisNotAllowed,
    AvenantCapExceeded,
    EmptyAvenant,
    InvalidInput,
)
from progres.domain.thresholds import BuyerKind, ThresholdRow
from progres.domain.values import DocumentRef, MarcheNature, parse_decimal, require_text

HUNDRED = Decimal(100)
# L1414-4 CGCT: an avenant raising the amount by more than 5 % needs the CAO's opinion.
CAO_THRESHOLD_PERCENT = Decimal(5)
# R2194-3 (pouvoir adjudicateur): each modification of R2194-2 or R2194-5 is capped at 50 %.
PER_MODIFICATION_CAP_PERCENT = Decimal(50)
# R2194-8: modifications de faible montant, cumulated (R2194-9): 10 % for supplies and services, 15 % for works,
# and below the European threshold in force on the avenant's date (domain/thresholds.py, by nature and buyer).
DE_MINIMIS_CAP_PERCENT = {MarcheNature.FOURNITURES: Decimal(10), MarcheNature.SERVICES: Decimal(10),
                          MarcheNature.TRAVAUX: Decimal(15)}
# Only for callers that test the arithmetic with a bare figure; the marché always passes a dated row.
DEFAULT_EU_THRESHOLD = Decimal(216_000)


class Cumulation(StrEnum):
    """How R2194-9's "montant cumulé" of successive small modifications is read (chosen per groupement)."""

    # Directive 2014/24/UE art. 72(2): "the value shall be assessed on the basis of the net cumulative value of
    # the successive modifications". The default: R2194-9 transposes it.
    NET = "net"
    # The prudent reading some legal advisers give: increases and reductions both count, in absolute values.
    ABSOLUTE = "absolute"


CUMULATION_SCOPE = {Cumulation.NET: "cumulés sur les modifications de faible montant",
                    Cumulation.ABSOLUTE: "cumulés sur les modifications de faible montant, en valeur absolue"}


class LegalBasis(StrEnum):
    R2194_1 = "R2194-1"  # clause de réexamen
    R2194_2 = "R2194-2"  # prestations supplémentaires devenues nécessaires
    R2194_3 = "R2194-3"  # (cap of R2194-2, cited with it)
    R2194_4 = "R2194-4"  # (successive modifications of R2194-2 / R2194-5)
    R2194_5 = "R2194-5"  # circonstances imprévues
    R2194_6 = "R2194-6"  # remplacement du titulaire
    R2194_7 = "R2194-7"  # modifications non substantielles
    R2194_8 = "R2194-8"  # modifications de faible montant
    R2194_9 = "R2194-9"  # (cumulative rule of R2194-8)


class AvenantStatus(StrEnum):
    PROPOSED = "proposed"
    SIGNED = "signed"
    NOTIFIED = "notified"
    ABANDONED = "abandoned"


PER_MODIFICATION_BASES = {LegalBasis.R2194_2, LegalBasis.R2194_3, LegalBasis.R2194_4, LegalBasis.R2194_5}
DE_MINIMIS_BASES = {LegalBasis.R2194_8, LegalBasis.R2194_9}


@dataclass
class AvenantChanges:
    """What an avenant changes: the amount (HT, signed), the duration, the titulaires, the plan."""

    amount_delta: Decimal = Decimal(0)
    duration_delta_months: int = 0
    titulaire_ids: list[UUID] | None = None
    plan_changes: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def parse(cls, data: dict[str, Any]) -> AvenantChanges:
        duration = data.get("duration_delta_months", 0) or 0
        if not isinstance(duration, int) or isinstance(duration, bool):
            raise InvalidInput("changes.duration_delta_months", rule="un nombre entier de mois est attendu")
        titulaires = data.get("titulaire_ids")
        plan_changes = list(data.get("plan_changes") or [])
        for index, change in enumerate(plan_changes):
            if change.get("kind") != "add_axis":
                raise InvalidInput(f"changes.plan_changes[{index}].kind", rule="seul « add_axis » est possible")
            require_text(change.get("key"), f"changes.plan_changes[{index}].key", 64)
            require_text(change.get("title"), f"changes.plan_changes[{index}].title", 255)
        changes = cls(
            amount_delta=parse_decimal(data.get("amount_delta", 0) or 0, "changes.amount_delta"),
            duration_delta_months=duration,
            titulaire_ids=[UUID(str(t)) for t in titulaires] if titulaires is not None else None,
            plan_changes=plan_changes,
        )
        if changes.is_empty():
            raise EmptyAvenant("changes")
        return changes

    def is_empty(self) -> bool:
        return (self.amount_delta == 0 and self.duration_delta_months == 0
                and self.titulaire_ids is None and not self.plan_changes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "amount_delta": self.amount_delta,
            "duration_delta_months": self.duration_delta_months,
            "titulaire_ids": [str(t) for t in self.titulaire_ids] if self.titulaire_ids is not None else None,
            "plan_changes": self.plan_changes,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AvenantChanges:
        titulaires = data.get("titulaire_ids")
        return cls(
            amount_delta=Decimal(str(data["amount_delta"])),
            duration_delta_months=int(data["duration_delta_months"]),
            titulaire_ids=[UUID(t) for t in titulaires] if titulaires is not None else None,
            plan_changes=list(data["plan_changes"]),
        )


@dataclass(frozen=True)
class CaoOpinion:
    """The opinion of the commission d'appel d'offres on a projet d'avenant (L1414-4 CGCT): advisory."""

    given_on: date
    favourable: bool
    document: DocumentRef

    def as_dict(self) -> dict[str, Any]:
        return {"given_on": self.given_on.isoformat(), "favourable": self.favourable,
                "document": self.document.as_dict()}


@dataclass
class Avenant:
    number: int
    basis: LegalBasis
    reason: str
    changes: AvenantChanges
    cumulative_percent: Decimal
    needs_cao_opinion: bool
    decision: dict[str, str] | None = None
    status: AvenantStatus = AvenantStatus.PROPOSED
    signed_on: date | None = None
    notified_on: date | None = None
    document: DocumentRef | None = None
    # Written since issue 14 (absent from older events and snapshots, hence the defaults):
    proposed_on: date | None = None
    cumulation: Cumulation | None = None  # the groupement's reading of R2194-9 when the avenant was proposed
    small_modifications: dict[str, Any] | None = None  # R2194-8/-9: what was assessed, against which threshold
    cao_opinion: CaoOpinion | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "number": self.number, "basis": self.basis.value, "status": self.status.value,
            "reason": self.reason, "amount_delta": str(self.changes.amount_delta),
            "duration_delta_months": self.changes.duration_delta_months,
            "cumulative_percent": str(self.cumulative_percent), "needs_cao_opinion": self.needs_cao_opinion,
            "signed_on": self.signed_on.isoformat() if self.signed_on else None,
            "notified_on": self.notified_on.isoformat() if self.notified_on else None,
            "decision": self.decision,
            "proposed_on": self.proposed_on.isoformat() if self.proposed_on else None,
            "cumulation": self.cumulation.value if self.cumulation else None,
            "small_modifications": self.small_modifications,
            "cao_opinion": self.cao_opinion.as_dict() if self.cao_opinion else None,
        }


def percent_of(amount: Decimal, initial: Decimal) -> Decimal:
    """For display: the amount as a percentage of the initial amount, rounded to 0.01."""
    return (amount * HUNDRED / initial).quantize(Decimal("0.01"))


def above(amount: Decimal, initial: Decimal, cap_percent: Decimal) -> bool:
    """Exact comparison, never on a rounded percentage (50.001 % is above 50 %)."""
    return amount * HUNDRED > cap_percent * initial


def small_modifications(
    basis: LegalBasis, changes: AvenantChanges, earlier: list[Avenant], *, nature: MarcheNature,
    initial_amount: Decimal,
    eu_threshold: Decimal | ThresholdRow, cumulation: Cumulation,
) -> dict[str, Any]:
    """R2194-8 and R2194-9: checks a small modification against its caps; returns what was assessed.

    Each small modification, and their cumulated amount read as `cumulation` says (net by default, directive
    2014/24 art. 72(2)), stay within 10 % (supplies, services) or 15 % (works) of the initial amount and below
    the European threshold (a dated row of domain/thresholds.py, chosen by the avenant's date)."""
    live = [a for a in earlier if a.status is not AvenantStatus.ABANDONED and a.basis in DE_MINIMIS_BASES]
    deltas = [a.changes.amount_delta for a in live] + [changes.amount_delta]
    if cumulation is Cumulation.NET:
        cumulated = abs(sum(deltas, Decimal(0)))
    else:
        cumulated = sum((abs(d) for d in deltas), Decimal(0))
    this = abs(changes.amount_delta)
    cap = DE_MINIMIS_CAP_PERCENT[nature]
    for amount, scope in ((cumulated, CUMULATION_SCOPE[cumulation]), (this, "par modification de faible montant")):
        if above(amount, initial_amount, cap):
            raise AvenantCapExceeded("changes.amount_delta", basis=basis.value, cap=cap, scope=scope,
                                     reached=percent_of(amount, initial_amount))
    row = eu_threshold if isinstance(eu_threshold, ThresholdRow) else None
    threshold = row.amount if row is not None else eu_threshold
    assert isinstance(threshold, Decimal)
    if max(cumulated, this) >= threshold:
        raise AvenantBasisNotAllowed("changes.amount_delta", rule=below_threshold_rule(threshold, row))
    return {"reading": cumulation.value, "cumulated": str(cumulated),
            "cumulated_percent": str(percent_of(cumulated, initial_amount)), "cap_percent": str(cap),
            "threshold": row.as_dict() if row is not None else {"amount": str(threshold)}}


def below_threshold_rule(threshold: Decimal, row: ThresholdRow | None) -> str:
    text = f"les modifications de faible montant doivent rester sous le seuil européen de {threshold} € HT"
    if row is None:
        return text
    return f"{text} en vigueur du {row.valid_from.isoformat()} au {row.valid_until.isoformat()} ({row.source})"


def check_avenant(
    basis: LegalBasis,
    changes: AvenantChanges,
    *,
    nature: MarcheNature,
    initial_amount: Decimal,
    has_clause_reexamen: bool,
    earlier: list[Avenant],
    eu_threshold: Decimal | ThresholdRow = DEFAULT_EU_THRESHOLD,
    cumulation: Cumulation = Cumulation.NET,
    buyer: BuyerKind = BuyerKind.POUVOIR_ADJUDICATEUR,
) -> Decimal:
    """Checks an avenant against the rules of its legal basis; returns the cumulative change (amount)."""
    live = [a for a in earlier if a.status is not AvenantStatus.ABANDONED]
    cumulative = sum((a.changes.amount_delta for a in live), Decimal(0)) + changes.amount_delta
    if basis is LegalBasis.R2194_1 and not has_clause_reexamen:
        raise AvenantBasisNotAllowed(
            "basis", rule="R2194-1 suppose une clause de réexamen dans le marché, et ce marché n'en a pas"
        )
    if basis is LegalBasis.R2194_6 and changes.titulaire_ids is None:
        raise AvenantBasisNotAllowed("basis", rule="R2194-6 est le remplacement du titulaire : nommez le nouveau")
    delta = abs(changes.amount_delta)
    # R2194-3: the 50 % cap binds pouvoirs adjudicateurs "qui ne sont pas des entités adjudicatrices".
    capped = buyer is not BuyerKind.ENTITE_ADJUDICATRICE
    if capped and basis in PER_MODIFICATION_BASES and above(delta, initial_amount, PER_MODIFICATION_CAP_PERCENT):
        raise AvenantCapExceeded("changes.amount_delta", basis=basis.value, cap=PER_MODIFICATION_CAP_PERCENT,
                                 scope="par modification",
                                 reached=percent_of(abs(changes.amount_delta), initial_amount))
    if basis in DE_MINIMIS_BASES:
        small_modifications(basis, changes, earlier, nature=nature, initial_amount=initial_amount,
                            eu_threshold=eu_threshold, cumulation=cumulation)
    return cumulative


def needs_cao_opinion(cumulative_change: Decimal, initial_amount: Decimal) -> bool:
    """L1414-4 CGCT: an increase of more than 5 % of the initial amount goes to the CAO first."""
    return above(cumulative_change, initial_amount, CAO_THRESHOLD_PERCENT)
