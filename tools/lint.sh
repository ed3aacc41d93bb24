#!/usr/bin/env bash
# make lint: the checks of .pre-commit-config.yaml (ruff, pylint-odoo, OCA's odoo-pre-commit-hooks)
# without pre-commit, which would fetch each hook's repository.
source "$(dirname "$0")/env.sh"
source "$REPO_DIR/tools/tool_venv.sh"
make_venv
tool_venv oca "${OCA_HOOKS_PINS[@]}"
cd "$REPO_DIR"
# pylint-odoo names the module after its folder; a fresh checkout has no .build/ link yet.
mkdir -p "$BUILD_DIR/addons"
ln -sfn "$REPO_DIR" "$BUILD_DIR/addons/crm_plus"
status=0
"$VENV/bin/ruff" check . || status=$?
"$VENV/bin/ruff" format --check . || status=$?
# manifest-version-format wants <series>.x.y.z: one manifest serves 18.0 and 19.0, so it says
# x.y.z and Odoo prefixes the series it runs (19.0 refuses an 18.0.x.y.z version).
"$VENV/bin/pylint" --rcfile=.pylintrc --disable=manifest-required-author,missing-readme,manifest-version-format "$BUILD_DIR/addons/crm_plus" || status=$?
PATH=$TOOL_VENV/bin:$PATH "$REPO_DIR/tools/oca_checks_module.sh" || status=$?
mapfile -t po_files < <(git ls-files -co --exclude-standard 'i18n/*.po' 'i18n/*.pot')
"$TOOL_VENV/bin/oca-checks-po" --config .oca_hooks.cfg "${po_files[@]}" || status=$?
exit $status
