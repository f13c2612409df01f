"""French formatting (services/french.py): what every report, the CLI and the console show."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from progres.services import french

NNBSP, NBSP = "\u202f", "\u00a0"


@pytest.mark.parametrize(("value", "shown"), [
    (Decimal("480000.00"), f"480{NNBSP}000"), ("48.5612", "48,56"), ("1.5", "1,5"), (7, "7"), ("-9.23", "-9,23"),
    (None, "—"),
])
def test_numbers_have_a_decimal_comma_and_narrow_spaces_between_thousands(value, shown):
    assert french.number(value) == shown


def test_money_percentages_and_quantities():
    assert french.money("480000.00") == f"480{NNBSP}000,00{NBSP}€"
    assert french.money("28000", "HT") == f"28{NNBSP}000,00{NBSP}€{NBSP}HT"
    assert french.percent("3.33") == f"3,33{NBSP}%"
    assert french.percent("22.00") == f"22{NBSP}%"
    assert french.quantity("1010", "m³") == f"1{NNBSP}010{NBSP}m³"
    assert french.quantity("48.56", "%") == f"48,56{NBSP}%"


@pytest.mark.parametrize(("value", "unit"), [("0.98", "passage"), ("1", "passage"), ("1.97", "passage"),
                                             ("2", "passages"), ("15.5", "passages")])
def test_a_unit_that_is_a_plural_word_agrees_with_its_figure(value, unit):
    assert french.plain(french.quantity(value, "passages")).endswith(" " + unit)


def test_dates_in_words_and_periods():
    assert french.day("2024-01-15") == "15 janvier 2024"
    assert french.day("2024-01-01") == "1er janvier 2024"
    assert french.short_day("2024-01-05") == "05/01/2024"
    assert french.moment(datetime(2026, 11, 29, 11, 14)) == "29 novembre 2026 à 11:14 UTC"
    assert french.period("2022-01-01", "2022-06-30") == "1er sem. 2022"
    assert french.period("2023-07-01", "2023-12-31") == "2e sem. 2023"
    assert french.period("2023-04-01", "2023-06-30") == "2e trim. 2023"
    assert french.period("2023-01-01", "2023-12-31") == "2023"
    assert french.period("2024-01-01", "2024-01-31") == "janv. 2024"
    assert french.period("2024-01-10", "2024-02-20") == "10/01/2024–20/02/2024"


@pytest.mark.parametrize(("count", "shown"), [(0, "0 rejetée"), (1, "1 rejetée"), (2, "2 rejetées"),
                                              (1500, "1 500 rejetées")])
def test_words_follow_french_plural_rules(count, shown):
    assert french.plain(french.count(count, "rejetée")) == shown
