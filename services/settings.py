"""The one place where configuration is read: environment variables prefixed PROGRES_ (or a .env file)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from psycopg.conninfo import make_conninfo
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from progres.services.cors import parse_origins


class Settings(BaseSettings):
    """progres settings; every field can be set as PROGRES_<FIELD> (e.g. PROGRES_STORE=postgres)."""

    model_config = SettingsConfigDict(env_prefix="PROGRES_", env_file=".env", extra="ignore")

    environment: Literal["development", "production"] = Field(
        "development", description="production: no GraphiQL, no introspection, no development identity header"
    )
    host: str = Field("127.0.0.1", description="address `progres serve` listens on")
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1, description="uvicorn worker processes")
    graphql_max_depth: int = Field(12, ge=2)
    graphql_max_tokens: int = Field(4000, ge=100)
    graphql_max_aliases: int = Field(20, ge=1)
    graphql_max_fields: int = Field(
        1000, ge=10, description="fields of a query once its fragments are expanded (each fragment costed once)")
    max_body_bytes: int = Field(1_048_576, ge=1024, description="largest request body (HTTP) or message (WebSocket)")
    max_json_depth: int = Field(32, ge=4, description="deepest nesting of a request's JSON body")
    oidc_issuer: str | None = Field(
        None, description="issuer of the identity provider (Keycloak realm URL); unset: development identity")
    oidc_audience: str = Field("progres-api", description="audience tokens must be meant for")
    oidc_allowed_azp: tuple[str, ...] = Field(("progres-cli", "progres-web"), description="clients allowed to ask")
    oidc_jwks_url: str | None = Field(None, description="where the signing keys are (default: the issuer's certs)")
    oidc_jwks_cooldown_seconds: float = Field(10.0, gt=0, description="least time between two fetches of the keys")
    oidc_leeway_seconds: int = Field(30, ge=0, le=60, description="clock leeway on exp and nbf")
    keycloak_url: str = Field("http://127.0.0.1:8180", description="Keycloak server, for `progres keycloak sync`")
    keycloak_realm: str = "progres"
    keycloak_client_id: str = Field("progres-provisioner", description="service account that provisions")
    keycloak_client_secret: SecretStr = SecretStr("progres-provisioner-dev-secret")
    store: Literal["sqlite", "postgres"] = Field(
        "sqlite", description="sqlite: embedded files in data_dir; postgres: a PostgreSQL server"
    )
    data_dir: Path = Field(Path("progres-data"), description="where the embedded SQLite store lives")
    postgres_host: str = Field(
        "127.0.0.1", description="PostgreSQL host, or hosts separated by commas (libpq multi-host: a Patroni cluster)")
    postgres_port: str = Field("5432", description="port, or one port per host separated by commas")
    postgres_target_session_attrs: Literal["any", "read-write", "primary"] = Field(
        "any", description="read-write with several hosts: connect to the one that accepts writes (the primary)")
    postgres_failover_seconds: float = Field(
        20.0, ge=0, description="how long a command with a command id waits for the database to come back "
                                "(a failover) before it fails; 0: no wait")
    postgres_user: str = "progres"
    postgres_password: SecretStr = SecretStr("progres")
    postgres_dbname: str = "progres"
    postgres_schema: str = Field("public", description="schema of the event store tables")
    postgres_pool_size: int = Field(5, ge=1)
    postgres_max_overflow: int = Field(10, ge=0)
    views_schema: str = Field("progres_views", description="PostgreSQL schema of the read models")
    projection_batch_size: int = Field(500, ge=1, description="facts projected per transaction")
    projection_max_batch_size: int = Field(
        20000, ge=1, description="largest batch a runner takes when far behind (views are recomputed per batch)")
    ready_max_lag: int = Field(
        100, ge=0, description="/ready answers 503 when the read models are more events than this behind the log")
    graphql_response_cache: int = Field(
        2048, ge=0, description="answers of memberView and planBalance kept per process, each valid while the read "
        "models stay at the position it was computed at (graphql/loaders.py); 0: none")
    read_wait_seconds: float = Field(
        5.0, gt=0, le=60, description="longest a read waits for the read models to reach its minPosition")
    follower_max_backoff_seconds: float = Field(
        2.0, gt=0, description="longest pause between two reconnections of a server's projection follower")
    follower: Literal["in-process", "external"] = Field(
        "in-process", description="in-process: each server keeps the read models following the log itself (one "
        "machine); external: `progres projections run --follow` workers do it, servers only read them")
    worker_retry_seconds: float = Field(
        0.5, gt=0, le=30, description="how often a standing-by projection worker tries to become the leader")
    worker_lease_seconds: float = Field(
        10.0, ge=1, le=600, description="a leader's lock session silent this long is ended by PostgreSQL "
        "(idle_session_timeout), so that a paused leader loses its lock; it speaks every third of it")
    snapshot_interval: int = Field(50, ge=2, description="events between snapshots of long-lived aggregates")
    command_retries: int = Field(8, ge=1, description="attempts on optimistic concurrency conflicts")
    audit_keys_dir: Path | None = Field(
        None, description="directory of the audit keys (default: audit-keys/ in data_dir); keep it out of the database")
    audit_key_id: str | None = Field(None, description="key that chains and signs now (default: the newest)")
    audit_witness_dir: Path | None = Field(
        None, description="where signed tree heads are written (default: witness/ in data_dir)")
    audit_log_name: str | None = Field(
        None, description="name of the log in signed heads (default: derived from the store's address); set it "
                          "where the address changes while the log stays (Patroni cluster, restore elsewhere)")
    audit_checkpoint_seconds: float = Field(
        0.0, ge=0, description="the server signs a tree head this often (0: never; `progres audit checkpoint`)")
    log_format: Literal["auto", "json", "console"] = Field(
        "auto", description="server logs: json (one object a line), console (readable, development); "
        "auto: console in development, json in production")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="least level logged")
    metrics_token: SecretStr | None = Field(
        None, description="bearer token /metrics asks for; unset: /metrics is open in development and not served "
        "in production (unless metrics_public)")
    metrics_public: bool = Field(
        False, description="production: serve /metrics without a token (only behind a network that keeps it in)")
    metrics_max_operations: int = Field(
        200, ge=1, description="GraphQL operation names kept as metric labels; later names are counted as `other`")
    console_session_secret: SecretStr | None = Field(
        None, description="key that signs the console's session cookies (default: a key kept in data_dir, made once)")
    console_oidc_client_id: str = Field(
        "progres-web", description="public OpenID Connect client the console signs in with (code flow + PKCE)")
    require_postgres: bool = Field(False, description="tests: fail instead of skipping without PostgreSQL")
    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="origins whose pages may call the API (comma-separated); empty: no CORS headers at all")

    @field_validator("postgres_port", mode="before")
    @classmethod
    def _ports(cls, value: object) -> str:
        ports = [part.strip() for part in str(value).split(",")]
        if not all(part.isdigit() and 1 <= int(part) <= 65535 for part in ports):
            raise ValueError("ports are numbers from 1 to 65535, separated by commas")
        return ",".join(ports)

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> tuple[str, ...]:
        return parse_origins(value)

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "events.sqlite3"

    def eventsourcing_env(self) -> dict[str, str]:
        """The eventsourcing library's configuration, derived from these settings only."""
        if self.store == "sqlite":
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(self.sqlite_path),
                "SQLITE_LOCK_TIMEOUT": "30",
            }
        return {
            # The library's factory, with libpq's target_session_attrs (services/audit_chain.py).
            "PERSISTENCE_MODULE": "progres.services.audit_chain:PostgresFactory",
            "POSTGRES_TARGET_SESSION_ATTRS": self.postgres_target_session_attrs,
            "POSTGRES_HOST": self.postgres_host,
            "POSTGRES_PORT": self.postgres_port,
            "POSTGRES_USER": self.postgres_user,
            "POSTGRES_PASSWORD": self.postgres_password.get_secret_value(),
            "POSTGRES_DBNAME": self.postgres_dbname,
            "POSTGRES_SCHEMA": self.postgres_schema,
            "POSTGRES_POOL_SIZE": str(self.postgres_pool_size),
            "POSTGRES_MAX_OVERFLOW": str(self.postgres_max_overflow),
            "POSTGRES_CONNECT_TIMEOUT": "10",
            # No ping before each use: the library retries a statement that met a dead connection (10 times,
            # 0.2 s apart), where the pool's ping would sleep a growing backoff (1 s, 2 s, 4 s...) per dead one.
            "POSTGRES_PRE_PING": "n",
        }

    @property
    def jwks_url(self) -> str:
        return self.oidc_jwks_url or f"{(self.oidc_issuer or '').rstrip('/')}/protocol/openid-connect/certs"

    def postgres_conninfo(self, **extra: str) -> str:
        """The libpq connection string of these settings (hosts and ports may be lists)."""
        return make_conninfo(
            host=self.postgres_host, port=self.postgres_port, user=self.postgres_user,
            password=self.postgres_password.get_secret_value(), dbname=self.postgres_dbname,
            target_session_attrs=self.postgres_target_session_attrs, **extra)

    def describe_store(self) -> str:
        if self.store == "sqlite":
            return f"SQLite ({self.sqlite_path})"
        return f"PostgreSQL {self.postgres_user}@{self.postgres_host}:{self.postgres_port}/{self.postgres_dbname}"
