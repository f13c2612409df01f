"""Spreadsheet cells that cannot run: neutralising formula injection (OWASP "CSV injection").

A text a member typed (a proposition's title, a point raised in a revue) that starts with `=`, `+`, `-`, `@`, a
tab or a carriage return is read by a spreadsheet as a formula (`=HYPERLINK(…)`, `=cmd|…`). Every such text is
prefixed with an apostrophe, in every spreadsheet-like output (CSV and XLSX), and XLSX text cells are stored as
strings, never as formulas. Numbers stay numbers: a negative amount (`-1200.00`) is a number, not a formula, so
it is neither prefixed nor turned into text.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# A plain decimal number: what the balance writes for amounts and figures (no exponent, no thousands separator).
NUMBER = re.compile(r"[+-]?(?:0|[1-9]\d{0,14})(?:\.\d+)?")


def is_number(text: str) -> bool:
    return NUMBER.fullmatch(text) is not None


def neutral(text: str) -> str:
    """The text, made inert for a spreadsheet if it could start a formula."""
    if text.startswith(FORMULA_TRIGGERS) and not is_number(text):
        return "'" + text
    return text


def csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return neutral(str(value))
    return value


def xlsx_cell(value: Any) -> Any:
    """Numbers (and plain decimal texts) as numeric cells, anything else as inert text."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return value
    text = str(value)
    if is_number(text):
        return Decimal(text)
    return neutral(text)


def append_row(sheet: Any, row: list[Any]) -> None:
    """Appends a row to an openpyxl sheet; text cells are typed as strings so that none is read as a formula."""
    sheet.append([xlsx_cell(c) for c in row])
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"
