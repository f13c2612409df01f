"""A full rebuild decodes a recorded measure's stored JSON of the usual shape in one step (`RebuildFold._decoded`,
msgspec): the measure it makes is the one the value-by-value path makes (`RebuildFold._measure`, as
`ledger._measure_recorded`), and any other shape is left to that path (None)."""

from __future__ import annotations

import orjson
import pytest

from progres.projections.runner import RebuildFold
from progres.projections.stores.sql import SqlStore

GROUPEMENT, PLAN, MEMBER, RECORDER = "1c2684157dcc5433bdc021917575d1b7", "9ae8160ed1585b9b950b1215f137a2c3", \
    "4825a83454ed54e58cb4b5e05a669db7", "6882b08fbf645967938cb98c0a13ecb0"


def stored(**changes: object) -> dict[str, object]:
    event: dict[str, object] = {
        "timestamp": {"_type_": "datetime_iso", "_data_": "2026-11-30T02:48:47.596180+00:00"},
        "originator_topic": "progres.domain.measures:Measure",
        "plan_id": {"_type_": "uuid_hex", "_data_": PLAN},
        "groupement_id": {"_type_": "uuid_hex", "_data_": GROUPEMENT},
        "indicator_key": "ind_0", "member_id": {"_type_": "uuid_hex", "_data_": MEMBER},
        "period_start": {"_type_": "date_iso", "_data_": "2022-05-01"},
        "period_end": {"_type_": "date_iso", "_data_": "2022-05-31"},
        "value": {"_type_": "decimal_str", "_data_": "98.5"}, "assessment": None,
        "source": "fichier d'achats \"mensuel\"",
        "recorded_by": {"_type_": "uuid_hex", "_data_": RECORDER}, "evidence": None,
        "declared_on": {"_type_": "date_iso", "_data_": "2026-01-01"}, "partial": False, "recorded_on": None,
    }
    event.update(changes)
    return event


def fold() -> RebuildFold:
    return RebuildFold(SqlStore(), "views_v1", 5000)


@pytest.mark.parametrize("changes", [{}, {"member_id": None, "value": None, "assessment": "liste de 12 références"},
                                     {"partial": True, "indicator_key": "siqo"}])
def test_the_usual_shape_makes_the_measure_the_value_by_value_path_makes(changes: dict[str, object]) -> None:
    data = stored(**changes)
    made = fold()._decoded(7, "m-1", orjson.dumps(data))
    assert made is not None
    g, p, measure = made
    reference = fold()._measure("m-1", 7, "2026-11-30T02:48:47.596180+00:00", data)
    assert measure == reference
    assert orjson.dumps(measure) == orjson.dumps(reference)  # same keys in the same order: the row's JSON
    assert (g, p) == (reference_id(GROUPEMENT), reference_id(PLAN))


def reference_id(hex_id: str) -> str:
    return fold().uuid({"_type_": "uuid_hex", "_data_": hex_id})


@pytest.mark.parametrize("changes", [
    {"declared_on": None, "recorded_on": {"_type_": "date_iso", "_data_": "2025-01-01"}},  # an older event
    {"declared_on": {"_type_": "date_iso", "_data_": ""}},
    {"value": 98.5},  # a number, not a decimal's text
    {"member_id": {"_type_": "uuid_hex", "_data_": MEMBER, "extra": 1}},
    {"period_start": "2022-05-01"},
    {"partial": None},
])
def test_any_other_shape_is_left_to_the_value_by_value_path(changes: dict[str, object]) -> None:
    assert fold()._decoded(7, "m-1", orjson.dumps(stored(**changes))) is None
