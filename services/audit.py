"""Tamper evidence: a hash chain over the stored events in log order, kept by the database itself.

Each link is SHA-256 of the previous link, the event's log position, aggregate id, version, topic and
stored state. A trigger writes the link in the same transaction as the event (PostgreSQL), so the
chain cannot lag behind the log. `verify` re-derives the chain from the events and names the first
position where the store disagrees with it: an event altered, deleted, inserted or reordered.
A checkpoint (position and link of the chain head) exported outside the database lets anyone verify
later that the chain itself was not rewritten.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from psycopg import sql
from psycopg.rows import tuple_row

from progres.services.bootstrap import postgres_connect
from progres.services.settings import Settings

GENESIS = b""


def link_of(previous: bytes, position: int, originator_id: str, version: int, topic: str, state: bytes) -> bytes:
    """The same computation as the database trigger (see install_chain)."""
    digest = hashlib.sha256()
    for part in (previous, position.to_bytes(8, "big", signed=True), str(originator_id).encode(),
                 version.to_bytes(8, "big", signed=True), topic.encode(), bytes(state)):
        digest.update(part)
    return digest.digest()


def install_chain(settings: Settings) -> None:
    """Creates the chain table and the trigger that extends it with every inserted event."""
    schema = sql.Identifier(settings.postgres_schema)
    function = sql.Identifier(settings.postgres_schema, "progres_chain_event")
    chain = sql.Identifier(settings.postgres_schema, "progres_chain")
    with postgres_connect(settings, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} (notification_id BIGINT PRIMARY KEY, "
                                   "link BYTEA NOT NULL)").format(chain))
        connection.execute(sql.SQL(
            "CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "DECLARE previous BYTEA; "
            "BEGIN "
            "SELECT link INTO previous FROM {chain} ORDER BY notification_id DESC LIMIT 1; "
            "INSERT INTO {chain} VALUES (NEW.notification_id, sha256(coalesce(previous, ''::bytea) "
            "|| int8send(NEW.notification_id) || convert_to(NEW.originator_id::text, 'UTF8') "
            "|| int8send(NEW.originator_version::bigint) || convert_to(NEW.topic, 'UTF8') || NEW.state)); "
            "RETURN NULL; END $$").format(function=function, chain=chain))
        connection.execute(sql.SQL(
            "CREATE OR REPLACE TRIGGER progres_events_chain AFTER INSERT ON {schema}.progres_events "
            "FOR EACH ROW EXECUTE FUNCTION {function}()").format(schema=schema, function=function))


@dataclass(frozen=True)
class Finding:
    position: int
    problem: str  # altered, deleted, inserted, reordered

    def __str__(self) -> str:
        return f"position {self.position}: {self.problem}"


@dataclass(frozen=True)
class Verification:
    checked: int
    head_position: int
    head_link: str
    finding: Finding | None

    @property
    def intact(self) -> bool:
        return self.finding is None


def _rows(settings: Settings, query: sql.Composable, params: list[Any]) -> Iterator[tuple[Any, ...]]:
    with postgres_connect(settings) as connection, connection.transaction(), \
            connection.cursor("audit", row_factory=tuple_row) as cursor:
        cursor.itersize = 5000
        cursor.execute(query, params)
        yield from cursor


def verify(settings: Settings, start_position: int = 0, start_link: bytes = GENESIS) -> Verification:
    """Re-derives the chain from the events after `start_position` and compares it with the stored chain.

    Events and chain rows are read side by side in log order: a position in one and not in the other is
    a deletion or an insertion; a link that differs is an alteration, or a reordering when the event's
    content is found at another position."""
    schema = settings.postgres_schema
    events = _rows(settings, sql.SQL(
        "SELECT notification_id, originator_id, originator_version, topic, state FROM {} "
        "WHERE notification_id > %s ORDER BY notification_id").format(sql.Identifier(schema, "progres_events")),
        [start_position])
    chain = _rows(settings, sql.SQL("SELECT notification_id, link FROM {} WHERE notification_id > %s "
                                    "ORDER BY notification_id").format(sql.Identifier(schema, "progres_chain")),
                  [start_position])
    previous, checked, head = start_link, 0, start_position
    event, link = next(events, None), next(chain, None)
    while event is not None or link is not None:
        if link is None or (event is not None and event[0] < link[0]):
            return Verification(checked, head, previous.hex(), Finding(event[0], "inserted (no link was written "  # type: ignore[index]
                                                                       "for this event)"))
        if event is None or link[0] < event[0]:
            return Verification(checked, head, previous.hex(), Finding(link[0], "deleted (the chain links an "
                                                                       "event the store no longer has)"))
        expected = link_of(previous, *event)
        if expected != bytes(link[1]):
            return Verification(checked, head, previous.hex(), Finding(event[0], _altered_or_reordered(
                settings, event)))
        previous, head, checked = expected, event[0], checked + 1
        event, link = next(events, None), next(chain, None)
    return Verification(checked, head, previous.hex(), None)


def _altered_or_reordered(settings: Settings, event: tuple[Any, ...]) -> str:
    """An event whose (aggregate, version) sits right elsewhere in the log was moved: a swap."""
    position, originator_id, version = event[0], event[1], event[2]
    rows = list(_rows(settings, sql.SQL(
        "SELECT count(*) FROM {} WHERE originator_id = %s AND originator_version < %s AND notification_id > %s")
        .format(sql.Identifier(settings.postgres_schema, "progres_events")), [originator_id, version, position]))
    if rows and rows[0][0]:
        return "reordered (an earlier version of its aggregate comes after it in the log)"
    return "altered (its content no longer gives the link the chain holds)"


def checkpoint(settings: Settings) -> dict[str, Any]:
    """The chain head, to export and keep outside the database (e.g. sent to the auditors)."""
    schema = sql.Identifier(settings.postgres_schema, "progres_chain")
    with postgres_connect(settings) as connection:
        row = connection.execute(sql.SQL("SELECT notification_id, link FROM {} ORDER BY notification_id DESC "
                                         "LIMIT 1").format(schema)).fetchone()
    position, link = (row[0], bytes(row[1]).hex()) if row else (0, GENESIS.hex())
    return {"position": position, "link": link, "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "algorithm": "sha256(previous || position || aggregate id || version || topic || state)"}


def link_at(settings: Settings, position: int) -> str | None:
    """The chain's link at a log position (what a report built from that position cites)."""
    if settings.store != "postgres":
        return None
    chain = sql.Identifier(settings.postgres_schema, "progres_chain")
    with postgres_connect(settings) as connection:
        row = connection.execute(sql.SQL("SELECT link FROM {} WHERE notification_id <= %s ORDER BY notification_id "
                                         "DESC LIMIT 1").format(chain), [position]).fetchone()
    return bytes(row[0]).hex() if row else None
