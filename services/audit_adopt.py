"""Adoption of a store written before the keyed chain (`progres audit adopt`, docs/audit.md "Upgrading a store").

A PostgreSQL store of the former layout holds an unkeyed SHA-256 chain, kept by a trigger, that the keyed
recorder set aside as `progres_chain_unkeyed`; an older SQLite store has no chain at all. Its events have no
keyed link, so `verify` reports the first one as inserted. Adoption, in one transaction with the events
table locked (writers wait):
1. checks the old chain over every event without a keyed link (so the history's continuity is checked, not
   assumed) and the keyed links written since the upgrade (each from the keyed link before it);
2. refuses, naming the first bad position, when either does not check: nothing is written;
3. otherwise writes the keyed chain over the whole log from the first event, the events already keyed
   included (their new links cover the same leaves; the Merkle tree does not change).
Then it signs an adoption record (position, time, key id, old chain head) into the witness directory;
`progres audit verify` checks its signature (services/audit.py `adoption_problem`).
A second run finds every event linked and does nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from psycopg import sql

from progres.services import audit
from progres.services.audit import (  # the record's format is read by `verify` too
    ADOPTION_FORMAT,
    SQLITE_EVENTS_TABLE,
    LogReader,
    _sqlite_canonical,
    record_message,
    witness_dir,
)
from progres.services.audit_chain import CANONICAL_SQL, CHAIN_TABLE, GENESIS_LINK, leaf_of, link_of
from progres.services.audit_keys import Keyring
from progres.services.bootstrap import postgres_connect
from progres.services.settings import Settings

LEGACY_TABLE = CHAIN_TABLE + "_unkeyed"
BATCH = 5000
# The former trigger's link: SHA-256(previous link || int8 position || aggregate id as text || int8 version
# || topic || state), the previous link empty before the first (git history of services/audit.py `link_of`).
LEGACY_BODY_SQL = ("int8send(e.notification_id) || convert_to(e.originator_id::text, 'UTF8') "
                   "|| int8send(e.originator_version::bigint) || convert_to(e.topic, 'UTF8') || e.state")


class AdoptionRefused(Exception):
    """The history does not check: adoption would vouch for events the application may not have written."""

    def __init__(self, position: int, detail: str) -> None:
        super().__init__(f"position {position} : {detail}")
        self.position, self.detail = position, detail


@dataclass
class Adoption:
    adopted: int = 0  # events that had no keyed link
    relinked: int = 0  # events keyed since the upgrade, linked again after the adopted ones
    first_position: int = 0
    last_position: int = 0  # the last adopted position
    old_chain: dict[str, Any] | None = None  # head of the former chain, or None when the store had none
    record: Path | None = None
    checked_old: int = 0
    notes: list[str] = field(default_factory=list)


# Access to the store: rows (position, canonical bytes, legacy body, legacy link, keyed previous, key id, link)

class _Postgres:
    def __init__(self, settings: Settings, connection: Any) -> None:
        schema = settings.postgres_schema
        self.connection = connection
        self.events = sql.Identifier(schema, "progres_events")
        self.chain = sql.Identifier(schema, CHAIN_TABLE)
        self.legacy_name = sql.Identifier(schema, LEGACY_TABLE)
        self.has_legacy = connection.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
            [schema, LEGACY_TABLE]).fetchone() is not None

    def lock(self) -> None:
        # The recorder takes the same lock to insert: no event is written while the chain is rewritten.
        self.connection.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(self.events))

    def count(self, statement: str) -> Any:
        return self.connection.execute(sql.SQL(statement).format(
            events=self.events, chain=self.chain, legacy=self.legacy_name)).fetchone()[0]

    def batch(self, after: int) -> list[tuple[Any, ...]]:
        legacy = (sql.SQL(", " + LEGACY_BODY_SQL + ", u.link"), sql.SQL("LEFT JOIN {} u ON u.notification_id = "
                                                                       "e.notification_id").format(self.legacy_name)) \
            if self.has_legacy else (sql.SQL(", NULL, NULL"), sql.SQL(""))
        rows = self.connection.execute(sql.SQL(
            "SELECT e.notification_id, " + CANONICAL_SQL.replace("(notification_id", "(e.notification_id")
            + "{legacy_columns}, c.previous_id, c.key_id, c.link FROM {events} e {legacy_join} LEFT JOIN {chain} c "
            "ON c.notification_id = e.notification_id WHERE e.notification_id > %s ORDER BY e.notification_id "
            "LIMIT %s").format(legacy_columns=legacy[0], events=self.events, legacy_join=legacy[1], chain=self.chain),
            [after, BATCH], binary=True).fetchall()
        return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in rows]

    def write(self, rows: list[tuple[int, int, str, bytes, bytes]]) -> None:
        self.connection.execute(sql.SQL(
            "INSERT INTO {} (notification_id, previous_id, key_id, leaf, link) SELECT * FROM unnest(%s::bigint[], "
            "%s::bigint[], %s::text[], %s::bytea[], %s::bytea[]) ON CONFLICT (notification_id) DO UPDATE SET "
            "previous_id = excluded.previous_id, key_id = excluded.key_id, leaf = excluded.leaf, "
            "link = excluded.link").format(self.chain), [list(column) for column in zip(*rows, strict=True)])


class _SQLite:
    has_legacy = False  # the former trigger chain was PostgreSQL's only

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def lock(self) -> None:
        """Already held: `_store` begins with BEGIN IMMEDIATE (the write lock: writers wait until the commit)."""

    def count(self, statement: str) -> Any:
        return self.connection.execute(statement.format(events=SQLITE_EVENTS_TABLE, chain=CHAIN_TABLE,
                                                        legacy="")).fetchone()[0]

    def batch(self, after: int) -> list[tuple[Any, ...]]:
        rows = self.connection.execute(
            f"SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state, c.previous_id, "
            f"c.key_id, c.link FROM {SQLITE_EVENTS_TABLE} e LEFT JOIN {CHAIN_TABLE} c ON c.notification_id = "
            "e.notification_id WHERE e.notification_id > ? ORDER BY e.notification_id LIMIT ?", [after, BATCH])
        return [(p, _sqlite_canonical(p, o, v, t, s), None, None, previous, key_id,
                 bytes(link) if link is not None else None) for p, o, v, t, s, previous, key_id, link in rows]

    def write(self, rows: list[tuple[int, int, str, bytes, bytes]]) -> None:
        self.connection.executemany(f"INSERT OR REPLACE INTO {CHAIN_TABLE} VALUES (?, ?, ?, ?, ?)", rows)


@contextmanager
def _store(settings: Settings) -> Iterator[Any]:
    """The store in one transaction, committed only when the block ends without an exception."""
    if settings.store == "postgres":
        with postgres_connect(settings) as connection, connection.transaction():
            yield _Postgres(settings, connection)
        return
    connection = sqlite3.connect(settings.sqlite_path, isolation_level=None)
    try:
        connection.execute(f"CREATE TABLE IF NOT EXISTS {CHAIN_TABLE} (notification_id INTEGER PRIMARY KEY, "
                           "previous_id INTEGER NOT NULL, key_id TEXT NOT NULL, leaf BLOB NOT NULL, "
                           "link BLOB NOT NULL)")
        store = _SQLite(connection)
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield store
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")
    finally:
        connection.close()


# Adoption ---------------------------------------------------------------------------------------------------

def unlinked(settings: Settings) -> int:
    """How many events have no keyed link."""
    with _store(settings) as store:
        return int(store.count("SELECT count(*) FROM {events} e WHERE NOT EXISTS (SELECT 1 FROM {chain} c "
                               "WHERE c.notification_id = e.notification_id)"))


def adopt(settings: Settings, keyring: Keyring, progress: Callable[[int, int], None] | None = None) -> Adoption:
    """Checks the history, then keys it (module docstring). Raises AdoptionRefused, having written nothing."""
    result = Adoption()
    with _store(settings) as store:
        store.lock()
        missing = store.count("SELECT count(*) FROM {events} e WHERE NOT EXISTS (SELECT 1 FROM {chain} c "
                              "WHERE c.notification_id = e.notification_id)")
        if not missing:
            return result
        orphan = store.count("SELECT min(notification_id) FROM {chain} c WHERE NOT EXISTS (SELECT 1 FROM {events} e "
                             "WHERE e.notification_id = c.notification_id)")
        if orphan is not None:
            raise AdoptionRefused(orphan, "un maillon à clé lie un événement que le journal n'a plus (supprimé)")
        if store.has_legacy:
            orphan = store.count("SELECT min(notification_id) FROM {legacy} u WHERE NOT EXISTS (SELECT 1 FROM "
                                 "{events} e WHERE e.notification_id = u.notification_id)")
            if orphan is not None:
                raise AdoptionRefused(orphan, "l'ancienne chaîne lie un événement que le journal n'a plus (supprimé)")
        total = store.count("SELECT count(*) FROM {events}")
        _rewrite(store, keyring, result, total, progress)
        result.record = write_record(settings, keyring, result)  # inside the transaction: no record, no commit
    return result


def _rewrite(store: Any, keyring: Keyring, result: Adoption, total: int,
             progress: Callable[[int, int], None] | None) -> None:
    """One pass over the log: checks the old chain and the existing keyed links, writes the new keyed chain."""
    key, secrets = keyring.active, keyring.secrets()
    old_link, old_position = b"", 0  # the former chain's genesis
    keyed_position, keyed_link = 0, GENESIS_LINK  # the keyed chain as stored (since the upgrade)
    new_position, new_link = 0, GENESIS_LINK  # the keyed chain being written
    after, done = 0, 0
    while batch := store.batch(after):
        rows = []
        for position, data, legacy_body, legacy_link, previous, key_id, link in batch:
            leaf = leaf_of(data)
            if link is None:
                if result.relinked:
                    raise AdoptionRefused(position, "un événement sans maillon après des événements à clé : "
                                          "l'application ne l'a pas écrit (inséré)")
                if store.has_legacy:
                    if legacy_link is None:
                        raise AdoptionRefused(position, "un événement absent de l'ancienne chaîne (inséré)")
                    if hashlib.sha256(old_link + legacy_body).digest() != legacy_link:
                        raise AdoptionRefused(position, "l'événement ne donne plus le maillon de l'ancienne chaîne "
                                              f"(modifié, inséré ou déplacé ; ancienne chaîne intègre jusqu'à la "
                                              f"position {old_position})")
                    old_link, old_position = legacy_link, position
                    result.checked_old += 1
                result.adopted += 1
                result.first_position = result.first_position or position
                result.last_position = position
            else:
                secret = secrets.get(key_id)
                if secret is None or previous != keyed_position or not hmac.compare_digest(
                        link_of(secret, keyed_position, keyed_link, position, leaf), link):
                    raise AdoptionRefused(position, "son maillon à clé (écrit depuis la mise à niveau) ne se vérifie "
                                          "pas : lancez « progres audit verify » après l'adoption des précédents")
                keyed_position, keyed_link = position, link
                result.relinked += 1
            new = link_of(key.mac_secret, new_position, new_link, position, leaf)
            rows.append((position, new_position, key.key_id, leaf, new))
            new_position, new_link = position, new
        store.write(rows)
        after = batch[-1][0]
        done += len(batch)
        if progress is not None:
            progress(done, total)
    if store.has_legacy and result.checked_old:
        result.old_chain = {"head_position": old_position, "head_link": old_link.hex(),
                            "checked_events": result.checked_old}


def write_record(settings: Settings, keyring: Keyring, result: Adoption) -> Path:
    """The signed adoption record, in the witness directory beside the signed heads."""
    key = keyring.active
    record: dict[str, Any] = {
        "format": ADOPTION_FORMAT, "log": LogReader(settings).log_name(), "adopted": result.adopted,
        "first_position": result.first_position, "last_position": result.last_position, "relinked": result.relinked,
        "old_chain": result.old_chain, "time": datetime.now(UTC).isoformat(timespec="microseconds"),
        "key_id": key.key_id}
    record["signature"] = key.sign(record_message(record)).hex()
    directory = witness_dir(settings, record["log"])
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"adoption-{result.last_position:012d}-{re.sub(r'[^0-9]', '', record['time'])}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def adoption_records(settings: Settings) -> list[dict[str, Any]]:
    """The adoption records of the store's witness directory (read by `verify`: services/audit.py)."""
    return audit.adoption_records(settings)
