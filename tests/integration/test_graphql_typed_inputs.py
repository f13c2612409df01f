"""The typed arguments of mutations (graphql/input_types.py), which replaced the `JSON` ones of the first contract.

A typed argument writes what the command writes from its Python (JSON-shaped) value; a refusal names the field as a
path of GraphQL names (`measures[1].value`, `indicator.objectiveKey`), with its stable code, and writes nothing (log
head unmoved). The `JSON` arguments are gone: a client still sending one is refused by validation.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from progres.graphql.context import ProgresContext
from progres.graphql.input_types import camel_path, graphql_path
from progres.graphql.mutations import camel
from progres.services.policy import Actor
from tests.graphql_api import InProcessApi


class Api(InProcessApi):
    def run(self, query: str, variables: dict[str, Any] | None = None, actor: str | None = "platform:admin") -> Any:
        if not query.lstrip().startswith("mutation"):
            self.models.fresh(None)  # a read sees the writes before it
        return super().run(query, variables, actor)


@pytest.fixture
def api(sqlite_settings, world_factory):
    api = Api(sqlite_settings)
    api.world = world_factory(api.app)
    return api


RESULT = "{ ok id error { code field message } }"
INDICATOR = {"key": "waste", "objectiveKey": "criteres", "name": "Déchets", "kind": "quantitative",
             "unit": "kg", "direction": "decrease", "periodicity": "semestrial", "scope": "member",
             "aggregation": "weighted_mean", "baseline": "900", "target": "700",
             "trajectory": [{"from": "2022-01-01", "target": "800"}, {"from": "2023-01-01", "target": "700"}]}
SPEC = {"key": "waste_json", "objective_key": "criteres", "name": "Déchets", "kind": "quantitative", "unit": "kg",
        "direction": "decrease", "periodicity": "semestrial", "scope": "member", "aggregation": "weighted_mean",
        "baseline": "900", "target": "700",
        "trajectory": [{"from": "2022-01-01", "target": "800"}, {"from": "2023-01-01", "target": "700"}]}
DEFINE = ("mutation($p: ID!, $i: IndicatorInput) { defineIndicator(planId: $p, indicator: $i) "
          + RESULT + " }")
INDICATORS = ("query($p: ID!) { plan(id: $p) { axes { objectives { indicators { key name kind unit baseline target "
              "direction periodicity scope aggregation trajectorySteps { from target } } } } } }")


def indicators(api: Api) -> dict[str, dict[str, Any]]:
    plan = api.run(INDICATORS, {"p": api.world.plan})["plan"]
    return {i.pop("key"): i for a in plan["axes"] for o in a["objectives"] for i in o["indicators"]}


def test_a_typed_indicator_is_defined_as_the_command_defines_its_json_spec(api):
    assert api.run(DEFINE, {"p": api.world.plan, "i": INDICATOR})["defineIndicator"]["ok"]
    api.app.define_indicator(api.world.plan, SPEC)  # the command itself, from the JSON-shaped Python spec
    found = indicators(api)
    assert found["waste"] == found["waste_json"]
    assert found["waste"]["aggregation"] == "weighted_mean"
    assert found["waste"]["trajectorySteps"] == [{"from": "2022-01-01", "target": "800"},
                                                 {"from": "2023-01-01", "target": "700"}]


def test_a_typed_indicator_refused_names_its_field_in_graphql_names_and_writes_nothing(api):
    head = api.head()
    refused = api.run(DEFINE, {"p": api.world.plan, "i": {**INDICATOR, "objectiveKey": "nope"}})["defineIndicator"]
    assert refused["ok"] is False
    assert refused["error"]["field"] == "indicator.objectiveKey", refused
    missing = api.run(DEFINE, {"p": api.world.plan, "i": {**INDICATOR, "unit": None}})["defineIndicator"]
    assert (missing["error"]["code"], missing["error"]["field"]) == ("invalid_input", "indicator.unit")
    assert api.head() == head


@pytest.mark.parametrize(("mutation", "argument"), [
    ("defineIndicator(planId: $p, spec: {key: \"x\"})", "spec"),
    ("importMeasures(planId: $p, rows: [{indicator_key: \"x\"}], recordedBy: $p, source: \"f\")", "rows"),
])
def test_a_removed_json_argument_is_refused_by_validation_and_writes_nothing(api, mutation, argument):
    """The `JSON` arguments left the schema: a client still sending one gets a validation error naming it."""
    head = api.head()
    context = ProgresContext(api.services, Actor.parse("platform", "admin"))
    result = asyncio.run(api.schema.execute(f"mutation($p: ID!) {{ {mutation} {RESULT} }}", {"p": api.world.plan},
                                            context_value=context))
    assert result.data is None
    assert result.errors, result
    assert any(f"Unknown argument '{argument}'" in error.message for error in result.errors), result.errors
    assert api.head() == head


def test_a_mutation_takes_the_typed_argument_or_input_not_both_nor_neither(api):
    head = api.head()
    neither = api.run(DEFINE, {"p": api.world.plan})["defineIndicator"]
    assert (neither["error"]["code"], neither["error"]["field"]) == ("invalid_input", "indicator")
    both = api.run("mutation($p: ID!, $i: IndicatorInput!) { defineIndicator(planId: $p, input: {planId: $p, "
                   "indicator: $i}) { userErrors { code field } } }", {"p": api.world.plan, "i": INDICATOR})
    assert both["defineIndicator"]["userErrors"] == [{"code": "invalid_input", "field": "input"}]
    assert api.head() == head


IMPORT = ("mutation($p: ID!, $rows: [MeasureRowInput!], $by: ID!) { importMeasures(planId: $p, measures: $rows, "
          "recordedBy: $by, source: \"fichier\") " + RESULT + " }")


def rows(world) -> list[dict[str, Any]]:
    return [{"indicatorKey": "egalim_share", "memberId": world.lycees[0], "periodStart": "2022-01-01",
             "periodEnd": "2022-06-30", "value": "31.5"},
            {"indicatorKey": "siqo", "periodStart": "2022-01-01", "periodEnd": "2022-06-30",
             "assessment": "Liste SIQO tenue"}]


def test_typed_measure_rows_are_recorded(api):
    w = api.world
    assert api.run(IMPORT, {"p": w.plan, "rows": rows(w), "by": w.region})["importMeasures"]["ok"]
    measures = api.run("query($p: ID!) { plan(id: $p) { axes { objectives { indicators { key measures { edges { "
                       "node { memberId periodStart value assessment } } } } } } } }", {"p": w.plan})["plan"]
    found = {i["key"]: [e["node"] for e in i["measures"]["edges"]]
             for a in measures["axes"] for o in a["objectives"] for i in o["indicators"]}
    assert found["egalim_share"] == [{"memberId": w.lycees[0], "periodStart": "2022-01-01", "value": "31.5",
                                      "assessment": None}]
    assert found["siqo"] == [{"memberId": None, "periodStart": "2022-01-01", "value": None,
                              "assessment": "Liste SIQO tenue"}]


def test_a_refused_typed_row_is_named_by_its_graphql_path_and_nothing_is_written(api):
    w = api.world
    head = api.head()
    bad = rows(w)
    bad[1] = {**bad[0], "memberId": w.lycees[1], "value": "beaucoup"}
    refused = api.run(IMPORT, {"p": w.plan, "rows": bad, "by": w.region})["importMeasures"]
    assert (refused["error"]["code"], refused["error"]["field"]) == ("invalid_input", "measures[1].value"), refused
    assert refused["error"]["message"].startswith("measures[1].value: ")
    assert api.head() == head


def test_a_typed_decimal_is_checked_by_the_command_as_before(api):
    w = api.world
    head = api.head()
    refused = api.run("mutation($p: ID!, $m: ID!, $by: ID!) { recordMeasure(planId: $p, indicatorKey: "
                      "\"egalim_share\", memberId: $m, periodStart: \"2022-01-01\", periodEnd: \"2022-06-30\", "
                      "value: \"trente\", source: \"f\", recordedBy: $by) " + RESULT + " }",
                      {"p": w.plan, "m": w.lycees[0], "by": w.lycees[0]})["recordMeasure"]
    assert (refused["error"]["code"], refused["error"]["field"]) == ("invalid_input", "value"), refused
    assert api.head() == head


def test_typed_gain_shares_and_their_refusal(api):
    w = api.world
    define = ("mutation($p: ID!, $s: PartySharesInput) { defineGainSharing(planId: $p, basis: \"Économies\", "
              "reference: \"Prix 2021\", periodMonths: 12, partyShares: $s, memberSplit: \"equal\", "
              "settlement: \"rebate\") " + RESULT + " }")
    head = api.head()
    refused = api.run(define, {"p": w.plan, "s": {"titulaire": "60", "acheteur": "50"}})["defineGainSharing"]
    assert (refused["error"]["code"], refused["error"]["field"]) == ("invalid_gain_sharing", "partyShares"), refused
    assert api.head() == head
    assert api.run(define, {"p": w.plan, "s": {"titulaire": "40", "acheteur": "60"}})["defineGainSharing"]["ok"]
    rule = api.run("query($p: ID!) { plan(id: $p) { gainSharingRule { shares { party value } memberSplit "
                   "settlement } } }", {"p": w.plan})["plan"]["gainSharingRule"]
    assert rule == {"shares": [{"party": "titulaire", "value": "40"}, {"party": "acheteur", "value": "60"}],
                    "memberSplit": "equal", "settlement": "rebate"}


def test_typed_avenant_changes_and_their_refusal(api):
    w = api.world
    propose = ("mutation($m: ID!, $c: AvenantChangesInput) { proposeAvenant(marcheId: $m, basis: \"R2194-1\", "
               "reason: \"Clause de réexamen\", avenantChanges: $c, on: \"2022-06-01\") " + RESULT + " }")
    head = api.head()
    refused = api.run(propose, {"m": w.marche, "c": {"planChanges": [{"kind": "add_axis", "key": "x" * 65,
                                                                      "title": "Axe"}]}})["proposeAvenant"]
    assert (refused["error"]["code"], refused["error"]["field"]) == ("invalid_input",
                                                                     "avenantChanges.planChanges[0].key")
    assert api.head() == head
    done = api.run(propose, {"m": w.marche, "c": {"amountDelta": "-1000", "planChanges": [
        {"kind": "add_axis", "key": "convives", "title": "Satisfaction des convives"}]}})["proposeAvenant"]
    assert done["ok"], done
    avenant = api.run("{ groupements { marches { avenants { status changes { amountDelta durationDeltaMonths "
                      "titulaireIds planChanges { kind key title description } } } } } }")["groupements"][0]
    assert avenant["marches"][0]["avenants"] == [{"status": "proposed", "changes": {
        "amountDelta": "-1000", "durationDeltaMonths": 0, "titulaireIds": None,
        "planChanges": [{"kind": "add_axis", "key": "convives", "title": "Satisfaction des convives",
                         "description": None}]}}]


def test_typed_review_participants_and_points(api):
    w = api.world
    review = api.run("mutation($p: ID!) { scheduleReview(planId: $p, title: \"Bilan S1\", scheduledOn: "
                     "\"2022-07-05\") " + RESULT + " }", {"p": w.plan})["scheduleReview"]["id"]
    hold = ("mutation($r: ID!, $a: [ParticipantInput!]) { holdReview(reviewId: $r, heldOn: \"2022-07-05\", "
            "attendees: $a) " + RESULT + " }")
    head = api.head()
    refused = api.run(hold, {"r": review, "a": [{"name": "Chef", "function": "cook"},
                                                {"name": "", "function": "buyer"}]})
    assert refused["holdReview"]["error"]["field"] == "attendees[1].name", refused
    assert api.head() == head
    assert api.run(hold, {"r": review, "a": [{"name": "Chef", "function": "cook", "organisationId": w.lycees[0]}]}
                   )["holdReview"]["ok"]
    raised = api.run("mutation($r: ID!, $by: ParticipantInput) { raisePoint(reviewId: $r, kind: \"constraint\", "
                     "text: \"Temps de préparation\", raisedByParticipant: $by) " + RESULT + " }",
                     {"r": review, "by": {"name": "Chef", "function": "cook"}})["raisePoint"]
    assert raised["ok"], raised
    found = api.run("query($p: ID!) { plan(id: $p) { reviews { attendees { name function organisationId } "
                    "raisedPoints { edges { node { kind text raisedBy { name function organisationId } } } } } } }",
                    {"p": w.plan})["plan"]["reviews"][0]
    assert found["attendees"] == [{"name": "Chef", "function": "cook", "organisationId": w.lycees[0]}]
    assert found["raisedPoints"]["edges"][0]["node"] == {
        "kind": "constraint", "text": "Temps de préparation",
        "raisedBy": {"name": "Chef", "function": "cook", "organisationId": None}}


def test_typed_decp_particulars_are_checked_against_the_schema_and_recorded(api):
    w = api.world
    correct = ("mutation($m: ID!, $p: DecpParticularsInput) { correctParticulars(marcheId: $m, decpParticulars: $p, "
               "reason: \"Publication des données\") " + RESULT + " }")
    head = api.head()
    refused = api.run(correct, {"m": w.marche, "p": {"lieuExecution": {"code": "62498", "typeCode": "Canton"}}})
    assert (refused["correctParticulars"]["error"]["code"], refused["correctParticulars"]["error"]["field"]) == (
        "invalid_particular", "decpParticulars.lieuExecution.typeCode"), refused
    assert api.head() == head
    done = api.run(correct, {"m": w.marche, "p": {"offresRecues": 4, "typesPrix": ["Définitif ferme"],
                                                  "lieuExecution": {"code": "62498", "typeCode": "Code commune"},
                                                  "datePublication": "2022-01-10"}})
    assert done["correctParticulars"]["ok"], done
    found = api.run("{ groupements { id marches { id decpParticulars { offresRecues typesPrix procedure "
                    "lieuExecution { code typeCode } datePublication } } } }")["groupements"][0]
    marche = found["marches"][0]
    assert marche["decpParticulars"] == {"offresRecues": 4, "typesPrix": ["Définitif ferme"], "procedure": None,
                                         "lieuExecution": {"code": "62498", "typeCode": "Code commune"},
                                         "datePublication": "2022-01-10"}
    ledger = api.services.models.ledgers([found["id"]])[found["id"]]
    recorded = next(m for m in ledger["marches"].values() if m["id"] == marche["id"])["particulars"]
    assert recorded["lieu_execution"] == {"code": "62498", "type_code": "Code commune"}, "recorded in DECP names"


def test_graphql_paths_of_refusals():
    """The translation itself, including a field outside the typed argument and the feeds keyed by indicator."""
    from progres.graphql.input_types import IndicatorFeedInput  # noqa: PLC0415

    used = {"rows": [object()]}
    assert graphql_path("import_measures", "rows[3].period_start", used, camel) == "measures[3].periodStart"
    assert graphql_path("import_measures", "plan_id", used, camel) == "planId"
    assert graphql_path("import_measures", None, used, camel) is None
    feeds = [IndicatorFeedInput(indicator_key="a", figure=None), IndicatorFeedInput(indicator_key="b", figure=None)]
    assert graphql_path("import_purchases", "feeds.b", {"feeds": feeds}, camel) == "indicatorFeeds[1].figure"
    assert camel_path("changes.plan_changes[0].key", camel) == "changes.planChanges[0].key"
