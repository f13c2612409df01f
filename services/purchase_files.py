"""Reading ma cantine purchase files: CSV (comma, semicolon or tab) or XLSX, current or older format.

The file is checked against our own Frictionless Table Schemas (services/schemas/achats.json and
achats_ancien.json, which mirror ma cantine's), then against the rules a schema cannot say (dates in
the future, local definitions without "local", the member's SIRET, the marché's period). All or
nothing: every bad cell is named by line and column, in French, and no line is kept from a bad file.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_DOWN, Decimal
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

from frictionless import Resource, Schema

from progres.domain.egalim import Family, Label, LocalDefinition, Origin
from progres.domain.purchases import PurchaseFileRefused, PurchaseLine

SCHEMAS = Path(__file__).parent / "schemas"
CURRENT, OLD = "ma-cantine-12-colonnes", "ma-cantine-8-colonnes"
SCHEMA_FILES = {CURRENT: SCHEMAS / "achats.json", OLD: SCHEMAS / "achats_ancien.json"}
MAX_BYTES = 50 * 1024 * 1024
MAX_ERRORS = 1000
PREFIX = 40  # never echo more of a cell than this
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# French texts read by the people who import (one place).
M = {
    "empty": "le fichier est vide",
    "no_lines": "le fichier ne contient aucun achat (seulement la ligne des noms de colonnes)",
    "too_big": "le fichier dépasse {size} Mo",
    "not_xlsx": "le fichier XLSX n'a pas pu être lu",
    "header_missing": "la première ligne doit contenir les noms des colonnes, dans l'ordre : {expected}",
    "header_count": "la première ligne a {got} colonnes au lieu de {want} : {expected}",
    "header_name": "ligne 1, colonne {index} : « {got} » au lieu de « {want} » (les colonnes doivent être "
                   "dans l'ordre du modèle)",
    "cells": "ligne {line} : {got} cellules au lieu de {want}",
    "blank": "ligne {line} : ligne vide, à supprimer",
    "required": "valeur obligatoire manquante",
    "date": "« {cell} » n'est pas une date au format aaaa-mm-jj",
    "number": "« {cell} » n'est pas un nombre (point comme séparateur décimal)",
    "integer": "« {cell} » n'est pas un nombre entier",
    "boolean": "« {cell} » n'est pas une valeur acceptée (OUI, oui, x, non, NON ou vide)",
    "negative": "« {cell} » : la valeur ne peut pas être négative",
    "siret": "« {cell} » n'est pas un SIRET (14 chiffres)",
    "famille_produits": "« {cell} » n'est pas une famille de produits connue ({allowed})",
    "categories_egalim": "« {cell} » contient une catégorie EGalim inconnue ({allowed})",
    "caracteristiques": "« {cell} » contient une caractéristique inconnue ({allowed})",
    "origine": "« {cell} » : origine attendue FRANCE ou EUROPE",
    "definition_local": "« {cell} » : définition de local attendue parmi {allowed}",
    "invalid": "« {cell} » n'est pas une valeur acceptée",
    "future": "la date {cell} est dans le futur",
    "outside": "la date {cell} est hors de la période d'exécution du marché ({start} au {end})",
    "other_siret": "le SIRET « {cell} » n'est pas celui du membre importé ({siret})",
    "local_without": "à laisser vide quand l'achat n'est pas local",
    "km_without": "à laisser vide quand la définition de local n'est pas KM",
    "both_origins": "EUROPE et FRANCE ne peuvent pas être données ensemble",
}
ALLOWED = {
    "famille_produits": ", ".join(Family),
    "categories_egalim": ", ".join(Label),
    "caracteristiques": ", ".join([*Label, "EUROPE", "FRANCE", "CIRCUIT_COURT", "LOCAL"]),
    "definition_local": "PAT, COMMUNE, DEPARTEMENT, REGION, KM",
}
OLD_LOCAL = {"AUTOUR_SERVICE": (LocalDefinition.KM, 200), "AUTRE": (LocalDefinition.KM, None)}


@dataclass(frozen=True)
class PurchaseFile:
    """A checked file. Its purchases are kept as `rows`, the compact stored form of `PurchaseLine.row()` (what
    the import stores and totals); `lines` makes the objects only when something asks for them."""

    sha256: str
    filename: str
    media_type: str
    file_format: str
    delimiter: str | None  # None for XLSX
    siret: str
    rows: list[list[Any]]

    @cached_property
    def lines(self) -> list[PurchaseLine]:
        return [PurchaseLine.from_row(self.siret, row) for row in self.rows]

    @cached_property
    def months(self) -> dict[str, tuple[int, int, int]]:
        """"aaaa-mm" -> (first line, last line, purchases) of that month: provenance of the fed measures."""
        months = [row[1][:7] for row in self.rows]
        numbers = [row[0] for row in self.rows]  # increasing: the last seen is the last, the first seen the first
        last = dict(zip(months, numbers, strict=True))
        first = dict(zip(reversed(months), reversed(numbers), strict=True))
        return {month: (first[month], last[month], count) for month, count in sorted(Counter(months).items())}


def short(value: Any) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= PREFIX else text[:PREFIX] + "…"


@lru_cache(maxsize=4)
def schema_of(file_format: str) -> Schema:
    return Schema.from_descriptor(str(SCHEMA_FILES[file_format]))


def expected_header(file_format: str) -> list[str]:
    return [field.name for field in schema_of(file_format).fields]


def read(content: bytes, filename: str, *, siret: str, today: date,
         window: tuple[date, date] | None = None) -> PurchaseFile:
    """Reads and checks a whole file; raises PurchaseFileRefused naming every bad cell."""
    if not content.strip():
        raise PurchaseFileRefused([M["empty"]])
    if len(content) > MAX_BYTES:
        raise PurchaseFileRefused([M["too_big"].format(size=MAX_BYTES // 1024 // 1024)])
    is_xlsx = content[:2] == b"PK" or filename.lower().endswith(".xlsx")
    rows, delimiter = (xlsx_rows(content), None) if is_xlsx else csv_rows(content)
    file_format = check_header(rows[0] if rows else [])
    stored = fast_rows(file_format, rows, siret=siret, today=today, window=window)
    if stored is None:  # something is wrong (or unusual): the line-by-line reading names every bad cell
        stored = [line.row() for line in check_rows(file_format, rows, siret=siret, today=today, window=window)]
    return PurchaseFile(hashlib.sha256(content).hexdigest(), filename[-255:] or "achats",
                        XLSX_MEDIA_TYPE if is_xlsx else "text/csv", file_format, delimiter, siret, stored)


def decode(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("cp1252", errors="replace")  # spreadsheets saved "CSV (Windows)"


def csv_rows(content: bytes) -> tuple[list[list[str]], str]:
    text = decode(content)
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)  # column names hold none of the three
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    while rows and not rows[-1]:
        rows.pop()  # empty lines at the very end; rows of empty cells are refused, as ma cantine does
    return rows, delimiter


def xlsx_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # a SIRET typed as a number comes back as a float
    return str(value)


def xlsx_rows(content: bytes) -> list[list[str]]:
    from openpyxl import load_workbook  # noqa: PLC0415 - only XLSX files need it

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a broken archive
        raise PurchaseFileRefused([M["not_xlsx"]]) from None
    try:
        sheet = workbook.worksheets[0]
        rows = [[xlsx_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()
    # Sheets often carry formatted but empty columns on the right: cut them at the header's width.
    width = len(rows[0]) if rows else 0
    while width and not rows[0][width - 1].strip():
        width -= 1
    return trim_trailing_blanks([row[:width] for row in rows])


def trim_trailing_blanks(rows: list[list[str]]) -> list[list[str]]:
    while rows and not any(cell.strip() for cell in rows[-1]):
        rows.pop()
    return rows


def check_header(header: list[str]) -> str:
    names = [name.strip().lstrip("\ufeff").lower() for name in header]
    for file_format in (CURRENT, OLD):
        if names == expected_header(file_format):
            return file_format
    want = expected_header(OLD if len(names) == 8 or "caracteristiques" in names else CURRENT)
    listed = ", ".join(want)
    if not names or not any(names):
        raise PurchaseFileRefused([M["header_missing"].format(expected=listed)])
    errors = []
    if len(names) != len(want):
        errors.append(M["header_count"].format(got=len(names), want=len(want), expected=listed))
    errors += [M["header_name"].format(index=i + 1, got=short(got), want=wanted)
               for i, (got, wanted) in enumerate(zip(names, want, strict=False)) if got != wanted]
    raise PurchaseFileRefused(errors)


def cell_error(line: int, column: str, message: str) -> str:
    return f"ligne {line}, colonne {column} : {message}"


@dataclass(frozen=True)
class FieldCheck:
    """One field of a Table Schema, compiled: the checks frictionless makes on a cell, at a fraction of
    its cost per row (frictionless stays the reference: a test holds both to the same verdicts)."""

    name: str
    kind: str
    required: bool
    pattern: re.Pattern[str] | None
    minimum: Decimal | None
    true_values: frozenset[str]
    false_values: frozenset[str]

    @classmethod
    def of(cls, field: dict[str, Any]) -> FieldCheck:
        constraints = field.get("constraints", {})
        pattern = constraints.get("pattern")
        minimum = constraints.get("minimum")
        return cls(field["name"], field.get("type", "string"), bool(constraints.get("required")),
                   re.compile(pattern) if pattern else None, Decimal(str(minimum)) if minimum is not None else None,
                   frozenset(field.get("trueValues", ["true", "True", "TRUE", "1"])),
                   frozenset(field.get("falseValues", ["false", "False", "FALSE", "0"])))

    def read(self, cell: str) -> tuple[Any, str | None]:
        """The typed value and, if the cell breaks the schema, the problem: required, type or constraint."""
        if cell == "":
            return None, ("required" if self.required else None)
        if self.kind == "string":  # most columns: no conversion to make
            return cell, ("pattern" if self.pattern is not None and not self.pattern.fullmatch(cell) else None)
        value = TYPE_READERS[self.kind](cell, self)
        if value is None:
            return None, "type"
        if self.pattern is not None and not self.pattern.fullmatch(cell):
            return value, "pattern"
        if self.minimum is not None and value < self.minimum:
            return value, "minimum"
        return value, None

    def read_column(self, cells: tuple[str, ...]) -> list[Any] | None:
        """The typed values of a whole column, each distinct cell read once; None if any cell is bad (the
        line-by-line reading then names it)."""
        if self.kind == "string" and self.pattern is None:  # description, fournisseur: no conversion
            if "" not in cells:
                return list(cells)
            return None if self.required else [cell if cell != "" else None for cell in cells]
        memo = {}
        for cell in set(cells):
            value, problem = self.read(cell)
            if problem is not None:
                return None
            memo[cell] = value
        return list(map(memo.__getitem__, cells))


DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
INTEGER = re.compile(r"[+-]?\d+")


def _date(cell: str, _: FieldCheck) -> date | None:
    found = DATE.fullmatch(cell)
    if not found:
        return None
    try:
        return date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
    except ValueError:
        return None


def _boolean(cell: str, field: FieldCheck) -> bool | None:
    return True if cell in field.true_values else False if cell in field.false_values else None


TYPE_READERS: dict[str, Any] = {
    "string": lambda cell, _: cell,
    "any": lambda cell, _: cell,
    "date": _date,
    "number": lambda cell, _: Decimal(cell) if NUMBER.fullmatch(cell) else None,
    "integer": lambda cell, _: int(cell) if INTEGER.fullmatch(cell) else None,
    "boolean": _boolean,
}


@lru_cache(maxsize=4)
def compiled(file_format: str) -> tuple[FieldCheck, ...]:
    schema_of(file_format)  # frictionless checks the descriptor itself is a valid Table Schema
    descriptor = json.loads(SCHEMA_FILES[file_format].read_text(encoding="utf-8"))
    return tuple(FieldCheck.of(field) for field in descriptor["fields"])


def problem_message(field: FieldCheck, problem: str, cell: str) -> str:
    shown = short(cell)
    if problem == "required":
        return M["required"]
    if problem == "type":
        return M.get(field.kind, M["invalid"]).format(cell=shown)
    if problem == "minimum":
        return M["negative"].format(cell=shown)
    if field.name == "siret":
        return M["siret"].format(cell=shown)
    return M.get(field.name, M["invalid"]).format(cell=shown, allowed=ALLOWED.get(field.name, ""))


def check_rows(file_format: str, rows: list[list[str]], *, siret: str, today: date,
               window: tuple[date, date] | None) -> list[PurchaseLine]:
    width = len(rows[0])
    fields = compiled(file_format)
    errors: list[str] = []
    lines: list[PurchaseLine] = []
    for number, row in enumerate(rows[1:], start=2):
        if len(errors) >= MAX_ERRORS:
            break
        if not any(cell.strip() for cell in row):
            errors.append(M["blank"].format(line=number))
            continue
        if len(row) != width:
            errors.append(M["cells"].format(line=number, got=len(row), want=width))
            continue
        cells, bad = {}, False
        for field, cell in zip(fields, row, strict=True):
            value, problem = field.read(cell)
            if problem is not None:
                errors.append(cell_error(number, field.name, problem_message(field, problem, cell)))
                bad = True
            cells[field.name] = value
        if bad:
            continue
        line, problems = to_line(file_format, number, cells, siret, today, window)
        errors += problems
        if line is not None:
            lines.append(line)
    if errors:
        raise PurchaseFileRefused(errors)
    if not lines:
        raise PurchaseFileRefused([M["no_lines"]])
    return lines


def fast_rows(file_format: str, rows: list[list[str]], *, siret: str, today: date,
              window: tuple[date, date] | None) -> list[list[Any]] | None:
    """The stored rows of a good file, checked column by column (each distinct cell once): the same checks as
    `check_rows` and `to_line`, the same rows as `PurchaseLine.row()`. None at the first doubt: the caller
    then reads line by line, which names every bad cell in order."""
    width, body = len(rows[0]), rows[1:]
    if not body or any(len(row) != width for row in body):
        return None
    typed = {}
    columns = list(zip(*body, strict=True))
    for field, column in zip(compiled(file_format), columns, strict=True):
        values = field.read_column(column)
        if values is None:
            return None
        typed[field.name] = values
    days = set(typed["date"])
    if any(day > today or (window is not None and not window[0] <= day <= window[1]) for day in days):
        return None
    if any(str(value).strip() != siret for value in set(typed["siret"])):
        return None
    count = len(body)
    if file_format == CURRENT:
        labels = [label_text(cell) for cell in typed["categories_egalim"]]
        origins = [(cell or "").strip() for cell in typed["origine"]]
        circuit_courts = [bool(cell) for cell in typed["est_circuit_court"]]
        locals_ = [bool(cell) for cell in typed["est_local"]]
        definitions = [(cell or "").strip() for cell in typed["definition_local"]]
        kms = typed["definition_local_km"]
    else:
        old = [old_characteristics(cell) for cell in typed["caracteristiques"]]
        if any(len(origins) > 1 for _, origins, _, _ in set(old)):
            return None
        labels = [",".join(sorted(label.value for label in found)) for found, _, _, _ in old]
        origins = [found[0] if found else "" for _, found, _, _ in old]
        circuit_courts = [cc for _, _, cc, _ in old]
        locals_ = [local for _, _, _, local in old]
        local_of = [OLD_LOCAL.get(name, (name, None)) if name else ("", None)
                    for name in ((cell or "").strip() for cell in typed["definition_local"])]
        definitions = [str(definition) for definition, _ in local_of]
        kms = [km for _, km in local_of]
    if any(definition and not local for definition, local in zip(definitions, locals_, strict=True)):
        return None
    if any(km is not None and definition != "KM" for km, definition in zip(kms, definitions, strict=True)):
        return None
    iso = {day: day.isoformat() for day in days}
    cents = {price: int(price.quantize(CENT, rounding=ROUND_HALF_DOWN) * 100) for price in set(typed["prix_ht"])}
    families = {cell: str(cell).strip() for cell in set(typed["famille_produits"])}
    return [list(row) for row in zip(
        range(2, count + 2), map(iso.__getitem__, typed["date"]), map(cents.__getitem__, typed["prix_ht"]),
        map(families.__getitem__, typed["famille_produits"]), labels, origins, circuit_courts, locals_,
        definitions, kms, texts(columns[1], 500), texts(columns[2], 255), strict=True)]


def texts(cells: tuple[str, ...], limit: int) -> list[str]:
    """Free text cells stripped and cut at `limit` characters (`map` with C functions: no Python call per cell)."""
    stripped = list(map(str.strip, cells))
    return stripped if max(map(len, stripped), default=0) <= limit else [text[:limit] for text in stripped]


def reference_problems(file_format: str, rows: list[list[str]]) -> set[tuple[int, str]]:
    """The cells frictionless itself finds wrong against the same schema (tests and benchmark compare)."""
    found = set()
    with Resource(data=rows, schema=schema_of(file_format)) as resource:
        for row in resource.row_stream:
            for error in row.errors:
                if error.type in ("type-error", "constraint-error", "missing-cell"):
                    found.add((row.row_number, error.field_name))
    return found


def labels_of(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


FAMILIES = {family.value: family for family in Family}
ORIGINS = {origin.value: origin for origin in Origin}
DEFINITIONS = {definition.value: definition for definition in LocalDefinition}
CENT = Decimal("0.01")


@lru_cache(maxsize=4096)
def label_set(text: str | None) -> frozenset[Label]:
    return frozenset(Label(x) for x in labels_of(text))


@lru_cache(maxsize=4096)
def label_text(text: str | None) -> str:
    """Labels as a stored row holds them: sorted, comma-separated."""
    return ",".join(sorted(label.value for label in label_set(text)))


@lru_cache(maxsize=4096)
def old_characteristics(text: str | None) -> tuple[frozenset[Label], tuple[str, ...], bool, bool]:
    """The older format's one column, split into labels, origins, circuit court and local."""
    characteristics = labels_of(text)
    labels = frozenset(Label(c) for c in characteristics if c in Label.__members__)
    origins = tuple(dict.fromkeys(c for c in characteristics if c in ("FRANCE", "EUROPE")))
    return labels, origins, "CIRCUIT_COURT" in characteristics, "LOCAL" in characteristics


def to_line(file_format: str, number: int, cells: dict[str, Any], siret: str, today: date,
            window: tuple[date, date] | None) -> tuple[PurchaseLine | None, list[str]]:
    """The rules no schema says, then the line itself."""
    problems = []
    day: date = cells["date"]
    if day > today:
        problems.append(cell_error(number, "date", M["future"].format(cell=day.isoformat())))
    elif window is not None and not window[0] <= day <= window[1]:
        problems.append(cell_error(number, "date", M["outside"].format(cell=day.isoformat(), start=window[0],
                                                                       end=window[1])))
    line_siret = str(cells["siret"]).strip()
    if line_siret != siret:
        problems.append(cell_error(number, "siret", M["other_siret"].format(cell=short(line_siret), siret=siret)))
    if file_format == CURRENT:
        labels = label_set(cells["categories_egalim"])
        origin = (cells["origine"] or "").strip() or None
        circuit_court, local = bool(cells["est_circuit_court"]), bool(cells["est_local"])
        definition = (cells["definition_local"] or "").strip() or None
        km = cells["definition_local_km"]
    else:
        labels, origins, circuit_court, local = old_characteristics(cells["caracteristiques"])
        if len(origins) > 1:
            problems.append(cell_error(number, "caracteristiques", M["both_origins"]))
        origin = origins[0] if origins else None
        old = (cells["definition_local"] or "").strip() or None
        definition, km = OLD_LOCAL.get(old, (old, None)) if old else (None, None)
    if definition is not None and not local:
        problems.append(cell_error(number, "definition_local", M["local_without"]))
    if km is not None and definition != LocalDefinition.KM:
        problems.append(cell_error(number, "definition_local_km", M["km_without"]))
    if problems:
        return None, problems
    price: Decimal = cells["prix_ht"]
    cents = int(price.quantize(CENT, rounding=ROUND_HALF_DOWN) * 100)
    return PurchaseLine(
        number, line_siret, str(cells["description"]).strip()[:500], str(cells["fournisseur"] or "").strip()[:255],
        day, cents, FAMILIES[str(cells["famille_produits"]).strip()], labels,
        ORIGINS[origin] if origin else None, circuit_court, local,
        DEFINITIONS[definition] if definition else None, km,
    ), []
