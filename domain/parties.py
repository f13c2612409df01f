"""Who is a party to a marché, and what a member's measure of a period counts for: rules written once, on
plain values, for the aggregates (which refuse) and the read models (which label) alike.

- The parties of a marché are fixed when it is launched: the members of the groupement on its launch date.
  A member that joins later benefits only from marchés launched after it joined (ministerial answer
  QE 100136, JO AN 2011, and the DAJ's guidance on groupements de commandes).
- A party that leaves the groupement owes what the convention constitutive's withdrawal clause says
  (CCP L2113-6): `bound_until_marche_end` keeps it a party until the marché ends; `ends_at_withdrawal`
  stops its part on the day it leaves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from progres.domain.rules import member_during, member_on
from progres.domain.values import Period, WithdrawalClause


@dataclass(frozen=True)
class Stay:
    """One membership of an organisation, as plain dates (left_on excluded: the member left that day)."""

    joined_on: date
    left_on: date | None = None

    def active_on(self, day: date) -> bool:
        return member_on(self.joined_on, self.left_on, day)

    def overlaps(self, period: Period) -> bool:
        return member_during(self.joined_on, self.left_on, period.start, period.end)


class Participation(StrEnum):
    """Which rule applies to a member's measure of a period under one marché; the views show it."""

    PARTY = "party"  # a member at the launch, and still one during the period
    BOUND_AFTER_WITHDRAWAL = "bound_after_withdrawal"  # left, but the convention binds it until the marché's end
    UNTIL_WITHDRAWAL = "until_withdrawal"  # left during the period; its part stopped on leaving
    AFTER_WITHDRAWAL = "after_withdrawal"  # left before the period; its part had stopped: not counted
    JOINED_AFTER_LAUNCH = "joined_after_launch"  # a member, but not a party to this marché: not counted
    NOT_A_MEMBER = "not_a_member"  # never a member during the period: not counted

    @property
    def counts(self) -> bool:
        """Whether the measure enters the groupement's figures."""
        return self in (Participation.PARTY, Participation.BOUND_AFTER_WITHDRAWAL, Participation.UNTIL_WITHDRAWAL)


def launch_stay(stays: Iterable[Stay], launched_on: date) -> Stay | None:
    """The membership during which the marché was launched, if any."""
    return next((s for s in stays if s.active_on(launched_on)), None)


def withdrawal_date(stays: Iterable[Stay], launched_on: date) -> date | None:
    stay = launch_stay(stays, launched_on)
    return stay.left_on if stay is not None else launched_on


def participation(stays: Iterable[Stay], launched_on: date, is_party: bool, clause: WithdrawalClause,
                  period: Period) -> Participation:
    """The rule that applies to an organisation's measure of `period` under a marché launched on `launched_on`
    (`is_party`: whether it was among the marché's parties, fixed at its launch)."""
    stays = list(stays)
    if not is_party:
        member = any(s.overlaps(period) for s in stays)
        return Participation.JOINED_AFTER_LAUNCH if member else Participation.NOT_A_MEMBER
    left = withdrawal_date(stays, launched_on)
    if left is None or period.end < left:
        return Participation.PARTY
    if clause is WithdrawalClause.BOUND_UNTIL_MARCHE_END:
        return Participation.BOUND_AFTER_WITHDRAWAL
    return Participation.UNTIL_WITHDRAWAL if period.start < left else Participation.AFTER_WITHDRAWAL


def takes_part_on(stays: Iterable[Stay], launched_on: date, is_party: bool, clause: WithdrawalClause,
                  day: date) -> bool:
    """Whether a party may act under the marché on a day (record its own measures, propose): a member then,
    or one that left and that the convention keeps bound until the marché's end."""
    rule = participation(stays, launched_on, is_party, clause, Period(day, day))
    return rule in (Participation.PARTY, Participation.BOUND_AFTER_WITHDRAWAL)
