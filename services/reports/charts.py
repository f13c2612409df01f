"""SVG charts of the bilan, drawn server-side: one indicator's trajectory against the target in force.

Made to be read on paper, in grey and by colour-blind readers: the Okabe–Ito palette, and each line told apart by
its weight and dash pattern as much as by its colour; a y axis with its unit and gridlines, French period labels
on the x axis, the target drawn as steps (the trajectory), the groupement's line emphasised, each member's line
labelled at its end, and a `<title>`/`<desc>` for screen readers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from html import escape

from progres.services import french
from progres.services.reports.labels import label

GROUPEMENT_COLOUR = "#0072B2"  # Okabe–Ito blue
TARGET_COLOUR = "#D55E00"  # Okabe–Ito vermillion
# Members: the other Okabe–Ito colours (not the yellow, unreadable on white) with their own dash patterns.
MEMBER_STYLES = [("#009E73", "5 2"), ("#CC79A7", "2 2"), ("#E69F00", "7 2 2 2"), ("#56B4E9", "1 3"),
                 ("#000000", "4 4"), ("#7F7F7F", "8 3"), ("#009E73", "1 2 5 2"), ("#CC79A7", "9 2 1 2")]
GRID_COLOUR = "#D0D0D0"
WIDTH, HEIGHT = 720, 290
LEFT, RIGHT, TOP, BOTTOM = 64, 200, 44, 52
LABEL_GAP = 11


@dataclass
class Line:
    name: str
    values: dict[str, Decimal]  # period end → value


@dataclass
class Trajectory:
    """What one chart shows: periods (start, end), the groupement's values, the target in force in each period,
    the members' values (only those the reader may see)."""

    number: int
    key: str
    name: str
    unit: str
    periods: list[tuple[str, str]]
    groupement: dict[str, Decimal]
    targets: dict[str, Decimal]
    members: list[Line] = field(default_factory=list)


def nice_step(span: float) -> float:
    raw = span / 5 if span > 0 else 1.0
    power = 10 ** math.floor(math.log10(raw))
    return float(next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw))


def ticks(values: list[float]) -> list[float]:
    low, high = min(values), max(values)
    if low == high:
        low, high = low - 1, high + 1
    step = nice_step(high - low)
    first, last = math.floor(low / step) * step, math.ceil(high / step) * step
    count = round((last - first) / step)
    return [first + i * step for i in range(count + 1)]


def unit_phrase(unit: str) -> str:
    return f"{label('chart_in')} {unit}" if unit else label("chart_value")


def spread(wanted: list[tuple[float, str, str]], top: float, bottom: float) -> list[tuple[float, str, str]]:
    """End-of-line labels moved apart so that none overlaps another, kept inside the plot's height."""
    placed: list[tuple[float, str, str]] = []
    for wanted_y, text, colour in sorted(wanted):
        placed.append((max(wanted_y, top, placed[-1][0] + LABEL_GAP if placed else top), text, colour))
    overflow = (placed[-1][0] - bottom) if placed else 0
    if overflow > 0:
        placed = [(y - overflow, t, c) for y, t, c in placed]
        for i in range(len(placed) - 2, -1, -1):  # pushed up: keep the gaps from the bottom
            if placed[i + 1][0] - placed[i][0] < LABEL_GAP:
                placed[i] = (placed[i + 1][0] - LABEL_GAP, placed[i][1], placed[i][2])
    return placed


def short(name: str, size: int = 34) -> str:
    return name if len(name) <= size else name[: size - 1].rstrip() + "…"


def svg(chart: Trajectory) -> str:
    periods = chart.periods
    values = [float(v) for v in chart.groupement.values()] + [float(v) for v in chart.targets.values()]
    values += [float(v) for m in chart.members for v in m.values.values()]
    scale = ticks(values)
    low, high = scale[0], scale[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    band = plot_w / max(1, len(periods))

    def x(index: int) -> float:
        return LEFT + band * (index + 0.5)

    def y(value: float) -> float:
        return TOP + plot_h - (value - low) / (high - low) * plot_h

    ends = [end for _, end in periods]
    out: list[str] = []
    for tick in scale:  # gridlines and the y axis' figures
        out.append(f'<line class="grid" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
                   f'stroke="{GRID_COLOUR}" stroke-width="0.8"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y(tick) + 3.5:.1f}" font-size="10" text-anchor="end">'
                   f'{escape(french.number(Decimal(str(round(tick, 6)))))}</text>')
    out.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + plot_h}" stroke="#000" stroke-width="1"/>')
    out.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{TOP + plot_h}" y2="{TOP + plot_h}" stroke="#000" '
               f'stroke-width="1"/>')
    out.append(f'<text class="y-title" x="{LEFT - 6}" y="{TOP - 10}" font-size="11" font-weight="bold" '
               f'text-anchor="start">{escape(unit_phrase(chart.unit))}</text>')
    for index, (start, end) in enumerate(periods):  # x axis: periods in French
        out.append(f'<line x1="{x(index):.1f}" x2="{x(index):.1f}" y1="{TOP + plot_h}" y2="{TOP + plot_h + 4}" '
                   f'stroke="#000"/>')
        out.append(f'<text x="{x(index):.1f}" y="{TOP + plot_h + 17}" font-size="10" text-anchor="middle">'
                   f'{escape(french.period(start, end))}</text>')
    out.append(f'<text x="{LEFT + plot_w / 2:.1f}" y="{HEIGHT - 8}" font-size="10" text-anchor="middle" '
               f'font-style="italic">{escape(label("chart_periods"))} · {escape(label("chart_figure"))} '
               f'{chart.number}</text>')
    # The target in force, as steps: flat over each period, stepping where the trajectory changes.
    steps: list[str] = []
    for index, end in enumerate(ends):
        if end in chart.targets:
            level = y(float(chart.targets[end]))
            steps += [f"{LEFT + band * index:.1f},{level:.1f}", f"{LEFT + band * (index + 1):.1f},{level:.1f}"]
    labels: list[tuple[float, str, str]] = []
    if steps:
        out.append(f'<polyline class="target-line" fill="none" stroke="{TARGET_COLOUR}" stroke-width="2.5" '
                   f'stroke-dasharray="9 4" points="{" ".join(steps)}"/>')
        labels.append((float(steps[-1].split(",")[1]) + 3.5, label("chart_target"), TARGET_COLOUR))
    for m, member in enumerate(chart.members):
        colour, dash = MEMBER_STYLES[m % len(MEMBER_STYLES)]
        points = [(ends.index(e), float(v)) for e, v in member.values.items() if e in ends]
        if not points:
            continue
        out.append(f'<polyline class="member-line" fill="none" stroke="{colour}" stroke-width="1.3" '
                   f'stroke-dasharray="{dash}" points="{" ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in points)}"/>')
        labels.append((y(points[-1][1]) + 3.5, short(member.name), colour))
    points = [(ends.index(e), float(v)) for e, v in chart.groupement.items() if e in ends]
    if points:
        out.append(f'<polyline class="groupement-line" fill="none" stroke="{GROUPEMENT_COLOUR}" stroke-width="4" '
                   f'stroke-linejoin="round" points="{" ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in points)}"/>')
        out += [f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="4.5" fill="#fff" stroke="{GROUPEMENT_COLOUR}" '
                f'stroke-width="2.5"/>' for i, v in points]
        labels.append((y(points[-1][1]) + 3.5, label("chart_groupement"), GROUPEMENT_COLOUR))
    for ly, text, colour in spread(labels, TOP + 4, TOP + plot_h + 4):
        weight = ' font-weight="bold"' if colour in (GROUPEMENT_COLOUR, TARGET_COLOUR) else ""
        out.append(f'<text x="{LEFT + plot_w + 8}" y="{ly:.1f}" font-size="9" fill="{colour}"{weight}>'
                   f'{escape(text)}</text>')
    out.append(legend(bool(chart.members)))
    ident = f"chart-{chart.number}"
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
            f'height="{HEIGHT}" role="img" aria-labelledby="{ident}-title {ident}-desc" class="chart" '
            f'font-family="DejaVu Sans, Arial, sans-serif">'
            f'<title id="{ident}-title">{escape(chart.name)}</title><desc id="{ident}-desc">{escape(describe(chart))}'
            f'</desc>{"".join(out)}</svg>')


def legend(with_members: bool) -> str:
    x0 = WIDTH - RIGHT - 330
    parts = [f'<line x1="{x0}" x2="{x0 + 26}" y1="12" y2="12" stroke="{GROUPEMENT_COLOUR}" stroke-width="4"/>',
             f'<text x="{x0 + 31}" y="15.5" font-size="10">{escape(label("chart_groupement"))}</text>',
             f'<line x1="{x0 + 110}" x2="{x0 + 136}" y1="12" y2="12" stroke="{TARGET_COLOUR}" stroke-width="2.5" '
             f'stroke-dasharray="9 4"/>',
             f'<text x="{x0 + 141}" y="15.5" font-size="10">{escape(label("chart_target_in_force"))}</text>']
    if with_members:
        parts += [f'<line x1="{x0 + 250}" x2="{x0 + 276}" y1="12" y2="12" stroke="#009E73" stroke-width="1.3" '
                  f'stroke-dasharray="5 2"/>',
                  f'<text x="{x0 + 281}" y="15.5" font-size="10">{escape(label("chart_members"))}</text>']
    return f'<g class="legend">{"".join(parts)}</g>'


def describe(chart: Trajectory) -> str:
    """The chart in one sentence, for screen readers and the SVG's `desc`."""
    ends = [end for _, end in chart.periods if end in chart.groupement]
    if not ends:
        return chart.name
    first, last = ends[0], ends[-1]
    period_of = {e: s for s, e in chart.periods}
    target = chart.targets.get(last)
    text = (f"{chart.name} : {french.quantity(chart.groupement[first], chart.unit)} "
            f"({french.period(period_of[first], first)}) puis {french.quantity(chart.groupement[last], chart.unit)} "
            f"({french.period(period_of[last], last)})")
    if target is not None:
        text += f", pour une cible de {french.quantity(target, chart.unit)}"
    return french.plain(text) + "."
