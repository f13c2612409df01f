"""The groupement's figure of each (plan, indicator, period) kept as versioned rows (issue 12, as-of balance).

As of P, the balance needs the plan's groupement series. As-of starts from the series its last checkpoint (at S)
kept; the periods whose measures were recorded or corrected in (S, P] used to be made again from every member's
measure of them (3,000 measures a period at 3,000 members). Instead, the figure a writer already computed
(`PlanFigures`, unchanged here: this module only persists what it holds) is written as a row of `period_figures`
keyed by (plan, indicator, period, position), meaning "the period's figure as of that position":
- by the runner, per batch that did nothing but record or correct measures of the groupement, for the periods of
  those measures;
- by a rebuild, at each groupement's checkpoint (and at its end) when nothing but measures happened to the groupement
  since its previous one, for the periods of the measures changed since.
Each row is written at the period's last change in the batch or window, not at its end (the figure did not change in
between, nothing else having happened): an as-of in the middle of a window finds it. A batch or window where anything
else happened writes none: as-of makes the figures from every measure across it anyway (see below).

As of P, a period changed in (S, P] is taken from its last row at V in (S, P] when the period's last change by P is
at or before V (no measure of it changed in (V, P]); the facts in (S, P] being measures only (as-of checks it, else it
makes the figures from every measure), the structure the figure depends on (memberships, volumes, rules) is the same
at V and at P. Otherwise the period is made again from its measures as before. The tests compare every row with the
figure made from the replayed ledger at its position.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from progres.projections.indicators import PeriodFigure, PlanFigures, fmt

TABLE = "period_figures"
# (groupement, plan, indicator, period start, period end, position, the figure as `figure_state` keeps it)
FigureRow = tuple[str, str, str, str, str, int, list[Any]]


def figure_state(f: PeriodFigure) -> list[Any]:
    """A period's figure as a row keeps it (the checkpoint's series keep the same, see `stores.sql.series_state`,
    with its positions always)."""
    return [f.period_start, f.period_end, fmt(f.value), f.members, list(f.positions), [list(e) for e in f.excluded],
            f.weighting]


def figure_of_state(state: list[Any]) -> PeriodFigure:
    return PeriodFigure(state[0], state[1], Decimal(state[2]) if state[2] is not None else None, state[3],
                        tuple(state[4]), tuple((m, why) for m, why in state[5]), state[6])


def figure_rows(g: str, plan: dict[str, Any], figures: PlanFigures, measure_ids: Iterable[str],
                position: int) -> list[FigureRow]:
    """The rows of the periods of these measures of the plan (the ledger holds them), changed since the figures'
    previous position with nothing else, with their figures as `figures` holds them at `position`: each period's row
    at its last change."""
    measures = plan.get("measures") or {}
    return rows_of_measures(g, plan, figures, (m for m in map(measures.get, measure_ids) if m is not None), position)


def rows_of_measures(g: str, plan: dict[str, Any], figures: PlanFigures, measures: Iterable[dict[str, Any]],
                     position: int) -> list[FigureRow]:
    """`figure_rows` of the measures themselves (as the plan holds them)."""
    last: dict[tuple[str, str, str], int] = {}
    indicators = plan.get("indicators") or {}
    for m in measures:
        if (indicators.get(m["indicator_key"]) or {}).get("kind") != "quantitative":
            continue
        key = (m["indicator_key"], m["period_start"], m["period_end"])
        changed = m["positions"][-1] if m["positions"] else position
        if changed > last.get(key, 0):
            last[key] = changed
    rows: list[FigureRow] = []
    for (indicator, start, end), changed in sorted(last.items()):
        figure = next((f for f in figures.series.get(indicator, []) if (f.period_start, f.period_end) == (start, end)),
                      None)
        if figure is not None:
            rows.append((g, plan["id"], indicator, start, end, min(changed, position), figure_state(figure)))
    return rows


def batch_rows(g: str, ledger: dict[str, Any], figures: dict[str, PlanFigures],
               measures: dict[str, dict[str, None]] | None, position: int) -> list[FigureRow]:
    """The rows a runner's batch ending at `position` writes for a groupement: `measures` (plan -> the measures it
    recorded or corrected) when the batch did nothing else to the groupement, else None (no rows)."""
    if measures is None:
        return []
    plans = ledger.get("plans") or {}
    return [row for p, ids in measures.items() if p in plans and p in figures
            for row in figure_rows(g, plans[p], figures[p], ids, position)]


def checkpoint_rows(g: str, ledger: dict[str, Any], figures: dict[str, PlanFigures],
                    by_plan: dict[str, list[dict[str, Any]]], position: int, anew: bool) -> list[FigureRow]:
    """The rows a rebuild writes at a groupement's checkpoint at `position`: the periods of the measures changed since
    its previous one (`by_plan`: plan -> those measures, `RebuildFold._by_plan`), unless anything else happened to the
    groupement meanwhile (`anew`: none)."""
    if anew:
        return []
    plans = ledger.get("plans") or {}
    return [row for p, found in by_plan.items() if p in plans and p in figures
            for row in rows_of_measures(g, plans[p], figures[p], found, position)]
