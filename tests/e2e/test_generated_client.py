"""A typed Python client generated from the SDL by ariadne-codegen (scripts/client-codegen) runs the seed's story
end to end against a real `progres serve` on PostgreSQL, and the generator refuses operations the SDL no longer
has: the checked-in schema and tests/clients/python/seed.graphql cannot drift apart unnoticed."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import tomllib
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from progres.domain.values import siret_with_key
from progres.graphql.mutations import camel
from progres.services.demo import AUDITOR, run_seed_scenario

from .conftest import ACTING_FOR, REGION_ID, TITULAIRE_ID, Server

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "tests" / "clients" / "python"
GENERATOR = ROOT / ".venv" / "tools" / "ariadne-codegen" / "bin" / "ariadne-codegen"
REQUIRE_CODEGEN = os.environ.get("PROGRES_REQUIRE_CODEGEN") == "1"


@pytest.fixture(scope="module")
def generator() -> Path:
    """ariadne-codegen, in the virtualenv of its own that scripts/client-codegen (run by scripts/test) installs."""
    if not GENERATOR.exists():
        message = "ariadne-codegen is not installed: run scripts/client-codegen --install"
        if REQUIRE_CODEGEN:
            pytest.fail(f"{message} (PROGRES_REQUIRE_CODEGEN=1)")
        pytest.skip(message)
    return GENERATOR


def generate(generator: Path, target: Path, schema: Path, queries: Path) -> subprocess.CompletedProcess[str]:
    """Runs the generator with the checked-in configuration, its paths pointed at `schema`, `queries` and `target`."""
    settings = tomllib.loads((CLIENT / "pyproject.toml").read_text())["tool"]["ariadne-codegen"]
    settings.update(schema_path=str(schema), queries_path=str(queries), target_package_path=str(target))
    lines = ["[tool.ariadne-codegen]"]
    lines += [f"{key} = {toml_value(value)}" for key, value in settings.items() if not isinstance(value, dict)]
    for name, scalar in settings.get("scalars", {}).items():
        lines += [f"[tool.ariadne-codegen.scalars.{name}]", *(f"{k} = {toml_value(v)}" for k, v in scalar.items())]
    config = target / "codegen.toml"
    config.write_text("\n".join(lines) + "\n")
    return subprocess.run([str(generator), "--config", str(config), "client"], cwd=target, capture_output=True,
                          text=True, timeout=300, check=False)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.fixture(scope="module")
def client_package(generator, tmp_path_factory) -> ModuleType:
    """The client generated now from graphql/schema.graphql, imported from a temporary directory."""
    target = tmp_path_factory.mktemp("generated-client")
    made = generate(generator, target, ROOT / "graphql" / "schema.graphql", CLIENT / "seed.graphql")
    assert made.returncode == 0, made.stdout + made.stderr
    sys.path.insert(0, str(target))
    try:
        return importlib.import_module("progres_client")
    finally:
        sys.path.remove(str(target))


def test_the_generator_refuses_operations_the_schema_no_longer_has(generator, tmp_path):
    """A field the operations read, renamed in the SDL: the generation fails and names it."""
    sdl = (ROOT / "graphql" / "schema.graphql").read_text()
    assert "  cumulativeChangePercent: Decimal\n" in sdl
    drifted = tmp_path / "schema.graphql"
    drifted.write_text(sdl.replace("  cumulativeChangePercent: Decimal\n", "  cumulativeChangePercentage: Decimal\n"))
    made = generate(generator, tmp_path, drifted, CLIENT / "seed.graphql")
    assert made.returncode != 0
    assert "cumulativeChangePercent" in made.stdout + made.stderr
    assert not (tmp_path / "progres_client").exists()


DOCUMENTS = ("convention", "decision", "minutes", "document")
PAYLOAD_FIELDS = {"user_errors", "position", "replayed"}  # the rest of a payload is the changed object


class TypedRunner:
    """Runs each command of the seed's story through the generated client's method of the same name, the `JSON`
    arguments of services/demo.py given as the typed inputs of seed.graphql, as the party each command acts for."""

    def __init__(self, server: Server, package: ModuleType) -> None:
        self.server, self.package = server, package
        self.sirets: dict[str, str] = {}
        self.clients: dict[tuple[str, str], Any] = {}
        self.count = 0
        self.head = 0
        inputs = package.input_types
        self.typed = {"spec": ("indicator", inputs.IndicatorInput), "lots": ("marche_lots", inputs.LotInput),
                      "particulars": ("decp_particulars", inputs.DecpParticularsInput),
                      "shares": ("party_shares", inputs.PartySharesInput),
                      "participants": ("attendees", inputs.ParticipantInput),
                      "raised_by": ("raised_by_participant", inputs.ParticipantInput),
                      "changes": ("avenant_changes", inputs.AvenantChangesInput),
                      **{name: (name, inputs.DocumentInput) for name in DOCUMENTS}}

    def client(self, actor: tuple[str, str]) -> Any:
        if actor not in self.clients:
            self.clients[actor] = self.package.Client(url=f"{self.server.url}/graphql",
                                                      headers={**self.server.headers(actor),
                                                               "x-progres-role": actor[1]})
        return self.clients[actor]

    def actor(self, command: str, arguments: dict[str, Any]) -> tuple[str, str]:
        if command == "register_organisation":
            return siret_with_key("2000537670001"), "admin"
        org = next((str(arguments[a]) for a in ACTING_FOR if arguments.get(a)), REGION_ID)
        role = "coordonnateur" if org == REGION_ID else "titulaire" if org == TITULAIRE_ID else "acheteur"
        return self.sirets[org], role

    def argument(self, command: str, name: str, value: Any) -> tuple[str, Any]:
        """A command's argument under its input field's GraphQL name (typed forms for the former JSON ones)."""
        if name in self.typed and value is not None and (command, name) != ("define_governance", "participants"):
            return camel(self.typed[name][0]), camelised(value)
        return camel(name.rstrip("_")), camelised(value)

    def __call__(self, command: str, **arguments: Any) -> str:
        fields = dict(self.argument(command, name, value) for name, value in arguments.items())
        model = getattr(self.package.input_types, pascal(command) + "Input")
        answer = getattr(self.client(self.actor(command, arguments)), command)(input=model.model_validate(fields))
        result = getattr(answer, command)
        assert result.user_errors == [], (command, result.user_errors)
        self.count += 1
        self.head = max(self.head, result.position or 0)
        written = next(value for name, value in result if name not in PAYLOAD_FIELDS)
        if command == "register_organisation":
            self.sirets[str(written.id)] = arguments["siret"]
        if not hasattr(written, "id"):  # an avenant is known by its marché and number
            return f"{arguments['marche_id']}#{written.number}"
        return str(written.id)


def pascal(command: str) -> str:
    return "".join(part.title() for part in command.split("_"))


def camelised(value: Any) -> Any:
    """services/demo.py's values as the input models take them: keys in the GraphQL spelling, ids as text."""
    if isinstance(value, dict):
        return {camel(key): camelised(item) for key, item in value.items()}
    if isinstance(value, list):
        return [camelised(item) for item in value]
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def test_the_generated_client_runs_the_seed_scenario_end_to_end_with_typed_results(server, client_package):
    runner = TypedRunner(server, client_package)
    s = run_seed_scenario(None, runner)
    assert runner.count > 250
    region = (runner.sirets[s.region], "coordonnateur")
    enums = client_package.enums

    balance = runner.client(region).seed_balance(plan_id=s.plan, min_position=runner.head).plan_balance
    assert isinstance(balance, client_package.SeedBalancePlanBalance)
    assert balance.final is True
    assert balance.bilan_final is not None
    assert balance.bilan_final.on == date(2024, 1, 15)
    assert balance.marche.initial_amount == Decimal("480000.00")
    assert balance.marche.current_amount == Decimal("496000.00")
    assert balance.marche.cumulative_change_percent == Decimal("3.33")
    assert [(a.key, a.added_by_avenant) for a in balance.axes] == [
        ("egalim", None), ("environnement", None), ("satisfaction", 2)]  # the number of the avenant that added it
    egalim = next(i for o in balance.axes[0].objectives for i in o.indicators if i.key == "egalim_share")
    assert egalim.kind is enums.IndicatorKind.quantitative
    assert egalim.target == Decimal("50")
    assert isinstance(egalim.last, Decimal)
    assert (balance.proposals.submitted, balance.proposals.accepted, balance.proposals.rejected) == (3, 2, 1)
    assert balance.reviews.held == 4
    assert [(e.node.number, e.node.status, e.node.amount_delta) for e in balance.avenants.edges] == [
        (1, enums.AvenantStatus.notified, Decimal("-12000.00")), (2, enums.AvenantStatus.notified,
                                                                   Decimal("28000.00"))]
    titulaire_actions = next(a for a in balance.actions_by_owner if a.owner is enums.Party.titulaire)
    assert titulaire_actions.total == 4

    lycee = (runner.sirets[s.lycees[0]], "acheteur")
    view = runner.client(lycee).seed_member_view(plan_id=s.plan, member_id=s.lycees[0],
                                                 min_position=runner.head).member_view
    assert view.active is True  # the lycée is still a member of the groupement
    shares = next(i for i in view.indicators if i.key == "egalim_share")
    assert shares.observations.total_count == 4
    assert [e.node.period_end for e in shares.observations.edges] == [
        date(2022, 6, 30), date(2022, 12, 31), date(2023, 6, 30), date(2023, 12, 31)]
    assert view.decisions.total_count >= 1

    auditor = (siret_with_key(AUDITOR[0]), "auditeur")
    audited = runner.client(auditor).seed_member_view(plan_id=s.plan, member_id=s.late_lycee,
                                                      min_position=runner.head).member_view
    assert audited.active is False  # the lycée that left on 2023-07-01, as the auditor reads it
