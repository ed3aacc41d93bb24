#!/usr/bin/env bash
# OCA's oca-checks-odoo-module on this addon; run by tools/lint.sh and by the pre-commit hook of
# the same name, each with the checker on PATH.
#
# The checker looks for __manifest__.py in the folders between a file and its git root, root
# excluded, so on this repository (the root is the addon) it finds no module and passes
# silently. It runs on a staged copy named crm_plus outside any repository instead, and the
# copy's paths are mapped back to the checkout's in what it prints.
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
