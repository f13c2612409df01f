"""The console's French input: decimals and dates as people write them in France, and the French message of
each refusal (console/forms.py), and the measure form's fields turned into the mutation's variables."""

from __future__ import annotations

from datetime import date

import pytest

from progres.console.forms import FieldError, french_date, french_decimal, required_text
from progres.console.web import parse_measure


@pytest.mark.parametrize(("typed", "sent"), [("31,5", "31.5"), ("31.5", "31.5"), (" 1 234,50 ", "1234.50"),
                                             ("1\u202f234,5", "1234.5"), ("1\u00a0010", "1010"), ("-2,25", "-2.25"),
                                             ("0", "0")])
def test_a_french_decimal_is_sent_with_a_point(typed, sent):
    assert french_decimal(typed) == sent


@pytest.mark.parametrize("typed", ["trente", "31,5,2", "1.234,5", "NaN", "Infinity", "1e3", "31,", ",5", "--1"])
def test_what_is_not_a_decimal_is_refused_in_french(typed):
    with pytest.raises(FieldError) as refused:
        french_decimal(typed)
    assert refused.value.text == f"« {typed} » n'est pas un nombre (écrivez par exemple 31,5)."


def test_an_empty_value_is_required():
    with pytest.raises(FieldError, match=r"Ce champ est obligatoire\."):
        french_decimal("  ")


@pytest.mark.parametrize(("typed", "day"), [("15/03/2025", date(2025, 3, 15)), ("1/7/2023", date(2023, 7, 1)),
                                            ("2025-03-15", date(2025, 3, 15))])
def test_a_french_date_is_read(typed, day):
    assert french_date(typed) == day


@pytest.mark.parametrize("typed", ["31/02/2023", "15-03-2025", "03/15/2025", "15/03/25", "demain"])
def test_what_is_not_a_date_is_refused_in_french(typed):
    with pytest.raises(FieldError) as refused:
        french_date(typed)
    assert refused.value.text == f"« {typed} » n'est pas une date au format jj/mm/aaaa (par exemple 15/03/2025)."


def test_an_optional_date_may_be_empty_and_a_long_value_is_quoted_short():
    assert french_date("", required=False) is None
    with pytest.raises(FieldError) as refused:
        french_date("x" * 500)
    assert len(refused.value.text) < 120
    with pytest.raises(FieldError, match="au plus 200 caractères"):
        required_text("y" * 201)


def test_the_measure_form_gives_the_mutations_variables_or_each_fields_error():
    indicators = {"egalim_share": {"key": "egalim_share", "scope": "member"}}
    errors, variables = parse_measure({"indicator": "egalim_share", "period_start": "01/01/2023",
                                       "period_end": "30/06/2023", "value": "31,5", "source": " factures ",
                                       "declared_on": ""}, indicators)
    assert errors == {}
    assert variables == {"indicatorKey": "egalim_share", "periodStart": "2023-01-01", "periodEnd": "2023-06-30",
                         "value": "31.5", "source": "factures", "declaredOn": None}
    errors, _ = parse_measure({"indicator": "unknown", "period_start": "30/06/2023", "period_end": "01/01/2023",
                               "value": "x", "source": ""}, indicators)
    assert set(errors) == {"indicator", "period_end", "value", "source"}
    assert errors["period_end"] == "La fin de la période doit suivre son début."
