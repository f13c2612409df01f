"""ma cantine purchase files read in every accepted variant, and refused with exact French messages."""

from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import Workbook

from progres.domain.egalim import Family, Group, Label, LocalDefinition, Origin, Purchase, group_of
from progres.domain.purchases import PurchaseFileRefused, monthly_totals, monthly_totals_of_rows
from progres.services.purchase_files import (
    CURRENT,
    OLD,
    check_header,
    check_rows,
    compiled,
    csv_rows,
    fast_rows,
    read,
    reference_problems,
)
from progres.services.purchase_workload import HEADER, OLD_HEADER, csv_bytes, generated_rows

SIRET = "21590001200014"
TODAY = date(2024, 1, 15)
ROWS = [
    [SIRET, "Yaourts nature", "Laiterie du Nord", "2023-01-10", "100.00", "PRODUITS_LAITIERS", "BIO,IGP", "FRANCE",
     "OUI", "oui", "KM", "50"],
    [SIRET, "Poulet fermier", "", "2023-02-10", "50.505", "VIANDES_VOLAILLES", "LABEL_ROUGE", "", "", "", "", ""],
    [SIRET, "Cabillaud", "Marée", "2023-03-01", "12", "PRODUITS_DE_LA_MER", " PECHE_DURABLE , HVE ", "EUROPE",
     "x", "NON", "", ""],
]


def expected_lines() -> list[tuple[object, ...]]:
    return [
        (2, date(2023, 1, 10), 10000, Family.PRODUITS_LAITIERS, {Label.BIO, Label.IGP}, Origin.FRANCE, True, True,
         LocalDefinition.KM, 50),
        (3, date(2023, 2, 10), 5050, Family.VIANDES_VOLAILLES, {Label.LABEL_ROUGE}, None, False, False, None, None),
        (4, date(2023, 3, 1), 1200, Family.PRODUITS_DE_LA_MER, {Label.PECHE_DURABLE, Label.HVE}, Origin.EUROPE,
         True, False, None, None),
    ]


def summary(file) -> list[tuple[object, ...]]:
    return [(x.line, x.day, x.cents, x.family, set(x.labels), x.origin, x.circuit_court, x.local,
             x.local_definition, x.local_km) for x in file.lines]


def refused(content: bytes, filename: str = "achats.csv") -> list[str]:
    with pytest.raises(PurchaseFileRefused) as info:
        read(content, filename, siret=SIRET, today=TODAY)
    assert info.value.code == "invalid_purchase_file"
    assert info.value.field == "content"
    return info.value.errors


@pytest.mark.parametrize("delimiter", [",", ";", "\t"], ids=["comma", "semicolon", "tab"])
def test_a_csv_file_is_read_whatever_its_delimiter(delimiter):
    file = read(csv_bytes(HEADER, ROWS, delimiter), "achats.csv", siret=SIRET, today=TODAY)
    assert file.delimiter == delimiter
    assert file.file_format == CURRENT
    assert summary(file) == expected_lines()
    assert file.media_type == "text/csv"


def test_a_csv_saved_by_a_spreadsheet_in_windows_encoding_with_a_bom_is_read():
    content = "\ufeff".encode() + csv_bytes(HEADER, [[*ROWS[0][:1], "Crème fraîche", *ROWS[0][2:]]], ";")
    file = read(content, "achats.csv", siret=SIRET, today=TODAY)
    assert file.lines[0].description == "Crème fraîche"
    latin = csv_bytes(HEADER, [[*ROWS[0][:1], "Crème fraîche", *ROWS[0][2:]]], ";").decode().encode("cp1252")
    assert read(latin, "achats.csv", siret=SIRET, today=TODAY).lines[0].description == "Crème fraîche"


def test_an_xlsx_file_with_typed_cells_is_read():
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    sheet.append([int(SIRET), "Yaourts nature", "Laiterie du Nord", date(2023, 1, 10), 100, "PRODUITS_LAITIERS",
                  "BIO,IGP", "FRANCE", "OUI", "oui", "KM", 50])
    sheet.append([SIRET, "Poulet fermier", None, date(2023, 2, 10), 50.505, "VIANDES_VOLAILLES", "LABEL_ROUGE"])
    sheet.append([SIRET, "Cabillaud", "Marée", "2023-03-01", "12", "PRODUITS_DE_LA_MER", " PECHE_DURABLE , HVE ",
                  "EUROPE", "x", "NON", None, None])
    sheet.append([None] * 12)  # formatted but empty rows at the end are not purchases
    buffer = io.BytesIO()
    workbook.save(buffer)
    file = read(buffer.getvalue(), "achats.xlsx", siret=SIRET, today=TODAY)
    assert file.delimiter is None
    assert file.media_type.endswith("spreadsheetml.sheet")
    assert summary(file) == expected_lines()


def test_the_older_eight_column_format_with_caracteristiques_is_read():
    rows = [
        [SIRET, "Yaourts nature", "Laiterie du Nord", "2023-01-10", "100.00", "PRODUITS_LAITIERS",
         "BIO,IGP,FRANCE,CIRCUIT_COURT,LOCAL", "AUTOUR_SERVICE"],
        [SIRET, "Poulet fermier", "", "2023-02-10", "50.505", "VIANDES_VOLAILLES", "LABEL_ROUGE", ""],
        [SIRET, "Cabillaud", "Marée", "2023-03-01", "12", "PRODUITS_DE_LA_MER", "PECHE_DURABLE,HVE,EUROPE,"
         "CIRCUIT_COURT", ""],
    ]
    file = read(csv_bytes(OLD_HEADER, rows, ";"), "ancien.csv", siret=SIRET, today=TODAY)
    assert file.file_format == OLD
    expected = expected_lines()
    expected[0] = (*expected[0][:9], 200)  # "autour du service" was 200 km in ma cantine's older format
    assert summary(file) == expected


def test_columns_in_the_wrong_order_are_named():
    header = ["siret", "description", "date", "fournisseur", *HEADER[4:]]
    assert refused(csv_bytes(header, [])) == [
        "ligne 1, colonne 3 : « date » au lieu de « fournisseur » (les colonnes doivent être dans l'ordre du modèle)",
        "ligne 1, colonne 4 : « fournisseur » au lieu de « date » (les colonnes doivent être dans l'ordre du modèle)",
    ]


def test_a_missing_column_is_named():
    errors = refused(csv_bytes(HEADER[:-1], []))
    assert errors[0] == ("la première ligne a 11 colonnes au lieu de 12 : siret, description, fournisseur, date, "
                         "prix_ht, famille_produits, categories_egalim, origine, est_circuit_court, est_local, "
                         "definition_local, definition_local_km")


def test_every_bad_cell_is_named_by_line_and_column_in_french():
    rows = [
        [SIRET, "Yaourts", "", "2023-01-10", "10", "POISSONS", "", "", "", "", "", ""],
        [SIRET, "Poulet", "", "2023-02-30", "10", "VIANDES_VOLAILLES", "", "", "", "", "", ""],
        [SIRET, "Cabillaud", "", "2023-03-01", "-12.50", "PRODUITS_DE_LA_MER", "BIO,BIOO", "ITALIE", "peut-être",
         "", "", "5.5"],
        [SIRET, "", "", "2023-03-01", "1,5", "AUTRES", "", "", "", "", "PAT", ""],
        ["123", "Pain", "", "2025-03-01", "1.5", "BOULANGERIE", "", "", "", "", "", ""],
        [SIRET, "Lait", "", "2023-03-01", "1.5", "PRODUITS_LAITIERS", "", "", "", "", "PAT", ""],
        [SIRET, "Lait", "", "2023-03-01", "1.5", "PRODUITS_LAITIERS", "", "", "", "OUI", "PAT", "12"],
        ["21590001200022", "Lait", "", "2023-03-01", "1.5", "PRODUITS_LAITIERS", "", "", "", "", "", ""],
    ]
    after_blank = csv_bytes(HEADER, [ROWS[1]]).split(b"\n", 1)[1]  # a good line after a blank one
    content = csv_bytes(HEADER, rows) + b",,,,,,,,,,,\n" + after_blank
    assert refused(content) == [
        "ligne 2, colonne famille_produits : « POISSONS » n'est pas une famille de produits connue "
        "(VIANDES_VOLAILLES, CHARCUTERIE, PRODUITS_DE_LA_MER, FRUITS_ET_LEGUMES, PRODUITS_LAITIERS, BOULANGERIE, "
        "BOISSONS, AUTRES)",
        "ligne 3, colonne date : « 2023-02-30 » n'est pas une date au format aaaa-mm-jj",
        "ligne 4, colonne prix_ht : « -12.50 » : la valeur ne peut pas être négative",
        "ligne 4, colonne categories_egalim : « BIO,BIOO » contient une catégorie EGalim inconnue (BIO, "
        "LABEL_ROUGE, AOCAOP, IGP, STG, HVE, PECHE_DURABLE, RUP, COMMERCE_EQUITABLE, FERMIER, EXTERNALITES, "
        "PERFORMANCE)",
        "ligne 4, colonne origine : « ITALIE » : origine attendue FRANCE ou EUROPE",
        "ligne 4, colonne est_circuit_court : « peut-être » n'est pas une valeur acceptée (OUI, oui, x, non, NON "
        "ou vide)",
        "ligne 4, colonne definition_local_km : « 5.5 » n'est pas un nombre entier",
        "ligne 5, colonne description : valeur obligatoire manquante",
        "ligne 5, colonne prix_ht : « 1,5 » n'est pas un nombre (point comme séparateur décimal)",
        "ligne 6, colonne siret : « 123 » n'est pas un SIRET (14 chiffres)",
        "ligne 7, colonne definition_local : à laisser vide quand l'achat n'est pas local",
        "ligne 8, colonne definition_local_km : à laisser vide quand la définition de local n'est pas KM",
        "ligne 9, colonne siret : le SIRET « 21590001200022 » n'est pas celui du membre importé (21590001200014)",
        "ligne 10 : ligne vide, à supprimer",
    ]


def test_our_compiled_checks_flag_exactly_the_cells_frictionless_flags_against_the_same_schema():
    rows = [HEADER, *[row[:] for row in ROWS]]
    bad_cells = {("date", "2023-02-30"), ("date", "05/01/2023"), ("date", "2023-1-5"), ("prix_ht", "-0.01"),
                 ("prix_ht", "1,5"), ("prix_ht", "1e3"), ("prix_ht", "abc"), ("famille_produits", "POISSONS"),
                 ("famille_produits", " AUTRES "), ("categories_egalim", "BIO,,IGP"), ("categories_egalim", "bio"),
                 ("origine", "France"), ("est_local", "Oui"), ("est_local", "NON"), ("definition_local_km", "5.5"),
                 ("definition_local_km", "-1"), ("siret", "2159000120001"), ("description", ""), ("siret", "")}
    for column, cell in sorted(bad_cells):
        row = ROWS[1][:]
        row[HEADER.index(column)] = cell
        rows.append(row)
    ours = set()
    for number, row in enumerate(rows[1:], start=2):
        for field, cell in zip(compiled(CURRENT), row, strict=True):
            if field.read(cell)[1] is not None:
                ours.add((number, field.name))
    assert ours == reference_problems(CURRENT, rows)
    assert len(ours) >= 10  # the verdicts differ from one cell to the next: both accept and refuse


def test_a_date_in_the_future_and_a_cell_too_many_are_refused():
    rows = [[SIRET, "Pain", "", "2024-02-01", "1.5", "BOULANGERIE", "", "", "", "", "", ""],
            [SIRET, "Pain", "", "2023-02-01", "1.5", "BOULANGERIE", "", "", "", "", "", "", "en trop"]]
    assert refused(csv_bytes(HEADER, rows)) == [
        "ligne 2, colonne date : la date 2024-02-01 est dans le futur",
        "ligne 3 : 13 cellules au lieu de 12",
    ]


def test_rows_of_empty_cells_are_refused_as_ma_cantine_refuses_them_but_a_final_newline_is_not():
    content = csv_bytes(HEADER, ROWS[:1]) + b",,,,,,,,,,,\n,,,,,,,,,,,\n"
    assert refused(content) == ["ligne 3 : ligne vide, à supprimer", "ligne 4 : ligne vide, à supprimer"]
    assert len(read(csv_bytes(HEADER, ROWS[:1]) + b"\n\n", "achats.csv", siret=SIRET, today=TODAY).lines) == 1


def test_a_long_cell_is_echoed_by_a_short_prefix_only():
    rows = [[SIRET, "Pain", "", "2023-02-01", "1.5", "X" * 5000, "", "", "", "", "", ""]]
    (error,) = refused(csv_bytes(HEADER, rows))
    assert "X" * 40 + "…" in error
    assert len(error) < 400


def test_a_file_that_is_not_a_spreadsheet_is_refused():
    assert refused(b"PK\x03\x04 not a zip", "achats.xlsx") == ["le fichier XLSX n'a pas pu être lu"]
    assert refused(b"   \n", "achats.csv") == ["le fichier est vide"]
    assert refused(csv_bytes(HEADER, [])) == ["le fichier ne contient aucun achat (seulement la ligne des noms de "
                                              "colonnes)"]


def test_a_purchase_with_bio_and_igp_counts_once_as_bio():
    purchase = Purchase(date(2023, 1, 10), 10000, Family.PRODUITS_LAITIERS, frozenset({Label.BIO, Label.IGP}))
    assert group_of(purchase.labels) is Group.BIO
    file = read(csv_bytes(HEADER, ROWS[:1]), "achats.csv", siret=SIRET, today=TODAY)
    totals = monthly_totals(file.lines)["2023-01"]["PRODUITS_LAITIERS"]
    assert totals["total"] == totals["bio"] == totals["detail:bio"] == 10000
    assert "siqo" not in totals
    assert "detail:aocaop_igp_stg" not in totals


OLD_ROWS = [
    [SIRET, "Yaourts nature", "Laiterie du Nord", "2023-01-10", "100.00", "PRODUITS_LAITIERS",
     "BIO,IGP,FRANCE,CIRCUIT_COURT,LOCAL", "AUTOUR_SERVICE"],
    [SIRET, "Poulet fermier", "", "2023-2-10", "50.505", "VIANDES_VOLAILLES", " LABEL_ROUGE , COMMERCE_EQUITABLE", ""],
    [SIRET, "Cabillaud", "Marée", "2023-03-01", "12", " PRODUITS_DE_LA_MER ", "PECHE_DURABLE,HVE,EUROPE", ""],
    [f" {SIRET} ", " Pain ", " Fournil ", "2023-03-02", "0.005", "BOULANGERIE", "LOCAL", "AUTRE"],
    [SIRET, "Lait", "", "2023-03-03", "1e2", "PRODUITS_LAITIERS", "LOCAL,FERMIER", "PAT"],
]


@pytest.mark.parametrize(("header", "rows"),
                         [(HEADER, ROWS), (HEADER, generated_rows(SIRET, 500)), (OLD_HEADER, OLD_ROWS)],
                         ids=["current", "generated", "older"])
def test_the_column_by_column_reading_makes_the_same_rows_and_totals_as_the_line_by_line_reading(header, rows):
    parsed, _ = csv_rows(csv_bytes(header, rows, ";"))
    file_format = check_header(parsed[0])
    fast = fast_rows(file_format, parsed, siret=SIRET, today=TODAY, window=None)
    slow = check_rows(file_format, parsed, siret=SIRET, today=TODAY, window=None)
    assert fast == [line.row() for line in slow]
    assert monthly_totals_of_rows(fast) == monthly_totals(slow)


@pytest.mark.parametrize(("column", "value"), [(0, "21590001200022"), (3, "2024-02-01"), (3, "2023-13-01"), (4, "-1"),
                                          (5, "LEGUMES"), (10, "PAT"), (11, "12"), (1, "")])
def test_the_column_by_column_reading_leaves_every_doubtful_file_to_the_line_by_line_reading(column, value):
    rows = [list(row) for row in ROWS]
    rows[1][column] = value
    parsed, _ = csv_rows(csv_bytes(HEADER, rows, ";"))
    assert fast_rows(CURRENT, parsed, siret=SIRET, today=TODAY, window=None) is None
    with pytest.raises(PurchaseFileRefused):
        check_rows(CURRENT, parsed, siret=SIRET, today=TODAY, window=None)
