"""The bilan on screen (summary, per indicator its figures, SVG chart and data table, French formatting) and its
CSV download, for the parties who may read it. In a real Chromium against a real `progres serve`."""

from __future__ import annotations

import csv
import io
import re

import pytest

from .conftest import sign_in

pytestmark = pytest.mark.postgres


def test_the_coordonnateur_reads_the_bilan_and_downloads_its_figures(console, page):
    s = console.scenario
    sign_in(page, console, s.region, "coordonnateur")
    page.click("text=Bilan")
    assert page.inner_text("h1").startswith("Bilan : ")
    summary = page.get_by_role("table", name="Chiffres clés").inner_text()
    assert re.search(r"Montant initial \(HT\)\s+480\u202f000,00\u00a0€", summary)
    assert re.search(r"Variation cumulée\s+0,00\u00a0%", summary)
    figures = page.get_by_role("table", name="Chiffres du bilan : Part des labels EGalim").inner_text()
    assert re.search(r"Cible\s+35\u00a0%", figures)
    assert re.search(r"Atteinte de la cible\s+\d+,\d\d\u00a0%", figures)
    chart = page.locator("svg[role=img]").first
    assert chart.locator("title").count() == 1
    rows = page.get_by_role("table", name="Valeurs du groupement et cible en vigueur : Part des labels EGalim")
    assert "1er sem. 2022" in rows.inner_text() or "janv." in rows.inner_text()
    with page.expect_download() as info:
        page.click("text=Chiffres du bilan (CSV, tableur)")
    download = info.value
    assert download.suggested_filename.startswith("bilan-")
    text = open(download.path(), encoding="utf-8-sig").read()  # noqa: SIM115
    lines = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert lines[0] == ["Rubrique", "Libellé", "Valeur"]
    assert ["Chiffres clés", "Montant initial (HT)", "480\u202f000,00\u00a0€"] in lines
    assert any(line[0] == "Part des labels EGalim" and re.fullmatch(r"\d+,\d+", line[2]) for line in lines)


def test_an_auditor_reads_the_bilan_and_a_stranger_may_not(console, page):
    s = console.scenario
    sign_in(page, console, s.auditor, "auditeur")
    answer = page.goto(f"{console.url}/plans/{s.plan}/bilan")
    assert answer.status == 200
    assert page.get_by_role("table", name="Chiffres clés").count() == 1
    page.context.clear_cookies()
    sign_in(page, console, s.lycees[0], "acheteur")
    assert page.goto(f"{console.url}/plans/{s.plan}/bilan").status == 200
    assert page.goto(f"{console.url}/plans/inconnu/bilan").status == 404
    assert page.goto(f"{console.url}/plans/inconnu/bilan.csv").status == 404
