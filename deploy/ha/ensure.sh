#!/usr/bin/env bash
# Installs what deploy/ha/cluster.sh needs, from Debian packages when absent (needs root or password-less sudo):
# etcd (server and etcdctl), Patroni (with its psycopg2 and etcd client for Python) and pgBackRest, next to the
# PostgreSQL server binaries that deploy/postgres/ensure.sh installs (curl asks Patroni's REST API who leads; ss
# finds the server process of the failover test).
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=../debian-packages.sh
. ../debian-packages.sh
ensure_debian_packages "etcd, Patroni and pgBackRest" etcd:etcd-server etcdctl:etcd-client patroni:patroni \
  pgbackrest:pgbackrest curl:curl ss:iproute2
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  echo "missing: the PostgreSQL server binaries (deploy/postgres/ensure.sh installs them)" >&2
  exit 1
fi
# PostgreSQL refuses to run as root: as root, the cluster runs as the postgres user of the Debian package.
if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
  echo "missing: the postgres system user (Debian package postgresql-common)" >&2
  exit 1
fi
