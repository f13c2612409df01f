"""A refusal of the API names its field as a GraphQL path (`input.measures.3.value`); the console shows it next to
the form's field that path names: the deepest name the form knows, a row of a list by its index, the form itself
when none."""

from __future__ import annotations

from progres.console.operations import Outcome
from progres.console.review_pages import point_field
from progres.console.setup import SETUP_STEPS, form_field
from progres.console.web import API_FIELDS, AVENANT_API_FIELDS, attendee_field, import_line


def refused(field: str | None, code: str = "invalid_input") -> Outcome:
    return Outcome({"userErrors": [{"code": code, "field": field, "message": "valeur : non"}], "position": None})


def test_the_outcome_of_a_mutation():
    accepted = Outcome({"userErrors": [], "position": 42, "measure": {"id": "m"}})
    assert accepted.accepted
    assert (accepted.position, accepted.code, accepted.path) == (42, "", [])
    outcome = refused("input.value", "measure_already_recorded")
    assert not outcome.accepted
    assert (outcome.code, outcome.path, outcome.text) == ("measure_already_recorded", ["value"], "value: valeur : non")
    assert outcome.field(API_FIELDS) == "value"
    assert refused("input.periodEnd").field(API_FIELDS) == "period_end"
    assert refused(None).field(API_FIELDS) == "form"
    assert refused("input.recordedBy").field(API_FIELDS) == "form"  # no field of the form: above it
    assert refused("input.avenantChanges.amountDelta").field(AVENANT_API_FIELDS) == "amount_delta"
    assert refused("input.avenantChanges.planChanges.0.key").field(AVENANT_API_FIELDS) == "axis_key"


def test_a_row_of_a_list_is_named_by_its_index():
    rows = [{"line": 2}, {"line": 5}, {"line": 6}]  # lines 3 and 4 of the file were empty
    assert import_line(["measures", "1", "value"], rows) == 5
    assert import_line(["measures", "7", "value"], rows) is None
    assert import_line(["source"], rows) is None
    assert attendee_field(["attendees", "2", "function"]) == "function_3"
    assert attendee_field(["attendees", "0", "name"]) == "name_1"
    assert attendee_field(["heldOn"]) == "held_on"
    assert attendee_field([]) == "form"
    assert point_field(["raisedByParticipant", "function"]) == "point-function"
    assert point_field(["raisedByParticipant", "organisationId"]) == "point-name"
    assert point_field(["text"]) == "point-text"
    mapping = SETUP_STEPS["indicator"][3]
    assert form_field("indicator", refused("input.indicator.target").path, mapping, []) == "indicator_target"
    assert form_field("indicator", refused("input.indicator.trajectory.0.from").path, mapping, [2]) == \
        "indicator_step2_from"
