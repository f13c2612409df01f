"""French formatting (fr_FR, through Babel) of what people read: numbers, money, percentages, dates in words,
periods and plural words. One module, so that reports, the CLI and the console show figures alike.

Spaces are the typographic ones French uses: a narrow no-break space between thousands and before `€`, a
no-break space before `%`; `plain()` turns them into ordinary spaces for the places that want ASCII spaces.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal

LOCALE = "fr_FR"
_FR = Locale.parse(LOCALE)
NBSP = "\u00a0"
NNBSP = "\u202f"

Number = Decimal | int | float | str


def decimal(value: Number) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


def number(value: Number | None, places: int | None = None) -> str:
    """`1 234,5` (up to 2 decimals, as many as the value has) or exactly `places` decimals."""
    if value is None:
        return "—"
    amount = decimal(value)
    if places is None:
        shown = min(2, max(0, -amount.normalize().as_tuple().exponent))  # type: ignore[operator]
        return format_decimal(amount, format="#,##0" + ("." + "#" * shown if shown else ""), locale=LOCALE)
    return format_decimal(amount, format="#,##0" + ("." + "0" * places if places else ""), locale=LOCALE)


def money(value: Number | None, suffix: str = "") -> str:
    """`480 000,00 €` (with `suffix`, e.g. `HT`: `480 000,00 € HT`)."""
    if value is None:
        return "—"
    text = format_currency(decimal(value), "EUR", locale=LOCALE)
    return f"{text}{NBSP}{suffix}" if suffix else text


def percent(value: Number | None, places: int | None = None) -> str:
    """A figure already in percent (`3.33`) as `3,33 %` (`22 %` for `22.00`, unless `places` is given)."""
    if value is None:
        return "—"
    return f"{number(value, places)}{NBSP}%"


def quantity(value: Number | None, unit: str | None) -> str:
    """A figure with its unit: `48,56 %`, `1 010 m³`, `15,5 € HT`, `1 passage`."""
    if value is None:
        return "—"
    if not unit:
        return number(value)
    if unit == "%":
        return percent(value)
    if unit.isalpha() and unit.endswith("s") and _FR.plural_form(abs(decimal(value))) == "one":
        unit = unit[:-1]  # a unit that is a plural word: `1 passage`, `0,98 passage`, `2 passages`
    return f"{number(value)}{NBSP}{unit}"


def as_date(value: date | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(value[:10])


def day(value: date | str | None) -> str:
    """`1er janvier 2024`, `15 janvier 2024`."""
    if value is None or value == "":
        return "—"
    when = as_date(value)
    text = format_date(when, format="d MMMM y", locale=LOCALE)
    return "1er" + text[1:] if when.day == 1 else text


def short_day(value: date | str | None) -> str:
    """`15/01/2024`, for dense tables."""
    if value is None or value == "":
        return "—"
    return format_date(as_date(value), format="dd/MM/y", locale=LOCALE)


def moment(value: datetime) -> str:
    """`29 novembre 2026 à 11:14 UTC`."""
    return format_datetime(value, format="d MMMM y 'à' HH:mm 'UTC'", locale=LOCALE)


def month(value: date | str) -> str:
    return format_date(as_date(value), format="MMM y", locale=LOCALE)


def period(start: date | str, end: date | str) -> str:
    """A measurement period in words: `1er sem. 2022`, `2e trim. 2023`, `2023`, `janv. 2024` or `janv.–mars 2024`."""
    first, last = as_date(start), as_date(end)
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    if first.day == 1 and first.year == last.year:
        if months == 12 and first.month == 1:
            return str(first.year)
        if months == 6 and first.month in (1, 7):
            return f"{'1er' if first.month == 1 else '2e'} sem. {first.year}"
        if months == 3 and first.month in (1, 4, 7, 10):
            rank = (first.month - 1) // 3 + 1
            return f"{'1er' if rank == 1 else f'{rank}e'} trim. {first.year}"
        if months == 1:
            return month(first)
        return f"{format_date(first, format='MMM', locale=LOCALE)}–{month(last)}"
    return f"{short_day(first)}–{short_day(last)}"


def count(value: int, singular: str, plural: str | None = None) -> str:
    """`0 rejetée`, `1 rejetée`, `2 rejetées`: French plural rules (CLDR: 0 and 1 take the singular)."""
    word = singular if _FR.plural_form(value) == "one" else (plural or singular + "s")
    return f"{number(value)}{NBSP}{word}"


def plain(text: str) -> str:
    """The text with French no-break spaces made ordinary spaces."""
    return text.replace(NNBSP, " ").replace(NBSP, " ")


def cell_number(value: Any, decimal_mark: str = ",") -> str:
    """A number for a CSV cell: no thousands separator, the given decimal mark (`480000,00`)."""
    return str(value).replace(".", decimal_mark)
