"""Members' summaries (projections/breakdowns.py, issue 12 as-of balance): the versioned rows a runner writes per batch
and a rebuild at its checkpoints hold, at their position, exactly what the reducer's ledger at that position gives
(`summary_of` of the figures made from it); and the balance made from them as of random positions (the last summary
by then, the member's measures recorded and corrected since) equals the balance of the replayed ledger — whole and its
first page — on SQLite (hypothesis) and on SQLite and PostgreSQL (seeded histories)."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from progres.projections.as_of import AsOf
from progres.projections.breakdowns import summary_of
from progres.projections.indicators import PlanFigures
from progres.projections.ledger import Replay
from progres.projections.plan_balance import plan_balance
from progres.projections.runner import rebuild
from progres.services.commands import Progres
from tests.conftest import build_world
from tests.integration.test_as_of_rows import history, project_in_random_batches
from tests.integration.test_projection_properties import OPERATIONS
from tests.views_stores import projected_on_sqlite, views_store


def summary_rows(store, projection: str) -> list[tuple[str, str, int, dict]]:
    with store.transaction() as cur:
        cur.execute(store.q("SELECT plan_id, member_id, position, doc FROM {p}member_summaries WHERE projection = ? "
                            "ORDER BY position, member_id"), [projection])
        return [(row[0], row[1], int(row[2]), store.load_json(row[3])) for row in cur.fetchall()]


def check_summaries(world, store, projection: str, positions: list[int]) -> int:
    """Every summary row equals the reducer's at its position; the balance as of each of `positions` equals the
    replayed one's. Returns how many breakdowns were made from summaries."""
    facts = list(world.app.facts())
    rows = summary_rows(store, projection)
    for plan_id, member, position, doc in rows:
        reference = Replay()
        reference.feed_all(f for f in facts if f.position <= position)
        ledger = reference.ledgers[world.groupement]
        figures = PlanFigures.of(ledger["plans"][plan_id], ledger)
        # (compared as JSON: the row was stored as JSON, its period indices in order)
        assert doc == summary_of(figures.index, member), (member, position)
    as_of = AsOf(world.app, store, projection)
    reference = Replay()
    done = 0
    for position in sorted(positions):
        reference.feed_all(f for f in facts if done < f.position <= position)
        done = position
        expected = reference.ledgers.get(world.groupement)
        if expected is None or world.plan not in expected["plans"]:
            continue
        balance = plan_balance(expected, world.plan)
        assert as_of.plan_balance(world.plan, position=position) == balance, position
        shown = list(balance["members"])[:2]
        assert as_of.plan_balance(world.plan, position=position, first=2) == {
            **balance, "members": {m: balance["members"][m] for m in shown},
            "parties": {m: balance["parties"][m] for m in shown}}, position
    return as_of.from_summaries if rows else -1


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS, batch=st.integers(1, 7), every=st.integers(1, 9), rebuilt=st.booleans(),
       seed=st.integers(0, 10_000))
def test_summaries_equal_the_reducer_and_the_balance_from_them_the_replayed_one(operations, batch, every, rebuilt,
                                                                               seed):
    app = Progres(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    world = build_world(app)
    history(world, operations)
    with projected_on_sqlite(app, batch, every, rebuilt) as (store, projection):
        head = world.head()
        rng = random.Random(seed)
        check_summaries(world, store, projection, [rng.randint(1, head) for _ in range(6)] + [head])
    app.close()


def test_seeded_histories_on_both_stores(app, store_settings):
    """On SQLite and PostgreSQL: seeded random histories (measures, corrections, memberships, volumes, avenants),
    views projected in random batches then rebuilt; the summaries are used (a test that cannot pass without them)."""
    world = build_world(app)
    with views_store(store_settings) as store:
        rng = random.Random(23)
        runner = project_in_random_batches(app, world, store, rng, rounds=4, operations=15)
        head = world.head()
        positions = [rng.randint(1, head) for _ in range(10)] + [head]
        assert check_summaries(world, store, runner.projection, positions) > 0
        rebuild(app, store, "views_rebuilt", batch=7, checkpoint_every=11)
        assert check_summaries(world, store, "views_rebuilt", positions) > 0


PAGE = """query($plan: ID!, $at: String, $after: String) { planBalance(planId: $plan, asKnownAt: $at) {
  position members(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor }
    edges { node { memberId indicators { indicatorKey first last measures: measureCount status rules } } } } } }"""


def test_plan_balance_as_known_at_reads_the_page_it_shows(tmp_path):
    """GraphQL's planBalance(asKnownAt:) makes the breakdowns of the page `members` resolves only (AsOf's
    `plan_balance_pages`), page after page equal to the whole balance as of that position, in its order."""
    from progres.services.demo import run_seed_scenario  # noqa: PLC0415
    from progres.services.settings import Settings  # noqa: PLC0415
    from tests.integration.test_graphql_api import Api  # noqa: PLC0415

    api = Api(Settings(store="sqlite", data_dir=tmp_path / "data"))
    scenario = run_seed_scenario(api.app)
    api.models.fresh(None)
    head = api.app.max_notification_id()
    for at in (head // 2, head - 3, head):
        whole = api.models.as_of().plan_balance(scenario.plan, position=at)
        part, pages = api.models.as_of().plan_balance_pages(scenario.plan, at)
        assert pages.members == list(whole["members"])
        assert part == {**whole, "members": {}}  # everything but the breakdowns, the standings whole
        assert list(pages.breakdowns(pages.members[:1])) == pages.members[:1]  # only the members asked
        read, after = [], None
        while True:
            result = api.run(PAGE, {"plan": scenario.plan, "at": str(at), "after": after})
            assert result.errors is None, result.errors
            members = result.data["planBalance"]["members"]
            assert members["totalCount"] == len(whole["members"])
            read.extend(members["edges"])
            if not members["pageInfo"]["hasNextPage"]:
                break
            after = members["pageInfo"]["endCursor"]
        assert [e["node"]["memberId"] for e in read] == list(whole["members"])
        for edge in read:
            expected = whole["members"][edge["node"]["memberId"]]
            assert {i["indicatorKey"]: (i["first"], i["last"], i["measures"], i["rules"])
                    for i in edge["node"]["indicators"]} == {
                key: (s["first"], s["last"], s["measures"], s["rules"]) for key, s in expected.items()}
