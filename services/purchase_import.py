"""The purchase import command: a member's ma cantine file in, its purchases and EGalim shares out.

One import is one command and one transaction: the import (its header and one event per line), the member's
register of monthly totals, and the measures of the plan's indicators it feeds (recorded, or corrected
when a measure of that indicator, member and period exists) are saved together or not at all.
Each fed measure points at the file by its SHA-256 (evidence) and says which lines it comes from.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from progres.domain.errors import DomainError, InvalidInput, NotAMember
from progres.domain.measures import Measure, check_recorder, fit_period, measure_id
from progres.domain.plans import ProgressPlan
from progres.domain.purchases import (
    LINE_FIELDS,
    PurchaseImport,
    PurchaseLine,
    PurchaseRegister,
    monthly_totals_of_rows,
    unpack_rows,
)
from progres.domain.values import DocumentRef, Period, Periodicity, parse_date
from progres.projections.as_of import paused_gc
from progres.projections.egalim import FIGURES, period_totals
from progres.services import purchase_files
from progres.services.applications import CommandResult

if TYPE_CHECKING:
    from progres.services.commands import Progres

MAX_BASE64 = purchase_files.MAX_BYTES * 4 // 3 + 4


def decode_content(content: str) -> bytes:
    """A file sent as text (GraphQL): base64, bounded in size before it is decoded."""
    if not isinstance(content, str) or len(content) > MAX_BASE64:
        raise InvalidInput("content", rule=f"le contenu est limité à {purchase_files.MAX_BYTES // 2**20} Mo, "
                                           "encodé en base64")
    try:
        return base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("content", rule="le contenu doit être le fichier encodé en base64") from None


def period_of(periodicity: Periodicity, day: date) -> Period:
    if periodicity is Periodicity.MONTHLY:
        return Period.month(day.year, day.month)
    if periodicity is Periodicity.QUARTERLY:
        first = 3 * ((day.month - 1) // 3) + 1
        return Period(Period.month(day.year, first).start, Period.month(day.year, first + 2).end)
    if periodicity is Periodicity.SEMESTRIAL:
        return Period.semester(day.year, 1 if day.month <= 6 else 2)
    return Period(date(day.year, 1, 1), date(day.year, 12, 31))


def check_feeds(plan: ProgressPlan, feeds: dict[str, Any] | None) -> dict[str, str]:
    """indicator key -> figure name; each indicator must exist and each figure be one we compute."""
    checked: dict[str, str] = {}
    for key, figure in (feeds or {}).items():
        plan.indicator(str(key))
        if figure not in FIGURES:
            raise InvalidInput(f"feeds.{key}", rule=f"« {str(figure)[:40]} » n'est pas une part calculée "
                                                    f"({', '.join(FIGURES)})")
        checked[str(key)] = str(figure)
    return checked


@dataclass
class FedMeasure:
    indicator_key: str
    period: Period
    value: Decimal


def line_range(file: purchase_files.PurchaseFile, period: Period) -> str:
    """The file's lines of a period made of whole months (the periods of an indicator's periodicity)."""
    first, last = period.start.isoformat()[:7], period.end.isoformat()[:7]
    found = [stats for month, stats in file.months.items() if first <= month <= last]
    if not found:
        return "aucune ligne"
    return (f"lignes {min(s[0] for s in found)} à {max(s[1] for s in found)} "
            f"({sum(s[2] for s in found)} achats)")


def import_purchases(
    app: Progres, plan_id: UUID | str, member_id: UUID | str, content: bytes, filename: str,
    imported_by: UUID | str, imported_on: date | str, feeds: dict[str, Any] | None, command_id: str | None,
) -> CommandResult:
    sha256 = hashlib.sha256(content).hexdigest()
    on = parse_date(imported_on, "imported_on")  # type: ignore[arg-type]
    parsed: list[purchase_files.PurchaseFile] = []

    def action() -> Any:
        plan, groupement, marche = app.plan_context(plan_id)
        plan.check_open()
        member = app.organisation(member_id)
        if not any(m.organisation_id == member.id for m in groupement.memberships):
            raise NotAMember("member_id", org=member.id, on=on.isoformat())
        if member.siret is None:  # a buyer of another EU state (L2113-8): no SIRET for the file's lines to name
            raise InvalidInput("member_id", rule="un fichier d'achats ma cantine nomme des SIRET français : un "
                                                 "acheteur d'un autre État de l'UE saisit ses mesures directement")
        by = app.organisation(imported_by).id
        check_recorder(by, member.id, groupement, marche, app.today())
        fed = check_feeds(plan, feeds)
        register_id = PurchaseRegister.create_id(plan.id, member.id)
        register = app.repository.get(register_id) if app.exists(register_id) else PurchaseRegister(
            plan_id=plan.id, groupement_id=groupement.id, member_id=member.id)
        register.check_new(sha256)  # before reading: an identical file is refused at once
        # Reading makes a few hundred thousand objects at once; the cyclic collector has nothing to find there
        # and its passes over them cost a third of the reading (bench/import.py).
        with paused_gc():
            if not parsed:
                window = marche.execution_period
                today = min(on, date.today())  # an import dated ahead does not let future purchases in
                parsed.append(purchase_files.read(content, filename, siret=member.siret, today=today,
                                                  window=(window.start, window.end)))
            file = parsed[0]
            purchase_import = PurchaseImport.record(plan.id, groupement.id, member.id, member.siret, sha256,
                                                    file.filename, file.file_format, file.rows, by, on)
        totals = monthly_totals_of_rows(file.rows)
        register.add_import(purchase_import.id, sha256, len(file.rows), totals, on)
        evidence = DocumentRef(sha256, file.filename, file.media_type)
        measures = feed_measures(app, plan, groupement, marche, register, member.id, fed, file, evidence, by, on)
        return purchase_import.id, [purchase_import, register, *measures]

    return app.execute("import_purchases", command_id, action)


def feed_measures(app: Progres, plan: ProgressPlan, groupement: Any, marche: Any, register: PurchaseRegister,
                  member: UUID, fed: dict[str, str], file: purchase_files.PurchaseFile, evidence: DocumentRef,
                  by: UUID, on: date) -> list[Measure]:
    """Records (or corrects) one measure per fed indicator and period this file has purchases in."""
    measures = []
    months = {(int(month[:4]), int(month[5:7])) for month in file.months}
    for key, figure in fed.items():
        indicator = plan.indicator(key)
        periods = sorted({period_of(indicator.periodicity, date(year, month, 1)) for year, month in months})
        for period in periods:
            value = FIGURES[figure](period_totals(register.totals, period.start, period.end))
            if value is None:
                continue
            source = (f"achats ma cantine ({figure}) : fichier {file.filename[:80]}, sha256 {file.sha256[:12]}…, "
                      f"{line_range(file, period)}")
            measure = record_or_correct(app, plan, groupement, marche, key, member, period, value, source,
                                        evidence, by, on)
            if measure is not None:
                measures.append(measure)
    return measures


def record_or_correct(app: Progres, plan: ProgressPlan, groupement: Any, marche: Any, key: str, member: UUID,
                      period: Period, value: Decimal, source: str, evidence: DocumentRef, by: UUID,
                      on: date) -> Measure | None:
    field = f"feeds.{key}"
    try:
        period, _ = fit_period(plan.indicator(key), marche, period)  # a partial first or last period keeps one id
        existing_id = measure_id(plan.id, key, member, period)
        if not app.exists(existing_id):
            return Measure.record(plan, groupement, marche, indicator_key=key, member_id=member, period=period,
                                  value=value, assessment=None, source=source, recorded_by=by, today=app.today(),
                                  declared_on=min(on, app.today()), evidence=evidence)
        measure = app.measure(existing_id)
        if measure.value == value:
            return None  # the new purchases did not move this share
        measure.correct(plan, groupement, marche, value=value, assessment=None, reason=source[:2000],
                        corrected_by=by, corrected_on=on, today=app.today(), evidence=evidence)
        return measure
    except DomainError as error:
        error.field = f"{field}.{error.field}" if error.field else field
        raise


def purchase_lines(app: Progres, plan_id: UUID, member_id: UUID, period: Period | None = None
                   ) -> Iterator[tuple[str, PurchaseLine]]:
    """Provenance: every imported line of a member under a plan (in a period), with its file's SHA-256."""
    register_id = PurchaseRegister.create_id(plan_id, member_id)
    if not app.exists(register_id):
        return
    register = app.repository.get(register_id)
    for sha256, entry in register.imports.items():
        for stored in app.events.get(UUID(entry["import_id"])):
            for row in rows_of(stored):
                line = PurchaseLine.from_row("", row)
                if period is None or period.start <= line.day <= period.end:
                    yield sha256, line


def rows_of(stored: Any) -> list[list[Any]]:
    """The stored rows an import's event holds: one (`PurchaseRecorded`), a chunk of 1,000 (`LinesRecorded`, imports
    of earlier versions), or none (`Imported`)."""
    if isinstance(stored, PurchaseImport.PurchaseRecorded):
        return [[getattr(stored, field) for field in LINE_FIELDS]]
    if isinstance(stored, PurchaseImport.LinesRecorded):
        return unpack_rows(stored.packed)
    return []
