"""The console reads a directory longer than one page of the API (500) to its end: a region of more organisations
than that sees them all in its forms, none dropped silently."""

from __future__ import annotations

import asyncio

from progres.console.operations import DIRECTORY, Executor
from progres.domain.values import siret_with_key
from progres.services.policy import Actor
from tests.graphql_api import InProcessApi


def test_a_directory_of_more_than_a_page_is_read_whole(sqlite_settings):
    api = InProcessApi(sqlite_settings)
    count = 503
    for n in range(count):
        api.app.register_organisation(siret_with_key(f"{210000000 + n:09d}0001"), f"Lycée {n}", "eple")
    api.models.fresh(None)
    executor = Executor(api.schema, api.services)
    admin = Actor.parse("platform", "admin")
    first_page = asyncio.run(executor.run(DIRECTORY, admin))["organisations"]
    assert len(first_page["edges"]) == 500
    assert first_page["pageInfo"]["hasNextPage"]
    whole = asyncio.run(executor.read_all(DIRECTORY, admin, "organisations"))["organisations"]
    names = [edge["node"]["name"] for edge in whole["edges"]]
    assert len(names) == count
    assert len(set(names)) == count
    assert set(whole) == {"edges"}
