#!/usr/bin/env bash
# make i18n: export i18n/crm_plus.pot with Odoo's exporter from a database with crm_plus, merge it
# into every i18n/<lang>.po (gettext's msgmerge, else polib) and report what is left to translate.
# Translations live in the .po files; new or changed msgids show up there untranslated.
#   --list: name every msgid that needs work; --check: exit 1 when any does (CI);
#   --no-export: merge and report against the existing .pot (no database).
# The database is a throw-away clone of the template (I18N_DB=name reuses or keeps one).
source "$(dirname "$0")/env.sh"
export_pot=1 report_args=()
for arg in "$@"; do
    case $arg in
        --no-export) export_pot=0 ;;
        --check | --list) report_args+=("$arg") ;;
        *) echo "usage: $0 [--no-export] [--list] [--check]" >&2; exit 2 ;;
    esac
done
setup_all
I18N_DIR=$REPO_DIR/i18n POT=$REPO_DIR/i18n/crm_plus.pot
po_tool() { "$PY" "$REPO_DIR/tools/i18n_po.py" "$@"; }

if [ "$export_pot" = 1 ]; then
    # From a copy of the addon without .build/ (whose link back to the checkout would make
    # Odoo's code scan walk the checkout again and again).
    WORK=$(mktemp -d) DB=${I18N_DB:-crm_plus_i18n_$$}
    trap 'rm -rf "$WORK"; [ -n "${I18N_DB:-}" ] || drop_db "$DB"' EXIT
    mkdir "$WORK/crm_plus"
    tar -C "$REPO_DIR" --exclude=./.build --exclude=./.git --exclude='*.pyc' -cf - . \
        | tar -C "$WORK/crm_plus" -xf -
    export_odoo=("$PY" "$ODOO_SRC/odoo-bin" -c "$ODOO_CONF" --addons-path="$ODOO_SRC/odoo/addons,$WORK"
        -d "$DB" --log-level=warn)
    db_exists "$DB" || clone_template "$DB"
    if [ "$(psql -d "$DB" -tAc "select state from ir_module_module where name='crm_plus'")" = installed ]; then
        log "updating crm_plus in $DB" && "${export_odoo[@]}" -u crm_plus --stop-after-init --no-http
    else
        log "installing crm_plus in $DB" && "${export_odoo[@]}" -i crm_plus --stop-after-init --no-http
    fi
    log "exporting $POT"
    "${export_odoo[@]}" --i18n-export="$WORK/crm_plus.pot" --modules=crm_plus
    po_tool clean-pot "$WORK/crm_plus.pot"
    cp "$WORK/crm_plus.pot" "$POT"
fi

[ -f "$POT" ] || { echo "no $POT: run without --no-export first" >&2; exit 1; }
for lang in pt pt_BR nl es; do
    po=$I18N_DIR/$lang.po
    [ -f "$po" ] || { log "creating $po" && po_tool new-po "$POT" "$lang" "$po"; }
    if command -v msgmerge >/dev/null && command -v msgattrib >/dev/null; then
        # No fuzzy matching: Odoo would load a fuzzy guess as the translation.
        msgmerge --quiet --update --backup=none --no-wrap --no-fuzzy-matching "$po" "$POT"
        msgattrib --no-wrap --no-obsolete -o "$po" "$po"
    else
        po_tool merge "$POT" "$po"
    fi
done
log "translation status"
po_tool report "$I18N_DIR" ${report_args[@]+"${report_args[@]}"}
