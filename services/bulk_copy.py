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
  (as `INSERT … SELECT FROM unnest` numbers them), and written with the rows: one block of consecutive ids
  (`setval(seq, nextval(seq) + n - 1)`: no other writer takes ids while the lock is held);
- optimistic concurrency: the primary key (aggregate id, version) refuses a version already written; psycopg's
  `IntegrityError` becomes the library's `IntegrityError` (its datastore converts it), so the application reloads
  and decides again, as after a refused INSERT;
- the keyed chain rows (services/audit_chain.py: leaf and HMAC link of each event, continuing from the last link
  read under the lock) are computed as for any save and copied in the same transaction.

COPY streams its rows in bounded messages: no single message of tens of MB, whatever the save's size. The rows are
written in PostgreSQL's binary COPY format, built here in one pass per event with the event's chain link (the
canonical bytes the chain covers share their parts with the copied row), and sent in blocks while the next ones
are built, so that the server stores a block while the client prepares the next. 100,000 events: see
docs/performance.md (purchase imports).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from psycopg.sql import SQL, Identifier

COPY_MIN_EVENTS = 500  # from this many events in one save…
COPY_MIN_BYTES = 1_000_000  # …or this many bytes of state, a save is copied
BLOCK_EVENTS = 2000  # events per block handed to COPY (psycopg splits it into messages of 128 kB)

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # binary COPY header: signature, flags, extension length
TRAILER = b"\xff\xff"
_Q = struct.Struct(">q")
_I = struct.Struct(">I")
_INT8 = _I.pack(8)
_HASH = _I.pack(32)
_FIVE_FIELDS = struct.pack(">h", 5)


class Linker(Protocol):
    """The keyed chain, extended one event at a time (services/audit_chain.py)."""

    key_id: str

    def add(self, position: int, data: bytes) -> tuple[int, bytes, bytes]: ...


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
        # The sequence of the table's `bigserial`, named by the table's quoted name (a parameter): a block of n
        # consecutive ids, the last one returned.
        self.next_ids = SQL("SELECT setval(seq, nextval(seq) + %s - 1) AS last FROM "
                            "(SELECT pg_get_serial_sequence(%s, 'notification_id') AS seq) AS s")
        self.table_name = Identifier(schema, table)
        self.copy_events = SQL("COPY {} (originator_id, originator_version, topic, state, notification_id) "
                               "FROM STDIN (FORMAT BINARY)").format(self.table_name)
        self.copy_links = SQL("COPY {} (notification_id, previous_id, key_id, leaf, link) "
                              "FROM STDIN (FORMAT BINARY)").format(Identifier(schema, chain_table))
        self.uuid_ids = recorder.datastore.originator_id_type == "uuid"


def copy_events(recorder: Any, statements: Statements, stored_events: Sequence[StoredEvent],
                chain: Callable[[tuple[int, bytes] | None], Linker],
                check: Callable[[Any], None] | None = None) -> list[int]:
    """Writes the events and their chain rows in one transaction; returns their notification ids in order.
    `chain(last)` gives the linker continuing from the last (position, link) read under the lock; `check(cursor)`,
    if given, runs under the lock before any id is taken (a guarded save: it raises to write nothing)."""
    with recorder.datastore.get_connection() as connection, connection.transaction(), \
            connection.cursor() as cursor:
        recorder._lock_table(cursor)
        if check is not None:
            check(cursor)
        recorder._notify_channel(cursor)
        cursor.execute(recorder.select_last_link)
        row = cursor.fetchone()
        linker = chain((row["notification_id"], bytes(row["link"])) if row else None)
        qualified = statements.table_name.as_string(connection)
        cursor.execute(statements.next_ids, [len(stored_events), qualified])
        last = cursor.fetchone()["last"]  # type: ignore[index]
        first = last - len(stored_events) + 1
        links: list[bytes] = [SIGNATURE]
        with cursor.copy(statements.copy_events) as copy:
            block: list[bytes] = [SIGNATURE]
            for start in range(0, len(stored_events), BLOCK_EVENTS):
                block += event_rows(stored_events[start:start + BLOCK_EVENTS], first + start, linker, links,
                                    statements.uuid_ids)
                if start + BLOCK_EVENTS >= len(stored_events):
                    block.append(TRAILER)
                copy.write(memoryview(b"".join(block)))
                block = []
        links.append(TRAILER)
        with cursor.copy(statements.copy_links) as copy:
            copy.write(memoryview(b"".join(links)))
    return list(range(first, last + 1))


def event_rows(events: Sequence[StoredEvent], first: int, linker: Linker, links: list[bytes],
               uuid_ids: bool) -> list[bytes]:
    """The binary COPY rows of consecutive events from position `first`; their chain rows appended to `links`.

    An event's canonical bytes (services/audit_chain.py `canonical`: position, aggregate id's 16 bytes, version,
    topic length and topic, state) are made of the same pieces as its copied row (a text field is sent as its
    length and its bytes), so each piece is packed once."""
    rows: list[bytes] = []
    topics: dict[str, bytes] = {}
    key_field = _I.pack(len(linker.key_id.encode())) + linker.key_id.encode()
    pack_q, pack_i, add = _Q.pack, _I.pack, linker.add
    position, originator_id, uuid_bytes, id_field = first, None, b"", b""
    for event in events:
        if event.originator_id is not originator_id:  # a run's events share one id object: packed once
            originator_id = event.originator_id
            uuid = originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id))
            text = str(originator_id).encode()
            uuid_bytes = uuid.bytes
            id_field = _I.pack(16) + uuid_bytes if uuid_ids else _I.pack(len(text)) + text
        try:
            topic = topics[event.topic]
        except KeyError:
            encoded = event.topic.encode()
            topic = topics.setdefault(event.topic, _I.pack(len(encoded)) + encoded)
        state = bytes(event.state)
        at, version = pack_q(position), pack_q(event.originator_version)
        previous, leaf, link = add(position, at + uuid_bytes + version + topic + state)
        rows.append(b"".join((_FIVE_FIELDS, id_field, _INT8, version, topic, pack_i(len(state)), state, _INT8, at)))
        links.append(b"".join((_FIVE_FIELDS, _INT8, at, _INT8, pack_q(previous), key_field, _HASH, leaf, _HASH,
                               link)))
        position += 1
    return rows
