#!/usr/bin/env bash
# make tax: what crm_plus costs the rest of Odoo. Two databases with the same TAX_N contacts
# (10,000), one without and one with crm_plus; on each, TAX_RUNS times (5):
#   - ORM write({'phone': ...}) on all contacts, 1,000 a batch, flushed, rolled back;
#   - SQL UPDATE res_partner SET phone = ... of all rows, rolled back, with its WAL records
#     and bytes (EXPLAIN ANALYZE): a count the machine's load does not move;
#   - odoo-bin -i account on a copy of the database.
# The runs interleave the databases, in turn first (ABBA), so that a busy machine loads both
# alike; the table gives the medians, the median of the runs' ratios (the load moves less
# within a run than across runs) and the load average. Not part of make test.
source "$(dirname "$0")/env.sh"
setup_all
N=${TAX_N:-10000}
RUNS=${TAX_RUNS:-5}
PLAIN=crm_plus_tax_plain_$$
WITH=crm_plus_tax_with_$$
COPY=crm_plus_tax_copy_$$
trap 'drop_db "$PLAIN"; drop_db "$WITH"; drop_db "$COPY"' EXIT

odoo() { "$PY" "$ODOO_SRC/odoo-bin" "$@" -c "$ODOO_CONF" --no-http --log-level=warn; }
# Copy database $1 (and its filestore) into $2.
copy_db() {
    drop_db "$2"
    createdb -T "$1" "$2"
    local store=$CACHE_DIR/filestore/filestore
    [ ! -d "$store/$1" ] || cp -r "$store/$1" "$store/$2"
}

clone_template "$PLAIN"
log "creating $N contacts in $PLAIN"
odoo shell -d "$PLAIN" >/dev/null <<PY
env["res.partner"].create([{"name": f"Tax contact {i}", "email": f"tax{i}@example.com"} for i in range($N)])
env.cr.commit()
PY
copy_db "$PLAIN" "$WITH"
log "installing crm_plus in $WITH"
odoo -d "$WITH" -i crm_plus --stop-after-init
psql -qd "$PLAIN" -c "VACUUM ANALYZE res_partner"
psql -qd "$WITH" -c "VACUUM ANALYZE res_partner"

# The write measures on database $1, once each: "<measure> <value>" lines.
measure_writes() {
    odoo shell -d "$1" 2>/dev/null <<PY | grep -E '^(orm|sql|wal_records|wal_kb) '
import time
env = env(context={"tracking_disable": True})
ids = env["res.partner"].with_context(active_test=False).search([]).ids
def orm(run):
    for start in range(0, len(ids), 1000):
        env["res.partner"].browse(ids[start:start + 1000]).write({"phone": f"+32 2 555 {run:02d}"})
    env.flush_all()
def sql(run):
    env.cr.execute("EXPLAIN (ANALYZE, TIMING OFF, WAL, FORMAT JSON) UPDATE res_partner SET phone = %s", [f"+32 2 556 {run:02d}"])
    plan = env.cr.fetchone()[0][0]["Plan"]
    print("wal_records", plan["WAL Records"])
    print("wal_kb", round(plan["WAL Bytes"] / 1024))
orm(0)  # warm the caches
env.cr.rollback()
for name, step in (("orm", orm), ("sql", sql)):
    env.invalidate_all()
    start = time.perf_counter()
    step(1)
    print(name, round(time.perf_counter() - start, 3))
    env.cr.rollback()
PY
}

# The time of -i account on a copy of database $1.
measure_account() {
    local start
    copy_db "$1" "$COPY"
    start=$(date +%s.%N)
    odoo -d "$COPY" -i account --stop-after-init >/dev/null 2>&1
    printf 'account %.1f\n' "$(echo "$(date +%s.%N) - $start" | bc)"
    drop_db "$COPY"
}

median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# The median of the runs' ratios $2/$1 (each run's two databases measured one after the other).
ratio() { paste <(echo "$1" | tr ' ' '\n' | grep .) <(echo "$2" | tr ' ' '\n' | grep .) |
    awk '{printf "%.3f\n", $2 / $1}' | median; }

declare -A result
loads=()
for run in $(seq "$RUNS"); do
    order=("$PLAIN" "$WITH")
    [ $((run % 2)) = 1 ] || order=("$WITH" "$PLAIN")
    for db in "${order[@]}"; do
        loads+=("$(cut -d' ' -f1 /proc/loadavg)")
        log "run $run of $RUNS on $db (load average ${loads[-1]})"
        while read -r name value; do
            result[$db,$name]+=" $value"
            log "$db: $name $value"
        done < <(measure_writes "$db"; measure_account "$db")
    done
done

indexes() { psql -d "$1" -tAc "select count(*) from pg_indexes where tablename = 'res_partner'"; }
echo
echo "Odoo $ODOO_SERIES, $(psql -d "$WITH" -tAc "select count(*) from res_partner") contacts," \
    "median of $RUNS interleaved runs; load average $(printf '%s\n' "${loads[@]}" | sort -g |
        sed -n '1p;$p' | paste -sd '-') (1 min, at each run's start)."
echo "Indexes on res_partner: $(indexes "$PLAIN") without crm_plus, $(indexes "$WITH") with."
echo
echo "| Measure | Without crm_plus | With crm_plus | Ratio (median of the runs') |"
echo "|---|---:|---:|---:|"
for row in "orm:ORM write({'phone'}) on all contacts, 1,000 a batch (s)" \
    "sql:SQL UPDATE res_partner SET phone of all rows (s)" \
    "wal_records:the same UPDATE: WAL records" "wal_kb:the same UPDATE: WAL kB" \
    "account:-i account (s)"; do
    key=${row%%:*}
    a=${result[$PLAIN,$key]} b=${result[$WITH,$key]}
    printf '| %s | %s | %s | %.2f× |\n' "${row#*:}" "$(echo "$a" | median)" "$(echo "$b" | median)" \
        "$(ratio "$a" "$b")"
done
