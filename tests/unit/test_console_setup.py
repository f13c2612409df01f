"""The setup pages' own parsing: keys drawn from titles, French integers, and a refusal of the API placed on the
form's field it names (a trajectory step by its row in the form, not its index in the list sent)."""

from __future__ import annotations

import pytest

from progres.console.forms import FieldError
from progres.console.setup import SETUP_STEPS, form_field, french_integer, key_of, parse_indicator, slug


def test_a_key_is_drawn_from_the_title_unless_one_is_typed():
    assert slug("Réduire le gaspillage alimentaire !") == "reduire-le-gaspillage-alimentaire"
    assert slug("€€€") == "element"
    assert len(slug("a" * 100)) == 64
    assert key_of("  ma-cle ", "Titre") == "ma-cle"
    assert key_of("", "Œufs plein air") == "oeufs-plein-air"


def test_french_integers():
    assert french_integer("24") == 24
    assert french_integer("1 200") == 1200
    for wrong in ("24,5", "deux", "1e3"):
        with pytest.raises(FieldError, match="n'est pas un nombre entier"):
            french_integer(wrong)
    with pytest.raises(FieldError, match="obligatoire"):
        french_integer("  ")


def test_a_refusal_is_placed_on_the_field_it_names():
    mapping = SETUP_STEPS["indicator"][3]
    # Steps typed in rows 1 and 3: the API's second step is the form's third row.
    assert form_field("indicator", ["indicator", "trajectory", "1", "target"], mapping, [1, 3]) == \
        "indicator_step3_target"
    assert form_field("indicator", ["indicator", "unit"], mapping, []) == "indicator_unit"
    assert form_field("indicator", ["indicator", "objectiveKey"], mapping, []) == "indicator_objective"
    assert form_field("indicator", [], mapping, []) == "indicator_form"
    assert form_field("axis", ["key"], SETUP_STEPS["axis"][3], []) == "axis_key"
    assert form_field("gain", ["partyShares"], SETUP_STEPS["gain"][3], []) == "gain_titulaire"


def test_an_indicator_is_sent_as_the_typed_input_french_numbers_and_dates_read():
    errors, variables = parse_indicator({
        "indicator_objective": "o", "indicator_name": "Part des labels", "indicator_kind": "quantitative",
        "indicator_unit": "%", "indicator_direction": "increase", "indicator_aggregation": "mean",
        "indicator_periodicity": "yearly", "indicator_scope": "member", "indicator_baseline": "22",
        "indicator_target": "1 000,5", "indicator_step2_from": "01/01/2024", "indicator_step2_target": "35,5",
    }, {"objectives": {"o": "Objectif"}})
    assert errors == {}
    assert variables["indicator"] == {
        "objectiveKey": "o", "kind": "quantitative", "aggregation": "mean", "periodicity": "yearly",
        "scope": "member", "direction": "increase", "name": "Part des labels", "unit": "%", "baseline": "22",
        "target": "1000.5", "key": "part-des-labels", "trajectory": [{"from": "2024-01-01", "target": "35.5"}]}
    assert variables["_rows"] == [2]
    errors, _ = parse_indicator({"indicator_objective": "autre", "indicator_target": "beaucoup",
                                 "indicator_step1_from": "32/01/2024"}, {"objectives": {"o": "Objectif"}})
    assert set(errors) >= {"indicator_objective", "indicator_target", "indicator_step1_from", "indicator_step1_target",
                           "indicator_name", "indicator_kind"}
