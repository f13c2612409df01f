"""`progres egalim parts|teledeclaration` read for an audience (`--as SIRET --role ROLE`) through the policy of
the member's view: the coordonnateur and the member itself see its shares, another member and the titulaire are
refused (`forbidden`), an outsider does not find the plan; refusals are `code: field: message`, exit code 2."""

from __future__ import annotations

import base64
import json
import sys

import pytest

from progres.domain.values import siret_with_key
from progres.services.bootstrap import bootstrap
from progres.services.cli import app as cli_app
from progres.services.cli_support import run
from progres.services.purchase_workload import FEEDS, setup_canteens
from progres.services.settings import Settings
from tests.egalim_basket import BASKET, basket_file

OPERATOR_NOTICE = "lecture en tant qu'opérateur du dépôt"
COORDONNATEUR = ("--as", siret_with_key("2000537670001"), "--role", "coordonnateur")
TITULAIRE = ("--as", siret_with_key("4190012340001"), "--role", "titulaire")
OUTSIDER = ("--as", siret_with_key("1962009990001"), "--role", "acheteur")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    data = tmp_path_factory.mktemp("egalim-cli")
    app = bootstrap(Settings(data_dir=data))
    try:
        world = setup_canteens(app)
        content = basket_file(world.sirets[0], BASKET[:7])
        app.import_purchases(world.plan, world.lycees[0], base64.b64encode(content).decode(), "achats.csv",
                             world.lycees[0], "2024-01-20", FEEDS)
    finally:
        app.close()
    return data, world


@pytest.fixture
def cli(store, capsys, monkeypatch):
    data, _ = store

    def invoke(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["progres", *args, "--data-dir", str(data)])
        code = run(cli_app)
        out, err = capsys.readouterr()
        return code, out, " ".join(err.split())  # rich wraps long lines on stderr

    return invoke


def parts(cli, store, *audience: str, member: int = 0, start: str = "2023-01-01") -> tuple[int, str, str]:
    _, world = store
    return cli("egalim", "parts", "--plan", world.plan, "--member", world.sirets[member], "--from", start,
               "--to", "2023-06-30", "--json", *audience)


def test_the_coordonnateur_and_the_member_itself_read_the_shares_with_their_thresholds(cli, store):
    _, world = store
    code, out, err = parts(cli, store, *COORDONNATEUR)
    assert code == 0, err
    assert OPERATOR_NOTICE not in err
    read = json.loads(out)
    assert (read["parts"]["part_egalim"], read["parts"]["part_bio"]) == ("85.00", "50.00")
    assert (read["seuils"]["territoire"], read["seuils"]["egalim"], read["seuils"]["bio"]) == ("hexagone", 50, 20)
    code, out, err = parts(cli, store, "--as", world.sirets[0], "--role", "acheteur")
    assert code == 0, err
    assert json.loads(out)["parts"]["part_egalim"] == "85.00"
    code, out, _ = cli("egalim", "teledeclaration", "--plan", world.plan, "--member", world.sirets[0],
                       "--year", "2023", "--as", world.sirets[0], "--role", "acheteur")
    assert code == 0
    assert json.loads(out)["valeur_totale"] == "1000.00"


def test_another_member_and_the_titulaire_are_refused_and_see_nothing(cli, store):
    _, world = store
    other = ("--as", world.sirets[1], "--role", "acheteur")
    for audience in (other, TITULAIRE):
        code, out, err = parts(cli, store, *audience)
        assert (code, out) == (2, "")
        assert err.startswith("forbidden: --member: "), err
        assert "ne voit pas le détail de ce membre" in err
        code, out, err = cli("egalim", "teledeclaration", "--plan", world.plan, "--member", world.sirets[0],
                             "--year", "2023", *audience)
        assert (code, out) == (2, "")
        assert err.startswith("forbidden: --member: "), err


def test_an_outsider_does_not_find_the_plan(cli, store):
    code, out, err = parts(cli, store, *OUTSIDER)
    assert (code, out) == (2, "")
    assert err.startswith("not_found: --plan: "), err


def test_bad_options_are_refused_with_their_field(cli, store):
    _, world = store
    code, out, err = parts(cli, store, "--as", world.sirets[0])
    assert (code, out) == (2, "")
    assert err.startswith("invalid_input: --role: "), err
    code, out, err = parts(cli, store, *COORDONNATEUR, start="2023-02-30")
    assert (code, out) == (2, "")
    assert err.startswith("invalid_input: --from: « 2023-02-30 » n'est pas une date"), err
    code, out, err = parts(cli, store, *COORDONNATEUR, start="2023-07-01")
    assert (code, out) == (2, "")
    assert err.startswith("invalid_input: --to: "), err
    code, out, err = parts(cli, store, *COORDONNATEUR, member=1)
    assert (code, out) == (2, "")
    assert err == "not_found: --member: aucun achat importé pour ce membre dans ce plan"
    code, out, err = cli("egalim", "parts", "--plan", world.plan, "--member", world.sirets[0], "--from",
                         "2023-01-01", "--to", "2023-06-30", "--territory", "corse", *COORDONNATEUR)
    assert (code, out) == (2, "")
    assert err.startswith("invalid_input: --territory: "), err


def test_without_an_audience_the_operator_reads_everything_and_is_told_so(cli, store):
    code, out, err = parts(cli, store)
    assert code == 0
    assert OPERATOR_NOTICE in err
    assert json.loads(out)["parts"]["part_egalim"] == "85.00"
