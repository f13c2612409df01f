"""The EGalim shares of a member read over HTTP from a real `progres serve` on PostgreSQL, through the policy."""

from __future__ import annotations

import base64
import hashlib

import pytest

from progres.domain.values import siret_with_key
from progres.services.bootstrap import bootstrap
from progres.services.purchase_workload import FEEDS, setup_canteens
from tests.egalim_basket import BASKET, basket_file

pytestmark = pytest.mark.postgres

# The basket of tests/egalim_basket.py: S1 2023 total 1,000 € HT, bio 50 %, SIQO 10 %, other
# labels 15 %, externalités/performance 10 %, EGalim 85 %, meat and fish EGalim 70 %, local 30 %.
QUERY = """query($p: ID!, $m: ID!, $from: Date!, $to: Date!, $t: EgalimTerritory! = HEXAGONE, $n: Int) {
  egalimShares(planId: $p, memberId: $m, periodStart: $from, periodEnd: $to, territory: $t, minPosition: $n) {
    planId memberId periodStart periodEnd valeurTotale partBio partSiqo partEgalimAutres partExternalitesPerformance
    partEgalim partEgalimHorsBio partViandesPoissonsEgalim partLocal partLocalPat partEurope
    byFamily { family valeurTotale valeurBio valeurSiqo valeurEgalimAutres valeurNonEgalim partEgalim }
    threshold { territory start end egalimPercent bioPercent source egalimReached bioReached meatFishPercent
                meatFishReached }
    imports { importId sha256 lineCount importedOn }
  }
}"""
REGION = (siret_with_key("2000537670001"), "coordonnateur")
TITULAIRE = (siret_with_key("4190012340001"), "titulaire")


@pytest.fixture
def imported(server):
    app = bootstrap(server.settings)
    try:
        world = setup_canteens(app)
        content = basket_file(world.sirets[0], BASKET)
        app.import_purchases(world.plan, world.lycees[0], base64.b64encode(content).decode(), "achats-2023.csv",
                             world.lycees[0], "2024-01-20", FEEDS)
        head = app.max_notification_id()
    finally:
        app.close()
    return world, hashlib.sha256(content).hexdigest(), head


def ask(server, world, head, actor, member=0, start="2023-01-01", end="2023-06-30", **more):
    return server.post(QUERY, {"p": world.plan, "m": world.lycees[member], "from": start, "to": end, "n": head,
                               **more}, actor=actor)


def test_the_coordonnateur_reads_a_members_shares_as_computed_by_hand_with_thresholds_and_provenance(server,
                                                                                                  imported):
    world, sha256, head = imported
    answer = ask(server, world, head, REGION)
    assert "errors" not in answer, answer
    shares = answer["data"]["egalimShares"]
    assert (shares["valeurTotale"], shares["partBio"], shares["partSiqo"], shares["partEgalimAutres"],
            shares["partExternalitesPerformance"], shares["partEgalim"], shares["partEgalimHorsBio"]) == \
        ("1000.00", "50.00", "10.00", "15.00", "10.00", "85.00", "35.00")
    assert (shares["partViandesPoissonsEgalim"], shares["partLocal"], shares["partLocalPat"]) == \
        ("70.00", "30.00", "30.00")
    assert shares["partEurope"] == "15.00"
    meat = next(f for f in shares["byFamily"] if f["family"] == "VIANDES_VOLAILLES")
    assert meat == {"family": "VIANDES_VOLAILLES", "valeurTotale": "300.00", "valeurBio": "200.00",
                    "valeurSiqo": "100.00", "valeurEgalimAutres": "0.00", "valeurNonEgalim": "0.00",
                    "partEgalim": "100.00"}
    assert [f["family"] for f in shares["byFamily"]] == ["VIANDES_VOLAILLES", "PRODUITS_DE_LA_MER",
                                                          "FRUITS_ET_LEGUMES", "PRODUITS_LAITIERS", "AUTRES"]
    assert shares["threshold"] == {
        "territory": "HEXAGONE", "start": "2022-01-01", "end": None, "egalimPercent": 50, "bioPercent": 20,
        "source": shares["threshold"]["source"], "egalimReached": True, "bioReached": True,
        "meatFishPercent": None, "meatFishReached": None}  # the 60 % for meat and fish applies from 2024
    assert "L. 230-5-1" in shares["threshold"]["source"]
    assert shares["imports"] == [{"importId": shares["imports"][0]["importId"], "sha256": sha256, "lineCount": 8,
                                  "importedOn": "2024-01-20"}]

    mayotte = ask(server, world, head, REGION, start="2023-07-01", end="2023-12-31", t="GROUPE_2")
    second = mayotte["data"]["egalimShares"]
    assert (second["valeurTotale"], second["partBio"], second["partViandesPoissonsEgalim"]) == ("400.00", "100.00",
                                                                                                  None)
    assert (second["threshold"]["territory"], second["threshold"]["egalimPercent"],
            second["threshold"]["bioPercent"], second["threshold"]["end"]) == ("GROUPE_2", 5, 2, "2025-12-31")


def test_a_member_reads_its_own_shares_and_not_another_members_nor_does_the_titulaire(server, imported):
    world, _, head = imported
    own = ask(server, world, head, (world.sirets[0], "acheteur"))
    assert own["data"]["egalimShares"]["partEgalim"] == "85.00"

    for actor in [(world.sirets[1], "acheteur"), TITULAIRE]:
        refused = ask(server, world, head, actor)
        assert refused["data"] is None
        assert refused["errors"][0]["extensions"]["code"] == "forbidden", refused
        assert "85.00" not in str(refused)


def test_an_unknown_plan_a_member_without_purchases_and_a_reversed_period_are_refused_with_their_code(server,
                                                                                                      imported):
    world, _, head = imported
    unknown = server.post(QUERY, {"p": world.lycees[0], "m": world.lycees[0], "from": "2023-01-01",
                                  "to": "2023-06-30", "n": head}, actor=REGION)
    assert unknown["errors"][0]["extensions"] == {"code": "not_found", "field": "planId"}
    nothing = ask(server, world, head, REGION, member=1)
    assert nothing["errors"][0]["extensions"] == {"code": "not_found", "field": "memberId"}
    assert "aucun achat importé" in nothing["errors"][0]["message"]
    reversed_period = ask(server, world, head, REGION, start="2023-06-30", end="2023-01-01")
    assert reversed_period["errors"][0]["extensions"] == {"code": "invalid_input", "field": "periodEnd"}
    anonymous = server.post(QUERY, {"p": world.plan, "m": world.lycees[0], "from": "2023-01-01", "to": "2023-06-30"})
    assert anonymous["errors"][0]["extensions"]["code"] == "unauthenticated"
