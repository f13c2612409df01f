"""The bilan's tables as spreadsheets: an XLSX workbook of typed cells (one sheet per table, frozen header, widths,
a Provenance sheet) and a zip of CSV files, one per table, in the French form by default (`;`, decimal comma,
`dd/mm/yyyy`, UTF-8 with a BOM so that a French Excel reads the accents) or the international one (`,`, `.`, ISO
dates, no BOM). Texts go through services/reports/cells.py: no cell can run as a formula.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from progres.services.reports.bilan import (
    DATE,
    INTEGER,
    MOMENT,
    MONEY,
    NUMBER,
    PERCENT,
    Report,
    Table,
    kind_of,
    shown,
    tables,
)
from progres.services.reports.cells import neutral

BOM = "\ufeff"
FORMATS = {INTEGER: "0", MONEY: '#,##0.00 "€"', PERCENT: "0.00 %", DATE: "DD/MM/YYYY", MOMENT: "DD/MM/YYYY HH:MM"}
MIN_WIDTH, MAX_WIDTH = 8, 60
FORBIDDEN_IN_SHEET_NAMES = str.maketrans(dict.fromkeys("[]:*?/\\", " "))


def number_format(value: Any, kind: str) -> str:
    if kind == NUMBER:
        return "#,##0.00" if Decimal(str(value)) != Decimal(str(value)).to_integral_value() else "#,##0"
    return FORMATS[kind]


def xlsx_value(value: Any, kind: str) -> Any:
    if kind == PERCENT:
        return Decimal(str(value)) / 100  # a percentage cell holds the fraction; its format shows `3,33 %`
    if kind in (NUMBER, MONEY):
        return Decimal(str(value))
    return value


def write_sheet(book: Any, table: Table) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill  # noqa: PLC0415
    from openpyxl.utils import get_column_letter  # noqa: PLC0415

    sheet = book.create_sheet(table.title.translate(FORBIDDEN_IN_SHEET_NAMES)[:31])
    sheet.append([c.title for c in table.columns])
    for cell in sheet[1]:
        cell.data_type = "s"
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="E8E8E8")
        cell.alignment = Alignment(vertical="top", wrap_text=True)
    widths = [len(c.title) for c in table.columns]
    for r, row in enumerate(table.rows, 2):
        for c, (raw, column) in enumerate(zip(row, table.columns, strict=True), 1):
            value, kind = kind_of(raw, column)
            cell = sheet.cell(row=r, column=c)
            if value is None or value == "":
                continue
            if kind in FORMATS or kind == NUMBER:
                cell.value = xlsx_value(value, kind)
                cell.number_format = number_format(value, kind)
            else:
                cell.value = neutral(str(value))  # cells.py: a member's text never runs as a formula
                cell.data_type = "s"
                cell.alignment = Alignment(vertical="top", wrap_text=True)
            widths[c - 1] = max(widths[c - 1], len(shown(raw, column)) + 2)
    for c, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(c)].width = max(MIN_WIDTH, min(MAX_WIDTH, width))
    sheet.freeze_panes = "A2"
    if table.rows:
        sheet.auto_filter.ref = sheet.dimensions


def workbook(report: Report) -> bytes:
    from openpyxl import Workbook  # noqa: PLC0415 - only this format needs it

    book = Workbook()
    book.remove(book.active)
    for table in tables(report):
        write_sheet(book, table)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_value(value: Any, kind: str, international: bool) -> str:
    if value is None or value == "":
        return ""
    if kind == MOMENT and isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes") if international else value.strftime("%d/%m/%Y %H:%M")
    if kind == DATE and isinstance(value, date):
        return value.isoformat() if international else value.strftime("%d/%m/%Y")
    if kind in (NUMBER, MONEY, PERCENT, INTEGER):
        text = format(Decimal(str(value)), "f")
        return text if international else text.replace(".", ",")
    return neutral(str(value))  # cells.py: no cell can run as a formula


def table_csv(table: Table, international: bool) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="," if international else ";")
    writer.writerow([neutral(c.title) for c in table.columns])
    for row in table.rows:
        writer.writerow([csv_value(*kind_of(raw, column), international)
                         for raw, column in zip(row, table.columns, strict=True)])
    return ((BOM if not international else "") + buffer.getvalue()).encode("utf-8")


def csv_archive(report: Report, international: bool = False) -> bytes:
    """One CSV file per table (`indicateurs.csv`, `gains.csv`…), in one zip."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for table in tables(report):
            archive.writestr(f"{table.key}.csv", table_csv(table, international))
    return buffer.getvalue()
