"""A Patroni cluster (deploy/ha/cluster.sh: 3 etcd members, 2 PostgreSQL nodes in synchronous replication, WAL
archived by pgBackRest) started once for the tests of this folder, on loopback ports from 25100."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from psycopg import sql

from progres.services.bootstrap import postgres_connect
from progres.services.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ROOT / "deploy" / "ha" / "cluster.sh"
REQUIRE_HA = os.environ.get("PROGRES_REQUIRE_HA") == "1"
BASE_PORT = 25100
API_PORT = BASE_PORT + 50
RESTORED_PORT = BASE_PORT + 40


@dataclass
class Cluster:
    directory: Path
    env: dict[str, str]  # the PROGRES_ settings of the cluster (libpq multi-host)

    def run(self, action: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", str(CLUSTER), action, str(self.directory), *args], capture_output=True,
                              text=True, timeout=120, check=check)

    def is_primary(self, node: int) -> bool:
        """Patroni's REST API answers /primary with 200 on the leader only."""
        try:
            return httpx.get(f"http://127.0.0.1:{BASE_PORT + 20 + node}/primary", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def leader(self) -> int:
        for node in (0, 1):
            if self.is_primary(node):
                return node
        raise AssertionError("no Patroni member is the primary")

    def postmaster_pid(self, node: int) -> int:
        return int((self.directory / f"node{node}" / "data" / "postmaster.pid").read_text().split()[0])

    def as_owner(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def pgbackrest(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.as_owner(), "pgbackrest", f"--config={self.directory}/pgbackrest.conf",
                               "--stanza=progres", *args], capture_output=True, text=True, timeout=180, check=True)

    def settings(self, data_dir: Path, **values: object) -> Settings:
        return Settings(**{k.removeprefix("PROGRES_").lower(): v for k, v in self.env.items()},  # type: ignore[arg-type]
                        data_dir=data_dir, **values)


def missing() -> str | None:
    if shutil.which("patroni") is None or shutil.which("etcd") is None or shutil.which("pgbackrest") is None:
        return "patroni, etcd or pgbackrest missing: run deploy/ha/ensure.sh"
    return None


@pytest.fixture(scope="module")
def ha_cluster() -> Iterator[Cluster]:
    problem = missing()
    if problem:
        if REQUIRE_HA:
            pytest.fail(problem)
        pytest.skip(problem)
    top = Path(tempfile.mkdtemp(prefix="progres-ha-"))
    top.chmod(0o755)  # the postgres user runs the cluster when the tests run as root
    cluster = Cluster(top / "cluster", {})
    started = cluster.run("start", str(BASE_PORT), check=False)
    try:
        if started.returncode != 0:
            logs = "".join(f"\n--- {p.name}\n{p.read_text()[-1500:]}"
                           for p in (cluster.directory / "log").glob("*.log"))
            pytest.fail(f"the HA cluster did not start: {started.stdout}{started.stderr}{logs}")
        lines = (cluster.directory / "progres.env").read_text().splitlines()
        cluster.env = dict(line.split("=", 1) for line in lines if "=" in line)
        yield cluster
    finally:
        cluster.run("stop", check=False)
        shutil.rmtree(top, ignore_errors=True)


@pytest.fixture
def ha_schemas(ha_cluster: Cluster, tmp_path: Path) -> Iterator[Settings]:
    """Settings on the cluster, with schemas of their own (dropped afterwards)."""
    suffix = uuid.uuid4().hex[:10]
    settings = ha_cluster.settings(tmp_path, postgres_schema=f"ha_{suffix}", views_schema=f"ha_views_{suffix}")
    yield settings
    with postgres_connect(settings, autocommit=True) as connection:
        for schema in (settings.postgres_schema, settings.views_schema):
            connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
