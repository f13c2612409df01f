"""Tamper evidence on PostgreSQL: update, delete, insert and swap of event rows are each found, at the
right position, by `progres audit verify`; an untouched store verifies."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from psycopg import sql

from progres.services.audit import checkpoint, verify
from progres.services.bootstrap import bootstrap, postgres_connect
from progres.services.demo import run_seed_scenario

pytestmark = pytest.mark.postgres


@pytest.fixture
def seeded_store(pg_settings):
    app = bootstrap(pg_settings)
    run_seed_scenario(app)
    pg_settings.__dict__["_head"] = app.max_notification_id()  # the log head, for the assertions below
    app.close()
    return pg_settings


def audit_cli(settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PROGRES_STORE": "postgres", "PROGRES_POSTGRES_SCHEMA": settings.postgres_schema,
           "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "progres.services.cli", "audit", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def tamper(settings, statement: str, *params) -> None:
    table = sql.Identifier(settings.postgres_schema, "progres_events")
    with postgres_connect(settings, autocommit=True) as connection:
        # The attacker silences the triggers first, so that the chain does not record the change.
        connection.execute(sql.SQL("ALTER TABLE {} DISABLE TRIGGER USER").format(table))
        connection.execute(sql.SQL(statement).format(events=table), params)
        connection.execute(sql.SQL("ALTER TABLE {} ENABLE TRIGGER USER").format(table))


def test_an_untouched_store_verifies(seeded_store):
    result = audit_cli(seeded_store, "verify")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "intact" in result.stdout
    assert verify(seeded_store).checked == seeded_store.__dict__["_head"]


def test_an_altered_event_is_found_at_its_position(seeded_store):
    table = sql.Identifier(seeded_store.postgres_schema, "progres_events")
    with postgres_connect(seeded_store) as connection:
        notified = connection.execute(sql.SQL("SELECT notification_id FROM {} WHERE topic LIKE %s").format(table),
                                      ["%Marche.Notified"]).fetchone()[0]
    tamper(seeded_store, "UPDATE {events} SET state = convert_to(replace(convert_from(state, 'UTF8'), "
                         "'480000.00', '580000.00'), 'UTF8') WHERE notification_id = %s", notified)
    found = verify(seeded_store).finding
    assert found is not None
    assert found.position == notified
    assert found.problem.startswith("altered")
    result = audit_cli(seeded_store, "verify")
    assert result.returncode == 1
    assert f"position {notified}" in result.stdout


def test_a_deleted_event_is_found_at_its_position(seeded_store):
    tamper(seeded_store, "DELETE FROM {events} WHERE notification_id = %s", 120)
    assert str(verify(seeded_store).finding).startswith("position 120: deleted")
    assert audit_cli(seeded_store, "verify").returncode == 1


def test_an_inserted_event_is_found_at_its_position(seeded_store):
    tamper(seeded_store, "INSERT INTO {events} (originator_id, originator_version, topic, state, notification_id) "
                         "SELECT originator_id, originator_version + 1000, topic, state, 100000 FROM {events} "
                         "WHERE notification_id = %s", 50)
    assert str(verify(seeded_store).finding).startswith("position 100000: inserted")
    assert audit_cli(seeded_store, "verify").returncode == 1


def test_swapped_events_are_found_at_the_first_of_them(seeded_store):
    tamper(seeded_store, "UPDATE {events} SET notification_id = -notification_id WHERE notification_id IN (%s, %s)",
           70, 90)
    tamper(seeded_store, "UPDATE {events} SET notification_id = CASE notification_id WHEN -70 THEN 90 ELSE 70 END "
                         "WHERE notification_id IN (-70, -90)")
    found = verify(seeded_store).finding
    assert found is not None
    assert found.position == 70
    assert audit_cli(seeded_store, "verify").returncode == 1


def test_a_checkpoint_lets_verification_start_from_it_and_detects_a_rewritten_chain(seeded_store, tmp_path):
    saved = tmp_path / "checkpoint.json"
    assert audit_cli(seeded_store, "checkpoint", "--output", str(saved)).returncode == 0
    head = json.loads(saved.read_text())
    assert head["position"] == seeded_store.__dict__["_head"]
    assert head == {**checkpoint(seeded_store), "taken_at": head["taken_at"]}
    assert audit_cli(seeded_store, "verify", "--from", str(saved)).returncode == 0
    bogus = tmp_path / "bogus.json"
    bogus.write_text(json.dumps({**head, "position": 100}))
    result = audit_cli(seeded_store, "verify", "--from", str(bogus))
    assert result.returncode == 1, "a checkpoint whose link does not match the chain is refused"
