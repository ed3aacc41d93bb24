#!/usr/bin/env bash
# make run: Odoo with crm_plus and its demo data on http://localhost:8069 (19.0: 8070). One
# database and one port per series: an 18.0 database cannot be opened by 19.0, and a browser tab
# left open on one series' web client would reconnect its bus to the other's server ("The page is
# out of date" on every such tab, each time the series are switched).
source "$(dirname "$0")/env.sh"
setup_all
if [ "$ODOO_SERIES" = 18.0 ]; then DB=${DB:-crm_plus} PORT=${HTTP_PORT:-8069}
else DB=${DB:-crm_plus_${ODOO_SERIES%%.*}} PORT=${HTTP_PORT:-8070}; fi
addon_hash() {
    (cd "$REPO_DIR" && find . -path ./.build -prune -o -path ./.git -prune -o -type f \( -name '*.py' \
        -o -name '*.xml' -o -name '*.csv' -o -name '*.po' -o -name '*.pot' -o -name '*.js' \
        -o -name '*.scss' \) -print0 | sort -z | xargs -0 sha1sum | sha1sum | cut -c1-16)
}
# Installed, or updated only when the addon changed since the last run (a second run starts in
# seconds).
stamp=$BUILD_DIR/.installed-$DB
if ! db_exists "$DB"; then
    log "creating database $DB with crm_plus and demo data"
    clone_template "$DB"
    rm -f "$stamp"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$(addon_hash)" ]; then
    if [ "$(psql -d "$DB" -tAc "select state from ir_module_module where name='crm_plus'")" = installed ]; then
        log "updating crm_plus in $DB" && odoo -d "$DB" -u crm_plus --stop-after-init --log-level=warn --no-http
    else
        log "installing crm_plus in $DB" && odoo -d "$DB" -i crm_plus --stop-after-init --log-level=warn --no-http
    fi
fi
addon_hash > "$stamp"
log "Odoo $ODOO_SERIES is starting: open http://localhost:$PORT  (login: admin / password: admin, database: $DB)"
exec "$PY" "$ODOO_SRC/odoo-bin" -c "$ODOO_CONF" -d "$DB" --db-filter="^$DB\$" --http-port="$PORT" "$@"
