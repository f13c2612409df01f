"""The bilan as its readers get it (issue 17): the PDF printed by headless Chromium on A4 pages with French
figures, a running header and page numbers, each chart on its heading's page; one chart checked as an image (its
axis label, and its target steps drawn where the y axis puts them); the XLSX's cells typed; the CSV archive opened
by LibreOffice Calc as a French reader opens it; a plan of qualitative indicators told by assessments and actions;
a titulaire's copy that says what it leaves out."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import sys
import zipfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from progres.domain.values import siret_with_key
from progres.services import french
from progres.services.bootstrap import bootstrap
from progres.services.demo import LATE_LYCEE, LYCEES, TITULAIRE, run_seed_scenario
from progres.services.settings import Settings
from tests.conftest import ADHESION, CONVENTION

TOOLS = ("chromium", "pdftotext", "pdftoppm", "pdfinfo")
missing = [tool for tool in TOOLS if shutil.which(tool) is None]
needs_tools = pytest.mark.skipif(bool(missing) and os.environ.get("PROGRES_REQUIRE_REPORT_TOOLS") != "1",
                                 reason=f"missing {', '.join(missing)} (Debian: chromium, poppler-utils)")
needs_office = pytest.mark.skipif(shutil.which("libreoffice") is None
                                  and os.environ.get("PROGRES_REQUIRE_OFFICE") != "1",
                                  reason="missing libreoffice (Debian: libreoffice-calc-nogui)")
A4 = (595.0, 842.0)  # points
TARGET_RGB = (0xD5, 0x5E, 0x00)  # the target line's Okabe–Ito vermillion (services/reports/charts.py)
AS_TITULAIRE = ("--as", siret_with_key(TITULAIRE[0]), "--role", "titulaire")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    data = tmp_path_factory.mktemp("bilan-layout")
    app = bootstrap(Settings(data_dir=data))
    scenario = run_seed_scenario(app)
    app.close()
    return data, scenario.plan


def write_report(data: Path, plan: str, fmt: str, target: Path, *extra: str) -> Path:
    result = subprocess.run([sys.executable, "-m", "progres.services.cli", "bilan", "report", "--plan", plan,
                             "--format", fmt, "--output", str(target), *extra, "--data-dir", str(data)],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return target


@pytest.fixture(scope="module")
def pdf(seeded, tmp_path_factory):
    data, plan = seeded
    return write_report(data, plan, "pdf", tmp_path_factory.mktemp("pdf") / "bilan.pdf")


def page_texts(pdf: Path) -> list[str]:
    """Each page's text, French spaces made plain, words joined by one space."""
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return [" ".join(french.plain(page).split()) for page in text.split("\f") if page.strip()]


@needs_tools
def test_every_page_is_a4_with_the_running_header_and_its_number(pdf):
    info = subprocess.run(["pdfinfo", "-f", "1", "-l", "999", str(pdf)], capture_output=True, text=True,
                          check=True).stdout
    sizes = [tuple(float(n) for n in re.findall(r"[\d.]+", line.split(":", 1)[1])[:2])
             for line in info.splitlines() if re.match(r"Page +\d+ size:", line)]
    assert len(sizes) >= 5
    assert all(abs(w - A4[0]) < 2 and abs(h - A4[1]) < 2 for w, h in sizes), sizes
    pages = page_texts(pdf)
    assert len(pages) == len(sizes)
    for number, text in enumerate(pages, 1):
        assert "Groupement de commandes BOF des lycées de Lens" in text
        assert "Marché 2022-BOF-01" in text
        assert "Bilan au 15 janvier 2024" in text  # the bilan final's day, in words
        assert re.search(r"Position 258 du journal · tête de chaîne [0-9a-f]{16}…", text), text[:300]
        assert f"Page {number} sur {len(pages)}" in text


@needs_tools
def test_the_pdf_shows_figures_and_dates_the_french_way(pdf):
    text = " ".join(page_texts(pdf))
    for figure in ("480 000,00 €", "496 000,00 €", "3,33 %", "48,56 %", "94,86 %", "1 010 m³", "2 sur 6",
                   "2 acceptées, 1 rejetée, 0 en attente", "1er sem. 2022", "2e sem. 2023", "31 décembre 2022",
                   "Sommaire"):
        assert figure in text, figure
    assert "1 rejetées" not in text
    assert not re.search(r"\b\d+\.\d\d\b", text), "no decimal point"
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", text), "no ISO date"
    assert "0 / 0" not in text


@needs_tools
def test_every_chart_is_on_the_page_of_its_heading_with_its_data_table(seeded, pdf, tmp_path):
    data, plan = seeded
    html = write_report(data, plan, "html", tmp_path / "bilan.html").read_text(encoding="utf-8")
    charts = re.findall(r'<section class="indicator" id="[^"]+"><h3>([\d.]+ [^<]+)</h3>.*?'
                        r"<figcaption>Graphique (\d+) —", html)
    assert len(charts) == 6, "one chart per quantitative indicator of the seed plan"
    pages = page_texts(pdf)
    for heading, number in charts:
        on = [i for i, text in enumerate(pages) if heading.replace("&#x27;", "'") in text]
        assert len(on) == 1, heading
        text = pages[on[0]]
        assert f"Périodes de mesure · Graphique {number}" in text, f"chart {number} is not on {heading!r}'s page"
        assert f"Graphique {number} — " in text
        assert "Cible en vigueur" in text.split(f"Graphique {number} — ", 1)[1], "its data table follows it"


@needs_tools
def test_the_table_of_contents_gives_the_page_of_each_part(pdf):
    pages = page_texts(pdf)
    contents = pages[0].split("Sommaire", 1)[1]
    entries = re.findall(r"(\d+)\. (.+?) (\d+)(?= \d+\. | Plan de progrès|$)", contents)
    assert [int(n) for n, _, _ in entries] == list(range(1, 11)), contents
    for _, title, page in entries:
        heading = title.split(" : ", 1)[-1]
        assert heading in pages[int(page) - 1], f"{title!r} is not on page {page}"
    first_table = next(int(page) for _, title, page in entries if title == "Indicateurs")
    assert "Indicateurs" not in " ".join(pages[1:first_table - 1]), "found on its own page, not an earlier one"


def ppm_pixels(ppm: bytes) -> tuple[int, int, bytes]:
    magic, width, height, _, pixels = ppm.split(maxsplit=4)
    assert magic == b"P6"
    return int(width), int(height), pixels[: int(width) * int(height) * 3]


def words_with_boxes(pdf: Path, page: int) -> list[tuple[str, float, float, float, float]]:
    html = subprocess.run(["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(pdf), "-"],
                          capture_output=True, text=True, check=True).stdout
    return [(w, float(x0), float(y0), float(x1), float(y1)) for x0, y0, x1, y1, w in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', html)]


@needs_tools
def test_the_first_chart_as_an_image_has_its_axis_label_and_its_target_steps_where_the_axis_puts_them(pdf, tmp_path):
    """Page 2 rendered at 72 dpi (one pixel a point): the y axis' label (`en %`) and figures are there, and the
    target is drawn in vermillion as two long horizontal steps, at the heights of 35 % and 50 % on the y axis."""
    words = words_with_boxes(pdf, 2)
    texts = [w[0] for w in words]
    unit = [i for i, t in enumerate(texts[:-1]) if (t, texts[i + 1]) == ("en", "%")]
    assert unit, "the y axis says its unit"
    label_y = words[unit[0]][2]
    periods = [w for w in words if w[0] == "sem." and w[2] > label_y]
    axis_bottom = min(w[2] for w in periods)  # the x axis' period labels are under the plot
    ticks = {w[0]: (w[2] + w[4]) / 2 for w in words if w[0] in ("20", "30", "40", "50", "60")
             and label_y < w[2] < axis_bottom and w[1] < 120}
    assert set(ticks) == {"20", "30", "40", "50", "60"}, ticks
    points_per_unit = (ticks["20"] - ticks["60"]) / 40

    subprocess.run(["pdftoppm", "-r", "72", "-f", "2", "-l", "2", str(pdf), str(tmp_path / "chart")], check=True)
    [image] = tmp_path.glob("chart*.ppm")
    width, _, pixels = ppm_pixels(image.read_bytes())

    def vermillion(i: int) -> bool:
        return all(abs(pixels[i + k] - TARGET_RGB[k]) < 45 for k in range(3))

    long_rows = []
    for row in range(int(label_y), int(axis_bottom)):
        count = sum(1 for col in range(width) if vermillion((row * width + col) * 3))
        if count > 60:  # a step spans at least one period band (the legend's sample is 18 points long)
            long_rows.append(row)
    assert long_rows, "no target line drawn"
    steps = sorted({round(r / 3) * 3 for r in long_rows})  # group the anti-aliased rows of each step
    expected = {35: ticks["30"] - 5 * points_per_unit, 50: ticks["50"]}
    for target, y in expected.items():
        assert any(abs(row + 0.5 - y) <= 3 for row in long_rows), (target, y, steps)


@pytest.fixture(scope="module")
def workbook(seeded, tmp_path_factory):
    data, plan = seeded
    return load_workbook(write_report(data, plan, "xlsx", tmp_path_factory.mktemp("xlsx") / "bilan.xlsx"))


NUMBER_TEXT = re.compile(r"[+-]?\d[\d  \u202f]*([.,]\d+)?( ?[%€])?")
DATE_TEXT = re.compile(r"\d{4}-\d\d-\d\d|\d\d/\d\d/\d{4}")


def test_every_figure_of_the_xlsx_is_a_typed_cell_with_a_format(workbook):
    numbers = dates = 0
    for sheet in workbook:
        assert sheet.freeze_panes == "A2", sheet.title
        assert sheet.column_dimensions["A"].width >= 8, sheet.title
        for row in sheet.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, datetime):
                    dates += 1
                    assert cell.is_date, cell.coordinate
                    assert "DD" in cell.number_format, cell.coordinate
                elif isinstance(cell.value, int | float):
                    numbers += 1
                    assert cell.number_format != "General", f"{sheet.title}!{cell.coordinate}"
                elif isinstance(cell.value, str):
                    assert not NUMBER_TEXT.fullmatch(cell.value), f"{sheet.title}!{cell.coordinate}: {cell.value!r}"
                    assert not DATE_TEXT.search(cell.value) or len(cell.value) > 20, cell.value
    assert numbers > 150, numbers
    assert dates > 40, dates
    summary = {row[0].value: row[1] for row in workbook["Synthèse"].iter_rows(min_row=2)}
    assert summary["Montant initial HT"].value == 480000
    assert "€" in summary["Montant initial HT"].number_format
    change = summary["Évolution cumulée"]
    assert abs(change.value - 0.0333) < 1e-9, "a percentage cell holds the fraction"
    assert "%" in change.number_format
    trajectory = workbook["Trajectoires par période"]
    header = [c.value for c in trajectory[1]]
    first = [c.value for c in trajectory[2]]
    assert header[:4] == ["Indicateur", "Unité", "Début de période", "Fin de période"]
    assert first[0] == "Part des labels EGalim"
    assert first[2] == datetime(2022, 1, 1)
    assert first[6] == 35, "each period against the target in force then"
    assert first[8] == "non"
    last_egalim = [r for r in trajectory.iter_rows(min_row=2, values_only=True) if r[0] == "Part des labels EGalim"][-1]
    assert last_egalim[6] == 50
    provenance = {row[0]: row[1] for row in workbook["Provenance"].iter_rows(min_row=2, values_only=True)}
    assert provenance["Position du journal"] == 258
    assert provenance["Groupement de commandes"] == "Groupement de commandes BOF des lycées de Lens"
    assert re.fullmatch(r"[0-9a-f]{64}", provenance["Tête de la chaîne d'empreintes"]) or \
        provenance["Tête de la chaîne d'empreintes"].startswith("non tenue")
    assert isinstance(provenance["Rapport établi le (UTC)"], datetime)


def test_the_csv_archive_has_one_french_file_per_table_and_an_international_form(seeded, tmp_path):
    data, plan = seeded
    french_zip = write_report(data, plan, "csv", tmp_path / "fr.zip")
    international_zip = write_report(data, plan, "csv", tmp_path / "intl.zip", "--international")
    with zipfile.ZipFile(french_zip) as fr, zipfile.ZipFile(international_zip) as intl:
        assert {"synthese.csv", "indicateurs.csv", "trajectoires.csv", "actions.csv", "avenants.csv", "gains.csv",
                "provenance.csv"} <= set(fr.namelist())
        assert fr.namelist() == intl.namelist()
        indicators_fr, indicators_intl = fr.read("indicateurs.csv"), intl.read("indicateurs.csv")
    assert indicators_fr.startswith(b"\xef\xbb\xbf")
    assert not indicators_intl.startswith(b"\xef\xbb\xbf")
    fr_rows = list(csv.reader(io.StringIO(indicators_fr.decode("utf-8-sig")), delimiter=";"))
    intl_rows = list(csv.reader(io.StringIO(indicators_intl.decode("utf-8")), delimiter=","))
    egalim_fr = next(r for r in fr_rows if r[1] == "Part des labels EGalim")
    egalim_intl = next(r for r in intl_rows if r[1] == "Part des labels EGalim")
    assert (egalim_fr[5], egalim_intl[5]) == ("48,56", "48.56")
    refused = subprocess.run([sys.executable, "-m", "progres.services.cli", "bilan", "report", "--plan", plan,
                              "--format", "csv", "--output", str(tmp_path / "bilan.csv"), "--data-dir", str(data)],
                             capture_output=True, text=True, timeout=120, check=False)
    assert refused.returncode == 2
    assert refused.stderr.startswith("invalid_input: --output:"), refused.stderr
    assert not (tmp_path / "bilan.csv").exists(), "nothing written"
    refused = subprocess.run([sys.executable, "-m", "progres.services.cli", "bilan", "report", "--plan", plan,
                              "--format", "xlsx", "--international", "--output", str(tmp_path / "b.xlsx"),
                              "--data-dir", str(data)], capture_output=True, text=True, timeout=120, check=False)
    assert refused.returncode == 2
    assert refused.stderr.startswith("invalid_input: --international:"), refused.stderr
    assert not (tmp_path / "b.xlsx").exists(), "nothing written"


@needs_office
def test_libreoffice_opens_the_french_csv_with_its_accents_numbers_and_dates(seeded, tmp_path):
    """LibreOffice Calc, headless, imports the files as a French reader's spreadsheet does (separator `;`,
    UTF-8, French locale): the accents are intact, the BOM is no part of the first heading, figures are numbers
    and days are dates. One conversion for three files."""
    data, plan = seeded
    archive = write_report(data, plan, "csv", tmp_path / "bilan.zip")
    source = tmp_path / "csv"
    with zipfile.ZipFile(archive) as files:
        files.extractall(source)
    names = ["indicateurs", "actions", "avenants"]
    converted = subprocess.run(
        ["libreoffice", f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless",
         "--infilter=CSV:59,34,76,1,,1036", "--convert-to", "xlsx", "--outdir", str(tmp_path / "out"),
         *[str(source / f"{n}.csv") for n in names]], capture_output=True, text=True, timeout=240, check=False)
    assert converted.returncode == 0, converted.stdout + converted.stderr
    books = {n: load_workbook(tmp_path / "out" / f"{n}.xlsx").active for n in names}
    indicators = [[c.value for c in row] for row in books["indicateurs"].iter_rows()]
    assert indicators[0][:3] == ["Axe", "Indicateur", "Unité"], "no stray BOM before the first heading"
    assert indicators[0][9] == "Positions du journal"
    egalim = next(r for r in indicators if r[1] == "Part des labels EGalim")
    assert egalim[0] == "Augmenter la part de produits EGalim-compatibles"
    assert egalim[5] == pytest.approx(48.56), egalim
    assert egalim[7] == pytest.approx(94.86), egalim
    assert any(r[0] == "Réduire les externalités négatives environnementales" for r in indicators), "accents"
    actions = [[c.value for c in row] for row in books["actions"].iter_rows()]
    assert actions[0] == ["Axe", "Action", "Porteur", "Échéance", "Statut"]
    assert isinstance(actions[1][3], datetime), actions[1]
    avenants = [[c.value for c in row] for row in books["avenants"].iter_rows()]
    amounts = [r[3] for r in avenants[1:]]
    assert Decimal(str(amounts[-1])) == Decimal("28000"), avenants


def test_a_plan_of_qualitative_indicators_is_told_by_its_assessments_and_actions(tmp_path):
    data = tmp_path / "data"
    app = bootstrap(Settings(data_dir=data))
    region = app.register_organisation(siret=siret_with_key("2000537670001"), name="Région", kind="collectivite").id
    laiterie = app.register_organisation(siret=siret_with_key("4190012340001"), name="Laiterie", kind="supplier").id
    groupement = app.constitute_groupement(code="GC-Q", name="Groupement des gants", purpose="Achats",
                                           permanent=True, coordonnateur_id=region, signed_on="2021-06-01",
                                           convention=CONVENTION).id
    marche = app.notify_marche(groupement_id=groupement, code="M-Q", object="Gants de cuisine", cpv="18141000-9",
                               nature="fournitures", titulaire_ids=[laiterie], initial_amount="12000",
                               duration_months=24, notified_on="2022-01-01").id
    plan = app.draw_up_plan(marche_id=marche, title="Plan des gants").id
    app.add_axis(plan_id=plan, key="usage", title="Qualité d'usage des gants")
    app.add_objective(plan_id=plan, key="confort", axis_key="usage", title="Des gants adaptés", kind="moyens")
    app.define_indicator(plan_id=plan, spec={"key": "gants", "objective_key": "confort", "name": "Tenue des gants",
                                             "kind": "qualitative", "periodicity": "semestrial",
                                             "scope": "groupement"})
    app.record_measure(plan_id=plan, indicator_key="gants", member_id=None, period_start="2022-01-01",
                       period_end="2022-06-30", assessment="Gants trop fins : déchirures signalées en plonge.",
                       source="revue", recorded_by=region, declared_on="2022-07-01")
    app.plan_action(plan_id=plan, key="essai", axis_key="usage", title="Essai d'un gant nitrile épais",
                    owner="titulaire", due_on="2022-09-30", owner_organisation_id=laiterie)
    app.close()
    html = write_report(data, plan, "html", tmp_path / "q.html").read_text(encoding="utf-8")
    assert "Indicateurs qualitatifs appréciés</td><td>1 sur 1" in html
    assert "Indicateurs chiffrés" not in html
    assert "0 sur 0" not in html
    assert "0 / 0" not in html
    assert "Gants trop fins : déchirures signalées en plonge." in html
    assert "1er sem. 2022" in html
    assert "Essai d&#x27;un gant nitrile épais" in html
    assert "30 septembre 2022" in html
    assert "<svg" not in html, "no chart without a figure"


def test_a_titulaire_s_copy_says_what_it_leaves_out_and_names_no_lycee(seeded, tmp_path):
    data, plan = seeded
    html = write_report(data, plan, "html", tmp_path / "t.html", *AS_TITULAIRE).read_text(encoding="utf-8")
    assert "Exemplaire restreint (lecteur : titulaire)" in html
    assert 'class="member-line"' not in html
    lycees = [name for _, name in [*LYCEES, LATE_LYCEE]]
    # A proposition's author is part of the plan's dialogue, which every party reads; nothing else names a lycée.
    without_proposals = re.sub(r"<section><h2>Propositions et décisions</h2>.*?</section>", "", html)
    assert not [n for n in lycees if n in without_proposals]
    book = load_workbook(write_report(data, plan, "xlsx", tmp_path / "t.xlsx", *AS_TITULAIRE))
    assert "Valeurs par membre" not in book.sheetnames
    cells = [c for sheet in book if sheet.title != "Propositions et décisions"
             for row in sheet.iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert not [n for n in lycees if n in cells]
    full = load_workbook(write_report(data, plan, "xlsx", tmp_path / "all.xlsx"))
    members = list(full["Valeurs par membre"].iter_rows(min_row=2, values_only=True))
    assert {r[2] for r in members} == set(lycees)


def test_a_titulaire_s_copy_keeps_the_members_when_the_convention_shares_them(tmp_path):
    """The same report for a titulaire, once the groupement's convention shares member details: complete."""
    data = tmp_path / "data"
    app = bootstrap(Settings(data_dir=data))
    region = app.register_organisation(siret=siret_with_key("2000537670001"), name="Région", kind="collectivite").id
    lycees = [app.register_organisation(siret=siret_with_key(siret), name=name, kind="eple").id
              for siret, name in LYCEES[:2]]
    laiterie = app.register_organisation(siret=siret_with_key(TITULAIRE[0]), name=TITULAIRE[1], kind="supplier").id
    groupement = app.constitute_groupement(code="GC-S", name="Groupement qui partage", purpose="Achats",
                                           permanent=True, coordonnateur_id=region, signed_on="2021-06-01",
                                           convention=CONVENTION, shares_member_details=True).id
    for lycee in lycees:
        app.admit_member(groupement_id=groupement, organisation_id=lycee, on="2021-09-01", decision=ADHESION,
                         decided_on="2021-08-01")
    marche = app.notify_marche(groupement_id=groupement, code="M-S", object="BOF", cpv="15500000-3",
                               nature="fournitures", titulaire_ids=[laiterie], initial_amount="1000",
                               duration_months=24, notified_on="2022-01-01").id
    plan = app.draw_up_plan(marche_id=marche, title="Plan partagé").id
    app.add_axis(plan_id=plan, key="egalim", title="EGalim")
    app.add_objective(plan_id=plan, key="part", axis_key="egalim", title="Part EGalim", kind="resultats")
    app.define_indicator(plan_id=plan, spec={
        "key": "egalim_share", "objective_key": "part", "name": "Part des labels EGalim", "kind": "quantitative",
        "unit": "%", "baseline": 20, "target": 50, "direction": "increase", "periodicity": "semestrial",
        "scope": "member", "aggregation": "mean"})
    for n, lycee in enumerate(lycees):
        for start, end, value in (("2022-01-01", "2022-06-30", 30 + n), ("2022-07-01", "2022-12-31", 40 + n)):
            app.record_measure(plan_id=plan, indicator_key="egalim_share", member_id=lycee, period_start=start,
                               period_end=end, value=value, source="factures", recorded_by=lycee,
                               declared_on="2023-01-05")
    app.close()
    html = write_report(data, plan, "html", tmp_path / "t.html", *AS_TITULAIRE).read_text(encoding="utf-8")
    assert "Exemplaire restreint" not in html
    assert html.count('class="member-line"') == 2
    assert all(name in html for _, name in LYCEES[:2])
