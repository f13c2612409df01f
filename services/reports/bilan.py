"""The bilan report: what a coordonnateur hands to elected officials and to the supplier.

`build_report` gathers the figures from a ledger (now or as of a position) through the plan balance, so
every figure is the balance's own and carries the log positions it came from. `tables` types every figure once
(number, money, percentage, date, text); the renderers turn the same tables into HTML (A4 pages with SVG charts,
services/reports/html.py), PDF (printed by headless Chromium), a zip of CSV files, XLSX (services/reports/sheets.py)
and JSON.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from progres.projections.indicators import PlanFigures, target_on
from progres.projections.ledger import Ledger
from progres.projections.plan_balance import plan_balance
from progres.services import french
from progres.services.reports.charts import Line, Trajectory
from progres.services.reports.labels import label, status

TEXT, NUMBER, INTEGER, MONEY, PERCENT, DATE, MOMENT = "text", "number", "integer", "money", "percent", "date", "moment"


@dataclass
class Report:
    balance: dict[str, Any]
    plan: dict[str, Any]
    series: dict[str, dict[str, Any]]  # indicator → {"groupement": [(period_end, value)], "members": {...}, "periods"}
    names: dict[str, str]
    groupement: str
    marche: dict[str, Any]
    chain_link: str | None
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    audience: str | None = None  # None: a complete copy; else what this copy leaves out, and why

    @property
    def position(self) -> int:
        return int(self.balance["position"])


@dataclass(frozen=True)
class Value:
    """A cell whose kind is its own (a summary's mixed column)."""

    value: Any
    kind: str


@dataclass(frozen=True)
class Column:
    title: str
    kind: str = TEXT


@dataclass
class Table:
    key: str  # file and sheet name: ascii, no space
    title: str
    columns: list[Column]
    rows: list[list[Any]]


def build_report(ledger: Ledger, directory: Ledger, plan_id: str, chain_link: str | None,
                 generated_at: datetime | None = None) -> Report:
    plan = ledger["plans"][plan_id]
    figures = PlanFigures.of(plan, ledger)
    series: dict[str, dict[str, Any]] = {}
    for key, indicator in plan["indicators"].items():
        if indicator["kind"] != "quantitative":
            continue
        by_member = figures.index.get(key, {})
        members = {m: [(p.period_end, float(p.value)) for p in points if p.value is not None]
                   for m, points in by_member.items() if m is not None}
        groupement = [(f.period_end, float(f.value)) for f in figures.series.get(key, []) if f.value is not None]
        if indicator["scope"] == "groupement":
            groupement = [(p.period_end, float(p.value)) for p in by_member.get(None, []) if p.value is not None]
        periods = sorted({(p.period_start, p.period_end) for points in by_member.values() for p in points
                          if p.value is not None})
        series[key] = {"groupement": groupement, "members": members, "periods": periods}
    names = {o["id"]: o["name"] for o in directory.get("organisations", {}).values()}
    return Report(plan_balance(ledger, plan_id, figures), plan, series, names, ledger["groupement"]["name"],
                  ledger["marches"][plan["marche_id"]], chain_link, generated_at or datetime.now(UTC))


def restricted(report: Report, balance: dict[str, Any], visible_members: set[str] | None,
               role: str | None = None) -> Report:
    """The report as its audience may see it: the balance as the access policy filters it
    (services/access.py `balance_for`, as the API does) and only the trajectories of members it may see;
    the copy says what it leaves out."""
    if visible_members is None:
        return replace(report, balance=balance)
    series = {key: {**data, "members": {m: points for m, points in data["members"].items() if m in visible_members}}
              for key, data in report.series.items()}
    note = label("restricted_copy").format(role=status(role) if role else label("this_reader"))
    return replace(report, balance=balance, series=series, audience=note)


def report_day(report: Report) -> str:
    """The day the bilan speaks of: its closing day for a bilan final, the day of its log position otherwise."""
    final = report.balance.get("bilan_final")
    return str(final["on"]) if final else str(report.balance["as_of_day"])


def indicators_of(report: Report) -> list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    """(axis, objective, indicator) of the balance, in the plan's order."""
    return [(axis, objective, i) for axis in report.balance["axes"] for objective in axis["objectives"]
            for i in objective["indicators"]]


def dec(value: Any) -> Decimal | None:
    return None if value is None or value == "" else Decimal(str(value))


def day_or_status(on: str | None, fallback: str | None) -> Any:
    return french.as_date(on) if on else status(fallback)


def cited(positions: dict[str, list[int]]) -> str:
    found = sorted({p for part in ("first", "last", "latest") for p in positions.get(part, [])})
    return f"n° {', '.join(map(str, found))}" if found else ""  # "n°": a lone position is no figure to add up


def trajectories(report: Report) -> list[Trajectory]:
    """One chart per quantitative indicator with a measure: the figures the reader may see, period by period."""
    charts = []
    for number, (_, _, i) in enumerate((t for t in indicators_of(report) if t[2]["kind"] == "quantitative"), 1):
        data = report.series.get(i["key"])
        if not data or not data["groupement"]:
            continue
        indicator = report.plan["indicators"][i["key"]]
        periods = [tuple(p) for p in data["periods"]]
        targets = {end: t for _, end in periods if (t := target_on(indicator, end)) is not None}
        members = [Line(report.names.get(m, m), {end: Decimal(str(v)) for end, v in points})
                   for m, points in sorted(data["members"].items(), key=lambda kv: report.names.get(kv[0], kv[0]))]
        charts.append(Trajectory(number, i["key"], i["name"], i["unit"] or "", periods,
                                 {end: Decimal(str(v)) for end, v in data["groupement"]}, targets, members))
    return charts


def met(indicator: dict[str, Any], value: Decimal, target: Decimal) -> bool:
    return value >= target if indicator.get("direction") == "increase" else value <= target


def period_rows(report: Report, chart: Trajectory) -> list[list[Any]]:
    """Each period's groupement value against the target in force then."""
    indicator = report.plan["indicators"][chart.key]
    rows = []
    for start, end in chart.periods:
        value, target = chart.groupement.get(end), chart.targets.get(end)
        gap = value - target if value is not None and target is not None else None
        reached = (label("yes") if met(indicator, value, target) else label("no")) \
            if value is not None and target is not None else ""
        rows.append([chart.name, chart.unit, french.as_date(start), french.as_date(end), french.period(start, end),
                     value, target, gap, reached])
    return rows


def cao_opinion(avenant: dict[str, Any]) -> str:
    """L1414-4 CGCT: whether the CAO's opinion was required and what it was; for R2194-8/-9, the reading of the
    cumulation applied (net or absolute) and the threshold row."""
    opinion = avenant.get("cao_opinion")
    if not avenant["needs_cao_opinion"]:
        text = label("no")
    elif opinion is None:
        text = label("cao_pending")
    else:
        text = label("cao_given").format(on=french.plain(french.day(opinion["given_on"])),
                                         verdict=label("favourable" if opinion["favourable"] else "unfavourable"))
    small = avenant.get("small_modifications")
    if small:
        text += " ; " + label("small_modifications").format(reading=label(f"reading_{small['reading']}"),
                                                            threshold=french.plain(french.money(dec(small["threshold"]["amount"]))))
    return text


def summary(report: Report) -> list[tuple[str, Value]]:
    b = report.balance
    all_indicators = [i for _, _, i in indicators_of(report)]
    quantitative = [i for i in all_indicators if i["kind"] == "quantitative"]
    qualitative = [i for i in all_indicators if i["kind"] == "qualitative"]
    done = sum(c.get("done", 0) for c in b["actions"].values())
    total = sum(c.get("total", 0) for c in b["actions"].values())
    p = b["proposals"]
    rows = [
        (label("groupement"), Value(report.groupement, TEXT)),
        (label("marche"), Value(f"{report.marche['code']} — {report.marche['object']}", TEXT)),
        (label("report_date"), Value(french.as_date(report_day(report)), DATE)),
        (label("initial_amount"), Value(dec(b["marche"]["initial_amount"]), MONEY)),
        (label("current_amount"), Value(dec(b["marche"]["current_amount"]), MONEY)),
        (label("cumulative_change"), Value(dec(b["marche"]["cumulative_change_percent"]), PERCENT)),
    ]
    if quantitative:  # a plan of qualitative indicators only has no count of targets met (0 / 0 says nothing)
        reached = sum(1 for i in quantitative if i["status"] == "met")
        rows.append((label("indicators_met"), Value(label("x_of_y").format(x=reached, y=len(quantitative)), TEXT)))
    if qualitative:
        assessed = sum(1 for i in qualitative if i["status"] == "assessed")
        rows.append((label("indicators_assessed"), Value(label("x_of_y").format(x=assessed, y=len(qualitative)),
                                                         TEXT)))
    rows += [
        (label("actions_done"), Value(label("x_of_y").format(x=done, y=total), TEXT)),
        (label("proposals"), Value(f"{p['submitted']} ({french.plain(french.count(p['accepted'], 'acceptée'))}, "
                                   f"{french.plain(french.count(p['rejected'], 'rejetée'))}, "
                                   f"{p['pending']} {label('pending')})", TEXT)),
        (label("reviews_held"), Value(b["reviews"]["held"], INTEGER)),
    ]
    return rows


def provenance(report: Report) -> list[tuple[str, Value]]:
    return [
        (label("groupement"), Value(report.groupement, TEXT)),
        (label("marche"), Value(f"{report.marche['code']} — {report.marche['object']}", TEXT)),
        (label("plan"), Value(report.balance["title"], TEXT)),
        (label("report_date"), Value(french.as_date(report_day(report)), DATE)),
        (label("log_position"), Value(report.position, INTEGER)),
        (label("chain_head"), Value(report.chain_link or label("no_chain_short"), TEXT)),
        (label("generated_at"), Value(report.generated_at.replace(tzinfo=None, microsecond=0), MOMENT)),
        (label("copy"), Value(report.audience or label("complete_copy"), TEXT)),
    ]


def tables(report: Report) -> list[Table]:
    """Every table of the report, typed once for every format."""
    b = report.balance
    indicators = []
    for axis, _, i in indicators_of(report):
        if i["kind"] == "qualitative":
            indicators.append([axis["title"], i["name"], "", None, None, i["latest_assessment"] or "", None, None,
                               status(i["status"]), cited(i["positions"])])
        else:
            achieved = dec(i["achievement"])
            indicators.append([axis["title"], i["name"], i["unit"], dec(i["baseline"]), dec(i["first"]),
                               dec(i["last"]), dec(i["target"]), achieved, status(i["status"]), cited(i["positions"])])
    periods = [row for chart in trajectories(report) for row in period_rows(report, chart)]
    members = [[chart.name, chart.unit, line.name, french.as_date(start), french.as_date(end), line.values[end]]
               for chart in trajectories(report) for line in chart.members
               for start, end in chart.periods if end in line.values]
    assessments = [[i["name"], french.as_date(m["period_start"]), french.as_date(m["period_end"]), m["assessment"]]
                   for _, _, i in indicators_of(report) if i["kind"] == "qualitative"
                   for m in sorted((m for m in report.plan["measures"].values() if m["indicator_key"] == i["key"]
                                    and m["assessment"]), key=lambda m: m["period_start"])]
    axes = {a["key"]: a["title"] for a in report.plan["axes"].values()}
    actions = [[axes.get(a["axis_key"], ""), a["title"], status(a["owner"]),
                french.as_date(a["due_on"]) if a["due_on"] else None, status(a["status"])]
               for a in report.plan["actions"].values()]
    proposals = [[p["title"], report.names.get(p["author_id"], p["author_id"]), p["expected_impact"],
                  dec(p["expected_gain"]), status(p["status"]),
                  " ; ".join(f"{status(d['outcome'])} le {french.plain(french.day(d['on']))} : {d['reasons']}"
                             for d in p["decisions"])]
                 for p in report.plan["proposals"].values()]
    reviews = [[r["title"], french.as_date(r["held_on"]) if r["held_on"] else None,
                " ; ".join(f"{status(pt['kind'])} ({pt['raised_by']['name']}) : {pt['text']}" for pt in r["points"])]
               for r in report.plan["reviews"].values()]
    avenants = [[int(a["number"]), a["basis"], a["reason"], dec(a["amount_delta"]), dec(a["cumulative_percent"]),
                 cao_opinion(a), day_or_status(a["notified_on"], a["status"])] for a in b["avenants"]]
    gains = [[status(party), dec(amount)] for party, amount in b["gains"]["parties"].items()]
    gains += [[report.names.get(member, member), dec(amount)] for member, amount in b["gains"]["members"].items()]
    found = [
        Table("synthese", label("summary"), [Column(label("heading")), Column(label("value"))],
              [[k, v] for k, v in summary(report)]),
        Table("indicateurs", label("indicators"),
              [Column(label("axis")), Column(label("indicator")), Column(label("unit")),
               Column(label("baseline"), NUMBER), Column(label("first"), NUMBER), Column(label("last"), NUMBER),
               Column(label("target"), NUMBER), Column(label("achievement"), PERCENT), Column(label("status")),
               Column(label("positions"))], indicators),
        Table("trajectoires", label("per_period"),
              [Column(label("indicator")), Column(label("unit")), Column(label("period_start"), DATE),
               Column(label("period_end"), DATE), Column(label("period")), Column(label("groupement_value"), NUMBER),
               Column(label("target_in_force"), NUMBER), Column(label("gap"), NUMBER), Column(label("reached"))],
              periods),
    ]
    if members:
        found.append(Table("membres", label("member_values"),
                           [Column(label("indicator")), Column(label("unit")), Column(label("member")),
                            Column(label("period_start"), DATE), Column(label("period_end"), DATE),
                            Column(label("value"), NUMBER)], members))
    if assessments:
        found.append(Table("appreciations", label("assessments"),
                           [Column(label("indicator")), Column(label("period_start"), DATE),
                            Column(label("period_end"), DATE), Column(label("assessment"))], assessments))
    found += [
        Table("actions", label("actions"), [Column(label("axis")), Column(label("action")), Column(label("owner")),
                                            Column(label("due_on"), DATE), Column(label("status"))], actions),
        Table("propositions", label("proposals_decisions"),
              [Column(label("proposal")), Column(label("author")), Column(label("expected_impact")),
               Column(label("expected_gain"), MONEY), Column(label("status")), Column(label("decisions"))], proposals),
        Table("revues", label("reviews"), [Column(label("review")), Column(label("held_on"), DATE),
                                           Column(label("points_raised"))], reviews),
        Table("avenants", label("avenants"),
              [Column(label("avenant"), INTEGER), Column(label("basis")), Column(label("reason")),
               Column(label("amount_delta"), MONEY), Column(label("cumulative_percent"), PERCENT),
               Column(label("cao")), Column(label("notified_on"), DATE)], avenants),
        Table("gains", label("gains"), [Column(label("party")), Column(label("share"), MONEY)], gains),
        Table("provenance", label("provenance"), [Column(label("heading")), Column(label("value"))],
              [[k, v] for k, v in provenance(report)]),
    ]
    return found


def kind_of(value: Any, column: Column) -> tuple[Any, str]:
    """A cell's value and kind: its own for a `Value`, its column's otherwise, text for a text in a typed column."""
    if isinstance(value, Value):
        return value.value, value.kind
    if column.kind in (DATE, MOMENT) and not isinstance(value, date):
        return value, TEXT  # e.g. the status of an avenant not yet notified
    if column.kind in (NUMBER, INTEGER, MONEY, PERCENT) and isinstance(value, str):
        return value, TEXT  # e.g. a qualitative indicator's assessment in the indicators' table
    return value, column.kind


def shown(value: Any, column: Column, unit: str | None = None) -> str:
    """A cell as a French reader reads it."""
    value, kind = kind_of(value, column)
    if value is None or value == "":
        return ""
    if kind == MONEY:
        return french.money(value)
    if kind == PERCENT:
        return french.percent(value)
    if kind in (NUMBER, INTEGER):
        return french.quantity(value, unit) if unit else french.number(value)
    if kind == DATE:
        return french.day(value)
    if kind == MOMENT:
        return french.moment(value)
    return str(value)


def to_html(report: Report, pages: dict[str, int] | None = None) -> str:
    from progres.services.reports.html import render  # noqa: PLC0415

    return render(report, pages)


def to_csv(report: Report, international: bool = False) -> bytes:
    from progres.services.reports.sheets import csv_archive  # noqa: PLC0415

    return csv_archive(report, international)


def to_xlsx(report: Report) -> bytes:
    from progres.services.reports.sheets import workbook  # noqa: PLC0415

    return workbook(report)


def to_json(report: Report) -> dict[str, Any]:
    return {"balance": report.balance, "chain_link": report.chain_link, "position": report.position,
            "series": report.series}


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if found is None:
        raise RuntimeError("PDF needs a headless Chromium: install Debian's package `chromium`")
    return found


def print_pdf(html: str, directory: Path) -> bytes:
    page, pdf = directory / "bilan.html", directory / "bilan.pdf"
    page.write_text(html, encoding="utf-8")
    subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    "--lang=fr-FR", f"--user-data-dir={directory}/profile", f"--print-to-pdf={pdf}", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    return pdf.read_bytes()


PAGE_TREE = re.compile(rb"(\d+) 0 obj\s*<</Type /Pages\b[^>]*?/Kids \[([^\]]*)\]")
DESTINATION = re.compile(rb"/([A-Za-z][\w.-]*) \[(\d+) 0 R /XYZ [-\d.]+ ([-\d.]+)")


def anchor_pages(pdf: bytes) -> dict[str, int]:
    """The page each linked anchor of a PDF printed by Chromium lands on, from its named destinations and its page
    tree (both written as plain objects); empty when the PDF is not laid out so (the contents then go without
    page numbers)."""
    kids = {int(node): [int(k) for k in re.findall(rb"(\d+) 0 R", refs)] for node, refs in PAGE_TREE.findall(pdf)}
    roots = set(kids) - {k for children in kids.values() for k in children}
    if len(roots) != 1:
        return {}

    def leaves(node: int) -> list[int]:
        return [leaf for child in kids[node] for leaf in leaves(child)] if node in kids else [node]

    order = {page: number for number, page in enumerate(leaves(roots.pop()), 1)}
    return {name.decode(): order[int(page)] for name, page, _ in DESTINATION.findall(pdf) if int(page) in order}


def to_pdf(report: Report) -> bytes:
    """Prints the HTML report with headless Chromium (A4 from the page's CSS; the charts are SVG, printed as
    vectors; running header and page numbers in the page's margin boxes). Printed twice: the first printing
    tells on which page each part lands, the second puts those pages in the table of contents (which sits on the
    cover page, so adding them moves nothing)."""
    with tempfile.TemporaryDirectory() as directory:
        first = print_pdf(to_html(report), Path(directory))
        pages = anchor_pages(first)
        return print_pdf(to_html(report, pages), Path(directory)) if pages else first
