#!/usr/bin/env bash
# Sourced after tools/env.sh: headless Chromium for the browser tours (tests/test_tours*.py) and
# `make screenshots`. Installed with apt-get when missing and running as root; otherwise it says
# what to install and fails (the tours fail, they are not skipped, without it).
ensure_chromium() {
    local bin
    for bin in chromium chromium-browser google-chrome google-chrome-stable; do
        command -v "$bin" >/dev/null && return 0
    done
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        log "installing chromium with apt-get (once)"
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            -o DPkg::Lock::Timeout=600 chromium; } >"$CACHE_DIR/apt-chromium.log" 2>&1 \
            && command -v chromium >/dev/null && return 0
        cat "$CACHE_DIR/apt-chromium.log" >&2
    fi
    echo "Chromium is missing: Debian \`apt-get install chromium\`, Ubuntu \`snap install chromium\`." >&2
    return 1
}
