"""The base of our aggregates: snapshots whose state survives JSON (enums, dataclasses, non-text keys)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Self
from uuid import UUID

from eventsourcing.domain import Aggregate, Snapshot
from eventsourcing.utils import get_topic, resolve_topic


def encode_state(value: Any) -> Any:
    """Tags what JSON would flatten (a StrEnum would come back a plain str) so it decodes to itself."""
    if isinstance(value, Enum):
        return {"__enum__": get_topic(type(value)), "value": value.value}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: encode_state(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"__dataclass__": get_topic(type(value)), "fields": fields}
    if isinstance(value, tuple):
        return {"__tuple__": [encode_state(v) for v in value]}
    if isinstance(value, dict):
        if all(type(k) is str for k in value):
            return {k: encode_state(v) for k, v in value.items()}
        return {"__map__": [[encode_state(k), encode_state(v)] for k, v in value.items()]}
    if isinstance(value, list):
        return [encode_state(v) for v in value]
    return value


def decode_state(value: Any) -> Any:
    if isinstance(value, list):
        return [decode_state(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__enum__" in value:
        return resolve_topic(value["__enum__"])(value["value"])
    if "__dataclass__" in value:
        return resolve_topic(value["__dataclass__"])(**decode_state(value["fields"]))
    if "__tuple__" in value:
        return tuple(decode_state(v) for v in value["__tuple__"])
    if "__map__" in value:
        return {decode_state(k): decode_state(v) for k, v in value["__map__"]}
    return {k: decode_state(v) for k, v in value.items()}


@dataclass(frozen=True)
class StateSnapshot(Snapshot):
    @classmethod
    def take(cls, aggregate: Any) -> Self:
        snapshot = super().take(aggregate)
        return cls(
            originator_id=snapshot.originator_id,
            originator_version=snapshot.originator_version,
            timestamp=snapshot.timestamp,
            topic=snapshot.topic,
            state=encode_state(snapshot.state),
        )

    def mutate(self, _: None) -> Any:
        decoded = dataclasses.replace(self, state=decode_state(self.state))
        return Snapshot.mutate(decoded, None)


class ProgresAggregate(Aggregate):
    """Aggregate with JSON-safe snapshots."""

    Snapshot = StateSnapshot

    def trigger_run(self, event_class: type[Aggregate.Event], fields: tuple[str, ...],
                    rows: Sequence[Sequence[Any]]) -> EventRun:
        """Appends `len(rows)` events of `event_class` (the next versions, at the time of the aggregate's last
        event) as one pending run. The caller applies their effect on the state at once, as the event's own
        method would one event at a time on replay."""
        if not rows:
            raise ValueError("a run holds at least one event")
        declared = tuple(f.name for f in dataclasses.fields(event_class)
                         if f.name not in ("originator_id", "originator_version", "timestamp"))
        if declared != fields:
            raise ValueError(f"{event_class.__qualname__} has the fields {declared}, not {fields}")
        run = EventRun(event_class, self.id, self.version + 1, self.modified_on, fields, rows)
        self._pending_events.append(run)  # type: ignore[arg-type]
        self.version = run.originator_version
        return run


@dataclass(frozen=True)
class EventRun:
    """Consecutive events of one class and one aggregate, held as their field values (one row per event) instead
    of one event object each. A purchase file of 100,000 lines is 100,000 events of the log: the application stores
    a run straight from its rows (services/event_runs.py), the same stored events the library would make from the
    objects (`events()`, which a test holds equal), without building them. Values are plain JSON values."""

    event_class: type[Aggregate.Event]
    originator_id: UUID
    first_version: int
    timestamp: datetime
    fields: tuple[str, ...]
    rows: Sequence[Sequence[Any]]

    @property
    def originator_version(self) -> int:
        """The version of the run's last event (what the application's bookkeeping reads of a pending event)."""
        return self.first_version + len(self.rows) - 1

    def events(self) -> Iterator[Aggregate.Event]:
        """The run's events as the library's objects, one by one."""
        for offset, row in enumerate(self.rows):
            yield self.event_class(originator_id=self.originator_id, originator_version=self.first_version + offset,
                                   timestamp=self.timestamp, **dict(zip(self.fields, row, strict=True)))
