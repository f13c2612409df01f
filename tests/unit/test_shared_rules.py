"""The rules the domain and the read side share (domain/rules.py), pinned: by their boundaries, and by
hypothesis against a straightforward recomputation, on `date`s (the aggregates) and ISO texts (the views)
alike, so both sides cannot drift apart again."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from progres.domain import rules
from progres.domain.avenants import AvenantStatus
from progres.domain.parties import Stay
from progres.domain.plans import Indicator
from progres.domain.values import Aggregation, IndicatorKind, Period, Periodicity, Scope
from progres.projections.indicators import target_on
from progres.projections.member_view import active_on, current_amount, notified_avenants

DAY = date(2025, 3, 30)
days = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))
amounts = st.decimals(min_value=Decimal("-1000000"), max_value=Decimal("1000000"), places=2,
                      allow_nan=False, allow_infinity=False)


# Membership on a day
def test_a_member_is_one_from_the_day_it_joins_until_the_day_before_it_leaves() -> None:
    joined, left = date(2025, 1, 1), date(2025, 6, 1)
    assert not rules.member_on(joined, left, joined - timedelta(days=1))
    assert rules.member_on(joined, left, joined)
    assert rules.member_on(joined, left, left - timedelta(days=1))
    assert not rules.member_on(joined, left, left)
    assert rules.member_on(joined, None, date(2099, 1, 1))


@given(days, st.none() | days, days)
def test_membership_on_a_day_is_the_same_on_dates_iso_days_the_stay_and_the_ledger(
        joined: date, left: date | None, day: date) -> None:
    expected = joined <= day and (left is None or day < left)
    assert rules.member_on(joined, left, day) is expected
    assert rules.member_on(joined.isoformat(), left.isoformat() if left else None, day.isoformat()) is expected
    assert Stay(joined, left).active_on(day) is expected
    ledger = {"groupement": {"memberships": [{"organisation_id": "m", "joined_on": joined.isoformat(),
                                              "left_on": left.isoformat() if left else None}]}}
    assert active_on(ledger, "m", day.isoformat()) is expected


@given(days, st.none() | days, days, st.integers(min_value=0, max_value=60))
def test_membership_during_a_period_is_membership_on_one_of_its_days(
        joined: date, left: date | None, start: date, length: int) -> None:
    end = start + timedelta(days=length)
    expected = any(rules.member_on(joined, left, start + timedelta(days=n)) for n in range(length + 1))
    assert rules.member_during(joined, left, start, end) is expected
    assert rules.member_during(joined.isoformat(), left.isoformat() if left else None, start.isoformat(),
                               end.isoformat()) is expected
    assert Stay(joined, left).overlaps(Period(start, end)) is expected


# Target in force on a day
trajectories = st.lists(st.tuples(days, amounts), max_size=6, unique_by=lambda step: step[0]).map(sorted)


def test_the_target_in_force_is_the_last_step_started_else_the_final_target() -> None:
    steps = [(date(2025, 1, 1), Decimal(10)), (date(2026, 1, 1), Decimal(20))]
    assert rules.target_in_force(steps, Decimal(30), date(2024, 12, 31)) == Decimal(30)
    assert rules.target_in_force(steps, Decimal(30), date(2025, 1, 1)) == Decimal(10)
    assert rules.target_in_force(steps, Decimal(30), date(2025, 12, 31)) == Decimal(10)
    assert rules.target_in_force(steps, Decimal(30), date(2026, 1, 1)) == Decimal(20)
    assert rules.target_in_force([], None, DAY) is None


@given(trajectories, st.none() | amounts, days)
def test_the_target_in_force_is_the_same_for_the_plan_and_the_views(
        trajectory: list[tuple[date, Decimal]], final: Decimal | None, day: date) -> None:
    started = [target for start, target in trajectory if start <= day]
    expected = started[-1] if started else final
    assert rules.target_in_force(trajectory, final, day) == expected
    indicator = Indicator("i", "o", "I", IndicatorKind.QUANTITATIVE, Periodicity.YEARLY, Scope.GROUPEMENT,
                          Aggregation.MEAN, trajectory=trajectory, target=final)
    assert indicator.target_on(day) == expected
    # the ledger's form: ISO days, amounts as text
    ledger_indicator = {"trajectory": [{"from": start.isoformat(), "target": str(target)}
                                       for start, target in trajectory],
                        "target": str(final) if final is not None else None}
    assert target_on(ledger_indicator, day.isoformat()) == expected


# Notified avenants and the current amount
def test_only_notified_avenants_are_in_force() -> None:
    statuses = ["proposed", "signed", "notified", "abandoned", "notified"]
    assert rules.notified(list(enumerate(statuses)), lambda a: a[1]) == [(2, "notified"), (4, "notified")]
    assert [s for s in AvenantStatus if rules.is_notified(s)] == [AvenantStatus.NOTIFIED]


@given(amounts.filter(lambda a: a > 0), st.lists(st.tuples(amounts, st.sampled_from(list(AvenantStatus))),
                                                 max_size=8))
def test_the_current_amount_adds_the_notified_deltas_only(
        initial: Decimal, avenants: list[tuple[Decimal, AvenantStatus]]) -> None:
    in_force = [delta for delta, status in avenants if status is AvenantStatus.NOTIFIED]
    expected = initial + sum(in_force, Decimal(0))
    assert rules.current_amount(initial, in_force) == expected
    assert rules.amounts_after(initial, in_force)[-1:] == ([expected] if in_force else [])
    marche = {"initial_amount": str(initial), "avenants": {
        str(n): {"status": status.value, "changes": {"amount_delta": str(delta)}}
        for n, (delta, status) in enumerate(avenants, start=1)}}
    assert current_amount(marche) == expected
    assert [a["changes"]["amount_delta"] for a in notified_avenants(marche)] == [str(d) for d in in_force]


def test_the_cumulative_change_is_a_percentage_of_the_initial_amount_rounded_to_a_hundredth() -> None:
    assert rules.cumulative_change_percent(Decimal(100), Decimal(105)) == Decimal("5.00")
    assert rules.cumulative_change_percent(Decimal(3), Decimal(4)) == Decimal("33.33")
    assert rules.cumulative_change_percent(Decimal(3), Decimal(2)) == Decimal("-33.33")
    assert rules.amounts_after(Decimal(100), [Decimal(5), Decimal(-2)]) == [Decimal(105), Decimal(103)]
