#!/usr/bin/env bash
# Debian's Chromium for the browser tests (tests/browser/): installs the `chromium` package (and the
# DejaVu fonts the reports name) with apt-get when /usr/bin/chromium is missing. Non-interactive;
# safe to run again (does nothing then).
# Playwright drives this browser; it never downloads one of its own (no `playwright install`).
set -euo pipefail

CHROMIUM=/usr/bin/chromium
log() { echo "chromium.sh: $*" >&2; }

if [ -x "$CHROMIUM" ]; then
    exit 0
fi
log "$CHROMIUM not found; installing Debian's chromium package with apt"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { log "not root and no sudo: install chromium yourself (apt-get install chromium)"; exit 1; }
    sudo="sudo -n"
fi
$sudo apt-get update -q >&2
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core >&2
[ -x "$CHROMIUM" ] || { log "apt-get finished but $CHROMIUM is still missing"; exit 1; }
log "installed $("$CHROMIUM" --version 2>/dev/null || echo chromium)"
