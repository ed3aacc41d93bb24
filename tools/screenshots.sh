#!/usr/bin/env bash
# make screenshots: doc/img/*.png for the README, on a throw-away database with sample data
# (tools/screenshots.py seed, in Odoo's Python), served by odoo-bin on a free port, taken by
# Playwright (its own small virtualenv) driving the system's Chromium: no browser download.
# SCREENSHOTS_ARGS="--only NAME.png" takes one; ODOO_SERIES=19.0 takes them on 19.0.
source "$(dirname "$0")/env.sh"
source "$(dirname "$0")/browser.sh"
source "$(dirname "$0")/tool_venv.sh"
setup_all
ensure_chromium
tool_venv playwright playwright==1.65.2 greenlet==3.5.6
DB=${SCREENSHOTS_DB:-crm_plus_shots_$$}
server=
trap '[ -z "$server" ] || kill "$server"; wait; drop_db "$DB"' EXIT
install_db "$DB"
log "sample data, Odoo on a free port, Chromium → doc/img/"
"$PY" "$REPO_DIR/tools/screenshots.py" seed --config "$ODOO_CONF" --database "$DB"
port=$(cd "$REPO_DIR/tools" && "$PY" -c "from ports import free_port; print(free_port('${CRM_PLUS_HTTP_PORTS:-18200-18299}'))")
"$PY" "$ODOO_SRC/odoo-bin" -c "$ODOO_CONF" -d "$DB" --db-filter="^$DB\$" --http-port="$port" \
    --http-interface=127.0.0.1 --max-cron-threads=0 --log-level=warn >/dev/null &
server=$!
for _ in $(seq 120); do curl -sf -o /dev/null "http://127.0.0.1:$port/web/login" && break; sleep 1; done
"$TOOL_VENV/bin/python" "$REPO_DIR/tools/screenshots.py" shoot --url "http://127.0.0.1:$port" \
    --out "$REPO_DIR/doc/img" ${SCREENSHOTS_ARGS:-}
