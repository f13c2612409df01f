"""Rules the write side and the read side share, written once on plain values.

The aggregates (domain/marches.py, domain/plans.py, domain/groupements.py) call them on their typed state;
the read models (projections/, services/reports/) call them on the ledger's plain values. Days are `date`s
on the write side and ISO texts ("2025-03-30") on the read side: ISO days order as the days they name, so
each rule on days takes either (the type variable `Day`), never a mix.

- Notified avenants: an avenant changes the marché once it is notified (signed or proposed, it does not yet).
  On a business day, an avenant is in force once notified on or before that day.
- Current amount: the initial amount plus the amount deltas of the notified avenants; the cumulative change
  is the difference as a percentage of the initial amount, rounded to 0.01.
- Target in force on a day: the last trajectory step started by then, else the final target.
- Membership on a day: joined on or before the day, and not yet left (the day it leaves it is no longer
  a member). Who is a *party* to a marché builds on it, in domain/parties.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from typing import TypeVar

Day = TypeVar("Day", date, str)
T = TypeVar("T")

NOTIFIED = "notified"  # the status of an avenant in force (AvenantStatus.NOTIFIED, a StrEnum, equals it)
HUNDRED = Decimal(100)
PERCENT_PLACES = Decimal("0.01")


# Avenants and amounts
def is_notified(status: str) -> bool:
    """Whether an avenant of this status changes its marché."""
    return status == NOTIFIED


def notified(avenants: Iterable[T], status_of: Callable[[T], str]) -> list[T]:
    """The avenants in force, in the order given."""
    return [a for a in avenants if is_notified(status_of(a))]


def notified_by(status: str, notified_on: Day | None, day: Day) -> bool:
    """Whether an avenant of this status and notification day was in force on `day` (notified by then)."""
    return is_notified(status) and notified_on is not None and notified_on <= day


def current_amount(initial: Decimal, notified_deltas: Iterable[Decimal]) -> Decimal:
    """The marché's amount after its notified avenants (give only the deltas of notified avenants)."""
    return initial + sum(notified_deltas, Decimal(0))


def amounts_after(initial: Decimal, notified_deltas: Iterable[Decimal]) -> list[Decimal]:
    """The marché's amount after each notified avenant in turn (open data publishes each modification's)."""
    amounts, amount = [], initial
    for delta in notified_deltas:
        amount += delta
        amounts.append(amount)
    return amounts


def cumulative_change_percent(initial: Decimal, current: Decimal) -> Decimal:
    """The change from the initial amount, as a percentage of it rounded to 0.01 (the initial amount is > 0)."""
    return ((current - initial) * HUNDRED / initial).quantize(PERCENT_PLACES)


# Targets
def target_in_force(trajectory: Iterable[tuple[Day, Decimal]], final: Decimal | None, day: Day) -> Decimal | None:
    """The target in force on `day`: the last step (start, target) of the trajectory, in its order, started by
    then (the domain keeps starts strictly increasing), else the final target (None for a qualitative indicator)."""
    in_force = final
    for start, target in trajectory:
        if start <= day:
            in_force = target
    return in_force


# Membership
def member_on(joined_on: Day, left_on: Day | None, day: Day) -> bool:
    """Whether a stay [joined_on, left_on) covers `day`: the day a member leaves it is no longer one."""
    return joined_on <= day and (left_on is None or day < left_on)


def member_during(joined_on: Day, left_on: Day | None, start: Day, end: Day) -> bool:
    """Whether a stay [joined_on, left_on) covers at least one day of the closed period [start, end]."""
    first = max(joined_on, start)  # the first day both cover (an empty stay, left the day it began, covers none)
    return first <= end and (left_on is None or first < left_on)
