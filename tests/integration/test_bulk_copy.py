"""Large saves on PostgreSQL go through COPY (services/bulk_copy.py) with the guarantees of the library's INSERT:
ids in order under the table lock, the keyed chain continued and verifiable, a conflicting version refused with
nothing written, and a save of tens of MB that does not hang."""

from __future__ import annotations

import base64
import os
import threading

import pytest
from eventsourcing.domain import event
from eventsourcing.persistence import IntegrityError
from psycopg import sql

from progres.domain.base import ProgresAggregate
from progres.services import audit, bulk_copy
from progres.services.bootstrap import bootstrap, postgres_connect

pytestmark = pytest.mark.postgres


class Bulk(ProgresAggregate):
    @event("Started")
    def __init__(self) -> None:
        self.count = 0

    @event("Added")
    def add(self, payload: str) -> None:
        self.count += 1


@pytest.fixture
def settings(pg_settings, tmp_path):
    return pg_settings.model_copy(update={"data_dir": tmp_path / "data"})


@pytest.fixture
def copies(monkeypatch) -> list[int]:
    """How many events each copied save wrote (the real copy runs; this only counts)."""
    counted: list[int] = []
    real = bulk_copy.copy_events

    def counting(recorder, statements, stored_events, chain):
        counted.append(len(stored_events))
        return real(recorder, statements, stored_events, chain)

    monkeypatch.setattr(bulk_copy, "copy_events", counting)
    return counted


def rows(settings, table: str) -> list[tuple]:
    with postgres_connect(settings) as connection:
        return connection.execute(sql.SQL("SELECT notification_id FROM {} ORDER BY notification_id").format(
            sql.Identifier(settings.postgres_schema, table))).fetchall()


def test_a_large_save_is_copied_between_small_ones_and_the_whole_chain_verifies(settings, copies):
    app = bootstrap(settings)
    try:
        small = Bulk()
        app.save(small)  # the library's pipelined INSERT
        large = Bulk()
        for index in range(1199):
            large.add(f"achat {index}")
        assert bulk_copy.is_large([app.mapper.to_stored_event(e) for e in large.pending_events])
        recordings = app.save(large)
        small.add("après")
        app.save(small)
        ids = [r.notification.id for r in recordings]
        assert ids == list(range(2, 1202)), "ids follow the log's head, in the events' order"
        assert app.repository.get(large.id).count == 1199
        versions = [n.originator_version for n in app.recorder.select_notifications(2, 1200)]
        assert versions == list(range(1, 1201))
        assert app.max_notification_id() == 1202
        assert copies == [1200], "only the large save was copied"
    finally:
        app.close()
    assert rows(settings, "progres_chain") == rows(settings, "progres_events")
    verified = audit.verify(settings)
    assert verified.finding is None, verified.finding
    assert verified.checked == 1202


def test_a_large_save_of_a_version_already_written_is_refused_and_writes_nothing(settings, copies):
    app = bootstrap(settings)
    try:
        aggregate = Bulk()
        app.save(aggregate)
        first, second = app.repository.get(aggregate.id), app.repository.get(aggregate.id)
        for index in range(600):
            first.add(f"a {index}")
            second.add(f"b {index}")
        app.save(first)
        head = app.max_notification_id()
        with pytest.raises(IntegrityError):
            app.save(second)
        assert app.max_notification_id() == head, "nothing written"
        assert app.repository.get(aggregate.id).count == 600
        assert copies == [600, 600]
        after = Bulk()
        app.save(after)  # the chain goes on from the last committed link
    finally:
        app.close()
    assert rows(settings, "progres_chain") == rows(settings, "progres_events")
    assert audit.verify(settings).finding is None


def test_a_save_of_tens_of_megabytes_completes(settings, copies):
    app = bootstrap(settings)
    done: list[int] = []
    try:
        aggregate = Bulk()
        for _ in range(600):  # 600 events of 48 kB of incompressible text: about 29 MB in one save
            aggregate.add(base64.b64encode(os.urandom(36_000)).decode())

        def save() -> None:
            done.append(len(app.save(aggregate)))

        worker = threading.Thread(target=save, daemon=True)
        worker.start()
        worker.join(240)
        assert done == [601], "the save did not complete within 4 minutes"
        assert copies == [601]
    finally:
        app.close()
    assert audit.verify(settings).finding is None
