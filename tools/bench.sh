#!/usr/bin/env bash
# make bench: crm_plus vs Odoo CRM vs plain SQL (tools/bench.py) on a throw-away database with
# crm_plus and crm, BENCH_N (10,000) partners and leads, BENCH_RUNS (5) runs per measure; writes
# doc/benchmarks.md (19.0: doc/benchmarks-19.0.md). Arguments go to tools/bench.py (--profile…).
export BENCH_STARTED=${BENCH_STARTED:-$(date +%s)}
source "$(dirname "$0")/env.sh"
setup_all
DB=${BENCH_DB:-crm_plus_bench_$$}
trap 'drop_db "$DB"' EXIT
clone_template "$DB"
log "installing crm_plus and crm in $DB"
odoo -d "$DB" -i crm_plus,crm --stop-after-init --log-level=warn --no-http
"$PY" "$REPO_DIR/tools/bench.py" --config "$ODOO_CONF" --database "$DB" "$@"
log "make bench took $(( $(date +%s) - BENCH_STARTED )) s"
