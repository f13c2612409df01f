"""The keyed chain, written by the application in the same transaction as the events it covers.

For each event at log position p, the chain table holds a row (p, previous position, key id, leaf, link):
- leaf = SHA-256(0x00 || canonical bytes of the event), the RFC 9162 leaf hash of the Merkle tree;
- link = HMAC-SHA-256(key, previous position || previous link || p || leaf), previous = the event before it
  (position 0 and 32 zero bytes before the first).
The key is never in the database (services/audit_keys.py): whoever holds only the database credentials can
change rows, but cannot make a link that verifies. The recorders below are the library's own, extended:
on PostgreSQL the last link is read in the same pipeline as the INSERT (after the table lock the library
takes, so writers are serialized and the chain cannot fork), on SQLite in the same transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
import threading
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresApplicationRecorder
from eventsourcing.postgres import PostgresFactory as LibraryPostgresFactory
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import retry
from psycopg.sql import SQL, Identifier, Literal

from progres.services import bulk_copy
from progres.services.audit_keys import KeyMissing, Keyring

CHAIN_TABLE = "progres_chain"


class GuardFailed(IntegrityError):
    """A guarded save wrote nothing: an aggregate it was decided on is no longer at the version the decision read
    (or one that had to be absent exists). No log position is consumed; the command decides again."""

    def __init__(self, guard: dict[UUID, int]) -> None:
        super().__init__("an aggregate the decision read has moved on: nothing written")
        self.guard = guard
GENESIS_LINK = bytes(32)
_Q = struct.Struct(">q")
_I = struct.Struct(">I")

# The same bytes as `canonical`, computed by PostgreSQL while it streams the log (verification speed).
CANONICAL_SQL = ("coalesce(int8send(notification_id) || uuid_send(originator_id) || int8send(originator_version) "
                 "|| int4send(octet_length(topic)) || convert_to(topic, 'UTF8') || state, ''::bytea)")


def canonical(position: int, originator_id: UUID | str, version: int, topic: str, state: bytes) -> bytes:
    """An event's bytes as the tree and the chain cover them: position, aggregate id (16 bytes), version,
    topic (length-prefixed) and the stored state, so that none can change without changing the leaf."""
    uuid = originator_id if isinstance(originator_id, UUID) else UUID(str(originator_id))
    encoded = topic.encode()
    return _Q.pack(position) + uuid.bytes + _Q.pack(version) + _I.pack(len(encoded)) + encoded + bytes(state)


def parse_canonical(data: bytes) -> dict[str, Any]:
    """The fields back from canonical bytes (what a standalone proof checker shows)."""
    position, uuid, version = _Q.unpack_from(data, 0)[0], UUID(bytes=data[8:24]), _Q.unpack_from(data, 24)[0]
    length = _I.unpack_from(data, 32)[0]
    return {"position": position, "aggregate_id": str(uuid), "version": version,
            "topic": data[36:36 + length].decode(), "state": data[36 + length:]}


def leaf_of(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def link_of(secret: bytes, previous_position: int, previous_link: bytes, position: int, leaf: bytes) -> bytes:
    return hmac.digest(secret, _Q.pack(previous_position) + previous_link + _Q.pack(position) + leaf, "sha256")


def hmac_pads(secret: bytes) -> tuple[Any, Any]:
    """HMAC-SHA-256 with the key's inner and outer pads hashed once (RFC 2104): per link, two cheap copies of a
    SHA-256 state instead of `hmac.digest` setting the key up again (3x faster; verification's hot path).
    Returns the `copy` methods of the inner and outer states: link = outer().update(inner().update(m).digest())."""
    block = (hashlib.sha256(secret).digest() if len(secret) > 64 else secret).ljust(64, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
    return inner.copy, outer.copy


class Linker:
    """The chain extended one event at a time with the active key (its HMAC pads hashed once): `add` takes an
    event's position and canonical bytes and gives (previous position, leaf, link), as `leaf_of` and `link_of`."""

    def __init__(self, keyring: Keyring | None, last: tuple[int, bytes] | None) -> None:
        if keyring is None:
            raise KeyMissing("the event store has no audit key attached (services.bootstrap attaches it)")
        key = keyring.active
        self.key_id = key.key_id
        self._inner, self._outer = hmac_pads(key.mac_secret)
        self.previous, self.link = last if last is not None else (0, GENESIS_LINK)

    def add(self, position: int, data: bytes) -> tuple[int, bytes, bytes]:
        leaf = hashlib.sha256(b"\x00" + data).digest()
        inner = self._inner()
        inner.update(_Q.pack(self.previous) + self.link + _Q.pack(position) + leaf)
        outer = self._outer()
        outer.update(inner.digest())
        previous = self.previous
        self.previous, self.link = position, outer.digest()
        return previous, leaf, self.link


def chain_rows(keyring: Keyring | None, last: tuple[int, bytes] | None, ids: Sequence[int],
               events: Sequence[StoredEvent]) -> list[tuple[int, int, str, bytes, bytes]]:
    """The chain rows of newly inserted events, continuing from the last (position, link)."""
    linker = Linker(keyring, last)
    rows = []
    for position, event in sorted(zip(ids, events, strict=True), key=lambda pair: pair[0]):
        data = canonical(position, event.originator_id, event.originator_version, event.topic, event.state)
        previous, leaf, link = linker.add(position, data)
        rows.append((position, previous, linker.key_id, leaf, link))
    return rows


class KeyedPostgresRecorder(PostgresApplicationRecorder):
    """The library's PostgreSQL recorder, writing the chain rows in the events' transaction."""

    keyring: Keyring | None = None

    def __init__(self, datastore: Any, *, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        chain = Identifier(self.datastore.schema, CHAIN_TABLE)
        # A chain of the former layout (unkeyed, kept by a trigger) is set aside, not extended.
        self.sql_create_statements.append(SQL(
            "DO $$ BEGIN IF EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = {schema} AND "
            "table_name = {table}) AND NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = "
            "{schema} AND table_name = {table} AND column_name = 'previous_id') THEN ALTER TABLE {chain} RENAME TO "
            "{legacy}; END IF; END $$").format(schema=Literal(self.datastore.schema), table=Literal(CHAIN_TABLE),
                                               chain=chain, legacy=Identifier(CHAIN_TABLE + "_unkeyed")))
        self.sql_create_statements.append(SQL(
            "CREATE TABLE IF NOT EXISTS {} (notification_id BIGINT PRIMARY KEY, previous_id BIGINT NOT NULL, "
            "key_id TEXT NOT NULL, leaf BYTEA NOT NULL, link BYTEA NOT NULL)").format(chain))
        # The chain used to be kept by an unkeyed trigger: it must not write rows any more.
        self.sql_create_statements.append(SQL("DROP TRIGGER IF EXISTS progres_events_chain ON {}").format(
            Identifier(self.datastore.schema, self.events_table_name)))
        self.select_last_link = SQL("SELECT notification_id, link FROM {} ORDER BY notification_id DESC "
                                    "LIMIT 1").format(chain)
        self.insert_links = SQL(
            "INSERT INTO {} (notification_id, previous_id, key_id, leaf, link) SELECT * FROM "
            "unnest(%s::bigint[], %s::bigint[], %s::text[], %s::bytea[], %s::bytea[])").format(chain)
        # Most commands record one event: plain parameters cost psycopg and PostgreSQL less than five arrays.
        self.insert_link = SQL("INSERT INTO {} (notification_id, previous_id, key_id, leaf, link) VALUES "
                               "(%s, %s, %s, %s, %s)").format(chain)
        self._pending = threading.local()
        self._copy = bulk_copy.Statements(self, CHAIN_TABLE)
        # A guarded save (`guard`: {aggregate id: the version the decision read, 0 for "must not exist"}): the
        # library's INSERT … SELECT with a condition checked under the table lock, in the same pipeline. When it
        # fails no row is produced, so no id is taken from the sequence (no gap in the log).
        events = Identifier(self.datastore.schema, self.events_table_name)
        self.guard_condition = SQL(
            "NOT EXISTS (SELECT 1 FROM unnest(%s::uuid[], %s::bigint[]) AS g(id, v) WHERE coalesce((SELECT "
            "e.originator_version FROM {events} e WHERE e.originator_id = g.id ORDER BY e.originator_version DESC "
            "LIMIT 1), 0) <> g.v)").format(events=events)
        self.guarded_insert = SQL(
            "INSERT INTO {events} AS t (originator_id, originator_version, topic, state) SELECT originator_id, "
            "originator_version, topic, state FROM unnest(%s::{schema}.{stored_event_type}[]) WHERE {condition} "
            "RETURNING notification_id").format(
                events=events, schema=Identifier(self.datastore.schema),
                stored_event_type=Identifier(self.stored_event_type_name), condition=self.guard_condition)
        self.check_guard = SQL("SELECT ") + self.guard_condition + SQL(" AS holds")

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        # A large save is copied (services/bulk_copy.py: same lock, ids, chain and conflict rule), not pipelined.
        # (`tracking` is always passed, None outside process applications; anything else goes the library's way.)
        guard = kwargs.pop("guard", None) or None
        if any(value is not None for value in kwargs.values()) or not bulk_copy.is_large(stored_events):
            return super().insert_events(stored_events, guard=guard, **kwargs)  # type: ignore[no-any-return]
        return self._copy_events(stored_events, guard)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)  # as the library's insert_events
    def _copy_events(self, stored_events: Sequence[StoredEvent], guard: dict[UUID, int] | None) -> list[int]:
        linker = lambda last: Linker(self.keyring, last)  # noqa: E731
        if guard is None:
            return bulk_copy.copy_events(self, self._copy, stored_events, linker)
        return bulk_copy.copy_events(self, self._copy, stored_events, linker, check=self._guard_check(guard))

    def _guard_check(self, guard: dict[UUID, int]) -> Any:
        """For the copy path: checks the guard under the lock (one query), raising GuardFailed."""
        def check(cursor: Any) -> None:
            cursor.execute(self.check_guard, [list(guard), list(guard.values())])
            if not cursor.fetchone()["holds"]:
                raise GuardFailed(guard)
        return check

    def _insert_stored_events(self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        self._lock_table(curs)
        self._notify_channel(curs)
        # Queued in the same pipeline as the INSERT, after the lock: no extra round trip.
        last = curs.connection.cursor()
        last.execute(self.select_last_link)
        self._pending.last = last
        guard = kwargs.get("guard")
        if guard:
            events = [self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic, e.state)
                      for e in stored_events]
            curs.execute(self.guarded_insert, (events, list(guard), list(guard.values())))
            return
        PostgresAggregateRecorder._insert_stored_events(self, curs, stored_events, **kwargs)

    def _fetch_ids_after_insert_events(self, curs: Any, stored_events: Sequence[StoredEvent],
                                       **kwargs: Any) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        last_cursor = self._pending.last
        row = last_cursor.fetchone()
        last_cursor.close()
        guard = kwargs.get("guard")
        if guard and len(ids or []) != len(stored_events):
            raise GuardFailed(guard)  # nothing inserted: the transaction commits nothing but the NOTIFY
        rows = chain_rows(self.keyring, (row["notification_id"], bytes(row["link"])) if row else None, ids or [],
                          stored_events)
        with curs.connection.cursor() as insert:
            if len(rows) == 1:
                insert.execute(self.insert_link, rows[0])
            else:
                insert.execute(self.insert_links, [list(column) for column in zip(*rows, strict=True)])
        return ids


class KeyedSQLiteRecorder(SQLiteApplicationRecorder):
    """The library's SQLite recorder, writing the chain rows in the events' transaction."""

    keyring: Keyring | None = None

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(),
                f"CREATE TABLE IF NOT EXISTS {CHAIN_TABLE} (notification_id INTEGER PRIMARY KEY, "
                "previous_id INTEGER NOT NULL, key_id TEXT NOT NULL, leaf BLOB NOT NULL, link BLOB NOT NULL)"]

    def _insert_events(self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        c.execute(f"SELECT notification_id, link FROM {CHAIN_TABLE} ORDER BY notification_id DESC LIMIT 1")
        row = c.fetchone()
        rows = chain_rows(self.keyring, (row[0], bytes(row[1])) if row else None, ids or [], stored_events)
        c.executemany(f"INSERT INTO {CHAIN_TABLE} VALUES (?, ?, ?, ?, ?)", rows)
        return ids


class PostgresFactory(LibraryPostgresFactory):
    """The library's factory, passing libpq's target_session_attrs to every connection of its pool: with the
    hosts of a Patroni cluster (`host=a,b port=p,q`), connections go to the primary, and new ones find the new
    primary after a failover (docs/operations-ha.md)."""

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        attrs = self.env.get("POSTGRES_TARGET_SESSION_ATTRS") or "any"
        if attrs != "any":
            kwargs = self.datastore.pool.kwargs
            assert isinstance(kwargs, dict)
            kwargs["target_session_attrs"] = attrs  # the pool opens on first use: every connection has it


def recorder_topic(store: str) -> str:
    name = "KeyedPostgresRecorder" if store == "postgres" else "KeyedSQLiteRecorder"
    return f"{__name__}:{name}"
