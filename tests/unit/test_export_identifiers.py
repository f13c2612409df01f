"""Open data names every member by an identifier it has: a buyer of another EU state has no SIRET (L2113-8)."""

from __future__ import annotations

from progres.projections.exports import _observations


def test_observations_of_members_without_a_siret_are_named_by_their_vat_number_and_stay_distinct():
    directory = {"organisations": {
        "a": {"siret": "21590001500019", "vat_number": None},
        "b": {"siret": None, "vat_number": "BE0403019261"},
        "c": {"siret": None, "vat_number": "DE136695976"},
    }}
    indicator = {"key": "bio", "unit": "%"}
    measures = [{"member_id": member, "period_start": "2024-01-01", "period_end": "2024-06-30", "value": "10",
                 "assessment": None} for member in ("a", "b", "c")]
    ids = [o["id"] for o in _observations(indicator, measures, directory)]
    assert ids == ["bio-21590001500019-2024-01-01", "bio-BE0403019261-2024-01-01", "bio-DE136695976-2024-01-01"]
    assert not any("None" in i for i in ids)
