#!/usr/bin/env bash
# Sourced after env.sh. Tools that Odoo does not need (whool, OCA's checks, the README's
# renderer) live in small virtualenvs keyed by their pins, shared by every checkout: pinned in
# requirements.txt they would rename the Odoo virtualenv and rebuild it for everyone.
# Pins, in one place for the scripts and .pre-commit-config.yaml (keep the revs there in step).
WHOOL_PINS=(whool==1.3.1 manifestoo-core==1.16.1 wheel==0.48.0)
OCA_HOOKS_PINS=(oca-odoo-pre-commit-hooks==0.2.27)
# tools/build_readme.py: Markdown fragments into index.html, through a Jinja2 template.
README_PINS=(markdown-it-py==4.3.0 mdurl==0.1.2 jinja2==3.1.6 markupsafe==3.0.3)

# tool_venv NAME PIN... : sets TOOL_VENV to a virtualenv holding the pinned packages.
tool_venv() {
    local name=$1 key
    shift
    key=$(printf '%s\n' "$@" | sha1sum | cut -c1-12)
    TOOL_VENV=$CACHE_DIR/tool-$name-$key
    if [ ! -f "$TOOL_VENV/.complete" ]; then
        # Two checkouts linting at once must not build the same virtualenv twice.
        (
            flock 9
            if [ ! -f "$TOOL_VENV/.complete" ]; then
                log "creating tool virtualenv $TOOL_VENV (once)"
                rm -rf "$TOOL_VENV"
                python3.11 -m venv "$TOOL_VENV" 2>/dev/null || python3 -m venv "$TOOL_VENV"
                "$TOOL_VENV/bin/pip" install -q "$@" > "$CACHE_DIR/tool-$name.log" 2>&1 \
                    || { cat "$CACHE_DIR/tool-$name.log" >&2; exit 1; }
                touch "$TOOL_VENV/.complete"
            fi
        ) 9>"$CACHE_DIR/.tool-$name.lock"
    fi
    export TOOL_VENV
}

# Files that are the project's, not the addon's: left out of the wheel.
DEV_ONLY_RE='^(\.ci/|tools/|doc/|\.[^/]*$|Makefile$|requirements\.txt$)'

# stage_addon DIR [EXCLUDE_RE] : the addon copied into DIR/crm_plus (whool names the package after
# the folder; OCA's module checks skip an addon at the root of its repository): what git tracks
# or would track, as it is in the work tree (uncommitted edits count, .build/ does not).
stage_addon() {
    local dest=$1/crm_plus exclude=${2:-'^$'} f
    mkdir -p "$dest"
    (
        cd "$REPO_DIR"
        git ls-files -z --cached --others --exclude-standard | grep -zvE "$exclude" \
            | while IFS= read -r -d '' f; do if [ -f "$f" ]; then printf '%s\0' "$f"; fi; done \
            | tar -c --null -T - -f - | tar -x -C "$dest" -f -
    )
}
