"""The console's pure helpers for the revues, avenants and import pages: a document's fingerprint and media type,
the caps of each legal basis, a file of measures checked line by line, the cap refusal said in French."""

from __future__ import annotations

import hashlib
from decimal import Decimal

from progres.console.messages import refusal
from progres.console.web import caps_of, check_measure_lines, document_of, read_measure_file

INDICATORS = {"egalim_share": {"key": "egalim_share", "name": "Part EGalim", "unit": "%", "kind": "quantitative",
                               "scope": "member"},
              "water_use": {"key": "water_use", "name": "Eau", "unit": "m3", "kind": "quantitative",
                            "scope": "groupement"}}


def test_a_document_is_its_sha256_its_name_and_the_media_type_of_its_bytes():
    content = b"%PDF-1.4\n"
    assert document_of("C:\\Users\\moi\\compte-rendu.txt", content) == {
        "sha256": hashlib.sha256(content).hexdigest(), "name": "compte-rendu.txt", "mediaType": "application/pdf"}
    assert document_of("pv.odt", b"PK")["mediaType"] == "application/vnd.oasis.opendocument.text"
    assert document_of("sans-extension", b"x")["mediaType"] == "application/octet-stream"


def test_the_caps_of_each_basis_from_the_initial_amount_and_the_current_amount_from_notified_avenants():
    caps = caps_of({"initialAmount": "480000.00", "nature": "fournitures", "buyerKind": "pouvoir_adjudicateur",
                    "avenants": [{"status": "notified", "amountDelta": "-12000.00"},
                                 {"status": "proposed", "amountDelta": "28000.00"}]})
    assert caps["current"] == Decimal("468000.00")
    by_basis = {row["basis"]: row for row in caps["rows"]}
    assert by_basis["R2194-2"]["amount"] == Decimal(240000)
    assert by_basis["R2194-8"]["amount"] == Decimal(48000)
    assert by_basis["R2194-1"]["amount"] is None
    adjudicatrice = caps_of({"initialAmount": "100", "nature": "travaux", "buyerKind": "entite_adjudicatrice",
                             "avenants": []})
    by_basis = {row["basis"]: row for row in adjudicatrice["rows"]}
    assert by_basis["R2194-2"]["percent"] is None
    assert by_basis["R2194-8"]["percent"] == Decimal(15)


def test_a_file_of_measures_is_checked_line_by_line_and_nothing_is_kept_from_a_wrong_line():
    lines = read_measure_file("m.csv", "\ufeffindicateur;début;fin;valeur\negalim_share;01/01/2023;30/06/2023;1 234,5\n"
                              "\nwater_use;2023-01-01;2023-06-30;abc\n".encode())
    preview, errors, rows = check_measure_lines(lines, INDICATORS, "moi")
    assert [p["line"] for p in preview] == [2, 4]
    assert errors == ["Ligne 4 : valeur : « abc » n'est pas un nombre (écrivez par exemple 31,5)."]
    assert rows == [{"line": 2, "indicatorKey": "egalim_share", "memberId": "moi", "periodStart": "2023-01-01",
                     "periodEnd": "2023-06-30", "value": "1234.5"}]
    _, errors, _ = check_measure_lines([["mesure", "valeur"]], INDICATORS, "moi")
    assert errors == ["La première ligne doit être les colonnes indicateur;debut;fin;valeur."]


def test_a_cap_exceeded_is_said_in_french():
    text = refusal("avenant_cap_exceeded", "changes.amount_delta: R2194-2 permet au plus 50 % du montant initial "
                                           "(par modification) ; cet avenant atteindrait 62.50 %")
    assert text == ("Plafond du fondement juridique dépassé : R2194-2 permet au plus 50\u00a0% du montant initial "
                    "(par modification) ; cet avenant atteindrait 62,50\u00a0%.")
