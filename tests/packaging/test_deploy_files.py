"""The deployment files (issue 18), checked without a container engine: the Kubernetes manifests rendered by the
pinned kustomize (deploy/k8s/ensure-kustomize.sh) and the rendered objects checked; the Dockerfile and
compose.yaml read statically."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from progres.services.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
SECRET_NAME = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE|CREDENTIAL", re.IGNORECASE)


# Kubernetes ----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def kustomize() -> str:
    given = os.environ.get("PROGRES_KUSTOMIZE")
    if given:
        return given
    built = subprocess.run([str(K8S / "ensure-kustomize.sh")], capture_output=True, text=True, timeout=900,
                           check=False)
    if built.returncode != 0:
        message = f"kustomize is not available: {built.stderr[-500:]}"
        if os.environ.get("PROGRES_REQUIRE_KUSTOMIZE") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return built.stdout.strip().splitlines()[-1]


def render(kustomize: str, directory: Path) -> list[dict[str, Any]]:
    done = subprocess.run([kustomize, "build", str(directory)], capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    return [document for document in yaml.safe_load_all(done.stdout) if document]


@pytest.fixture(scope="module", params=["base", "overlays/production"])
def rendered(request, kustomize) -> tuple[str, list[dict[str, Any]]]:
    return request.param, render(kustomize, K8S / request.param)


def one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(found) == 1, (kind, name, [(o["kind"], o["metadata"]["name"]) for o in objects])
    return found[0]


def pod_containers(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    spec = deployment["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector["matchLabels"].items())


def test_the_api_is_probed_on_health_and_ready(rendered):
    _, objects = rendered
    api = one(objects, "Deployment", "progres-api")
    container = next(c for c in api["spec"]["template"]["spec"]["containers"] if c["name"] == "api")
    assert container["args"] == ["serve"]
    port = {p["name"]: p["containerPort"] for p in container["ports"]}["http"]
    assert port == 8000
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["startupProbe"]["httpGet"]["path"] == "/health"
    assert api["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0  # zero-downtime rollouts
    service = one(objects, "Service", "progres-api")
    assert selects({"matchLabels": service["spec"]["selector"]}, api["spec"]["template"]["metadata"]["labels"])
    assert service["spec"]["ports"][0]["targetPort"] == "http"


def test_the_worker_runs_the_projections(rendered):
    _, objects = rendered
    worker = one(objects, "Deployment", "progres-worker")
    (container,) = worker["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["projections", "run", "--follow"]
    assert worker["spec"]["replicas"] >= 2  # one leads, the others stand by
    assert "ports" not in container


def test_every_container_has_resources_and_runs_unprivileged_on_a_read_only_root(rendered):
    _, objects = rendered
    for name in ("progres-api", "progres-worker"):
        deployment = one(objects, "Deployment", name)
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] > 0, name
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", name
        assert pod["automountServiceAccountToken"] is False, name
        for container in pod_containers(deployment):
            where = f"{name}/{container['name']}"
            for kind in ("requests", "limits"):
                assert set(container["resources"][kind]) >= {"cpu", "memory"}, where
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            assert "add" not in context["capabilities"], where
            assert container["image"].startswith("registry.example.org/progres:"), where
            # Writable places are volumes: /tmp at least, and the audit keys come read-only from a Secret.
            mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
            assert "/tmp" in mounts, where
            assert mounts["/var/run/progres/audit-keys"]["readOnly"] is True, where
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes["audit-keys"]["secret"]["secretName"] == "progres-audit-keys"
        mode = volumes["audit-keys"]["secret"]["defaultMode"]  # files are root:fsGroup: the group must read them
        assert mode & 0o040, oct(mode)
        assert not mode & 0o007, oct(mode)


def test_the_api_scales_with_an_hpa_and_a_disruption_budget(rendered):
    where, objects = rendered
    api = one(objects, "Deployment", "progres-api")
    labels = api["spec"]["template"]["metadata"]["labels"]
    hpa = one(objects, "HorizontalPodAutoscaler", "progres-api")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "progres-api"}
    assert hpa["spec"]["minReplicas"] >= 2
    assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert 50 <= metric["resource"]["target"]["averageUtilization"] <= 90
    pdb = one(objects, "PodDisruptionBudget", "progres-api")
    assert pdb["apiVersion"] == "policy/v1"
    assert selects(pdb["spec"]["selector"], labels)
    assert pdb["spec"].get("maxUnavailable") == 1 or pdb["spec"].get("minAvailable", 0) >= 1
    assert hpa["spec"]["minReplicas"] > pdb["spec"].get("maxUnavailable", 0)  # a drain leaves pods serving
    worker_pdb = one(objects, "PodDisruptionBudget", "progres-worker")
    assert selects(worker_pdb["spec"]["selector"],
                   one(objects, "Deployment", "progres-worker")["spec"]["template"]["metadata"]["labels"])
    if where == "overlays/production":
        assert hpa["spec"]["minReplicas"] == 3
        assert api["spec"]["replicas"] == 3
        assert all(o["metadata"].get("namespace") == "progres" for o in objects if o["kind"] != "Namespace")
        namespace = one(objects, "Namespace", "progres")
        assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_settings_are_in_a_config_map_and_secrets_are_not_in_the_repository(rendered):
    _, objects = rendered
    assert not [o for o in objects if o["kind"] == "Secret"], "a Secret's values would be in the repository"
    settings = one(objects, "ConfigMap", "progres-settings")["data"]
    known = {f"PROGRES_{name.upper()}" for name in Settings.model_fields}
    assert set(settings) <= known, set(settings) - known  # a misspelt setting would be ignored silently
    assert not [k for k in settings if SECRET_NAME.search(k)], settings
    assert settings["PROGRES_ENVIRONMENT"] == "production"
    assert settings["PROGRES_OIDC_ISSUER"].startswith("https://")
    for name in ("progres-api", "progres-worker"):
        for container in pod_containers(one(objects, "Deployment", name)):
            sources = {next(iter(s)): next(iter(s.values()))["name"] for s in container["envFrom"]}
            assert sources == {"configMapRef": "progres-settings", "secretRef": "progres-secrets"}
            assert "env" not in container  # no value written beside the references
    example = (K8S / "secrets.example.env").read_text()
    for line in example.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            assert f"PROGRES_{name.removeprefix('PROGRES_').lower()}".upper() in known, name
            assert value == "", f"{name} has a value in the repository"


# Dockerfile ----------------------------------------------------------------------------------------------------

def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments left out."""
    found: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, rest = line.partition(" ")
        found.append((keyword.upper(), rest.strip()))
    return found


def stages(steps: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    split: list[list[tuple[str, str]]] = []
    for step in steps:
        if step[0] == "FROM":
            split.append([])
        if split:
            split[-1].append(step)
    return split


def test_the_dockerfile_is_multi_stage_on_a_pinned_base():
    steps = instructions(ROOT / "Dockerfile")
    defaults = dict(re.fullmatch(r"(\w+)=(\S+)", rest).groups() for kind, rest in steps  # type: ignore[union-attr]
                    if kind == "ARG" and "=" in rest)
    built = stages(steps)
    assert len(built) >= 2
    for stage in built:
        image = stage[0][1].split()[0]
        image = re.sub(r"\$\{(\w+)\}", lambda m: defaults[m.group(1)], image)
        assert "latest" not in image, image
        assert re.fullmatch(r"[\w./-]+:\d+\.\d+\.\d+[\w.-]*(@sha256:[0-9a-f]{64})?|[\w./-]+@sha256:[0-9a-f]{64}",
                            image), f"base not pinned to an exact version or digest: {image}"
    final = built[-1]
    assert any(kind == "COPY" and "--from=build" in rest for kind, rest in final), "the runtime stage builds itself"
    assert not any(kind == "RUN" and "pip install" in rest for kind, rest in final)


def test_the_image_runs_as_a_non_root_user():
    final = stages(instructions(ROOT / "Dockerfile"))[-1]
    users = [rest for kind, rest in final if kind == "USER"]
    assert users, "no USER in the runtime stage: it would run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), user
    assert final[-1][0] in ("CMD", "ENTRYPOINT")


def test_no_secret_is_baked_into_the_image():
    steps = instructions(ROOT / "Dockerfile")
    for kind, rest in steps:
        if kind in ("ENV", "ARG"):
            pairs = re.findall(r"(\w+)=(\"[^\"]*\"|\S+)", rest) or [(rest.split()[0], "")]
            for name, _ in pairs:
                assert not SECRET_NAME.search(name), f"{kind} {name}: a secret would stay in the image's layers"
        if kind == "ADD":
            assert not re.search(r"https?://|git@", rest), f"ADD of a URL: {rest}"
        if kind in ("COPY", "ADD"):
            assert not re.search(r"\.env\b|\.key\.json|id_rsa|\.pem\b", rest), rest
    assert not [kind for kind, _ in steps if kind == "ADD"], "COPY, not ADD: nothing fetched or unpacked implicitly"
    ignored = (ROOT / ".dockerignore").read_text().split()
    for path in (".git", ".venv", ".env", "*.env", "progres-data"):
        assert path in ignored, f"{path} would be sent to the build"


def test_the_image_checks_its_own_health():
    steps = dict(instructions(ROOT / "Dockerfile"))
    assert "/health" in steps["HEALTHCHECK"]
    assert steps["EXPOSE"] == "8000"
    command = json.loads(steps["HEALTHCHECK"].split(" CMD ", 1)[1])  # exec form: no shell needed
    assert command[0] == "python"  # the slim base has no curl
    assert "timeout=" in command[-1]


# compose.yaml --------------------------------------------------------------------------------------------------

def test_compose_runs_postgres_keycloak_the_api_and_a_worker_without_secrets_in_the_file():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "keycloak", "api", "worker"} <= set(services)
    assert services["worker"]["command"] == ["projections", "run", "--follow"]
    assert services["api"]["command"] == ["serve"]
    for name in ("postgres", "keycloak"):
        image = services[name]["image"]
        assert re.fullmatch(r"[\w./-]+:\d+\.\d+(\.\d+)?[\w.-]*", image), image
    for name in ("api", "worker", "init"):
        service = services[name]
        assert service["read_only"] is True
        assert service["cap_drop"] == ["ALL"]
        assert service["build"]["dockerfile"] == "Dockerfile"
    assert services["api"]["depends_on"]["init"]["condition"] == "service_completed_successfully"
    for name, service in services.items():
        for key, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(key):
                assert re.fullmatch(r"\$\{\w+:\?[^}]*\}", str(value)), f"{name}: {key} has a value in the file"
    for port in services["api"]["ports"] + services["keycloak"]["ports"]:
        assert port.startswith("127.0.0.1:"), port  # published on loopback only
