#!/usr/bin/env bash
# OCA's oca-checks-odoo-module on this addon (tools/lint.sh, the pre-commit hook), checker on PATH.
# It looks for __manifest__.py between a file and its git root, root excluded, so here (the root
# is the addon) it would pass silently: it runs on a staged copy named crm_plus outside any
# repository, whose paths are mapped back to the checkout's in what it prints.
source "$(dirname "$0")/env.sh"
source "$REPO_DIR/tools/tool_venv.sh"
command -v oca-checks-odoo-module >/dev/null \
    || { echo "oca-checks-odoo-module is not on PATH (tools/lint.sh provides it)" >&2; exit 1; }
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
stage_addon "$STAGE"
status=0
(cd "$STAGE" && env -u GIT_DIR -u GIT_WORK_TREE -u GIT_INDEX_FILE oca-checks-odoo-module \
    --config "$REPO_DIR/.oca_hooks.cfg" "$@" "$STAGE/crm_plus") > "$STAGE/out" 2>&1 || status=$?
# The checker prints paths without their leading slash.
sed -e "s#/\?${STAGE#/}/crm_plus/##g" "$STAGE/out"
exit $status
