#!/usr/bin/env bash
# make test: everything CI checks; non-zero on any failure.
#
# 1. Odoo's own runner, as runbot and OCA's CI run it: a throw-away database, crm_plus (and
#    base_automation, whose rules the ORM suite fires) installed with --test-enable
#    --test-tags /crm_plus. That runs tests/ (TransactionCase and the HttpCase tours).
# 2. pytest-odoo on tests_live/: suites that start Odoo servers of their own (XML-RPC,
#    --workers, the module life cycle), on clones of the database of step 1.
# 3. The wheel: built with whool, installed into a clean virtualenv, installed by Odoo.
# 4. Lint: the checks of .pre-commit-config.yaml.
# TEST_TAGS=… alone runs only step 1 with those tags; PYTEST_ARGS=… alone, only step 2.
source "$(dirname "$0")/env.sh"
setup_all
DB=${TEST_DB:-crm_plus_test_$$}
LOG=$BUILD_DIR/test-odoo-runner.log
trap 'drop_db "$DB"' EXIT
clone_template "$DB"
status=0
source "$REPO_DIR/tools/browser.sh"
ensure_chromium || status=$?  # the tours then fail with the reason

free_http_port() {
    "$PY" - <<'PY'
import random, socket
ports = list(range(18300, 18400))
random.shuffle(ports)
for port in ports:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        print(port)
        break
PY
}

run_runner=1 run_live=1 run_rest=1
if [ -n "${TEST_TAGS:-}" ] && [ -z "${PYTEST_ARGS:-}" ]; then run_live=0 run_rest=0; fi
if [ -n "${PYTEST_ARGS:-}" ] && [ -z "${TEST_TAGS:-}" ]; then run_runner=0 run_rest=0; fi

if [ "$run_runner" = 1 ]; then
started=$(date +%s)
port=$(free_http_port)
: > "$LOG"
log "Odoo's runner: -i crm_plus --test-enable --test-tags /crm_plus (HTTP on $port for the tours)"
runner_rc=0
"$PY" "$ODOO_SRC/odoo-bin" -c "$ODOO_CONF" -d "$DB" -i crm_plus,base_automation \
    --test-enable --test-tags "${TEST_TAGS:-/crm_plus}" --stop-after-init --http-port "$port" \
    --log-level=info --logfile "$LOG" || runner_rc=$?
# The runner's own verdict, and what it can hide: no test found, a skipped tour.
summary=$(grep -E "of [0-9]+ tests when loading database" "$LOG" | tail -1 | sed 's/.*INFO [^ ]* //; s/.*: //')
ran=$(sed -nE 's/.* of ([0-9]+) tests when loading database.*/\1/p' "$LOG" | tail -1)
skipped=$(grep -cE "odoo\.addons\.crm_plus\.tests\..*: skipped " "$LOG" || true)
grep -E "(ERROR|CRITICAL) .*|^(FAIL|ERROR): |: FAIL: |: ERROR: |skipped " "$LOG" \
    | grep -v "Running as user 'root'" | head -80 >&2 || true
log "Odoo's runner: ${summary:-no summary}; $skipped skipped; $(( $(date +%s) - started )) s (log: $LOG)"
if [ "$runner_rc" != 0 ]; then
    log "Odoo's runner failed (exit $runner_rc)"; status=1
elif [ -z "$ran" ] || [ "$ran" = 0 ]; then
    log "Odoo's runner ran no test: is every module imported in tests/__init__.py?"; status=1
elif [ "$skipped" != 0 ]; then
    log "tests were skipped: every test must run (a skipped tour hides a missing browser)"; status=1
fi
else
    log "installing crm_plus in $DB"
    "$PY" "$ODOO_SRC/odoo-bin" -c "$ODOO_CONF" -d "$DB" -i crm_plus,base_automation \
        --stop-after-init --log-level=warn --no-http
fi

if [ "$run_live" = 1 ]; then
started=$(date +%s)
log "pytest-odoo: the live-server suites (tests_live/)"
# test_readme.py runs tools/build_readme.py --check with the Markdown renderer it needs.
source "$REPO_DIR/tools/tool_venv.sh"
tool_venv readme "${README_PINS[@]}"
(cd "$BUILD_DIR/addons" && CRM_PLUS_README_PYTHON="$TOOL_VENV/bin/python" PYTHONPATH="$REPO_DIR/tools:$PYTHONPATH" "$VENV/bin/pytest" -p no:cacheprovider \
    -p pytest_crm_plus --odoo-config="$ODOO_CONF" --odoo-database="$DB" \
    ${PYTEST_ARGS:-} crm_plus/tests_live) || status=$?
log "pytest-odoo: $(( $(date +%s) - started )) s"
fi

if [ "$run_rest" = 1 ]; then
log "the wheel (whool) installs in a clean virtualenv"
bash "$REPO_DIR/tools/test_wheel.sh" || status=$?
log "lint (pre-commit's checks)"
"$REPO_DIR/tools/lint.sh" || status=$?
fi
exit $status
