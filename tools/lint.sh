#!/usr/bin/env bash
source "$(dirname "$0")/env.sh"
make_venv
cd "$REPO_DIR"
status=0
"$VENV/bin/ruff" check . || status=$?
"$VENV/bin/ruff" format --check . || status=$?
"$VENV/bin/pylint" --rcfile=.pylintrc --disable=manifest-required-author,missing-readme "$BUILD_DIR/addons/crm_plus" || status=$?
exit $status
