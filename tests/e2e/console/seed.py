"""The console's scenario: the seed's groupement, marché and plan with its first two semesters recorded, the plan
still open (so that measures can be recorded). Used by the console's tests and by scripts/console-screenshots."""

from __future__ import annotations

from datetime import date

from progres.domain.values import siret_with_key
from progres.services.bootstrap import bootstrap
from progres.services.demo import (
    AUDITOR,
    LATE_LYCEE,
    LYCEES,
    REGION,
    TITULAIRE,
    ScenarioRunner,
    SeedScenario,
    build_groupement_and_marche,
    build_plan,
    record_semester,
)
from progres.services.settings import Settings


def seed(settings: Settings) -> tuple[SeedScenario, dict[str, str]]:
    """The seed's groupement, marché and plan, with the first two semesters recorded: the plan stays open."""
    app = bootstrap(settings)
    try:
        run = ScenarioRunner(app)
        sirets: dict[str, str] = {}

        def org(spec: tuple[str, ...], kind: str = "eple") -> str:
            siret = siret_with_key(spec[0])
            identifier = run("register_organisation", siret=siret, name=spec[1], kind=kind)
            sirets[identifier] = siret
            return identifier

        s = SeedScenario(region=org(REGION, "collectivite"), lycees=[org(spec) for spec in LYCEES[:3]],
                         late_lycee=org(LATE_LYCEE), titulaire=org(TITULAIRE, "supplier"),
                         auditor=org(AUDITOR, "audit_body"))
        build_groupement_and_marche(run, s)
        build_plan(run, s)
        record_semester(run, s, 0, s.members, date(2022, 7, 5))
        record_semester(run, s, 1, s.members, date(2023, 1, 6))
        return s, sirets
    finally:
        app.close()
