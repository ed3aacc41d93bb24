#!/usr/bin/env bash
# make wheel: odoo_addon_crm_plus-<version>-py3-none-any.whl into $1 (default .build/dist), built
# by whool from a staged copy named crm_plus without the project's own files (tools/, doc/…), in
# a cached virtualenv (--no-build-isolation: nothing downloaded). The copy is no git checkout, so
# the version is the manifest's (no .99.devN suffix for the commits since the last bump).
source "$(dirname "$0")/env.sh"
source "$REPO_DIR/tools/tool_venv.sh"
OUT=$(mkdir -p "${1:-$BUILD_DIR/dist}" && cd "${1:-$BUILD_DIR/dist}" && pwd)
tool_venv whool "${WHOOL_PINS[@]}"
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
stage_addon "$STAGE" "$DEV_ONLY_RE"
# One three-part manifest version serves 18.0 and 19.0 (Odoo prefixes its series); whool derives
# the wheel's `odoo==<series>.*` from the series: the staged copy gets <ODOO_SERIES>.<version>.
sed -i -E "s/(\"version\": \")([0-9]+\.[0-9]+\.[0-9]+)\"/\1$ODOO_SERIES.\2\"/" \
    "$STAGE/crm_plus/__manifest__.py"
grep -q "\"version\": \"$ODOO_SERIES\." "$STAGE/crm_plus/__manifest__.py" \
    || { echo "build_wheel: could not set the series in the staged manifest's version" >&2; exit 1; }
rm -f "$OUT"/odoo_addon_crm_plus-*.whl
# The ceiling keeps git (whool lists files with it) from finding a repository above the copy.
(cd "$STAGE/crm_plus" && env -u GIT_DIR -u GIT_WORK_TREE -u GIT_INDEX_FILE \
    GIT_CEILING_DIRECTORIES="$STAGE" "$TOOL_VENV/bin/pip" wheel -q --no-deps \
    --no-build-isolation --no-index -w "$OUT" .) || { echo "build_wheel: whool failed" >&2; exit 1; }
ls "$OUT"/odoo_addon_crm_plus-*.whl
