#!/usr/bin/env bash
# make screenshots: doc/img/*.png for the README, taken in headless Chromium on a throw-away
# database with sample data (tools/screenshots.py).
source "$(dirname "$0")/env.sh"
source "$(dirname "$0")/browser.sh"
setup_all
ensure_chromium
DB=${SCREENSHOTS_DB:-crm_plus_shots_$$}
trap 'drop_db "$DB"' EXIT
install_db "$DB"
log "sample data, Odoo on a free port, Chromium → doc/img/"
"$PY" "$REPO_DIR/tools/screenshots.py" --config "$ODOO_CONF" --database "$DB" --out "$REPO_DIR/doc/img" ${SCREENSHOTS_ARGS:-}
