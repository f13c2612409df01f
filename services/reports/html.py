"""The bilan as an HTML document laid out for A4 paper: a cover with the summary and the table of contents, one
part per axis (each indicator with its figures, its chart and the chart's data table, kept on one page), the
tables, the provenance; a running header (groupement, marché, date, log position, chain head) and page numbers
in the page's margin boxes, which headless Chromium prints (services/reports/bilan.py `to_pdf`).
"""

from __future__ import annotations

from html import escape
from typing import Any

from progres.services import french
from progres.services.reports.bilan import (
    DATE,
    INTEGER,
    MONEY,
    NUMBER,
    PERCENT,
    Column,
    Report,
    Table,
    dec,
    kind_of,
    period_rows,
    report_day,
    shown,
    summary,
    tables,
    trajectories,
)
from progres.services.reports.charts import Trajectory, svg
from progres.services.reports.labels import label, status

CSS = """
@page { size: A4; margin: 20mm 15mm 18mm 15mm;
  @top-left { content: "%(top_left)s"; font: 7.5pt sans-serif; color: #333; vertical-align: bottom;
              white-space: pre; width: 50%%; }
  @top-right { content: "%(top_right)s"; font: 7.5pt sans-serif; color: #333; vertical-align: bottom;
               white-space: pre; text-align: right; width: 50%%; }
  @bottom-left { content: "%(bottom_left)s"; font: 7.5pt sans-serif; color: #333; }
  @bottom-right { content: "Page " counter(page) " sur " counter(pages); font: 8pt sans-serif; color: #000; }
}
html { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 9.5pt; color: #111; line-height: 1.35; }
body { margin: 0; }
h1 { font-size: 19pt; margin: 0 0 2mm; }
h2 { font-size: 13pt; margin: 6mm 0 2mm; break-after: avoid; }
h3 { font-size: 11pt; margin: 4mm 0 1.5mm; break-after: avoid; }
a { color: inherit; text-decoration: none; }
.cover { break-after: page; }
.kicker { font-size: 10pt; text-transform: uppercase; letter-spacing: .05em; margin: 0; }
.plan-title { font-size: 13pt; margin: 0 0 2mm; }
.meta, .note { margin: 1mm 0; }
.note { border-left: 3px solid #000; padding-left: 3mm; font-style: italic; }
table { border-collapse: collapse; margin: 1.5mm 0 4mm; width: 100%%; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
td, th { border: 0.6pt solid #888; padding: 1mm 1.5mm; font-size: 8pt; vertical-align: top; text-align: left; }
th { background: #e8e8e8; }
td.n, th.n { text-align: right; white-space: nowrap; }
td.d { white-space: nowrap; }
.summary td:first-child { font-weight: bold; width: 45%%; }
.toc ol { padding-left: 0; margin: 1mm 0; list-style: none; } .toc li { margin: .6mm 0; }
.toc li { display: flex; } .toc .leader { flex: 1; border-bottom: 0.6pt dotted #555; margin: 0 2mm .8mm; }
.axis { break-before: page; }
.objective { margin: 1mm 0 2mm; color: #333; }
.indicator { break-inside: avoid; page-break-inside: avoid; margin-bottom: 5mm; }
.figures { margin: 1mm 0 2mm; }
figure { margin: 0; }
svg.chart { width: 100%%; height: auto; display: block; }
figcaption { font-size: 7.5pt; color: #333; margin: 1mm 0; }
.data td:first-child, .data th:first-child { width: 30%%; }
.data td, .data th { padding: .6mm 1.5mm; font-size: 7.5pt; }
footer { break-inside: avoid; }
"""


def css_string(text: str) -> str:
    return french.plain(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def title_of(report: Report) -> str:
    b = report.balance
    if b["final"]:
        return label("final")
    return f"{label('interim')} {label('as_of')} {french.plain(french.day(b['as_of_day']))}"


def page_css(report: Report) -> str:
    chain = (report.chain_link[:16] + "…") if report.chain_link else label("no_chain_short")
    top_left = f"{css_string(report.groupement)}\\A {css_string(label('marche'))} {css_string(report.marche['code'])}"
    top_right = (f"{css_string(label('running_date').format(day=french.day(report_day(report))))}\\A "
                 f"{css_string(label('running_position').format(position=report.position, chain=chain))}")
    return CSS % {"top_left": top_left, "top_right": top_right, "bottom_left": css_string(report.balance["title"])}


def numeric(kind: str) -> bool:
    return kind in (NUMBER, INTEGER, MONEY, PERCENT)


def cell_class(kind: str) -> str:
    return " class=n" if numeric(kind) else " class=d" if kind == DATE else ""


def table_html(table: Table, css_class: str = "") -> str:
    """A table; figures right-aligned and kept on one line, texts wrapped."""
    head = "".join(f'<th{" class=n" if numeric(c.kind) else ""}>{escape(c.title)}</th>' for c in table.columns)
    body = "".join("<tr>" + "".join(f"<td{cell_class(kind_of(v, c)[1])}>{escape(shown(v, c))}</td>"
                                    for v, c in zip(row, table.columns, strict=True)) + "</tr>"
                   for row in table.rows)
    return f'<table class="{css_class}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def chart_table(report: Report, chart: Trajectory) -> str:
    """The chart's figures under it: one column per period; the groupement, the target in force then, the gap,
    whether it was reached, and each member the reader may see."""
    rows = period_rows(report, chart)
    number = Column("", NUMBER)
    head = "<th></th>" + "".join(f'<th class="n">{escape(row[4])}</th>' for row in rows)
    lines = [(label("chart_groupement"), [shown(r[5], number, chart.unit) for r in rows]),
             (label("target_in_force"), [shown(r[6], number, chart.unit) for r in rows]),
             (label("gap"), [shown(r[7], number) for r in rows]),
             (label("reached"), [r[8] for r in rows])]
    lines += [(m.name, [shown(m.values.get(end), number) for _, end in chart.periods]) for m in chart.members]
    body = "".join(f"<tr><th>{escape(name)}</th>" + "".join(f'<td class="n">{escape(v)}</td>' for v in values)
                   + "</tr>" for name, values in lines)
    return f'<table class="data"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def figures_line(i: dict[str, Any], chart: Trajectory | None) -> str:
    unit = i["unit"]
    parts = [f"{label('baseline')} : {french.quantity(dec(i['baseline']), unit)}"]
    if i["last"] is not None:
        starts = {end: start for start, end in chart.periods} if chart else {}
        when = french.period(starts[i["last_period"]], i["last_period"]) if i["last_period"] in starts \
            else french.day(i["last_period"])
        parts.append(f"{label('last')} ({when}) : {french.quantity(dec(i['last']), unit)}")
    parts.append(f"{label('target_in_force')} : {french.quantity(dec(i['target']), unit)}")
    if i["achievement"] is not None:
        parts.append(f"{label('achievement_short')} : {french.percent(dec(i['achievement']))}")
    return " · ".join(parts) + f" — {status(i['status'])}"


def qualitative_html(report: Report, number: str, i: dict[str, Any]) -> str:
    measures = sorted((m for m in report.plan["measures"].values() if m["indicator_key"] == i["key"]
                       and m["assessment"]), key=lambda m: m["period_start"])
    rows = "".join(f"<tr><td>{escape(french.period(m['period_start'], m['period_end']))}</td>"
                   f"<td>{escape(m['assessment'])}</td></tr>" for m in measures)
    body = (f'<table><thead><tr><th>{label("period")}</th><th>{label("assessment")}</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>" if measures else f"<p>{label('no_assessment')}</p>")
    return (f'<section class="indicator qualitative" id="i-{escape(i["key"])}"><h3>{number} {escape(i["name"])}</h3>'
            f'<p class="figures">{label("qualitative_note")}</p>{body}</section>')


def axis_actions(report: Report, axis_key: str) -> str:
    actions = [a for a in report.plan["actions"].values() if a["axis_key"] == axis_key]
    if not actions:
        return ""
    rows = "".join(f"<tr><td>{escape(a['title'])}</td><td>{escape(status(a['owner']))}</td>"
                   f"<td>{escape(french.day(a['due_on']) if a['due_on'] else '')}</td>"
                   f"<td>{escape(status(a['status']))}</td></tr>" for a in actions)
    return (f'<section class="indicator actions"><h3>{label("axis_actions")}</h3><table><thead><tr>'
            f'<th>{label("action")}</th><th>{label("owner")}</th><th>{label("due_on")}</th>'
            f'<th>{label("status")}</th></tr></thead><tbody>{rows}</tbody></table></section>')


def axes_html(report: Report) -> tuple[list[str], list[tuple[str, str]]]:
    charts = {c.key: c for c in trajectories(report)}
    parts: list[str] = []
    toc: list[tuple[str, str]] = []
    axes = report.balance["axes"]
    for a, axis in enumerate(axes, 1):
        anchor = f"axe-{a}"
        toc.append((anchor, f"{a}. {label('axis')} : {axis['title']}"))
        parts.append(f'<section class="axis"><h2 id="{anchor}">{a}. {label("axis")} : {escape(axis["title"])}</h2>')
        if axis["added_by_avenant"]:
            parts.append(f'<p class="objective">{label("axis_by_avenant")}</p>')
        if not axis["objectives"]:
            parts.append(f'<p class="objective">{label("axis_without_objective")}</p>')
        n = 0
        for objective in axis["objectives"]:
            parts.append(f'<p class="objective"><b>{label("objective")} :</b> {escape(objective["title"])} '
                         f'({escape(label("kind_" + objective["kind"]))})</p>')
            for i in objective["indicators"]:
                n += 1
                number = f"{a}.{n}"
                if i["kind"] == "qualitative":
                    parts.append(qualitative_html(report, number, i))
                    continue
                chart = charts.get(i["key"])
                parts.append(f'<section class="indicator" id="i-{escape(i["key"])}"><h3>{number} '
                             f'{escape(i["name"])}</h3><p class="figures">{escape(figures_line(i, chart))}</p>')
                if chart is not None:
                    caption = label("chart_caption") + (label("chart_caption_members") if chart.members else "")
                    parts.append(f"<figure>{svg(chart)}<figcaption>{label('chart_figure')} {chart.number} — "
                                 f"{escape(caption)}</figcaption></figure>{chart_table(report, chart)}")
                else:
                    parts.append(f"<p>{label('no_measure')}</p>")
                parts.append("</section>")
        parts.append(axis_actions(report, axis["key"]))
        parts.append("</section>")
    return parts, toc


def render(report: Report, pages: dict[str, int] | None = None) -> str:
    """The HTML document; `pages` (anchor → page number, from a first printing) puts page numbers in the
    table of contents."""
    title = title_of(report)
    axes, toc = axes_html(report)
    shown_tables = [t for t in tables(report) if t.key in ("indicateurs", "actions", "propositions", "revues",
                                                           "avenants", "gains")]
    toc += [(f"t-{t.key}", f"{len(toc) + k}. {t.title}") for k, t in enumerate(shown_tables, 1)]
    toc.append(("t-provenance", f"{len(toc) + 1}. {label('provenance')}"))
    parts = [f'<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>{escape(title)} — '
             f'{escape(report.plan["title"])}</title><style>{page_css(report)}</style></head><body>',
             '<div class="cover">', f'<p class="kicker">{escape(report.groupement)}</p>',
             f"<h1>{escape(title)} — {escape(report.plan['title'])}</h1>",
             f'<p class="meta">{label("marche")} {escape(report.marche["code"])} — {escape(report.marche["object"])}'
             f"</p>"]
    if report.audience:
        parts.append(f'<p class="note">{escape(report.audience)}</p>')
    parts.append(f'<section class="summary"><h2>{label("summary")}</h2><table class="summary"><tbody>')
    parts += [f"<tr><td>{escape(k)}</td><td>{escape(shown(v, Column(k)))}</td></tr>" for k, v in summary(report)]
    parts.append("</tbody></table></section>")
    parts.append(f'<nav class="toc"><h2>{label("contents")}</h2><ol>'
                 + "".join(f'<li><a href="#{anchor}">{escape(text)}</a>'
                           + (f'<span class="leader"></span><span class="page">{pages[anchor]}</span>'
                              if pages and anchor in pages else "") + "</li>" for anchor, text in toc)
                 + "</ol></nav></div>")
    parts += axes
    for table in shown_tables:
        parts.append(f'<section><h2>{escape(table.title)}</h2><a id="t-{table.key}"></a>{table_html(table)}</section>')
    chain = (label("chain_text").format(link=report.chain_link) if report.chain_link else label("no_chain"))
    provenance = next(t for t in tables(report) if t.key == "provenance")
    parts.append(f'<footer><h2>{label("provenance")}</h2><a id="t-provenance"></a>'
                 f"<p>{label('provenance_text').format(position=report.position)}</p><p>{escape(chain)}</p>"
                 f"{table_html(provenance, 'summary')}</footer></body></html>")
    return "".join(parts)
