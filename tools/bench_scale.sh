#!/usr/bin/env bash
# make bench-scale: one contact's actions, the reports and the daily cron at 10k, 100k and 1M
# funnel contacts (SCALE_MAX stops early, e.g. SCALE_MAX=100000), against Odoo CRM in the same
# database. Outside make test: the 1M data set alone takes a long while to build. SCALE_SIZES
# picks the sizes (e.g. SCALE_SIZES=1000000). SCALE_KEEP=1 keeps each size's database
# (crm_plus_scale_<N>) for EXPLAIN and re-measures: SCALE_DB=crm_plus_scale_<N> measures it
# again without rebuilding.
source "$(dirname "$0")/env.sh"
setup_all
template_db
SCALE_MAX=${SCALE_MAX:-1000000}
BASE=crm_plus_scale_base_$$
if [ -n "${SCALE_DB:-}" ]; then
    n=${SCALE_DB##*_}
    log "re-measuring $SCALE_DB (N=$n)"
    "$PY" "$REPO_DIR/tools/bench_scale.py" --config "$ODOO_CONF" --database "$SCALE_DB" \
        --n "$n" --no-build --out "$BUILD_DIR/bench-scale-$n-again.json"
    "$PY" "$REPO_DIR/tools/bench_scale.py" --render "$BUILD_DIR/bench-scale-$n-again.json"
    exit 0
fi
OUT=$BUILD_DIR/bench-scale
mkdir -p "$OUT"
rm -f "$OUT"/*.json
trap 'drop_db "$BASE"' EXIT
clone_template "$BASE"
log "installing crm_plus and crm in $BASE"
"$PY" "$ODOO_SRC/odoo-bin" -c "$ODOO_CONF" -d "$BASE" -i crm_plus,crm --stop-after-init \
    --log-level=warn --no-http
for n in ${SCALE_SIZES:-10000 100000 1000000}; do
    [ "$n" -le "$SCALE_MAX" ] || break
    db=crm_plus_scale_${n}_$$
    if [ -n "${SCALE_KEEP:-}" ]; then
        db=crm_plus_scale_${n}
        drop_db "$db"
    fi
    createdb -T "$BASE" "$db"
    log "N=$n"
    "$PY" "$REPO_DIR/tools/bench_scale.py" --config "$ODOO_CONF" --database "$db" --n "$n" \
        --out "$OUT/$n.json" || { drop_db "$db"; exit 1; }
    [ -n "${SCALE_KEEP:-}" ] || drop_db "$db"
done
"$PY" "$REPO_DIR/tools/bench_scale.py" --render "$OUT"/*.json
