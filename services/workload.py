"""A generated "Région" workload: many lycées, monthly indicators, years of measures (benchmarks, tests)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date

from progres.domain.values import Period, siret_with_key
from progres.services.applications import CommandResult
from progres.services.commands import Progres
from progres.services.demo import document

AGGREGATIONS = ["mean", "sum", "weighted_mean"]


def build_region(app: Progres, members: int, indicators: int, months: int,
                 code: str = "GC-REGION") -> tuple[str, list[str], str]:
    """A Région coordinating `members` lycées, a marché of `months` months, a plan of `indicators` indicators,
    measures imported for every month. Returns the Région's id, the lycées' ids and the plan's id."""
    region, lycees, plan = setup_region(app, members, indicators, months, code)
    for _ in import_months(app, plan, region, lycees, indicators, months):
        pass
    return region, lycees, plan


def setup_region(app: Progres, members: int, indicators: int, months: int,
                 code: str = "GC-REGION", timings: dict[str, float] | None = None) -> tuple[str, list[str], str]:
    """The organisations, the groupement and its members, the marché, the plan and its indicators, the purchase
    volumes. `timings`, when given, receives the seconds each phase took (organisations, admissions, plan, volumes)."""
    spent = timings if timings is not None else {}
    clock = [time.perf_counter()]

    def lap(phase: str) -> None:
        now = time.perf_counter()
        spent[phase] = spent.get(phase, 0.0) + now - clock[0]
        clock[0] = now

    def org(prefix: str, name: str, kind: str) -> str:
        siret = siret_with_key(prefix)
        from progres.domain.organisations import Organisation  # noqa: PLC0415

        existing = Organisation.create_id(siret)
        if app.exists(existing):
            return str(existing)
        return str(app.register_organisation(siret, name, kind).id)

    region = org("2000537670001", "Région Hauts-de-France", "collectivite")
    titulaire = org("4190012340001", "Laiterie des Flandres", "supplier")
    groupement = str(app.constitute_groupement(code, f"Groupement {code}", "Restauration des lycées", True,
                                               region, "2021-06-01", document("convention.pdf")).id)
    lycees = []
    for index in range(members):
        lycee = org(f"1960{index:05d}0001"[:13], f"Lycée {index}", "eple")
        lap("organisations")
        app.admit_member(groupement, lycee, "2021-09-01", document(f"adhesion-{index}.pdf"), "2021-07-01")
        lycees.append(lycee)
        lap("admissions")
    marche = str(app.notify_marche(groupement, code[-16:], "Denrées", "15500000-3", "fournitures", [titulaire],
                                   "12000000", months, "2022-01-01", has_clause_reexamen=True).id)
    plan = str(app.draw_up_plan(marche, "Plan régional").id)
    app.add_axis(plan, "axe", "Axe")
    app.add_objective(plan, "obj", "axe", "Objectif", "resultats")
    for i in range(indicators):
        app.define_indicator(plan, {"key": f"ind_{i}", "objective_key": "obj", "name": f"Indicateur {i}",
                                    "kind": "quantitative", "unit": "kg", "baseline": 100, "target": 80,
                                    "direction": "decrease", "periodicity": "monthly", "scope": "member",
                                    "aggregation": AGGREGATIONS[i % 3]})
    lap("plan")
    for index, lycee in enumerate(lycees):
        app.declare_purchase_volume(plan, lycee, 50000 + 100 * index)
    lap("volumes")
    return region, lycees, plan


def import_months(app: Progres, plan: str, region: str, lycees: list[str], indicators: int,
                  months: int) -> Iterator[tuple[int, int, CommandResult]]:
    """One import a month (every lycée, every indicator): yields (month, rows, result)."""
    for month in range(months):
        period = Period.month(2022 + month // 12, month % 12 + 1)
        rows = [{"indicator_key": f"ind_{i}", "member_id": lycee, "period_start": period.start,
                 "period_end": period.end, "value": 100 - (month * 20 / months) + (n % 7)}
                for n, lycee in enumerate(lycees) for i in range(indicators)]
        yield month, len(rows), app.import_measures(plan, rows, region, date(2026, 1, 1), "fichier d'achats mensuel")
