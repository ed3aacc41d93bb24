#!/usr/bin/env bash
# make load: sales users (OdooLocust, tools/locustfile.py) on LOAD_SERVERS (2) `odoo-bin` servers
# sharing one database and filestore, each with LOAD_WORKERS (2) HTTP workers and a cron worker,
# crm_plus beside Odoo CRM, on LOAD_N funnel contacts (100,000) and as many opportunities. Each
# level of LOAD_USERS (10 25 50) runs LOAD_DURATION seconds (60) per side, after a warm-up. With
# LOAD_REPLICA=1 the servers then restart reading on a streaming replica (tools/replica.sh,
# --db_replica_host) and the LOAD_REPLICA_USERS (25) level runs again. Bulk closes run as
# background jobs and crm_plus's crons every few minutes, on both servers' cron workers. Fails
# when a request failed, a server logged an error, a job batch or cron run happened twice or not
# at all, or an invariant broke (tools/load_data.py --check). Locust's CSV and HTML reports, the
# logs and report.md go to .build/load-<series>; LOAD_DOC=1 writes doc/benchmarks-scale.md.
# LOAD_KEEP=1 keeps the generated data set as a template database for the next runs.
source "$(dirname "$0")/env.sh"
source "$(dirname "$0")/tool_venv.sh"
setup_all
LOAD_N=${LOAD_N:-100000}
read -ra LEVELS <<< "${LOAD_USERS:-10 25 50}"
LOAD_DURATION=${LOAD_DURATION:-60}
LOAD_SERVERS=${LOAD_SERVERS:-2}
tool_venv load odoolocust==2.0.0 odoo-client-lib==2.0.1 locust==2.47.0 gevent==26.9.0 \
    names==0.3.0 httpx==0.28.1
OUT=$BUILD_DIR/load-$ODOO_SERIES
DB=crm_plus_load_$$
SEED=crm_plus_load_seed_${ODOO_SERIES%.0}_$LOAD_N
rm -rf "$OUT" && mkdir -p "$OUT"
PIDS=()
stop_servers() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null && wait "$pid" || true; done
    PIDS=()
}
trap 'stop_servers; drop_db "$DB"' EXIT

if db_exists "$SEED" && [ -f "$CACHE_DIR/$SEED.json" ]; then
    log "cloning the data set of $SEED (LOAD_KEEP=1 made it)"
    createdb -T "$SEED" "$DB"
else
    build_db=$DB
    [ "${LOAD_KEEP:-0}" = 1 ] && build_db=$SEED
    clone_template "$build_db"
    log "installing crm_plus and crm in $build_db"
    "$PY" "$ODOO_SRC/odoo-bin" -c "$ODOO_CONF" -d "$build_db" -i crm_plus,crm \
        --stop-after-init --log-level=warn --no-http
    "$PY" "$REPO_DIR/tools/load_data.py" --config "$ODOO_CONF" --database "$build_db" --build \
        --n "$LOAD_N" --runs 16 --out "$CACHE_DIR/$SEED.json"
    [ "$build_db" = "$DB" ] || createdb -T "$SEED" "$DB"
fi
cp "$CACHE_DIR/$SEED.json" "$OUT/data.json"
"$PY" "$REPO_DIR/tools/load_data.py" --config "$ODOO_CONF" --database "$DB" --prepare

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])'; }
PORTS=()
for i in $(seq "$LOAD_SERVERS"); do PORTS+=("$(free_port)"); done
# start_servers ARG...: the servers, each with its own ports and log, one cron worker each.
start_servers() {
    for i in $(seq "$LOAD_SERVERS"); do
        "$PY" "$ODOO_SRC/odoo-bin" -c "$ODOO_CONF" -d "$DB" --db-filter="^$DB\$" \
            --workers "${LOAD_WORKERS:-2}" --max-cron-threads 1 --http-interface 127.0.0.1 \
            --http-port "${PORTS[i - 1]}" --gevent-port "$(free_port)" --log-level=info \
            --logfile "$OUT/server-$i.log" "$@" &
        PIDS+=($!)
    done
    for port in "${PORTS[@]}"; do
        for _ in $(seq 120); do curl -sf -o /dev/null "http://127.0.0.1:$port/web/login" && break; sleep 1; done
        curl -sf -o /dev/null "http://127.0.0.1:$port/web/login" || { log "no server on $port"; exit 1; }
    done
}

# run_locust SIDE USERS SECONDS NAME [ENV...]: one run on all the servers, with its own records.
# Users arrive 5 a second (all at once would overflow the listen backlog of Odoo's prefork server,
# 8 per worker); Locust's statistics start once they are all there (--reset-stats).
run=0 failed=0
run_locust() {
    python3 "$REPO_DIR/tools/load_report.py" snap "$DB" > "$OUT/$4-before.json"
    env LOAD_DATA="$OUT/data.json" LOAD_SIDE="$1" LOAD_RUN=$run LOAD_PORTS="${PORTS[*]}" \
        LOAD_DB="$DB" "${@:5}" "$TOOL_VENV/bin/locust" -f "$REPO_DIR/tools/locustfile.py" \
        --headless --users "$2" --spawn-rate 5 --run-time "$(($3 + $2 / 5))s" --reset-stats \
        --stop-timeout 30 --csv "$OUT/$4" --html "$OUT/$4.html" --only-summary \
        --loglevel WARNING > "$OUT/$4.log" 2>&1 || [[ $4 == warmup* ]] || failed=1
    python3 "$REPO_DIR/tools/load_report.py" snap "$DB" > "$OUT/$4-after.json"
    run=$((run + 1))
}
runs() {  # runs VARIANT LEVEL...: both sides at each level, after an unrecorded warm-up.
    local variant=$1 users side
    shift
    env LOAD_DATA="$OUT/data.json" LOAD_PORTS="${PORTS[*]}" LOAD_DB="$DB" \
        "$TOOL_VENV/bin/python" "$REPO_DIR/tools/locustfile.py"
    run_locust plus 5 15 "warmup-plus"
    run_locust crm 5 15 "warmup-crm"
    for users in "$@"; do
        for side in plus crm; do
            log "$variant, $side: $users users, ${LOAD_DURATION}s"
            run_locust "$side" "$users" "$LOAD_DURATION" "$variant-$side-$users"
        done
    done
}
# The background jobs left when the users stop: done before the servers stop (5 minutes at most).
drain_jobs() {
    for _ in $(seq 300); do
        [ "$(psql -d "$DB" -tAc "select count(*) from crm_plus_funnel_job where state in ('queued', 'running')")" = 0 ] && return
        sleep 1
    done
}

log "$LOAD_SERVERS servers on ports ${PORTS[*]}, one database ($DB)"
start_servers
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
runs primary "${LEVELS[@]}"
if [ "${LOAD_REPLICA:-0}" = 1 ]; then
    drain_jobs && stop_servers
    bash "$REPO_DIR/tools/replica.sh" start
    export LOAD_REPLICA_PORT=${REPLICA_PORT:-5433}
    PGOPTIONS="-c synchronous_commit=remote_apply" start_servers --db_replica_host=127.0.0.1 \
        --db_replica_port="$LOAD_REPLICA_PORT"
    runs replica "${LOAD_REPLICA_USERS:-25}"
fi
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
drain_jobs
stop_servers
"$PY" "$REPO_DIR/tools/load_data.py" --config "$ODOO_CONF" --database "$DB" --check "$OUT"/server-*.log \
    2>&1 | tee "$OUT/check.log" || failed=1
python3 "$REPO_DIR/tools/load_report.py" table "$OUT" "$LOAD_N" "$LOAD_SERVERS" "$load_start" \
    "$load_end" "$(grep -h 'jobs,' "$OUT/check.log" | sed 's/^.*\] //')" > "$OUT/report.md"
cat "$OUT/report.md"
exit "$failed"
