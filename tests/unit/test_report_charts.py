"""The bilan's SVG charts (services/reports/charts.py): axis, steps of the target, labelled lines, accessibility."""

from __future__ import annotations

import re
from decimal import Decimal
from itertools import pairwise
from xml.etree import ElementTree

from hypothesis import given
from hypothesis import strategies as st

from progres.services.reports.charts import LABEL_GAP, Line, Trajectory, spread, svg, ticks

SVG = "{http://www.w3.org/2000/svg}"
PERIODS = [("2022-01-01", "2022-06-30"), ("2022-07-01", "2022-12-31"), ("2023-01-01", "2023-06-30")]


def chart(members: list[Line]) -> ElementTree.Element:
    trajectory = Trajectory(1, "egalim", "Part des labels EGalim", "%", PERIODS,
                            {end: Decimal(v) for (_, end), v in zip(PERIODS, ("26", "33", "41"), strict=True)},
                            {"2022-06-30": Decimal(35), "2022-12-31": Decimal(35), "2023-06-30": Decimal(50)}, members)
    return ElementTree.fromstring(svg(trajectory))


def test_a_chart_has_its_unit_gridlines_french_periods_and_a_title_and_description():
    root = chart([])
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "en %" in texts
    assert [t for t in texts if "sem." in t] == ["1er sem. 2022", "2e sem. 2022", "1er sem. 2023"]
    assert {"25", "30", "35", "40", "45", "50"} <= set(texts), "round figures every 5 %"
    assert len([g for g in root.iter(f"{SVG}line") if g.get("class") == "grid"]) >= 4
    assert root.get("role") == "img"
    assert root.find(f"{SVG}title").text == "Part des labels EGalim"
    assert "cible de 50 %" in root.find(f"{SVG}desc").text.replace("\u202f", " ").replace("\xa0", " ")


def test_the_target_is_drawn_as_steps_and_each_member_is_labelled():
    root = chart([Line("Lycée Condorcet (Lens)", {"2022-06-30": Decimal(24), "2023-06-30": Decimal(40)})])
    [target] = [p for p in root.iter(f"{SVG}polyline") if p.get("class") == "target-line"]
    heights = [float(y) for y in re.findall(r",([\d.]+)", target.get("points"))]
    assert len(set(heights)) == 2, "35 then 50: two steps"
    assert [p.get("class") for p in root.iter(f"{SVG}polyline")].count("member-line") == 1
    assert "Lycée Condorcet (Lens)" in [t.text for t in root.iter(f"{SVG}text")]


@given(st.lists(st.floats(min_value=0, max_value=300), max_size=12))
def test_end_labels_never_overlap(ys):
    placed = spread([(y, str(i), "#000") for i, y in enumerate(ys)], 0, 300)
    heights = sorted(y for y, _, _ in placed)
    assert all(b - a >= LABEL_GAP - 1e-9 for a, b in pairwise(heights))


def test_ticks_are_round_and_cover_the_values():
    scale = ticks([23.7, 48.56, 35, 50])
    assert scale[0] <= 23.7
    assert scale[-1] >= 50
    assert len({round(b - a, 9) for a, b in pairwise(scale)}) == 1
