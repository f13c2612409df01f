"""Tamper evidence of the log: the keyed chain, the Merkle tree, signed tree heads and proofs (docs/audit.md).

`verify` streams the log once, in position order, beside the chain table (services/audit_chain.py):
it recomputes every leaf and keyed link, builds the RFC 9162 tree incrementally, and compares the tree with
every signed head given when it reaches the head's size. It names the first bad position and its kind:
altered, deleted, inserted, reordered, truncated, snapshot, head (a head that cannot be trusted) or adoption
(an adoption record, services/audit_adopt.py, whose signature does not check).
`sign_head` signs (size, last position, root, time, key id) with the active Ed25519 key, only over a tree
whose keyed chain verifies, and writes it to the witness directory. `prove_positions` and
`prove_consistency` build proofs that `check_proof` verifies with nothing but public keys.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import queue
import re
import sqlite3
import struct
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path
from typing import Any
from uuid import UUID

from psycopg import IsolationLevel, sql

from progres.services.audit_chain import (
    CANONICAL_SQL,
    CHAIN_TABLE,
    GENESIS_LINK,
    canonical,
    hmac_pads,
    leaf_of,
    parse_canonical,
)
from progres.services.audit_keys import Keyring, PublicKey, load_keyring
from progres.services.bootstrap import postgres_connect
from progres.services.merkle import FullTree, Tree, verify_consistency, verify_inclusion
from progres.services.settings import Settings

EVENTS_TABLE, SNAPSHOTS_TABLE = "progres_events", "progres_snapshots"  # PostgreSQL; the SQLite store's names:
SQLITE_EVENTS_TABLE = "(SELECT rowid AS notification_id, * FROM stored_events)"  # the rowid is the position
SQLITE_SNAPSHOTS_TABLE = "stored_snapshots"
HEAD_FORMAT = "progres-tree-head-v1"
ADOPTION_FORMAT = "progres-adoption-v1"  # services/audit_adopt.py
BATCH = 5000
PAGE = 10000  # rows a page of verification's read (about 10 MB)
_PACK = struct.Struct(">q").pack


# Reading the log ---------------------------------------------------------------------------------------------

class LogReader:
    """The log in position order beside the chain rows, from one consistent snapshot of the store."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def log_name(self) -> str:
        if self.settings.audit_log_name:
            return self.settings.audit_log_name
        if self.settings.store == "sqlite":
            return f"sqlite:{self.settings.sqlite_path.resolve()}"
        s = self.settings
        return f"postgres:{s.postgres_host}:{s.postgres_port}/{s.postgres_dbname}/{s.postgres_schema}"

    def entries(self, after: int = 0) -> Iterator[tuple[Any, ...]]:
        """Flat rows (position, canonical bytes or None, key id, link), the last two None when the event has no
        chain row (the chain's previous position and stored leaf are read by `diagnose` when needed)."""
        for batch in self.batches(after):
            yield from batch

    def batches(self, after: int = 0) -> Iterator[list[tuple[Any, ...]]]:
        """`entries` in lists of thousands of rows (the hot loop iterates lists, not a generator a row)."""
        if self.settings.store == "postgres":
            yield from self._postgres(after)
            return
        connection, events, chain = self._sqlite(after)
        try:
            rows: list[tuple[Any, ...]] = []
            event, link = next(events, None), next(chain, None)
            while event is not None or link is not None:
                if link is None or (event is not None and event[0] < link[0]):
                    rows.append((event[0], bytes(event[1]), None, None))  # type: ignore[index]
                    event = next(events, None)
                elif event is None or link[0] < event[0]:
                    rows.append((link[0], None, link[1], bytes(link[2])))
                    link = next(chain, None)
                else:
                    rows.append((event[0], bytes(event[1]), link[1], bytes(link[2])))
                    event, link = next(events, None), next(chain, None)
                if len(rows) == BATCH:
                    yield rows
                    rows = []
            yield rows
        finally:
            connection.close()

    def _postgres(self, after: int) -> Iterator[list[tuple[Any, ...]]]:
        """One merge join of the two primary keys, read in pages by a thread while the page before is hashed.
        A link whose event is gone shows at the next event
        (its link follows a position the log no longer has); the ones after the last event are read last."""
        batches: queue.Queue[list[tuple[Any, ...]] | BaseException | None] = queue.Queue(maxsize=2)
        stop = threading.Event()
        reader = threading.Thread(target=self._fetch_postgres, args=(after, batches, stop), daemon=True,
                                  name="progres-audit-read")
        reader.start()
        try:
            while (batch := batches.get()) is not None:
                if isinstance(batch, BaseException):
                    raise batch
                yield batch
        finally:
            stop.set()
            while reader.is_alive():  # unblock a reader waiting on a full queue
                with contextlib.suppress(queue.Empty):
                    batches.get(timeout=0.05)
            reader.join()

    def page_sql(self) -> sql.Composed:
        """A page of the log beside its chain (parameters: `after` position, `rows`), as verification reads it.
        The chain's bound is repeated in the join: the outer join does not carry it over, and without it every
        page's merge join scanned the chain from its first row (pages cost more the further they are)."""
        events = sql.Identifier(self.settings.postgres_schema, EVENTS_TABLE)
        chain = sql.Identifier(self.settings.postgres_schema, CHAIN_TABLE)
        return sql.SQL("SELECT e.notification_id, " + CANONICAL_SQL.replace("(notification_id", "(e.notification_id")
                       + ", c.key_id, c.link FROM {} e LEFT JOIN {} c ON c.notification_id = e.notification_id AND "
                       "c.notification_id > %(after)s WHERE e.notification_id > %(after)s ORDER BY e.notification_id "
                       "LIMIT %(rows)s").format(events, chain)

    def _fetch_postgres(self, after: int, batches: queue.Queue[Any], stop: threading.Event) -> None:
        events = sql.Identifier(self.settings.postgres_schema, EVENTS_TABLE)
        chain = sql.Identifier(self.settings.postgres_schema, CHAIN_TABLE)
        try:
            with postgres_connect(self.settings) as connection:
                # One snapshot for the whole read: a commit meanwhile must not look like tampering.
                connection.isolation_level = IsolationLevel.REPEATABLE_READ
                connection.read_only = True
                with connection.transaction():
                    # Pages of the merge join, in binary (bytea as raw bytes, not hex), fetched whole: psycopg
                    # turns a page into rows in C, half the CPU a binary COPY costs (its rows are read one message
                    # at a time, through Python); while this thread waits for the next page, the GIL is free.
                    page = self.page_sql()
                    cursor, start = connection.cursor(binary=True), after
                    while batch := cursor.execute(page, {"after": start, "rows": PAGE}).fetchall():
                        if stop.is_set():
                            raise _Stopped
                        batches.put(batch)
                        start = batch[-1][0]
                    tail = connection.execute(sql.SQL("SELECT max(notification_id) FROM {}").format(events))
                    last = (tail.fetchone() or (None,))[0] or 0
                    batches.put(connection.execute(sql.SQL(
                        "SELECT notification_id, NULL, key_id, link FROM {} WHERE notification_id "
                        "> %s ORDER BY notification_id").format(chain), [max(after, last)]).fetchall())
            batches.put(None)
        except _Stopped:
            return
        except BaseException as error:
            batches.put(error)

    def _sqlite(self, after: int) -> tuple[Any, Iterator[tuple[Any, ...]], Iterator[tuple[Any, ...]]]:
        connection = sqlite3.connect(self.settings.sqlite_path, isolation_level=None)
        connection.execute("BEGIN")  # one read snapshot for both cursors
        events = connection.execute(f"SELECT notification_id, originator_id, originator_version, topic, state FROM "
                                    f"{SQLITE_EVENTS_TABLE} WHERE notification_id > ? ORDER BY notification_id",
                                    [after])
        chain = connection.execute(f"SELECT notification_id, key_id, link FROM {CHAIN_TABLE} "
                                   "WHERE notification_id > ? ORDER BY notification_id", [after])
        canonical_rows = ((p, _sqlite_canonical(p, o, v, t, s)) for p, o, v, t, s in events)
        return connection, canonical_rows, iter(chain)

    def query(self, statement: str, params: list[Any]) -> list[tuple[Any, ...]]:
        """A diagnostic query on the events or chain table ({events}, {chain} in the statement)."""
        if self.settings.store == "sqlite":
            with sqlite3.connect(self.settings.sqlite_path) as connection:
                text = statement.format(events=SQLITE_EVENTS_TABLE, chain=CHAIN_TABLE, snapshots=SQLITE_SNAPSHOTS_TABLE)
                return connection.execute(text.replace("%s", "?"), params).fetchall()
        schema = self.settings.postgres_schema
        with postgres_connect(self.settings) as connection:
            composed = sql.SQL(statement).format(events=sql.Identifier(schema, EVENTS_TABLE),
                                                 chain=sql.Identifier(schema, CHAIN_TABLE),
                                                 snapshots=sql.Identifier(schema, SNAPSHOTS_TABLE))
            return connection.execute(composed, params).fetchall()


class _Stopped(Exception):
    """The consumer stopped reading (a finding): the reader abandons the COPY."""


def _sqlite_canonical(position: int, originator_id: str, version: int, topic: str | None, state: bytes | None) -> bytes:
    try:
        return canonical(position, UUID(hex=originator_id), version, topic or "", state or b"")
    except (ValueError, TypeError):
        return b""


# Signed tree heads --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SignedHead:
    log: str
    size: int
    last_position: int
    root: bytes
    time: str
    key_id: str
    signature: bytes = b""
    source: str = field(default="", compare=False)

    def message(self) -> bytes:
        return "\n".join([HEAD_FORMAT, self.log, str(self.size), str(self.last_position), self.root.hex(),
                          self.time, self.key_id]).encode()

    def to_json(self) -> dict[str, Any]:
        return {"format": HEAD_FORMAT, "log": self.log, "size": self.size, "last_position": self.last_position,
                "root": self.root.hex(), "time": self.time, "key_id": self.key_id,
                "signature": base64.b64encode(self.signature).decode()}

    @classmethod
    def from_json(cls, data: dict[str, Any], source: str = "") -> SignedHead:
        return cls(str(data["log"]), int(data["size"]), int(data["last_position"]), bytes.fromhex(data["root"]),
                   str(data["time"]), str(data["key_id"]), base64.b64decode(data["signature"]), source)

    def problem(self, trusted: dict[str, PublicKey], log: str | None = None) -> str | None:
        """Why this head cannot be trusted, or None."""
        key = trusted.get(self.key_id)
        if key is None:
            return f"signée par une clé inconnue ({self.key_id[:20]})"
        if not key.verify(self.signature, self.message()):
            return "sa signature ne correspond pas à son contenu"
        if log is not None and self.log != log:
            return "c'est la tête d'un autre journal"
        return None


def witness_dir(settings: Settings, log: str) -> Path:
    base = settings.audit_witness_dir or settings.data_dir / "witness"
    return base / re.sub(r"[^A-Za-z0-9_.-]+", "_", log).strip("_")


def load_head(path: Path) -> SignedHead:
    return SignedHead.from_json(json.loads(path.read_text()), str(path))


def witnessed_heads(settings: Settings) -> list[SignedHead]:
    directory = witness_dir(settings, LogReader(settings).log_name())
    return [load_head(p) for p in sorted(directory.glob("head-*.json"))] if directory.is_dir() else []


def write_head(settings: Settings, head: SignedHead) -> Path:
    directory = witness_dir(settings, head.log)
    directory.mkdir(parents=True, exist_ok=True)
    stamp = re.sub(r"[^0-9]", "", head.time)
    path = directory / f"head-{head.size:012d}-{stamp}.json"
    path.write_text(json.dumps(head.to_json(), indent=2) + "\n")
    return path


# Adoption records (written by services/audit_adopt.py, checked by `verify`) -----------------------------------

def record_message(record: dict[str, Any]) -> bytes:
    """What an adoption record's Ed25519 signature covers: every field but the signature."""
    fields = [ADOPTION_FORMAT, record["log"], str(record["adopted"]), str(record["first_position"]),
              str(record["last_position"]), str(record["relinked"]), json.dumps(record["old_chain"], sort_keys=True),
              record["time"], record["key_id"]]
    return "\n".join(fields).encode()


def adoption_records(settings: Settings) -> list[dict[str, Any]]:
    """The adoption records of the witness directory, each with its file name under `_source`."""
    directory = witness_dir(settings, LogReader(settings).log_name())
    if not directory.is_dir():
        return []
    records = []
    for path in sorted(directory.glob("adoption-*.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            record = None
        records.append(record if isinstance(record, dict) else {"_source": str(path)})
        records[-1].setdefault("_source", str(path))
    return records


def adoption_problem(record: dict[str, Any], trusted: dict[str, PublicKey], log: str | None = None) -> str | None:
    """Why an adoption record cannot be trusted, or None: a record whose signature does not check could
    vouch for a history the application never adopted."""
    try:
        message = record_message(record)
        signature = bytes.fromhex(record["signature"])
        key_id = str(record["key_id"])
    except (KeyError, TypeError, ValueError):
        return "il est illisible ou incomplet"
    if record.get("format") != ADOPTION_FORMAT:
        return "son format est inconnu"
    key = trusted.get(key_id)
    if key is None:
        return f"signé par une clé inconnue ({key_id[:20]})"
    if not key.verify(signature, message):
        return "sa signature ne correspond pas à son contenu"
    if log is not None and record["log"] != log:
        return "c'est l'adoption d'un autre journal"
    return None


def _record_position(record: dict[str, Any], field: str = "first_position") -> int:
    try:
        return int(record.get(field) or 0)
    except (TypeError, ValueError):
        return 0


# Verification ---------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Finding:
    position: int
    kind: str  # altered, deleted, inserted, reordered, truncated, snapshot, head, adoption
    detail: str

    def __str__(self) -> str:
        return f"position {self.position}: {self.kind} ({self.detail})"


@dataclass
class Walk:
    """Where a walk of the log stands: the last verified position and link, and the tree so far."""

    position: int = 0
    link: bytes = GENESIS_LINK
    tree: Tree = field(default_factory=Tree)
    checked: int = 0


@dataclass(frozen=True)
class Verification:
    checked: int
    head_position: int
    root: str
    finding: Finding | None
    heads_checked: int = 0
    records_checked: int = 0

    @property
    def intact(self) -> bool:
        return self.finding is None


def walk_log(reader: LogReader, secrets: dict[str, bytes], walk: Walk | None = None,
             heads: Iterable[SignedHead] = ()) -> tuple[Walk, Finding | None]:
    """Checks every keyed link after `walk` and each head's root at its size; stops at the first problem."""
    walk = walk or Walk()
    pending = sorted(heads, key=lambda h: h.size)
    pending = [h for h in pending if h.size > walk.tree.size]
    agreed = walk.position
    position, tree = walk.position, walk.tree
    pads = {key_id: hmac_pads(secret) for key_id, secret in secrets.items()}
    # The hot path, per event: the leaf (SHA-256 of 0x00 and the bytes), the link (HMAC from the key's
    # precomputed pads, over previous position || previous link || position || leaf) and, on average, one
    # tree node. Everything that can be hoisted out of the loop is: the leaf's 0x00 prefix is a hashed state
    # copied, the previous position and link are kept packed together, the key's pads looked up when the key
    # id changes only, the tree's size kept in a local.
    leaf_state, sha256, pack = hashlib.sha256(b"\x00").copy, hashlib.sha256, _PACK
    prefix, last_key_id, mac, finding = pack(position) + walk.link, None, None, None
    stack, size, first_size = tree.stack, tree.size, tree.size
    next_size = pending[0].size if pending else -1
    for current, data, key_id, stored_link in chain.from_iterable(reader.batches(position)):
        if data is None:
            finding = Finding(current, "deleted", "la chaîne lie un événement que le journal n'a plus")
            break
        state = leaf_state()
        state.update(data)
        leaf = state.digest()
        if stored_link is None:
            finding = Finding(current, "inserted", "un événement sans maillon : l'application ne l'a pas écrit")
            break
        if key_id != last_key_id:
            last_key_id, mac = key_id, pads.get(key_id)
        here = pack(current)
        if mac is not None:
            inner, outer = mac[0](), mac[1]()
            inner.update(prefix + here + leaf)
            outer.update(inner.digest())
            expected = outer.digest()
        if mac is None or expected != stored_link:
            finding = diagnose(reader, secrets, position, prefix[8:], current, data, key_id, stored_link)
            break
        prefix, position = here + expected, current
        # Tree.append, inlined.
        node, bits = leaf, size
        while bits & 1:
            node = sha256(b"\x01" + stack.pop() + node).digest()
            bits >>= 1
        stack.append(node)
        size += 1
        if size == next_size:
            tree.size = size
            finding, agreed = _heads_reached(tree, position, pending, agreed)
            if finding:
                break
            next_size = pending[0].size if pending else -1
    tree.size = size
    walk.position, walk.link, walk.checked = position, prefix[8:], walk.checked + size - first_size
    if finding is None and pending:
        head = pending[-1]
        finding = Finding(position + 1, "truncated", f"le journal s'arrête à la position {position} ({tree.size} "
                          f"événements) ; une tête signée le {head.time} couvre {head.size} événements jusqu'à la "
                          f"position {head.last_position}")
    return walk, finding


def _heads_reached(tree: Tree, position: int, pending: list[SignedHead], agreed: int) -> tuple[Finding | None, int]:
    """The heads of the tree's size (popped from `pending`) must give its root and last position."""
    while pending and pending[0].size == tree.size:
        head = pending.pop(0)
        if tree.root() != head.root or position != head.last_position:
            return Finding(agreed + 1, "altered", f"les {head.size} premiers événements ne donnent plus la racine "
                           f"signée le {head.time} : journal réécrit après la position {agreed}"), agreed
        agreed = position
    return None, agreed


def diagnose(reader: LogReader, secrets: dict[str, bytes], last: int, last_link: bytes, position: int,
             data: bytes, key_id: str, link: bytes) -> Finding:
    """Names what happened at the first position whose link does not verify."""
    previous, stored_leaf = reader.query("SELECT previous_id, leaf FROM {chain} WHERE notification_id = %s",
                                         [position])[0]
    stored_leaf = bytes(stored_leaf)
    body = data[8:]
    for other, other_leaf in reader.query("SELECT notification_id, leaf FROM {chain} WHERE notification_id <> %s",
                                          [position]):
        if leaf_of(other.to_bytes(8, "big", signed=True) + body) == bytes(other_leaf):
            return Finding(position, "reordered", f"l'événement enregistré à la position {other} se trouve ici")
    if previous > last:
        return Finding(previous, "deleted", f"le maillon de la position {position} suit la position {previous}, "
                       f"que le journal n'a plus (dernière position intègre : {last})")
    secret = secrets.get(key_id)
    if secret is not None and hmac.compare_digest(hmac.digest(
            secret, last.to_bytes(8, "big", signed=True) + last_link + position.to_bytes(8, "big", signed=True)
            + stored_leaf, "sha256"), link):
        return Finding(position, "altered", "son contenu ne donne plus la feuille que couvre son maillon authentique")
    following = reader.query("SELECT previous_id FROM {chain} WHERE notification_id > %s ORDER BY notification_id "
                             "LIMIT 1", [position])
    if following and following[0][0] == position:
        return Finding(position, "altered", "l'événement et son maillon ont été réécrits (le maillon suivant "
                       "garantit cette position, pas ce contenu)")
    return Finding(position, "inserted", "un événement dont le maillon n'a pas été fait avec la clé de l'application")


def verify(settings: Settings, heads: Iterable[SignedHead] = (), trusted: dict[str, PublicKey] | None = None,
           keyring: Keyring | None = None, app: Any = None,
           records: Iterable[dict[str, Any]] = ()) -> Verification:
    """The whole log against the keyed chain, every head given, every adoption record given (its signature,
    and that the log still reaches the positions it adopted) and (with `app`) the snapshots."""
    keyring = keyring or load_keyring(settings, create=False)
    trusted = trusted if trusted is not None else keyring.public_keys()
    reader = LogReader(settings)
    heads, records = list(heads), list(records)
    for head in sorted(heads, key=lambda h: h.size):
        problem = head.problem(trusted, reader.log_name())
        if problem:
            return Verification(0, 0, "", Finding(head.last_position, "head", f"{head.source or 'une tête'} : "
                                                                              f"{problem}"), 0)
    for record in sorted(records, key=_record_position):
        problem = adoption_problem(record, trusted, reader.log_name())
        if problem:
            source = record.get("_source") or "l'enregistrement d'adoption"
            return Verification(0, 0, "", Finding(_record_position(record), "adoption", f"{source} : {problem}"),
                                len(heads))
    walk, finding = walk_log(reader, keyring.secrets(), heads=heads)
    reached = max((_record_position(r, "last_position") for r in records), default=0)
    if finding is None and reached > walk.position:
        finding = Finding(walk.position + 1, "truncated", f"le journal s'arrête à la position {walk.position} ; "
                          f"un enregistrement d'adoption signé couvre les positions jusqu'à {reached}")
    if finding is None and app is not None:
        finding = check_snapshots(settings, reader, app)
    return Verification(walk.checked, walk.position, walk.tree.root().hex(), finding, len(heads), len(records))


def check_snapshots(settings: Settings, reader: LogReader, app: Any) -> Finding | None:
    """Every snapshot must equal the state its aggregate's own events give at that version: a rewritten
    snapshot would otherwise be loaded (and shown) as the aggregate."""
    table = app.snapshots.recorder.events_table_name if app.snapshots else None
    if table is None:
        return None
    originators = [row[0] for row in reader.query("SELECT DISTINCT originator_id FROM {snapshots}", [])]
    for originator in originators:
        originator_id = originator if isinstance(originator, UUID) else UUID(hex=str(originator))
        try:
            snapshots = {s.originator_version: s for s in app.snapshots.get(originator_id)}
        except Exception:
            snapshots = {}
            bad = reader.query("SELECT min(originator_version) FROM {snapshots} WHERE originator_id = %s",
                               [originator])
            return _snapshot_finding(reader, originator, bad[0][0], "il n'est plus lisible")
        aggregate = None
        for event in app.events.get(originator_id, lte=max(snapshots)):
            aggregate = event.mutate(aggregate)
            snapshot = snapshots.get(aggregate.version)
            if snapshot is None:
                continue
            fresh = type(snapshot).take(aggregate)
            if fresh.state != snapshot.state or fresh.topic != snapshot.topic:
                return _snapshot_finding(reader, originator, aggregate.version,
                                         "il diffère de l'état que donnent les événements de l'agrégat")
    return None


def _snapshot_finding(reader: LogReader, originator: Any, version: int, why: str) -> Finding:
    rows = reader.query("SELECT notification_id FROM {events} WHERE originator_id = %s AND originator_version = %s",
                        [originator, version])
    return Finding(rows[0][0] if rows else 0, "snapshot", f"l'instantané de {str(originator)[:36]} à la version "
                   f"{version} : {why} ; il n'est pas digne de confiance")


# Checkpoints -----------------------------------------------------------------------------------------------------

class Checkpointer:
    """Signs heads over a verified tree; keeps its walk so that the next head reads only the new events
    (the server's periodic checkpoints)."""

    def __init__(self, settings: Settings, keyring: Keyring | None = None) -> None:
        self.settings = settings
        self.keyring = keyring or load_keyring(settings, create=False)
        self.reader = LogReader(settings)
        self.walk = Walk()

    def sign_if_grown(self, signed_size: int) -> tuple[SignedHead | None, Finding | None]:
        if signed_size >= 0 and (self.reader.query("SELECT count(*) FROM {chain}", [])[0][0] == signed_size):
            return None, None
        return self.sign()

    def sign(self) -> tuple[SignedHead | None, Finding | None]:
        """Extends the verified walk and signs its head; refuses (None, finding) when the log does not verify
        (against the latest head of the witness directory too)."""
        heads = [h for h in witnessed_heads(self.settings)
                 if h.problem(self.keyring.public_keys(), self.reader.log_name()) is None]
        latest = max(heads, key=lambda h: h.size, default=None)
        self.walk, finding = walk_log(self.reader, self.keyring.secrets(), self.walk,
                                      [latest] if latest is not None and latest.size > self.walk.tree.size else [])
        if finding is not None:
            self.walk = Walk()
            return None, finding
        key = self.keyring.active
        head = SignedHead(self.reader.log_name(), self.walk.tree.size, self.walk.position, self.walk.tree.root(),
                          datetime.now(UTC).isoformat(timespec="microseconds"), key.key_id)
        head = SignedHead(**{**head.__dict__, "signature": key.sign(head.message())})
        write_head(self.settings, head)
        return head, None


def checkpoint(settings: Settings) -> tuple[SignedHead | None, Finding | None]:
    return Checkpointer(settings).sign()


# Proofs -------------------------------------------------------------------------------------------------------

def _leaves(reader: LogReader, size: int) -> tuple[list[bytes], list[int], list[bytes]]:
    """Leaf hashes, positions and canonical bytes of the first `size` events."""
    leaves, positions, datas = [], [], []
    for position, data, *_ in reader.entries():
        if data is None:
            continue
        if len(leaves) == size:
            break
        leaves.append(leaf_of(data))
        positions.append(position)
        datas.append(data)
    return leaves, positions, datas


class ProofRefused(Exception):
    pass


def prove_positions(settings: Settings, head: SignedHead, wanted: Iterable[int]) -> list[dict[str, Any]]:
    """Inclusion proofs of the events at `wanted` positions in the tree of `head`."""
    leaves, positions, datas = _leaves(LogReader(settings), head.size)
    tree = FullTree(leaves)
    if tree.size != head.size or tree.root() != head.root:
        raise ProofRefused("le journal ne donne plus la racine de cette tête : lancez « progres audit verify »")
    index = {p: i for i, p in enumerate(positions)}
    proofs = []
    for position in sorted(set(wanted)):
        if position not in index:
            raise ProofRefused(f"la position {position} n'est pas couverte par la tête (taille {head.size}) : "
                               "lancez « progres audit checkpoint »")
        i = index[position]
        proofs.append({"position": position, "index": i, "canonical": base64.b64encode(datas[i]).decode(),
                       "path": [p.hex() for p in tree.inclusion_proof(i)]})
    return proofs


def prove_consistency(settings: Settings, old: SignedHead, new: SignedHead) -> dict[str, Any]:
    leaves, _, _ = _leaves(LogReader(settings), new.size)
    tree = FullTree(leaves)
    if tree.size != new.size or tree.root() != new.root:
        raise ProofRefused("le journal ne donne plus la racine de la tête la plus récente")
    if not 0 < old.size <= new.size:
        raise ProofRefused("la tête ancienne doit être plus petite que la récente")
    return {"kind": "consistency", "old_head": old.to_json(), "new_head": new.to_json(),
            "path": [p.hex() for p in tree.consistency_proof(old.size)]}


def check_proof(bundle: dict[str, Any], trusted: dict[str, PublicKey]) -> tuple[list[str], list[dict[str, Any]]]:
    """Checks a proof file with public keys only. Returns (problems, the events proven, decoded)."""
    problems: list[str] = []
    if bundle.get("kind") == "consistency":
        old, new = SignedHead.from_json(bundle["old_head"]), SignedHead.from_json(bundle["new_head"])
        for name, head in (("old", old), ("new", new)):
            problem = head.problem(trusted)
            if problem:
                problems.append(f"tête {'ancienne' if name == 'old' else 'récente'} : {problem}")
        if old.log != new.log:
            problems.append("les deux têtes sont de journaux différents")
        if not verify_consistency(old.size, new.size, old.root, new.root, [bytes.fromhex(p) for p in bundle["path"]]):
            problems.append(f"l'arbre de {new.size} événements ne prolonge pas celui de {old.size} événements")
        return problems, []
    head = SignedHead.from_json(bundle["head"])
    problem = head.problem(trusted)
    if problem:
        problems.append(f"tête : {problem}")
    events = []
    for item in bundle.get("events", []):
        data = base64.b64decode(item["canonical"])
        decoded = parse_canonical(data) if len(data) >= 36 else {"position": None}
        if decoded["position"] != item["position"]:
            problems.append(f"position {item['position']} : les octets de l'événement sont ceux de la position "
                            f"{decoded['position']}")
        if not verify_inclusion(leaf_of(data), int(item["index"]), head.size, [bytes.fromhex(p) for p in item["path"]],
                                head.root):
            problems.append(f"position {item['position']} : absent de l'arbre signé")
        state = decoded.get("state", b"")
        try:
            decoded["state"] = json.loads(state)
        except (ValueError, TypeError):
            decoded["state"] = base64.b64encode(state).decode()
        events.append(decoded)
    return problems, events


def link_at(settings: Settings, position: int) -> str | None:
    """The keyed chain's link at a log position (what a report built from that position cites)."""
    rows = LogReader(settings).query("SELECT link FROM {chain} WHERE notification_id <= %s ORDER BY notification_id "
                                     "DESC LIMIT 1", [position])
    return bytes(rows[0][0]).hex() if rows else None


def figure_positions(balance: dict[str, Any], figure: str) -> tuple[dict[str, Any], list[int]] | None:
    """The log positions a bilan figure was computed from: `key` (all of the indicator's figures) or
    `key.first`, `key.last`, `key.latest`."""
    key, _, part = figure.partition(".")
    for axis in balance.get("axes", []):
        for objective in axis.get("objectives", []):
            for indicator in objective.get("indicators", []):
                if indicator.get("key") != key:
                    continue
                cited = indicator.get("positions", {})
                parts = [part] if part else list(cited)
                summary = {k: indicator.get(k) for k in ("key", "name", "unit", "first", "last", "latest_assessment",
                                                         "target", "achievement", "status") if k in indicator}
                return summary, sorted({p for name in parts for p in cited.get(name, [])})
    return None


def checkpoint_periodically(settings: Settings, stop: Callable[[], bool], log: Callable[[str], None]) -> None:
    """The server's checkpoints: every `audit_checkpoint_seconds`, a signed head when the log has grown.
    A log that does not verify is reported and never signed (the next attempt starts from scratch)."""
    checkpointer, signed_size = Checkpointer(settings), -1
    while not stop():
        try:
            head, finding = checkpointer.sign_if_grown(signed_size)
            if finding is not None:
                log(f"progres audit: no head signed, {finding}")
            elif head is not None:
                signed_size = head.size
        except Exception as error:
            log(f"progres audit: checkpoint failed ({type(error).__name__}: {error})")
        deadline = time.monotonic() + settings.audit_checkpoint_seconds
        while not stop() and time.monotonic() < deadline:
            time.sleep(min(0.2, settings.audit_checkpoint_seconds))


def figure_proof(settings: Settings, balance: dict[str, Any], plan_id: str, figure: str,
                 head: SignedHead | None = None) -> dict[str, Any]:
    """The inclusion proof of the events behind a bilan figure, against `head` or the newest witnessed head."""
    found = figure_positions(balance, figure)
    if found is None:
        raise ProofRefused(f"aucun indicateur « {figure[:40]} » dans ce plan")
    indicator, positions = found
    if not positions:
        raise ProofRefused(f"l'indicateur « {figure[:40]} » n'a aucune mesure")
    head = head or max(witnessed_heads(settings), key=lambda h: h.size, default=None)
    if head is None:
        raise ProofRefused("aucune tête signée : lancez « progres audit checkpoint »")
    return {"kind": "inclusion", "plan": plan_id, "figure": figure, "indicator": indicator,
            "head": head.to_json(), "events": prove_positions(settings, head, positions)}


# The verification status an auditor reads (GraphQL `logVerification`, the console's timeline) -----------------

FINDING_KINDS = ("altered", "deleted", "inserted", "reordered", "truncated", "snapshot", "head", "adoption")


@dataclass(frozen=True)
class LogStatus:
    """What `progres audit verify` says of the log, checked now: the verification, when it ran, the log's head,
    the active key and the latest signed head of the witness directory (None: no checkpoint signed yet)."""

    verification: Verification
    verified_at: datetime
    log_head: int
    active_key_id: str
    latest_head: SignedHead | None


@dataclass
class _Run:
    done: threading.Event = field(default_factory=threading.Event)
    status: LogStatus | None = None
    error: BaseException | None = None


_RUNS: dict[str, _Run] = {}
_RUNS_LOCK = threading.Lock()


def log_status(settings: Settings, app: Any) -> LogStatus:
    """The whole log verified as `progres audit verify` does by default: the keyed chain, the heads and adoption
    records of the witness directory against the deployment's public keys, and the snapshots. Readers who ask while
    a verification of the same log is running share its result (its `verified_at` says when it ran) rather than
    walking the log beside it."""
    log = LogReader(settings).log_name()
    with _RUNS_LOCK:
        run = _RUNS.get(log)
        leading = run is None
        if run is None:
            run = _RUNS[log] = _Run()
    if not leading:
        run.done.wait()
        if run.error is not None:
            raise run.error
        assert run.status is not None
        return run.status
    try:
        run.status = _verify_now(settings, app)
        return run.status
    except BaseException as error:
        run.error = error
        raise
    finally:
        with _RUNS_LOCK:
            del _RUNS[log]
        run.done.set()


def _verify_now(settings: Settings, app: Any) -> LogStatus:
    keyring = load_keyring(settings, create=False)
    heads = witnessed_heads(settings)
    result = verify(settings, heads, keyring.public_keys(), keyring, app, adoption_records(settings))
    verified_at = datetime.now(UTC)
    log_head = LogReader(settings).query("SELECT coalesce(max(notification_id), 0) FROM {events}", [])[0][0]
    return LogStatus(result, verified_at, int(log_head or 0), keyring.active.key_id,
                     max(heads, key=lambda h: h.size, default=None))
