"""Importing a file of measures through the console: a preview and line-numbered French errors before anything is
written, then one confirmation that writes the file in one command (`importMeasures`); CSV and XLSX. In a real
Chromium against a real `progres serve` on PostgreSQL."""

from __future__ import annotations

import io
import re

import pytest
from openpyxl import Workbook

from .conftest import sign_in

pytestmark = pytest.mark.postgres


def upload(page, console, name: str, content: bytes, mime: str) -> None:
    page.goto(f"{console.url}/plans/{console.scenario.plan}/mesures/import")
    page.set_input_files("#file", files=[{"name": name, "mimeType": mime, "buffer": content}])
    page.fill("#source", "tableur de la cuisine")
    page.fill("#declared_on", "05/07/2023")
    page.click("text=Vérifier le fichier")


def test_a_lycee_imports_a_csv_file_after_its_preview(console, page):
    s = console.scenario
    sign_in(page, console, s.lycees[0], "acheteur")
    page.click("text=Importer un fichier de mesures")
    head = console.log_head()
    wrong = ("indicateur;début;fin;valeur\n"
             "egalim_share;01/01/2023;30/06/2023;beaucoup\n"
             "part_bio;01/01/2023;30/06/2023;12\n"
             "waste_weight;31/06/2023;30/06/2023;770\n").encode()
    upload(page, console, "mesures.csv", wrong, "text/csv")
    errors = page.locator("#import-errors li").all_inner_texts()
    assert errors == [
        "Ligne 2 : valeur : « beaucoup » n'est pas un nombre (écrivez par exemple 31,5).",
        "Ligne 3 : l'indicateur « part_bio » n'existe pas dans ce plan",
        "Ligne 4 : début : « 31/06/2023 » n'est pas une date au format jj/mm/aaaa (par exemple 15/03/2025).",
    ]
    assert page.locator("text=Confirmer l'import").count() == 0
    assert console.log_head() == head

    good = ("indicateur;début;fin;valeur\n"
            "egalim_share;01/01/2023;30/06/2023;41,5\n"
            "waste_weight;01/01/2023;30/06/2023;1 770\n").encode()
    upload(page, console, "mesures.csv", good, "text/csv")
    preview = page.get_by_role("table", name="Mesures lues dans le fichier").inner_text()
    assert re.search(r"2\s+Part des labels EGalim\s+.*2023\s+41,5\u00a0%\s+correcte", preview)
    assert "1\u202f770" in preview
    assert "2\u00a0mesures à enregistrer en une fois" in page.inner_text("[role=status]")
    assert console.log_head() == head  # the preview wrote nothing
    page.click("text=Confirmer l'import")
    page.wait_for_url(re.compile(r".*/membres/.*\?enregistre=1&position=\d+"))
    assert console.log_head() > head
    table = page.get_by_role("table", name=re.compile("Part des labels EGalim")).inner_text()
    assert "41,5\u00a0%" in table


def test_another_lycee_imports_an_xlsx_file_and_a_measure_already_recorded_is_named_by_its_line(console, page):
    s = console.scenario
    sign_in(page, console, s.lycees[1], "acheteur")
    book = Workbook()
    sheet = book.active
    sheet.append(["indicateur", "debut", "fin", "valeur"])
    sheet.append(["egalim_share", "01/01/2023", "30/06/2023", "38,25"])
    sheet.append(["egalim_share", "01/07/2022", "31/12/2022", "30"])  # already recorded by the seed
    content = io.BytesIO()
    book.save(content)
    head = console.log_head()
    upload(page, console, "mesures.xlsx", content.getvalue(),
           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    page.click("text=Confirmer l'import")
    errors = page.locator("#import-errors li").all_inner_texts()
    assert len(errors) == 1
    assert errors[0].startswith("Ligne 3 : Une mesure de cet indicateur est déjà enregistrée pour cette période")
    assert console.log_head() == head  # all or nothing
    sheet.delete_rows(3)
    content = io.BytesIO()
    book.save(content)
    upload(page, console, "mesures.xlsx", content.getvalue(),
           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    page.click("text=Confirmer l'import")
    page.wait_for_url(re.compile(r".*\?enregistre=1&position=\d+"))
    assert console.log_head() > head
    assert "38,25\u00a0%" in page.get_by_role("table", name=re.compile("Part des labels EGalim")).inner_text()
