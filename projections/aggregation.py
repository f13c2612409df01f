"""How member values of an indicator combine into a groupement figure (sum, mean, weighted mean)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from progres.domain.values import Aggregation

PLACES = Decimal("0.01")


def aggregate(
    rule: Aggregation,
    values: Sequence[tuple[Any, Decimal]],
    weights: Mapping[Any, Decimal] | None = None,
) -> Decimal | None:
    """Combines (member, value) pairs; a weighted mean falls back to the plain mean without weights."""
    if not values:
        return None
    numbers = [value for _, value in values]
    if rule is Aggregation.SUM:
        return sum(numbers, Decimal(0)).quantize(PLACES)
    if rule is Aggregation.WEIGHTED_MEAN and weights:
        pairs = [(value, weights.get(member, Decimal(0)) if member else Decimal(0)) for member, value in values]
        total = sum((w for _, w in pairs), Decimal(0))
        if total > 0:
            return (sum((v * w for v, w in pairs), Decimal(0)) / total).quantize(PLACES)
    if rule is Aggregation.NONE and len(numbers) == 1:
        return numbers[0]
    return (sum(numbers, Decimal(0)) / len(numbers)).quantize(PLACES)


def achievement(baseline: Decimal | None, target: Decimal | None, value: Decimal | None) -> Decimal | None:
    """Share of the way from baseline to target covered by value, in % (100 = target reached)."""
    if baseline is None or target is None or value is None or target == baseline:
        return None
    return ((value - baseline) * 100 / (target - baseline)).quantize(PLACES)
