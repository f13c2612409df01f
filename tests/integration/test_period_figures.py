"""Period figures (projections/period_figures.py, issue 12 as-of balance): the versioned rows a runner writes per batch
and a rebuild at its checkpoints hold, at their position, exactly the groupement's figure of that period made from the
reducer's ledger at that position; and the balance as of random positions, which reads them, equals the balance of the
replayed ledger — on SQLite (hypothesis) and on SQLite and PostgreSQL (seeded histories, runner then rebuild)."""

from __future__ import annotations

import contextlib
import random
import zlib

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from progres.domain.errors import DomainError
from progres.projections.as_of import AsOf
from progres.projections.indicators import PlanFigures
from progres.projections.ledger import Replay
from progres.projections.period_figures import figure_state
from progres.projections.plan_balance import plan_balance
from progres.projections.runner import ProjectionRunner, rebuild
from progres.projections.stores.sql import DELTA, SERIES, pack, pack_checkpoint, unpack
from progres.services.commands import Progres
from tests.conftest import build_world
from tests.integration.test_as_of_rows import history, project_in_random_batches
from tests.integration.test_projection_properties import OPERATIONS, perform
from tests.views_stores import projected_on_sqlite, views_store

# mostly measures and corrections (a period changes many times between checkpoints), some facts that change figures
MEASURE_HEAVY = ["measure"] * 4 + ["correct"] * 5 + ["volume", "membership", "propose", "action", "siqo"]


def figure_rows(store, projection: str) -> list[tuple[str, str, str, str, int, list]]:
    with store.transaction() as cur:
        cur.execute(store.q("SELECT plan_id, indicator_key, period_start, period_end, position, doc FROM "
                            "{p}period_figures WHERE projection = ? ORDER BY position, indicator_key, period_start"),
                    [projection])
        return [(row[0], row[1], row[2], row[3], int(row[4]), store.load_json(row[5])) for row in cur.fetchall()]


def measures_in_random_batches(app, world, store, rng: random.Random) -> ProjectionRunner:
    """A seeded measure-heavy history projected as it comes, in batches of random size, checkpoints every 20."""
    runner = ProjectionRunner(app, store, batch_size=2, checkpoint_every=20)
    made: dict = {"measures": [], "proposals": []}  # (kept across rounds: corrections need measures)
    for round_ in range(7):  # the last round: measures and corrections only
        kinds = MEASURE_HEAVY if round_ < 6 else ["measure", "correct"]
        for _ in range(12):
            with contextlib.suppress(DomainError):  # refused commands are real use; they write nothing
                perform(world, rng.choice(kinds), rng.randint(0, 20), rng.randint(0, 100), made)
        runner.batch_size = rng.randint(1, 4)
        runner.catch_up()
    return runner


def check_figures(world, store, projection: str, positions: list[int]) -> tuple[int, int]:
    """Every figure row equals the figure made from the reducer's ledger at its position; the balance as of each of
    `positions` equals the replayed one's. Returns (rows, figures as-of read from rows)."""
    facts = list(world.app.facts())
    rows = figure_rows(store, projection)
    reference, done = Replay(), 0
    for plan_id, key, start, end, position, doc in rows:
        reference.feed_all(f for f in facts if done < f.position <= position)
        done = position
        ledger = reference.ledgers[world.groupement]
        figures = PlanFigures.of(ledger["plans"][plan_id], ledger)
        made = next(f for f in figures.series[key] if (f.period_start, f.period_end) == (start, end))
        # (compared as JSON: the row was stored as JSON)
        assert doc == figure_state(made), (key, start, end, position)
    as_of = AsOf(world.app, store, projection)
    reference, done = Replay(), 0
    for position in sorted(positions):
        reference.feed_all(f for f in facts if done < f.position <= position)
        done = position
        expected = reference.ledgers.get(world.groupement)
        if expected is None or world.plan not in expected["plans"]:
            continue
        balance = plan_balance(expected, world.plan)
        assert as_of.plan_balance(world.plan, position=position) == balance, position
    return len(rows), as_of.from_figure_rows


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS, batch=st.integers(1, 7), every=st.integers(1, 9), rebuilt=st.booleans(),
       seed=st.integers(0, 10_000))
def test_period_figures_equal_the_reducer_and_the_balance_from_them_the_replayed_one(operations, batch, every,
                                                                                    rebuilt, seed):
    app = Progres(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    world = build_world(app)
    history(world, operations)
    with projected_on_sqlite(app, batch, every, rebuilt) as (store, projection):
        head = world.head()
        rng = random.Random(seed)
        check_figures(world, store, projection, [rng.randint(1, head) for _ in range(6)] + [head])
    app.close()


def test_seeded_histories_on_both_stores(app, store_settings):
    """On SQLite and PostgreSQL: seeded random histories (measures, corrections, memberships, volumes, avenants),
    views projected in random batches then rebuilt; rows are written by both and read by as-of (a test that cannot
    pass without them)."""
    world = build_world(app)
    with views_store(store_settings) as store:
        rng = random.Random(29)
        runner = measures_in_random_batches(app, world, store, rng)
        head = world.head()
        positions = list(range(1, head + 1))
        written, read = check_figures(world, store, runner.projection, positions)
        assert written > 0, written
        assert read > 0, read
        rebuild(app, store, "views_rebuilt", batch=7, checkpoint_every=7)
        written, read = check_figures(world, store, "views_rebuilt", positions)
        assert written > 0, written
        assert read > 0, read


def test_a_store_without_rows_falls_back(app, store_settings):
    """A store whose generation has no period figure rows (made before the table): as-of makes the periods again
    from their measures, the same balance."""
    world = build_world(app)
    with views_store(store_settings) as store:
        rng = random.Random(31)
        runner = project_in_random_batches(app, world, store, rng, rounds=3, operations=15)
        with store.transaction() as cur:
            cur.execute(store.q("DELETE FROM {p}period_figures"))
        head = world.head()
        written, read = check_figures(world, store, runner.projection, [rng.randint(1, head) for _ in range(8)])
        assert (written, read) == (0, 0)


def test_position_at_finds_the_last_fact_recorded_by_a_time(store_settings):
    """`position_at` (one seek of the time index, then the facts after it): the last position recorded at or before a
    time, a fact appended after another recorded later included (concurrent writers), however far after it (an
    import behind a command), ties at the highest position; before the first fact, 0."""
    # positions 1..8; 5 was recorded before 4 (appended late), 6 and 7 at the same time; then a command recorded at
    # 10:00:08 appended before an import of 3,000 facts recorded at 10:00:07.5 (they waited for their turn behind it)
    times = ["2025-01-01T10:00:01", "2025-01-01T10:00:02", "2025-01-01T10:00:03", "2025-01-01T10:00:05",
             "2025-01-01T10:00:04", "2025-01-01T10:00:06", "2025-01-01T10:00:06", "2025-01-01T10:00:07",
             "2025-01-01T10:00:08", *["2025-01-01T10:00:07.500000"] * 3000, "2025-01-01T10:00:09"]
    with views_store(store_settings) as store:
        with store.transaction() as cur:
            cur.executemany(store.q("INSERT INTO {p}history (projection, position, groupement_id, plan_id, "
                                    "organisation_id, aggregate_id, version, type, timestamp) "
                                    "VALUES ('p', ?, 'g', NULL, NULL, 'a', 1, 'T', ?)"),
                            [(i + 1, t + "+00:00") for i, t in enumerate(times)])
        for at in ["2025-01-01T09:00:00", *sorted(set(times)), "2025-01-01T10:00:04.5", "2025-01-01T10:00:07.9",
                   "2025-01-02T00:00:00"]:
            moment = at + "+00:00"
            expected = max((i + 1 for i, t in enumerate(times) if t + "+00:00" <= moment), default=0)
            assert store.position_at("p", moment) == expected, at


def test_checkpoints_in_two_parts_and_those_written_before():
    """A checkpoint's measures are stored apart (as-of reads the rest without them); a checkpoint written before, in
    one part, reads as it did."""
    state = {DELTA: 1, "ledger": {"id": "g", "plans": {"p": {"measures": {}}}},
             "measures": [["p", {"id": "m", "value": "1.5", "positions": [3]}]], SERIES: {"p": {"k": []}}}
    stored = pack_checkpoint(state)
    assert unpack(stored) == state
    assert unpack(stored, measures=False) == {**state, "measures": []}
    before = zlib.compress(orjson.dumps(state), 1)
    assert unpack(before) == state
    assert unpack(pack({"id": "g", "plans": {}})) == {"id": "g", "plans": {}}  # a ledger row
