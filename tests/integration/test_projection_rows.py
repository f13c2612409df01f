"""Rows, not documents (issue 12, items 3 and 5): one new measure rewrites the rows of its member, its indicator
and its plan, never the other members' views; measures are rows of their own; a checkpoint holds what changed
since the previous one; a store written before (measures inside the ledger document) is migrated on load."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from progres.projections.as_of import AsOf
from progres.projections.ledger import Replay
from progres.projections.member_view import member_view
from progres.projections.plan_balance import plan_balance
from progres.projections.runner import ProjectionRunner, rebuild
from progres.projections.stores.sql import DELTA, pack, unpack
from progres.projections.stores.sqlite import SqliteStore
from tests.conftest import ADHESION
from tests.views_stores import views_store


def positions(store: SqliteStore, table: str, projection: str) -> dict[tuple[str, str], int]:
    return {(row[1], row[2]): row[4] for row in store.rows(table, projection)}


def test_a_new_measure_rewrites_its_members_rows_only_and_the_views_equal_a_rebuild(world, tmp_path: Path):
    world.measure()
    store = SqliteStore(tmp_path / "views.sqlite3")
    runner = ProjectionRunner(world.app, store, checkpoint_every=1_000_000)
    runner.catch_up()
    before = {t: positions(store, t, runner.projection) for t in ("member_views", "balance_members",
                                                                   "plan_aggregates")}
    written = world.measure(member_id=world.lycees[1], recorded_by=world.lycees[1], value="40")
    statements = store.statements
    runner.catch_up()
    assert store.statements - statements < 40  # a handful of statements, whatever the number of members
    after = {t: positions(store, t, runner.projection) for t in before}
    moved = {t: sorted(k for k, p in rows.items() if p != before[t].get(k)) for t, rows in after.items()}
    assert moved["member_views"] == [(world.plan, world.lycees[1])]  # the other members' views are not rewritten
    assert moved["balance_members"] == [(world.plan, world.lycees[1])]
    assert moved["plan_aggregates"] == [(world.plan, ""), (world.plan, "egalim_share")]  # its indicator alone
    # Read as a server reads them, every view is the one a straightforward recomputation gives.
    ledger = Replay().feed_all(world.app.facts()).ledgers[world.groupement]
    for member in (world.region, *world.lycees):
        position, view = store.view("member_views", runner.projection, world.plan, member)
        assert view == member_view(ledger, world.plan, member)
        assert position == written.position
    assert store.view("plan_balances", runner.projection, world.plan)[1] == plan_balance(ledger, world.plan)
    # The measure is a row keyed by plan, indicator, member and period.
    rows = [r for r in store.rows("measures", runner.projection) if r[5] == world.lycees[1]]
    assert [(r[3], r[4], r[6], r[7]) for r in rows] == [(world.plan, "egalim_share", "2022-01-01", "2022-06-30")]
    store.close()


def test_checkpoints_hold_what_changed_and_as_of_merges_them(world, tmp_path: Path):
    store = SqliteStore(tmp_path / "views.sqlite3")
    runner = ProjectionRunner(world.app, store, batch_size=1, checkpoint_every=1)  # a checkpoint per fact
    first = world.measure()
    runner.catch_up()
    world.measure(member_id=world.lycees[1], recorded_by=world.lycees[1], value="40")
    world.app.correct_measure(first.id, "erreur de saisie", world.lycees[0], "2022-07-15", value="35")
    runner.catch_up()
    checkpoints = [unpack(r[3]) for r in store.rows("checkpoints", runner.projection)
                   if r[1] == world.groupement]
    assert all(DELTA in c for c in checkpoints)
    # Each holds the measures its fact changed (since the previous checkpoint), not the groupement's others.
    assert [len(c["measures"]) for c in checkpoints][-3:] == [1, 1, 1]  # recorded, recorded, corrected
    assert [m["id"] for _, m in checkpoints[-1]["measures"]] == [str(first.id)]
    facts = list(world.app.facts())
    as_of = AsOf(world.app, store, runner.projection)
    for position in range(first.position, world.head() + 1):
        reference = Replay().feed_all(f for f in facts if f.position <= position).ledgers[world.groupement]
        assert as_of.member_view(world.plan, world.lycees[0], position=position) == \
            member_view(reference, world.plan, world.lycees[0])
    store.close()


def test_a_store_written_with_measures_inside_the_ledgers_is_migrated_on_load(world, tmp_path: Path):
    world.measure()
    world.measure(member_id=world.lycees[1], recorded_by=world.lycees[1], value="40")
    store = SqliteStore(tmp_path / "views.sqlite3")
    rebuild(world.app, store, "views_v1")
    whole = Replay().feed_all(world.app.facts()).ledgers[world.groupement]
    with store.transaction() as cur:  # as the previous release stored it: the whole ledger, no measure rows
        cur.execute("UPDATE ledgers SET state = ? WHERE groupement_id = ?", [pack(whole), world.groupement])
        cur.execute("DELETE FROM measures")
    runner = ProjectionRunner(world.app, store, "views_v1")
    assert runner.state().ledgers[world.groupement] == whole
    stored = {r[1]: unpack(r[3]) for r in store.rows("ledgers", "views_v1")}[world.groupement]
    assert not any(plan["measures"] for plan in stored["plans"].values())  # the measures moved to their rows
    assert len(store.rows("measures", "views_v1")) == 2
    world.measure(member_id=world.lycees[2], recorded_by=world.lycees[2], value="45")
    runner.catch_up()
    assert ProjectionRunner(world.app, store, "views_v1").state().ledgers[world.groupement] == \
        Replay().feed_all(world.app.facts()).ledgers[world.groupement]
    store.close()


def test_a_batch_of_measures_moves_the_ledger_row_without_writing_its_state_again(store_settings, world):
    """The ledger row holds the groupement without its measures: a batch that only records or corrects measures
    moves its position and leaves its state as it was (not packed again: it grows with the members), and the
    ledgers loaded from the store (a runner starting, a server's cache) are the reducer's all the same: position
    and the last fact's time included; a batch that changes anything else writes the state."""
    with views_store(store_settings, f"views_{uuid.uuid4().hex[:10]}") as store:
        check_ledger_rows(store, world)


def check_ledger_rows(store: Any, world: Any) -> None:
    runner = ProjectionRunner(world.app, store, checkpoint_every=1_000_000)
    runner.catch_up()

    def row() -> tuple[int, bytes]:
        with store.transaction() as cur:
            cur.execute(store.q("SELECT position, state FROM {p}ledgers WHERE projection = ? AND groupement_id = ?"),
                        [runner.projection, world.groupement])
            found = cur.fetchone()
            return int(found[0]), bytes(found[1])

    position, state = row()
    first = world.measure(member_id=world.lycees[1], recorded_by=world.lycees[1], value="40")
    runner.catch_up()
    world.measure(member_id=world.lycees[0], recorded_by=world.lycees[0], value="41")
    runner.catch_up()
    world.app.correct_measure(first.id, "saisie erronée", world.lycees[1], "2022-07-02", value="42")
    runner.catch_up()
    moved, unchanged = row()
    assert unchanged == state  # the state as it was
    assert moved > position  # the position the last fact's
    facts = list(world.app.facts())
    ledger = Replay().feed_all(facts).ledgers[world.groupement]
    assert ledger["position"] == moved
    assert ledger["last_timestamp"] == facts[-1].timestamp
    assert store.load_ledgers(runner.projection)[world.groupement] == ledger
    assert store.load_ledger_states(runner.projection, [world.groupement])[world.groupement] == ledger
    restarted = ProjectionRunner(world.app, store, checkpoint_every=1_000_000)
    assert restarted.state().ledgers[world.groupement] == ledger
    # Anything else than a measure writes the state again.
    world.app.declare_purchase_volume(world.plan, world.lycees[0], "12000")
    runner.catch_up()
    position, state = row()
    ledger = Replay().feed_all(world.app.facts()).ledgers[world.groupement]
    assert position == ledger["position"]
    assert unpack(state) == {
        **ledger, "plans": {p: {**plan, "measures": {}} for p, plan in ledger["plans"].items()}}


def test_a_new_measure_writes_only_the_positions_that_changed_and_leaves_the_parties_as_they_are(world,
                                                                                                  tmp_path: Path):
    """The positions behind the balance's figures grow with the members (one per member's measure): a batch writes
    the row of a figure whose positions changed, not the others; the parties document (every member's id) is written
    by the events it is made from, not by a measure. What a reader sees is unchanged (the balance equals the
    reducer's)."""
    world.measure()
    world.measure(member_id=world.lycees[1], recorded_by=world.lycees[1], value="40")
    store = SqliteStore(tmp_path / "views.sqlite3")
    runner = ProjectionRunner(world.app, store, checkpoint_every=1_000_000)
    runner.catch_up()
    tables = ("balance_positions", "groupement_parties", "plan_balances")
    before = {t: positions(store, t, runner.projection) for t in tables}
    assert set(before["balance_positions"]) == {(world.plan, "egalim_share/first"), (world.plan, "egalim_share/last"),
                                                (world.plan, "siqo/latest")}
    # a later period: the indicator's last figure changes, its first does not
    written = world.measure(member_id=world.lycees[2], recorded_by=world.lycees[2], value="45",
                            period_start="2022-07-01", period_end="2022-12-31", declared_on="2023-01-02")
    runner.catch_up()
    after = {t: positions(store, t, runner.projection) for t in tables}
    moved = {t: sorted(k for k, p in rows.items() if p != before[t].get(k)) for t, rows in after.items()}
    assert moved == {"balance_positions": [(world.plan, "egalim_share/last")], "groupement_parties": [],
                     "plan_balances": [(world.plan, "")]}
    ledger = Replay().feed_all(world.app.facts()).ledgers[world.groupement]
    balance = store.view("plan_balances", runner.projection, world.plan)[1]
    assert balance == plan_balance(ledger, world.plan)
    indicator = balance["axes"][0]["objectives"][0]["indicators"][0]
    assert indicator["positions"] == {"first": sorted(p for m in ledger["plans"][world.plan]["measures"].values()
                                                      if m["period_end"] == "2022-06-30" for p in m["positions"]),
                                      "last": [written.position]}
    # a correction of the first period's measure: the first figure's positions change (and only they)
    first = next(m for m in ledger["plans"][world.plan]["measures"].values() if m["member_id"] == world.lycees[0])
    world.app.correct_measure(first["id"], "erreur de saisie", world.lycees[0], "2022-07-15", value="35")
    runner.catch_up()
    again = {t: positions(store, t, runner.projection) for t in tables}
    assert sorted(k for k, p in again["balance_positions"].items() if p != after["balance_positions"][k]) == [
        (world.plan, "egalim_share/first")]
    assert again["groupement_parties"] == before["groupement_parties"]
    ledger = Replay().feed_all(world.app.facts()).ledgers[world.groupement]
    assert store.view("plan_balances", runner.projection, world.plan)[1] == plan_balance(ledger, world.plan)
    # an admission (an event of the parties) writes the parties again
    world.app.admit_member(world.groupement, world.outsider, "2023-01-01", ADHESION, "2022-12-01")
    runner.catch_up()
    assert positions(store, "groupement_parties", runner.projection) != before["groupement_parties"]
    assert store.view("groupement_parties", runner.projection, world.groupement)[1]["member_ids"] == sorted(
        str(o) for o in (world.region, *world.lycees, world.outsider))
    store.close()
