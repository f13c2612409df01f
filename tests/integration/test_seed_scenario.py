"""The seed's story on SQLite and on PostgreSQL: same commands, same results, events really stored."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal

import pytest
from psycopg import sql

from progres.services.bootstrap import bootstrap, postgres_connect
from progres.services.demo import run_seed_scenario, summarise


def test_the_seed_scenario_plays_to_its_bilan_final(app, store_settings):
    scenario = run_seed_scenario(app)
    summary = summarise(app, scenario)
    assert summary["members"] == 8  # the Région and seven lycées, one of which joined late and left
    assert summary["current_amount"] == Decimal("496000.00")  # 480 000 − 12 000 + 28 000
    assert summary["cumulative_change_percent"] == Decimal("3.33")
    assert [a["status"] for a in summary["avenants"]] == ["notified", "notified"]
    assert summary["axes"][-1] == "Améliorer la satisfaction des convives"
    assert sorted(summary["proposals"].values()) == ["accepted", "accepted", "rejected"]
    assert summary["plan_closed"]
    # six lycées in two semesters, seven in the two others, five member indicators; two groupement ones
    assert summary["measures"] == 6 * 5 * 2 + 7 * 5 * 2 + 2 * 4
    deliveries = next(i for i in summary["indicators"] if i["name"] == "Nombre de passages par semaine")
    assert deliveries["last"] == Decimal("0.98")

    # A new process on the same store sees the same state: the events were stored, not kept in memory.
    reopened = bootstrap(store_settings)
    try:
        assert reopened.max_notification_id() == app.max_notification_id()
        assert reopened.marche(scenario.marche).current_amount == Decimal("496000.00")
        assert reopened.plan(scenario.plan).is_closed
    finally:
        reopened.close()


@pytest.mark.postgres
def test_on_postgresql_the_events_table_holds_the_scenario(pg_settings):
    app = bootstrap(pg_settings)
    try:
        scenario = run_seed_scenario(app)
        head = app.max_notification_id()
    finally:
        app.close()
    table = sql.Identifier(pg_settings.postgres_schema, "progres_events")
    with postgres_connect(pg_settings) as connection:
        total, distinct, highest = connection.execute(
            sql.SQL("SELECT count(*), count(DISTINCT notification_id), max(notification_id) FROM {}").format(table)
        ).fetchone()
        recorded = connection.execute(
            sql.SQL("SELECT count(*) FROM {} WHERE topic LIKE %s").format(table), ["%Measure.Recorded"]
        ).fetchone()[0]
        corrected = connection.execute(
            sql.SQL("SELECT count(*) FROM {} WHERE topic LIKE %s").format(table), ["%Measure.Corrected"]
        ).fetchone()[0]
    assert total == distinct == highest == head
    assert recorded == len(scenario.measures)
    assert corrected == 1


def test_progres_demo_prints_its_summary(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "progres.services.cli", "demo", "--data-dir", str(tmp_path), "--reset"],
        capture_output=True, text=True, timeout=300, check=False, env={"COLUMNS": "160", "PATH": ""},
    )
    assert result.returncode == 0, result.stderr
    assert "Groupement de commandes BOF des lycées de Lens" in result.stdout
    assert "Passer de deux à une livraison par semaine" in result.stdout
    assert "événements en" in result.stdout
    again = subprocess.run(
        [sys.executable, "-m", "progres.services.cli", "demo", "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=300, check=False, env={"COLUMNS": "160", "PATH": ""},
    )
    assert again.returncode == 2
    assert again.stdout == ""
    assert again.stderr.startswith("store_not_empty: --data-dir: le dépôt contient déjà des événements")
