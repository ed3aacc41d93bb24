#!/usr/bin/env bash
# Sourced after tools/env.sh: headless Chromium for the browser tours (tests/test_tours.py) and
# `make screenshots`. Installed with apt-get when missing and running as root; otherwise it says
# what to install and fails.

chromium_bin() {
    local bin
    for bin in chromium chromium-browser google-chrome google-chrome-stable; do
        command -v "$bin" 2>/dev/null && return 0
    done
    return 1
}

ensure_chromium() {
    chromium_bin >/dev/null && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        log "installing chromium with apt-get (once)"
        if { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
                -o DPkg::Lock::Timeout=600 chromium; } >"$CACHE_DIR/apt-chromium.log" 2>&1; then
            chromium_bin >/dev/null && return 0
        fi
        cat "$CACHE_DIR/apt-chromium.log" >&2
    fi
    cat >&2 <<'MSG'
The browser tours (tests/test_tours.py) need Chromium, which is not installed. Install it and
rerun: Debian `sudo apt-get install chromium`, Ubuntu `sudo snap install chromium` (or Google
Chrome). The tour tests fail, they are not skipped, while it is missing.
MSG
    return 1
}
