#!/usr/bin/env bash
# A highly available PostgreSQL on one machine, for tests and as a reference of the settings (docs/operations-ha.md):
# a 3-member etcd cluster and two PostgreSQL nodes managed by Patroni, with synchronous replication, WAL archived
# by pgBackRest, everything on loopback ports and under one directory.
#
#   deploy/ha/cluster.sh start DIR [BASE_PORT]   starts it (BASE_PORT defaults to 25000), waits for a leader and a
#                                                 synchronous standby, creates the role/database progres
#   deploy/ha/cluster.sh stop DIR                stops Patroni (which stops PostgreSQL cleanly), then etcd
#   deploy/ha/cluster.sh status DIR              the members as Patroni sees them (patronictl list)
#
# Ports from BASE_PORT (B): etcd clients B+1, B+3, B+5 (peers B+2, B+4, B+6); PostgreSQL B+10, B+11; Patroni REST
# B+20, B+21. The settings of `progres` for this cluster are written to DIR/progres.env.
# As root, the processes run as the postgres user (PostgreSQL refuses root): DIR must be reachable by it.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
action=${1:?usage: cluster.sh start|stop|status DIR [BASE_PORT]}
DIR=${2:?usage: cluster.sh start|stop|status DIR [BASE_PORT]}
BASE=${3:-25000}
[ -f "$DIR/base" ] && [ "$action" != start ] && BASE=$(cat "$DIR/base")
SCOPE=progres
PASSWORD=${PROGRES_POSTGRES_PASSWORD:-progres}
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
# Failover timing (docs/operations-ha.md): the leader key lives `ttl` seconds, Patroni loops every `loop_wait`,
# gives up on etcd/PostgreSQL calls after `retry_timeout`; loop_wait + 2 * retry_timeout <= ttl.
TTL=${PATRONI_TTL:-8}
LOOP_WAIT=${PATRONI_LOOP_WAIT:-1}
RETRY_TIMEOUT=${PATRONI_RETRY_TIMEOUT:-3}

if [ "$(id -u)" = 0 ]; then as_owner=(runuser -u postgres --); owner=postgres; else as_owner=(); owner=$(id -un); fi
etcd_client() { echo "127.0.0.1:$((BASE + 1 + 2 * $1))"; }
etcd_peer() { echo "127.0.0.1:$((BASE + 2 + 2 * $1))"; }
pg_port() { echo $((BASE + 10 + $1)); }
rest_port() { echo $((BASE + 20 + $1)); }
etcd_hosts() { echo "$(etcd_client 0),$(etcd_client 1),$(etcd_client 2)"; }

spawn() {  # spawn NAME COMMAND...: in its own session, output to DIR/log/NAME.log, pid in DIR/run/NAME.pid
  local name=$1; shift
  # shellcheck disable=SC2016
  "${as_owner[@]}" setsid bash -c 'name=$1; dir=$2; shift 2; "$@" >"$dir/log/$name.log" 2>&1 & echo $! >"$dir/run/$name.pid"' \
    spawn "$name" "$DIR" "$@"
}

patroni_config() {  # patroni_config N: the YAML of node N
  local n=$1 other=$((1 - $1))
  cat <<YAML
scope: $SCOPE
name: node$n
log:
  level: INFO
restapi:
  listen: 127.0.0.1:$(rest_port "$n")
  connect_address: 127.0.0.1:$(rest_port "$n")
etcd3:
  hosts: $(etcd_hosts)
bootstrap:
  dcs:
    ttl: $TTL
    loop_wait: $LOOP_WAIT
    retry_timeout: $RETRY_TIMEOUT
    maximum_lag_on_failover: 1048576
    # A crashed primary is not restarted in place: the synchronous standby is promoted at once.
    primary_start_timeout: 0
    # A commit returns once the standby has it: nothing acknowledged is lost when the primary dies.
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_level: replica
        hot_standby: "on"
        wal_log_hints: "on"
        max_wal_senders: 8
        max_replication_slots: 8
        max_connections: 100
        archive_mode: "on"
        archive_timeout: 60
  initdb:
    - encoding: UTF8
    - data-checksums
  pg_hba:
    - local all all trust
    - host replication replicator 127.0.0.1/32 scram-sha-256
    - host all all 127.0.0.1/32 scram-sha-256
postgresql:
  listen: 127.0.0.1:$(pg_port "$n")
  connect_address: 127.0.0.1:$(pg_port "$n")
  data_dir: $DIR/node$n/data
  bin_dir: $PG_BIN
  pgpass: $DIR/node$n/pgpass
  authentication:
    superuser: {username: postgres, password: "$PASSWORD"}
    replication: {username: replicator, password: "$PASSWORD"}
    rewind: {username: rewinder, password: "$PASSWORD"}
  parameters:
    unix_socket_directories: $DIR/node$n
    # Each node pushes its WAL as pg1 (its own data directory): the node that is primary at the time archives.
    archive_command: pgbackrest --config=$DIR/pgbackrest.conf --stanza=$SCOPE --pg1-path=$DIR/node$n/data archive-push %p
  # pgBackRest restores a node from the repository when it cannot stream from the other (e.g. after a long outage).
  create_replica_methods: [basebackup]
  basebackup:
    - checkpoint: fast
tags:
  nofailover: false
  noloadbalance: false
  # node$other is the only other member: it is the synchronous standby.
YAML
}

pgbackrest_config() {
  sed -e "s|@DIR@|$DIR|g" -e "s|@PORT0@|$(pg_port 0)|g" -e "s|@PORT1@|$(pg_port 1)|g" -e "s|@SCOPE@|$SCOPE|g" \
    "$HERE/pgbackrest.conf"
}

rest() { curl -fsS --max-time 2 "http://127.0.0.1:$(rest_port "$1")/$2" 2>/dev/null; }

leader() {  # the node number whose Patroni answers /primary with 200, or nothing
  local n
  for n in 0 1; do rest "$n" primary >/dev/null && { echo "$n"; return 0; }; done
  return 1
}

start() {
  mkdir -p "$DIR"
  [ -e "$DIR/run" ] && ls "$DIR"/run/*.pid >/dev/null 2>&1 && { echo "already started in $DIR (stop it first)" >&2; exit 1; }
  local port busy=()
  for port in $(etcd_client 0) $(etcd_peer 0) $(etcd_client 1) $(etcd_peer 1) $(etcd_client 2) $(etcd_peer 2) \
      $(pg_port 0) $(pg_port 1) $(rest_port 0) $(rest_port 1); do
    ss -Htln "sport = :${port##*:}" | grep -q . && busy+=("${port##*:}")
  done
  [ ${#busy[@]} -eq 0 ] || { echo "ports already in use: ${busy[*]} (another cluster? choose another BASE_PORT)" >&2; exit 1; }
  mkdir -p "$DIR/log" "$DIR/run" "$DIR/pgbackrest/repo" "$DIR/pgbackrest/log" "$DIR/pgbackrest/lock" \
    "$DIR/pgbackrest/spool" "$DIR/node0" "$DIR/node1" "$DIR/etcd0" "$DIR/etcd1" "$DIR/etcd2"
  chmod 700 "$DIR/node0" "$DIR/node1" "$DIR/etcd0" "$DIR/etcd1" "$DIR/etcd2"
  echo "$BASE" >"$DIR/base"
  pgbackrest_config >"$DIR/pgbackrest.conf"
  patroni_config 0 >"$DIR/node0.yml"
  patroni_config 1 >"$DIR/node1.yml"
  [ "$owner" = "$(id -un)" ] || chown -R "$owner" "$DIR"
  # etcd 3.4 runs only on the architectures it supports unless told otherwise (e.g. arm64).
  local arch
  arch=$(dpkg --print-architecture 2>/dev/null || uname -m)
  [ "$arch" = amd64 ] || export ETCD_UNSUPPORTED_ARCH=$arch
  local cluster="" n
  for n in 0 1 2; do cluster+="${cluster:+,}etcd$n=http://$(etcd_peer "$n")"; done
  for n in 0 1 2; do
    spawn "etcd$n" env ${ETCD_UNSUPPORTED_ARCH:+ETCD_UNSUPPORTED_ARCH=$ETCD_UNSUPPORTED_ARCH} etcd --name "etcd$n" \
      --data-dir "$DIR/etcd$n" --listen-client-urls "http://$(etcd_client "$n")" \
      --advertise-client-urls "http://$(etcd_client "$n")" --listen-peer-urls "http://$(etcd_peer "$n")" \
      --initial-advertise-peer-urls "http://$(etcd_peer "$n")" --initial-cluster "$cluster" \
      --initial-cluster-token "$SCOPE-$BASE" --initial-cluster-state new
  done
  for _ in $(seq 1 100); do
    ETCDCTL_API=3 etcdctl --endpoints "$(etcd_hosts)" endpoint health >/dev/null 2>&1 && break
    sleep 0.2
  done
  ETCDCTL_API=3 etcdctl --endpoints "$(etcd_hosts)" endpoint health >/dev/null 2>&1 \
    || { echo "etcd did not become healthy (see $DIR/log/etcd*.log)" >&2; exit 1; }
  spawn node0 patroni "$DIR/node0.yml"
  for _ in $(seq 1 150); do leader >/dev/null && break; sleep 0.2; done
  [ "$(leader)" = 0 ] || { echo "node0 did not become the leader (see $DIR/log/node0.log)" >&2; exit 1; }
  local socket="$DIR/node0" port
  port=$(pg_port 0)
  psql_admin() { "${as_owner[@]}" psql -h "$socket" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtA "$@"; }
  psql_admin -c "CREATE ROLE progres LOGIN PASSWORD '$PASSWORD'" -c "CREATE DATABASE progres OWNER progres"
  "${as_owner[@]}" pgbackrest --config="$DIR/pgbackrest.conf" --stanza=$SCOPE --log-level-console=error stanza-create >/dev/null 2>&1 \
    || "${as_owner[@]}" pgbackrest --config="$DIR/pgbackrest.conf" --stanza=$SCOPE stanza-create
  spawn node1 patroni "$DIR/node1.yml"
  # Ready once node1 streams and is the synchronous standby.
  for _ in $(seq 1 300); do
    [ "$(psql_admin -c "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'")" = 1 ] && break
    sleep 0.2
  done
  # ... and once Patroni has recorded it as such in etcd (only that standby may be promoted).
  for _ in $(seq 1 100); do rest 1 sync >/dev/null && break; sleep 0.2; done
  rest 1 sync >/dev/null || { echo "node1 did not become the synchronous standby (see $DIR/log/node1.log)" >&2; exit 1; }
  # WAL archiving works (pgBackRest switches to a new segment and waits for it in the repository).
  "${as_owner[@]}" pgbackrest --config="$DIR/pgbackrest.conf" --stanza=$SCOPE check >/dev/null \
    || { echo "pgBackRest check failed: WAL archiving does not work (see $DIR/pgbackrest/log)" >&2; exit 1; }
  cat >"$DIR/progres.env" <<ENV
PROGRES_STORE=postgres
PROGRES_POSTGRES_HOST=127.0.0.1,127.0.0.1
PROGRES_POSTGRES_PORT=$(pg_port 0),$(pg_port 1)
PROGRES_POSTGRES_TARGET_SESSION_ATTRS=read-write
PROGRES_POSTGRES_USER=progres
PROGRES_POSTGRES_PASSWORD=$PASSWORD
PROGRES_POSTGRES_DBNAME=progres
ENV
  echo "HA cluster ready in $DIR: leader node0 (port $(pg_port 0)), synchronous standby node1 (port $(pg_port 1))."
}

stop_pidfile() {  # stop_pidfile NAME SIGNAL SECONDS: signals the process of DIR/run/NAME.pid, waits, then kills it
  local file="$DIR/run/$1.pid" pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill "-$2" "$pid" 2>/dev/null || true
    for _ in $(seq 1 $(($3 * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$file"
}

stop() {
  [ -d "$DIR/run" ] || return 0
  # Patroni stops PostgreSQL (fast shutdown) when it receives SIGTERM; standby first, so the leader does not wait.
  local first=1 second=0
  [ "$(leader)" = 1 ] && { first=0; second=1; }
  stop_pidfile "node$first" TERM 30
  stop_pidfile "node$second" TERM 30
  local n postmaster
  for n in 0 1; do  # a PostgreSQL left behind (Patroni killed) is stopped too
    postmaster="$DIR/node$n/data/postmaster.pid"
    if [ -f "$postmaster" ] && kill -0 "$(head -1 "$postmaster")" 2>/dev/null; then
      "${as_owner[@]}" "$PG_BIN/pg_ctl" -D "$DIR/node$n/data" -m immediate stop >/dev/null 2>&1 || true
    fi
  done
  for n in 0 1 2; do stop_pidfile "etcd$n" TERM 10 & done
  wait
  echo "HA cluster in $DIR stopped."
}

case $action in
  start) start ;;
  stop) stop ;;
  status) "${as_owner[@]}" patronictl -c "$DIR/node0.yml" list ;;
  leader) leader ;;
  *) echo "usage: cluster.sh start|stop|status|leader DIR [BASE_PORT]" >&2; exit 2 ;;
esac
