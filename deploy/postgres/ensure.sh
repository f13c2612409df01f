#!/usr/bin/env bash
# Makes a local PostgreSQL answer on 127.0.0.1:5432 with role/database `progres` (password `progres`):
# installs the Debian package when absent (needs root), creates and starts a cluster, creates the role.
set -euo pipefail
ROLE=${PROGRES_POSTGRES_USER:-progres}
PASSWORD=${PROGRES_POSTGRES_PASSWORD:-progres}
DBNAME=${PROGRES_POSTGRES_DBNAME:-progres}
HOST=${PROGRES_POSTGRES_HOST:-127.0.0.1}
PORT=${PROGRES_POSTGRES_PORT:-5432}

answers() { PGPASSWORD=$PASSWORD PGCONNECT_TIMEOUT=3 psql -h "$HOST" -p "$PORT" -U "$ROLE" -d "$DBNAME" -tAc 'select 1' >/dev/null 2>&1; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo "$@"; else return 1; fi; }
# The fault tests create a throw-away database (they terminate every backend of it): the role may create one.
can_create_databases() { [ "$(PGPASSWORD=$PASSWORD psql -h "$HOST" -p "$PORT" -U "$ROLE" -d "$DBNAME" -tAc \
  "select rolcreatedb from pg_roles where rolname = current_user" 2>/dev/null)" = t ]; }
grant_createdb() { can_create_databases || as_root runuser -u postgres -- psql -qtAc "alter role \"$ROLE\" createdb" \
  >/dev/null 2>&1 || echo "note: role $ROLE cannot create databases; the fault tests will be skipped" >&2; }

if command -v psql >/dev/null 2>&1 && answers; then
  grant_createdb
  echo "PostgreSQL ready at $HOST:$PORT (database $DBNAME)."
  exit 0
fi

if ! command -v pg_lsclusters >/dev/null 2>&1; then
  echo "Installing PostgreSQL from Debian packages…"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq || { echo "cannot run apt-get (not root?)" >&2; exit 1; }
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

version=$(ls /usr/lib/postgresql | sort -V | tail -1)
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$version main$"; then
  as_root pg_createcluster "$version" main >/dev/null
fi
if ! pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $4}' | grep -q online; then
  as_root pg_ctlcluster "$version" main start
fi

psql_admin() { as_root runuser -u postgres -- psql -v ON_ERROR_STOP=1 -qtA "$@"; }
for _ in $(seq 1 30); do psql_admin -c 'select 1' >/dev/null 2>&1 && break; sleep 1; done
if [ "$(psql_admin -c "select 1 from pg_roles where rolname='$ROLE'")" != 1 ]; then
  psql_admin -c "create role \"$ROLE\" login createdb password '$PASSWORD'"
fi
if [ "$(psql_admin -c "select 1 from pg_database where datname='$DBNAME'")" != 1 ]; then
  psql_admin -c "create database \"$DBNAME\" owner \"$ROLE\""
fi
grant_createdb
answers || { echo "PostgreSQL started but $ROLE@$HOST:$PORT/$DBNAME does not answer" >&2; exit 1; }
echo "PostgreSQL ready at $HOST:$PORT (database $DBNAME)."
