"""A member's EGalim figures for a period, as the GraphQL query `egalimShares` and `progres egalim …` read them.

The figures come from the member's purchase register under a plan (its monthly totals); who may read them is
decided by the policy exactly as for the member's view of the plan (`READ_MEMBER`): the coordonnateur and the
groupement's auditors for every member, a member's buyer for itself, and every member's and titulaire's buyer
when the convention shares member details. The caller checks access before calling `member_figures`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from progres.domain.egalim import (
    MEAT_FISH_PERCENT,
    MEAT_FISH_SINCE,
    MEAT_FISH_SOURCE,
    Territory,
    Threshold,
    threshold_on,
)
from progres.domain.errors import InvalidInput, NotFound
from progres.domain.purchases import PurchaseRegister
from progres.projections.egalim import FamilyTotals, by_family, diagnostic, period_totals, shares

if TYPE_CHECKING:
    from progres.services.commands import Progres


class NoPurchases(NotFound):
    code = "not_found"
    template = "aucun achat importé pour le membre {member} dans le plan {plan}"


@dataclass(frozen=True)
class MemberFigures:
    plan_id: str
    member_id: str
    start: date
    end: date
    territory: Territory
    register: PurchaseRegister
    figures: FamilyTotals

    @property
    def shares(self) -> dict[str, Decimal | None]:
        return shares(self.figures)

    @property
    def families(self) -> dict[str, dict[str, Any]]:
        return by_family(self.figures)

    @property
    def threshold(self) -> Threshold | None:
        """The thresholds in force on the period's first day (they change on 1 January)."""
        return threshold_on(self.territory, self.start)

    @property
    def meat_fish_percent(self) -> int | None:
        return MEAT_FISH_PERCENT if self.start >= MEAT_FISH_SINCE else None

    meat_fish_source = MEAT_FISH_SOURCE

    def diagnostic(self, year: int) -> dict[str, Decimal]:
        return diagnostic(self.figures, year)


def check_period(start: date, end: date, fields: tuple[str, str] = ("periodStart", "periodEnd")) -> None:
    if end < start:
        raise InvalidInput(fields[1], rule="la fin de la période ne peut pas précéder son début")
    if (end - start).days > 3660:
        raise InvalidInput(fields[1], rule="une période de dix ans au plus")


def member_figures(app: Progres, plan_id: str, member_id: str, start: date, end: date,
                   territory: Territory = Territory.HEXAGONE, field: str = "memberId") -> MemberFigures:
    """The member's figures for [start, end]; NoPurchases when nothing was imported for it under the plan."""
    check_period(start, end)
    try:
        register_id = PurchaseRegister.create_id(UUID(str(plan_id)), UUID(str(member_id)))
    except ValueError:
        raise NoPurchases(field, member=str(member_id)[:40], plan=str(plan_id)[:40]) from None
    if not app.exists(register_id):
        raise NoPurchases(field, member=str(member_id)[:40], plan=str(plan_id)[:40])
    register = app.repository.get(register_id)
    assert isinstance(register, PurchaseRegister)
    return MemberFigures(str(plan_id), str(member_id), start, end, territory, register,
                         period_totals(register.totals, start, end))
