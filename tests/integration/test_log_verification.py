"""`logVerification`: the log verified as `progres audit verify` verifies it, for whoever may read the groupement's
history (its auditors and its coordonnateur), on the seed scenario in PostgreSQL; refused to a lycée (forbidden);
a tampered event named with its position and kind."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from psycopg import sql

from progres.graphql.context import ProgresContext, Services
from progres.graphql.schema import build_schema
from progres.services import audit
from progres.services.bootstrap import postgres_connect
from progres.services.demo import run_seed_scenario
from progres.services.policy import Actor

pytestmark = pytest.mark.postgres

QUERY = """
query($plan: ID, $groupement: ID) {
  logVerification(planId: $plan, groupementId: $groupement) {
    intact verifiedAt verifiedPosition checkedEvents logHeadPosition root activeKeyId headsChecked
    adoptionRecordsChecked fault { position kind detail }
    latestCheckpoint { size lastPosition root signedAt keyId }
  }
}
"""


@pytest.fixture
def seeded(pg_settings, tmp_path):
    settings = pg_settings.model_copy(update={"data_dir": tmp_path / "data",
                                              "views_schema": f"views_{uuid.uuid4().hex[:10]}"})
    services = Services.wire(settings)
    scenario = run_seed_scenario(services.app)
    services.models.fresh(None)
    yield settings, services, scenario
    services.models.close()
    services.app.close()
    with postgres_connect(settings, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(settings.views_schema)))


def ask(services: Services, settings, actor: Actor, **variables: Any):
    return asyncio.run(build_schema(settings).execute(QUERY, variables, context_value=ProgresContext(services, actor)))


def test_auditors_and_the_coordonnateur_read_the_verification_and_a_lycee_is_refused(seeded):
    settings, services, s = seeded
    head = services.app.max_notification_id()
    before = audit.checkpoint(settings)[0]
    assert before is not None
    for organisation, role in ((s.auditor, "auditeur"), (s.region, "coordonnateur")):
        answer = ask(services, settings, Actor.parse(organisation, role), plan=s.plan)
        assert answer.errors is None, answer.errors
        status = answer.data["logVerification"]
        assert status["intact"] is True
        assert status["fault"] is None
        assert status["verifiedPosition"] == head
        assert status["logHeadPosition"] == head
        assert status["checkedEvents"] == head  # one event a position, none missing
        assert status["headsChecked"] == 1
        assert status["latestCheckpoint"]["size"] == before.size
        assert status["latestCheckpoint"]["lastPosition"] == head
        assert status["latestCheckpoint"]["root"] == before.root.hex() == status["root"]
        assert status["activeKeyId"] == before.key_id == status["latestCheckpoint"]["keyId"]
    by_groupement = ask(services, settings, Actor.parse(s.auditor, "auditeur"), groupement=s.groupement)
    assert by_groupement.data["logVerification"]["intact"] is True

    for organisation, role in ((s.lycees[0], "acheteur"), (s.titulaire, "titulaire"), (s.region, "acheteur")):
        refused = ask(services, settings, Actor.parse(organisation, role), plan=s.plan)
        assert refused.data is None
        assert refused.errors[0].extensions["code"] == "forbidden"
    unknown = ask(services, settings, Actor.parse(s.auditor, "auditeur"), plan="inconnu")
    assert unknown.errors[0].extensions["code"] == "forbidden"  # as for a plan of another groupement
    neither = ask(services, settings, Actor.parse(s.auditor, "auditeur"))
    assert neither.errors[0].extensions["code"] == "invalid_input"
    assert neither.errors[0].extensions["field"] == "planId"


def test_a_tampered_event_is_named_by_its_position_and_kind(seeded):
    settings, services, s = seeded
    events = sql.Identifier(settings.postgres_schema, "progres_events")
    with postgres_connect(settings, autocommit=True) as connection:
        position = connection.execute(sql.SQL("SELECT min(notification_id) FROM {} WHERE topic LIKE %s").format(
            events), ["%:Measure.Recorded"]).fetchone()[0]
        assert position is not None
        connection.execute(sql.SQL("ALTER TABLE {} DISABLE TRIGGER USER").format(events))
        connection.execute(sql.SQL("UPDATE {} SET state = state || ' '::bytea WHERE notification_id = %s").format(
            events), [position])
        connection.execute(sql.SQL("ALTER TABLE {} ENABLE TRIGGER USER").format(events))
    answer = ask(services, settings, Actor.parse(s.auditor, "auditeur"), plan=s.plan)
    assert answer.errors is None, answer.errors
    status = answer.data["logVerification"]
    assert status["intact"] is False
    assert status["fault"]["position"] == position
    assert status["fault"]["kind"] == "altered"
    assert status["verifiedPosition"] == position - 1
    assert status["logHeadPosition"] == services.app.max_notification_id()
    assert status["latestCheckpoint"] is None


def test_a_reader_asking_during_a_verification_shares_its_result(seeded):
    """A second reader does not walk the log beside a verification in progress: it waits for it and gets its result
    (a run in progress is stood in for here, so that the overlap is certain)."""
    import threading  # noqa: PLC0415

    settings, services, _ = seeded
    log = audit.LogReader(settings).log_name()
    running = audit._RUNS[log] = audit._Run()
    answers: list[audit.LogStatus] = []
    reader = threading.Thread(target=lambda: answers.append(audit.log_status(settings, services.app)))
    reader.start()
    reader.join(0.5)
    assert reader.is_alive()  # waiting for the run in progress, not verifying
    finished = audit._verify_now(settings, services.app)
    running.status = finished
    del audit._RUNS[log]
    running.done.set()
    reader.join(10)
    assert answers == [finished]
    assert audit.log_status(settings, services.app) is not finished  # the next reader verifies anew
