#!/usr/bin/env bash
# make test: a throw-away database, crm_plus installed, pytest-odoo, lint; non-zero on any failure.
source "$(dirname "$0")/env.sh"
setup_all
DB=${TEST_DB:-crm_plus_test_$$}
trap 'drop_db "$DB"' EXIT
clone_template "$DB"
log "installing crm_plus in $DB"
"$PY" "$ODOO_SRC/odoo-bin" -c "$ODOO_CONF" -d "$DB" -i crm_plus --stop-after-init --log-level=warn --no-http
status=0
source "$REPO_DIR/tools/browser.sh"
ensure_chromium || status=$?  # the tours then fail with the reason
log "running the test suite (pytest-odoo; --odoo-http for the browser tours)"
(cd "$BUILD_DIR/addons" && PYTHONPATH="$REPO_DIR/tools:$PYTHONPATH" "$VENV/bin/pytest" -p no:cacheprovider \
    -p pytest_crm_plus --odoo-http --odoo-config="$ODOO_CONF" --odoo-database="$DB" \
    ${PYTEST_ARGS:-} crm_plus/tests) || status=$?
log "lint (ruff, pylint-odoo)"
"$REPO_DIR/tools/lint.sh" || status=$?
exit $status
