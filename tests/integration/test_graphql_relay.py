"""Mutations in the Relay style (issue 13, item 2): `recordMeasure(input: RecordMeasureInput)` answers a
`RecordMeasurePayload` with the changed object read back through the policy, `userErrors` (a stable code of the
`UserErrorCode` enum, the field as a path of GraphQL names under `input`, a French message), the log position and
the `commandId`; a refusal writes nothing (log head unmoved); a retry with the same `commandId` replays. The flat
arguments and the `ok`/`id`/`error` fields of the first contract still answer, deprecated.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import pytest
from graphql import GraphQLEnumType, GraphQLInputObjectType, get_named_type, is_list_type, is_non_null_type

from progres.domain.errors import DomainError
from progres.domain.values import siret_with_key
from progres.graphql.error_codes import MEANINGS
from progres.graphql.identity import global_id
from progres.graphql.mutations import COMMANDS, camel
from progres.graphql.payloads import changed_object
from progres.services.policy import Actor
from tests.graphql_api import InProcessApi

Api = InProcessApi


@pytest.fixture
def api(sqlite_settings, world_factory):
    api = Api(sqlite_settings)
    api.world = world_factory(api.app)
    return api


ERRORS = "userErrors { code field message }"
RECORD = ("mutation($input: RecordMeasureInput) { recordMeasure(input: $input) { " + ERRORS + " position commandId "
          "replayed measure { id indicatorKey memberId periodStart periodEnd value source } } }")


def measure_input(world, **overrides: Any) -> dict[str, Any]:
    return {"planId": world.plan, "indicatorKey": "egalim_share", "memberId": world.lycees[0],
            "periodStart": "2022-01-01", "periodEnd": "2022-06-30", "value": "31.5", "source": "factures",
            "recordedBy": world.lycees[0], "declaredOn": "2022-07-01", **overrides}


def test_a_mutation_through_its_input_returns_the_changed_object(api):
    w = api.world
    head = api.head()
    done = api.run(RECORD, {"input": measure_input(w, commandId="mesure-1")},
                   actor=f"{w.lycees[0]}:acheteur")["recordMeasure"]
    assert done["userErrors"] == []
    assert done["position"] > head
    assert api.head() == done["position"]
    assert (done["commandId"], done["replayed"]) == ("mesure-1", False)
    measure = done["measure"]
    assert measure["id"]
    assert {k: v for k, v in measure.items() if k != "id"} == {
        "indicatorKey": "egalim_share", "memberId": w.lycees[0], "periodStart": "2022-01-01",
        "periodEnd": "2022-06-30", "value": "31.5", "source": "factures"}


def test_a_refusal_names_the_input_field_by_its_graphql_path_and_writes_nothing(api):
    w = api.world
    head = api.head()
    refused = api.run(RECORD, {"input": measure_input(w, value="beaucoup")})["recordMeasure"]
    assert refused["measure"] is None
    assert refused["position"] is None
    [error] = refused["userErrors"]
    assert (error["code"], error["field"]) == ("invalid_input", "input.value"), error
    assert error["message"]
    assert not error["message"].startswith("value")
    rows = [{"indicatorKey": "egalim_share", "memberId": w.lycees[0], "periodStart": "2022-01-01",
             "periodEnd": "2022-06-30", "value": "31.5"},
            {"indicatorKey": "egalim_share", "memberId": w.lycees[1], "periodStart": "2022-01-01",
             "periodEnd": "2022-06-30", "value": "beaucoup"}]
    imported = api.run("mutation($input: ImportMeasuresInput) { importMeasures(input: $input) { " + ERRORS
                       + " plan { id } } }", {"input": {"planId": w.plan, "measures": rows, "recordedBy": w.region,
                                                        "source": "fichier"}})["importMeasures"]
    assert [(e["code"], e["field"]) for e in imported["userErrors"]] == [("invalid_input", "input.measures.1.value")]
    assert imported["plan"] is None
    closed_set = api.run("mutation($input: ChangeActionStatusInput) { changeActionStatus(input: $input) { " + ERRORS
                         + " } }", {"input": {"planId": w.plan, "key": "nope", "status": "done",
                                              "on": "2022-03-01"}})["changeActionStatus"]
    assert [(e["code"], e["field"]) for e in closed_set["userErrors"]] == [("unknown_action", "input.key")], closed_set
    assert api.head() == head, "a refused command writes nothing"


def test_an_enum_outside_its_closed_set_is_refused_before_the_command(api):
    w = api.world
    head = api.head()
    result = api.answer("mutation($input: ChangeActionStatusInput) { changeActionStatus(input: $input) { "
                         + ERRORS + " } }", {"input": {"planId": w.plan, "key": "sourcing", "status": "finie",
                                                       "on": "2022-03-01"}})
    assert result.errors
    assert "ActionStatus" in result.errors[0].message
    assert api.head() == head


def test_a_retry_with_the_same_command_id_replays_and_writes_nothing_more(api):
    w = api.world
    first = api.run(RECORD, {"input": measure_input(w, commandId="retry-1")})["recordMeasure"]
    head = api.head()
    again = api.run(RECORD, {"input": measure_input(w, commandId="retry-1")})["recordMeasure"]
    assert again["userErrors"] == []
    assert (again["replayed"], again["commandId"], again["position"]) == (True, "retry-1", first["position"])
    assert again["measure"] == first["measure"]
    assert api.head() == head
    other = api.run(RECORD, {"input": measure_input(w, commandId="retry-1", value="40")})["recordMeasure"]
    assert [(e["code"], e["field"]) for e in other["userErrors"]] == [("command_id_reused", "input.commandId")]
    assert api.head() == head


def test_the_payloads_carry_the_proposal_the_avenant_and_the_plan(api):
    w = api.world
    proposal = api.run(
        "mutation($input: SubmitProposalInput) { submitProposal(input: $input) { " + ERRORS + " proposal { id kind "
        "status expectedGain } } }",
        {"input": {"planId": w.plan, "authorId": w.lycees[0], "axisKey": "egalim", "kind": "innovation",
                   "title": "Circuit court", "content": "Un fournisseur local", "expectedImpact": "Moins de km",
                   "submittedOn": "2022-02-01", "expectedGain": "1200.50"}},
        actor=f"{w.lycees[0]}:acheteur")["submitProposal"]
    assert proposal["userErrors"] == [], proposal
    assert {k: v for k, v in proposal["proposal"].items() if k != "id"} == {
        "kind": "innovation", "status": "submitted", "expectedGain": "1200.50"}
    avenant = api.run(
        "mutation($input: ProposeAvenantInput) { proposeAvenant(input: $input) { " + ERRORS + " avenant { number "
        "status amountDelta nodeId } } }",
        {"input": {"marcheId": w.marche, "basis": "R2194-1", "reason": "Révision des prix",
                   "avenantChanges": {"amountDelta": "1000"}, "on": "2022-03-01"}})["proposeAvenant"]
    assert avenant["userErrors"] == [], avenant
    # read as node(id:) reads it: its global id names its marché (built without it, nodeId could not be answered)
    assert avenant["avenant"] == {"number": 1, "status": "proposed", "amountDelta": "1000",
                                  "nodeId": global_id("Avenant", w.marche, "1")}
    plan = api.run("mutation($input: AddAxisInput) { addAxis(input: $input) { " + ERRORS + " plan { axes { key } } } }",
                   {"input": {"planId": w.plan, "key": "dechets", "title": "Déchets"}})["addAxis"]
    assert [a["key"] for a in plan["plan"]["axes"]] == ["egalim", "dechets"]


def test_each_kind_of_payload_carries_its_object(api):
    w = api.world

    def write(mutation: str, kind: str, values: dict[str, Any], selection: str) -> Any:
        answer = api.run(f"mutation($input: {kind}) {{ {mutation}(input: $input) {{ {ERRORS} {selection} }} }}",
                         {"input": values})[mutation]
        assert answer["userErrors"] == [], answer
        return answer

    organisation = write("registerOrganisation", "RegisterOrganisationInput",
                         {"siret": siret_with_key("5550001110001"), "name": "Fromagerie", "kind": "supplier"},
                         "organisation { name kind }")
    assert organisation["organisation"] == {"name": "Fromagerie", "kind": "supplier"}
    groupement = write("chooseSmallModificationsReading", "ChooseSmallModificationsReadingInput",
                       {"groupementId": w.groupement, "reading": "absolute", "on": "2022-01-15",
                        "reason": "Délibération du bureau"}, "groupement { id smallModificationsReading }")
    assert groupement["groupement"] == {"id": w.groupement, "smallModificationsReading": "absolute"}
    review = write("scheduleReview", "ScheduleReviewInput",
                   {"planId": w.plan, "title": "Bilan semestriel", "scheduledOn": "2022-06-15"},
                   "review { id title status }")["review"]
    assert (review["title"], review["status"]) == ("Bilan semestriel", "scheduled")
    marche = write("closeMarche", "CloseMarcheInput", {"marcheId": w.marche, "on": "2023-12-31"},
                   "marche { id closedOn nodeId }")
    assert marche["marche"] == {"id": w.marche, "closedOn": "2023-12-31", "nodeId": global_id("Marche", w.marche)}


def test_the_changed_object_is_shown_only_to_who_may_read_it(api):
    """The payload reads the object as `plan(id:)` would: a member reads its own measure; another member does not
    when the convention does not share the members' details, nor does an organisation outside the groupement."""
    w = api.world
    done = api.run(RECORD, {"input": measure_input(w, memberId=w.lycees[1], recordedBy=w.lycees[1])},
                   actor=f"{w.lycees[1]}:acheteur")["recordMeasure"]
    assert done["userErrors"] == []
    assert done["measure"]["memberId"] == w.lycees[1]
    measure_id, position = done["measure"]["id"], done["position"]
    read = lambda actor: changed_object(api.services, Actor.parse(*actor.split(":")), "measure",  # noqa: E731
                                        measure_id, position)
    assert read(f"{w.lycees[1]}:acheteur").id == measure_id
    assert read(f"{w.region}:coordonnateur").id == measure_id
    assert read(f"{w.lycees[0]}:acheteur") is None
    assert read(f"{w.outsider}:acheteur") is None
    assert changed_object(api.services, Actor.parse("platform", "admin"), "plan", w.plan, position).id == w.plan
    assert changed_object(api.services, Actor.parse(w.outsider, "acheteur"), "plan", w.plan, position) is None


def test_input_and_the_deprecated_flat_arguments_are_not_both_given(api):
    w = api.world
    head = api.head()
    both = api.run("mutation($input: AddAxisInput, $p: ID) { addAxis(input: $input, planId: $p) { " + ERRORS + " } }",
                   {"input": {"planId": w.plan, "key": "dechets", "title": "Déchets"}, "p": w.plan})["addAxis"]
    assert [(e["code"], e["field"]) for e in both["userErrors"]] == [("invalid_input", "input")]
    missing = api.run("mutation { addAxis(key: \"dechets\", title: \"Déchets\") { ok " + ERRORS + " } }")["addAxis"]
    assert [(e["code"], e["field"]) for e in missing["userErrors"]] == [("invalid_input", "planId")]
    assert api.head() == head


def test_a_document_of_the_first_contract_still_runs_unchanged(api):
    w = api.world
    done = api.run(
        f'mutation {{ recordMeasure(planId: "{w.plan}", indicatorKey: "egalim_share", memberId: "{w.lycees[0]}", '
        f'periodStart: "2022-01-01", periodEnd: "2022-06-30", value: 31.5, source: "factures", '
        f'recordedBy: "{w.lycees[0]}") {{ ok id position error {{ code field }} }} }}')["recordMeasure"]
    assert done["ok"]
    assert done["id"]
    assert done["position"]
    assert done["error"] is None
    again = api.run(
        f'mutation {{ recordMeasure(planId: "{w.plan}", indicatorKey: "egalim_share", memberId: "{w.lycees[0]}", '
        f'periodStart: "2022-01-01", periodEnd: "2022-06-30", value: 31.5, source: "factures", '
        f'recordedBy: "{w.lycees[0]}") {{ ok id position error {{ code field }} }} }}')["recordMeasure"]
    assert again["error"] == {"code": "measure_already_recorded", "field": "period"}, again


def raisable_codes() -> dict[str, str]:
    """Every code of a DomainError subclass of the code base (a command's refusal is a DomainError), by class."""
    for package in ("domain", "services", "graphql", "projections"):
        module = importlib.import_module(f"progres.{package}")
        for found in pkgutil.walk_packages(module.__path__, f"progres.{package}."):
            importlib.import_module(found.name)
    codes: dict[str, str] = {}
    pending = [DomainError]
    while pending:
        kind = pending.pop()
        codes.setdefault(kind.code, f"{kind.__module__}.{kind.__qualname__}")
        pending.extend(kind.__subclasses__())
    return codes


def missing_codes(codes: dict[str, str]) -> list[str]:
    return sorted(f"{code} ({where})" for code, where in codes.items() if code not in MEANINGS)


def test_every_code_a_command_can_raise_is_a_value_of_the_enum():
    codes = raisable_codes()
    assert len(codes) > 70  # the walk found the domain's errors
    assert not missing_codes(codes), f"add these codes to graphql/error_codes.py: {missing_codes(codes)}"
    stale = sorted(set(MEANINGS) - set(codes))
    assert not stale, f"codes no error has any more, remove them from graphql/error_codes.py: {stale}"


def test_the_code_check_can_fail():
    assert missing_codes({"invalid_input": "x", "made_up_code": "tests.Fake"}) == ["made_up_code (tests.Fake)"]


MALFORMED = {"ID": "not-an-id", "String": "", "Int": -1, "Boolean": False, "Date": "2001-01-01",
             "Decimal": "beaucoup", "Float": -1.0}


def malformed_input(kind: Any) -> Any:
    """The required fields of an input type, each given a value of the right GraphQL type but wrong for the domain
    (an enum: its first value)."""
    named = get_named_type(kind)
    if isinstance(named, GraphQLEnumType):
        value = next(iter(named.values))
    elif isinstance(named, GraphQLInputObjectType):
        value = {name: malformed_input(f.type) for name, f in named.fields.items() if is_non_null_type(f.type)}
    else:
        value = MALFORMED[named.name]
    return [value] if is_list_type(kind.of_type if is_non_null_type(kind) else kind) else value


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    from progres.services.demo import run_seed_scenario  # noqa: PLC0415
    from progres.services.settings import Settings  # noqa: PLC0415

    api = Api(Settings(store="sqlite", data_dir=tmp_path_factory.mktemp("relay")))
    run_seed_scenario(api.app)
    return api


@pytest.mark.parametrize("command", COMMANDS)
def test_malformed_input_to_any_mutation_gets_user_errors_under_input_and_writes_nothing(seeded, command):
    api = seeded
    name = camel(command)
    field = api.schema._schema.mutation_type.fields[name]
    kind = field.args["input"].type
    head = api.head()
    result = api.run(f"mutation($input: {kind}) {{ {name}(input: $input) {{ userErrors {{ code field message }} "
                     "position ok } }", {"input": malformed_input(kind)})[name]
    [error] = result["userErrors"]
    assert error["code"] in MEANINGS
    assert error["message"]
    assert error["field"] is None or error["field"].startswith("input."), error
    assert result["position"] is None
    assert result["ok"] is False
    assert api.head() == head, "the log head must not move"
