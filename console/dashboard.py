"""A member's dashboard from its member view (the typed `memberView`): per indicator, the SVG chart of the bilan
(services/reports/charts.py) and the data table that says the same in figures; the bilan's from the typed
`planBalance`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from progres.console.messages import message
from progres.domain import rules
from progres.services import french
from progres.services.reports.charts import Line, Trajectory, svg
from progres.services.reports.labels import status

MONTHS = {"monthly": 1, "quarterly": 3, "semestrial": 6, "annual": 12, "yearly": 12}


@dataclass
class Row:
    end: str  # the period's last day (ISO), which names the measure with the indicator
    period: str
    mine: str
    groupement: str
    target: str
    source: str


@dataclass
class Panel:
    key: str
    name: str
    unit: str
    kind: str
    target_in_force: str
    chart: str = ""
    rows: list[Row] = field(default_factory=list)
    assessments: list[tuple[str, str, str]] = field(default_factory=list)  # period, assessment, source
    assessment_ends: list[str] = field(default_factory=list)  # each assessment's period end (names its measure)


def period_start(end: str, periodicity: str) -> str:
    """The first day of a period that ends on `end` and lasts the indicator's periodicity."""
    last = date.fromisoformat(end[:10])
    months = MONTHS.get(periodicity, 6)
    first_month = last.month - months + 1
    year = last.year + (first_month - 1) // 12
    month = (first_month - 1) % 12 + 1
    return date(year, month, 1).isoformat() if (last + timedelta(days=1)).day == 1 else end


def target_at(indicator: dict[str, Any], day: str) -> Decimal | None:
    steps = [(str(s["from"]), Decimal(str(s["target"]))) for s in indicator.get("trajectory") or []]
    final = indicator.get("target")
    return rules.target_in_force(steps, Decimal(str(final)) if final is not None else None, day)


def member_document(view: dict[str, Any]) -> dict[str, Any]:
    """The typed `memberView` (its connections read as lists) in the rows `panels` reads: per indicator its target in
    force, its trajectory, the member's observations and the groupement's figures."""
    return {"indicators": [{
        "key": i["key"], "name": i["name"], "kind": i["kind"], "unit": i.get("unit"), "target": i.get("target"),
        "target_in_force": i.get("targetInForce"), "trajectory": i.get("trajectory") or [],
        "observations": [{"period_start": o["periodStart"], "period_end": o["periodEnd"], "value": o.get("value"),
                          "assessment": o.get("assessment"), "source": o.get("source")}
                         for o in i.get("observations") or []],
        "groupement": [{"period_end": g["periodEnd"], "value": g.get("value"), "members": g.get("members")}
                       for g in i.get("groupement") or []],
    } for i in view.get("indicators") or []]}


def panels(document: dict[str, Any], member_name: str, periodicities: dict[str, str]) -> list[Panel]:
    shown: list[Panel] = []
    for number, indicator in enumerate(document.get("indicators", []), start=1):
        unit = indicator.get("unit") or ""
        panel = Panel(indicator["key"], indicator["name"], unit, indicator["kind"],
                      french.quantity(indicator.get("target_in_force"), unit))
        observations = indicator.get("observations") or []
        if indicator["kind"] != "quantitative":
            panel.assessments = [(french.period(o["period_start"], o["period_end"]), o.get("assessment") or "—",
                                  o.get("source") or "") for o in observations]
            panel.assessment_ends = [o["period_end"] for o in observations]
            shown.append(panel)
            continue
        periodicity = periodicities.get(indicator["key"], "semestrial")
        periods = {o["period_end"]: o["period_start"] for o in observations}
        for point in indicator.get("groupement") or []:
            periods.setdefault(point["period_end"], period_start(point["period_end"], periodicity))
        ends = sorted(periods)
        mine = {o["period_end"]: Decimal(str(o["value"])) for o in observations if o.get("value") is not None}
        sources = {o["period_end"]: o.get("source") or "" for o in observations}
        together = {p["period_end"]: Decimal(str(p["value"])) for p in indicator.get("groupement") or []
                    if p.get("value") is not None}
        targets = {end: t for end in ends if (t := target_at(indicator, periods[end])) is not None}
        panel.rows = [Row(end, french.period(periods[end], end), french.quantity(mine.get(end), unit),
                          french.quantity(together.get(end), unit), french.quantity(targets.get(end), unit),
                          sources.get(end, "")) for end in ends]
        if ends and (mine or together):
            trajectory = Trajectory(number, indicator["key"], indicator["name"], unit,
                                    [(periods[end], end) for end in ends], together, targets,
                                    [Line(member_name, mine)] if mine else [])
            panel.chart = svg(trajectory)
        shown.append(panel)
    return shown


@dataclass
class BalancePanel:
    key: str
    name: str
    unit: str
    figures: list[tuple[str, str]]  # (label, value) of the indicator in the bilan
    chart: str = ""
    rows: list[tuple[str, str, str]] = field(default_factory=list)  # period, groupement, target


def balance_panels(document: dict[str, Any], indicators: dict[str, dict[str, Any]]) -> list[BalancePanel]:
    """The bilan's indicators (the typed `planBalance`): per quantitative indicator its figures, the SVG chart
    of the groupement's values against the target in force (the plan tree's trajectory), and its data table."""
    shown: list[BalancePanel] = []
    number = 0
    for axis in document.get("axes", []):
        for objective in axis.get("objectives", []):
            for indicator in objective.get("indicators", []):
                if indicator.get("kind") != "quantitative":
                    continue
                unit = indicator.get("unit") or ""
                number += 1
                figures = [(message("bilan_baseline"), french.quantity(indicator.get("baseline"), unit)),
                           (message("bilan_target"), french.quantity(indicator.get("target"), unit)),
                           (message("bilan_last"), french.quantity(indicator.get("last"), unit)),
                           (message("bilan_achievement"), french.percent(indicator.get("achievement"), 2)
                            if indicator.get("achievement") is not None else "—"),
                           (message("bilan_status"), status(indicator.get("status")) or "—")]
                panel = BalancePanel(indicator["key"], indicator["name"], unit, figures)
                tree = indicators.get(indicator["key"], indicator)
                periods = [(p["periodStart"], p["periodEnd"]) for p in indicator.get("periods") or []]
                values = {p["periodEnd"]: Decimal(str(p["value"])) for p in indicator.get("periods") or []
                          if p.get("value") is not None}
                targets = {end: t for start, end in periods if (t := target_at(tree, start)) is not None}
                panel.rows = [(french.period(start, end), french.quantity(values.get(end), unit),
                               french.quantity(targets.get(end), unit)) for start, end in periods]
                if values:
                    panel.chart = svg(Trajectory(number, indicator["key"], indicator["name"], unit, periods, values,
                                                 targets, []))
                shown.append(panel)
    return shown
