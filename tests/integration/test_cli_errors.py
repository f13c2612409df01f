"""Every bad argument of the command line is refused clearly: `code: field: message` (French) on stderr,
exit code 2, nothing on stdout, no traceback; a command never creates a store that does not exist."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from progres.domain.values import siret_with_key
from progres.services.bootstrap import bootstrap, postgres_connect
from progres.services.cli import app as cli_app
from progres.services.cli_support import run
from progres.services.demo import TITULAIRE, run_seed_scenario
from progres.services.settings import Settings

TITULAIRE_SIRET = siret_with_key(TITULAIRE[0])


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    data = tmp_path_factory.mktemp("cli-errors")
    application = bootstrap(Settings(data_dir=data))
    scenario = run_seed_scenario(application)
    head = application.max_notification_id()
    application.close()
    return data, scenario, head


@pytest.fixture
def cli(capsys, monkeypatch):
    """Runs `progres ARGS` in this process through the entry point's error handling."""

    def invoke(*args: str) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "argv", ["progres", *args])
        code = run(cli_app)
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def refusal(err: str) -> str:
    """The refusal line (after the operator notice, when there is one)."""
    lines = [line for line in err.splitlines() if line and not line.startswith("progres : pas de --as")]
    return " ".join(lines)


BAD = [  # (arguments after `--plan PLAN`, or with {plan}; code; field; words of the message)
    (("bilan", "--plan", "{plan}", "--position", "-5"), "invalid_input", "--position", "n'est pas une position"),
    (("bilan", "--plan", "{plan}", "--position", "abc"), "invalid_input", "--position", "n'est pas une position"),
    (("bilan", "--plan", "{plan}", "--position", "999999"), "invalid_input", "--position", "ne compte que"),
    (("bilan", "--plan", "{plan}", "--as-of", "yesterday"), "invalid_input", "--as-of", "n'est pas une date ISO 8601"),
    (("bilan", "--plan", "{plan}", "--on", "2023-02-30"), "invalid_input", "--on", "n'est pas une date au format"),
    (("bilan", "--plan", "{plan}", "--as-known-at", "hier"), "invalid_input", "--as-known-at",
     "n'est pas une date ISO 8601"),
    (("bilan", "--plan", "{plan}", "--as-known-at", "999999"), "invalid_input", "--as-known-at", "ne compte que"),
    (("bilan", "--plan", "{plan}", "--as-known-at", "3", "--position", "3"), "invalid_input", "--position",
     "choisissez une seule de --as-known-at, --as-of et --position"),
    (("bilan", "--plan", "{plan}", "--as-of", "2030-01-01", "--position", "3"), "invalid_input", "--position",
     "choisissez --as-of ou --position"),
    (("bilan", "report", "--plan", "{plan}", "--format", "doc"), "invalid_input", "--format", "n'est pas l'un de"),
    (("export", "ocds", "--plan", "{plan}", "--kind", "everything"), "invalid_input", "--kind", "n'est pas l'un de"),
    (("bilan", "--plan", "{plan}", "--as", "123", "--role", "titulaire"), "invalid_input", "--as",
     "n'est pas un SIRET valide"),
    (("bilan", "--plan", "{plan}", "--as", TITULAIRE_SIRET), "invalid_input", "--role", "--as et --role vont ensemble"),
    (("bilan", "--plan", "{plan}", "--as", TITULAIRE_SIRET, "--role", "boss"), "invalid_input", "--role",
     "n'est pas un rôle"),
    (("bilan", "--plan", "not-a-plan"), "not_found", "--plan", "aucun plan de progrès"),
    (("bilan",), "missing_argument", None, "--plan PLAN_ID"),
    (("bilan", "report"), "missing_argument", None, "--plan est obligatoire"),
    (("bilan", "--plan", "{plan}", "--bogus"), "unknown_option", None, "option inconnue --bogus"),
    (("plan",), "missing_argument", None, "PLAN_ID est obligatoire"),
    (("plan", "{plan}", "extra"), "usage", None, "la commande n'a pas compris ses arguments"),
    (("plan", "nope"), "invalid_input", None, "plan_id"),
    (("serve", "--port", "70000"), "invalid_input", "--port", "valeur refusée"),
    (("dev-token", "--org", "123", "--role", "titulaire"), "invalid_input", "--org", "n'est pas un SIRET valide"),
    (("bilan", "report", "--plan", "{plan}", "--output", "/nonexistent-dir/bilan.html"), "io_error", None,
     "/nonexistent-dir/bilan.html"),
    (("audit", "replay", "--plan", "{plan}", "--until", "tomorrow"), "invalid_input", "--until",
     "n'est pas une date ISO 8601"),
    (("audit", "replay", "--plan", "not-a-plan"), "not_found", "--plan", "aucun plan de progrès"),
    (("audit", "verify", "--head", "no-such-head.json"), "invalid_input", "--head", "pas une tête signée lisible"),
]


@pytest.mark.parametrize(("args", "code", "field", "words"), BAD, ids=[" ".join(b[0])[:60] for b in BAD])
def test_a_bad_argument_is_refused_on_stderr_with_exit_code_2(cli, seeded, args, code, field, words):
    data, scenario, head = seeded
    exit_code, out, err = cli(*(a.format(plan=scenario.plan) for a in args), "--data-dir", str(data))
    said = refusal(err)
    assert exit_code == 2, err
    assert out == ""
    assert "Traceback" not in err
    assert said.startswith(f"{code}: {field}: " if field else f"{code}: "), said
    assert words in said
    assert bootstrap(Settings(data_dir=data)).max_notification_id() == head, "nothing written"


def test_a_user_value_is_echoed_only_as_a_short_prefix(cli, seeded):
    data, scenario, _ = seeded
    long_value = "x" * 500
    exit_code, out, err = cli("bilan", "--plan", scenario.plan, "--as-of", long_value, "--data-dir", str(data))
    assert (exit_code, out) == (2, "")
    assert "x" * 31 not in err


# Issue 12: a moment before anything (of the plan) was recorded is no refusal any more: the read answers an empty
# state, exit code 0, and says why on stderr (`code: field: message`); a report writes nothing.
EMPTY = [
    (("bilan", "--plan", "{plan}", "--as-of", "2000-01-01", "--json"), "nothing_recorded_yet", "--as-of",
     "rien n'était encore enregistré au 2000-01-01"),
    (("bilan", "--plan", "{plan}", "--as-known-at", "2000-01-01", "--json"), "nothing_recorded_yet",
     "--as-known-at", "rien n'était encore enregistré au 2000-01-01"),
    (("bilan", "report", "--plan", "{plan}", "--as-of", "2000-01-01T08:00:00+02:00"), "nothing_recorded_yet",
     "--as-of", "rien n'était encore enregistré au 2000-01-01T08:00:00+02:00"),
    (("bilan", "--plan", "{plan}", "--position", "3", "--json"), "plan_not_recorded_yet", "--position",
     "le plan n'était pas encore enregistré à ce moment (position 3 du journal)"),
    (("bilan", "--plan", "{plan}", "--as-known-at", "3", "--json"), "plan_not_recorded_yet", "--as-known-at",
     "le plan n'était pas encore enregistré à ce moment (position 3 du journal)"),
]


@pytest.mark.parametrize(("args", "code", "field", "words"), EMPTY, ids=[" ".join(e[0])[:60] for e in EMPTY])
def test_a_moment_before_anything_was_recorded_answers_an_empty_state(cli, seeded, tmp_path, monkeypatch, args,
                                                                       code, field, words):
    data, scenario, head = seeded
    monkeypatch.chdir(tmp_path)
    exit_code, out, err = cli(*(a.format(plan=scenario.plan) for a in args), "--data-dir", str(data))
    assert exit_code == 0, err
    assert "Traceback" not in err
    assert refusal(err).startswith(f"{code}: {field}: "), err
    assert words in refusal(err)
    if "--json" in args:
        balance = json.loads(out)
        assert (balance["axes"], balance["members"], balance["notice"]["code"]) == ([], {}, code)
    else:
        assert out == ""
        assert list(tmp_path.iterdir()) == [], "a report of nothing is not written"
    assert bootstrap(Settings(data_dir=data)).max_notification_id() == head, "nothing written"


def test_a_time_after_the_first_event_is_answered(cli, seeded):
    """The control of the 'nothing recorded yet' case: a later time gives the balance as it stood then."""
    data, scenario, _ = seeded
    exit_code, out, err = cli("bilan", "--plan", scenario.plan, "--as-of", "2999-01-01", "--json", "--data-dir",
                              str(data))
    assert exit_code == 0, err
    assert '"final": true' in out


COMMANDS_ON_A_STORE = [
    ("groupements",), ("plan", "{plan}"), ("history", "{plan}"), ("bilan", "--plan", "{plan}"),
    ("bilan", "report", "--plan", "{plan}"), ("bilan", "capitalisation", "--plan", "{plan}"),
    ("export", "decp", "--plan", "{plan}"), ("export", "ocds", "--plan", "{plan}"), ("projections", "status"),
    ("projections", "rebuild"), ("projections", "run"), ("audit", "replay", "--plan", "{plan}"),
    ("keycloak", "sync"), ("serve",),
]


@pytest.mark.parametrize("args", COMMANDS_ON_A_STORE, ids=[" ".join(a[:2]) for a in COMMANDS_ON_A_STORE])
def test_a_command_where_no_store_exists_is_refused_and_creates_none(cli, seeded, tmp_path, monkeypatch, args):
    _, scenario, _ = seeded
    monkeypatch.chdir(tmp_path)  # the default data directory is relative: nothing must appear here either
    absent = tmp_path / "elsewhere"
    exit_code, out, err = cli(*(a.format(plan=scenario.plan) for a in args), "--data-dir", str(absent))
    assert exit_code == 2, err
    assert out == ""
    assert refusal(err).startswith("store_missing: --data-dir: aucun dépôt d'événements ici"), err
    assert list(tmp_path.iterdir()) == [], "no store, no data directory created"


def test_init_creates_the_store_and_then_commands_run(cli, tmp_path):
    data = tmp_path / "data"
    assert cli("init", "--data-dir", str(data))[0] == 0
    exit_code, _, err = cli("groupements", "--data-dir", str(data))
    assert exit_code == 0, err


@pytest.mark.postgres
def test_a_command_on_a_postgres_schema_without_a_store_is_refused_and_creates_none(pg_settings):
    env = {**os.environ, "PROGRES_STORE": "postgres", "PROGRES_POSTGRES_SCHEMA": pg_settings.postgres_schema,
           "PROGRES_VIEWS_SCHEMA": f"{pg_settings.postgres_schema}_views"}
    result = subprocess.run([sys.executable, "-m", "progres.services.cli", "groupements"], env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert "store_missing: PROGRES_POSTGRES_SCHEMA:" in result.stderr
    with postgres_connect(pg_settings) as connection:
        schemas = connection.execute("SELECT schema_name FROM information_schema.schemata WHERE schema_name IN "
                                     "(%s, %s)", [pg_settings.postgres_schema, env["PROGRES_VIEWS_SCHEMA"]]).fetchall()
    assert schemas == [], "neither the store's nor the views' schema was created"


def test_the_entry_point_refuses_without_a_traceback(seeded, tmp_path):
    """The installed command itself (not only the function the other tests call)."""
    data, scenario, _ = seeded
    for args in (["bilan", "--plan", scenario.plan, "--position", "-5", "--data-dir", str(data)],
                 ["bilan", "--plan", scenario.plan, "--bogus", "--data-dir", str(data)],
                 ["groupements", "--data-dir", str(tmp_path / "absent")]):
        result = subprocess.run([sys.executable, "-m", "progres.services.cli", *args], capture_output=True,
                                text=True, timeout=120, check=False, env={**os.environ, "COLUMNS": "200"})
        assert result.returncode == 2, result.stderr
        assert result.stdout == ""
        assert "Traceback" not in result.stderr
        assert refusal(result.stderr).split(":")[0] in ("invalid_input", "unknown_option", "store_missing")
    assert not (tmp_path / "absent").exists()
