"""Tamper evidence on PostgreSQL against someone who holds the database credentials (docs/audit.md).

The tamper matrix: each case changes the store with SQL only (as the database role can), then
`progres audit verify` must exit 1 naming the first bad position and the kind; the untouched store exits 0.
The attacker never has the application key (it lives in the data directory, outside the database).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from psycopg import sql

from progres.domain.values import siret_with_key
from progres.services import audit
from progres.services.audit_keys import generate
from progres.services.bootstrap import bootstrap, postgres_connect
from progres.services.demo import run_seed_scenario

pytestmark = pytest.mark.postgres


@pytest.fixture
def store(pg_settings, tmp_path):
    """The seed scenario on PostgreSQL; keys and witness directory in a data directory of its own."""
    settings = pg_settings.model_copy(update={"data_dir": tmp_path / "data"})
    app = bootstrap(settings)
    scenario = run_seed_scenario(app)
    settings.__dict__["_head"] = app.max_notification_id()
    settings.__dict__["_plan"] = scenario.plan
    app.close()
    return settings


def cli(settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PROGRES_STORE": "postgres", "PROGRES_POSTGRES_SCHEMA": settings.postgres_schema,
           "PROGRES_DATA_DIR": str(settings.data_dir), "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "progres.services.cli", "audit", *args], env=env,
                          capture_output=True, text=True, timeout=180, check=False)


def run_sql(settings, statement: str, *params, triggers: bool = False) -> None:
    schema = settings.postgres_schema
    names = {"events": sql.Identifier(schema, "progres_events"), "chain": sql.Identifier(schema, "progres_chain"),
             "snapshots": sql.Identifier(schema, "progres_snapshots")}
    with postgres_connect(settings, autocommit=True) as connection:
        if not triggers:
            connection.execute(sql.SQL("ALTER TABLE {} DISABLE TRIGGER USER").format(names["events"]))
        connection.execute(sql.SQL(statement).format(**names), params)
        if not triggers:
            connection.execute(sql.SQL("ALTER TABLE {} ENABLE TRIGGER USER").format(names["events"]))


def fetch(settings, statement: str, *params):
    schema = settings.postgres_schema
    with postgres_connect(settings) as connection:
        return connection.execute(sql.SQL(statement).format(
            events=sql.Identifier(schema, "progres_events"), snapshots=sql.Identifier(schema, "progres_snapshots")),
            params).fetchall()


def position_of(settings, topic_suffix: str) -> int:
    return fetch(settings, "SELECT min(notification_id) FROM {events} WHERE topic LIKE %s", f"%{topic_suffix}")[0][0]


def signed(settings, tmp_path: Path, name: str) -> Path:
    result = cli(settings, "checkpoint", "--output", str(tmp_path / name))
    assert result.returncode == 0, result.stderr
    return tmp_path / name


def assert_found(result: subprocess.CompletedProcess[str], position: int, kind: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"position {position} : {kind} (" in result.stderr, result.stderr


def test_an_untouched_store_verifies_against_its_heads(store, tmp_path):
    first = signed(store, tmp_path, "h1.json")
    result = cli(store, "verify", "--head", str(first))
    assert result.returncode == 0, result.stderr
    assert f"intègre : {store.__dict__['_head']} événements vérifiés" in result.stdout
    assert "2 tête(s) signée(s) vérifiée(s)" in result.stdout  # the --head file and the witness directory's copy
    assert json.loads(first.read_text())["size"] == store.__dict__["_head"]


def test_a_byte_of_an_event_changed(store):
    p = position_of(store, "Marche.Notified")
    run_sql(store, "UPDATE {events} SET state = overlay(state placing '7'::bytea from 20) WHERE notification_id = %s",
            p)
    assert_found(cli(store, "verify"), p, "altered")


def test_a_topic_changed(store):
    p = position_of(store, "Marche.Notified")
    run_sql(store, "UPDATE {events} SET topic = topic || 'x' WHERE notification_id = %s", p)
    assert_found(cli(store, "verify"), p, "altered")


def test_a_version_changed(store):
    run_sql(store, "UPDATE {events} SET originator_version = originator_version + 1000 WHERE notification_id = 77")
    assert_found(cli(store, "verify"), 77, "altered")


def test_a_middle_event_deleted(store):
    run_sql(store, "DELETE FROM {events} WHERE notification_id = 120")
    assert_found(cli(store, "verify"), 120, "deleted")


def test_a_middle_event_deleted_with_its_link(store):
    run_sql(store, "DELETE FROM {events} WHERE notification_id = 120")
    run_sql(store, "DELETE FROM {chain} WHERE notification_id = 120")
    assert_found(cli(store, "verify"), 120, "deleted")


@pytest.mark.parametrize("triggers", [True, False], ids=["trigger-on", "trigger-off-with-forged-link"])
def test_a_forged_event_inserted(store, triggers):
    head = store.__dict__["_head"]
    run_sql(store, "INSERT INTO {events} (originator_id, originator_version, topic, state) SELECT originator_id, "
                   "originator_version + 1000, topic, state FROM {events} WHERE notification_id = 50",
            triggers=triggers)
    forged = fetch(store, "SELECT max(notification_id) FROM {events}")[0][0]
    assert forged > head
    if not triggers:  # the attacker also writes a link, with every field but the key right
        run_sql(store, "INSERT INTO {chain} SELECT %s, notification_id, key_id, leaf, sha256(link) FROM {chain} "
                       "WHERE notification_id = %s", forged, head)
    assert_found(cli(store, "verify"), forged, "inserted")


def test_two_positions_swapped(store):
    run_sql(store, "UPDATE {events} SET notification_id = -notification_id WHERE notification_id IN (70, 90)")
    run_sql(store, "UPDATE {events} SET notification_id = CASE notification_id WHEN -70 THEN 90 ELSE 70 END "
                   "WHERE notification_id IN (-70, -90)")
    assert_found(cli(store, "verify"), 70, "reordered")


def test_an_event_altered_and_every_later_unkeyed_hash_recomputed(store):
    p = position_of(store, "Marche.Notified")
    run_sql(store, "UPDATE {events} SET state = convert_to(replace(convert_from(state, 'UTF8'), '480000.00', "
                   "'580000.00'), 'UTF8') WHERE notification_id = %s", p)
    # Leaves are plain SHA-256: the attacker recomputes every one from the event on (the links need the key).
    run_sql(store, "UPDATE {chain} c SET leaf = sha256('\\x00'::bytea || " + audit_canonical("e") + ") FROM "
                   "{events} e WHERE e.notification_id = c.notification_id AND c.notification_id >= %s", p)
    assert_found(cli(store, "verify"), p, "altered")


def audit_canonical(alias: str) -> str:
    from progres.services.audit_chain import CANONICAL_SQL  # noqa: PLC0415

    return CANONICAL_SQL.replace("(notification_id", f"({alias}.notification_id")


def test_the_tail_deleted_with_its_links(store, tmp_path):
    signed(store, tmp_path, "head.json")  # the witness directory keeps it
    head = store.__dict__["_head"]
    run_sql(store, "DELETE FROM {events} WHERE notification_id > %s", head - 10)
    run_sql(store, "DELETE FROM {chain} WHERE notification_id > %s", head - 10)
    assert_found(cli(store, "verify"), head - 9, "truncated")


def test_truncate(store, tmp_path):
    signed(store, tmp_path, "head.json")
    run_sql(store, "TRUNCATE {events}, {chain}, {snapshots}")
    assert_found(cli(store, "verify"), 1, "truncated")


def test_a_snapshot_rewritten(store):
    originator, version, state = fetch(store, "SELECT originator_id, originator_version, state FROM {snapshots} "
                                              "ORDER BY originator_version DESC LIMIT 1")[0]
    p = fetch(store, "SELECT notification_id FROM {events} WHERE originator_id = %s AND originator_version = %s",
              originator, version)[0][0]
    document = json.loads(bytes(state))
    name = next(k for k, v in document["state"].items() if isinstance(v, str) and not k.startswith("_"))
    document["state"][name] += " (réécrit)"  # still a valid snapshot: the application would load and show it
    run_sql(store, "UPDATE {snapshots} SET state = %s WHERE originator_id = %s AND originator_version = %s",
            json.dumps(document).encode(), originator, version)
    assert_found(cli(store, "verify"), p, "snapshot")
    assert cli(store, "verify", "--no-snapshots").returncode == 0  # the events themselves are intact


def test_an_older_head_after_truncation_below_it(store, tmp_path):
    kept = signed(store, tmp_path, "old.json")
    shutil.rmtree(audit.witness_dir(store, audit.LogReader(store).log_name()))  # only the auditor's copy is left
    head = store.__dict__["_head"]
    run_sql(store, "DELETE FROM {events} WHERE notification_id > %s", head - 30)
    run_sql(store, "DELETE FROM {chain} WHERE notification_id > %s", head - 30)
    assert cli(store, "verify").returncode == 0  # without a head, a clean truncation cannot be seen
    assert_found(cli(store, "verify", "--head", str(kept)), head - 29, "truncated")


def test_an_old_signed_head_replayed(store, tmp_path):
    old = signed(store, tmp_path, "old.json")
    app = bootstrap(store)
    app.register_organisation(siret_with_key("2159035010001"), "Commune nouvelle", "collectivite")
    app.register_organisation(siret_with_key("2162004100001"), "Autre commune", "collectivite")
    app.close()
    new = signed(store, tmp_path, "new.json")
    head = store.__dict__["_head"]
    # The store is rolled back to the old head, and the old head is replayed as the newest the witness holds.
    run_sql(store, "DELETE FROM {events} WHERE notification_id > %s", head)
    run_sql(store, "DELETE FROM {chain} WHERE notification_id > %s", head)
    for path in audit.witness_dir(store, audit.LogReader(store).log_name()).glob("head-*.json"):
        if json.loads(path.read_text())["size"] > head:
            path.unlink()
    assert json.loads(old.read_text())["size"] == head
    assert_found(cli(store, "verify", "--head", str(new)), head + 1, "truncated")


def test_a_head_signed_by_an_unknown_key(store, tmp_path):
    genuine = json.loads(signed(store, tmp_path, "head.json").read_text())
    stranger = generate(tmp_path / "stranger-keys")
    forged = audit.SignedHead.from_json({**genuine, "size": genuine["size"] - 5, "key_id": stranger.key_id})
    forged = audit.SignedHead(**{**forged.__dict__, "signature": stranger.sign(forged.message())})
    (tmp_path / "forged.json").write_text(json.dumps(forged.to_json()))
    assert_found(cli(store, "verify", "--head", str(tmp_path / "forged.json")), genuine["last_position"], "head")
    assert "clé inconnue" in cli(store, "verify", "--head", str(tmp_path / "forged.json")).stderr


def test_a_checkpoint_refuses_to_sign_a_tampered_log(store, tmp_path):
    run_sql(store, "DELETE FROM {events} WHERE notification_id = 120")
    result = cli(store, "checkpoint")
    assert result.returncode == 1
    assert "position 120 : deleted" in result.stderr
    assert audit.witnessed_heads(store) == []


def test_bad_arguments_exit_2_in_french(store, tmp_path):
    (tmp_path / "junk.json").write_text("{not json")
    result = cli(store, "verify", "--head", str(tmp_path / "junk.json"))
    assert result.returncode == 2
    assert "n'est pas une tête signée lisible" in result.stderr
