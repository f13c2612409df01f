"""`progres audit adopt` on a PostgreSQL store of the former layout (docs/audit.md "Upgrading a store").

The former layout is recreated as it was: the keyed chain table replaced by the former `progres_chain`
(position, link), filled by a PL/pgSQL loop with the former trigger's expression (independent of the Python
that checks it), and the former trigger installed. The upgraded application sets it aside as
`progres_chain_unkeyed` and drops the trigger; events written after that get keyed links from a fresh
genesis, as on a real deployment.
"""

from __future__ import annotations

import json

import pytest
from psycopg import sql

from progres.domain.values import siret_with_key
from progres.services import audit
from progres.services.audit import record_message
from progres.services.audit_adopt import adoption_records
from progres.services.audit_keys import generate
from progres.services.bootstrap import bootstrap, postgres_connect
from progres.services.demo import run_seed_scenario
from tests.integration.test_audit_chain import cli, run_sql

pytestmark = pytest.mark.postgres

FORMER_TRIGGER_CHAIN = """
DO $$ DECLARE previous BYTEA := ''::bytea; r RECORD; BEGIN
FOR r IN SELECT * FROM {events} ORDER BY notification_id LOOP
  previous := sha256(previous || int8send(r.notification_id) || convert_to(r.originator_id::text, 'UTF8')
                     || int8send(r.originator_version::bigint) || convert_to(r.topic, 'UTF8') || r.state);
  INSERT INTO {chain} VALUES (r.notification_id, previous);
END LOOP; END $$
"""
FORMER_TRIGGER = """
CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ DECLARE previous BYTEA; BEGIN
SELECT link INTO previous FROM {chain} ORDER BY notification_id DESC LIMIT 1;
INSERT INTO {chain} VALUES (NEW.notification_id, sha256(coalesce(previous, ''::bytea)
  || int8send(NEW.notification_id) || convert_to(NEW.originator_id::text, 'UTF8')
  || int8send(NEW.originator_version::bigint) || convert_to(NEW.topic, 'UTF8') || NEW.state));
RETURN NULL; END $$
"""


def names(settings):
    schema = settings.postgres_schema
    return {"events": sql.Identifier(schema, "progres_events"), "chain": sql.Identifier(schema, "progres_chain"),
            "legacy": sql.Identifier(schema, "progres_chain_unkeyed"),
            "function": sql.Identifier(schema, "progres_chain_event")}


def execute(settings, statement: str, *params):
    with postgres_connect(settings, autocommit=True) as connection:
        cursor = connection.execute(sql.SQL(statement).format(**names(settings)), params)
        return cursor.fetchall() if cursor.description else None


def chain_rows(settings) -> list[tuple]:
    return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in execute(
        settings, "SELECT notification_id, previous_id, key_id, leaf, link FROM {chain} ORDER BY notification_id")]


@pytest.fixture
def former(pg_settings, tmp_path):
    """The seed scenario written as the former layout kept it: old unkeyed chain, no keyed link."""
    settings = pg_settings.model_copy(update={"data_dir": tmp_path / "data"})
    app = bootstrap(settings)
    run_seed_scenario(app)
    settings.__dict__["_head"] = app.max_notification_id()
    app.close()
    # The former layout: `progres_chain` (position, link) filled and extended by the former trigger.
    execute(settings, "DROP TABLE {chain}")
    execute(settings, "CREATE TABLE {chain} (notification_id BIGINT PRIMARY KEY, link BYTEA NOT NULL)")
    execute(settings, FORMER_TRIGGER_CHAIN)
    execute(settings, FORMER_TRIGGER)
    execute(settings, "CREATE TRIGGER progres_events_chain AFTER INSERT ON {events} FOR EACH ROW EXECUTE FUNCTION "
            "{function}()")
    return settings


def test_former_store_fails_verify_then_adopt_makes_it_verify(former):
    before = cli(former, "verify")  # the upgraded application starts first: the former chain is set aside
    assert before.returncode == 1
    assert "position 1 : inserted (" in before.stderr, before.stderr

    result = cli(former, "adopt")

    assert result.returncode == 0, result.stdout + result.stderr
    head = former.__dict__["_head"]
    assert f"adopté : {head} événement(s) (positions 1 à {head})" in result.stdout
    assert len(chain_rows(former)) == head
    records = adoption_records(former)
    assert len(records) == 1
    legacy_head = execute(former, "SELECT notification_id, link FROM {legacy} ORDER BY notification_id DESC LIMIT 1")
    assert records[0]["old_chain"]["head_position"] == legacy_head[0][0] == head
    assert records[0]["old_chain"]["head_link"] == bytes(legacy_head[0][1]).hex()
    assert records[0]["last_position"] == head
    assert records[0]["signature"]
    after = cli(former, "verify")
    assert after.returncode == 0, after.stderr
    assert f"intègre : {head} événements vérifiés" in after.stdout


def test_events_written_after_the_upgrade_are_relinked_after_the_adopted_ones(former):
    app = bootstrap(former)  # the keyed recorder, after the upgrade: its first link starts from genesis
    app.register_organisation(siret_with_key("2159035010001"), "Commune nouvelle", "collectivite")
    app.register_organisation(siret_with_key("2162004100001"), "Autre commune", "collectivite")
    total = app.max_notification_id()
    app.close()
    first_keyed = execute(former, "SELECT min(notification_id), count(*) FROM {chain}")[0]
    assert first_keyed == (former.__dict__["_head"] + 1, total - former.__dict__["_head"])

    result = cli(former, "adopt")

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{total - former.__dict__['_head']} événement(s) postérieur(s) rechaîné(s)" in result.stdout
    after = cli(former, "verify")
    assert after.returncode == 0, after.stderr
    assert f"intègre : {total} événements vérifiés" in after.stdout


def test_tampered_old_chain_refused_naming_the_position_and_nothing_written(former):
    position = former.__dict__["_head"] // 2
    run_sql(former, "UPDATE {events} SET state = state || ' '::bytea WHERE notification_id = %s", position)

    result = cli(former, "adopt")

    assert result.returncode == 1, result.stdout + result.stderr
    assert f"adoption refusée : position {position} : l'événement ne donne plus le maillon de l'ancienne chaîne" \
        in result.stderr, result.stderr
    assert f"ancienne chaîne intègre jusqu'à la position {position - 1}" in result.stderr
    assert "rien n'a été écrit" in result.stderr
    assert chain_rows(former) == []
    assert adoption_records(former) == []


def test_event_missing_from_old_chain_refused(former):
    """An event inserted with SQL while the old chain existed, but not by the trigger: no old link."""
    position = 3
    execute(former, "DELETE FROM {chain} WHERE notification_id = %s", position)

    result = cli(former, "adopt")

    assert result.returncode == 1
    assert f"adoption refusée : position {position} : un événement absent de l'ancienne chaîne" in result.stderr
    assert chain_rows(former) == []
    assert adoption_records(former) == []


def test_adopt_twice_writes_nothing_the_second_time(former):
    assert cli(former, "adopt").returncode == 0
    rows, records = chain_rows(former), adoption_records(former)

    second = cli(former, "adopt")

    assert second.returncode == 0, second.stderr
    assert "rien à adopter" in second.stdout
    assert chain_rows(former) == rows
    assert adoption_records(former) == records
    assert json.dumps(records)  # the record is plain JSON an auditor can read


def adoption_file(settings):
    return next(audit.witness_dir(settings, audit.LogReader(settings).log_name()).glob("adoption-*.json"))


def test_verify_checks_the_adoption_record_signature(former):
    assert cli(former, "adopt").returncode == 0
    verified = cli(former, "verify")
    assert verified.returncode == 0, verified.stderr
    assert "1 enregistrement(s) d'adoption vérifié(s)" in verified.stdout


@pytest.mark.parametrize("change", ["old_chain", "range", "unknown_key", "unreadable"])
def test_a_tampered_adoption_record_fails_verify(former, tmp_path, change):
    assert cli(former, "adopt").returncode == 0
    path = adoption_file(former)
    record = json.loads(path.read_text())
    first = record["first_position"]
    if change == "old_chain":  # the record now vouches for another old history
        record["old_chain"]["head_link"] = "00" * 32
    elif change == "range":  # ... or claims fewer adopted events
        record["adopted"] -= 1
    elif change == "unknown_key":  # re-signed, consistently, by a key the deployment does not have
        key = generate(tmp_path / "other-keys")
        record["key_id"] = key.key_id
        record["signature"] = key.sign(record_message(record)).hex()
    path.write_text("{not json" if change == "unreadable" else json.dumps(record))

    result = cli(former, "verify")

    position = 0 if change == "unreadable" else first
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"position {position} : adoption (enregistrement d'adoption refusé) — {path}" in result.stderr, \
        result.stderr
    why = {"old_chain": "sa signature ne correspond pas à son contenu",
           "range": "sa signature ne correspond pas à son contenu",
           "unknown_key": "signé par une clé inconnue", "unreadable": "il est illisible ou incomplet"}[change]
    assert why in result.stderr
    assert cli(former, "verify", "--no-witness").returncode == 0  # the events themselves are intact


def test_a_log_truncated_below_its_adoption_record_fails_verify(former):
    assert cli(former, "adopt").returncode == 0
    for head in audit.witness_dir(former, audit.LogReader(former).log_name()).glob("head-*.json"):
        head.unlink()  # no signed head left: the adoption record alone says how far the log went
    last = json.loads(adoption_file(former).read_text())["last_position"]
    run_sql(former, "DELETE FROM {events} WHERE notification_id > %s", last - 5)
    run_sql(former, "DELETE FROM {chain} WHERE notification_id > %s", last - 5)

    result = cli(former, "verify")

    assert result.returncode == 1, result.stdout + result.stderr
    assert f"position {last - 4} : truncated (" in result.stderr, result.stderr
    assert f"un enregistrement d'adoption signé couvre les positions jusqu'à {last}" in result.stderr


def test_the_auditors_copy_of_the_adoption_record_is_checked_with_adoption(former, tmp_path):
    """The witness directory lost its record (nothing there says it existed): the auditor's copy is given."""
    assert cli(former, "adopt").returncode == 0
    kept = tmp_path / "adoption.json"
    record = json.loads(adoption_file(former).read_text())
    adoption_file(former).unlink()
    kept.write_text(json.dumps(record))
    verified = cli(former, "verify", "--adoption", str(kept))
    assert verified.returncode == 0, verified.stderr
    assert "1 enregistrement(s) d'adoption vérifié(s)" in verified.stdout

    record["relinked"] += 1  # an edited copy
    kept.write_text(json.dumps(record))
    result = cli(former, "verify", "--adoption", str(kept))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"position {record['first_position']} : adoption (enregistrement d'adoption refusé) — {kept} : " \
        "sa signature ne correspond pas à son contenu" in result.stderr, result.stderr

    unreadable = cli(former, "verify", "--adoption", str(tmp_path / "missing.json"))
    assert unreadable.returncode == 2, unreadable.stdout + unreadable.stderr
    assert "--adoption" in unreadable.stderr
