"""The bounded parts of observability (services/observability.py): request ids, operation labels, who reads /metrics."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from progres.services.observability import OperationNames, accepted_request_id, metrics_access, tracing_requested
from progres.services.settings import Settings


@pytest.mark.parametrize("given", ["abc-123", "a" * 64, "01HZX.req:7_b", " padded "])
def test_plain_short_request_ids_are_kept(given):
    assert accepted_request_id(given) == given.strip()


@pytest.mark.parametrize("given", [None, "", "a" * 65, "with space", "new\nline", "é", "<script>", "a;b"])
def test_other_request_ids_are_replaced(given):
    assert accepted_request_id(given) is None


def test_operation_labels_are_bounded():
    names = OperationNames(2)
    assert names.label("First", "query") == "First"
    assert names.label(None, "query") == "anonymous"
    assert names.label("Anything", None) == "unknown"
    assert names.label("Second", "mutation") == "Second"
    assert names.label("Third", "query") == "other"
    assert names.label("First", "query") == "First"  # already known names stay
    assert names.label("x" * 65, "query") == "other"
    assert names.label("bad-name", "query") == "other"
    assert names.seen == {"First", "Second"}


def test_who_reads_the_metrics():
    development = Settings(environment="development")
    production = Settings(environment="production")
    assert metrics_access(development, None) == 200
    assert metrics_access(production, None) == 404  # not served without a token
    assert metrics_access(production.model_copy(update={"metrics_public": True}), None) == 200
    tokened = production.model_copy(update={"metrics_token": SecretStr("s3cret-token")})
    assert metrics_access(tokened, "Bearer s3cret-token") == 200
    assert metrics_access(tokened, "bearer s3cret-token") == 200
    assert metrics_access(tokened, "Bearer wrong") == 401
    assert metrics_access(tokened, None) == 401
    assert metrics_access(tokened, "Basic s3cret-token") == 401
    assert metrics_access(development.model_copy(update={"metrics_token": SecretStr("t")}), None) == 401


def test_tracing_only_with_the_standard_variables():
    assert not tracing_requested({})
    assert tracing_requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert tracing_requested({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"})
    assert not tracing_requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_SDK_DISABLED": "true"})
    assert not tracing_requested({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_TRACES_EXPORTER": "none"})
