"""Fixtures shared by the suite: an application on SQLite and, when available, on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from progres.domain.values import siret_with_key
from progres.services.bootstrap import bootstrap, postgres_connect
from progres.services.commands import Progres
from progres.services.settings import Settings

REQUIRE_POSTGRES = os.environ.get("PROGRES_REQUIRE_POSTGRES") == "1"
# Documents by hash that constituting a groupement and admitting a member require (CCP L2113-6).
CONVENTION = {"sha256": "c" * 64, "name": "convention-constitutive.pdf", "media_type": "application/pdf"}
ADHESION = {"sha256": "d" * 64, "name": "deliberation-adhesion.pdf", "media_type": "application/pdf"}


def postgres_settings(schema: str) -> Settings:
    return Settings(store="postgres", postgres_schema=schema, postgres_pool_size=10, postgres_max_overflow=10)


def postgres_available() -> str | None:
    try:
        with postgres_connect(postgres_settings("public")) as connection:
            connection.execute("select 1")
    except psycopg.Error as error:
        return str(error).strip()
    return None


@pytest.fixture(scope="session")
def postgres_ready() -> None:
    problem = postgres_available()
    if problem is None:
        return
    message = f"PostgreSQL is not reachable ({problem}); run deploy/postgres/ensure.sh"
    if REQUIRE_POSTGRES:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def pg_settings(postgres_ready: None) -> Iterator[Settings]:
    """A PostgreSQL store in a schema of its own, dropped afterwards."""
    settings = postgres_settings(f"test_{uuid.uuid4().hex[:12]}")
    yield settings
    with postgres_connect(settings, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(settings.postgres_schema)))


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> Settings:
    return Settings(store="sqlite", data_dir=tmp_path / "data")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_settings(request: pytest.FixtureRequest) -> Settings:
    name = "sqlite_settings" if request.param == "sqlite" else "pg_settings"
    return request.getfixturevalue(name)


@pytest.fixture
def app(store_settings: Settings) -> Iterator[Progres]:
    application = bootstrap(store_settings)
    yield application
    application.close()


@pytest.fixture
def memory_app() -> Iterator[Progres]:
    """An application on the library's in-memory recorder: for unit tests of rules, no I/O."""
    application = Progres(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    yield application
    application.close()


@dataclass
class World:
    """A small groupement: a Région coordinating three lycées, a supplier, a marché and its plan."""

    app: Progres
    region: str
    lycees: list[str]
    outsider: str
    titulaire: str
    groupement: str
    marche: str
    plan: str

    def head(self) -> int:
        return self.app.max_notification_id() or 0

    def measure(self, **overrides: Any) -> Any:
        values: dict[str, Any] = {
            "plan_id": self.plan, "indicator_key": "egalim_share", "member_id": self.lycees[0],
            "period_start": "2022-01-01", "period_end": "2022-06-30", "value": "30", "source": "factures",
            "recorded_by": self.lycees[0], "declared_on": "2022-07-01",
        }
        values.update(overrides)
        return self.app.record_measure(**values)


def build_world(app: Progres) -> World:
    org = lambda prefix, name, kind: app.register_organisation(siret_with_key(prefix), name, kind).id  # noqa: E731
    region = org("2000537670001", "Région", "collectivite")
    lycees = [org(f"19620012{i}0001", f"Lycée {i}", "eple") for i in range(3)]
    outsider = org("1962009990001", "Lycée extérieur", "eple")
    titulaire = org("4190012340001", "Laiterie", "supplier")
    # Issue 14: a convention and adhesion decisions are required; the clause that ends a leaving member's part
    # at withdrawal is the behaviour these tests were written against (a member that left records no more).
    groupement = app.constitute_groupement("GC-TEST", "Groupement test", "Achats BOF", True, region,
                                           "2021-06-01", CONVENTION, withdrawal_clause="ends_at_withdrawal").id
    for lycee in lycees:
        app.admit_member(groupement, lycee, "2021-09-01", ADHESION, "2021-07-01")
    marche = app.notify_marche(groupement, "2022-BOF-T", "BOF", "15500000-3", "fournitures", [titulaire],
                               "100000", 24, "2022-01-01", has_clause_reexamen=True).id
    plan = app.draw_up_plan(marche, "Plan").id
    app.add_axis(plan, "egalim", "EGalim")
    app.add_objective(plan, "criteres", "egalim", "Critères EGalim", "resultats")
    app.define_indicator(plan, {"key": "egalim_share", "objective_key": "criteres", "name": "Part EGalim",
                                "kind": "quantitative", "unit": "%", "baseline": 20, "target": 50,
                                "direction": "increase", "periodicity": "semestrial", "scope": "member",
                                "aggregation": "mean"})
    app.define_indicator(plan, {"key": "siqo", "objective_key": "criteres", "name": "Suivi SIQO",
                                "kind": "qualitative", "periodicity": "semestrial", "scope": "groupement"})
    app.plan_action(plan, "sourcing", "egalim", "Sourcing local", "titulaire", "2022-12-31")
    return World(app, region, lycees, outsider, titulaire, groupement, marche, plan)


@pytest.fixture
def world(memory_app: Progres) -> World:
    return build_world(memory_app)


@pytest.fixture
def world_factory():
    """build_world as a fixture, for tests (e.g. hypothesis) that build a fresh world per example."""
    return build_world
