"""A run of events (a purchase file's lines) is stored as the library would store the same events one by one, and
its copied rows carry the keyed chain that services/audit_chain.py computes for any save."""

from __future__ import annotations

import json
import os
import struct
import uuid
from datetime import date

import pytest

from progres.domain.purchases import LINE_FIELDS, PurchaseImport
from progres.services import bulk_copy, event_runs
from progres.services.audit_chain import Linker, chain_rows
from progres.services.audit_keys import AuditKey, Keyring

ROWS = [
    [2, "2023-01-05", 20000, "VIANDES_VOLAILLES", "BIO,IGP", "FRANCE", False, False, "", None, "Rôti « maison »",
     "Boucherie; \"Dupont\""],
    [3, "2023-02-05", 1, "AUTRES", "", "", True, True, "KM", 80, "Œufs\tx", "Ferme, du Nord"],
    [4, "2023-02-06", 5050, "PRODUITS_DE_LA_MER", "PECHE_DURABLE", "EUROPE", False, True, "PAT", None, "", "{}"],
]


def an_import() -> PurchaseImport:
    return PurchaseImport(plan_id=uuid.uuid4(), groupement_id=uuid.uuid4(), member_id=uuid.uuid4(),
                          siret="19620012100019", sha256="a" * 64, filename="achats.csv", file_format="current",
                          line_count=len(ROWS), imported_by=uuid.uuid4(), imported_on=date(2024, 1, 20))


def test_a_runs_stored_events_are_those_the_library_makes_of_the_same_events(memory_app):
    purchase_import = an_import()
    purchase_import.record_lines([list(row) for row in ROWS])
    imported, run = purchase_import.collect_events()
    assert (run.first_version, run.originator_version, run.timestamp) == (2, 4, imported.timestamp)
    fast = event_runs.stored_events(run, memory_app.mapper)
    slow = [memory_app.mapper.to_stored_event(event) for event in run.events()]
    assert [(s.originator_id, s.originator_version, s.topic) for s in fast] == [
        (s.originator_id, s.originator_version, s.topic) for s in slow]
    assert [json.loads(s.state) for s in fast] == [json.loads(s.state) for s in slow]
    decoded = [memory_app.mapper.to_domain_event(s) for s in fast]
    assert [vars(e) for e in decoded] == [vars(e) for e in run.events()]
    assert [[getattr(e, f) for f in LINE_FIELDS] for e in decoded] == ROWS


def test_a_saved_run_replays_to_the_state_the_run_gave_its_aggregate(memory_app):
    purchase_import = an_import()
    purchase_import.record_lines([list(row) for row in ROWS])
    assert (purchase_import.version, purchase_import.lines_recorded) == (4, 3)
    recordings = memory_app.save(purchase_import)
    assert [r.domain_event.originator_version for r in recordings] == [1, 4]  # the run's recording: its last event
    loaded = memory_app.repository.get(purchase_import.id)
    assert (loaded.version, loaded.lines_recorded) == (4, 3)
    assert len(list(memory_app.events.get(purchase_import.id))) == 4


def test_a_run_names_exactly_its_events_fields_and_holds_at_least_one():
    purchase_import = an_import()
    with pytest.raises(ValueError, match="fields"):
        purchase_import.trigger_run(PurchaseImport.PurchaseRecorded, LINE_FIELDS[:-1], [ROWS[0][:-1]])
    with pytest.raises(ValueError, match="at least one"):
        purchase_import.trigger_run(PurchaseImport.PurchaseRecorded, LINE_FIELDS, [])
    assert purchase_import.version == 1


def test_copied_rows_carry_the_chain_links_of_the_reference_computation(memory_app):
    key = AuditKey("k-test", "2026-11-29", os.urandom(32), os.urandom(32))
    keyring = Keyring({key.key_id: key}, key)
    purchase_import = an_import()
    purchase_import.record_lines([list(row) for row in ROWS] * 300)
    imported, run = purchase_import.collect_events()
    stored = [memory_app.mapper.to_stored_event(imported), *event_runs.stored_events(run, memory_app.mapper)]
    last = (41, bytes(range(32)))
    links: list[bytes] = []
    rows = bulk_copy.event_rows(stored, 42, Linker(keyring, last), links, uuid_ids=True)
    reference = chain_rows(keyring, last, range(42, 42 + len(stored)), stored)
    q = struct.Struct(">q").pack
    key_id = key.key_id.encode()
    assert links == [b"".join((b"\x00\x05", b"\x00\x00\x00\x08", q(position), b"\x00\x00\x00\x08", q(previous),
                               struct.pack(">I", len(key_id)), key_id, b"\x00\x00\x00\x20", leaf, b"\x00\x00\x00\x20",
                               link)) for position, previous, _, leaf, link in reference]
    topic = stored[5].topic.encode()
    assert rows[5] == b"".join((b"\x00\x05", b"\x00\x00\x00\x10", purchase_import.id.bytes, b"\x00\x00\x00\x08",
                                q(6), struct.pack(">I", len(topic)), topic, struct.pack(">I", len(stored[5].state)),
                                stored[5].state, b"\x00\x00\x00\x08", q(47)))
