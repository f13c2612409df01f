"""The console's end-to-end fixtures: a real `progres serve` on PostgreSQL holding the seed's groupement and
plan (open, two semesters measured), and a real headless Chromium (Debian's) driven by Playwright
(tests/e2e/console/chromium.py)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from psycopg import sql

from progres.services.bootstrap import bootstrap, postgres_connect
from progres.services.demo import SeedScenario
from progres.services.serving import served
from progres.services.settings import Settings
from tests.e2e.console.chromium import launched_chromium
from tests.e2e.console.seed import seed


@dataclass
class Console:
    url: str
    settings: Settings
    scenario: SeedScenario
    sirets: dict[str, str]  # organisation id → SIRET

    def log_head(self) -> int:
        app = bootstrap(self.settings)
        try:
            return app.max_notification_id() or 0
        finally:
            app.close()

    def siret(self, organisation_id: str) -> str:
        return self.sirets[organisation_id]


@pytest.fixture(scope="module")
def console(postgres_ready, tmp_path_factory) -> Iterator[Console]:
    suffix = uuid.uuid4().hex[:10]
    data_dir = tmp_path_factory.mktemp("console")
    settings = Settings(store="postgres", postgres_schema=f"console_{suffix}", views_schema=f"console_views_{suffix}",
                        data_dir=data_dir)
    scenario, sirets = seed(settings)
    env = {**os.environ, "PROGRES_STORE": "postgres", "PROGRES_POSTGRES_SCHEMA": settings.postgres_schema,
           "PROGRES_VIEWS_SCHEMA": settings.views_schema, "PROGRES_ENVIRONMENT": "development",
           "PROGRES_DATA_DIR": str(data_dir)}
    env.pop("PROGRES_OIDC_ISSUER", None)
    try:
        with served(env) as url:  # on a port within PROGRES_TEST_PORTS when set
            yield Console(url, settings, scenario, sirets)
    finally:
        with postgres_connect(settings, autocommit=True) as connection:
            for schema_name in (settings.postgres_schema, settings.views_schema):
                connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema_name)))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launched_chromium() as launched:
        yield launched


@pytest.fixture
def page(browser) -> Iterator[Any]:
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    try:
        yield context.new_page()
    finally:
        context.close()


def sign_in(page: Any, console: Console, organisation_id: str, role: str) -> None:
    """The local identity mode's sign-in page, as a person uses it: the radio button of the organisation and role."""
    page.goto(f"{console.url}/connexion")
    page.check(f"input[name=identity][value='{console.siret(organisation_id)}|{role}']")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{console.url}/")
