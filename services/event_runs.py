"""Saving runs of events (domain/base.py `EventRun`): the stored events made straight from the run's rows.

The library makes a stored event from an event object (`Mapper.to_stored_event`: the object's attributes, less its
id and version, through the JSON transcoder). For a run it would first build one object per row. Here the same
stored state is written from the row in one step: the run's timestamp transcoded once, then each row's fields
encoded by orjson (plain JSON values only). A stored event of a run decodes to the same event as the library's own
(tests/unit/test_event_runs.py), is covered by the keyed chain like any other, and replays through the aggregate's
event method. With a compressor or a cipher configured, runs go the library's way, object by object.

The whole save (runs and ordinary events together) is one call to the recorder: one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import Mapper, Notification, Recording, StoredEvent
from eventsourcing.utils import get_topic

from progres.domain.base import EventRun
from progres.projections.as_of import paused_gc


def has_runs(events: Sequence[Any]) -> bool:
    return any(type(event) is EventRun for event in events)


def stored_events(run: EventRun, mapper: Mapper[Any]) -> list[StoredEvent]:
    """The run's stored events, in version order."""
    if mapper.compressor or mapper.cipher or getattr(run.event_class, "class_version", 1) > 1:
        return [mapper.to_stored_event(event) for event in run.events()]
    topic = get_topic(run.event_class)
    # `{"timestamp":{…},` then each row's object without its opening brace: the attributes in the library's order.
    head = b'{"timestamp":' + mapper.transcoder.encode(run.timestamp) + b","
    fields, dumps, originator_id, version = run.fields, orjson.dumps, run.originator_id, run.first_version
    made = []
    for row in run.rows:
        made.append(StoredEvent(originator_id, version, topic, head + dumps(dict(zip(fields, row, strict=True)))[1:]))
        version += 1
    return made


def record(app: Any, processing_event: ProcessingEvent[Any]) -> list[Recording[Any]]:
    """Application._record for a save holding runs: one recorder call; a recording per ordinary event and one per
    run (its last event), so that the command's position is the last one written."""
    # Hundreds of thousands of new objects (stored events, their states, copied rows): the cyclic collector has
    # nothing to find there, and its passes over them doubled the time to make the stored events (bench/import.py).
    with paused_gc():
        return _record(app, processing_event)


def _record(app: Any, processing_event: ProcessingEvent[Any]) -> list[Recording[Any]]:
    stored: list[StoredEvent] = []
    kept: list[tuple[int, Any]] = []
    for event in processing_event.events:
        if type(event) is EventRun:
            stored.extend(stored_events(event, app.mapper))
            kept.append((len(stored) - 1, event))
        else:
            kept.append((len(stored), event))
            stored.append(app.mapper.to_stored_event(event))
    ids = app.recorder.insert_events(stored, tracking=processing_event.tracking, **processing_event.saved_kwargs)
    recordings = []
    if ids:
        for index, event in kept:
            written = stored[index]
            recordings.append(Recording(event, Notification(
                originator_id=written.originator_id, originator_version=written.originator_version,
                topic=written.topic, state=written.state, id=ids[index])))
    if app.repository.cache and not app.repository.fastforward:
        for aggregate_id, aggregate in processing_event.aggregates.items():
            app.repository.cache.put(aggregate_id, aggregate)
    return recordings
