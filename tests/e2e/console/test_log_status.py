"""The log's verification status on the auditors' timeline (`logVerification`): verified up to the log's head for
the auditor and the coordonnateur; then an event rewritten in the database (as whoever holds its credentials can)
is named on the page by its position and kind. In a real Chromium against a real `progres serve` on PostgreSQL.
The tampering is this module's last test: the module's server and store are its own."""

from __future__ import annotations

import re

import pytest
from psycopg import sql

from progres.services.bootstrap import postgres_connect

from .conftest import sign_in
from .test_accessibility import violations

pytestmark = pytest.mark.postgres


def french(number: int) -> str:
    return f"{number:,}".replace(",", "\u202f")


def test_the_auditor_and_the_coordonnateur_see_the_log_verified_up_to_its_head(console, page):
    s = console.scenario
    head = console.log_head()
    sign_in(page, console, s.auditor, "auditeur")
    page.click("text=Historique (auditeurs)")
    status = page.locator("#log-status")
    assert status.get_attribute("role") == "status"
    text = status.inner_text()
    shown = french(head)
    assert re.search(rf"Journal vérifié jusqu'à la position {shown} le \d+ \w+ \d{{4}} à \d\d:\d\d UTC : "
                     rf"{shown}\u00a0événements intègres \(chaîne à clé, clé k[0-9a-f]+\)\.", text), text
    assert "Aucune tête signée pour l'instant." in text
    assert page.locator("tbody tr").count() == 50  # the timeline itself, below
    assert violations(page) == []
    page.click("text=Événements suivants")
    assert page.locator("#log-status").count() == 0  # verified once, on the first page
    page.context.clear_cookies()

    sign_in(page, console, s.region, "coordonnateur")
    page.goto(f"{console.url}/plans/{s.plan}/historique")
    assert "Journal vérifié jusqu'à la position" in page.inner_text("#log-status")
    page.context.clear_cookies()

    sign_in(page, console, s.lycees[0], "acheteur")
    refused = page.goto(f"{console.url}/plans/{s.plan}/historique")
    assert refused.status == 403
    assert page.locator("#log-status").count() == 0


def test_an_event_rewritten_in_the_database_is_named_on_the_auditors_page(console, page):
    s = console.scenario
    settings = console.settings
    events = sql.Identifier(settings.postgres_schema, "progres_events")
    with postgres_connect(settings, autocommit=True) as connection:
        position = connection.execute(sql.SQL("SELECT min(notification_id) FROM {} WHERE topic LIKE %s").format(
            events), ["%:Measure.Recorded"]).fetchone()[0]
        assert position is not None
        connection.execute(sql.SQL("ALTER TABLE {} DISABLE TRIGGER USER").format(events))
        connection.execute(sql.SQL("UPDATE {} SET state = convert_to(replace(convert_from(state, 'UTF8'), '2022', "
                                   "'2021'), 'UTF8') WHERE notification_id = %s").format(events), [position])
        connection.execute(sql.SQL("ALTER TABLE {} ENABLE TRIGGER USER").format(events))
    sign_in(page, console, s.auditor, "auditeur")
    page.goto(f"{console.url}/plans/{s.plan}/historique")
    status = page.locator("#log-status")
    assert status.get_attribute("role") == "alert"
    text = status.inner_text()
    assert f"Anomalie dans le journal à la position {french(position)} (événement modifié) : " in text, text
    assert f"la chaîne se vérifie jusqu'à la position {french(position - 1)} " in text
    assert "rien n'est garanti au-delà" in text
    assert violations(page) == []
