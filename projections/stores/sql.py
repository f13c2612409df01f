"""The read-model store: reducer states (ledgers), routes, derived views, history, checkpoints and the
tracking position, written together in one transaction per batch so that each fact counts once."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

import orjson

from progres.projections import registry
from progres.projections.breakdowns import SummaryRow
from progres.projections.indicators import PeriodFigure, PlanFigures, fmt
from progres.projections.late_facts import LateRow
from progres.projections.ledger import Ledger, Route
from progres.projections.period_figures import FigureRow
from progres.projections.registry import TABLES

VIEW_TABLES = TABLES  # one per read model declared in projections/registry.py (the store asks registry.tables())


class Cursor(Protocol):
    rowcount: int

    def execute(self, query: str, params: Sequence[Any] = ...) -> Any: ...
    def executemany(self, query: str, params: Iterable[Sequence[Any]]) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def fetchmany(self, size: int = ...) -> list[Any]: ...


@dataclass(frozen=True)
class Dialect:
    placeholder: str
    prefix: str  # schema qualifier, e.g. "progres_views." or ""
    json_type: str
    blob_type: str
    bigint: str
    partitioned: str = ""  # appended to the tables a rebuild loads apart (PostgreSQL: partitions by generation)

    def sql(self, query: str) -> str:
        return query.replace("{p}", self.prefix).replace("?", self.placeholder)


def schema_statements(d: Dialect) -> list[str]:
    return [d.sql(q) for q in (
        "CREATE TABLE IF NOT EXISTS {p}tracking (projection TEXT PRIMARY KEY, position " + d.bigint + " NOT NULL)",
        "CREATE TABLE IF NOT EXISTS {p}active (alias TEXT PRIMARY KEY, projection TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS {p}ledgers (projection TEXT, groupement_id TEXT, position " + d.bigint
        + ", state " + d.blob_type + ", PRIMARY KEY (projection, groupement_id))",
        # The measures of the ledgers, one row each, keyed by (plan, indicator, member, period): a batch writes the
        # measures it recorded or corrected, never the groupement's others (the ledger row holds the rest).
        "CREATE TABLE IF NOT EXISTS {p}measures (projection TEXT, measure_id TEXT, groupement_id TEXT, plan_id TEXT, "
        "indicator_key TEXT, member_id TEXT, period_start TEXT, period_end TEXT, recorded_position " + d.bigint
        + ", position " + d.bigint + ", doc " + d.json_type + ", PRIMARY KEY (projection, measure_id))" + d.partitioned,
        "CREATE INDEX IF NOT EXISTS measures_by_groupement ON {p}measures (projection, groupement_id, "
        "recorded_position)",
        "CREATE INDEX IF NOT EXISTS measures_by_key ON {p}measures (projection, plan_id, indicator_key, member_id, "
        "period_start, period_end)",
        # as-of (projections/as_of.py): one period's measures, one member's
        "CREATE INDEX IF NOT EXISTS measures_by_period ON {p}measures (projection, plan_id, indicator_key, "
        "period_start, period_end, recorded_position)",
        "CREATE INDEX IF NOT EXISTS measures_by_member ON {p}measures (projection, plan_id, member_id, "
        "recorded_position)",
        # The groupement and plan of each aggregate but measures: a measure's are those of its `measures` row (read
        # from there, see `route` and `load_routes`; stores written before hold measures' routes here too).
        "CREATE TABLE IF NOT EXISTS {p}routes (projection TEXT, aggregate_id TEXT, groupement_id TEXT, "
        "plan_id TEXT, PRIMARY KEY (projection, aggregate_id))",
        # One shape for every view (groupement_parties: plan_id holds the groupement, what access checks read).
        *(f"CREATE TABLE IF NOT EXISTS {{p}}{table} (projection TEXT, plan_id TEXT, member_id TEXT, "
          "groupement_id TEXT, position " + d.bigint + ", doc " + d.json_type
          + ", PRIMARY KEY (projection, plan_id, member_id))" for table in registry.tables()),
        # The version of each read model a generation's rows were made by, and the rebuild of a new version under
        # way (its rows kept beside the old ones under `building_key`, see projections/runner.py Upgrade).
        "CREATE TABLE IF NOT EXISTS {p}model_versions (projection TEXT, model TEXT, version INTEGER NOT NULL, "
        "building INTEGER, cursor TEXT, done INTEGER, total INTEGER, PRIMARY KEY (projection, model))",
        "CREATE TABLE IF NOT EXISTS {p}history (projection TEXT, position " + d.bigint + ", groupement_id TEXT, "
        "plan_id TEXT, organisation_id TEXT, aggregate_id TEXT, version INTEGER, type TEXT, timestamp TEXT, "
        "PRIMARY KEY (projection, position))" + d.partitioned,
        "CREATE INDEX IF NOT EXISTS history_by_time ON {p}history (projection, timestamp)",
        "CREATE INDEX IF NOT EXISTS history_by_groupement ON {p}history (projection, groupement_id, position)",
        "CREATE INDEX IF NOT EXISTS history_by_aggregate ON {p}history (projection, aggregate_id, position)",
        "CREATE TABLE IF NOT EXISTS {p}checkpoints (projection TEXT, groupement_id TEXT, position " + d.bigint
        + ", state " + d.blob_type + ", PRIMARY KEY (projection, groupement_id, position))",
        # as-of (projections/breakdowns.py): a member's summary of its measures in a plan, one version per change
        "CREATE TABLE IF NOT EXISTS {p}member_summaries (projection TEXT, plan_id TEXT, member_id TEXT, position "
        + d.bigint + ", groupement_id TEXT, doc " + d.json_type + ", PRIMARY KEY (projection, plan_id, member_id, "
        "position))",
        # as-of (projections/period_figures.py): the groupement's figure of a plan's indicator and period, one version
        # per change
        "CREATE TABLE IF NOT EXISTS {p}period_figures (projection TEXT, plan_id TEXT, indicator_key TEXT, "
        "period_start TEXT, period_end TEXT, position " + d.bigint + ", groupement_id TEXT, doc " + d.json_type
        + ", PRIMARY KEY (projection, plan_id, indicator_key, period_start, period_end, position))",
        # as-of by a time (projections/late_facts.py): the facts appended after a fact recorded later
        "CREATE TABLE IF NOT EXISTS {p}late_facts (projection TEXT, position " + d.bigint + ", timestamp TEXT, "
        "PRIMARY KEY (projection, position))",
    )]


def pack(state: Ledger) -> bytes:
    return zlib.compress(orjson.dumps(state), 1)


def skeleton(ledger: Ledger) -> Ledger:
    """A ledger without its measures (stored as rows of their own, see `measures`)."""
    plans = ledger.get("plans") or {}
    if not any(plan.get("measures") for plan in plans.values()):
        return ledger
    return {**ledger, "plans": {p: {**plan, "measures": {}} for p, plan in plans.items()}}


MeasureRow = tuple[str, str, dict[str, Any]]  # (groupement, plan, the measure as the ledger holds it)
MEASURE_COLUMNS = ("projection", "measure_id", "groupement_id", "plan_id", "indicator_key", "member_id", "period_start",
                   "period_end", "recorded_position", "position", "doc")
VIEW_COLUMNS = ("projection", "plan_id", "member_id", "groupement_id", "position", "doc")
HISTORY_COLUMNS = ("projection", "position", "groupement_id", "plan_id", "organisation_id", "aggregate_id", "version",
                   "type", "timestamp")
DELTA = "checkpoint_delta"  # marks a checkpoint that holds the measures changed since the groupement's previous one


def delta(ledger: Ledger, since: int, figures: dict[str, PlanFigures] | None = None) -> dict[str, Any]:
    """A checkpoint sized by what changed (issue 12, item 5): the ledger without its measures, and the measures
    recorded or corrected after `since` (the groupement's previous checkpoint); see `SqlStore.checkpoint_before`.
    With each plan's figures at that position, their groupement series too (`SERIES`: what as-of starts from)."""
    state = {DELTA: 1, "ledger": skeleton(ledger),
             "measures": [[p, m] for p, plan in (ledger.get("plans") or {}).items()
                          for m in plan.get("measures", {}).values() if m["positions"][-1] > since]}
    if figures is not None:
        state[SERIES] = {p: series_state(f) for p, f in figures.items()}
    return state


SERIES = "series"  # in a checkpoint: per plan, the groupement's figure of each quantitative indicator and period


def series_state(figures: PlanFigures) -> dict[str, list[list[Any]]]:
    """A plan's groupement series as a checkpoint keeps them: per indicator, each period's figure; the positions
    behind a figure only for the first and last periods with a value (the only ones a view shows)."""
    kept: dict[str, list[list[Any]]] = {}
    for key, series in figures.series.items():
        valued = [i for i, f in enumerate(series) if f.value is not None]
        ends = {valued[0], valued[-1]} if valued else set()
        kept[key] = [[f.period_start, f.period_end, fmt(f.value), f.members,
                      list(f.positions) if i in ends else None, [list(e) for e in f.excluded], f.weighting]
                     for i, f in enumerate(series)]
    return kept


def series_of_state(state: dict[str, list[list[Any]]]) -> dict[str, list[PeriodFigure]]:
    """The series `series_state` kept (positions None where not kept)."""
    return {key: [PeriodFigure(f[0], f[1], Decimal(f[2]) if f[2] is not None else None, f[3], f[4],
                               tuple((m, why) for m, why in f[5]), f[6]) for f in figures]
            for key, figures in state.items()}


def merge_checkpoints(states: list[Any]) -> Ledger:
    """The ledger a run of checkpoints makes, oldest first: a whole ledger (written before deltas) starts it again,
    a delta replaces the rest of the ledger and adds or replaces its measures (kept in the order they were recorded)."""
    measures: dict[str, dict[str, Any]] = {}
    ledger: Ledger = {}
    for state in states:
        if DELTA not in state:
            ledger = state
            measures = {p: dict(plan.get("measures", {})) for p, plan in (state.get("plans") or {}).items()}
            continue
        ledger = state["ledger"]
        for p, m in state["measures"]:
            measures.setdefault(p, {})[m["id"]] = m
    for p, plan in (ledger.get("plans") or {}).items():
        plan["measures"] = measures.get(p, {})
    return ledger


def all_measures(ledgers: Iterable[Ledger]) -> list[MeasureRow]:
    return [(ledger["id"], p, m) for ledger in ledgers for p, plan in (ledger.get("plans") or {}).items()
            for m in plan.get("measures", {}).values()]


def routes_rows(projection: str, routes: dict[str, Route], measures: list[MeasureRow]) -> list[tuple[Any, ...]]:
    """The rows of the `routes` table for these new routes: none for a measure written with the same groupement and
    plan (its route is its `measures` row's)."""
    rows = {m["id"]: (g, p) for g, p, m in measures if m["id"] in routes} if routes and measures else {}
    return [(projection, a, r.groupement_id, r.plan_id) for a, r in routes.items()
            if rows.get(a) != (r.groupement_id, r.plan_id)]


PARTS = b"\x01"  # a checkpoint's state stored in two parts, its measures apart (JSON never starts with it)


def checkpoint_data(state: dict[str, Any]) -> bytes:
    """A checkpoint's state as stored (before compression): a delta's measures apart from the rest (ledger without
    measures, series), so that as-of reads the rest without decoding them (`unpack(..., measures=False)`)."""
    if DELTA not in state:
        return orjson.dumps(state)
    return in_two_parts(orjson.dumps({k: v for k, v in state.items() if k != "measures"}),
                        orjson.dumps(state["measures"]))


def in_two_parts(rest: bytes, measures: bytes) -> bytes:
    """A delta's JSON without its measures, then its measures' JSON, as `unpack` reads them apart."""
    return PARTS + len(rest).to_bytes(8, "big") + rest + measures


def pack_checkpoint(state: dict[str, Any]) -> bytes:
    return zlib.compress(checkpoint_data(state), 1)


def unpack(data: bytes, measures: bool = True) -> Ledger:
    """A stored ledger or checkpoint; `measures=False`: a checkpoint in two parts without its measures (none), which
    are then not even decompressed (they come last: up to a window's 5,000 measures, most of the blob)."""
    if not measures:
        stream = zlib.decompressobj()
        head = stream.decompress(bytes(data), 9)
        if head[:1] == PARTS:
            size = int.from_bytes(head[1:9], "big")
            rest = stream.decompress(stream.unconsumed_tail, size)
            while len(rest) < size and stream.unconsumed_tail:
                rest += stream.decompress(stream.unconsumed_tail, size - len(rest))
            state: Ledger = orjson.loads(rest)
            state["measures"] = []
            return state
    raw = memoryview(zlib.decompress(bytes(data)))
    if raw[:1] != PARTS:
        return orjson.loads(raw)  # type: ignore[no-any-return]
    size = int.from_bytes(raw[1:9], "big")
    state = orjson.loads(raw[9:9 + size])
    state["measures"] = orjson.loads(raw[9 + size:]) if measures else []
    return state


# A ledger's row, with the time of the fact at its position: a live batch that only recorded or corrected measures
# moves the row's position without writing its state again (`Batch.moved`), so the state's position and last time
# are the row's and the history's (the history holds a row for every fact a batch met, written with it).
LEDGER_ROW = ("SELECT l.groupement_id, l.state, l.position, h.timestamp FROM {p}ledgers l LEFT JOIN {p}history h "
              "ON h.projection = l.projection AND h.position = l.position ")


def ledger_of_row(row: Sequence[Any]) -> Ledger:
    """The ledger of a `LEDGER_ROW` row: its state, at the row's position (see `Batch.moved`)."""
    ledger = unpack(row[1])
    if row[2] is not None and int(row[2]) != ledger["position"]:
        ledger["position"] = int(row[2])
        if row[3] is not None:
            ledger["last_timestamp"] = row[3]
    return ledger


@dataclass(frozen=True)
class Fence:
    """The leadership a batch is written under: the advisory lock `key`, held by the session `pid`.

    A store that can see locks (PostgreSQL) checks, in the batch's own transaction, that this session still
    holds the lock; the conditional update of tracking then keeps two writers from both advancing it."""

    key: int
    pid: int


@dataclass
class Batch:
    """Everything one batch of facts changed, written in one transaction with the new position."""

    ledgers: dict[str, Ledger]
    routes: dict[str, Route]
    views: dict[str, list[tuple[str, str, str, dict[str, Any]]]]  # table -> (plan, member, groupement, doc)
    history: list[dict[str, Any]]
    checkpoints: list[tuple[str, int, bytes]]  # (groupement, position, packed ledger)
    keys: dict[str, str] = field(default_factory=dict)  # table -> where its rows go, if not the generation
    measures: list[MeasureRow] | None = None  # the measures the batch changed (None: every measure of the ledgers)
    summaries: list[SummaryRow] = field(default_factory=list)  # members' summaries (projections/breakdowns.py)
    figures: list[FigureRow] = field(default_factory=list)  # period figures (projections/period_figures.py)
    late: list[LateRow] = field(default_factory=list)  # late facts (projections/late_facts.py), with the history
    # Groupements of `ledgers` whose row holds their state but for the position (the batch only recorded or corrected
    # measures: its skeleton is what the row holds): only the row's position is written, not the whole skeleton again
    moved: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ModelVersion:
    """What a generation's store recorded of a read model: the version of its rows in use, and the version being
    built beside them (None when none is), with its progress (groupements done of total; the last one's id)."""

    version: int
    building: int | None = None
    cursor: str = ""
    done: int = 0
    total: int = 0


def building_prefix(projection: str) -> str:
    return f"{projection}@"


def building_key(projection: str, model: str, version: int) -> str:
    """What the `projection` column of a read model's rows holds while a new version of it is built."""
    return f"{building_prefix(projection)}{model}.v{version}"


class CountingCursor:
    """Counts the statements sent, so that tests can bound the SQL a query costs."""

    def __init__(self, cursor: Any, store: SqlStore) -> None:
        self._cursor, self._store = cursor, store

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        self._store.statements += 1
        return self._cursor.execute(*args, **kwargs)

    def executemany(self, *args: Any, **kwargs: Any) -> Any:
        self._store.statements += 1
        return self._cursor.executemany(*args, **kwargs)

    def copy(self, *args: Any, **kwargs: Any) -> Any:
        self._store.statements += 1
        return self._cursor.copy(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


class SqlStore:
    """Shared SQL for both stores; subclasses give connections and the dialect."""

    dialect: Dialect
    statements: int = 0
    rebuild_writers = 1  # connections a rebuild writes its rows through side by side

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        raise NotImplementedError

    def close(self) -> None:
        """Releases connections."""

    @contextmanager
    def reading(self) -> Iterator[None]:
        """The reads of this thread inside share one transaction where a store makes that cheaper (PostgreSQL: one
        BEGIN and COMMIT instead of one per read, e.g. as-of's dozen reads); elsewhere nothing changes."""
        yield

    def q(self, query: str) -> str:
        return self.dialect.sql(query)

    def create_tables(self) -> None:
        with self.transaction() as cur:
            for statement in schema_statements(self.dialect):
                cur.execute(statement)
        self._tables = registry.tables()

    def ensure_tables(self) -> None:
        """Creates the table of a read model registered since the store was opened."""
        if not set(registry.tables()) <= set(getattr(self, "_tables", ())):
            self.create_tables()

    # Generations: an alias names the generation that serves reads
    def active(self, alias: str) -> str | None:
        with self.transaction() as cur:
            cur.execute(self.q("SELECT projection FROM {p}active WHERE alias = ?"), [alias])
            row = cur.fetchone()
        return row[0] if row else None

    def activate(self, alias: str, projection: str) -> str | None:
        """Points the alias at a generation; returns the one it replaced."""
        previous = self.active(alias)
        with self.transaction() as cur:
            cur.execute(self.q("DELETE FROM {p}active WHERE alias = ?"), [alias])
            cur.execute(self.q("INSERT INTO {p}active (alias, projection) VALUES (?, ?)"), [alias, projection])
        return previous

    def drop(self, projection: str) -> None:
        self.ensure_tables()
        with self.transaction() as cur:
            for table in ("tracking", "ledgers", "measures", "routes", *registry.tables(), "history", "checkpoints",
                          "model_versions", "member_summaries", "period_figures", "late_facts"):
                cur.execute(self.q(f"DELETE FROM {{p}}{table} WHERE projection = ?"), [projection])
            for table in registry.tables():  # the rows of a new version being built beside the old ones
                cur.execute(self.q(f"DELETE FROM {{p}}{table} WHERE projection LIKE ?"), [building_prefix(projection)
                                                                                          + "%"])

    # Versions of the read models (one row per generation and model)
    def model_versions(self, projection: str) -> dict[str, ModelVersion]:
        with self.transaction() as cur:
            cur.execute(self.q("SELECT model, version, building, cursor, done, total FROM {p}model_versions "
                               "WHERE projection = ?"), [projection])
            return {row[0]: ModelVersion(int(row[1]), row[2], row[3] or "", row[4] or 0, row[5] or 0)
                    for row in cur.fetchall()}

    def has_rows(self, table: str, projection: str) -> bool:
        with self.transaction() as cur:
            cur.execute(self.q(f"SELECT 1 FROM {{p}}{table} WHERE projection = ? LIMIT 1"), [projection])
            return cur.fetchone() is not None

    def record_versions(self, projection: str, versions: dict[str, int], replace: bool = True) -> None:
        """Records the version each read model's rows were made by (`replace=False`: only where none is)."""
        conflict = ("DO UPDATE SET version = excluded.version, building = NULL, cursor = NULL, done = NULL, "
                    "total = NULL") if replace else "DO NOTHING"
        with self.transaction() as cur:
            cur.executemany(self.q("INSERT INTO {p}model_versions (projection, model, version) VALUES (?, ?, ?) "
                                   f"ON CONFLICT (projection, model) {conflict}"),
                            [(projection, name, version) for name, version in versions.items()])

    def _guard(self, cur: Cursor, projection: str, position: int, fence: Fence | None) -> None:
        """Inside a transaction: the fence still held, tracking still at `position` (its row locked until commit, so
        that no batch of another runner commits meanwhile)."""
        if fence is not None:
            self.check_fence(cur, fence)
        cur.execute(self.q("UPDATE {p}tracking SET position = position WHERE projection = ? AND position = ?"),
                    [projection, position])
        if cur.rowcount != 1:
            raise StaleTracking(projection)

    def begin_upgrade(self, projection: str, model: str, table: str, version: int, total: int, position: int,
                      fence: Fence | None = None) -> None:
        """Starts building `version` of a read model beside its rows in use (leftovers of a rebuild given up erased)."""
        with self.transaction() as cur:
            self._guard(cur, projection, position, fence)
            cur.execute(self.q(f"DELETE FROM {{p}}{table} WHERE projection = ?"),
                        [building_key(projection, model, version)])
            cur.execute(self.q("UPDATE {p}model_versions SET building = ?, cursor = '', done = 0, total = ? "
                               "WHERE projection = ? AND model = ?"), [version, total, projection, model])
            if cur.rowcount != 1:
                raise StaleTracking(projection)

    def write_upgrade(self, projection: str, model: str, table: str, version: int, rows: list[Any], position: int,
                      after: str, cursor: str, done: int, fence: Fence | None = None) -> None:
        """Writes the new version's rows of the groupements after `after` up to `cursor`; refused (StaleTracking) if
        tracking moved or another runner moved the cursor meanwhile."""
        key = building_key(projection, model, version)
        with self.transaction() as cur:
            self._guard(cur, projection, position, fence)
            cur.execute(self.q("UPDATE {p}model_versions SET cursor = ?, done = ? WHERE projection = ? AND model = ? "
                               "AND building = ? AND cursor = ?"), [cursor, done, projection, model, version, after])
            if cur.rowcount != 1:
                raise StaleTracking(projection)
            self._upsert_views(cur, table, key, position, rows)

    def building_positions(self, projection: str, model: str, table: str, version: int) -> dict[str, int]:
        """Per groupement, the oldest position its rows of the version being built were written at."""
        with self.transaction() as cur:
            cur.execute(self.q(f"SELECT groupement_id, min(position) FROM {{p}}{table} WHERE projection = ? "
                               "GROUP BY groupement_id"), [building_key(projection, model, version)])
            return {row[0]: int(row[1]) for row in cur.fetchall()}

    def switch_model(self, projection: str, model: str, table: str, version: int, position: int,
                     fence: Fence | None = None, rows: list[Any] | None = None) -> None:
        """In one transaction: `rows` written beside, then the new version's rows take the place of the old ones,
        which are dropped. A reader sees either all the old rows or all the new ones (the key it reads by, the
        generation, does not change)."""
        with self.transaction() as cur:
            self._guard(cur, projection, position, fence)
            if rows:
                self._upsert_views(cur, table, building_key(projection, model, version), position, rows)
            cur.execute(self.q("UPDATE {p}model_versions SET version = ?, building = NULL, cursor = NULL, "
                               "done = NULL, total = NULL WHERE projection = ? AND model = ? AND building = ?"),
                        [version, projection, model, version])
            if cur.rowcount != 1:
                raise StaleTracking(projection)
            cur.execute(self.q(f"DELETE FROM {{p}}{table} WHERE projection = ?"), [projection])
            cur.execute(self.q(f"UPDATE {{p}}{table} SET projection = ? WHERE projection = ?"),
                        [projection, building_key(projection, model, version)])

    # Reading
    def position(self, projection: str) -> int:
        with self.transaction() as cur:
            cur.execute(self.q("SELECT position FROM {p}tracking WHERE projection = ?"), [projection])
            row = cur.fetchone()
        return int(row[0]) if row else 0

    def load_ledgers(self, projection: str) -> dict[str, Ledger]:
        with self.transaction() as cur:
            cur.execute(self.q(LEDGER_ROW + "WHERE l.projection = ?"), [projection])
            ledgers = {row[0]: ledger_of_row(row) for row in cur.fetchall()}
            cur.execute(self.q("SELECT groupement_id, plan_id, doc FROM {p}measures WHERE projection = ? "
                               "ORDER BY recorded_position"), [projection])
            return self._with_measures(cur, projection, ledgers, cur.fetchall(), migrate=True)

    def _with_measures(self, cur: Cursor, projection: str, ledgers: dict[str, Ledger],
                       rows: list[Any], migrate: bool = False) -> dict[str, Ledger]:
        """The ledgers with their measures, in the order they were recorded. A ledger stored before the measures had
        rows of their own holds them: when a runner loads it (`migrate`), they are given their rows (then its row
        holds the rest only, unless a batch wrote it meanwhile)."""
        legacy = [g for g, ledger in ledgers.items() if skeleton(ledger) is not ledger] if migrate else []
        if legacy:
            self._write_measures(cur, projection, all_measures(ledgers[g] for g in legacy), fresh=False)
            cur.executemany(self.q("UPDATE {p}ledgers SET state = ? WHERE projection = ? AND groupement_id = ? "
                                   "AND position = ?"),
                            [(pack(skeleton(ledgers[g])), projection, g, ledgers[g]["position"]) for g in legacy])
        for g, plan_id, doc in rows:
            ledger = ledgers.get(g)
            if ledger is not None and plan_id in ledger["plans"]:
                measure = self.load_json(doc)
                ledger["plans"][plan_id]["measures"].setdefault(measure["id"], measure)
        return ledgers

    def _write_measures(self, cur: Cursor, projection: str, measures: list[MeasureRow], fresh: bool) -> None:
        rows = self.measure_rows(projection, measures)
        columns = MEASURE_COLUMNS
        if fresh:
            self.bulk_insert(cur, "measures", columns, rows)
        elif rows:
            cur.executemany(self.q(
                f"INSERT INTO {{p}}measures ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)}) "
                "ON CONFLICT (projection, measure_id) DO UPDATE SET position = excluded.position, doc = excluded.doc"),
                rows)

    def ledger_positions(self, projection: str, groupement_ids: Sequence[str] | None = None) -> dict[str, int]:
        """Positions of ledgers (all of them, or those named): what a cache needs to know is fresh."""
        query = "SELECT groupement_id, position FROM {p}ledgers WHERE projection = ?"
        params: list[Any] = [projection]
        if groupement_ids is not None:
            if not groupement_ids:
                return {}
            query += f" AND groupement_id IN ({', '.join('?' for _ in groupement_ids)})"
            params.extend(groupement_ids)
        with self.transaction() as cur:
            cur.execute(self.q(query), params)
            return {row[0]: int(row[1]) for row in cur.fetchall()}

    def load_ledger_states(self, projection: str, groupement_ids: Sequence[str],
                           known: dict[str, Ledger] | None = None) -> dict[str, Ledger]:
        """The ledgers named, with their measures; of a ledger `known` at an earlier position, only the measures
        written since are read (the others are taken from it, which is left as it is)."""
        if not groupement_ids:
            return {}
        known = known or {}
        marks = ', '.join('?' for _ in groupement_ids)
        with self.transaction() as cur:
            cur.execute(self.q(LEDGER_ROW + f"WHERE l.projection = ? AND l.groupement_id IN ({marks})"),
                        [projection, *groupement_ids])
            ledgers = {row[0]: ledger_of_row(row) for row in cur.fetchall()}
            fresh = [g for g in ledgers if g not in known or skeleton(ledgers[g]) is not ledgers[g]]
            rows: list[Any] = []
            if fresh:
                cur.execute(self.q("SELECT groupement_id, plan_id, doc FROM {p}measures WHERE projection = ? AND "
                                   f"groupement_id IN ({', '.join('?' for _ in fresh)}) ORDER BY recorded_position"),
                            [projection, *fresh])
                rows = cur.fetchall()
            for g in ledgers:
                if g in fresh:
                    continue
                for p, plan in ledgers[g]["plans"].items():
                    plan["measures"] = dict(((known[g].get("plans") or {}).get(p) or {}).get("measures", {}))
                cur.execute(self.q("SELECT groupement_id, plan_id, doc FROM {p}measures WHERE projection = ? AND "
                                   "groupement_id = ? AND position > ? ORDER BY recorded_position"),
                            [projection, g, known[g]["position"]])
                for _, plan_id, doc in cur.fetchall():
                    if plan_id in ledgers[g]["plans"]:
                        measure = self.load_json(doc)
                        ledgers[g]["plans"][plan_id]["measures"][measure["id"]] = measure
            return self._with_measures(cur, projection, ledgers, rows)

    def load_routes(self, projection: str) -> dict[str, Route]:
        """Every aggregate's route: the routes rows and the measures' (their `measures` rows)."""
        with self.transaction() as cur:
            cur.execute(self.q("SELECT measure_id, groupement_id, plan_id FROM {p}measures WHERE projection = ?"),
                        [projection])
            routes = {row[0]: Route(row[1], row[2]) for row in cur.fetchall()}
            cur.execute(self.q("SELECT aggregate_id, groupement_id, plan_id FROM {p}routes WHERE projection = ?"),
                        [projection])
            routes.update((row[0], Route(row[1], row[2])) for row in cur.fetchall())
            return routes

    def view(self, table: str, projection: str, plan_id: str, member_id: str = "") -> tuple[int, Any] | None:
        """A read model's document (with its position); a model stored in parts is put together from its rows, read
        in the same transaction (a reader never mixes two batches)."""
        assert table in registry.tables()
        self.ensure_tables()
        model = next((m for m in registry.REGISTRY if m.table == table), None)
        if model is not None and model.assemble is not None and model.parts:
            return self._assembled(model, projection, plan_id, member_id)
        with self.transaction() as cur:
            cur.execute(self.q(f"SELECT position, doc FROM {{p}}{table} WHERE projection = ? AND plan_id = ? "
                               "AND member_id = ?"), [projection, plan_id, member_id])
            row = cur.fetchone()
            if row is None:
                return None
            if model is None or model.assemble is None:
                return int(row[0]), self.load_json(row[1])

            def fetch(other: str, plan: str) -> list[tuple[str, int, Any]]:
                cur.execute(self.q(f"SELECT member_id, position, doc FROM {{p}}{other} WHERE projection = ? "
                                   "AND plan_id = ?"), [projection, plan])
                return [(r[0], int(r[1]), self.load_json(r[2])) for r in cur.fetchall()]
            return model.assemble(fetch, plan_id, member_id, int(row[0]), self.load_json(row[1]))

    def _assembled(self, model: registry.ReadModel, projection: str, plan_id: str,
                   member_id: str) -> tuple[int, Any] | None:
        """A model stored in parts, its row and the rows of its parts read by one statement (one snapshot: a reader
        never mixes two batches; one round trip: what the latency of a new measure waits for last)."""
        assert model.assemble is not None
        assert set(model.parts) <= set(registry.tables())
        query = " UNION ALL ".join(
            [f"SELECT 0, member_id, position, doc FROM {{p}}{model.table} WHERE projection = ? AND plan_id = ? "
             "AND member_id = ?"]
            + [f"SELECT {i}, member_id, position, doc FROM {{p}}{table} WHERE projection = ? AND plan_id = ?"
               for i, table in enumerate(model.parts, start=1)])
        params: list[Any] = [projection, plan_id, member_id]
        for _ in model.parts:
            params += [projection, plan_id]
        with self.single_statement() as cur:
            cur.execute(self.q(query), params)
            rows = cur.fetchall()
        own = next((row for row in rows if row[0] == 0), None)
        if own is None:
            return None
        fetched: dict[str, list[tuple[str, int, Any]]] = {table: [] for table in model.parts}
        for row in rows:
            if row[0]:
                fetched[model.parts[row[0] - 1]].append((row[1], int(row[2]), self.load_json(row[3])))

        def fetch(other: str, plan: str) -> list[tuple[str, int, Any]]:
            assert plan == plan_id, "a part of another plan than the view's"
            return fetched[other]
        return model.assemble(fetch, plan_id, member_id, int(own[2]), self.load_json(own[3]))

    @contextmanager
    def single_statement(self) -> Iterator[Cursor]:
        """Where one statement is sent (its own snapshot): a store may spare the transaction's BEGIN and COMMIT."""
        with self.transaction() as cur:
            yield cur

    def documents(self, table: str, projection: str) -> list[Any]:
        assert table in registry.tables()
        self.ensure_tables()
        with self.transaction() as cur:
            cur.execute(self.q(f"SELECT doc FROM {{p}}{table} WHERE projection = ?"), [projection])
            return [self.load_json(row[0]) for row in cur.fetchall()]

    def rows(self, table: str, projection: str) -> list[tuple[Any, ...]]:
        """Every row of a generation, in key order (for comparing generations and rebuilds)."""
        keys = {"history": "position", "ledgers": "groupement_id", "routes": "aggregate_id", "measures": "measure_id",
                "checkpoints": "groupement_id, position"}.get(
            table, "plan_id, member_id")
        columns = "*"
        with self.transaction() as cur:
            if table == "ledgers":  # each ledger as its row stands for it: its state at the row's position
                cur.execute(self.q(LEDGER_ROW + "WHERE l.projection = ? ORDER BY l.groupement_id"), [projection])
                return [(projection, row[0], row[2], pack(ledger_of_row(row))) for row in cur.fetchall()]
            cur.execute(self.q(f"SELECT {columns} FROM {{p}}{table} WHERE projection = ? ORDER BY {keys}"),
                        [projection])
            return [tuple(self.load_json(v) if isinstance(v, str) and v.startswith(("{", "[")) else v for v in row)
                    for row in cur.fetchall()]

    def position_at(self, projection: str, timestamp: str) -> int:
        """The last log position recorded at or before a time: the position of the latest fact recorded by then (one
        seek of the history's time index, `history_by_time`), or a later one recorded by then (concurrent writers can
        append a fact after another recorded later: its time was taken before it waited for its turn; an import of
        thousands of facts can so come after a command recorded after it). Such a fact is late (its time before an
        earlier fact's): found among the generation's late facts (projections/late_facts.py), a few rows, after the
        position they are kept from; before it (a generation written before them), in the history after the seek's
        position (the planner reads whichever is shorter, the rows up to the time or those after that position)."""
        with self.transaction() as cur:
            cur.execute(self.q("SELECT position FROM {p}history WHERE projection = ? AND timestamp <= ? "
                               "ORDER BY timestamp DESC, position DESC LIMIT 1"), [projection, timestamp])
            row = cur.fetchone()
            if row is None:
                return 0
            latest = int(row[0])
            # (one statement: the marker, and the last late fact after the seek recorded by then; late facts are kept
            # after the marker only)
            cur.execute(self.q("SELECT (SELECT min(position) FROM {p}late_facts WHERE projection = ? AND timestamp IS "
                               "NULL), (SELECT max(position) FROM {p}late_facts WHERE projection = ? AND position > ? "
                               "AND timestamp <= ?)"), [projection, projection, latest, timestamp])
            row = cur.fetchone()
            kept = int(row[0]) if row[0] is not None else None
            found = max(latest, int(row[1])) if row[1] is not None else latest
            if kept is None or kept > latest:  # the history after the seek, up to where late facts are kept
                cur.execute(self.q("SELECT max(position) FROM {p}history WHERE projection = ? AND position > ? AND "
                                   "timestamp <= ?" + ("" if kept is None else " AND position <= ?")),
                            [projection, latest, timestamp, *([] if kept is None else [kept])])
                row = cur.fetchone()
                found = max(found, int(row[0])) if row and row[0] is not None else found
        return found

    def _late_kept_after(self, cur: Cursor, projection: str) -> int | None:
        """The position after which the generation keeps its late facts (its marker), None when it keeps none."""
        cur.execute(self.q("SELECT min(position) FROM {p}late_facts WHERE projection = ? AND timestamp IS NULL"),
                    [projection])
        row = cur.fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def latest_time(self, projection: str) -> tuple[str | None, bool]:
        """The latest time of the generation's history (a seek of its time index), and whether it keeps its late
        facts (projections/late_facts.py: a runner carrying on a generation written before them marks where it
        starts keeping them)."""
        with self.transaction() as cur:
            cur.execute(self.q("SELECT timestamp FROM {p}history WHERE projection = ? ORDER BY timestamp DESC "
                               "LIMIT 1"), [projection])
            row = cur.fetchone()
            return (str(row[0]) if row else None), self._late_kept_after(cur, projection) is not None

    def route(self, projection: str, aggregate_id: str) -> Route | None:
        """The aggregate's route: its routes row, else (a measure) its `measures` row's groupement and plan."""
        with self.transaction() as cur:
            cur.execute(self.q("SELECT groupement_id, plan_id FROM {p}routes "
                               "WHERE projection = ? AND aggregate_id = ?"), [projection, aggregate_id])
            row = cur.fetchone()
            if row is None:
                cur.execute(self.q("SELECT groupement_id, plan_id FROM {p}measures "
                                   "WHERE projection = ? AND measure_id = ?"), [projection, aggregate_id])
                row = cur.fetchone()
        return Route(row[0], row[1]) if row else None

    def checkpoint_before(self, projection: str, groupement_id: str, position: int) -> tuple[int, Ledger] | None:
        """The groupement's ledger at its last checkpoint at or before `position`: that checkpoint and the deltas
        before it, back to the first or to a whole ledger (read newest first, applied oldest first)."""
        states: list[Any] = []
        at = None
        with self.transaction() as cur:
            cur.execute(self.q("SELECT position, state FROM {p}checkpoints WHERE projection = ? AND groupement_id = ?"
                               " AND position <= ? ORDER BY position DESC"), [projection, groupement_id, position])
            while rows := cur.fetchmany(50):
                for row in rows:
                    at = int(row[0]) if at is None else at
                    states.append(unpack(row[1]))
                    if DELTA not in states[-1]:
                        break
                else:
                    continue
                break
        return (at, merge_checkpoints(states[::-1])) if at is not None else None

    # As of a position (projections/as_of.py): what the log held then, from rows, without replaying measures.
    def skeleton_before(self, projection: str, groupement_id: str,
                        position: int) -> tuple[int, Ledger, dict[str, Any] | None] | None:
        """The groupement's ledger without its measures at its last checkpoint at or before `position` (that one
        checkpoint alone: each holds the whole ledger but its measures), with its plans' series if it kept them."""
        with self.transaction() as cur:
            cur.execute(self.q("SELECT position, state FROM {p}checkpoints WHERE projection = ? AND groupement_id = ?"
                               " AND position <= ? ORDER BY position DESC LIMIT 1"),
                        [projection, groupement_id, position])
            row = cur.fetchone()
        if row is None:
            return None
        state = unpack(row[1], measures=False)
        return int(row[0]), state["ledger"] if DELTA in state else skeleton(state), state.get(SERIES)

    def structure_between(self, projection: str, groupement_id: str, after: int, position: int,
                          measure_kinds: Iterable[str]) -> tuple[list[tuple[int, str | None, str]],
                                                                 tuple[int, str] | None]:
        """From the history index: the positions (with their plan and type) of the groupement's facts in
        (after, position] other than measures, and its last fact at or before `position` (position, time), if any."""
        kinds = list(measure_kinds)
        with self.transaction() as cur:
            marks = ", ".join("?" for _ in kinds)
            cur.execute(self.q("SELECT position, plan_id, type FROM {p}history WHERE projection = ? AND "
                               f"groupement_id = ? AND position > ? AND position <= ? AND type NOT IN ({marks}) "
                               "ORDER BY position"), [projection, groupement_id, after, position, *kinds])
            structure = [(int(row[0]), row[1], str(row[2])) for row in cur.fetchall()]
            cur.execute(self.q("SELECT position, timestamp FROM {p}history WHERE projection = ? AND groupement_id = ? "
                               "AND position <= ? ORDER BY position DESC LIMIT 1"),
                        [projection, groupement_id, position])
            last = cur.fetchone()
        return structure, (int(last[0]), str(last[1])) if last else None

    def periods_changed(self, projection: str, groupement_id: str, plan_id: str, after: int, position: int,
                        corrected: str) -> dict[tuple[str, str, str], int]:
        """The (indicator, period start, period end) of the plan's measures recorded or corrected (facts of kind
        `corrected`) in (after, position], each with the position of its last change by `position`."""
        found: dict[tuple[str, str, str], int] = {}

        def changed(key: tuple[str, str, str], at: int) -> None:
            if at > found.get(key, 0):
                found[key] = at

        with self.transaction() as cur:
            cur.execute(self.q("SELECT indicator_key, period_start, period_end, max(recorded_position) FROM "
                               "{p}measures WHERE projection = ? AND groupement_id = ? AND recorded_position > ? AND "
                               "recorded_position <= ? AND plan_id = ? GROUP BY indicator_key, period_start, "
                               "period_end"),
                        [projection, groupement_id, after, position, plan_id])
            for row in cur.fetchall():
                changed((row[0], row[1], row[2]), int(row[3]))
            cur.execute(self.q("SELECT aggregate_id, max(position) FROM {p}history WHERE projection = ? AND "
                               "groupement_id = ? AND position > ? AND position <= ? AND type = ? "
                               "GROUP BY aggregate_id"),
                        [projection, groupement_id, after, position, corrected])
            last = {row[0]: int(row[1]) for row in cur.fetchall()}
            ids = list(last)
            for chunk in range(0, len(ids), 500):
                part = ids[chunk:chunk + 500]
                marks = ", ".join("?" for _ in part)
                cur.execute(self.q("SELECT indicator_key, period_start, period_end, measure_id FROM {p}measures WHERE "
                                   f"projection = ? AND plan_id = ? AND measure_id IN ({marks})"),
                            [projection, plan_id, *part])
                for row in cur.fetchall():
                    changed((row[0], row[1], row[2]), last[row[3]])
        return found

    def period_measures(self, projection: str, plan_id: str, periods: Sequence[tuple[str, str, str]],
                        position: int) -> dict[tuple[str, str, str], list[tuple[int, Any]]]:
        """The measures of these (indicator, period start, period end) of a plan recorded at or before `position`,
        each period's in recording order: (the position of its last change, the measure as it is now)."""
        found: dict[tuple[str, str, str], list[tuple[int, Any]]] = {period: [] for period in periods}
        with self.transaction() as cur:
            # one indexed range per period (measures_by_period): an OR of them was planned as a scan of the plan
            rows = self.ranges(cur, "SELECT indicator_key, period_start, period_end, position, doc, recorded_position "
                               "FROM {p}measures WHERE projection = ? AND plan_id = ? AND indicator_key = ? AND "
                               "period_start = ? AND period_end = ? AND recorded_position <= ?",
                               [(projection, plan_id, key, start, end, position) for key, start, end in periods],
                               order=" ORDER BY 6")
        for key, start, end, changed, doc, _ in rows:
            found[(key, start, end)].append((int(changed), doc))
        return found

    def ranges(self, cur: Cursor, select: str, params: Sequence[Sequence[Any]], order: str = "") -> list[Any]:
        """The rows of one indexed range per item (`select` with each item's parameters), sent 100 items at a time as
        one UNION ALL (`order` sorts each hundred's rows)."""
        rows: list[Any] = []
        for chunk in range(0, len(params), 100):
            part = params[chunk:chunk + 100]
            cur.execute(self.q(" UNION ALL ".join(select for _ in part) + order), [v for item in part for v in item])
            rows.extend(cur.fetchall())
        return rows

    def first_recorded(self, projection: str, plan_id: str, indicator_key: str, members: Sequence[str | None],
                       position: int) -> dict[str | None, int]:
        """Per member (None: the groupement), the position of its first measure of the indicator by `position`."""
        named = [m for m in members if m is not None]
        found: dict[str | None, int] = {}
        with self.transaction() as cur:
            if named:
                cur.execute(self.q("SELECT member_id, min(recorded_position) FROM {p}measures WHERE projection = ? AND "
                                   "plan_id = ? AND indicator_key = ? AND recorded_position <= ? AND member_id IN "
                                   f"({', '.join('?' for _ in named)}) GROUP BY member_id"),
                            [projection, plan_id, indicator_key, position, *named])
                found.update((row[0], int(row[1])) for row in cur.fetchall())
            if None in members:
                cur.execute(self.q("SELECT min(recorded_position) FROM {p}measures WHERE projection = ? AND "
                                   "plan_id = ? AND indicator_key = ? AND recorded_position <= ? AND "
                                   "member_id IS NULL"),
                            [projection, plan_id, indicator_key, position])
                row = cur.fetchone()
                if row and row[0] is not None:
                    found[None] = int(row[0])
        return found

    def members_measures(self, projection: str, plan_id: str, members: Sequence[str],
                         position: int) -> list[tuple[int, Any]]:
        """The plan's measures of these members and the groupement's own recorded at or before `position`, in
        recording order: (the position of its last change, the measure as it is now)."""
        with self.transaction() as cur:
            cur.execute(self.q("SELECT position, doc FROM {p}measures WHERE projection = ? AND plan_id = ? AND "
                               "recorded_position <= ? AND (member_id IS NULL" + (
                                   f" OR member_id IN ({', '.join('?' for _ in members)}))" if members else ")")
                               + " ORDER BY recorded_position"), [projection, plan_id, position, *members])
            return [(int(row[0]), row[1]) for row in cur.fetchall()]

    def measures_as_of(self, projection: str, groupement_id: str, position: int,
                       plan_id: str | None = None) -> list[tuple[str, int, Any]]:
        """The groupement's (or one plan's) measure rows recorded at or before `position`, in the order they were
        recorded: (plan, the position of its last change, the measure as the ledger holds it now)."""
        query = ("SELECT plan_id, position, doc FROM {p}measures WHERE projection = ? AND groupement_id = ? "
                 "AND recorded_position <= ?")
        params: list[Any] = [projection, groupement_id, position]
        if plan_id is not None:
            query += " AND plan_id = ?"
            params.append(plan_id)
        with self.transaction() as cur:
            cur.execute(self.q(query + " ORDER BY recorded_position"), params)
            return [(row[0], int(row[1]), row[2]) for row in cur.fetchall()]

    def period_figures(self, projection: str, plan_id: str, periods: Sequence[tuple[str, str, str]], after: int,
                       position: int) -> dict[tuple[str, str, str], tuple[int, Any]]:
        """Per (indicator, period start, period end), its last figure row in (after, position]
        (projections/period_figures.py): (its position, doc). A store made before the table has none."""
        with self.transaction() as cur:
            rows = self.ranges(cur, "SELECT * FROM (SELECT indicator_key, period_start, period_end, position, doc FROM "
                               "{p}period_figures WHERE projection = ? AND plan_id = ? AND indicator_key = ? AND "
                               "period_start = ? AND period_end = ? AND position > ? AND position <= ? "
                               "ORDER BY position DESC LIMIT 1) f",
                               [(projection, plan_id, key, start, end, after, position) for key, start, end in periods])
        return {(row[0], row[1], row[2]): (int(row[3]), row[4]) for row in rows}

    def member_summaries(self, projection: str, plan_id: str, members: Sequence[str],
                         position: int) -> dict[str, tuple[int, Any]]:
        """Per member, its last summary at or before `position` (projections/breakdowns.py): (its position, doc)."""
        with self.transaction() as cur:
            rows = self.ranges(cur, "SELECT * FROM (SELECT member_id, position, doc FROM {p}member_summaries WHERE "
                               "projection = ? AND plan_id = ? AND member_id = ? AND position <= ? "
                               "ORDER BY position DESC LIMIT 1) s",
                               [(projection, plan_id, m, position) for m in members])
        return {row[0]: (int(row[1]), row[2]) for row in rows}

    def members_measures_since(self, projection: str, plan_id: str, since: dict[str, int],
                               position: int) -> list[tuple[str, int, Any]]:
        """The plan's measures of each member recorded after its position in `since` and at or before `position`, in
        recording order: (member, the position of its last change, the measure as it is now)."""
        with self.transaction() as cur:
            rows = self.ranges(cur, "SELECT recorded_position, member_id, position, doc FROM {p}measures WHERE "
                               "projection = ? AND plan_id = ? AND member_id = ? AND recorded_position > ? AND "
                               "recorded_position <= ?",
                               [(projection, plan_id, m, since[m], position) for m in sorted(since)])
        rows.sort(key=lambda row: int(row[0]))
        return [(member, int(changed), doc) for _, member, changed, doc in rows]

    def corrected_since(self, projection: str, groupement_id: str, plan_id: str, after: int, position: int,
                        corrected: str, members: Sequence[str]) -> list[tuple[str, int, int, Any]]:
        """The plan's measures of these members corrected (facts of kind `corrected`) in (after, position]: (member,
        recorded position, the position of its last change, the measure as it is now)."""
        found: list[tuple[str, int, int, Any]] = []
        with self.transaction() as cur:
            cur.execute(self.q("SELECT DISTINCT aggregate_id FROM {p}history WHERE projection = ? AND "
                               "groupement_id = ? AND position > ? AND position <= ? AND type = ?"),
                        [projection, groupement_id, after, position, corrected])
            ids = [row[0] for row in cur.fetchall()]
            wanted = set(members)
            for chunk in range(0, len(ids), 500):
                part = ids[chunk:chunk + 500]
                cur.execute(self.q("SELECT member_id, recorded_position, position, doc FROM {p}measures WHERE "
                                   f"projection = ? AND plan_id = ? AND measure_id IN ({', '.join('?' for _ in part)})"
                                   ), [projection, plan_id, *part])
                found.extend((row[0], int(row[1]), int(row[2]), row[3]) for row in cur.fetchall()
                             if row[0] in wanted)
        return found

    def last_checkpoint(self, projection: str, groupement_id: str) -> int:
        with self.transaction() as cur:
            cur.execute(self.q("SELECT max(position) FROM {p}checkpoints WHERE projection = ? AND groupement_id = ?"),
                        [projection, groupement_id])
            row = cur.fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def history(self, projection: str, filters: dict[str, Any], after: int = 0, limit: int = 100,
                until: str | None = None, before: int | None = None,
                descending: bool = False) -> list[dict[str, Any]]:
        """The history index's rows matching `filters` between two positions (both excluded), in log order or,
        `descending`, from the newest (a page read backwards)."""
        clauses, params = self.history_clauses(projection, filters, after, until, before)
        order = "DESC" if descending else ""
        with self.transaction() as cur:
            cur.execute(self.q("SELECT position, groupement_id, plan_id, organisation_id, aggregate_id, version, "
                               f"type, timestamp FROM {{p}}history WHERE {' AND '.join(clauses)} "
                               f"ORDER BY position {order} LIMIT ?"), [*params, limit])
            names = ("position", "groupement_id", "plan_id", "organisation_id", "aggregate_id", "version", "type",
                     "timestamp")
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def history_count(self, projection: str, filters: dict[str, Any], after: int = 0, until: str | None = None,
                      before: int | None = None) -> int:
        """How many rows of the history index match `filters` between two positions (both excluded)."""
        clauses, params = self.history_clauses(projection, filters, after, until, before)
        with self.transaction() as cur:
            cur.execute(self.q(f"SELECT count(*) FROM {{p}}history WHERE {' AND '.join(clauses)}"), params)
            return int(cur.fetchone()[0])

    @staticmethod
    def history_clauses(projection: str, filters: dict[str, Any], after: int, until: str | None,
                        before: int | None) -> tuple[list[str], list[Any]]:
        clauses, params = ["projection = ?", "position > ?"], [projection, after]
        if before is not None:
            clauses.append("position < ?")
            params.append(before)
        for column in ("groupement_id", "plan_id", "organisation_id", "aggregate_id", "type"):
            if filters.get(column):
                clauses.append(f"{column} = ?")
                params.append(filters[column])
        if filters.get("since"):
            clauses.append("timestamp >= ?")
            params.append(filters["since"])
        if until:
            clauses.append("timestamp <= ?")
            params.append(until)
        return clauses, params

    def analyze(self) -> None:
        """Gives the planner statistics of tables just filled in bulk (a rebuild): without them PostgreSQL reads a
        period's measures through an index of a plan's members (as-of: 60 ms instead of 1)."""

    # A rebuild's bulk load: the store may write a generation's largest tables apart, without their indexes, and make
    # the indexes once the rows are in (PostgreSQL: a partition per generation, see stores/postgres.py).
    def begin_load(self, projection: str) -> None:
        """Before a rebuild writes its rows (`append_rows`) into a generation that has none."""

    def load_table(self, projection: str, table: str) -> str:
        """Where `append_rows` writes the rows of `table` of a generation being loaded."""
        return table

    def end_load(self, projection: str) -> None:
        """Once every row of `append_rows` is written: the tables made whole (indexed, in place) and analyzed."""
        self.analyze()

    # Writing
    def dump_json(self, value: Any) -> Any:
        return orjson.dumps(value).decode()

    def load_json(self, value: Any) -> Any:
        return orjson.loads(value) if isinstance(value, str | bytes) else value

    def check_fence(self, cur: Cursor, fence: Fence) -> None:
        """Raises LeadershipLost unless the fence's session still holds its lock (only PostgreSQL has them)."""
        raise NotImplementedError(f"{type(self).__name__} has no advisory locks to fence writers with")

    def commit_batch(self, projection: str, expected: int, new: int, batch: Batch, fence: Fence | None = None) -> bool:
        """Writes a batch and moves tracking from `expected` to `new`; raises StaleTracking if another runner
        moved it, LeadershipLost if `fence` is given and its session no longer holds the projection's lock."""
        with self.batch_transaction(small=self.small_batch(batch)) as cur:
            if fence is not None:
                self.check_fence(cur, fence)
            if expected == 0:
                cur.execute(self.q("INSERT INTO {p}tracking (projection, position) VALUES (?, 0) "
                                   "ON CONFLICT (projection) DO NOTHING"), [projection])
            cur.execute(self.q("UPDATE {p}tracking SET position = ? WHERE projection = ? AND position = ?"),
                        [new, projection, expected])
            self.sync(cur)  # the one wait before the writes: the guard's answer (the rest is sent with the commit)
            if cur.rowcount != 1:
                raise StaleTracking(projection)
            written = [(projection, g, ledger["position"], pack(skeleton(ledger)))
                       for g, ledger in batch.ledgers.items() if g not in batch.moved]
            if written or not batch.moved:
                cur.executemany(self.q(
                    "INSERT INTO {p}ledgers (projection, groupement_id, position, state) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (projection, groupement_id) DO UPDATE SET position = excluded.position, "
                    "state = excluded.state"), written)
            if batch.moved:  # the loaders take the position from the row and its time from the history (`LEDGER_ROW`)
                cur.executemany(self.q("UPDATE {p}ledgers SET position = ? WHERE projection = ? AND groupement_id = ?"),
                                [(batch.ledgers[g]["position"], projection, g) for g in batch.moved])
            measures = all_measures(batch.ledgers.values()) if batch.measures is None else batch.measures
            self._write_measures(cur, projection, measures, fresh=expected == 0 and batch.measures is None)
            # Routes of aggregates the batch met for the first time: new by construction; a measure's is its row's.
            self.bulk_insert(cur, "routes", ("projection", "aggregate_id", "groupement_id", "plan_id"),
                             routes_rows(projection, batch.routes, measures))
            for table, rows in batch.views.items():
                self._upsert_views(cur, table, batch.keys.get(table, projection), new, rows)
            self._insert_rows(cur, projection, batch.history, batch.checkpoints, batch.late)
            self._write_summaries(cur, projection, batch.summaries, fresh=expected == 0)
            self._write_figures(cur, projection, batch.figures, fresh=expected == 0)
        return True

    def _write_figures(self, cur: Cursor, projection: str, figures: list[FigureRow], fresh: bool) -> None:
        rows = [(projection, p, key, start, end, position, g, self.dump_json(doc))
                for g, p, key, start, end, position, doc in figures]
        if fresh:  # a new generation's (a rebuild's): none can exist yet
            self.bulk_insert(cur, "period_figures", ("projection", "plan_id", "indicator_key", "period_start",
                                                     "period_end", "position", "groupement_id", "doc"), rows)
        elif rows:
            cur.executemany(self.q(
                "INSERT INTO {p}period_figures (projection, plan_id, indicator_key, period_start, period_end, "
                "position, groupement_id, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (projection, plan_id, "
                "indicator_key, period_start, period_end, position) DO UPDATE SET doc = excluded.doc"), rows)

    def _write_summaries(self, cur: Cursor, projection: str, summaries: list[SummaryRow], fresh: bool) -> None:
        if fresh:  # a new generation's (a rebuild's): none can exist yet
            self.bulk_insert(cur, "member_summaries", ("projection", "plan_id", "member_id", "position",
                                                       "groupement_id", "doc"),
                             [(projection, p, m, position, g, self.dump_json(doc))
                              for g, p, m, position, doc in summaries])
        elif summaries:
            cur.executemany(self.q(
                "INSERT INTO {p}member_summaries (projection, plan_id, member_id, position, groupement_id, doc) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (projection, plan_id, member_id, position) DO UPDATE SET "
                "doc = excluded.doc"),
                [(projection, p, m, position, g, self.dump_json(doc)) for g, p, m, position, doc in summaries])

    SMALL_BATCH_ROWS = 200  # rows of a batch below which its statements are sent together (see batch_transaction)

    @classmethod
    def small_batch(cls, batch: Batch) -> bool:
        """A live batch (a few facts, a few rows): what `batch_transaction(small=True)` is for."""
        if batch.measures is None:
            return False
        if len(batch.history) + len(batch.measures) + len(batch.summaries) + len(batch.figures) + len(batch.late) \
                > cls.SMALL_BATCH_ROWS:
            return False
        return sum(len(rows) for rows in batch.views.values()) <= cls.SMALL_BATCH_ROWS

    @contextmanager
    def batch_transaction(self, small: bool = False) -> Iterator[Cursor]:
        """The transaction of a batch. `small`: a live batch, whose statements a store may send without waiting for
        each answer (PostgreSQL's pipeline: see PostgresStore); `sync` waits for the answers sent so far."""
        with self.transaction() as cur:
            yield cur

    def sync(self, cur: Cursor) -> None:
        """Waits for the answers of the statements sent so far (a pipelined transaction); else nothing to do."""

    def _upsert_views(self, cur: Cursor, table: str, key: str, position: int, rows: list[Any]) -> None:
        cur.executemany(self.q(
            f"INSERT INTO {{p}}{table} (projection, plan_id, member_id, groupement_id, position, doc) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (projection, plan_id, member_id) DO UPDATE SET "
            "groupement_id = excluded.groupement_id, position = excluded.position, doc = excluded.doc"),
            [(key, plan, member, g, position, self.dump_json(doc)) for plan, member, g, doc in rows])

    def append_rows(self, projection: str, history: list[tuple[Any, ...]], routes: list[tuple[Any, ...]],
                    measures: list[tuple[Any, ...]], checkpoints: list[tuple[str, int, bytes]],
                    summaries: list[SummaryRow] | None = None, figures: list[FigureRow] | None = None,
                    late: list[LateRow] | None = None) -> None:
        """Rows a rebuild writes as it goes, before its last batch, that cannot exist yet: history rows `(position,
        groupement, plan, organisation, aggregate, version, type, timestamp)`, routes `(aggregate, groupement, plan)`,
        measures as `measure_rows` makes them, checkpoints `(groupement, position, packed state)`, members' summaries
        `(groupement, plan, member, position, summary)` (projections/breakdowns.py), period figures
        (projections/period_figures.py), late facts `(position, time)` (projections/late_facts.py)."""
        if not (history or routes or measures or checkpoints or summaries or figures or late):
            return
        with self.transaction() as cur:
            self.unhurried_commit(cur)
            self.bulk_insert(cur, self.load_table(projection, "history"), HISTORY_COLUMNS,
                             [(projection, *row) for row in history])
            self.bulk_insert(cur, "routes", ("projection", "aggregate_id", "groupement_id", "plan_id"),
                             [(projection, *row) for row in routes])
            self.bulk_insert(cur, self.load_table(projection, "measures"), MEASURE_COLUMNS, measures)
            self.bulk_insert(cur, "checkpoints", ("projection", "groupement_id", "position", "state"),
                             [(projection, *row) for row in checkpoints])
            self._write_summaries(cur, projection, summaries or [], fresh=True)
            self._write_figures(cur, projection, figures or [], fresh=True)
            self.bulk_insert(cur, "late_facts", ("projection", "position", "timestamp"),
                             [(projection, position, at) for position, at in late or []])

    def append_views(self, projection: str, table: str, position: int,
                     rows: list[tuple[str, str, str, dict[str, Any]]]) -> None:
        """A read model's rows `(plan, member, groupement, document)` that cannot exist yet (a rebuild's)."""
        with self.transaction() as cur:
            self.unhurried_commit(cur)
            self.bulk_insert(cur, table, VIEW_COLUMNS, [(projection, plan, member, g, position, self.dump_json(doc))
                                                        for plan, member, g, doc in rows])

    def unhurried_commit(self, cur: Cursor) -> None:
        """The transaction's commit need not wait for the disk (a rebuild's rows before its last batch: a crash loses
        a generation that nothing reads yet and that the next rebuild starts again)."""

    def measure_rows(self, projection: str, measures: Iterable[MeasureRow]) -> list[tuple[Any, ...]]:
        """The rows of the `measures` table (MEASURE_COLUMNS) of measures as the ledgers hold them."""
        dump = self.dump_json
        return [(projection, m["id"], g, p, m["indicator_key"], m["member_id"], m["period_start"], m["period_end"],
                 m["positions"][0], m["positions"][-1], dump(m)) for g, p, m in measures]

    def _insert_rows(self, cur: Cursor, projection: str, history: list[dict[str, Any]],
                     checkpoints: list[tuple[str, int, bytes]], late: list[LateRow] | None = None) -> None:
        self.bulk_insert(cur, "history", HISTORY_COLUMNS,
                         [(projection, h["position"], h["groupement_id"], h["plan_id"], h["organisation_id"],
                           h["aggregate_id"], h["version"], h["type"], h["timestamp"]) for h in history])
        self.bulk_insert(cur, "late_facts", ("projection", "position", "timestamp"),
                         [(projection, position, at) for position, at in late or []])
        self.bulk_insert(cur, "checkpoints", ("projection", "groupement_id", "position", "state"),
                         [(projection, g, position, state) for g, position, state in checkpoints])

    def bulk_insert(self, cur: Cursor, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        """Inserts rows that cannot exist yet (PostgreSQL does it with COPY)."""
        if rows:
            marks = ", ".join("?" for _ in columns)
            cur.executemany(self.q(f"INSERT INTO {{p}}{table} ({', '.join(columns)}) VALUES ({marks})"), rows)


class StaleTracking(Exception):
    """Another runner advanced this projection meanwhile: the batch was not written."""


class LeadershipLost(Exception):
    """The worker's lock session ended (or its lock was released): it must stop writing at once."""
