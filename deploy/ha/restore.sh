#!/usr/bin/env bash
# Point-in-time restore of the cluster of deploy/ha/cluster.sh into a NEW instance (docs/operations-ha.md): the
# cluster keeps running; the restored copy is checked (progres audit verify) before anything is put in service.
#
#   deploy/ha/restore.sh start CLUSTER_DIR RESTORE_DIR PORT TARGET_OPTION...
#       e.g. ... start /srv/ha /srv/restore 5499 --type=lsn --target=0/3A0001C8
#            ... start /srv/ha /srv/restore 5499 --type=time --target="2026-11-29 10:15:00+00"
#       restores the last backup before the target, replays the WAL archive up to it, promotes, and waits until
#       the instance accepts writes on 127.0.0.1:PORT
#   deploy/ha/restore.sh stop RESTORE_DIR
set -euo pipefail
action=${1:?usage: restore.sh start CLUSTER_DIR RESTORE_DIR PORT TARGET_OPTION... | stop RESTORE_DIR}
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)}
if [ "$(id -u)" = 0 ]; then as_owner=(runuser -u postgres --); owner=postgres; else as_owner=(); owner=$(id -un); fi

case $action in
  start)
    CLUSTER=${2:?cluster directory}; TARGET=${3:?restore directory}; PORT=${4:?port}
    shift 4
    [ -e "$TARGET" ] && [ -n "$(ls -A "$TARGET" 2>/dev/null)" ] && { echo "$TARGET is not empty" >&2; exit 1; }
    mkdir -p "$TARGET"
    chmod 700 "$TARGET"
    [ "$owner" = "$(id -un)" ] || chown "$owner" "$TARGET"
    "${as_owner[@]}" pgbackrest --config="$CLUSTER/pgbackrest.conf" --stanza=progres --pg1-path="$TARGET" \
      --log-level-console=error restore --target-action=promote "$@"
    # The configuration restored is the primary's: its own port and socket, no archiving into the cluster's
    # repository, no synchronous standby to wait for, its own pg_hba.conf.
    "${as_owner[@]}" "$PG_BIN/pg_ctl" -D "$TARGET" -l "$TARGET/server.log" -w -t 300 -o "-p $PORT -k $TARGET \
-c listen_addresses=127.0.0.1 -c archive_mode=off -c synchronous_standby_names= -c hba_file=$TARGET/pg_hba.conf \
-c ident_file=$TARGET/pg_ident.conf" start >/dev/null
    for _ in $(seq 1 600); do
      [ "$("${as_owner[@]}" psql -h "$TARGET" -p "$PORT" -U postgres -d postgres -tAc 'SELECT pg_is_in_recovery()' \
        2>/dev/null)" = f ] && { echo "Restored instance ready on 127.0.0.1:$PORT ($TARGET)."; exit 0; }
      sleep 0.2
    done
    echo "the restored instance did not leave recovery (see $TARGET/server.log)" >&2
    exit 1
    ;;
  stop)
    TARGET=${2:?restore directory}
    [ -f "$TARGET/postmaster.pid" ] && "${as_owner[@]}" "$PG_BIN/pg_ctl" -D "$TARGET" -m fast -w stop >/dev/null
    echo "Restored instance in $TARGET stopped."
    ;;
  *) echo "usage: restore.sh start CLUSTER_DIR RESTORE_DIR PORT TARGET_OPTION... | stop RESTORE_DIR" >&2; exit 2 ;;
esac
