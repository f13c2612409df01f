"""Limits of documents and requests in process (graphql/limits.py, services/http_limits.py): costs computed
with each fragment once, codes on every refusal, masked errors coded `internal`."""

from __future__ import annotations

import asyncio
import time

import pytest
from graphql import parse

from progres.graphql.context import ProgresContext, Services
from progres.graphql.limits import document_cost
from progres.graphql.schema import build_schema
from progres.services.http_limits import body_refusal, is_loopback, json_depth
from progres.services.policy import Actor


def fanout(n: int) -> str:
    lines = [f"query {{ ...F{n} }}", "fragment F0 on Query { groupements { id } }"]
    lines += [f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, n + 1)]
    return "\n".join(lines)


def test_a_fan_out_is_costed_exactly_in_time_linear_in_its_size():
    started = time.perf_counter()
    cost = document_cost(parse(fanout(200)))
    assert time.perf_counter() - started < 1  # 2^201 fields: expanding would never end
    assert cost.fields == 2 ** 201
    assert cost.depth == 1
    small = document_cost(parse("query { a: groupements { id members { joinedOn } } ...F } "
                                "fragment F on Query { b: groupements { id } }"))
    assert (small.depth, small.fields, small.aliases) == (2, 6, 2)


@pytest.fixture
def services(sqlite_settings):
    wired = Services.wire(sqlite_settings)
    yield wired
    wired.models.close()
    wired.app.close()


def run(services, query: str, settings=None, variables=None):
    schema = build_schema(settings or services.settings)
    context = ProgresContext(services, Actor.parse("platform", "admin"))
    return asyncio.run(schema.execute(query, variables, context_value=context))


@pytest.mark.parametrize(("query", "code"), [
    ("{ plan(id: ", "bad_request"),
    ("{ plan(id: " + "[" * 1500 + "]" * 1500 + ") { id } }", "bad_request"),
    (fanout(24), "query_too_large"),
    ("{ " + "a { " * 13 + "b" + " }" * 13 + " }", "query_too_deep"),  # refused before validation
    ('{ plan(id: "a\\u0000") { id } }', "invalid_input"),
])
def test_every_refused_document_has_a_code(services, query, code):
    result = run(services, query)
    assert result.errors[0].extensions["code"] == code, result.errors


def test_a_field_limit_is_a_setting(services):
    query = "{ groupements { id code name purpose coordonnateurId planIds } }"
    assert run(services, query).errors is None
    settings = services.settings.model_copy(update={"graphql_max_fields": 10})
    five = "{ " + " ".join(f"g{i}: groupements {{ id }}" for i in range(5)) + " }"  # 10 fields
    assert run(services, five, settings).errors is None
    six = "{ " + " ".join(f"g{i}: groupements {{ id }}" for i in range(6)) + " }"
    assert run(services, six, settings).errors[0].extensions["code"] == "query_too_large"


def test_an_unexpected_failure_is_masked_and_coded_internal(services, monkeypatch):
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("secret detail of the database")

    monkeypatch.setattr(services.access, "readable_groupements", broken)
    result = run(services, "{ groupements { id } }")
    assert result.errors[0].extensions == {"code": "internal"}
    assert "secret" not in result.errors[0].message


def test_production_hides_suggestions_of_input_fields_and_enums_too(services):
    production = services.settings.model_copy(update={"environment": "production"})
    query = 'query($f: EventFilter!) { events(filter: $f) { totalCount } }'
    typo = {"f": {"groupementId": "x", "typ": "y"}}
    assert "Did you mean" in run(services, query, variables=typo).errors[0].message
    hidden = run(services, query, production, typo).errors[0].message
    assert "Did you mean" not in hidden
    assert "typ" in hidden


def test_json_bodies_are_checked_without_recursion():
    assert json_depth({"a": [[[1]]]}) == 4
    assert json_depth([[]] * 3) == 2
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    assert json_depth(deep) == 100_001
    assert body_refusal(b"\xff", "application/json", 32).code == "invalid_encoding"
    assert body_refusal(b"[1]", "application/json", 32).code == "invalid_request"
    assert body_refusal(b"{}", "application/json", 32) is None
    assert body_refusal(b"\xff", "multipart/form-data", 32) is None  # left to strawberry


@pytest.mark.parametrize(("address", "loopback"), [
    (("127.0.0.1", 80), True), (("::1", 80), True), (("127.8.9.1", 1), True), (None, True),
    (("192.0.2.2", 80), False), (("0.0.0.0", 80), False), (("fd00::2", 80), False), (("evil", 1), False),
])
def test_loopback_addresses(address, loopback):
    assert is_loopback(address) is loopback
