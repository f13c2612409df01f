"""DECP 2.0.3 and OCDS 1.1.5 (with the metrics extension) exports of the seed scenario validate against the
shared schemas, read where the project keeps them (never copied by hand); a broken export is caught."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest
from jsonschema import Draft4Validator, Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from progres.projections.exports import decp, ocds_releases, record_package, release_package
from progres.projections.ledger import DIRECTORY, Replay
from progres.services.commands import Progres
from progres.services.demo import run_seed_scenario

# The shared standards sit beside the repository (as in CI); PROGRES_STANDARDS_DIR may point elsewhere.
BESIDE = Path(__file__).resolve().parents[3] / "shared" / "standards"
STANDARDS = Path(os.environ.get("PROGRES_STANDARDS_DIR") or BESIDE)
OCDS = "https://standard.open-contracting.org/schema/1__1__5/"


def load(relative: str) -> dict:
    return json.loads((STANDARDS / relative).read_text())


def merge_patch(target: dict, patch: dict) -> dict:
    """JSON Merge Patch (RFC 7386), as the extension's README says to apply it."""
    result = copy.deepcopy(target)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge_patch(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


@pytest.fixture(scope="module")
def seed():
    app = Progres(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    scenario = run_seed_scenario(app)
    replay = Replay().feed_all(app.facts())
    return scenario, replay.ledgers[scenario.groupement], replay.ledgers[DIRECTORY]


@pytest.fixture(scope="module")
def ocds_validators():
    release = merge_patch(load("ocds-1.1.5/release-schema.json"), load("ocds-metrics-extension/release-schema.json"))
    registry = Registry().with_resources([
        (f"{OCDS}release-schema.json", Resource.from_contents(release, default_specification=DRAFT4)),
        (f"{OCDS}versioned-release-validation-schema.json",
         Resource.from_contents(load("ocds-1.1.5/versioned-release-validation-schema.json"),
                                default_specification=DRAFT4)),
    ])
    return {
        "release": Draft4Validator(release, registry=registry),
        "release_package": Draft4Validator(load("ocds-1.1.5/release-package-schema.json"), registry=registry),
        "record_package": Draft4Validator(load("ocds-1.1.5/record-package-schema.json"), registry=registry),
    }


def errors(validator, document) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def test_the_decp_export_of_the_seed_validates_with_zero_errors(seed):
    scenario, ledger, directory = seed
    document = decp(ledger, directory, scenario.plan)
    validator = Draft7Validator(load("decp-2.0.3/schema_decp_v2.0.3.json"))
    assert errors(validator, document) == []
    marche = document["marches"]["marche"][0]
    assert len(marche["id"]) <= 16
    assert [m["modification"]["id"] for m in marche["modifications"]] == [1, 2]
    assert [m["modification"]["montant"] for m in marche["modifications"]] == [468000.0, 496000.0]


def test_the_decp_validator_catches_a_broken_export(seed):
    scenario, ledger, directory = seed
    broken = decp(ledger, directory, scenario.plan)
    del broken["marches"]["marche"][0]["acheteur"]
    broken["marches"]["marche"][0]["codeCPV"] = "beurre"
    found = errors(Draft7Validator(load("decp-2.0.3/schema_decp_v2.0.3.json")), broken)
    assert any("acheteur" in e for e in found)
    assert any("codeCPV" in e for e in found)


def test_the_ocds_releases_and_record_validate_with_zero_errors(seed, ocds_validators):
    scenario, ledger, directory = seed
    releases = ocds_releases(ledger, directory, scenario.plan, "Région Hauts-de-France")
    assert [r["tag"] for r in releases] == [["award", "contract"], ["contractAmendment"], ["contractAmendment"],
                                             ["implementation"]]
    for release in releases:
        assert errors(ocds_validators["release"], release) == [], release["id"]
    package = release_package(copy.deepcopy(releases), "2024-02-01T00:00:00Z", "Région Hauts-de-France")
    assert errors(ocds_validators["release_package"], package) == []
    record = record_package(copy.deepcopy(releases), "2024-02-01T00:00:00Z", "Région Hauts-de-France")
    assert errors(ocds_validators["record_package"], record) == []
    metrics = releases[-1]["contracts"][0]["implementation"]["metrics"]
    egalim = next(m for m in metrics if m["id"] == "egalim_share")
    # The seed's convention does not share member details: the groupement's figure per semester is published.
    assert [o["id"] for o in egalim["observations"]] == [f"egalim_share-groupement-{day}" for day in
                                                          ("2022-01-01", "2022-07-01", "2023-01-01", "2023-07-01")]
    agreed = releases[0]["contracts"][0]["agreedMetrics"]
    assert any(m["id"] == "egalim_share" and len(m["observations"]) == 3 for m in agreed)  # two steps + final
    compiled = record["records"][0]["compiledRelease"]
    assert compiled["contracts"][0]["value"]["amount"] == 496000.0
    assert len(compiled["contracts"][0]["amendments"]) == 2


def test_the_ocds_export_publishes_each_member_s_measures_only_when_the_convention_shares_them(seed,
                                                                                               ocds_validators):
    scenario, ledger, directory = seed
    lycee_sirets = {directory["organisations"][m]["siret"] for m in scenario.lycees}

    def observations(shared: bool) -> list[str]:
        changed = copy.deepcopy(ledger)
        changed["groupement"]["shares_member_details"] = shared
        releases = ocds_releases(changed, directory, scenario.plan, "Région Hauts-de-France")
        for release in releases:
            assert errors(ocds_validators["release"], release) == [], release["id"]
        metrics = releases[-1]["contracts"][0]["implementation"]["metrics"]
        return [o["id"] for m in metrics for o in m.get("observations", [])]

    hidden, shared = observations(False), observations(True)
    assert not [i for i in hidden if any(siret in i for siret in lycee_sirets)], "no lycée's own measure is published"
    egalim = [i for i in shared if i.startswith("egalim_share-")]
    assert len(egalim) == 26  # six lycées in two semesters, seven in the two others
    assert {siret for siret in lycee_sirets if any(siret in i for i in egalim)} == lycee_sirets


def test_the_ocds_validator_catches_a_broken_release(seed, ocds_validators):
    scenario, ledger, directory = seed
    release = ocds_releases(ledger, directory, scenario.plan, "Région")[1]
    del release["ocid"]
    release["tag"] = ["avenant"]
    found = errors(ocds_validators["release"], release)
    assert any("ocid" in e for e in found)
    assert any("avenant" in e for e in found)


def test_the_export_commands_write_what_validates(tmp_path, ocds_validators):
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    from progres.services.bootstrap import bootstrap  # noqa: PLC0415
    from progres.services.settings import Settings  # noqa: PLC0415

    scenario = run_seed_scenario(bootstrap(Settings(data_dir=tmp_path)))
    decp_file, record_file = tmp_path / "decp.json", tmp_path / "record.json"
    for args in (["decp", "--output", str(decp_file)], ["ocds", "--kind", "record", "--output", str(record_file)]):
        result = subprocess.run([sys.executable, "-m", "progres.services.cli", "export", *args, "--plan",
                                 scenario.plan, "--data-dir", str(tmp_path)], capture_output=True, text=True,
                                timeout=120, check=False)
        assert result.returncode == 0, result.stderr
    assert errors(Draft7Validator(load("decp-2.0.3/schema_decp_v2.0.3.json")), json.loads(decp_file.read_text())) == []
    assert errors(ocds_validators["record_package"], json.loads(record_file.read_text())) == []


def test_a_plan_without_indicators_exports_no_empty_agreed_metrics(ocds_validators):
    """OCDS metrics extension: `agreedMetrics` and `implementation.metrics` have at least one item; a plan with no
    indicator has none to publish, so neither is written, and its releases validate."""
    app = Progres(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    scenario = run_seed_scenario(app)
    marche = app.notify_marche(scenario.groupement, "2026-VIDE", "Marché sans indicateur", "15500000-3",
                               "fournitures", [scenario.titulaire], "50000", 12, "2026-01-05").id
    plan = app.draw_up_plan(marche, "Plan sans indicateur").id
    replay = Replay().feed_all(app.facts())
    releases = ocds_releases(replay.ledgers[scenario.groupement], replay.ledgers[DIRECTORY], plan, "Région")
    assert [r["tag"] for r in releases] == [["award", "contract"]]
    assert "agreedMetrics" not in releases[0]["contracts"][0]
    assert errors(ocds_validators["release"], releases[0]) == []
    empty = copy.deepcopy(releases[0])
    empty["contracts"][0]["agreedMetrics"] = []  # what the export wrote before: the schema refuses it
    assert any("agreedMetrics" in e for e in errors(ocds_validators["release"], empty))
    package = release_package(copy.deepcopy(releases), "2026-02-01T00:00:00Z", "Région")
    assert errors(ocds_validators["release_package"], package) == []


def test_the_decp_export_refuses_to_write_an_invalid_file_and_names_the_fields(tmp_path):
    """Exit 1, the fields at fault on stderr, nothing written: particulars recorded before they were checked
    (a legacy event, written here by the aggregate's own event method, without its command's checks), or
    particulars never given. Once corrected by an event, the export validates."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    from progres.services.bootstrap import bootstrap  # noqa: PLC0415
    from progres.services.settings import Settings  # noqa: PLC0415

    app = bootstrap(Settings(data_dir=tmp_path))
    scenario = run_seed_scenario(app)
    legacy = app.marche(scenario.marche)
    legacy._particulars_corrected(particulars={"procedure": "MAPA", "taux_avance": 5}, reason="données anciennes")
    app.save(legacy)
    bare = app.notify_marche(scenario.groupement, "2026-NU", "Sans particularités", "15500000-3", "fournitures",
                             [scenario.titulaire], "50000", 12, "2026-01-05").id
    bare_plan = app.draw_up_plan(bare, "Plan").id
    app.close()
    output = tmp_path / "decp.json"

    def export(plan: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "progres.services.cli", "export", "decp", "--plan", plan,
                               "--output", str(output), "--data-dir", str(tmp_path)], capture_output=True, text=True,
                              timeout=120, check=False)

    result = export(scenario.plan)
    assert result.returncode == 1, result.stderr
    assert "invalid_export" in result.stderr
    assert "particulars.procedure" in result.stderr
    assert "particulars.taux_avance" in result.stderr
    assert not output.exists(), "nothing is written"
    result = export(bare_plan)
    assert result.returncode == 1, result.stderr
    assert "missing_particulars" in result.stderr
    assert "particulars.ccag" in result.stderr
    assert not output.exists(), "nothing is written"

    app = bootstrap(Settings(data_dir=tmp_path))
    app.correct_particulars(scenario.marche, {"procedure": "Appel d'offres ouvert", "taux_avance": 0},
                            "reprise des données anciennes")
    app.close()
    result = export(scenario.plan)
    assert result.returncode == 0, result.stderr
    assert errors(Draft7Validator(load("decp-2.0.3/schema_decp_v2.0.3.json")), json.loads(output.read_text())) == []


def test_the_domain_reads_a_verbatim_copy_of_the_decp_schema():
    """The code lists the domain checks particulars against come from the published schema, byte for byte."""
    from progres.domain.decp import SCHEMA_FILE  # noqa: PLC0415

    assert SCHEMA_FILE.read_bytes() == (STANDARDS / "decp-2.0.3" / "schema_decp_v2.0.3.json").read_bytes()


def test_the_ocds_export_is_checked_against_verbatim_copies_of_the_ocds_schemas(seed):
    """The exports validate what they write against copies of the OCDS schemas identical to the shared ones, and
    refuse a package the schema refuses, naming the field (here, the empty `agreedMetrics` written before)."""
    from progres.projections.exports import STANDARDS as COPIES  # noqa: PLC0415
    from progres.projections.exports import InvalidExport, check_ocds  # noqa: PLC0415

    for copied, shared in (("ocds-1.1.5-release-schema.json", "ocds-1.1.5/release-schema.json"),
                           ("ocds-1.1.5-release-package-schema.json", "ocds-1.1.5/release-package-schema.json"),
                           ("ocds-1.1.5-record-package-schema.json", "ocds-1.1.5/record-package-schema.json"),
                           ("ocds-1.1.5-versioned-release-validation-schema.json",
                            "ocds-1.1.5/versioned-release-validation-schema.json"),
                           ("ocds-metrics-extension-release-schema.json", "ocds-metrics-extension/release-schema.json"),
                           ("ocds-metrics-extension.json", "ocds-metrics-extension/extension.json")):
        assert (COPIES / copied).read_bytes() == (STANDARDS / shared).read_bytes(), copied
    scenario, ledger, directory = seed
    releases = ocds_releases(ledger, directory, scenario.plan, "Région")
    package = release_package(copy.deepcopy(releases), "2024-02-01T00:00:00Z", "Région")
    assert check_ocds(package, "release_package") is package
    package["releases"][0]["contracts"][0]["agreedMetrics"] = []
    with pytest.raises(InvalidExport) as caught:
        check_ocds(package, "release_package")
    assert caught.value.fields == ["releases[0].contracts[0].agreedMetrics: minItems"]
