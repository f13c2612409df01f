"""Eight writers on the same plan, on PostgreSQL: nothing lost, nothing doubled, conflicts retried."""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from psycopg import sql

from progres.domain.errors import ConcurrencyConflict, MeasureAlreadyRecorded, PlanClosed
from progres.domain.values import Period, siret_with_key
from progres.services.bootstrap import bootstrap, postgres_connect
from tests.conftest import ADHESION, CONVENTION

THREADS = 8
MEASURES_PER_THREAD = 200
INDICATORS = [f"monthly_{i}" for i in range(5)]
MONTHS = [Period.month(2022 + m // 12, m % 12 + 1) for m in range(48)]


def build(app):
    org = lambda prefix, name, kind: app.register_organisation(siret_with_key(prefix), name, kind).id  # noqa: E731
    region = org("2000537670001", "Région", "collectivite")
    titulaire = org("4190012340001", "Laiterie", "supplier")
    lycees = [org(f"19620012{i:02d}001", f"Lycée {i}", "eple") for i in range(THREADS)]
    groupement = app.constitute_groupement("GC-CONC", "G", "Achats", True, region, "2021-06-01", CONVENTION).id
    for lycee in lycees:
        app.admit_member(groupement, lycee, "2021-09-01", ADHESION, "2021-07-01")
    marche = app.notify_marche(groupement, "M-CONC", "BOF", "15500000-3", "fournitures", [titulaire], "100000",
                               48, "2022-01-01").id
    plan = app.draw_up_plan(marche, "Plan").id
    app.add_axis(plan, "axe", "Axe")
    app.add_objective(plan, "obj", "axe", "Objectif", "resultats")
    for key in INDICATORS:
        app.define_indicator(plan, {"key": key, "objective_key": "obj", "name": key, "kind": "quantitative",
                                    "unit": "kg", "baseline": 10, "target": 5, "direction": "decrease",
                                    "periodicity": "monthly", "scope": "member", "aggregation": "sum"})
    return region, lycees, plan


@pytest.mark.postgres
def test_eight_threads_writing_on_one_plan_lose_nothing_and_double_nothing(pg_settings):
    app = bootstrap(pg_settings)
    region, lycees, plan = build(app)
    head_before = app.max_notification_id()
    keys = [(indicator, month) for month in MONTHS for indicator in INDICATORS]  # 240 per member
    contested = [(lycees[0], *key) for key in keys[-20:]]  # every thread tries these same 20
    lock = threading.Lock()
    accepted: list[tuple[str, int]] = []
    refused_duplicates: Counter[tuple] = Counter()
    conflicts_reported = 0

    def record(member, indicator, period):
        return app.record_measure(plan, indicator, member, period.start, period.end, "relevé", region,
                                  date(2026, 1, 1), value=1)

    def writer(thread: int) -> None:
        nonlocal conflicts_reported
        member = lycees[thread]
        for index, (indicator, period) in enumerate(keys[:MEASURES_PER_THREAD]):
            results = [("measure", record(member, indicator, period))]
            if index % 10 == 0:
                results.append(("proposal", app.submit_proposal(
                    plan, member, "axe", "innovation", f"Idée {thread}-{index}", "C", "I", "2022-05-01")))
                try:
                    results.append(("volume", app.declare_purchase_volume(plan, member, 1000 + index)))
                except ConcurrencyConflict:
                    with lock:
                        conflicts_reported += 1
            if index % 10 == 5:
                _, contested_indicator, contested_period = contested[index // 10]
                try:
                    results.append(("contested", record(lycees[0], contested_indicator, contested_period)))
                except MeasureAlreadyRecorded:
                    with lock:
                        refused_duplicates[(contested_indicator, contested_period)] += 1
            with lock:
                accepted.extend((kind, result.position) for kind, result in results)

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(writer, range(THREADS)))
    app.close()

    kinds = Counter(kind for kind, _ in accepted)
    print(f"accepted {dict(kinds)}; conflicts retried {app.conflicts_retried}; gave up {conflicts_reported}")
    assert kinds["measure"] == THREADS * MEASURES_PER_THREAD
    assert kinds["proposal"] == THREADS * MEASURES_PER_THREAD // 10
    assert kinds["contested"] == len(contested), "each contested measure is accepted exactly once"
    assert all(count == THREADS - 1 for count in refused_duplicates.values())
    assert kinds["volume"] + conflicts_reported == THREADS * MEASURES_PER_THREAD // 10
    assert app.conflicts_retried > 0, "eight writers on one plan must have met conflicts and retried them"
    positions = [position for _, position in accepted]
    assert len(set(positions)) == len(positions), "two accepted commands never share a log position"

    table = sql.Identifier(pg_settings.postgres_schema, "progres_events")
    with postgres_connect(pg_settings) as connection:
        ids = [row[0] for row in connection.execute(
            sql.SQL("SELECT notification_id FROM {} WHERE notification_id > %s ORDER BY notification_id")
            .format(table), [head_before])]
        per_topic = dict(connection.execute(
            sql.SQL("SELECT split_part(topic, ':', 2), count(*) FROM {} WHERE notification_id > %s GROUP BY 1")
            .format(table), [head_before]).fetchall())
        gaps = connection.execute(sql.SQL(
            "SELECT count(*) FROM (SELECT originator_id, max(originator_version) AS v, count(*) AS n FROM {} "
            "GROUP BY originator_id) AS per_aggregate WHERE v <> n").format(table)).fetchone()[0]
    assert ids == sorted(set(ids)), "notification ids are strictly increasing, without duplicates"
    assert per_topic["Measure.Recorded"] == kinds["measure"] + kinds["contested"]
    assert per_topic["Proposal.Submitted"] == kinds["proposal"]
    assert per_topic["ProgressPlan.PurchaseVolumeDeclared"] == kinds["volume"]
    assert gaps == 0, "every aggregate's versions run 1..n with no hole and no repeat"


def _measures_stored(settings) -> list[tuple]:
    table = sql.Identifier(settings.postgres_schema, "progres_events")
    with postgres_connect(settings) as connection:
        return connection.execute(sql.SQL(
            "SELECT originator_id, count(*) FROM {} WHERE topic LIKE %s GROUP BY originator_id").format(table),
            ["%Measure.Recorded"]).fetchall()


@pytest.mark.postgres
def test_two_applications_with_their_own_caches_on_one_plan_lose_nothing_and_double_nothing(pg_settings):
    """Two applications (as two server processes: each its own pool and cache of plan, groupement and marché)
    record on the same plan while both move the plan on (purchase volumes): every cell is stored exactly once,
    each contested cell accepted once and refused to every other writer, and the caches were refreshed."""
    first, second = bootstrap(pg_settings), bootstrap(pg_settings)
    region, lycees, plan = build(first)
    keys = [(indicator, month) for month in MONTHS for indicator in INDICATORS][:60]
    contested = [(indicator, month) for month in MONTHS[-2:] for indicator in INDICATORS]  # 10 cells for everyone
    lock = threading.Lock()
    accepted: Counter[str] = Counter()
    refused: Counter[tuple] = Counter()

    def writer(thread: int) -> None:
        app = (first, second)[thread % 2]
        member = lycees[thread]
        for index, (indicator, period) in enumerate(keys):
            app.record_measure(plan, indicator, member, period.start, period.end, "relevé", region,
                               date(2026, 1, 1), value=1)
            with lock:
                accepted["own"] += 1
            if index % 6 == 0:
                with contextlib.suppress(ConcurrencyConflict):  # (eight writers on the plan: it may give up)
                    app.declare_purchase_volume(plan, member, 1000 + index)  # the plan moves on: caches are stale
                contested_indicator, contested_period = contested[index // 6]
                try:
                    app.record_measure(plan, contested_indicator, lycees[0], contested_period.start,
                                       contested_period.end, "relevé", region, date(2026, 1, 1), value=2)
                    with lock:
                        accepted["contested"] += 1
                except MeasureAlreadyRecorded:
                    with lock:
                        refused[(contested_indicator, contested_period)] += 1

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(writer, range(THREADS)))
    stale = first.stale_contexts + second.stale_contexts
    first.close()
    second.close()

    assert accepted["own"] == THREADS * len(keys)
    assert accepted["contested"] == len(contested), "each contested measure is accepted exactly once"
    assert len(refused) == len(contested)
    assert all(count == THREADS - 1 for count in refused.values())
    stored = _measures_stored(pg_settings)
    assert len(stored) == THREADS * len(keys) + len(contested), "no measure lost"
    assert all(count == 1 for _, count in stored), "no measure recorded twice"
    assert stale > 0, "each application saw the plan moved on by the other and read it again"


def test_a_cached_plan_groupement_and_marche_are_checked_against_the_store_before_deciding(store_settings):
    """What another application (another server process) changed is seen by the next command of this one,
    whose cache still holds the older copies: an indicator defined there is accepted here, a duplicate recorded
    there is refused here, a plan closed there refuses here, with nothing written. (PostgreSQL: the guarded
    save; SQLite: the query before the save.)"""
    here, there = bootstrap(store_settings), bootstrap(store_settings)
    region, lycees, plan = build(here)
    month = MONTHS[0]

    def record(app, member, indicator=INDICATORS[0], period=month):
        return app.record_measure(plan, indicator, member, period.start, period.end, "relevé", region,
                                  date(2026, 1, 1), value=1)

    record(here, lycees[0])  # plan, groupement and marché now cached here
    there.define_indicator(plan, {"key": "late", "objective_key": "obj", "name": "late", "kind": "quantitative",
                                  "unit": "kg", "baseline": 10, "target": 5, "direction": "decrease",
                                  "periodicity": "monthly", "scope": "member", "aggregation": "sum"})
    assert record(here, lycees[0], "late").position > 0, "the indicator defined by the other application is known"

    record(there, lycees[1])
    head = here.max_notification_id()
    with pytest.raises(MeasureAlreadyRecorded) as refused:
        record(here, lycees[1])
    assert refused.value.code == "measure_already_recorded"
    assert refused.value.field == "period"
    assert here.max_notification_id() == head, "nothing written"
    assert record(here, lycees[3]).position == head + 1, "the refused save took no log position"

    there.close_plan_with_bilan_final(plan, "2026-01-02", "Bilan final")
    head = here.max_notification_id()
    with pytest.raises(PlanClosed) as closed:
        record(here, lycees[2])
    assert closed.value.code == "plan_closed"
    assert here.max_notification_id() == head, "nothing written"
    assert here.stale_contexts >= 2
    here.close()
    there.close()


@pytest.mark.postgres
def test_an_import_meeting_a_recorded_measure_writes_nothing_and_takes_no_log_position(pg_settings):
    """A large import (copied, services/bulk_copy.py) and a small one (pipelined) holding one measure already
    recorded: refused, naming its row, nothing written, and the next write takes the next position (the guard is
    checked under the lock before any id is taken)."""
    app = bootstrap(pg_settings)
    region, lycees, plan = build(app)
    rows = [{"indicator_key": indicator, "member_id": lycee, "period_start": month.start, "period_end": month.end,
             "value": 3} for month in MONTHS[:15] for indicator in INDICATORS for lycee in lycees]  # 600 rows
    recorded = rows[437]
    app.record_measure(plan, recorded["indicator_key"], recorded["member_id"], recorded["period_start"],
                       recorded["period_end"], "relevé", region, date(2026, 1, 1), value=3)
    for batch, index in ((rows, 437), (rows[430:440], 7)):
        head = app.max_notification_id()
        with pytest.raises(MeasureAlreadyRecorded) as refused:
            app.import_measures(plan, batch, region, date(2026, 1, 1), "fichier")
        assert refused.value.code == "measure_already_recorded"
        assert refused.value.field == f"rows[{index}].period"
        assert app.max_notification_id() == head, "nothing written"
    result = app.import_measures(plan, rows[:437], region, date(2026, 1, 1), "fichier")
    assert result.position == head + 437, "the refused imports took no log position"
    app.close()
