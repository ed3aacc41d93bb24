#!/usr/bin/env bash
# make load: sales users on `odoo-bin --workers 2`, crm_plus beside Odoo CRM in the same database
# (OdooLocust, tools/locustfile.py), on LOAD_N funnel contacts (100,000; LOAD_N=10000 for a
# quick run) and as many opportunities. Each level of LOAD_USERS (10 25 50) runs LOAD_DURATION
# seconds (60) per side, after a warm-up of LOAD_WARMUP seconds (15). Then the funnel invariants
# must hold and the server must have logged no error; the table goes to .build/load/report.md
# and, with LOAD_DOC=1, into doc/benchmarks.md.
# Outside make test: building the 100k data set and the runs take a while.
source "$(dirname "$0")/env.sh"
source "$(dirname "$0")/tool_venv.sh"
setup_all
template_db

LOAD_N=${LOAD_N:-100000}
LOAD_USERS=${LOAD_USERS:-10 25 50}
LOAD_DURATION=${LOAD_DURATION:-60}
LOAD_WARMUP=${LOAD_WARMUP:-15}
LOAD_SPAWN_RATE=${LOAD_SPAWN_RATE:-5}
LOAD_SALES_USERS=${LOAD_SALES_USERS:-20}
# OdooLocust and what it runs on, pinned (tools/tool_venv.sh: outside the Odoo virtualenv).
LOAD_PINS=(odoolocust==2.0.0 odoo-client-lib==2.0.1 locust==2.47.0 gevent==26.9.0 names==0.3.0
    httpx==0.28.1)
tool_venv load "${LOAD_PINS[@]}"

OUT=$BUILD_DIR/load
DB=crm_plus_load_$$
mkdir -p "$OUT"
rm -f "$OUT"/*.csv "$OUT"/*.json "$OUT"/*.log "$OUT"/report.md
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" || true; fi
    drop_db "$DB"
}
trap cleanup EXIT
clone_template "$DB"
log "installing crm_plus and crm in $DB"
"$PY" "$ODOO_SRC/odoo-bin" -c "$ODOO_CONF" -d "$DB" -i crm_plus,crm --stop-after-init \
    --log-level=warn --no-http
read -ra levels <<< "$LOAD_USERS"
"$PY" "$REPO_DIR/tools/load_data.py" --config "$ODOO_CONF" --database "$DB" --build \
    --n "$LOAD_N" --users "$LOAD_SALES_USERS" --runs $((2 * ${#levels[@]} + 2)) --out "$OUT/data.json"

PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log "odoo-bin --workers 2 on 127.0.0.1:$PORT"
"$PY" "$ODOO_SRC/odoo-bin" -c "$ODOO_CONF" -d "$DB" --db-filter="^$DB\$" --workers 2 \
    --max-cron-threads 0 --http-interface 127.0.0.1 --http-port "$PORT" \
    --log-level=info --logfile "$OUT/server.log" &
SERVER_PID=$!
for _ in $(seq 120); do
    curl -sf -o /dev/null "http://127.0.0.1:$PORT/web/login" && break
    sleep 1
done
curl -sf -o /dev/null "http://127.0.0.1:$PORT/web/login" || { echo "the server did not start" >&2; exit 1; }

# run_locust SIDE USERS SECONDS NAME: one run, each with its own records to advance and close.
# Users arrive LOAD_SPAWN_RATE a second (all at once would overflow the listen backlog of
# Odoo's prefork server, 8 per worker); the statistics start once they are all there.
run=0
run_locust() {
    # Locust exits 1 when a request failed: the report counts them and fails below.
    LOAD_DATA=$OUT/data.json LOAD_SIDE=$1 LOAD_RUN=$run LOAD_PORT=$PORT LOAD_DB=$DB \
        LOAD_ACTIONS_OUT=$OUT/$4-actions.json \
        "$TOOL_VENV/bin/locust" -f "$REPO_DIR/tools/locustfile.py" --headless \
        --users "$2" --spawn-rate "$LOAD_SPAWN_RATE" --run-time "$(($3 + $2 / LOAD_SPAWN_RATE))s" \
        --reset-stats --stop-timeout 30 --csv "$OUT/$4" --only-summary --loglevel WARNING \
        > "$OUT/$4.log" 2>&1 || true
    run=$((run + 1))
}
# Every sales user's password checked on every worker (tools/load_warm.py), then both sides
# warm the workers (registry, views, caches), unrecorded.
python3 "$REPO_DIR/tools/load_warm.py" "$OUT/data.json" "$PORT" "$DB"
for side in plus crm; do
    log "$side: warm-up, 5 users, ${LOAD_WARMUP}s"
    run_locust "$side" 5 "$LOAD_WARMUP" "warmup-$side"
done
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for users in "${levels[@]}"; do
    for side in plus crm; do
        log "$side: $users users, ${LOAD_DURATION}s"
        run_locust "$side" "$users" "$LOAD_DURATION" "$side-$users"
    done
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
kill "$SERVER_PID"
wait "$SERVER_PID" || true
SERVER_PID=

"$PY" "$REPO_DIR/tools/load_data.py" --config "$ODOO_CONF" --database "$DB" --check
doc=()
[ "${LOAD_DOC:-0}" = 1 ] && doc=(--doc "$REPO_DIR/doc/benchmarks.md")
python3 "$REPO_DIR/tools/load_report.py" --dir "$OUT" --n "$LOAD_N" --users "${levels[@]}" \
    --duration "$LOAD_DURATION" --sales-users "$LOAD_SALES_USERS" \
    --load "$load_start" "$load_end" "${doc[@]}" | tee "$OUT/report.md"
