# syntax=docker/dockerfile:1
# progres API and projection worker image (docs/operations.md). Two stages: the build stage makes the wheel and
# installs it with its dependencies in a virtualenv; the runtime stage copies that virtualenv only (no compiler,
# no pip cache, no source tree), runs as an unprivileged user and holds no secret: passwords, tokens and the
# audit keys come from the environment and mounted files at run time.
# The base is pinned to an exact version; replace the tag by its digest (python:…@sha256:…) in your registry.
ARG PYTHON_IMAGE=python:3.12.8-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
# Optional extras installed with progres: otel = OpenTelemetry tracing, off until OTEL_EXPORTER_OTLP_ENDPOINT is set.
ARG PROGRES_EXTRAS=otel
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY . .
RUN python -m venv /opt/progres \
 && /opt/progres/bin/pip install --upgrade "pip>=24" \
 && /opt/progres/bin/pip wheel --no-deps --wheel-dir /tmp/wheels . \
 && /opt/progres/bin/pip install "$(ls /tmp/wheels/progres-*.whl)${PROGRES_EXTRAS:+[$PROGRES_EXTRAS]}" \
 && /opt/progres/bin/python -m compileall -q /opt/progres/lib

FROM ${PYTHON_IMAGE} AS runtime
RUN groupadd --system --gid 10001 progres \
 && useradd --system --uid 10001 --gid progres --home-dir /var/lib/progres --no-create-home \
      --shell /usr/sbin/nologin progres \
 && mkdir -p /var/lib/progres/data /var/lib/progres/witness /var/lib/progres/audit-keys \
 && chown -R progres:progres /var/lib/progres
COPY --from=build /opt/progres /opt/progres
# No bytecode written at run time (the root filesystem is read-only in Kubernetes); logs unbuffered, as JSON.
ENV PATH=/opt/progres/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PROGRES_ENVIRONMENT=production \
    PROGRES_STORE=postgres \
    PROGRES_HOST=0.0.0.0 \
    PROGRES_PORT=8000 \
    PROGRES_DATA_DIR=/var/lib/progres/data \
    PROGRES_AUDIT_WITNESS_DIR=/var/lib/progres/witness \
    PROGRES_LOG_FORMAT=json
WORKDIR /var/lib/progres
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PROGRES_PORT', '8000'), timeout=2)"]
ENTRYPOINT ["progres"]
CMD ["serve"]
