"""Large saves on PostgreSQL written with COPY (binary) instead of the library's pipelined INSERT.

The library's recorder inserts a save's events with one `INSERT … SELECT … FROM unnest(array of composites)` in
psycopg's pipeline mode. For a save of thousands of events, or of a few MB, that is slow on the server (each
composite parsed from text) and, beyond a few tens of MB, it was seen to hang (client in `pipeline.sync()`, server
in `ClientRead`: docs/egalim.md). A large save is written here instead, in one transaction, with exactly the same
guarantees:

- the events table is locked (EXCLUSIVE, the library's own statements and lock timeout) before any id is taken, so
  that ids increase in commit order and the keyed chain cannot fork; the channel is notified (the library's NOTIFY,
  and the progres trigger, which COPY fires like an INSERT);
- the save's notification ids are taken from the table's own sequence under that lock, in the order of the events
  (as `INSERT … SELECT FROM unnest` numbers them), and written with the rows;
- optimistic concurrency: the primary key (aggregate id, version) refuses a version already written; psycopg's
  `IntegrityError` becomes the library's `IntegrityError` (its datastore converts it), so the application reloads
  and decides again, as after a refused INSERT;
- the keyed chain rows (services/audit_chain.py: leaf and HMAC link of each event, continuing from the last link
  read under the lock) are computed as for any save and copied in the same transaction.

COPY streams its rows in bounded messages: no single message of tens of MB, whatever the save's size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from psycopg.sql import SQL, Identifier

COPY_MIN_EVENTS = 500  # from this many events in one save…
COPY_MIN_BYTES = 1_000_000  # …or this many bytes of state, a save is copied


def is_large(stored_events: Sequence[StoredEvent]) -> bool:
    if len(stored_events) >= COPY_MIN_EVENTS:
        return True
    size = 0
    for event in stored_events:
        size += len(event.state)
        if size >= COPY_MIN_BYTES:
            return True
    return False


class Statements:
    """The SQL of the copy path for one recorder (built once)."""

    def __init__(self, recorder: Any, chain_table: str) -> None:
        schema, table = recorder.datastore.schema, recorder.events_table_name
        # The sequence of the table's `bigserial`, named by the table's quoted name (a parameter).
        self.next_ids = SQL("SELECT nextval(pg_get_serial_sequence(%s, 'notification_id')) AS id "
                            "FROM generate_series(1, %s)")
        self.table_name = Identifier(schema, table)
        self.copy_events = SQL("COPY {} (originator_id, originator_version, topic, state, notification_id) "
                               "FROM STDIN (FORMAT BINARY)").format(self.table_name)
        self.copy_links = SQL("COPY {} (notification_id, previous_id, key_id, leaf, link) "
                              "FROM STDIN (FORMAT BINARY)").format(Identifier(schema, chain_table))
        self.id_type = "uuid" if recorder.datastore.originator_id_type == "uuid" else "text"


def copy_events(recorder: Any, statements: Statements, stored_events: Sequence[StoredEvent],
                chain: Callable[[tuple[int, bytes] | None, Sequence[int], Sequence[StoredEvent]],
                                list[tuple[int, int, str, bytes, bytes]]]) -> list[int]:
    """Writes the events and their chain rows in one transaction; returns their notification ids in order."""
    with recorder.datastore.get_connection() as connection, connection.transaction(), \
            connection.cursor() as cursor:
        recorder._lock_table(cursor)
        recorder._notify_channel(cursor)
        cursor.execute(recorder.select_last_link)
        row = cursor.fetchone()
        last = (row["notification_id"], bytes(row["link"])) if row else None
        qualified = statements.table_name.as_string(connection)
        cursor.execute(statements.next_ids, [qualified, len(stored_events)])
        ids = sorted(r["id"] for r in cursor.fetchall())
        with cursor.copy(statements.copy_events) as copy:
            copy.set_types([statements.id_type, "int8", "text", "bytea", "int8"])
            for event, notification_id in zip(stored_events, ids, strict=True):
                copy.write_row((event.originator_id, event.originator_version, event.topic, event.state,
                                notification_id))
        links = chain(last, ids, stored_events)
        with cursor.copy(statements.copy_links) as copy:
            copy.set_types(["int8", "int8", "text", "bytea", "bytea"])
            for link in links:
                copy.write_row(link)
    return ids
