"""How member values of an indicator combine into a groupement figure (sum, mean, weighted mean).

A weighted mean weighs each member by its declared purchase volume. A member with no volume declared is
not weighted 0 in silence: it is left out of the mean and named; when no member has a volume there is no
figure at all (never a plain mean in disguise). The figure says which of these applied (`weighting`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from progres.domain.values import Aggregation

PLACES = Decimal("0.01")

WEIGHTED = "weighted_by_purchase_volume"  # every member counted had a volume
WEIGHTED_WITHOUT_SOME = "weighted_without_members_lacking_volume"  # those without one were left out, named
NO_VOLUME = "no_purchase_volume"  # no member counted had a volume (or all were 0): no figure
WEIGHTINGS = (WEIGHTED, WEIGHTED_WITHOUT_SOME, NO_VOLUME)


@dataclass(frozen=True)
class Combined:
    value: Decimal | None
    weighting: str | None = None  # for a weighted mean: which rule applied
    without_volume: tuple[Any, ...] = ()  # members left out of a weighted mean for want of a volume


def combine(rule: Aggregation, values: Sequence[tuple[Any, Decimal]],
            weights: Mapping[Any, Decimal] | None = None) -> Combined:
    if not values:
        return Combined(None)
    numbers = [value for _, value in values]
    if rule is Aggregation.SUM:
        return Combined(sum(numbers, Decimal(0)).quantize(PLACES))
    if rule is Aggregation.WEIGHTED_MEAN:
        volumes = weights or {}
        weighed = [(value, volumes[member]) for member, value in values if member in volumes]
        without = tuple(member for member, _ in values if member not in volumes)
        total = sum((weight for _, weight in weighed), Decimal(0))
        if total <= 0:
            return Combined(None, NO_VOLUME, without)
        mean = (sum((v * w for v, w in weighed), Decimal(0)) / total).quantize(PLACES)
        return Combined(mean, WEIGHTED_WITHOUT_SOME if without else WEIGHTED, without)
    if rule is Aggregation.NONE and len(numbers) == 1:
        return Combined(numbers[0])
    return Combined((sum(numbers, Decimal(0)) / len(numbers)).quantize(PLACES))


def aggregate(
    rule: Aggregation,
    values: Sequence[tuple[Any, Decimal]],
    weights: Mapping[Any, Decimal] | None = None,
) -> Decimal | None:
    """Combines (member, value) pairs into the groupement's figure (see `combine` for the weighting rule)."""
    return combine(rule, values, weights).value


def achievement(baseline: Decimal | None, target: Decimal | None, value: Decimal | None) -> Decimal | None:
    """Share of the way from baseline to target covered by value, in % (100 = target reached)."""
    if baseline is None or target is None or value is None or target == baseline:
        return None
    return ((value - baseline) * 100 / (target - baseline)).quantize(PLACES)
