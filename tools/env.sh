#!/usr/bin/env bash
# Shared set-up for `make run`, `make test` and `make bench`: every step is idempotent.
# Sourced, it exports ODOO_SRC, VENV, PY, ADDONS_PATH, ODOO_CONF and DB connection settings.
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_DIR=${CRM_PLUS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/crm_plus}
BUILD_DIR=$REPO_DIR/.build
PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
PGUSER=${PGUSER:-$(id -un)}
export PGHOST PGPORT PGUSER
mkdir -p "$CACHE_DIR" "$BUILD_DIR"

log() { printf '\033[1;34m[crm_plus]\033[0m %s\n' "$*" >&2; }

# The Odoo series: 18.0 (default) or 19.0, picked with ODOO_SERIES (make test ODOO_SERIES=19.0).
ODOO_SERIES=${ODOO_SERIES:-18.0}
case $ODOO_SERIES in
    18.0 | 19.0) ;;
    *) echo "ODOO_SERIES=$ODOO_SERIES: crm_plus supports 18.0 and 19.0" >&2; exit 2 ;;
esac
export ODOO_SERIES
# Each series has its own tested pins (Odoo's own files pin versions that do not build here).
if [ "$ODOO_SERIES" = 18.0 ]; then
    REQUIREMENTS=$REPO_DIR/requirements.txt
else
    REQUIREMENTS=$REPO_DIR/requirements-$ODOO_SERIES.txt
fi

# 1. Odoo source: $ODOO_SRC, else /opt/odoo/<series>, else a shallow clone of the series'
#    branch (needs internet).
find_odoo() {
    if [ -n "${ODOO_SRC:-}" ]; then
        [ -f "$ODOO_SRC/odoo-bin" ] || { echo "ODOO_SRC=$ODOO_SRC has no odoo-bin" >&2; exit 1; }
    elif [ -f "/opt/odoo/$ODOO_SERIES/odoo-bin" ]; then
        ODOO_SRC=/opt/odoo/$ODOO_SERIES
    else
        ODOO_SRC=$CACHE_DIR/odoo-$ODOO_SERIES
        if [ ! -f "$ODOO_SRC/odoo-bin" ]; then
            log "cloning Odoo $ODOO_SERIES into $ODOO_SRC (once)"
            git clone --depth 1 --branch "$ODOO_SERIES" https://github.com/odoo/odoo.git "$ODOO_SRC"
        fi
    fi
    local release
    release=$(sed -nE "s/^version_info = \(([0-9]+), ([0-9]+).*/\1.\2/p" "$ODOO_SRC/odoo/release.py")
    if [ -n "$release" ] && [ "$release" != "$ODOO_SERIES" ]; then
        echo "$ODOO_SRC holds Odoo $release, not $ODOO_SERIES (ODOO_SERIES / ODOO_SRC)" >&2; exit 1
    fi
    export ODOO_SRC
}

# 2. A virtualenv keyed by our pinned requirements, shared by every checkout of the project.
make_venv() {
    local key
    key=$(sha1sum < "$REQUIREMENTS" | cut -c1-12)
    VENV=$CACHE_DIR/venv-$key
    if [ ! -f "$VENV/.complete" ]; then
        log "creating virtualenv $VENV (once)"
        rm -rf "$VENV"
        python3.11 -m venv "$VENV" 2>/dev/null || python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q --upgrade pip >&2 2>/dev/null || true
        "$VENV/bin/pip" install -q -r "$REQUIREMENTS" > "$CACHE_DIR/pip.log" 2>&1 \
            || { cat "$CACHE_DIR/pip.log" >&2; exit 1; }
        touch "$VENV/.complete"
    fi
    PY=$VENV/bin/python
    export VENV PY
}

# 3. PostgreSQL: start it when it is not accepting connections; make sure our role exists.
ensure_postgres() {
    if ! pg_isready -q -h "$PGHOST" -p "$PGPORT"; then
        log "starting PostgreSQL"
        if command -v pg_ctlcluster >/dev/null; then
            pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
        else
            echo "PostgreSQL is not running on $PGHOST:$PGPORT; start it and retry" >&2; exit 1
        fi
        for _ in $(seq 30); do pg_isready -q -h "$PGHOST" -p "$PGPORT" && break; sleep 1; done
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

# 4. Expose the checkout to Odoo as `crm_plus`, whatever its folder is called.
make_addons_path() {
    mkdir -p "$BUILD_DIR/addons"
    ln -sfn "$REPO_DIR" "$BUILD_DIR/addons/crm_plus"
    # 18.0's top-level addons/ repeats odoo/addons; from 19.0 on, only base is in odoo/addons.
    ADDONS_PATH=$ODOO_SRC/odoo/addons
    [ -d "$ODOO_SRC/odoo/addons/web" ] || ADDONS_PATH=$ADDONS_PATH,$ODOO_SRC/addons
    CORE_ADDONS_PATH=$ADDONS_PATH
    ADDONS_PATH=$ADDONS_PATH,$BUILD_DIR/addons
    ODOO_CONF=$BUILD_DIR/odoo.conf
    [ "$ODOO_SERIES" = 18.0 ] || ODOO_CONF=$BUILD_DIR/odoo-$ODOO_SERIES.conf
    write_odoo_conf "$ODOO_CONF" "$ADDONS_PATH"
    cat >> "$ODOO_CONF" <<CONF
http_interface = ${HTTP_INTERFACE:-127.0.0.1}
http_port = ${HTTP_PORT:-$([ "$ODOO_SERIES" = 18.0 ] && echo 8069 || echo 8070)}
CONF
    export ADDONS_PATH CORE_ADDONS_PATH ODOO_CONF BUILD_DIR REPO_DIR CACHE_DIR
    export PYTHONPATH=$ODOO_SRC${PYTHONPATH:+:$PYTHONPATH}
}

db_exists() { psql -d postgres -tAc "select 1 from pg_database where datname='$1'" | grep -q 1; }

# A database with Odoo's base, contacts and mail installed, cached as a template per Odoo commit,
# so each test run only installs crm_plus.
template_db() {
    local rev
    rev=$( (git -C "$ODOO_SRC" rev-parse --short HEAD 2>/dev/null || stat -c %Y "$ODOO_SRC/odoo/release.py") | head -1)
    TEMPLATE_DB=crm_plus_tpl_${rev}_$(sha1sum < "$REQUIREMENTS" | cut -c1-6)
    if ! psql -d "$TEMPLATE_DB" -tAc "select 1 from ir_module_module where name='mail' and state='installed'" 2>/dev/null | grep -q 1; then
        log "building template database $TEMPLATE_DB (once)"
        dropdb --if-exists "$TEMPLATE_DB"
        # 19.0 creates databases without demo data unless told; 18.0 with it.
        local demo=()
        [ "$ODOO_SERIES" = 18.0 ] || demo=(--with-demo)
        "$PY" "$ODOO_SRC/odoo-bin" -c "$ODOO_CONF" -d "$TEMPLATE_DB" -i contacts,mail \
            --stop-after-init --log-level=warn --no-http "${demo[@]}"
    fi
    export TEMPLATE_DB
}

# An Odoo configuration file $1 for the addons path $2: the project's PostgreSQL and filestore.
write_odoo_conf() {
    cat > "$1" <<CONF
[options]
addons_path = $2
db_host = $PGHOST
db_port = $PGPORT
db_user = $PGUSER
data_dir = $CACHE_DIR/filestore
CONF
}

# Copy the template (database and filestore) into a new database $1.
clone_template() {
    template_db
    dropdb --if-exists "$1"
    createdb -T "$TEMPLATE_DB" "$1"
    rm -rf "$CACHE_DIR/filestore/filestore/$1"
    if [ -d "$CACHE_DIR/filestore/filestore/$TEMPLATE_DB" ]; then
        mkdir -p "$CACHE_DIR/filestore/filestore"
        cp -r "$CACHE_DIR/filestore/filestore/$TEMPLATE_DB" "$CACHE_DIR/filestore/filestore/$1"
    fi
}

# A new database $1 from the template with crm_plus installed (its demo data included).
install_db() {
    clone_template "$1"
    log "installing crm_plus in $1"
    "$PY" "$ODOO_SRC/odoo-bin" -c "$ODOO_CONF" -d "$1" -i crm_plus --stop-after-init --log-level=warn --no-http
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
