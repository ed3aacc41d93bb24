#!/usr/bin/env bash
# make tax: what crm_plus costs the rest of Odoo. Two databases with the same TAX_N contacts
# (default 10,000), one without and one with crm_plus; on each, the median of TAX_RUNS (3):
#   - ORM write({'phone': ...}) on all contacts, in batches of 1,000 (flushed, rolled back);
#   - SQL UPDATE res_partner SET phone = ... of all rows (rolled back);
#   - odoo-bin -i account on a copy of the database;
# the runs alternate between the two databases (a busy machine loads both alike).
# Prints the table (Markdown) and the ratio with/without. Not part of make test.
source "$(dirname "$0")/env.sh"
setup_all
template_db
N=${TAX_N:-10000}
RUNS=${TAX_RUNS:-3}
PLAIN=crm_plus_tax_plain_$$
WITH=crm_plus_tax_with_$$
COPY=crm_plus_tax_copy_$$
trap 'drop_db "$PLAIN"; drop_db "$WITH"; drop_db "$COPY"' EXIT

odoo() { "$PY" "$ODOO_SRC/odoo-bin" -c "$ODOO_CONF" --no-http --log-level=warn "$@"; }
odoo_shell() { "$PY" "$ODOO_SRC/odoo-bin" shell -c "$ODOO_CONF" --no-http --log-level=warn "$@"; }

# Copy database $1 (and its filestore) into $2.
copy_db() {
    drop_db "$2"
    createdb -T "$1" "$2"
    local store=$CACHE_DIR/filestore/filestore
    [ ! -d "$store/$1" ] || cp -r "$store/$1" "$store/$2"
}

clone_template "$PLAIN"
log "creating $N contacts in $PLAIN"
odoo_shell -d "$PLAIN" >/dev/null <<PY
env["res.partner"].create([{"name": f"Tax contact {i}", "email": f"tax{i}@example.com"} for i in range($N)])
env.cr.commit()
PY
copy_db "$PLAIN" "$WITH"
log "installing crm_plus in $WITH"
odoo -d "$WITH" -i crm_plus --stop-after-init

# The two write measures on database $1, once each: "orm <s>" and "sql <s>".
measure_writes() {
    odoo_shell -d "$1" 2>/dev/null <<PY | grep -E '^(orm|sql) '
import time
env = env(context={"tracking_disable": True})
ids = env["res.partner"].with_context(active_test=False).search([]).ids
def orm(run):
    for start in range(0, len(ids), 1000):
        env["res.partner"].browse(ids[start:start + 1000]).write({"phone": f"+32 2 555 {run:02d}"})
    env.flush_all()
def sql(run):
    env.cr.execute("UPDATE res_partner SET phone = %s", [f"+32 2 556 {run:02d}"])
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
    printf '%.1f\n' "$(echo "$(date +%s.%N) - $start" | bc)"
    drop_db "$COPY"
}

median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# The runs alternate between the databases, so that both see the same load of a busy machine.
declare -A result
for run in $(seq "$RUNS"); do
    for db in "$PLAIN" "$WITH"; do
        log "run $run of $RUNS on $db"
        while read -r name value; do result[$db,$name]+=" $value"; done < <(measure_writes "$db")
        result[$db,account]+=" $(measure_account "$db")"
    done
done
for key in "${!result[@]}"; do result[$key]=$(echo "${result[$key]}" | median); done

partners=$(psql -d "$WITH" -tAc "select count(*) from res_partner")
indexes() { psql -d "$1" -tAc "select count(*) from pg_indexes where tablename = 'res_partner'"; }
echo
echo "Odoo $ODOO_SERIES, $partners contacts ($N created), median of $RUNS runs (seconds);"
echo "indexes on res_partner: $(indexes "$PLAIN") without crm_plus, $(indexes "$WITH") with."
echo
echo "| Measure | Without crm_plus | With crm_plus | Ratio |"
echo "|---|---:|---:|---:|"
for row in "orm:ORM write({'phone'}) on all contacts (1,000 a batch)" \
    "sql:SQL UPDATE res_partner SET phone of all rows" "account:-i account"; do
    key=${row%%:*}
    a=${result[$PLAIN,$key]} b=${result[$WITH,$key]}
    printf '| %s | %s | %s | %s× |\n' "${row#*:}" "$a" "$b" "$(awk "BEGIN {printf \"%.2f\", $b / $a}")"
done
