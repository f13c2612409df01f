"""Each purchase line of an import is one event of the log, covered by the keyed audit chain, on SQLite and on
PostgreSQL (where a large import is copied: services/bulk_copy.py); imports stored in chunks by earlier versions
still load, list their lines and verify."""

from __future__ import annotations

import base64
import hashlib
from datetime import date
from uuid import UUID

import pytest

from progres.domain.purchases import CHUNK_LINES, LINE_FIELDS, PurchaseImport, PurchaseRegister, pack_rows
from progres.services import audit, purchase_files
from progres.services.bootstrap import bootstrap
from progres.services.purchase_import import purchase_lines
from progres.services.purchase_workload import HEADER, csv_bytes, generated_rows, setup_canteens

LINES = 1200  # above the copy threshold (500 events) on PostgreSQL


@pytest.fixture
def settings(store_settings, tmp_path):
    return store_settings.model_copy(update={"data_dir": tmp_path / "data"})


def a_file(siret: str, lines: int, tag: str) -> bytes:
    rows = generated_rows(siret, lines)
    for row in rows:
        row[1] = f"{row[1]} {tag}"
    return csv_bytes(HEADER, rows, ";")


def test_each_purchase_line_is_one_event_of_the_log_and_the_audit_chain_verifies(settings):
    app = bootstrap(settings)
    try:
        world = setup_canteens(app)
        content = a_file(world.sirets[0], LINES, "a")
        head = app.max_notification_id() or 0
        result = app.import_purchases(world.plan, world.lycees[0], base64.b64encode(content).decode(), "a.csv",
                                      world.lycees[0], "2024-01-20", {"egalim_share": "part_egalim"})
        import_id = UUID(result.id)
        events = list(app.events.get(import_id))
        assert [type(e).__qualname__ for e in events] == ["PurchaseImport.Imported",
                                                          *["PurchaseImport.PurchaseRecorded"] * LINES]
        assert [e.originator_version for e in events] == list(range(1, LINES + 2))
        expected = purchase_files.read(content, "a.csv", siret=world.sirets[0], today=date(2024, 1, 20)).rows
        assert [[getattr(e, f) for f in LINE_FIELDS] for e in events[1:]] == expected
        assert events[1].timestamp == events[0].timestamp  # the lines are recorded at the instant of the import
        # The import's events, the new register's two, two fed measures (2023's semesters): one transaction.
        assert result.position == app.max_notification_id() == head + 1 + LINES + 2 + 2
        loaded = app.repository.get(import_id)
        assert (loaded.lines_recorded, loaded.version, loaded.line_count) == (LINES, LINES + 1, LINES)
        listed = list(purchase_lines(app, UUID(world.plan), UUID(world.lycees[0])))
        assert [line.line for _, line in listed] == list(range(2, LINES + 2))
        assert {sha for sha, _ in listed} == {hashlib.sha256(content).hexdigest()}
    finally:
        app.close()
    verified = audit.verify(settings)
    assert verified.finding is None, verified.finding
    assert verified.checked == head + LINES + 5


def old_import(app, world, member: int, content: bytes) -> PurchaseImport:
    """An import as versions before one event per line stored it: `Imported`, then `LinesRecorded` chunks of
    1,000 compressed rows, with the register; saved in one transaction."""
    plan, member_id, siret = UUID(world.plan), UUID(world.lycees[member]), world.sirets[member]
    file = purchase_files.read(content, "ancien.csv", siret=siret, today=date(2024, 1, 20))
    purchase_import = PurchaseImport(plan_id=plan, groupement_id=UUID(world.groupement), member_id=member_id,
                                     siret=siret, sha256=file.sha256, filename=file.filename,
                                     file_format=file.file_format, line_count=len(file.rows),
                                     imported_by=member_id, imported_on=date(2024, 1, 20))
    for start in range(0, len(file.rows), CHUNK_LINES):
        chunk = file.rows[start:start + CHUNK_LINES]
        purchase_import._lines_recorded(first_line=chunk[0][0], count=len(chunk), packed=pack_rows(chunk))
    register = PurchaseRegister(plan_id=plan, groupement_id=UUID(world.groupement), member_id=member_id)
    register.add_import(purchase_import.id, file.sha256, len(file.rows), {}, date(2024, 1, 20))
    app.save(purchase_import, register)
    return purchase_import


def test_an_import_stored_in_chunks_by_an_earlier_version_still_loads_lists_its_lines_and_verifies(settings):
    app = bootstrap(settings)
    try:
        world = setup_canteens(app)
        old_content, new_content = a_file(world.sirets[0], 2500, "old"), a_file(world.sirets[0], 700, "new")
        stored = old_import(app, world, 0, old_content)
        assert [type(e).__qualname__ for e in app.events.get(stored.id)] == [
            "PurchaseImport.Imported", *["PurchaseImport.LinesRecorded"] * 3]
        loaded = app.repository.get(stored.id)
        assert (loaded.lines_recorded, loaded.version) == (2500, 4)
        # A new file for the same member: one event per line, beside the old chunks.
        app.import_purchases(world.plan, world.lycees[0], base64.b64encode(new_content).decode(), "nouveau.csv",
                             world.lycees[0], "2024-01-20", None)
        listed = list(purchase_lines(app, UUID(world.plan), UUID(world.lycees[0])))
        old_sha, new_sha = hashlib.sha256(old_content).hexdigest(), hashlib.sha256(new_content).hexdigest()
        assert [(sha, line.line) for sha, line in listed] == [
            *[(old_sha, n) for n in range(2, 2502)], *[(new_sha, n) for n in range(2, 702)]]
        assert [line.description for _, line in listed][2499:2501] == ["Produit 2499 old", "Produit 0 new"]
        head = app.max_notification_id()
    finally:
        app.close()
    verified = audit.verify(settings)
    assert verified.finding is None, verified.finding
    assert verified.checked == head
