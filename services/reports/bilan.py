"""The bilan report: what a coordonnateur hands to elected officials and to the supplier.

`build_report` gathers the figures from a ledger (now or as of a position) through the plan balance, so
every figure is the balance's own and carries the log positions it came from; renderers turn the same
data into HTML (with SVG charts), PDF (printed by headless Chromium), CSV, XLSX and JSON.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, replace
from html import escape
from pathlib import Path
from typing import Any

from progres.projections.indicators import PlanFigures, target_on
from progres.projections.ledger import Ledger
from progres.projections.plan_balance import plan_balance
from progres.services.reports.cells import append_row, csv_cell
from progres.services.reports.labels import label, status


@dataclass
class Report:
    balance: dict[str, Any]
    plan: dict[str, Any]
    series: dict[str, dict[str, Any]]  # indicator → {"groupement": [(period_end, value)], "members": {...}}
    names: dict[str, str]
    groupement: str
    marche: dict[str, Any]
    chain_link: str | None

    @property
    def position(self) -> int:
        return int(self.balance["position"])


def build_report(ledger: Ledger, directory: Ledger, plan_id: str, chain_link: str | None) -> Report:
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
        series[key] = {"groupement": groupement, "members": members}
    names = {o["id"]: o["name"] for o in directory.get("organisations", {}).values()}
    return Report(plan_balance(ledger, plan_id, figures), plan, series, names, ledger["groupement"]["name"],
                  ledger["marches"][plan["marche_id"]], chain_link)


def restricted(report: Report, balance: dict[str, Any], visible_members: set[str] | None) -> Report:
    """The report as its audience may see it: the balance as the access policy filters it
    (services/access.py `balance_for`, as the API does) and only the trajectories of members it may see."""
    if visible_members is None:
        return replace(report, balance=balance)
    series = {key: {**data, "members": {m: points for m, points in data["members"].items() if m in visible_members}}
              for key, data in report.series.items()}
    return replace(report, balance=balance, series=series)


# Tables shared by every format: (section, header, rows)
def tables(report: Report) -> list[tuple[str, list[str], list[list[Any]]]]:
    b = report.balance
    indicators = []
    for axis in b["axes"]:
        for objective in axis["objectives"]:
            for i in objective["indicators"]:
                positions = i["positions"]
                cited = sorted({p for part in ("first", "last", "latest") for p in positions.get(part, [])})
                if i["kind"] == "qualitative":
                    indicators.append([axis["title"], i["name"], "", "", "", i["latest_assessment"] or "", "", "",
                                       status(i["status"]), " ".join(map(str, cited))])
                else:
                    indicators.append([axis["title"], i["name"], i["unit"], i["baseline"], i["first"], i["last"],
                                       i["target"], i["achievement"], status(i["status"]), " ".join(map(str, cited))])
    actions = [[a["title"], status(a["owner"]), a["due_on"], status(a["status"])]
               for a in report.plan["actions"].values()]
    proposals = [[p["title"], report.names.get(p["author_id"], p["author_id"]), p["expected_impact"],
                  p["expected_gain"] or "", status(p["status"]),
                  " ; ".join(f"{status(d['outcome'])} le {d['on']} : {d['reasons']}" for d in p["decisions"])]
                 for p in report.plan["proposals"].values()]
    reviews = [[r["title"], r["held_on"] or "", " ; ".join(f"{status(pt['kind'])} ({pt['raised_by']['name']}) : "
                                                            f"{pt['text']}" for pt in r["points"])]
               for r in report.plan["reviews"].values()]
    avenants = [[a["number"], a["basis"], a["reason"], a["amount_delta"], a["cumulative_percent"],
                 label("yes") if a["needs_cao_opinion"] else label("no"), a["notified_on"] or status(a["status"])]
                for a in b["avenants"]]
    gains = [[status(party), amount] for party, amount in b["gains"]["parties"].items()]
    gains += [[report.names.get(member, member), amount] for member, amount in b["gains"]["members"].items()]
    return [
        (label("indicator"), [label(k) for k in ("axis", "indicator", "unit", "baseline", "first", "last", "target",
                                                  "achievement", "status", "positions")], indicators),
        (label("actions"), [label(k) for k in ("action", "owner", "due_on", "status")], actions),
        (label("proposals_decisions"), [label(k) for k in ("proposal", "member", "expected_impact", "expected_gain",
                                                           "status", "decisions")], proposals),
        (label("reviews"), [label(k) for k in ("review", "held_on", "points_raised")], reviews),
        (label("avenants"), [label(k) for k in ("avenant", "basis", "reason", "amount_delta", "cumulative_percent",
                                                "cao", "notified_on")], avenants),
        (label("gains"), [label("party"), label("share")], gains),
    ]


def summary(report: Report) -> list[tuple[str, str]]:
    b = report.balance
    indicators = [i for axis in b["axes"] for o in axis["objectives"] for i in o["indicators"]
                  if i["kind"] == "quantitative"]
    met = sum(1 for i in indicators if i["status"] == "met")
    done = sum(c.get("done", 0) for c in b["actions"].values())
    total = sum(c.get("total", 0) for c in b["actions"].values())
    p = b["proposals"]
    return [
        (label("groupement"), report.groupement),
        (label("marche"), f"{report.marche['code']} — {report.marche['object']}"),
        (label("initial_amount"), f"{b['marche']['initial_amount']} €"),
        (label("current_amount"), f"{b['marche']['current_amount']} €"),
        (label("cumulative_change"), f"{b['marche']['cumulative_change_percent']} %"),
        (label("indicators_met"), f"{met} / {len(indicators)}"),
        (label("actions_done"), f"{done} / {total}"),
        (label("proposals"), f"{p['submitted']} ({p['accepted']} {label('accepted')}, {p['rejected']} "
                             f"{label('rejected')}, {p['pending']} {label('pending')})"),
        (label("reviews_held"), str(b["reviews"]["held"])),
    ]


def chart(report: Report, key: str) -> str:
    """An SVG line chart: the groupement's trajectory (bold), each member's (thin), the target (dashed)."""
    data = report.series.get(key)
    indicator = report.plan["indicators"][key]
    if not data or not data["groupement"]:
        return ""
    periods = sorted({p for p, _ in data["groupement"]} | {p for pts in data["members"].values() for p, _ in pts})
    values = [v for _, v in data["groupement"]] + [v for pts in data["members"].values() for _, v in pts]
    targets = [float(t) for t in (target_on(indicator, p) for p in periods) if t is not None]
    low, high = min(values + targets), max(values + targets)
    span = (high - low) or 1.0
    width, height, pad = 640, 220, 40

    def xy(period: str, value: float) -> str:
        x = pad + (periods.index(period) / max(1, len(periods) - 1)) * (width - 2 * pad)
        y = height - pad - (value - low) / span * (height - 2 * pad)
        return f"{x:.1f},{y:.1f}"

    lines = [f'<polyline fill="none" stroke="#c9ced6" stroke-width="1" points="{" ".join(xy(p, v) for p, v in pts)}"/>'
             for pts in data["members"].values() if len(pts) > 1]
    target_points = [(p, float(t)) for p in periods if (t := target_on(indicator, p)) is not None]
    lines.append(f'<polyline fill="none" stroke="#b3261e" stroke-dasharray="6 4" stroke-width="2" '
                 f'points="{" ".join(xy(p, v) for p, v in target_points)}"/>')
    lines.append(f'<polyline fill="none" stroke="#1f4e99" stroke-width="3" '
                 f'points="{" ".join(xy(p, v) for p, v in data["groupement"])}"/>')
    ticks = "".join(f'<text x="{xy(p, low).split(",")[0]}" y="{height - 12}" font-size="10" text-anchor="middle">'
                    f'{escape(p)}</text>' for p in periods)
    scale = (f'<text x="4" y="{pad}" font-size="10">{high:g}</text>'
             f'<text x="4" y="{height - pad}" font-size="10">{low:g}</text>')
    legend = (f'<text x="{pad}" y="14" font-size="11" fill="#1f4e99">{label("chart_groupement")}</text>'
              f'<text x="{pad + 110}" y="14" font-size="11" fill="#b3261e">{label("chart_target")}</text>'
              f'<text x="{pad + 170}" y="14" font-size="11" fill="#8a919c">{label("chart_members")}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
            f'aria-label="{escape(indicator["name"])}">{legend}{scale}{"".join(lines)}{ticks}</svg>')


def to_html(report: Report) -> str:
    b = report.balance
    title = label("final") if b["final"] else f"{label('interim')} {label('as_of')} {b['as_of_day']}"
    parts = [f"<!doctype html><html lang=\"fr\"><head><meta charset=\"utf-8\"><title>{escape(title)}</title><style>"
             "body{font-family:sans-serif;margin:2em;color:#1b1f24}table{border-collapse:collapse;margin:.5em 0 1.5em}"
             "td,th{border:1px solid #c9ced6;padding:.3em .5em;font-size:.85em;vertical-align:top}"
             "th{background:#eef1f5}h1{font-size:1.5em}.summary td:first-child{font-weight:bold}"
             "section{page-break-inside:avoid}.summary{page-break-after:always}</style></head><body>",
             f"<h1>{escape(title)} — {escape(report.plan['title'])}</h1>",
             "<section class=\"summary\"><h2>" + label("summary") + "</h2><table>"]
    parts += [f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in summary(report)]
    parts.append("</table></section>")
    for axis in b["axes"]:
        parts.append(f"<section><h2>{label('axis')} : {escape(axis['title'])}</h2>")
        for objective in axis["objectives"]:
            for i in objective["indicators"]:
                parts.append(f"<h3>{escape(i['name'])}</h3>")
                if i["kind"] == "qualitative":
                    parts.append(f"<p>{label('assessment')} : {escape(i['latest_assessment'] or '')}</p>")
                else:
                    parts.append(f"<p>{label('baseline')} {i['baseline']} → {label('last')} {i['last']} "
                                 f"({label('target')} {i['target']} {escape(i['unit'] or '')}, "
                                 f"{label('achievement')} {i['achievement']}, {status(i['status'])})</p>")
                    parts.append(chart(report, i["key"]))
        parts.append("</section>")
    for section, header, rows in tables(report):
        parts.append(f"<section><h2>{escape(section)}</h2><table><tr>"
                     + "".join(f"<th>{escape(h)}</th>" for h in header) + "</tr>")
        parts += ["<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows]
        parts.append("</table></section>")
    chain = (label("chain_text").format(link=report.chain_link) if report.chain_link else label("no_chain"))
    parts.append(f"<footer><h2>{label('provenance')}</h2><p>{label('provenance_text').format(position=report.position)}"
                 f"</p><p>{escape(chain)}</p></footer></body></html>")
    return "".join(parts)


def to_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    rows = [[label("summary"), *[k for k, _ in summary(report)]], ["", *[v for _, v in summary(report)]]]
    for section, header, lines in tables(report):
        rows += [[], [section, *header], *[["", *line] for line in lines]]
    writer.writerows([csv_cell(c) for c in row] for row in rows)  # cells.py: no cell can run as a formula
    return buffer.getvalue()


def to_xlsx(report: Report) -> bytes:
    from openpyxl import Workbook  # noqa: PLC0415 - only this format needs it

    book = Workbook()
    sheet = book.active
    sheet.title = label("summary")[:31]
    for row in summary(report):
        append_row(sheet, list(row))
    for section, header, rows in tables(report):
        sheet = book.create_sheet(section[:31])
        append_row(sheet, header)
        for row in rows:
            append_row(sheet, row)  # cells.py: numbers as numbers, text never read as a formula
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def to_json(report: Report) -> dict[str, Any]:
    return {"balance": report.balance, "chain_link": report.chain_link, "position": report.position,
            "series": report.series}


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if found is None:
        raise RuntimeError("PDF needs a headless Chromium: install Debian's package `chromium`")
    return found


def to_pdf(report: Report) -> bytes:
    """Prints the HTML report with headless Chromium (the charts are SVG, printed as vectors)."""
    with tempfile.TemporaryDirectory() as directory:
        page, pdf = Path(directory) / "bilan.html", Path(directory) / "bilan.pdf"
        page.write_text(to_html(report), encoding="utf-8")
        subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                        f"--user-data-dir={directory}/profile", f"--print-to-pdf={pdf}", page.as_uri()],
                       check=True, capture_output=True, timeout=120)
        return pdf.read_bytes()
