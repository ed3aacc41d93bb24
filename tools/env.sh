#!/usr/bin/env bash
# Shared set-up of the make targets, sourced; every step is idempotent. setup_all exports
# ODOO_SRC, VENV, PY, ADDONS_PATH, CORE_ADDONS_PATH, ODOO_CONF and the PostgreSQL settings.
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_DIR=${CRM_PLUS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/crm_plus}
BUILD_DIR=$REPO_DIR/.build
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-$(id -un)}
mkdir -p "$CACHE_DIR" "$BUILD_DIR"

log() { printf '\033[1;34m[crm_plus]\033[0m %s\n' "$*" >&2; }
die() { echo "$*" >&2; exit 1; }

# The Odoo series: 18.0 (default) or 19.0, each with its own tested pins (Odoo's own files pin
# versions that do not build here).
export ODOO_SERIES=${ODOO_SERIES:-18.0}
case $ODOO_SERIES in
    18.0) REQUIREMENTS=$REPO_DIR/requirements.txt ;;
    19.0) REQUIREMENTS=$REPO_DIR/requirements-$ODOO_SERIES.txt ;;
    *) echo "ODOO_SERIES=$ODOO_SERIES: crm_plus supports 18.0 and 19.0" >&2; exit 2 ;;
esac
REQ_KEY=$(sha1sum < "$REQUIREMENTS" | cut -c1-12)

# 1. Odoo source: $ODOO_SRC, else /opt/odoo/<series>, else a shallow clone (needs internet).
find_odoo() {
    if [ -z "${ODOO_SRC:-}" ] && [ -f "/opt/odoo/$ODOO_SERIES/odoo-bin" ]; then
        ODOO_SRC=/opt/odoo/$ODOO_SERIES
    elif [ -z "${ODOO_SRC:-}" ]; then
        ODOO_SRC=$CACHE_DIR/odoo-$ODOO_SERIES
        [ -f "$ODOO_SRC/odoo-bin" ] || { log "cloning Odoo $ODOO_SERIES into $ODOO_SRC (once)" &&
            git clone --depth 1 --branch "$ODOO_SERIES" https://github.com/odoo/odoo.git "$ODOO_SRC"; }
    fi
    [ -f "$ODOO_SRC/odoo-bin" ] || die "ODOO_SRC=$ODOO_SRC has no odoo-bin"
    local release
    release=$(sed -nE "s/^version_info = \(([0-9]+), ([0-9]+).*/\1.\2/p" "$ODOO_SRC/odoo/release.py")
    [ -z "$release" ] || [ "$release" = "$ODOO_SERIES" ] \
        || die "$ODOO_SRC holds Odoo $release, not $ODOO_SERIES (ODOO_SERIES / ODOO_SRC)"
    export ODOO_SRC
}

# 2. A virtualenv keyed by the pinned requirements, shared by every checkout of the project.
make_venv() {
    VENV=$CACHE_DIR/venv-$REQ_KEY PY=$CACHE_DIR/venv-$REQ_KEY/bin/python
    if [ ! -f "$VENV/.complete" ]; then
        log "creating virtualenv $VENV (once)"
        rm -rf "$VENV"
        python3.11 -m venv "$VENV" 2>/dev/null || python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q --upgrade pip >&2 2>/dev/null || true
        "$VENV/bin/pip" install -q -r "$REQUIREMENTS" > "$CACHE_DIR/pip.log" 2>&1 \
            || { cat "$CACHE_DIR/pip.log" >&2; exit 1; }
        touch "$VENV/.complete"
    fi
    export VENV PY
}

# 3. PostgreSQL: started when it does not accept connections; our role created.
ensure_postgres() {
    if ! pg_isready -q; then
        log "starting PostgreSQL"
        command -v pg_ctlcluster >/dev/null || die "PostgreSQL is not running on $PGHOST:$PGPORT"
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
        for _ in $(seq 30); do pg_isready -q && break; sleep 1; done
    fi
    if ! psql -d postgres -tAc "select 1" >/dev/null 2>&1; then
        log "creating PostgreSQL role $PGUSER"
        if [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1; then
            su postgres -c "createuser --createdb --superuser '$PGUSER'"
        else
            sudo -u postgres createuser --createdb --superuser "$PGUSER"
        fi
    fi
}

# 4. The checkout exposed to Odoo as `crm_plus`, whatever its folder is called. 18.0's top-level
#    addons/ repeats odoo/addons; from 19.0 on, only base is in odoo/addons.
make_addons_path() {
    mkdir -p "$BUILD_DIR/addons"
    ln -sfn "$REPO_DIR" "$BUILD_DIR/addons/crm_plus"
    CORE_ADDONS_PATH=$ODOO_SRC/odoo/addons
    [ -d "$ODOO_SRC/odoo/addons/web" ] || CORE_ADDONS_PATH=$CORE_ADDONS_PATH,$ODOO_SRC/addons
    ADDONS_PATH=$CORE_ADDONS_PATH,$BUILD_DIR/addons ODOO_CONF=$BUILD_DIR/odoo.conf
    [ "$ODOO_SERIES" = 18.0 ] || ODOO_CONF=$BUILD_DIR/odoo-$ODOO_SERIES.conf
    write_odoo_conf "$ODOO_CONF" "$ADDONS_PATH"
    printf 'http_interface = %s\nhttp_port = %s\n' "${HTTP_INTERFACE:-127.0.0.1}" \
        "${HTTP_PORT:-$([ "$ODOO_SERIES" = 18.0 ] && echo 8069 || echo 8070)}" >> "$ODOO_CONF"
    export ADDONS_PATH CORE_ADDONS_PATH ODOO_CONF BUILD_DIR REPO_DIR CACHE_DIR
    export PYTHONPATH=$ODOO_SRC${PYTHONPATH:+:$PYTHONPATH}
}

# An Odoo configuration file $1 for the addons path $2: the project's PostgreSQL and filestore.
write_odoo_conf() {
    printf '[options]\naddons_path = %s\ndb_host = %s\ndb_port = %s\ndb_user = %s\ndata_dir = %s\n' \
        "$2" "$PGHOST" "$PGPORT" "$PGUSER" "$CACHE_DIR/filestore" > "$1"
}

# odoo ARGS…: odoo-bin with the project's configuration.
odoo() { "$PY" "$ODOO_SRC/odoo-bin" -c "$ODOO_CONF" "$@"; }
db_exists() { psql -d postgres -tAc "select 1 from pg_database where datname='$1'" | grep -q 1; }

# A database with base, contacts and mail, cached as a template per Odoo commit and pins, so a
# run only installs crm_plus. 19.0 creates databases without demo data unless told; 18.0 with.
template_db() {
    local rev
    rev=$( (git -C "$ODOO_SRC" rev-parse --short HEAD 2>/dev/null || stat -c %Y "$ODOO_SRC/odoo/release.py") | head -1)
    TEMPLATE_DB=crm_plus_tpl_${rev}_${REQ_KEY:0:6}
    template_ready() { psql -d "$TEMPLATE_DB" -tAc "select 1 from ir_module_module where name='mail' and state='installed'" 2>/dev/null | grep -q 1; }
    if ! template_ready; then
        # Two targets started at once on a new machine (make test beside make load) build it
        # once: the second waits, then finds it ready (it would drop the first one's).
        local lock
        mkdir -p "$CACHE_DIR" && exec {lock}>"$CACHE_DIR/$TEMPLATE_DB.lock" && flock "$lock"
        if ! template_ready; then
            log "building template database $TEMPLATE_DB (once)"
            dropdb --if-exists "$TEMPLATE_DB"
            odoo -d "$TEMPLATE_DB" -i contacts,mail --stop-after-init --log-level=warn --no-http \
                $([ "$ODOO_SERIES" = 18.0 ] || echo --with-demo)
        fi
        exec {lock}>&-
    fi
    export TEMPLATE_DB
}

# A copy of the template (database and filestore) as $1.
clone_template() {
    local store=$CACHE_DIR/filestore/filestore
    template_db
    dropdb --if-exists "$1"
    createdb -T "$TEMPLATE_DB" "$1"
    rm -rf "${store:?}/$1"
    if [ -d "$store/$TEMPLATE_DB" ]; then mkdir -p "$store" && cp -r "$store/$TEMPLATE_DB" "$store/$1"; fi
}

# A new database $1 from the template with crm_plus installed (its demo data included).
install_db() {
    clone_template "$1"
    log "installing crm_plus in $1"
    odoo -d "$1" -i crm_plus --stop-after-init --log-level=warn --no-http
}

drop_db() {
    dropdb --if-exists --force "$1" 2>/dev/null || dropdb --if-exists "$1"
    rm -rf "$CACHE_DIR/filestore/filestore/$1"
}

setup_all() {
    find_odoo
    make_venv
    ensure_postgres
    make_addons_path
}
