"""Purchase files imported on SQLite and PostgreSQL: shares computed as by hand, indicators fed with
provenance, the diagnostic export, and refusals that write nothing."""

from __future__ import annotations

import base64
import hashlib
import uuid
from datetime import date
from decimal import Decimal
from uuid import UUID

import pytest
from psycopg import sql

from progres.domain.errors import DomainError
from progres.domain.measures import measure_id
from progres.domain.purchases import PurchaseRegister
from progres.domain.values import Period
from progres.projections.egalim import diagnostic, period_totals, shares
from progres.services.bootstrap import postgres_connect
from progres.services.purchase_import import purchase_lines
from progres.services.purchase_workload import FEEDS, HEADER, CanteenWorld, csv_bytes, setup_canteens
from tests.egalim_basket import BASKET, basket_file


@pytest.fixture
def world(app) -> CanteenWorld:
    return setup_canteens(app)


def run_import(app, world: CanteenWorld, content: bytes, member: int = 0, by: str | None = None,
               feeds: dict[str, str] | None = FEEDS, filename: str = "achats-2023.csv", command_id=None):
    return app.import_purchases(world.plan, world.lycees[member], base64.b64encode(content).decode(), filename,
                                by or world.lycees[member], "2024-01-20", feeds, command_id=command_id)


def register_of(app, world: CanteenWorld) -> PurchaseRegister:
    return app.repository.get(PurchaseRegister.create_id(UUID(world.plan), UUID(world.lycees[0])))


def value_of(app, world: CanteenWorld, key: str, period: Period, member: int = 0) -> Decimal | None:
    measure = app.measure(measure_id(UUID(world.plan), key, UUID(world.lycees[member]), period))
    return measure.value


def test_shares_of_a_small_basket_are_those_computed_by_hand(app, world):
    result = run_import(app, world, basket_file(world.sirets[0]))
    s1, s2, year = Period.semester(2023, 1), Period.semester(2023, 2), Period.parse("2023-01-01", "2023-12-31")
    assert value_of(app, world, "egalim_share", s1) == Decimal("85.00")
    assert value_of(app, world, "bio_share", s1) == Decimal("50.00")
    assert value_of(app, world, "egalim_share", s2) == Decimal("100.00")
    assert value_of(app, world, "bio_share", s2) == Decimal("100.00")
    assert value_of(app, world, "meat_fish_share", year) == Decimal("70.00")
    assert value_of(app, world, "local_share", year) == Decimal("21.43")

    assert app.repository.get(UUID(result.id)).line_count == 8
    register = register_of(app, world)
    figures = shares(period_totals(register.totals, s1.start, s1.end))
    assert figures["part_siqo"] == Decimal("10.00")
    assert figures["part_egalim_autres"] == Decimal("15.00")
    assert figures["part_externalites_performance"] == Decimal("10.00")
    assert figures["part_egalim_hors_bio"] == Decimal("35.00")
    assert figures["part_viandes_volailles_egalim"] == Decimal("100.00")
    assert figures["part_produits_de_la_mer_egalim"] == Decimal("25.00")
    assert figures["part_france"] == Decimal("50.00")
    assert figures["part_local_pat"] == Decimal("30.00")  # the fruit, local by the PAT's definition
    assert figures["part_local_km"] is not None
    assert figures["part_local_km"] == Decimal("0.00")
    assert figures["valeur_totale"] == Decimal("1000.00")


def test_the_annual_figures_are_exported_in_ma_cantine_diagnostic_field_names(app, world):
    run_import(app, world, basket_file(world.sirets[0]))
    register = register_of(app, world)
    fields = diagnostic(period_totals(register.totals, date(2023, 1, 1), date(2023, 12, 31)), 2023)
    expected = {
        "valeur_totale": "1400.00", "valeur_bio": "900.00", "valeur_bio_dont_commerce_equitable": "300.00",
        "valeur_siqo": "100.00", "valeur_egalim_autres": "150.00",
        "valeur_egalim_autres_dont_commerce_equitable": "0.00", "valeur_externalites_performance": "100.00",
        "valeur_viandes_volailles": "300.00", "valeur_viandes_volailles_egalim": "300.00",
        "valeur_viandes_volailles_france": "200.00", "valeur_produits_de_la_mer": "200.00",
        "valeur_produits_de_la_mer_egalim": "50.00", "valeur_viandes_volailles_bio": "200.00",
        "valeur_viandes_volailles_aocaop_igp_stg": "0.00", "valeur_viandes_volailles_label_rouge": "100.00",
        "valeur_produits_laitiers_hve": "100.00", "valeur_produits_laitiers_externalites": "0.00",
        "valeur_produits_de_la_mer_non_egalim": "150.00", "valeur_fruits_et_legumes_local": "300.00",
        "valeur_fruits_et_legumes_bio_dont_commerce_equitable": "300.00",
    }
    assert {k: str(fields[k]) for k in expected} == expected
    assert "valeur_produits_de_la_mer_europe" not in fields  # Europe is asked from the 2026 campaign on


def test_each_fed_measure_points_at_the_file_and_its_lines(app, world):
    content = basket_file(world.sirets[0])
    run_import(app, world, content)
    s1 = Period.semester(2023, 1)
    measure = app.measure(measure_id(UUID(world.plan), "egalim_share", UUID(world.lycees[0]), s1))
    sha256 = hashlib.sha256(content).hexdigest()
    assert measure.evidence.sha256 == sha256
    assert measure.evidence.name == "achats-2023.csv"
    assert "lignes 2 à 8 (7 achats)" in measure.source
    lines = list(purchase_lines(app, UUID(world.plan), UUID(world.lycees[0]), s1))
    assert [(h, line.line) for h, line in lines] == [(sha256, n) for n in range(2, 9)]
    assert sum(line.cents for _, line in lines) == 100000


def test_a_second_file_corrects_the_measures_it_changes_and_an_identical_file_is_refused(app, world):
    s1 = Period.semester(2023, 1)
    app.record_measure(world.plan, "egalim_share", world.lycees[0], "2023-01-01", "2023-06-30",
                       "saisie du lycée", world.lycees[0], "2023-07-02", value=60)
    run_import(app, world, basket_file(world.sirets[0]))
    assert value_of(app, world, "egalim_share", s1) == Decimal("85.00")  # the typed value corrected, not twice
    run_import(app, world, basket_file(world.sirets[0], [["2023-03-01", "1000", "AUTRES", "", "", "", "", "", ""]]),
               filename="complement.csv")
    measure = app.measure(measure_id(UUID(world.plan), "egalim_share", UUID(world.lycees[0]), s1))
    assert measure.value == Decimal("42.50")  # 850 / 2000
    assert len(measure.corrections) == 2
    assert "complement.csv" in measure.corrections[-1]["reason"]

    head = app.max_notification_id()
    with pytest.raises(DomainError) as info:
        run_import(app, world, basket_file(world.sirets[0]), filename="renamed.csv")
    assert info.value.code == "purchase_file_already_imported"
    assert info.value.field == "content"
    assert app.max_notification_id() == head


BROKEN = {
    "wrong header order": (
        lambda s: csv_bytes(["siret", "description", "date", "fournisseur", *HEADER[4:]], []),
        "ligne 1, colonne 3 : « date » au lieu de « fournisseur » (les colonnes doivent être dans l'ordre du "
        "modèle)"),
    "unknown family": (
        lambda s: basket_file(s, [["2023-01-05", "1", "LEGUMES", "", "", "", "", "", ""]]),
        "ligne 2, colonne famille_produits : « LEGUMES » n'est pas une famille de produits connue (VIANDES_VOLAILLES,"
        " CHARCUTERIE, PRODUITS_DE_LA_MER, FRUITS_ET_LEGUMES, PRODUITS_LAITIERS, BOULANGERIE, BOISSONS, AUTRES)"),
    "bad date": (
        lambda s: basket_file(s, [*BASKET, ["05/01/2023", "1", "AUTRES", "", "", "", "", "", ""]]),
        "ligne 10, colonne date : « 05/01/2023 » n'est pas une date au format aaaa-mm-jj"),
    "negative price": (
        lambda s: basket_file(s, [*BASKET, ["2023-01-05", "-1", "AUTRES", "", "", "", "", "", ""]]),
        "ligne 10, colonne prix_ht : « -1 » : la valeur ne peut pas être négative"),
    "outside the marché": (
        lambda s: basket_file(s, [["2022-12-31", "1", "AUTRES", "", "", "", "", "", ""]]),
        "ligne 2, colonne date : la date 2022-12-31 est hors de la période d'exécution du marché (2023-01-01 au "
        "2025-12-31)"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_file_is_refused_with_its_exact_message_and_writes_nothing(app, world, case):
    make, message = BROKEN[case]
    head = app.max_notification_id()
    with pytest.raises(DomainError) as info:
        run_import(app, world, make(world.sirets[0]))
    assert info.value.code == "invalid_purchase_file"
    assert info.value.field == "content"
    assert message in info.value.errors
    assert app.max_notification_id() == head
    assert not app.exists(measure_id(UUID(world.plan), "egalim_share", UUID(world.lycees[0]),
                                     Period.semester(2023, 1)))


def test_only_the_member_itself_the_coordonnateur_or_the_titulaire_imports_its_purchases(app, world):
    head = app.max_notification_id()
    with pytest.raises(DomainError) as info:
        run_import(app, world, basket_file(world.sirets[0]), by=world.lycees[1])
    assert (info.value.code, info.value.field) == ("not_entitled", "recorded_by")
    with pytest.raises(DomainError) as info:
        run_import(app, world, basket_file(world.sirets[0]), feeds={"egalim_share": "part_inconnue"})
    assert (info.value.code, info.value.field) == ("invalid_input", "feeds.egalim_share")
    with pytest.raises(DomainError) as info:
        run_import(app, world, basket_file(world.sirets[0]), feeds={"no_such_indicator": "part_bio"})
    assert info.value.code == "unknown_indicator"
    assert app.max_notification_id() == head
    assert run_import(app, world, basket_file(world.sirets[0]), by=world.region).id


def test_a_retried_import_returns_its_first_answer(app, world):
    first = run_import(app, world, basket_file(world.sirets[0]), command_id="import-1")
    head = app.max_notification_id()
    again = run_import(app, world, basket_file(world.sirets[0]), command_id="import-1")
    assert again.replayed
    assert again.id == first.id
    assert app.max_notification_id() == head


def test_a_lycee_imports_its_purchase_file_through_the_graphql_mutation(sqlite_settings):
    import asyncio  # noqa: PLC0415

    from progres.graphql.context import ProgresContext, Services  # noqa: PLC0415
    from progres.graphql.schema import build_schema  # noqa: PLC0415
    from progres.services.policy import Actor  # noqa: PLC0415

    services = Services.wire(sqlite_settings)
    schema = build_schema(sqlite_settings)
    world = setup_canteens(services.app)
    mutation = ("mutation($plan: ID!, $member: ID!, $content: String!, $by: ID!, $feeds: [IndicatorFeedInput!]) { "
                "importPurchases(planId: $plan, memberId: $member, content: $content, filename: \"achats.csv\", "
                "importedBy: $by, importedOn: \"2024-01-20\", indicatorFeeds: $feeds) "
                "{ ok id error { code field message } } }")
    feeds = [{"indicatorKey": key, "figure": figure} for key, figure in FEEDS.items()]
    content = base64.b64encode(basket_file(world.sirets[0])).decode()

    def run(actor: str, by: str, body: str = content) -> dict:
        context = ProgresContext(services, Actor.parse(actor, "acheteur"))
        variables = {"plan": world.plan, "member": world.lycees[0], "content": body, "by": by, "feeds": feeds}
        result = asyncio.run(schema.execute(mutation, variables, context_value=context))
        assert result.errors is None, result.errors
        return result.data["importPurchases"]

    head = services.app.max_notification_id()
    denied = run(world.lycees[1], world.lycees[1])  # another lycée, acting for itself, on this lycée's file
    assert (denied["ok"], denied["error"]["code"]) == (False, "not_entitled")
    broken = run(world.lycees[0], world.lycees[0], "not base64!")
    assert broken["error"] == {"code": "invalid_input", "field": "content",
                               "message": "content: le contenu doit être le fichier encodé en base64"}
    negative = base64.b64encode(basket_file(world.sirets[0], [["2023-01-05", "-1", "AUTRES", "", "", "", "", "",
                                                               ""]])).decode()
    assert run(world.lycees[0], world.lycees[0], negative)["error"] == {
        "code": "invalid_purchase_file", "field": "content",
        "message": "content: 1 erreur(s) : ligne 2, colonne prix_ht : « -1 » : la valeur ne peut pas être négative"}
    assert services.app.max_notification_id() == head
    accepted = run(world.lycees[0], world.lycees[0])
    assert accepted["ok"] is True
    assert value_of(services.app, world, "egalim_share", Period.semester(2023, 1)) == Decimal("85.00")


def test_the_command_line_imports_a_file_refuses_a_broken_one_and_prints_the_figures(tmp_path, sqlite_settings):
    import json  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    from progres.services.bootstrap import bootstrap  # noqa: PLC0415

    app = bootstrap(sqlite_settings)
    world = setup_canteens(app)
    app.close()

    def progres(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "progres.services.cli", *args, "--data-dir",
                               str(sqlite_settings.data_dir)], check=False, capture_output=True, text=True,
                              timeout=120, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})

    broken = tmp_path / "casse.csv"
    broken.write_bytes(basket_file(world.sirets[0], [["2023-01-05", "-1", "LEGUMES", "", "", "", "", "", ""]]))
    refused = progres("import", "achats", str(broken), "--plan", world.plan, "--member", world.sirets[0],
                      "--feed", "egalim_share=part_egalim", "--on", "2024-01-20")
    assert refused.returncode == 2
    assert "fichier refusé, rien n'est importé (2 erreur(s))" in refused.stderr
    assert "ligne 2, colonne prix_ht : « -1 » : la valeur ne peut pas être négative" in refused.stderr
    assert refused.stdout == ""

    good = tmp_path / "achats.csv"
    good.write_bytes(basket_file(world.sirets[0]))
    accepted = progres("import", "achats", str(good), "--plan", world.plan, "--member", world.sirets[0],
                       "--feed", "egalim_share=part_egalim", "--on", "2024-01-20")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert "Import accepté : 8 achats (ma-cantine-12-colonnes)" in accepted.stdout
    again = progres("import", "achats", str(good), "--plan", world.plan, "--member", world.sirets[0],
                    "--on", "2024-01-21")
    assert again.returncode == 2
    assert "purchase_file_already_imported" in again.stderr
    assert again.stdout == ""

    parts = progres("egalim", "parts", "--plan", world.plan, "--member", world.sirets[0], "--from", "2023-01-01",
                    "--to", "2023-06-30", "--json")
    assert json.loads(parts.stdout)["parts"]["part_egalim"] == "85.00"
    declared = json.loads(progres("egalim", "teledeclaration", "--plan", world.plan, "--member", world.sirets[0],
                                  "--year", "2023").stdout)
    assert (declared["valeur_totale"], declared["valeur_bio"], declared["valeur_siqo"]) == ("1400.00", "900.00",
                                                                                          "100.00")


def test_the_read_models_show_the_fed_shares_and_the_import_in_the_groupement_history(store_settings):
    from progres.graphql.context import Services  # noqa: PLC0415

    # Read models of their own: in the shared default schema, rows of earlier runs (same derived ids) answered.
    settings = store_settings.model_copy(update={"views_schema": f"views_{uuid.uuid4().hex[:10]}"})
    services = Services.wire(settings)
    try:
        app, models = services.app, services.models
        world = setup_canteens(app)
        result = run_import(app, world, basket_file(world.sirets[0]))
        models.fresh(None)
        view = models.member_view(world.plan, world.lycees[0])
        egalim = next(i for i in view["indicators"] if i["key"] == "egalim_share")
        assert [(o["period_start"], o["value"]) for o in egalim["observations"]] == [
            ("2023-01-01", "85.00"), ("2023-07-01", "100.00")]
        assert "sha256" in egalim["observations"][0]["source"]
        rows = models.store.history(models.projection, {"aggregate_id": result.id})
        assert [r["type"] for r in rows] == ["PurchaseImport.Imported"]  # its 8 line events are not projected
        assert {r["groupement_id"] for r in rows} == {world.groupement}
        ledger = models.ledgers([world.groupement])[world.groupement]
        assert "Achat 3" not in str(ledger)  # no purchase line on the read side, only the measures they feed
    finally:
        services.models.close()
        services.app.close()
        if settings.store == "postgres":
            with postgres_connect(settings, autocommit=True) as connection:
                connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(
                    settings.views_schema)))
