#!/usr/bin/env bash
# make bench: crm_plus vs Odoo CRM vs plain SQL on a throw-away database (crm_plus and crm
# installed), N partners and leads (BENCH_N, default 10,000); writes doc/benchmarks.md (19.0:
# doc/benchmarks-19.0.md). Odoo CRM has two anchors: leads built in SQL, and leads built through
# the ORM with a won/lost history (issue 22), the one the targets are taken against.
# BENCH_RUNS (default 5) runs per measure; extra arguments go to tools/bench.py (e.g. --profile).
export BENCH_STARTED=${BENCH_STARTED:-$(date +%s)}
source "$(dirname "$0")/env.sh"
setup_all
template_db
DB=${BENCH_DB:-crm_plus_bench_$$}
trap 'drop_db "$DB"' EXIT
clone_template "$DB"
log "installing crm_plus and crm in $DB"
"$PY" "$ODOO_SRC/odoo-bin" -c "$ODOO_CONF" -d "$DB" -i crm_plus,crm --stop-after-init \
    --log-level=warn --no-http
log "benchmark"
"$PY" "$REPO_DIR/tools/bench.py" --config "$ODOO_CONF" --database "$DB" "$@"
log "make bench took $(( $(date +%s) - BENCH_STARTED )) s"
