#!/bin/sh
# The browser tests drive Debian's headless Chromium through Playwright (tests/browser.py);
# Playwright's own browser download cannot work here, so the system package is installed
# once if it is missing. PHAROS_CHROMIUM names another binary to use instead.
set -u

browser="${PHAROS_CHROMIUM:-/usr/bin/chromium}"
[ -x "$browser" ] && exit 0

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    echo "installing Debian's chromium for the browser tests"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q chromium >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; }
fi

[ -x "$browser" ] || { echo "error: no Chromium at $browser; install Debian's chromium package" >&2; exit 1; }
