#!/usr/bin/env bash
# make replica: a PostgreSQL streaming replica of the project's server (PGHOST:PGPORT) on
# 127.0.0.1:REPLICA_PORT (5433), then Odoo (tools/run.sh) reading on it: --db_replica_host/port.
#   tools/replica.sh start   the replica only (idempotent; what tests_live/test_replica.py runs)
#   tools/replica.sh stop    stop it; the primary then no longer waits for it
#   tools/replica.sh clean   stop it and remove its data directory
# A pg_basebackup made once, then streaming. The primary names it its synchronous standby, its
# default synchronous_commit=local: only Odoo's sessions (PGOPTIONS: remote_apply) wait for the
# replica to apply their commit, so a read right after an action sees it (readme/CONFIGURE.md).
source "$(dirname "$0")/env.sh"
REPLICA_PORT=${REPLICA_PORT:-5433}
REPLICA_NAME=crm_plus_replica
psql_primary() { psql -d postgres -X -qtAc "$1"; }
psql_replica() { psql -p "$REPLICA_PORT" -d postgres -X -qtAc "$1" 2>/dev/null; }

setup_replica_env() {
    ensure_postgres
    local major=$(( $(psql_primary "show server_version_num") / 10000 ))
    PGBIN=/usr/lib/postgresql/$major/bin
    [ -x "$PGBIN/pg_ctl" ] || PGBIN=$(dirname "$(command -v pg_ctl || command -v pg_basebackup)")
    # PostgreSQL refuses to run as root: as root, the replica runs as the primary's owner (the
    # postgres user), with its data in that user's home, which it can reach (not /root).
    OWNER=$(id -un) DATA=$CACHE_DIR/replica-$major
    if [ "$(id -u)" = 0 ]; then
        OWNER=$(stat -c %U "$(psql_primary "show data_directory")")
        DATA=$(getent passwd "$OWNER" | cut -d: -f6)/crm_plus_replica-$major
    fi
}
as_owner() { if [ "$OWNER" = "$(id -un)" ]; then "$@"; else runuser -u "$OWNER" -- "$@"; fi; }
running() { as_owner "$PGBIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }
streaming() { [ "$(psql_replica "select status from pg_stat_wal_receiver")" = streaming ]; }

# The primary: a replication line in pg_hba.conf, the replica as its synchronous standby.
configure_primary() {
    if [ "$(psql_primary "select count(*) from pg_hba_file_rules where 'replication' = any(database)")" = 0 ]; then
        log "pg_hba.conf: allowing replication connections from 127.0.0.1"
        echo "host replication all 127.0.0.1/32 trust  # crm_plus make replica" >> "$(psql_primary "show hba_file")"
        psql_primary "select pg_reload_conf()" >/dev/null
    fi
    set_primary synchronous_commit local
    set_primary synchronous_standby_names "$REPLICA_NAME"
}
set_primary() {
    [ "$(psql_primary "show $1")" = "$2" ] && return
    psql_primary "alter system set $1 = '$2'" && psql_primary "select pg_reload_conf()" >/dev/null
}

basebackup() {
    log "pg_basebackup of $PGHOST:$PGPORT into $DATA (once)"
    as_owner rm -rf "$DATA"
    as_owner mkdir -m 700 -p "$DATA"
    as_owner "$PGBIN/pg_basebackup" -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -D "$DATA" -X stream --checkpoint=fast
    # The primary's ALTER SYSTEM settings are not the replica's; its own configuration files.
    local settings=""
    for name in max_connections max_worker_processes max_wal_senders max_prepared_transactions max_locks_per_transaction; do
        settings+="$name = $(psql_primary "show $name")"$'\n'  # hot standby: at least the primary's
    done
    as_owner tee "$DATA/postgresql.conf" >/dev/null <<CONF
port = $REPLICA_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DATA'
primary_conninfo = 'host=$PGHOST port=$PGPORT user=$PGUSER application_name=$REPLICA_NAME'
hot_standby = on
hot_standby_feedback = on
shared_buffers = 64MB
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
log_line_prefix = '%m [%p] %u@%d %a '
$settings
CONF
    printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' | as_owner tee "$DATA/pg_hba.conf" >/dev/null
    as_owner sh -c ": > '$DATA/postgresql.auto.conf'"
    as_owner touch "$DATA/pg_ident.conf" "$DATA/standby.signal" "$DATA/.crm_plus_complete"
}

start_replica() {
    running || as_owner "$PGBIN/pg_ctl" -D "$DATA" -l "$DATA/replica.log" -w -t 60 start >/dev/null
    for _ in $(seq 40); do streaming && return 0; sleep 0.5; done
    return 1
}

start() {
    setup_replica_env
    configure_primary
    [ -f "$DATA/.crm_plus_complete" ] || basebackup
    if ! start_replica; then
        # Stopped too long: the primary recycled the WAL it needs. A new base backup.
        log "the replica does not stream (log: $DATA/replica.log): a new base backup"
        as_owner "$PGBIN/pg_ctl" -D "$DATA" -m fast stop >/dev/null 2>&1 || true
        basebackup
        start_replica || { tail -20 "$DATA/replica.log" >&2; exit 1; }
    fi
    (flock -n 9 && reset_delay) 9>"$CACHE_DIR/replica-delay.lock" || true
    log "replica of $PGHOST:$PGPORT streaming on 127.0.0.1:$REPLICA_PORT (data: $DATA)"
}

# A test killed while it held the replica back (tests_live/test_replica.py) leaves no delay.
reset_delay() {
    [ "$(psql_replica "show recovery_min_apply_delay")" = 0 ] && return
    psql_replica "alter system reset recovery_min_apply_delay" && psql_replica "select pg_reload_conf()" >/dev/null
}

stop() {
    setup_replica_env
    # No synchronous standby any more: no session waits for a replica that is gone.
    set_primary synchronous_standby_names ""
    if running; then as_owner "$PGBIN/pg_ctl" -D "$DATA" -m fast stop >/dev/null; log "replica stopped"; fi
}

case ${1:-run} in
    start) start ;;
    stop) stop ;;
    clean) stop; as_owner rm -rf "$DATA"; log "removed $DATA" ;;
    run)
        start
        # Each commit of Odoo returns once the replica has applied it (see the header).
        export PGOPTIONS="-c synchronous_commit=remote_apply"
        exec bash "$REPO_DIR/tools/run.sh" --db_replica_host=127.0.0.1 --db_replica_port="$REPLICA_PORT" ;;
    *) echo "usage: $0 [start|stop|clean]" >&2; exit 2 ;;
esac
