"""The bilan's reports downloaded from the bilan page (PDF, HTML, XLSX, the CSV tables in a zip), under the policy of
`planBalance`: the coordonnateur's complete copy, a lycée's restricted copy, and the coordonnateur of another
groupement refused (404, as the API answers a plan it may not read). In a real Chromium against a real
`progres serve` on PostgreSQL."""

from __future__ import annotations

import io
import time
import zipfile
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook

from progres.domain.values import siret_with_key
from progres.services.bootstrap import bootstrap

from .conftest import sign_in

pytestmark = pytest.mark.postgres
TITLE = "Plan de progrès BOF des lycées de Lens"
FORMATS = {"pdf": "application/pdf", "html": "text/html; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "csv": "application/zip"}


def test_the_coordonnateur_downloads_each_report_from_the_bilan_page(console, page):
    s = console.scenario
    sign_in(page, console, s.region, "coordonnateur")
    page.goto(f"{console.url}/plans/{s.plan}/bilan")
    with page.expect_download() as info:
        page.click("text=Rapport de bilan (PDF)")
    download = info.value
    assert download.suggested_filename.startswith("bilan-plan-de-progrès-bof-des-lycées-de-lens-")  # filename*
    assert download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as file:
        assert file.read(5) == b"%PDF-"

    answers = {kind: page.request.get(f"{console.url}/plans/{s.plan}/bilan/rapport.{kind}") for kind in FORMATS}
    for kind, answer in answers.items():
        assert answer.status == 200, kind
        assert answer.headers["content-type"] == FORMATS[kind]
        assert answer.headers["cache-control"] == "no-store"
        disposition = answer.headers["content-disposition"]
        extension = "zip" if kind == "csv" else kind
        assert disposition.startswith('attachment; filename="bilan-plan-de-progres-bof-des-lycees-de-lens-')
        assert unquote(disposition.split("filename*=UTF-8''")[1]).startswith(
            "bilan-plan-de-progrès-bof-des-lycées-de-lens-")
        assert disposition.endswith(f".{extension}")
    assert answers["pdf"].body().startswith(b"%PDF-")
    html = answers["html"].text()
    assert html.lstrip().lower().startswith("<!doctype html")
    assert TITLE in html
    assert "Exemplaire restreint" not in html  # the coordonnateur's copy is complete
    workbook = load_workbook(io.BytesIO(answers["xlsx"].body()), read_only=True)
    assert len(workbook.sheetnames) > 1
    archive = zipfile.ZipFile(io.BytesIO(answers["csv"].body()))
    assert archive.namelist()
    assert all(name.endswith(".csv") for name in archive.namelist())
    assert page.request.get(f"{console.url}/plans/{s.plan}/bilan/rapport.docx").status == 404


def test_a_lycee_gets_its_restricted_copy_and_another_groupements_coordonnateur_is_refused(console, page):
    s = console.scenario
    sign_in(page, console, s.lycees[0], "acheteur")
    html = page.request.get(f"{console.url}/plans/{s.plan}/bilan/rapport.html")
    assert html.status == 200
    assert "Exemplaire restreint" in html.text()  # what the API's balance_for leaves out, said in the copy
    page.context.clear_cookies()

    app = bootstrap(console.settings)
    try:
        other = app.register_organisation(siret_with_key("2162001880001"), "Commune de Liévin", "collectivite").id
        app.constitute_groupement("GC-LIEVIN", "Groupement de la commune de Liévin", "Fournitures scolaires", True,
                                  other, "2022-01-10", {"sha256": "e" * 64, "name": "convention.pdf",
                                                        "media_type": "application/pdf"})
        console.sirets[other] = siret_with_key("2162001880001")
    finally:
        app.close()
    deadline = time.monotonic() + 20
    while True:  # the sign-in page lists the organisation once the server's read models have it
        page.goto(f"{console.url}/connexion")
        if page.locator(f"input[value='{console.siret(other)}|coordonnateur']").count() or \
                time.monotonic() > deadline:
            break
        time.sleep(0.5)
    sign_in(page, console, other, "coordonnateur")
    for kind in FORMATS:
        refused = page.request.get(f"{console.url}/plans/{s.plan}/bilan/rapport.{kind}")
        assert refused.status == 404, kind
        assert "Page introuvable" in refused.text()
        assert "content-disposition" not in refused.headers
    assert page.goto(f"{console.url}/plans/{s.plan}/bilan").status == 404
