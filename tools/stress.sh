#!/usr/bin/env bash
# make stress: the long soak of issue 7, outside `make test`. The same tests as make test's
# reliability tests with bigger figures, several rounds: concurrency under --workers 2, bad input
# over XML-RPC, and the module life cycle on 10,000 existing contacts.
#   CRM_PLUS_STRESS_ROUNDS (3)           rounds of concurrency + bad input
#   CRM_PLUS_CONCURRENCY_SAME (200)      concurrent advances on one partner
#   CRM_PLUS_CONCURRENCY_MANY (1000)     advances on as many different partners
#   CRM_PLUS_CONCURRENCY_THREADS (16)    XML-RPC clients firing them
#   CRM_PLUS_LIFECYCLE_CONTACTS (10000)  existing contacts for install/upgrade/uninstall
source "$(dirname "$0")/env.sh"
setup_all
DB=${TEST_DB:-crm_plus_stress_$$}
trap 'drop_db "$DB"' EXIT
install_db "$DB"
export CRM_PLUS_CONCURRENCY_SAME=${CRM_PLUS_CONCURRENCY_SAME:-200}
export CRM_PLUS_CONCURRENCY_MANY=${CRM_PLUS_CONCURRENCY_MANY:-1000}
export CRM_PLUS_CONCURRENCY_THREADS=${CRM_PLUS_CONCURRENCY_THREADS:-16}
export CRM_PLUS_LIFECYCLE_CONTACTS=${CRM_PLUS_LIFECYCLE_CONTACTS:-10000}
rounds=${CRM_PLUS_STRESS_ROUNDS:-3}
status=0
run_tests() { (cd "$BUILD_DIR/addons" && "$VENV/bin/pytest" -p no:cacheprovider \
    --odoo-config="$ODOO_CONF" --odoo-database="$DB" ${PYTEST_ARGS:-} "$@") || status=1; }
for round in $(seq "$rounds"); do
    log "stress round $round/$rounds: concurrency and bad input"
    run_tests crm_plus/tests_live/test_concurrency.py crm_plus/tests_live/test_rpc_bad_input.py
done
log "life cycle with $CRM_PLUS_LIFECYCLE_CONTACTS existing contacts"
run_tests crm_plus/tests_live/test_lifecycle.py
exit $status
