"""A member's dashboard from its member view: the rows of each indicator's data table, the target in force per
period (the trajectory's steps), and the chart drawn only where there is something to draw."""

from __future__ import annotations

from progres.console.dashboard import panels, period_start


def view(observations: list[dict], groupement: list[dict]) -> dict:
    return {"indicators": [
        {"key": "egalim_share", "name": "Part des labels EGalim", "kind": "quantitative", "unit": "%",
         "target_in_force": "50", "trajectory": [{"from": "2022-01-01", "target": 35}, {"from": "2023-01-01",
                                                                                        "target": 50}],
         "target": "50", "observations": observations, "groupement": groupement},
        {"key": "siqo_list", "name": "Suivi SIQO", "kind": "qualitative", "unit": None, "target_in_force": None,
         "observations": [{"period_start": "2022-01-01", "period_end": "2022-06-30", "value": None,
                           "assessment": "14 références", "source": "revue"}], "groupement": []},
    ]}


def test_each_period_has_its_row_with_the_target_then_in_force_and_the_chart_its_title():
    shown = panels(view(
        [{"period_start": "2022-07-01", "period_end": "2022-12-31", "value": "33.5", "source": "factures"}],
        [{"period_end": "2022-06-30", "value": "26", "members": 6}, {"period_end": "2022-12-31", "value": "33.1",
                                                                     "members": 6}]),
        "Lycée Béhal", {"egalim_share": "semestrial"})
    egalim, siqo = shown
    assert [(r.period, r.mine, r.groupement, r.target) for r in egalim.rows] == [
        ("1er sem. 2022", "—", "26\u00a0%", "35\u00a0%"), ("2e sem. 2022", "33,5\u00a0%", "33,1\u00a0%", "35\u00a0%")]
    assert egalim.target_in_force == "50\u00a0%"
    assert egalim.chart.startswith("<svg")
    assert "<title id=\"chart-1-title\">Part des labels EGalim</title>" in egalim.chart
    assert "Lycée Béhal" in egalim.chart
    assert siqo.assessments == [("1er sem. 2022", "14 références", "revue")]
    assert siqo.chart == ""


def test_an_indicator_without_any_figure_has_no_chart():
    egalim, _ = panels(view([], []), "Lycée Béhal", {})
    assert egalim.rows == []
    assert egalim.chart == ""


def test_a_period_known_only_by_its_end_starts_where_its_periodicity_says():
    assert period_start("2023-06-30", "semestrial") == "2023-01-01"
    assert period_start("2023-12-31", "quarterly") == "2023-10-01"
    assert period_start("2023-12-31", "annual") == "2023-01-01"
    assert period_start("2023-06-15", "semestrial") == "2023-06-15"  # not a month's end: left as it is
