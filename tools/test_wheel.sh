#!/usr/bin/env bash
# make wheel-test: the addon installs from its wheel, with no addons-path entry for the checkout:
# the wheel (tools/build_wheel.sh) goes with --no-deps into a new virtualenv, whose python then
# runs Odoo (from source, addons path = Odoo's own addons) to install crm_plus on a throw-away
# database. Odoo's odoo/ and odoo/addons/ packages extend their __path__ (pkgutil.extend_path),
# which makes site-packages/odoo/addons/crm_plus an addon. Non-zero, with the reason, on failure.
source "$(dirname "$0")/env.sh"
setup_all
source "$REPO_DIR/tools/tool_venv.sh"
START=$SECONDS
tool_venv whool "${WHOOL_PINS[@]}"  # its pip installs the wheel
DB=crm_plus_wheel_$$
WORK=$(mktemp -d)
cleanup() { drop_db "$DB" || true; rm -rf "$WORK"; }
trap cleanup EXIT
fail() { printf '\033[1;31m[crm_plus] wheel test FAILED:\033[0m %s\n' "$*" >&2; exit 1; }

log "building the wheel"
bash "$REPO_DIR/tools/build_wheel.sh" "$WORK/dist" >/dev/null || fail "the wheel did not build"
WHEEL=$(ls "$WORK"/dist/odoo_addon_crm_plus-*-py3-none-any.whl 2>/dev/null) \
    || fail "no odoo_addon_crm_plus-*.whl in $WORK/dist"
# What the wheel must hold, and what it must not (the project's own tooling, build output).
"$PY" - "$WHEEL" <<'PY' || fail "$(basename "$WHEEL") has the wrong files (above)"
import sys, zipfile

root, names = "odoo/addons/crm_plus/", zipfile.ZipFile(sys.argv[1]).namelist()
problems = {
    "missing": [root + p for p in """__manifest__.py __init__.py models/res_partner.py
        views/res_partner_views.xml data/crm_plus_data.xml security/ir.model.access.csv
        i18n/crm_plus.pot static/description/icon.png report/__init__.py wizard/__init__.py
        demo/__init__.py migrations/1.1.0/post-migration.py""".split() if root + p not in names],
    "should not be there": [n for n in names if n.startswith(tuple(root + p for p in (
        ".build/", ".ci/", "tools/", ".git", "doc/", "Makefile", "pyproject.toml")))],
    "outside": [n for n in names if not n.startswith((root, "odoo_addon_crm_plus-"))],
}
problems = {label: found for label, found in problems.items() if found}
sys.exit(f"{problems}" if problems else 0)
PY

log "installing $(basename "$WHEEL") into a new virtualenv"
CLEAN=$WORK/venv
python3.11 -m venv --without-pip "$CLEAN" 2>/dev/null || python3 -m venv --without-pip "$CLEAN"
SITE=$("$CLEAN/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
# Odoo's dependencies come from the project virtualenv through a .pth file (not a second install
# of the same pins): it holds neither odoo nor crm_plus, so the only crm_plus reachable is the
# wheel's.
PROJECT_SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
echo "import site; site.addsitedir('$PROJECT_SITE')" > "$SITE/crm_plus_odoo_deps.pth"

# get_module_path as Odoo resolves it, with the test's configuration; empty when not found.
write_odoo_conf "$WORK/odoo.conf" "$CORE_ADDONS_PATH"
module_path() {
    (cd "$WORK" && env -u PYTHONPATH PYTHONPATH="$ODOO_SRC" "$CLEAN/bin/python" -c '
import sys
from odoo.tools import config
config.parse_config(["-c", sys.argv[1]])
from odoo.modules.module import get_module_path, initialize_sys_path
initialize_sys_path()
print(get_module_path("crm_plus", display_warning=False) or "")
' "$WORK/odoo.conf")
}
# Control: before the install, nothing on this addons path is crm_plus (no leak from the checkout).
before=$(module_path) || fail "odoo does not import in the clean virtualenv"
[ -z "$before" ] || fail "crm_plus is found before the wheel is installed: $before"

# The tool virtualenv's pip installs into the clean one; --no-deps: the wheel requires
# odoo==<series>.*, which is the source tree here, not a distribution.
"$TOOL_VENV/bin/pip" --python "$CLEAN/bin/python" install -q --no-deps --no-index "$WHEEL" \
    || fail "pip could not install $(basename "$WHEEL")"
[ -f "$SITE/odoo/addons/crm_plus/__manifest__.py" ] \
    || fail "the wheel did not install into $SITE/odoo/addons/crm_plus"
after=$(module_path) || fail "odoo does not import in the clean virtualenv"
[ "$after" = "$SITE/odoo/addons/crm_plus" ] \
    || fail "Odoo resolves crm_plus to '$after', not to $SITE/odoo/addons/crm_plus"

log "installing crm_plus from site-packages in $DB (addons path: $CORE_ADDONS_PATH only)"
clone_template "$DB"
(cd "$WORK" && env -u PYTHONPATH "$CLEAN/bin/python" "$ODOO_SRC/odoo-bin" -c "$WORK/odoo.conf" \
    -d "$DB" -i crm_plus --stop-after-init --log-level=warn --no-http) \
    || fail "odoo-bin -i crm_plus exited non-zero"
state=$(psql -d "$DB" -tAc "select state from ir_module_module where name = 'crm_plus'")
[ "$state" = installed ] || fail "crm_plus is '${state:-absent}' in $DB, not 'installed'"
log "wheel test passed in $((SECONDS - START)) s: crm_plus installed from $after"
