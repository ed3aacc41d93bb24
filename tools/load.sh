#!/usr/bin/env bash
# make load: sales users (tools/locustfile.py) on LOAD_SERVERS (2) `odoo-bin --workers 2` with a
# cron worker each, on one database and filestore, crm_plus beside Odoo CRM, LOAD_N (100,000)
# funnel contacts and as many opportunities. Each level of LOAD_USERS (10 25 50) runs
# LOAD_DURATION s (60) per side; LOAD_REPLICA=1 then restarts the servers reading on the
# streaming replica of tools/replica.sh and runs LOAD_REPLICA_USERS (25) again. Fails on a failed
# request, a server error, a job batch or cron run done twice or not at all, a broken invariant
# (tools/load_data.py check). Locust's CSV/HTML reports, the logs and report.md go to
# .build/load-<series>; LOAD_DOC=1 writes doc/benchmarks-scale.md; LOAD_KEEP=1 keeps the data set.
source "$(dirname "$0")/env.sh"
source "$(dirname "$0")/tool_venv.sh"
setup_all
LOAD_N=${LOAD_N:-100000}
LOAD_SERVERS=${LOAD_SERVERS:-2}
tool_venv load odoolocust==2.0.0 odoo-client-lib==2.0.1 locust==2.47.0 gevent==26.9.0 \
    names==0.3.0 httpx==0.28.1
OUT=$BUILD_DIR/load-$ODOO_SERIES DB=crm_plus_load_$$ SEED=crm_plus_load_seed_${ODOO_SERIES%.0}_$LOAD_N
rm -rf "$OUT" && mkdir -p "$OUT"
PIDS=()
stop_servers() { for pid in "${PIDS[@]}"; do kill "$pid" && wait "$pid" || true; done; PIDS=(); }
trap 'stop_servers; drop_db "$DB"' EXIT
data() { "$PY" "$REPO_DIR/tools/load_data.py" "$ODOO_CONF" "$@"; }

if ! db_exists "$SEED" || [ ! -f "$CACHE_DIR/$SEED.json" ]; then
    clone_template "$SEED"
    "$PY" "$ODOO_SRC/odoo-bin" -c "$ODOO_CONF" -d "$SEED" -i crm_plus,crm --stop-after-init \
        --log-level=warn --no-http
    data "$SEED" build "$LOAD_N" "$CACHE_DIR/$SEED.json"
fi
createdb -T "$SEED" "$DB"  # the database and its filestore
cp -r "$CACHE_DIR/filestore/filestore/$SEED" "$CACHE_DIR/filestore/filestore/$DB"
[ "${LOAD_KEEP:-0}" = 1 ] || drop_db "$SEED"
cp "$CACHE_DIR/$SEED.json" "$OUT/data.json"
data "$DB" prepare

port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])'; }
PORTS=()
for i in $(seq "$LOAD_SERVERS"); do PORTS+=("$(port)"); done
# start_servers ARG...: each server its ports, its log, a cron worker without a time limit (at
# start every cron is due: the cron worker runs them in turn, past the 120 s of a request). A
# worker drops a connection whose request is not all there within 2 s: Locust, on the same
# starved cores, can take longer (ODOO_HTTP_SOCKET_TIMEOUT; a proxy buffers them in production).
export ODOO_HTTP_SOCKET_TIMEOUT=30
start_servers() {
    for i in $(seq "$LOAD_SERVERS"); do
        "$PY" "$ODOO_SRC/odoo-bin" -c "$ODOO_CONF" -d "$DB" --db-filter="^$DB\$" --workers 2 \
            --max-cron-threads 1 --limit-time-real-cron 0 --http-port "${PORTS[i - 1]}" \
            --gevent-port "$(port)" --logfile "$OUT/server-$i.log" "$@" &
        PIDS+=($!)
    done
    for port in "${PORTS[@]}"; do
        for _ in $(seq 120); do curl -sf -o /dev/null "localhost:$port/web/login" && break; sleep 1; done
    done
    env LOAD_DATA="$OUT/data.json" LOAD_PORTS="${PORTS[*]}" LOAD_DB="$DB" \
        "$TOOL_VENV/bin/python" "$REPO_DIR/tools/locustfile.py"  # the warm-up (password checks)
}

# run_locust SIDE USERS SECONDS NAME: a run on every server with its own records (LOAD_RUN). Users
# arrive 5 a second (all at once would overflow the listen backlog of Odoo's prefork server);
# the statistics start once they are all there. Warm-ups fill Odoo's caches, unrecorded.
declare -A run=([plus]=0 [crm]=0)
failed=0
run_locust() {
    python3 "$REPO_DIR/tools/load_report.py" snap "$DB" "$OUT" > "$OUT/$4-before.json"
    env LOAD_DATA="$OUT/data.json" LOAD_SIDE="$1" LOAD_RUN=$((run[$1]++)) LOAD_RUNS="$runs_per_side" \
        LOAD_PORTS="${PORTS[*]}" \
        LOAD_DB="$DB" "$TOOL_VENV/bin/locust" -f "$REPO_DIR/tools/locustfile.py" --headless \
        --users "$2" --spawn-rate 5 --run-time "$(($3 + $2 / 5))s" --reset-stats --only-summary \
        --stop-timeout 30 --csv "$OUT/$4" --html "$OUT/$4.html" --loglevel WARNING \
        > "$OUT/$4.log" 2>&1 || [[ $4 == warmup* ]] || failed=1
    python3 "$REPO_DIR/tools/load_report.py" snap "$DB" "$OUT" > "$OUT/$4-after.json"
}
runs() {  # runs VARIANT USERS...
    run_locust plus 5 15 warmup-plus && run_locust crm 5 15 warmup-crm
    for users in "${@:2}"; do
        for side in plus crm; do
            log "$1, $side: $users users"
            run_locust "$side" "$users" "${LOAD_DURATION:-60}" "$1-$side-$users"
        done
    done
}
drain_jobs() {  # the background jobs left when the users stop: 15 minutes at most
    for _ in $(seq 900); do
        [ "$(psql -d "$DB" -tAc "select count(*) from crm_plus_funnel_job where state in ('queued', 'running')")" = 0 ] && return
        sleep 1
    done
}

read -ra levels <<< "${LOAD_USERS:-10 25 50}"
# Each run of a side (its warm-up, its levels, the replica's warm-up and level) advances and
# closes records of its own: refuse up front a level that could use up a sales user's share
# before it ends.
runs_per_side=$((1 + ${#levels[@]})) max_users=$(printf '%s\n' "${levels[@]}" | sort -n | tail -1)
[ "${LOAD_REPLICA:-0}" = 1 ] && runs_per_side=$((runs_per_side + 2)) \
    && max_users=$((max_users > ${LOAD_REPLICA_USERS:-25} ? max_users : ${LOAD_REPLICA_USERS:-25}))
for side in plus crm; do
    env LOAD_DATA="$OUT/data.json" LOAD_SIDE=$side LOAD_RUNS="$runs_per_side" \
        "$TOOL_VENV/bin/python" "$REPO_DIR/tools/locustfile.py" capacity "$max_users" \
        "$((${LOAD_DURATION:-60} + max_users / 5))"
done
log "$LOAD_SERVERS servers on ports ${PORTS[*]}, one database ($DB)"
start_servers
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
runs primary "${levels[@]}"
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
data "$DB" check "$OUT"/server-*.log 2>&1 | tee "$OUT/check.log" || failed=1
checked=$(grep '^\[bench\]' "$OUT/check.log" | cut -c9- | paste -sd ';' - | sed 's/;/; /g')
python3 "$REPO_DIR/tools/load_report.py" table "$OUT" "$LOAD_N" "$LOAD_SERVERS" "$load_start" \
    "$load_end" "$checked" | tee "$OUT/report.md"
exit "$failed"
