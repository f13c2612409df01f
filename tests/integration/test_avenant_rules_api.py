"""The avenant and DECP commands of issue 14 through the GraphQL API in process (real schema, real SQLite
store, real policy): the CAO's opinion before signing (L1414-4 CGCT), coordonnateur only; the R2194-9 reading
of the groupement; the correction of DECP particulars; and what the views show of them."""

from __future__ import annotations

from typing import Any

import pytest

from progres.services.demo import run_seed_scenario
from tests.graphql_api import InProcessApi

MINUTES = {"sha256": "c" * 64, "name": "pv-cao-2026-03.pdf", "mediaType": "application/pdf"}
RESULT = "{ ok id position error { code field message } }"


class Api(InProcessApi):
    def mutate(self, name: str, arguments: dict[str, Any], actor: str) -> dict[str, Any]:
        field = self.schema._schema.mutation_type.fields[name]
        definitions = ", ".join(f"${k}: {field.args[k].type}" for k in arguments)
        passed = ", ".join(f"{k}: ${k}" for k in arguments)
        data = self.run(f"mutation({definitions}) {{ {name}({passed}) {RESULT} }}", arguments, actor)
        return data[name]  # type: ignore[no-any-return]


@pytest.fixture
def seeded(sqlite_settings):
    api = Api(sqlite_settings)
    scenario = run_seed_scenario(api.app)
    api.models.fresh(None)
    return api, scenario


def ours(data: dict[str, Any], s: Any) -> dict[str, Any]:
    return next(g for g in data["groupements"] if g["id"] == s.groupement)


def refused_over_graphql(api: Api, name: str, arguments: dict[str, Any], actor: str, code: str,
                         field: str | None) -> None:
    head = api.app.max_notification_id()
    payload = api.mutate(name, arguments, actor)
    assert payload["ok"] is False
    assert (payload["error"]["code"], payload["error"]["field"]) == (code, field), payload["error"]
    assert api.app.max_notification_id() == head, "the log head must not move"


def test_l1414_4_cgct_the_cao_opinion_is_recorded_over_graphql_by_the_coordonnateur_before_signing(seeded):
    """L1414-4 CGCT: an avenant of more than 5 % of a marché the CAO awarded waits for its opinion."""
    api, s = seeded
    region, lycee = f"{s.region}:coordonnateur", f"{s.lycees[0]}:acheteur"
    notified = api.mutate("notifyMarche", {
        "groupementId": s.groupement, "code": "2026-BOF-02", "object": "BOF, second marché", "cpv": "15500000-3",
        "nature": "fournitures", "titulaireIds": [s.titulaire], "initialAmount": "300000", "durationMonths": 24,
        "notifiedOn": "2026-01-05"}, region)
    assert notified["ok"], notified
    marche = notified["id"]
    proposed = api.mutate("proposeAvenant", {"marcheId": marche, "basis": "R2194-7", "reason": "Extension",
                                             "avenantChanges": {"amountDelta": "24000"}, "on": "2026-03-02"}, region)
    assert proposed["ok"], proposed
    refused_over_graphql(api, "signAvenant", {"marcheId": marche, "number": 1, "signedOn": "2026-04-01"}, region,
                         "cao_opinion_missing", "cao_opinion")
    opinion = {"marcheId": marche, "number": 1, "givenOn": "2026-03-20", "favourable": True, "document": MINUTES}
    refused_over_graphql(api, "recordCaoOpinion", opinion, lycee, "forbidden", None)
    refused_over_graphql(api, "recordCaoOpinion", {**opinion, "document": None}, region, "invalid_input",
                         "document")
    assert api.mutate("recordCaoOpinion", opinion, region)["ok"]
    assert api.mutate("signAvenant", {"marcheId": marche, "number": 1, "signedOn": "2026-04-01"}, region)["ok"]
    api.models.fresh(None)
    data = api.run("""{ groupements { id smallModificationsReading marches { code buyerKind
        awardedByCao avenants { number status proposedOn cumulation needsCaoOpinion
        caoOpinion { givenOn favourable document { sha256 name mediaType } } } } } }""", None, region)
    second = next(m for m in ours(data, s)["marches"] if m["code"] == "2026-BOF-02")
    assert (second["buyerKind"], second["awardedByCao"]) == ("pouvoir_adjudicateur", True)
    assert second["avenants"] == [{
        "number": 1, "status": "signed", "proposedOn": "2026-03-02", "cumulation": "net", "needsCaoOpinion": True,
        "caoOpinion": {"givenOn": "2026-03-20", "favourable": True,
                       "document": {"sha256": "c" * 64, "name": "pv-cao-2026-03.pdf", "mediaType": "application/pdf"}},
    }]


def test_r2194_9_the_reading_is_chosen_over_graphql_and_shown_by_each_small_modification(seeded):
    """R2194-9 CCP, directive 2014/24 art. 72(2): the groupement's reading, and the one each avenant applied."""
    api, s = seeded
    region = f"{s.region}:coordonnateur"
    refused_over_graphql(api, "chooseSmallModificationsReading", {
        "groupementId": s.groupement, "reading": "absolute", "on": "2026-02-01", "reason": "avis"},
        f"{s.titulaire}:titulaire", "forbidden", None)
    assert api.mutate("chooseSmallModificationsReading", {
        "groupementId": s.groupement, "reading": "absolute", "on": "2026-02-01", "reason": "avis du conseil"},
        region)["ok"]
    marche = api.mutate("notifyMarche", {
        "groupementId": s.groupement, "code": "2026-BOF-03", "object": "BOF", "cpv": "15500000-3",
        "nature": "fournitures", "titulaireIds": [s.titulaire], "initialAmount": "100000", "durationMonths": 24,
        "notifiedOn": "2026-01-05"}, region)["id"]
    assert api.mutate("proposeAvenant", {"marcheId": marche, "basis": "R2194-8", "reason": "Ajustement",
                                         "avenantChanges": {"amountDelta": "-3000"}, "on": "2026-03-02"}, region)["ok"]
    api.models.fresh(None)
    data = api.run("""{ groupements { id smallModificationsReading
        marches { code avenants { cumulation smallModificationsCheck { reading cumulated
        threshold { amount source } } } } } }""", None, region)
    assert ours(data, s)["smallModificationsReading"] == "absolute"
    avenant = next(m for m in ours(data, s)["marches"] if m["code"] == "2026-BOF-03")["avenants"][0]
    assert avenant["cumulation"] == "absolute"
    assert avenant["smallModificationsCheck"]["reading"] == "absolute"
    assert avenant["smallModificationsCheck"]["cumulated"] == "3000"
    assert avenant["smallModificationsCheck"]["threshold"]["amount"] == "216000"
    assert "2025/2152" in avenant["smallModificationsCheck"]["threshold"]["source"]


def test_decp_particulars_are_corrected_over_graphql_and_checked_against_the_schema(seeded):
    """Arrêté du 22 décembre 2022 (DECP 2.0.3): a correction names the particular at fault, or is recorded."""
    api, s = seeded
    region = f"{s.region}:coordonnateur"
    refused_over_graphql(api, "correctParticulars", {"marcheId": s.marche, "decpParticulars": {"procedure": "AO"},
                                                     "reason": "coquille"}, region,
                         "invalid_particular", "decpParticulars.procedure")
    refused_over_graphql(api, "correctParticulars", {"marcheId": s.marche, "decpParticulars": {"offresRecues": 5},
                                                     "reason": "recompte"}, f"{s.lycees[0]}:acheteur",
                         "forbidden", None)
    assert api.mutate("correctParticulars", {"marcheId": s.marche, "decpParticulars": {"offresRecues": 5},
                                             "reason": "recompte des plis"}, region)["ok"]
    api.models.fresh(None)
    data = api.run("{ groupements { id marches { code decpParticulars { offresRecues procedure } } } }",
                   None, region)
    seed = next(m for m in ours(data, s)["marches"] if m["code"] == "2022-BOF-01")
    assert seed["decpParticulars"]["offresRecues"] == 5
    assert seed["decpParticulars"]["procedure"] == "Appel d'offres ouvert"
