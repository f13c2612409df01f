"""The console reads lists longer than one page of the API (500) to their end: a region of more organisations, a
groupement of more members than that, shows them all in its pages and forms, none dropped silently."""

from __future__ import annotations

import asyncio

from progres.console.operations import DIRECTORY, GROUPEMENTS, Executor
from progres.console.setup import SETUP_GROUPEMENTS
from progres.domain.values import siret_with_key
from progres.services.policy import Actor
from tests.conftest import ADHESION, CONVENTION
from tests.graphql_api import InProcessApi

COUNT = 503
ADMIN = Actor.parse("platform", "admin")


def test_a_directory_and_a_groupement_of_more_than_a_page_are_read_whole(sqlite_settings):
    api = InProcessApi(sqlite_settings)
    region = api.app.register_organisation(siret_with_key("2000537670001"), "Région", "collectivite").id
    lycees = [api.app.register_organisation(siret_with_key(f"{210000000 + n:09d}0001"), f"Lycée {n}", "eple").id
              for n in range(COUNT)]
    groupement = api.app.constitute_groupement("GC-GRAND", "Grand groupement", "Achats", True, region, "2021-06-01",
                                               CONVENTION).id
    for lycee in lycees:
        api.app.admit_member(groupement, lycee, "2021-09-01", ADHESION, "2021-07-01")
    api.models.fresh(None)
    executor = Executor(api.schema, api.services)

    first_page = asyncio.run(executor.run(DIRECTORY, ADMIN))["organisations"]
    assert len(first_page["edges"]) == 500
    assert first_page["pageInfo"]["hasNextPage"]
    whole = asyncio.run(executor.read_all(DIRECTORY, ADMIN, "organisations"))["organisations"]
    names = [edge["node"]["name"] for edge in whole["edges"]]
    assert len(names) == COUNT + 1
    assert len(set(names)) == COUNT + 1
    assert set(whole) == {"edges"}

    for document in (GROUPEMENTS, SETUP_GROUPEMENTS):
        assert len(asyncio.run(executor.run(document, ADMIN))["groupements"]["edges"][0]["node"]["members"]
                   ["edges"]) == 500
        (read,) = asyncio.run(executor.groupements(document, ADMIN))
        assert read["id"] == str(groupement)
        # the coordonnateur is a member of its groupement too: COUNT + 1 memberships, each once
        assert sorted(m["organisationId"] for m in read["members"]) == sorted(str(o) for o in [region, *lycees])
