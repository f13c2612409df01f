"""Settings of a Patroni cluster: libpq multi-host strings, target_session_attrs, the log's name in heads."""

from __future__ import annotations

import pytest
from psycopg.conninfo import conninfo_to_dict
from pydantic import ValidationError

from progres.services.audit import LogReader
from progres.services.settings import Settings


def test_several_hosts_and_ports_make_one_multi_host_connection_string() -> None:
    settings = Settings(store="postgres", postgres_host="10.0.0.1,10.0.0.2", postgres_port=" 5432, 5433",
                        postgres_target_session_attrs="read-write")
    assert settings.postgres_port == "5432,5433"
    parts = conninfo_to_dict(settings.postgres_conninfo(connect_timeout="3"))
    assert parts["host"] == "10.0.0.1,10.0.0.2"
    assert parts["port"] == "5432,5433"
    assert parts["target_session_attrs"] == "read-write"
    assert parts["connect_timeout"] == "3"
    env = settings.eventsourcing_env()
    assert env["POSTGRES_PORT"] == "5432,5433"
    assert env["POSTGRES_TARGET_SESSION_ATTRS"] == "read-write"


def test_the_library_pool_connects_with_target_session_attrs() -> None:
    from progres.services.audit_chain import PostgresFactory  # noqa: PLC0415

    settings = Settings(store="postgres", postgres_host="127.0.0.1,127.0.0.1", postgres_port="5432,5433",
                        postgres_target_session_attrs="read-write")
    factory = PostgresFactory({**settings.eventsourcing_env(), "CREATE_TABLE": "n"})
    kwargs = factory.datastore.pool.kwargs
    assert kwargs["target_session_attrs"] == "read-write"
    assert kwargs["host"] == "127.0.0.1,127.0.0.1"
    assert kwargs["port"] == "5432,5433"
    factory.close()


@pytest.mark.parametrize("port", ["0", "5432,", "5432;5433", "70000", "abc"])
def test_a_port_list_that_is_not_numbers_is_refused(port: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(postgres_port=port)
    assert raised.value.errors()[0]["loc"] == ("postgres_port",)


def test_heads_name_the_log_by_the_setting_when_given() -> None:
    cluster = Settings(store="postgres", postgres_host="a,b", postgres_port="1,2")
    restored = Settings(store="postgres", postgres_host="c", postgres_port="3")
    assert LogReader(cluster).log_name() != LogReader(restored).log_name()
    named = {"audit_log_name": "progres-region"}
    assert LogReader(cluster.model_copy(update=named)).log_name() == "progres-region"
    assert LogReader(restored.model_copy(update=named)).log_name() == "progres-region"
