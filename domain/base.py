"""The base of our aggregates: snapshots whose state survives JSON (enums, dataclasses, non-text keys)."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, ClassVar, Self
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


# Values that never change once made: a copy of an aggregate shares them.
_ATOMS = (str, int, float, bool, type(None), UUID, date, datetime, Decimal, Enum, bytes)


def copy_state(value: Any) -> Any:
    """A copy of an aggregate's attribute that can be changed without changing the original: containers and
    dataclasses that can be changed are copied, atoms and frozen dataclasses (whose fields are never reassigned and
    whose containers the domain never changes) are shared; anything else is deep-copied."""
    if isinstance(value, _ATOMS):
        return value
    if isinstance(value, list):
        return [copy_state(v) for v in value]
    if isinstance(value, dict):
        return {k: copy_state(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(copy_state(v) for v in value)
    if isinstance(value, set | frozenset):
        return type(value)(value)  # of ids, dates, keys: atoms
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if type(value).__dataclass_params__.frozen:  # type: ignore[attr-defined]
            return value
        duplicate = copy.copy(value)
        for field in dataclasses.fields(value):
            setattr(duplicate, field.name, copy_state(getattr(value, field.name)))
        return duplicate
    return copy.deepcopy(value)


@dataclass(frozen=True)
class StateSnapshot(Snapshot):
    @classmethod
    def take(cls, aggregate: Any) -> Self:
        snapshot = super().take(aggregate)
        # Indexes: made again from the rest.
        derived: frozenset[str] = getattr(type(aggregate), "derived_state", frozenset())
        return cls(
            originator_id=snapshot.originator_id,
            originator_version=snapshot.originator_version,
            timestamp=snapshot.timestamp,
            topic=snapshot.topic,
            state=encode_state({k: v for k, v in snapshot.state.items() if k not in derived}),
        )

    def mutate(self, _: None) -> Any:
        decoded = dataclasses.replace(self, state=decode_state(self.state))
        return Snapshot.mutate(decoded, None)


class ProgresAggregate(Aggregate):
    """Aggregate with JSON-safe snapshots."""

    Snapshot = StateSnapshot
    # Attributes whose items never change (ids, dates, amounts, frozen dataclasses such as a groupement's memberships):
    # `changeable_copy` copies these containers, not their items, at the speed of a memory copy.
    flat_state: ClassVar[frozenset[str]] = frozenset()
    # Attributes made from the others (indexes; their items never change either): not in snapshots, made again by
    # `derive` when missing, copied as flat state.
    derived_state: ClassVar[frozenset[str]] = frozenset()

    def derive(self) -> None:
        """Makes the derived state when it is missing (before a state is shared between threads, so that none of them
        adds it while another copies it)."""

    def changeable_copy(self) -> Self:
        """A copy of this stored state (no pending events) that a command may change and save without changing this
        one: the application keeps large aggregates (a groupement of 3,000 members) between commands and gives each
        command such a copy instead of decoding the aggregate again from its snapshot (services/applications.py)."""
        if self._pending_events:
            raise ValueError("only a stored state is copied (this one has pending events)")
        duplicate = object.__new__(type(self))
        state: dict[str, Any] = {}
        for name, value in list(vars(self).items()):
            if name == "_pending_events":
                state[name] = []
            elif (name in self.flat_state or name in self.derived_state) and value is not None:
                state[name] = copy.copy(value)
            else:
                state[name] = copy_state(value)
        duplicate.__dict__.update(state)
        return duplicate

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
