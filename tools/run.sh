#!/usr/bin/env bash
# make run: Odoo with crm_plus and its demo data on http://localhost:8069 (19.0: 8070)
source "$(dirname "$0")/env.sh"
setup_all
# One database per series: an 18.0 database cannot be opened by 19.0 (nor the other way).
if [ "$ODOO_SERIES" = 18.0 ]; then DB=${DB:-crm_plus}; else DB=${DB:-crm_plus_${ODOO_SERIES%%.*}}; fi
if ! db_exists "$DB"; then
    log "creating database $DB with crm_plus and demo data"
    clone_template "$DB"
    "$PY" "$ODOO_SRC/odoo-bin" -c "$ODOO_CONF" -d "$DB" -i crm_plus --stop-after-init --log-level=warn --no-http
else
    # Update only when the addon changed since the last run, so a second run starts in seconds.
    stamp=$BUILD_DIR/.installed-$DB
    current=$(cd "$REPO_DIR" && find . -path ./.build -prune -o -path ./.git -prune -o -type f \( -name '*.py' -o -name '*.xml' -o -name '*.csv' -o -name '*.po' -o -name '*.pot' -o -name '*.js' -o -name '*.scss' \) -print0 | sort -z | xargs -0 sha1sum | sha1sum | cut -c1-16)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$current" ]; then
        installed=$(psql -d "$DB" -tAc "select state from ir_module_module where name='crm_plus'" 2>/dev/null || true)
        if [ "$installed" = installed ]; then
            log "updating crm_plus in $DB"
            "$PY" "$ODOO_SRC/odoo-bin" -c "$ODOO_CONF" -d "$DB" -u crm_plus --stop-after-init --log-level=warn --no-http
        else
            log "installing crm_plus in $DB"
            "$PY" "$ODOO_SRC/odoo-bin" -c "$ODOO_CONF" -d "$DB" -i crm_plus --stop-after-init --log-level=warn --no-http
        fi
    fi
fi
cd "$REPO_DIR" && find . -path ./.build -prune -o -path ./.git -prune -o -type f \( -name '*.py' -o -name '*.xml' -o -name '*.csv' -o -name '*.po' -o -name '*.pot' -o -name '*.js' -o -name '*.scss' \) -print0 | sort -z | xargs -0 sha1sum | sha1sum | cut -c1-16 > "$BUILD_DIR/.installed-$DB"
# One port per series as well: a browser tab left open on one series' web client reconnects its
# bus worker to whatever answers on its origin, and a server of the other series closes that
# connection as OUTDATED_VERSION ("The page is out of date", on every such tab, each time the
# series are switched).
if [ "$ODOO_SERIES" = 18.0 ]; then PORT=${HTTP_PORT:-8069}; else PORT=${HTTP_PORT:-8070}; fi
log "Odoo $ODOO_SERIES is starting: open http://localhost:$PORT  (login: admin / password: admin, database: $DB)"
exec "$PY" "$ODOO_SRC/odoo-bin" -c "$ODOO_CONF" -d "$DB" --db-filter="^$DB\$" --http-port="$PORT" "$@"
