"""Late facts (projections/late_facts.py, issue 12 as-of by a time): the rows the runner writes per batch and a rebuild
over the whole log let `position_at` find the last position recorded by a time without reading the history after the
seek; for random logs with facts appended out of time order (a few, or a long run of them behind a fact recorded
later), projected by the runner in random batches or rebuilt, the position at every time equals the one computed in
the test from the times themselves. A generation written before them (no marker) is read as before, and one carried on
by this code keeps them from where it went on."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from progres.projections.facts import Fact
from progres.projections.late_facts import late_rows
from progres.projections.runner import ProjectionRunner, rebuild
from progres.projections.stores.sqlite import SqliteStore
from tests.views_stores import views_store

START = datetime(2025, 1, 1, 10, tzinfo=UTC)


@dataclass
class Timeline:
    """A log of facts no read model uses (each its own history row), recorded at the given times (seconds after
    START), in the order given: a fact source for the runner and the rebuild."""

    seconds: list[float]

    def time(self, position: int) -> str:
        return (START + timedelta(seconds=self.seconds[position - 1])).isoformat()

    def facts(self, start: int = 1, stop: int | None = None, batch: int = 1000) -> Iterator[Fact]:
        last = len(self.seconds) if stop is None else min(stop, len(self.seconds))
        for position in range(start, last + 1):
            yield Fact(position, f"receipt-{position}", 1, "Receipt.Noted", self.time(position), {})

    def max_notification_id(self) -> int | None:
        return len(self.seconds) or None

    def expected(self, moment: str) -> int:
        return max((p for p in range(1, len(self.seconds) + 1) if self.time(p) <= moment), default=0)

    def moments(self) -> list[str]:
        """Every time of the log, and a moment between each two, before the first and after the last."""
        points = sorted(set(self.seconds))
        between = [(a + b) / 2 for a, b in pairwise(points)]
        return [(START + timedelta(seconds=s)).isoformat()
                for s in [min(points, default=0) - 1, *points, *between, max(points, default=0) + 1]]


def check(store: SqliteStore, projection: str, log: Timeline) -> None:
    for moment in log.moments():
        assert store.position_at(projection, moment) == log.expected(moment), moment


# A log: runs of facts, each run in time order from some second, appended one run after the other: a run starting
# before the end of the previous one is appended late (an import behind a command recorded after it).
RUNS = st.lists(st.tuples(st.integers(0, 40), st.integers(1, 12), st.sampled_from([0.0, 0.5, 1.0])),
                min_size=1, max_size=8)


def timeline(runs: list[tuple[int, int, float]]) -> Timeline:
    return Timeline([start + i * step for start, count, step in runs for i in range(count)])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(runs=RUNS, batch=st.integers(1, 9), rebuilt=st.booleans(), chunk=st.integers(1, 9))
def test_the_position_at_every_time_equals_the_last_recorded_by_then(runs, batch, rebuilt, chunk):
    log = timeline(runs)
    with tempfile.TemporaryDirectory() as directory:
        store = SqliteStore(Path(directory) / "views.sqlite3")
        try:
            if rebuilt:
                rebuild(log, store, "views_v1", batch=chunk)
                projection = "views_v1"
            else:  # the log projected as it grows, a run at a time, in batches of up to `batch` facts
                growing = Timeline([])
                runner = ProjectionRunner(growing, store, batch_size=batch)
                for start, count, step in runs:
                    growing.seconds.extend(start + i * step for i in range(count))
                    runner.catch_up()
                projection = runner.projection
            check(store, projection, log)
            late = {p for p, at in late_of(store, projection) if at is not None}
            assert late == {p for p in range(1, len(log.seconds) + 1)
                            if any(log.time(q) > log.time(p) for q in range(1, p))}
        finally:
            store.close()


def late_of(store, projection: str) -> list[tuple[int, str | None]]:
    with store.transaction() as cur:
        cur.execute(store.q("SELECT position, timestamp FROM {p}late_facts WHERE projection = ? ORDER BY position"),
                    [projection])
        return [(int(row[0]), row[1]) for row in cur.fetchall()]


def test_late_rows():
    assert late_rows([(1, "b"), (2, "a"), (3, "b"), (4, "c"), (5, "a")], None) == ([(2, "a"), (5, "a")], "c")
    assert late_rows([(6, "a")], "b") == ([(6, "a")], "b")
    assert late_rows([], None) == ([], None)


def test_a_generation_without_them_then_carried_on(store_settings):
    """On SQLite and PostgreSQL: a generation whose late facts were not kept (written before them: no marker) is read
    from the history as before; a runner carrying it on marks where it starts keeping them, and the positions at every
    time stay exact, across the mark and after it (an import of 300 facts appended behind a later command)."""
    seconds = [1, 2, 3, 5, 4, 6, 6, 7, 9, *[8.5] * 300, 10, 11, 10.5, 12]
    log = Timeline([float(s) for s in seconds])
    with views_store(store_settings) as store:
        runner = ProjectionRunner(Timeline(log.seconds[:7]), store, batch_size=3)
        runner.catch_up()
        with store.transaction() as cur:  # as a generation written before late facts were kept
            cur.execute(store.q("DELETE FROM {p}late_facts WHERE projection = ?"), [runner.projection])
        check(store, runner.projection, Timeline(log.seconds[:7]))
        growing = Timeline(log.seconds[:7])
        runner = ProjectionRunner(growing, store, runner.projection, batch_size=50)
        for end in (9, 100, 309, len(seconds)):  # the import appended in parts
            growing.seconds = log.seconds[:end]
            runner.catch_up()
        assert late_of(store, runner.projection)[0] == (7, None)  # the marker: kept after position 7
        assert len(late_of(store, runner.projection)) == 1 + 300 + 1
        check(store, runner.projection, log)
        rebuild(log, store, "views_rebuilt", batch=40)
        assert late_of(store, "views_rebuilt")[0] == (0, None)
        check(store, "views_rebuilt", log)
