"""The command line reads for an audience (`--as SIRET --role ROLE`) through the API's access policy:
a titulaire's bilan report holds no lycée's gain share, an outsider is told "not found", and without
--as the command says on stderr that it runs as the operator with full access."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from progres.domain.values import siret_with_key
from progres.services.bootstrap import bootstrap
from progres.services.cli import app as cli_app
from progres.services.cli_support import run
from progres.services.demo import AUDITOR, LATE_LYCEE, LYCEES, REGION, TITULAIRE, run_seed_scenario
from progres.services.reports.labels import label
from progres.services.settings import Settings

OPERATOR_NOTICE = "lecture en tant qu'opérateur du dépôt, avec un accès complet"
LYCEE_NAMES = [name for _, name in [*LYCEES, LATE_LYCEE]]
AS_TITULAIRE = ("--as", siret_with_key(TITULAIRE[0]), "--role", "titulaire")
AS_COORDONNATEUR = ("--as", siret_with_key(REGION[0]), "--role", "coordonnateur")
AS_AUDITOR = ("--as", siret_with_key(AUDITOR[0]), "--role", "auditeur")
AS_FIRST_LYCEE = ("--as", siret_with_key(LYCEES[0][0]), "--role", "acheteur")
AS_OUTSIDER = ("--as", siret_with_key("1962009990001"), "--role", "acheteur")  # a lycée outside the groupement


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    data = tmp_path_factory.mktemp("cli-audience")
    application = bootstrap(Settings(data_dir=data))
    scenario = run_seed_scenario(application)
    application.close()
    return data, scenario


@pytest.fixture
def cli(seeded, capsys, monkeypatch):
    """Runs `progres ARGS --data-dir <seeded store>` in this process, as the entry point does."""
    data, _ = seeded

    def invoke(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["progres", *args, "--data-dir", str(data)])
        code = run(cli_app)
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def report(cli, seeded, tmp_path: Path, fmt: str, *audience: str) -> tuple[str, str]:
    _, scenario = seeded
    target = tmp_path / f"bilan-{fmt}-{len(audience)}.{'zip' if fmt == 'csv' else fmt}"
    code, _, err = cli("bilan", "report", "--plan", scenario.plan, "--format", fmt, "--output", str(target),
                       *audience)
    assert code == 0, err
    if fmt == "csv":  # a zip of one CSV file per table
        with zipfile.ZipFile(target) as archive:
            return archive.read("gains.csv").decode("utf-8-sig"), err
    return target.read_text(encoding="utf-8"), err


def gain_rows_of_csv(text: str) -> list[str]:
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    return [row[0] for row in rows[1:] if row]


def gains_section_of_html(text: str) -> str:
    return re.search(rf"<section><h2>{label('gains')}</h2>.*?</section>", text).group(0)


def test_a_titulaire_s_json_report_has_no_member_s_gain_share_nor_member_details(cli, seeded, tmp_path):
    operator, notice = report(cli, seeded, tmp_path, "json")
    titulaire, quiet = report(cli, seeded, tmp_path, "json", *AS_TITULAIRE)
    everything, seen = json.loads(operator), json.loads(titulaire)
    assert len(everything["balance"]["gains"]["members"]) == 7, "the operator sees every lycée's share"
    assert everything["balance"]["members"]
    assert any(s["members"] for s in everything["series"].values())
    assert seen["balance"]["gains"]["members"] == {}
    assert seen["balance"]["members"] == {}
    assert all(s["members"] == {} for s in seen["series"].values()), "no lycée's own trajectory"
    assert seen["balance"]["gains"]["parties"] == everything["balance"]["gains"]["parties"], "the parties' split stays"
    assert OPERATOR_NOTICE in notice
    assert OPERATOR_NOTICE not in quiet


def test_a_titulaire_s_csv_and_html_reports_lack_every_lycee_s_gain_share(cli, seeded, tmp_path):
    operator_csv, _ = report(cli, seeded, tmp_path, "csv")
    titulaire_csv, _ = report(cli, seeded, tmp_path, "csv", *AS_TITULAIRE)
    assert set(LYCEE_NAMES) <= set(gain_rows_of_csv(operator_csv))
    assert not set(LYCEE_NAMES) & set(gain_rows_of_csv(titulaire_csv))
    operator_html, _ = report(cli, seeded, tmp_path, "html")
    titulaire_html, _ = report(cli, seeded, tmp_path, "html", *AS_TITULAIRE)
    assert all(name in gains_section_of_html(operator_html) for name in LYCEE_NAMES)
    assert not [name for name in LYCEE_NAMES if name in gains_section_of_html(titulaire_html)]
    member_line = 'class="member-line"'  # a member's trajectory in a chart
    assert member_line in operator_html
    assert member_line not in titulaire_html


def test_a_lycee_sees_its_own_share_and_the_coordonnateur_and_auditor_see_all(cli, seeded, tmp_path):
    _, scenario = seeded
    own = json.loads(report(cli, seeded, tmp_path, "json", *AS_FIRST_LYCEE)[0])
    assert set(own["balance"]["gains"]["members"]) == {scenario.lycees[0]}
    for audience in (AS_COORDONNATEUR, AS_AUDITOR):
        code, out, err = cli("bilan", "--plan", scenario.plan, "--json", *audience)
        assert code == 0, err
        assert len(json.loads(out)["gains"]["members"]) == 7


def test_the_balance_for_a_titulaire_is_the_api_s_filter(cli, seeded):
    _, scenario = seeded
    code, out, err = cli("bilan", "--plan", scenario.plan, "--json", *AS_TITULAIRE)
    assert code == 0, err
    balance = json.loads(out)
    assert balance["gains"]["members"] == {}
    assert balance["members"] == {}


@pytest.mark.parametrize("command", [("bilan",), ("bilan", "report", "--format", "json"), ("bilan", "capitalisation"),
                                     ("export", "decp"), ("export", "ocds")])
def test_an_outsider_is_told_the_plan_is_not_found(cli, seeded, tmp_path, monkeypatch, command):
    _, scenario = seeded
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(*command, "--plan", scenario.plan, *AS_OUTSIDER)
    assert code == 2
    assert out == ""
    assert err.startswith("not_found: --plan: aucun plan de progrès d'identifiant"), err
    assert list(tmp_path.iterdir()) == [], "nothing written"


def test_reads_of_groupements_plans_and_history_follow_the_policy(cli, seeded):
    _, scenario = seeded
    code, out, _ = cli("groupements", *AS_TITULAIRE)
    assert code == 0
    assert "GC-BOF-LENS" in out
    code, out, _ = cli("groupements", *AS_OUTSIDER)
    assert code == 0
    assert "GC-BOF-LENS" not in out
    code, out, err = cli("plan", scenario.plan, *AS_OUTSIDER)
    assert (code, out) == (2, "")
    assert err.startswith("not_found: --plan:")
    code, out, err = cli("history", scenario.plan, *AS_TITULAIRE)
    assert (code, out) == (2, "")
    assert err.startswith("forbidden: aggregate_id:"), "a titulaire does not read the history"
    code, out, err = cli("history", scenario.plan, *AS_AUDITOR)
    assert code == 0, err
    assert "ProgressPlan.DrawnUp" in out


def test_the_ocds_export_for_a_titulaire_names_no_lycee(cli, seeded):
    _, scenario = seeded
    code, out, err = cli("export", "ocds", "--plan", scenario.plan, *AS_TITULAIRE)
    assert code == 0, err
    document = json.loads(out)
    observations = [o["id"] for r in document["releases"] for c in r.get("contracts", [])
                    for m in c.get("implementation", {}).get("metrics", []) for o in m.get("observations", [])]
    assert observations
    assert not [o for o in observations if any(siret_with_key(s) in o for s, _ in LYCEES)]


def test_the_entry_point_states_the_operator_notice_on_stderr(seeded):
    data, scenario = seeded
    result = subprocess.run([sys.executable, "-m", "progres.services.cli", "bilan", "--plan", scenario.plan, "--json",
                             "--data-dir", str(data)], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert OPERATOR_NOTICE in result.stderr
    assert json.loads(result.stdout)["plan_id"] == scenario.plan
