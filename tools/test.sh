#!/usr/bin/env bash
# make test: everything CI checks; non-zero on any failure.
# 1. Odoo's own runner, as runbot and OCA's CI run it: a throw-away database, crm_plus (and
#    base_automation, whose rules the ORM suite fires) installed with --test-enable --test-tags
#    /crm_plus: tests/ (TransactionCase and the HttpCase tours). A skipped test fails the run.
# 2. pytest-odoo on tests_live/: suites that start Odoo servers of their own (XML-RPC,
#    --workers, the module life cycle), on clones of the database of step 1.
# 3. The wheel (tools/test_wheel.sh); 4. lint (tools/lint.sh).
# TEST_TAGS=… alone runs only step 1 with those tags; PYTEST_ARGS=… alone, only step 2.
source "$(dirname "$0")/env.sh"
setup_all
DB=${TEST_DB:-crm_plus_test_$$} LOG=$BUILD_DIR/test-odoo-runner.log status=0
trap 'drop_db "$DB"' EXIT
clone_template "$DB"
source "$REPO_DIR/tools/browser.sh"
ensure_chromium || status=$?  # the tours then fail with the reason
steps=runner,live,rest
[ -z "${TEST_TAGS:-}" ] || [ -n "${PYTEST_ARGS:-}" ] || steps=runner
[ -z "${PYTEST_ARGS:-}" ] || [ -n "${TEST_TAGS:-}" ] || steps=live
step() { [[ ,$steps, == *,$1,* ]]; }
since() { echo "$(($(date +%s) - $1)) s"; }

if step runner; then
    started=$(date +%s)
    port=$("$PY" -c "import sys; sys.path[:0] = ['$REPO_DIR/tools']; import ports; print(ports.free_port('18300-18399'))")
    : > "$LOG"
    log "Odoo's runner: -i crm_plus --test-enable --test-tags /crm_plus (HTTP on $port for the tours)"
    runner_rc=0
    odoo -d "$DB" -i crm_plus,base_automation --test-enable --test-tags "${TEST_TAGS:-/crm_plus}" \
        --stop-after-init --http-port "$port" --log-level=info --logfile "$LOG" || runner_rc=$?
    # The runner's own verdict, and what it can hide: no test found, a skipped tour.
    summary=$(grep -E "of [0-9]+ tests when loading database" "$LOG" | tail -1 | sed 's/.*INFO [^ ]* //; s/.*: //')
    ran=$(sed -nE 's/.* of ([0-9]+) tests when loading database.*/\1/p' "$LOG" | tail -1)
    skipped=$(grep -cE "odoo\.addons\.crm_plus\.tests\..*: skipped " "$LOG" || true)
    grep -E "(ERROR|CRITICAL) .*|^(FAIL|ERROR): |: FAIL: |: ERROR: |skipped " "$LOG" \
        | grep -v "Running as user 'root'" | head -80 >&2 || true
    log "Odoo's runner: ${summary:-no summary}; $skipped skipped; $(since "$started") (log: $LOG)"
    if [ "$runner_rc" != 0 ]; then
        log "Odoo's runner failed (exit $runner_rc)"; status=1
    elif [ "${ran:-0}" = 0 ]; then
        log "Odoo's runner ran no test: is every module imported in tests/__init__.py?"; status=1
    elif [ "$skipped" != 0 ]; then
        log "tests were skipped: every test must run (a skipped tour hides a missing browser)"; status=1
    fi
else
    log "installing crm_plus in $DB"
    odoo -d "$DB" -i crm_plus,base_automation --stop-after-init --log-level=warn --no-http
fi

if step live; then
    started=$(date +%s)
    log "pytest-odoo: the live-server suites (tests_live/)"
    # test_readme.py runs tools/build_readme.py --check with the renderer it needs.
    source "$REPO_DIR/tools/tool_venv.sh"
    tool_venv readme "${README_PINS[@]}"
    (cd "$BUILD_DIR/addons" && CRM_PLUS_README_PYTHON="$TOOL_VENV/bin/python" \
        PYTHONPATH="$REPO_DIR/tools:$PYTHONPATH" "$VENV/bin/pytest" -p no:cacheprovider \
        -p pytest_crm_plus --odoo-config="$ODOO_CONF" --odoo-database="$DB" \
        ${PYTEST_ARGS:-} crm_plus/tests_live) || status=$?
    log "pytest-odoo: $(since "$started")"
fi

if step rest; then
    log "the wheel (whool) installs in a clean virtualenv"
    bash "$REPO_DIR/tools/test_wheel.sh" || status=$?
    log "lint (pre-commit's checks)"
    "$REPO_DIR/tools/lint.sh" || status=$?
fi
exit $status
