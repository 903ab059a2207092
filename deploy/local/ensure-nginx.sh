#!/bin/sh
# tests/heartbeats/test_behind_nginx.py runs deploy/nginx/ in front of gunicorn with the
# system's nginx (compose uses the official image); Debian's package is installed once if
# it is missing. Its service is never started: the test runs its own nginx on loopback.
set -u

command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] && exit 0

if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = "0" ]; then
    echo "installing Debian's nginx for the reverse-proxy tests"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends nginx >/dev/null 2>&1 \
        || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q --no-install-recommends nginx >/dev/null 2>&1; }
fi

command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] \
    || { echo "error: no nginx; install Debian's nginx package" >&2; exit 1; }
