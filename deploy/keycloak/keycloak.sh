#!/usr/bin/env bash
# A real Keycloak for development and tests: fetched from Maven Central into a cache outside git, checked
# against its pinned SHA-256, started in dev mode on loopback with health enabled, stopped by process id.
#   deploy/keycloak/keycloak.sh start   # prints the start-up time once ready
#   deploy/keycloak/keycloak.sh stop
# Environment: KEYCLOAK_CACHE (default ~/.cache/progres/keycloak), KEYCLOAK_PORT (8180),
# KEYCLOAK_MANAGEMENT_PORT (9000), KEYCLOAK_ADMIN / KEYCLOAK_ADMIN_PASSWORD (admin / admin),
# KEYCLOAK_IMPORT (a directory of realm files to import at start), KEYCLOAK_FRESH=1 (start from empty data).
set -euo pipefail
VERSION=26.5.6
SHA256=fa3dd5df90b9ac006712c2f0991be4e8a6cb30ac538e0439ce2f45fc40f4c692
CACHE=${KEYCLOAK_CACHE:-$HOME/.cache/progres/keycloak}
PORT=${KEYCLOAK_PORT:-8180}
MANAGEMENT_PORT=${KEYCLOAK_MANAGEMENT_PORT:-9000}
HOME_DIR=$CACHE/keycloak-$VERSION
ARCHIVE=$CACHE/keycloak-quarkus-dist-$VERSION.tar.gz
PIDFILE=$CACHE/keycloak.pid

fetch() {
  mkdir -p "$CACHE"
  if [ ! -f "$ARCHIVE" ]; then
    command -v mvn >/dev/null || { echo "Maven (mvn) is needed to fetch Keycloak from Maven Central" >&2; exit 1; }
    mvn -q dependency:copy -Dartifact=org.keycloak:keycloak-quarkus-dist:$VERSION:tar.gz -DoutputDirectory="$CACHE"
  fi
  echo "$SHA256  $ARCHIVE" | sha256sum --check --quiet || { echo "checksum mismatch for $ARCHIVE" >&2; rm -f "$ARCHIVE"; exit 1; }
  [ -x "$HOME_DIR/bin/kc.sh" ] || tar xzf "$ARCHIVE" -C "$CACHE"
}

start() {
  fetch
  if [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then echo "Keycloak already running"; return; fi
  if [ "${KEYCLOAK_FRESH:-0}" = 1 ]; then
    rm -rf "$HOME_DIR/data"  # a new, empty server: the realm files are imported again
  fi
  if [ -n "${KEYCLOAK_IMPORT:-}" ]; then
    mkdir -p "$HOME_DIR/data/import" && cp "$KEYCLOAK_IMPORT"/*.json "$HOME_DIR/data/import/"
  fi
  started=$(date +%s.%N)
  KC_BOOTSTRAP_ADMIN_USERNAME=${KEYCLOAK_ADMIN:-admin} KC_BOOTSTRAP_ADMIN_PASSWORD=${KEYCLOAK_ADMIN_PASSWORD:-admin} \
    nohup "$HOME_DIR/bin/kc.sh" start-dev --import-realm --http-host=127.0.0.1 --http-port="$PORT" \
    --http-management-port="$MANAGEMENT_PORT" --health-enabled=true > "$CACHE/keycloak.log" 2>&1 &
  echo $! > "$PIDFILE"
  for _ in $(seq 1 180); do
    if curl -sf "http://127.0.0.1:$MANAGEMENT_PORT/health/ready" >/dev/null 2>&1; then
      message="Keycloak $VERSION ready on http://127.0.0.1:$PORT after $(python3 -c "import time; print(round(time.time() - $started, 1))") s"
      echo "$message"
      echo "$(date -u +%FT%TZ) $message" >> "$CACHE/startup.log"
      return
    fi
    kill -0 "$(cat "$PIDFILE")" 2>/dev/null || { tail -20 "$CACHE/keycloak.log" >&2; exit 1; }
    sleep 1
  done
  echo "Keycloak did not become ready in 180 s (log: $CACHE/keycloak.log)" >&2
  exit 1
}

stop() {
  [ -f "$PIDFILE" ] || return 0
  pid=$(cat "$PIDFILE")
  # kc.sh starts java as a child: stop the whole group.
  pkill -TERM -P "$pid" 2>/dev/null || true
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
  rm -f "$PIDFILE"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  fetch) fetch ;;
  *) echo "usage: $0 start|stop|fetch" >&2; exit 2 ;;
esac
