#!/usr/bin/env bash
# make i18n: export i18n/crm_plus.pot with Odoo's own exporter from a database with crm_plus
# installed, merge it into every translation (i18n/<lang>.po) and report what is left to
# translate. Re-run it whenever strings were added or changed; translations are kept in the
# .po files; new or changed msgids show up there untranslated (Odoo shows them in English).
#
#   tools/i18n.sh             export, merge, report counts
#   tools/i18n.sh --list      ... and list every msgid that needs work, per language
#   tools/i18n.sh --check     ... and exit 1 when anything needs work (CI)
#   tools/i18n.sh --no-export merge and report against the existing .pot only (no database)
#
# The database is a throw-away clone of the template (override with I18N_DB=name to reuse or
# keep one: crm_plus is installed, or updated when it already is).
source "$(dirname "$0")/env.sh"
LANGS=(pt pt_BR nl es)
export_pot=1
report_args=()
for arg in "$@"; do
    case $arg in
        --no-export) export_pot=0 ;;
        --check | --list) report_args+=("$arg") ;;
        *) echo "usage: $0 [--no-export] [--list] [--check]" >&2; exit 2 ;;
    esac
done
setup_all
I18N_DIR=$REPO_DIR/i18n
POT=$I18N_DIR/crm_plus.pot
mkdir -p "$I18N_DIR"

if [ "$export_pot" = 1 ]; then
    # Export from a copy of the addon without .build/ (whose link back to the checkout would
    # make Odoo's code scan walk the checkout again and again).
    WORK=$(mktemp -d)
    DB=${I18N_DB:-crm_plus_i18n_$$}
    cleanup() {
        rm -rf "$WORK"
        [ -n "${I18N_DB:-}" ] || drop_db "$DB"
    }
    trap cleanup EXIT
    mkdir "$WORK/crm_plus"
    tar -C "$REPO_DIR" --exclude=./.build --exclude=./.git --exclude='*.pyc' -cf - . \
        | tar -C "$WORK/crm_plus" -xf -
    odoo=("$PY" "$ODOO_SRC/odoo-bin" -c "$ODOO_CONF" --addons-path="$ODOO_SRC/odoo/addons,$WORK"
        -d "$DB" --log-level=warn)
    if [ -n "${I18N_DB:-}" ] && db_exists "$DB" \
        && [ "$(psql -d "$DB" -tAc "select state from ir_module_module where name='crm_plus'")" = installed ]; then
        log "updating crm_plus in $DB"
        "${odoo[@]}" -u crm_plus --stop-after-init --no-http
    else
        [ -n "${I18N_DB:-}" ] && db_exists "$DB" || clone_template "$DB"
        log "installing crm_plus in $DB"
        "${odoo[@]}" -i crm_plus --stop-after-init --no-http
    fi
    log "exporting $POT"
    "${odoo[@]}" --i18n-export="$WORK/crm_plus.pot" --modules=crm_plus
    "$PY" "$REPO_DIR/tools/i18n_po.py" clean-pot "$WORK/crm_plus.pot"
    cp "$WORK/crm_plus.pot" "$POT"
fi

[ -f "$POT" ] || { echo "no $POT: run without --no-export first" >&2; exit 1; }
for lang in "${LANGS[@]}"; do
    po=$I18N_DIR/$lang.po
    if [ ! -f "$po" ]; then
        log "creating $po"
        "$PY" "$REPO_DIR/tools/i18n_po.py" new-po "$POT" "$lang" "$po"
    fi
    if command -v msgmerge >/dev/null && command -v msgattrib >/dev/null; then
        # New or reworded msgids come untranslated (no fuzzy matching: Odoo would load a fuzzy
        # guess as the translation); msgids gone from the code are dropped.
        msgmerge --quiet --update --backup=none --no-wrap --no-fuzzy-matching "$po" "$POT"
        msgattrib --no-wrap --no-obsolete -o "$po" "$po"
    else
        "$PY" "$REPO_DIR/tools/i18n_po.py" merge "$POT" "$po"
    fi
done
log "translation status"
"$PY" "$REPO_DIR/tools/i18n_po.py" report ${report_args[@]+"${report_args[@]}"} "$I18N_DIR"
