"""The bilan report of the seed scenario: PDF text and pages, charts, tables, as-of equality, capitalisation."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from progres.projections.as_of import AsOf
from progres.services.bootstrap import bootstrap
from progres.services.demo import run_seed_scenario
from progres.services.read_models import ReadModels
from progres.services.settings import Settings

TOOLS = ("chromium", "pdftotext", "pdftoppm")
missing = [tool for tool in TOOLS if shutil.which(tool) is None]
needs_tools = pytest.mark.skipif(bool(missing) and os.environ.get("PROGRES_REQUIRE_REPORT_TOOLS") != "1",
                                 reason=f"missing {', '.join(missing)} (Debian: chromium, poppler-utils)")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    data = tmp_path_factory.mktemp("bilan")
    app = bootstrap(Settings(data_dir=data))
    scenario = run_seed_scenario(app)
    return data, app, scenario


def report(data: Path, plan: str, fmt: str, *extra: str) -> Path:
    suffix = "zip" if fmt == "csv" else fmt  # the CSV report is a zip of one file per table
    target = data / f"bilan-{fmt}-{'-'.join(extra) or 'now'}.{suffix}"
    result = subprocess.run([sys.executable, "-m", "progres.services.cli", "bilan", "report", "--plan", plan,
                             "--format", fmt, "--output", str(target), *extra, "--data-dir", str(data)],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return target


@needs_tools
def test_the_pdf_report_holds_the_key_figures_and_its_charts(seeded):
    data, _, scenario = seeded
    pdf = report(data, scenario.plan, "pdf")
    text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                                   check=True).stdout.replace("\u202f", " ").replace("\xa0", " ").split())
    for figure in ("Bilan final du plan de progrès", "480 000,00 €", "496 000,00 €", "3,33 %", "Part des labels EGalim",
                   "48,56", "94,86", "Passer de deux", "position 258", "Nombre de passages par semaine"):
        assert figure in text, figure
    pages = int(next(line.split()[-1] for line in subprocess.run(
        ["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout.splitlines()
        if line.startswith("Pages:")))
    assert pages >= 3
    html = report(data, scenario.plan, "html").read_text()
    assert html.count("<svg") == 6  # one chart per quantitative indicator of the seed plan


def blue_pixels(ppm: bytes) -> int:
    """Pixels of the charts' blue (the groupement's line, #1f4e99): text is black and grey, never blue."""
    magic, width, height, _, pixels = ppm.split(maxsplit=4)
    assert magic == b"P6"
    pixels = pixels[: int(width) * int(height) * 3]
    return sum(1 for i in range(0, len(pixels), 3)
               if pixels[i + 2] > 120 and pixels[i + 2] > pixels[i] + 50 and pixels[i + 2] > pixels[i + 1] + 20)


@needs_tools
def test_a_rendered_page_of_the_pdf_shows_a_chart(seeded, tmp_path):
    data, _, scenario = seeded
    pdf = report(data, scenario.plan, "pdf")
    subprocess.run(["pdftoppm", "-r", "40", "-f", "1", "-l", "2", str(pdf), str(tmp_path / "page")], check=True)
    summary, first_axis = sorted(tmp_path.glob("page*.ppm"))
    assert blue_pixels(first_axis.read_bytes()) > 50, "the first axis' page draws the groupement's trajectory"
    assert blue_pixels(summary.read_bytes()) == 0, "the summary page has no chart"


def test_the_csv_and_xlsx_carry_the_same_figures_as_the_balance(seeded):
    data, _, scenario = seeded
    balance = json.loads(report(data, scenario.plan, "json").read_text())["balance"]
    lasts = {i["name"]: i["last"] for a in balance["axes"] for o in a["objectives"] for i in o["indicators"]
             if i["kind"] == "quantitative"}
    with zipfile.ZipFile(report(data, scenario.plan, "csv")) as archive:
        text = archive.read("indicateurs.csv").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][:2] == ["Axe", "Indicateur"]
    from_csv = {r[1]: r[5] for r in rows[1:] if r[1] in lasts}
    assert from_csv == {k: v.replace(".", ",") for k, v in lasts.items()}  # French form: decimal comma
    book = load_workbook(report(data, scenario.plan, "xlsx"))
    sheet = book["Indicateurs"]
    from_xlsx = {row[1]: row[5] for row in sheet.iter_rows(min_row=2, values_only=True) if row[1] in lasts}
    assert all(isinstance(v, int | float) for v in from_xlsx.values())  # figures are numeric cells, not text
    assert {k: Decimal(str(v)) for k, v in from_xlsx.items()} == {k: Decimal(v) for k, v in lasts.items()}


def test_a_report_as_of_a_past_position_is_built_from_the_as_of_balance(seeded):
    data, app, scenario = seeded
    position = next(f.position for f in app.facts() if f.kind == "Marche.AvenantNotified")
    past = json.loads(report(data, scenario.plan, "json", "--position", str(position)).read_text())
    settings = Settings(data_dir=data)
    models = ReadModels.open(app, settings)
    models.fresh(None)
    expected = AsOf(app, models.store, models.projection).plan_balance(scenario.plan, position=position)
    assert past["balance"] == expected
    assert past["position"] == position
    assert not past["balance"]["final"]
    assert past["balance"]["marche"]["current_amount"] == "468000.00"
    timestamp = next(f.timestamp for f in app.facts() if f.position == position)
    at_time = json.loads(report(data, scenario.plan, "json", "--as-of", timestamp).read_text())
    assert at_time["balance"] == AsOf(app, models.store, models.projection).plan_balance(scenario.plan,
                                                                                          timestamp=timestamp)
    assert at_time["balance"] == past["balance"]


def test_the_capitalisation_carries_needs_constraints_decisions_and_avenants(seeded):
    data, _, scenario = seeded
    result = subprocess.run([sys.executable, "-m", "progres.services.cli", "bilan", "capitalisation", "--plan",
                             scenario.plan, "--data-dir", str(data)], capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "## Contraintes soulevées en revue" in text
    assert "temps de préparation conséquent" in text
    assert "Surcoût non soutenable à budget constant" in text  # why the free-range eggs were rejected
    assert "Avenant 2 (R2194-1, 28 000,00 € HT, notifié)" in text
    assert "Poids des déchets par lycée" in text
