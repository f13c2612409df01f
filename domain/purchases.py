"""Purchase imports: a member's purchase file (ma cantine format) recorded as events.

One import is one command. Each line of the file is one event of the log (`PurchaseRecorded`, with its
number in the file for provenance), written as one run (domain/base.py `EventRun`): 100,000 purchases are
100,000 events, stored straight from their rows, each covered by the keyed audit chain. Imports of earlier
versions stored their lines in chunks (one `LinesRecorded` event per 1,000 lines, compressed rows): those
events are still read. A register per plan and member keeps the monthly EGalim totals of all its imports
(small: months × families × totals), from which shares are computed for any period without reading the lines
again.

The first events name their groupement, so the history index shows imports to the groupement's
auditors; the ledger has no handler for them (no per-purchase document on the read side): the shares
reach the read models as the measures they feed.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar
from uuid import UUID

import orjson
from eventsourcing.domain import event

from progres.domain.base import ProgresAggregate
from progres.domain.egalim import (
    Family,
    Label,
    LocalDefinition,
    MonthlyTotals,
    Origin,
    Purchase,
    add_amount,
    keys_for,
    merge_totals,
)
from progres.domain.errors import AlreadyExists, DomainError
from progres.domain.ids import derive_id

CHUNK_LINES = 1000  # lines per `LinesRecorded` event, in imports of earlier versions
# The fields of a `PurchaseRecorded` event, in the order of a stored row (`PurchaseLine.row()`).
LINE_FIELDS = ("line", "day", "cents", "family", "labels", "origin", "circuit_court", "local", "local_definition",
               "local_km", "description", "fournisseur")


class PurchaseFileAlreadyImported(AlreadyExists):
    code = "purchase_file_already_imported"
    template = "ce fichier (sha256 {sha256}) a déjà été importé pour ce plan le {on} : il n'est pas importé deux fois"


class PurchaseFileRefused(DomainError):
    """The file breaks the format: every bad cell is named, nothing is written."""

    code = "invalid_purchase_file"
    template = "{summary}"
    SHOWN: ClassVar[int] = 5

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        shown = " ; ".join(errors[: self.SHOWN])
        more = f" ; … et {len(errors) - self.SHOWN} autre(s) erreur(s)" if len(errors) > self.SHOWN else ""
        count = f"{len(errors)} erreur(s)"
        super().__init__("content", summary=f"{count} : {shown}{more}")

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "errors": self.errors[:200]}


@dataclass(frozen=True)
class PurchaseLine:
    """One line of a purchase file, checked; `line` is its number in the file (the header is line 1)."""

    line: int
    siret: str
    description: str
    fournisseur: str
    day: date
    cents: int
    family: Family
    labels: frozenset[Label]
    origin: Origin | None
    circuit_court: bool
    local: bool
    local_definition: LocalDefinition | None
    local_km: int | None

    def purchase(self) -> Purchase:
        return Purchase(self.day, self.cents, self.family, self.labels, self.origin, self.circuit_court, self.local,
                        self.local_definition)

    def row(self) -> list[Any]:
        """The compact stored form: plain JSON values only (fast to encode, small in the log)."""
        return [self.line, self.day.isoformat(), self.cents, self.family.value,
                ",".join(sorted(label.value for label in self.labels)), self.origin.value if self.origin else "",
                self.circuit_court, self.local, self.local_definition.value if self.local_definition else "",
                self.local_km, self.description, self.fournisseur]

    @classmethod
    def from_row(cls, siret: str, row: list[Any]) -> PurchaseLine:
        line, day, cents, family, labels, origin, cc, local, definition, km, description, supplier = row
        return cls(line, siret, description, supplier, date.fromisoformat(day), cents, Family(family),
                   frozenset(Label(x) for x in labels.split(",") if x), Origin(origin) if origin else None,
                   cc, local, LocalDefinition(definition) if definition else None, km)


def pack_rows(rows: list[list[Any]]) -> str:
    """A chunk's rows as compressed JSON (base64 text), as imports of earlier versions stored them."""
    return base64.b64encode(zlib.compress(orjson.dumps(rows), 1)).decode()


def unpack_rows(packed: str) -> list[list[Any]]:
    rows: list[list[Any]] = json.loads(zlib.decompress(base64.b64decode(packed)))
    return rows


def monthly_totals(lines: list[PurchaseLine]) -> MonthlyTotals:
    totals: MonthlyTotals = {}
    for line in lines:
        keys = keys_for(line.labels, line.origin, line.circuit_court, line.local, line.local_definition)
        add_amount(totals, line.day, line.family, keys, line.cents)
    return totals


def monthly_totals_of_rows(rows: list[list[Any]]) -> MonthlyTotals:
    """The same totals as `monthly_totals`, from stored rows: summed by month, family and kind of purchase
    first (a file has few kinds), then spread over the kind's keys."""
    sums: dict[tuple[Any, ...], int] = defaultdict(int)
    for row in rows:
        sums[(row[1][:7], row[3], row[4], row[5], row[6], row[7], row[8])] += row[2]
    totals: MonthlyTotals = {}
    for (month, family, labels, origin, circuit_court, local, definition), cents in sums.items():
        keys = keys_for(frozenset(Label(x) for x in labels.split(",") if x), Origin(origin) if origin else None,
                        circuit_court, local, LocalDefinition(definition) if definition else None)
        bucket = totals.setdefault(month, {}).setdefault(Family(family).value, {})
        for key in keys:
            bucket[key] = bucket.get(key, 0) + cents
    return totals


class PurchaseImport(ProgresAggregate):
    """One imported file: who imported it, its hash and format, then one event per line."""

    @staticmethod
    def create_id(plan_id: UUID, sha256: str) -> UUID:
        return derive_id("purchase-import", plan_id, sha256)

    @classmethod
    def record(cls, plan_id: UUID, groupement_id: UUID, member_id: UUID, siret: str, sha256: str, filename: str,
               file_format: str, rows: list[list[Any]], imported_by: UUID, imported_on: date) -> PurchaseImport:
        """`rows`: the lines in their stored form (`PurchaseLine.row()`)."""
        purchase_import = cls(plan_id=plan_id, groupement_id=groupement_id, member_id=member_id, siret=siret,
                              sha256=sha256, filename=filename, file_format=file_format, line_count=len(rows),
                              imported_by=imported_by, imported_on=imported_on)
        if rows:
            purchase_import.record_lines(rows)
        return purchase_import

    def record_lines(self, rows: list[list[Any]]) -> None:
        """One `PurchaseRecorded` event per row, as one run: 100,000 lines do not make 100,000 objects here."""
        self.trigger_run(PURCHASE_RECORDED, LINE_FIELDS, rows)
        self.lines_recorded += len(rows)  # what `_purchase_recorded` does on replay, one event at a time

    @event("Imported")
    def __init__(self, plan_id: UUID, groupement_id: UUID, member_id: UUID, siret: str, sha256: str, filename: str,
                 file_format: str, line_count: int, imported_by: UUID, imported_on: date) -> None:
        self.plan_id = plan_id
        self.groupement_id = groupement_id
        self.member_id = member_id
        self.siret = siret
        self.sha256 = sha256
        self.filename = filename
        self.file_format = file_format
        self.line_count = line_count
        self.imported_by = imported_by
        self.imported_on = imported_on
        self.lines_recorded = 0

    @event("PurchaseRecorded")
    def _purchase_recorded(self, line: int, day: str, cents: int, family: str, labels: str, origin: str,
                           circuit_court: bool, local: bool, local_definition: str, local_km: int | None,
                           description: str, fournisseur: str) -> None:
        """One line of the file (its stored row's values: ISO date, cents, codes; labels comma-separated)."""
        # The lines stay in the log, not in the state: loading an import does not keep 100,000 objects.
        self.lines_recorded += 1

    @event("LinesRecorded")
    def _lines_recorded(self, first_line: int, count: int, packed: str) -> None:
        """1,000 lines in one event: how imports of earlier versions stored them (still read)."""
        self.lines_recorded += count


# Made by `@event("PurchaseRecorded")` at run time: mypy cannot see it.
PURCHASE_RECORDED: type[ProgresAggregate.Event] = PurchaseImport.PurchaseRecorded  # type: ignore[attr-defined]


class PurchaseRegister(ProgresAggregate):
    """The purchases of one member under one plan: its imports and their monthly EGalim totals."""

    @staticmethod
    def create_id(plan_id: UUID, member_id: UUID) -> UUID:
        return derive_id("purchase-register", plan_id, member_id)

    @event("Opened")
    def __init__(self, plan_id: UUID, groupement_id: UUID, member_id: UUID) -> None:
        self.plan_id = plan_id
        self.groupement_id = groupement_id
        self.member_id = member_id
        self.imports: dict[str, dict[str, Any]] = {}
        self.totals: MonthlyTotals = {}

    def check_new(self, sha256: str) -> None:
        if sha256 in self.imports:
            raise PurchaseFileAlreadyImported("content", sha256=sha256[:12], on=self.imports[sha256]["on"])

    def add_import(self, import_id: UUID, sha256: str, line_count: int, totals: MonthlyTotals, on: date) -> None:
        self.check_new(sha256)
        self._import_added(import_id=import_id, sha256=sha256, line_count=line_count, totals=totals,
                           on=on.isoformat())

    @event("ImportAdded")
    def _import_added(self, import_id: UUID, sha256: str, line_count: int, totals: MonthlyTotals, on: str) -> None:
        self.imports[sha256] = {"import_id": str(import_id), "line_count": line_count, "on": on}
        merge_totals(self.totals, totals)
