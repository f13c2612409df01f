"""The examples of docs/graphql.md run, as the actors they name, against the seed scenario."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from progres.graphql.context import ProgresContext, Services
from progres.graphql.schema import build_schema
from progres.services.demo import run_seed_scenario
from progres.services.policy import Actor

DOC = Path(__file__).resolve().parents[2] / "docs" / "graphql.md"
EXAMPLES = re.findall(r"```graphql\n# as: (\w+)\n(.*?)```", DOC.read_text(), re.DOTALL)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    from progres.services.settings import Settings  # noqa: PLC0415

    settings = Settings(store="sqlite", data_dir=tmp_path_factory.mktemp("docs"))
    services = Services.wire(settings)
    scenario = run_seed_scenario(services.app)
    services.models.fresh(None)
    return services, build_schema(settings), scenario


def test_the_guide_has_an_example_for_each_kind_of_user():
    assert {who for who, _ in EXAMPLES} >= {"coordonnateur", "member", "titulaire", "auditeur"}


@pytest.mark.parametrize(("who", "operation"), EXAMPLES, ids=[f"{w}-{i}" for i, (w, _) in enumerate(EXAMPLES)])
def test_each_example_of_the_guide_runs(seeded, who, operation):
    services, schema, s = seeded
    actors = {"coordonnateur": (s.region, "coordonnateur"), "member": (s.lycees[0], "acheteur"),
              "titulaire": (s.titulaire, "titulaire"), "auditeur": (s.auditor, "auditeur")}
    variables = {"plan": s.plan, "member": s.lycees[0], "groupement": s.groupement}
    used = {name: value for name, value in variables.items() if f"${name}" in operation}
    context = ProgresContext(services, Actor.parse(*actors[who]))

    async def run():
        if operation.lstrip().startswith("subscription"):
            stream = await schema.subscribe(operation, variable_values=used, context_value=context)
            first = await anext(stream)
            await stream.aclose()
            return first
        return await schema.execute(operation, used, context_value=context)

    result = asyncio.run(run())
    assert result.errors is None, result.errors
    assert result.data
    assert all(value is not None for value in result.data.values())
    for mutation in ("recordMeasure", "importMeasures"):
        if mutation in operation:
            assert result.data[mutation]["error"]["code"] == "plan_closed"
