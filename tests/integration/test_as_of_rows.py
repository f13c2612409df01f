"""As of a position from rows (issue 12, as-of): the groupement's ledger as the log held it at every position —
measures recorded by then with later corrections undone, the rest from the last checkpoint and the non-measure
facts since — equals the former reconstruction (checkpoints merged, every fact replayed) and the reducer folded
over exactly the facts up to there; so do the balance and the member views made from it. Random histories with
measures, corrections, memberships, volumes and avenants (notified or not), on SQLite (hypothesis) and on
SQLite and PostgreSQL (seeded), with checkpoints every few positions and views projected in batches of any size,
also when the views lag behind the position asked (the facts after their position are replayed)."""

from __future__ import annotations

import contextlib
import random
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from progres.domain.errors import DomainError
from progres.projections.as_of import AsOf, measure_as_of
from progres.projections.ledger import Replay
from progres.projections.member_view import member_view
from progres.projections.plan_balance import plan_balance
from progres.projections.runner import ProjectionRunner, rebuild
from progres.projections.stores.sqlite import SqliteStore
from progres.services.commands import Progres
from tests.conftest import build_world
from tests.integration.test_projection_properties import OPERATIONS, perform
from tests.views_stores import views_store

KINDS = ["measure", "measure", "measure", "correct", "correct", "siqo", "membership", "avenant", "volume", "propose",
         "decide", "action"]


def history(world, operations) -> None:
    made: dict = {"measures": [], "proposals": []}
    for op, a, b in operations:
        with contextlib.suppress(DomainError):  # refused commands are real use; they write nothing
            perform(world, op, a, b, made)


def project_in_random_batches(app, world, store, rng: random.Random, rounds: int, operations: int):
    """Seeded random histories (`rounds` of `operations`), each projected as it comes in a batch of random size."""
    runner = ProjectionRunner(app, store, batch_size=3, checkpoint_every=5)
    for _ in range(rounds):
        history(world, [(rng.choice(KINDS), rng.randint(0, 20), rng.randint(0, 100)) for _ in range(operations)])
        runner.batch_size = rng.randint(1, 6)
        runner.catch_up()
    return runner


def check_every_position(world, store, projection: str, first: int = 1) -> int:
    """The rows' ledger, the former reconstruction and the reducer agree at each position; returns how many
    positions had the plan (views compared there too)."""
    facts = list(world.app.facts())
    as_of = AsOf(world.app, store, projection)
    reference = Replay()
    compared = 0
    for position in range(first, world.head() + 1):
        reference.feed_all(f for f in facts if f.position == position)
        expected = reference.ledgers.get(world.groupement)
        if expected is None:
            continue
        assert as_of.ledger(world.groupement, position) == expected, position
        assert as_of.replayed_ledger(world.groupement, position) == expected, position
        if world.plan in expected["plans"]:
            compared += 1
            balance = plan_balance(expected, world.plan)
            assert as_of.plan_balance(world.plan, position=position) == balance
            page = as_of.plan_balance(world.plan, position=position, first=2)  # the first page: its members alone
            first_two = list(balance["members"])[:2]
            assert page == {**balance, "members": {m: balance["members"][m] for m in first_two},
                            "parties": {m: balance["parties"][m] for m in first_two}}
            for member in world.lycees[:2]:
                assert as_of.member_view(world.plan, member, position=position) == \
                    member_view(expected, world.plan, member)
    assert as_of.from_series > 0 or compared == 0 or world.head() - first < 20
    return compared


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS, batch=st.integers(1, 7), every=st.integers(1, 9), lag=st.floats(0, 1),
       rebuilt=st.booleans())
def test_as_of_from_rows_equals_the_reducer_at_every_position(operations, batch, every, lag, rebuilt):
    app = Progres(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    world = build_world(app)
    history(world, operations)
    with tempfile.TemporaryDirectory() as directory:
        store = SqliteStore(Path(directory) / "views.sqlite3")
        head = world.head()
        if rebuilt:
            rebuild(app, store, "views_v1", batch=batch, checkpoint_every=every)
            projection = "views_v1"
        else:
            runner = ProjectionRunner(app, store, batch_size=batch, checkpoint_every=every)
            # The views may stop short of the head: positions after theirs are replayed from the log.
            runner.catch_up(until=head - round(lag * (head // 2)))
            projection = runner.projection
        assert check_every_position(world, store, projection) > 0
        store.close()
    app.close()


def test_on_both_stores_with_seeded_histories(app, store_settings):
    """On SQLite and PostgreSQL: three seeded random histories, views projected as they come in random batches."""
    world = build_world(app)
    with views_store(store_settings) as store:
        rng = random.Random(12)
        runner = project_in_random_batches(app, world, store, rng, rounds=3, operations=12)
        assert check_every_position(world, store, runner.projection, first=world.head() - 60) > 0


def test_a_measure_as_of_undoes_the_corrections_recorded_later():
    measure = {"id": "m", "value": "3", "assessment": None, "positions": [5, 9, 12], "corrections": [
        {"position": 9, "previous_value": "1", "previous_assessment": None},
        {"position": 12, "previous_value": "2", "previous_assessment": None}]}
    assert measure_as_of(measure, 12) is measure
    assert measure_as_of(measure, 11) == {**measure, "value": "2", "positions": [5, 9],
                                          "corrections": measure["corrections"][:1]}
    assert measure_as_of(measure, 8) == {**measure, "value": "1", "positions": [5], "corrections": []}
    assert measure["value"] == "3"  # the row's measure is left as it is
    assert len(measure["corrections"]) == 2
