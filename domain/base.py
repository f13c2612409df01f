"""The base of our aggregates: snapshots whose state survives JSON (enums, dataclasses, non-text keys)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum
from typing import Any, Self

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
