"""Properties of the read models over random valid command sequences (hypothesis):

- the views built event by event, the views of a full rebuild and the views reconstructed as of now
  are equal;
- the views as of any intermediate position or time equal the reducers run over exactly the facts up
  to that point (checkpoints included: they are taken every few events here).
"""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from progres.domain.errors import DomainError
from progres.projections.as_of import AsOf
from progres.projections.ledger import Replay
from progres.projections.member_view import member_view
from progres.projections.plan_balance import plan_balance
from progres.projections.runner import ProjectionRunner, rebuild
from progres.projections.stores.sql import unpack
from progres.projections.stores.sqlite import SqliteStore
from progres.services.commands import Progres
from tests.conftest import ADHESION

SEMESTERS = [("2022-01-01", "2022-06-30"), ("2022-07-01", "2022-12-31"), ("2023-01-01", "2023-06-30"),
             ("2023-07-01", "2023-12-31")]


def perform(world, op: str, a: int, b: int, made: dict) -> None:  # noqa: PLR0912 - one branch per operation
    app, lycees = world.app, world.lycees
    start, end = SEMESTERS[a % 4]
    if op == "measure":
        member = lycees[a % 3]
        made["measures"].append(app.record_measure(world.plan, "egalim_share", member, start, end, "factures",
                                                   member, end, value=b).id)
    elif op == "correct" and made["measures"]:
        app.correct_measure(made["measures"][a % len(made["measures"])], "erreur", world.region, "2024-01-01",
                            value=b + 0.5)
    elif op == "siqo":
        app.record_measure(world.plan, "siqo", None, start, end, "revue", world.region, end,
                           assessment=f"liste à {b} références")
    elif op == "propose":
        author = [world.titulaire, *lycees][a % 4]
        made["proposals"].append(app.submit_proposal(world.plan, author, "egalim", "innovation", f"Idée {b}", "C",
                                                     "I", "2022-05-01", expected_gain=b).id)
    elif op == "decide" and made["proposals"]:
        review = app.schedule_review(world.plan, "Revue", "2022-07-05").id
        app.hold_review(review, "2022-07-05", [{"name": "Acheteur", "function": "buyer"}])
        app.decide(review, made["proposals"][a % len(made["proposals"])], ["accepted", "rejected", "postponed"][b % 3],
                   "motifs")
    elif op == "action":
        app.change_action_status(world.plan, "sourcing", ["in_progress", "done", "cancelled"][b % 3], "2022-06-01")
    elif op == "membership":
        if a % 2:
            app.admit_member(world.groupement, world.outsider, "2022-09-01", ADHESION, "2022-09-01")
        else:
            app.release_member(world.groupement, lycees[b % 3], "2023-01-01")
    elif op == "avenant":
        number = app.propose_avenant(world.marche, "R2194-1", "raison", {"amount_delta": str(b - 50)}).id
        if a % 2:
            index = int(number.rsplit("#", 1)[1])
            app.sign_avenant(world.marche, index, "2022-10-01")
            app.notify_avenant(world.marche, index, "2022-10-02")
    elif op == "volume":
        app.declare_purchase_volume(world.plan, lycees[a % 3], 1000 * (b + 1))
    elif op == "close" and b > 90:
        app.close_plan_with_bilan_final(world.plan, "2024-01-15", "Bilan")


OPERATIONS = st.lists(st.tuples(
    st.sampled_from(["measure", "measure", "correct", "siqo", "propose", "decide", "action", "membership",
                     "avenant", "volume", "close"]),
    st.integers(0, 20), st.integers(0, 100)), min_size=1, max_size=25)


def docs(store: SqliteStore, projection: str, table: str) -> list:
    return [(row[1], row[2], row[5]) for row in store.rows(table, projection)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS, cut=st.floats(0, 1))
def test_incremental_rebuilt_and_as_of_views_agree(world_factory, operations, cut):
    with tempfile.TemporaryDirectory() as directory:
        app = Progres(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
        world = world_factory(app)
        setup_head = app.max_notification_id()
        live = SqliteStore(Path(directory) / "live.sqlite3")
        runner = ProjectionRunner(app, live, batch_size=1, checkpoint_every=4)
        runner.catch_up()
        made: dict = {"measures": [], "proposals": []}
        for op, a, b in operations:
            with contextlib.suppress(DomainError):  # refused commands are real use; they write nothing
                perform(world, op, a, b, made)
            runner.catch_up()  # event by event: batches of one fact
        head = app.max_notification_id()
        assert runner.position == head

        rebuilt = SqliteStore(Path(directory) / "rebuilt.sqlite3")
        rebuild(app, rebuilt, "views_v1", batch=3, checkpoint_every=4)
        for table in ("member_views", "plan_dashboards", "plan_balances", "ledgers", "history"):
            live_rows = docs(live, runner.projection, table) if table.endswith("s") and table != "ledgers" \
                else live.rows(table, runner.projection)
            rebuilt_rows = docs(rebuilt, "views_v1", table) if table.endswith("s") and table != "ledgers" \
                else rebuilt.rows(table, "views_v1")
            if table == "ledgers":
                live_rows = [(r[1], unpack(r[3])) for r in live_rows]
                rebuilt_rows = [(r[1], unpack(r[3])) for r in rebuilt_rows]
            assert live_rows == rebuilt_rows, table

        as_of = AsOf(app, live, runner.projection)
        balance_now = live.view("plan_balances", runner.projection, world.plan)[1]
        assert as_of.plan_balance(world.plan, position=head) == balance_now
        for member in world.lycees:
            assert as_of.member_view(world.plan, member, position=head) == \
                live.view("member_views", runner.projection, world.plan, member)[1]

        facts = list(app.facts())
        position = setup_head + round(cut * (head - setup_head))
        reference = Replay().feed_all(f for f in facts if f.position <= position).ledgers[world.groupement]
        assert as_of.plan_balance(world.plan, position=position) == plan_balance(reference, world.plan)
        assert as_of.member_view(world.plan, world.lycees[0], position=position) == \
            member_view(reference, world.plan, world.lycees[0])
        timestamp = next(f.timestamp for f in facts if f.position == position)
        assert live.position_at(runner.projection, timestamp) == max(
            f.position for f in facts if f.timestamp <= timestamp)
        live.close()
        rebuilt.close()
