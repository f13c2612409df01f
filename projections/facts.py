"""Facts: the events of the log as the reducers see them, in plain JSON-ready values.

A fact is one stored event with its log position; its data holds only str, int, bool, None, lists
and dicts, so that reducer states built from facts can be stored and compared as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

SKIPPED = {"originator_id", "originator_version", "timestamp", "originator_topic"}


def plain(value: Any) -> Any:
    """Turns domain values into JSON-ready ones (ids and numbers as text, dates in ISO form)."""
    if value is None or isinstance(value, bool | int | str):
        return value.value if isinstance(value, Enum) else value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(plain(k)): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    raise TypeError(f"no plain form for {type(value)}")


@dataclass(frozen=True)
class Fact:
    position: int
    aggregate_id: str
    version: int
    kind: str  # e.g. "Measure.Recorded"
    timestamp: str  # ISO 8601, UTC
    data: dict[str, Any]

    @property
    def aggregate_kind(self) -> str:
        return self.kind.split(".", 1)[0]

    @property
    def day(self) -> str:
        return self.timestamp[:10]


def fact_from_event(position: int, event: Any) -> Fact:
    kind = type(event).__qualname__
    data = {k: plain(v) for k, v in vars(event).items() if k not in SKIPPED}
    return Fact(position, str(event.originator_id), event.originator_version, kind,
                event.timestamp.isoformat(), data)
