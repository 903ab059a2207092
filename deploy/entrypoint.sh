#!/bin/sh
# One image, every role: the first argument picks the process, with the same commands
# `make run` (config/supervisor.py) starts. Anything else is run as given, e.g.
# `docker run pharos python manage.py createtoken "My team"`.
#
#   web         gunicorn on 0.0.0.0:$PORT (migrates first when PHAROS_MIGRATE_ON_START=1)
#   migrate     apply database migrations and exit
#   beat        the Celery beat ticks (run exactly one)
#   aggregator  the worker on `results`
#   scheduler   the worker on `schedule`: ticks, round closing, heartbeat sweep, escalation planning
#   housekeeping the worker on `housekeeping` and `default`: retention, rollups, domain expiry
#   alerts      the alert sender on `alerts` (delivery only; one process, many sends at once)
#   watchdog    Pharos watching itself: mails the operators, pings PHAROS_WATCHDOG_URL (run exactly one)
#   probe       a region worker on `probe.$PHAROS_REGION` (needs only REDIS_URL + PHAROS_REGION)
#
# PHAROS_ENTRYPOINT_DRY_RUN=1 prints the command instead of running it (used by the tests).
set -eu

QUIET="--without-gossip --without-mingle --without-heartbeat"
CONCURRENCY="${PHAROS_WORKER_CONCURRENCY:-2}"

run() {
    if [ "${PHAROS_ENTRYPOINT_DRY_RUN:-0}" = "1" ]; then
        echo "$@"
        exit 0
    fi
    exec "$@"
}

role="${1:-web}"
[ "$#" -gt 0 ] && shift

case "$role" in
    web)
        if [ "${PHAROS_MIGRATE_ON_START:-0}" = "1" ] && [ "${PHAROS_ENTRYPOINT_DRY_RUN:-0}" != "1" ]; then
            python manage.py migrate --noinput
        fi
        if [ -f config/gunicorn.conf.py ]; then
            run gunicorn config.wsgi:application --bind "0.0.0.0:${PORT:-8000}" --config config/gunicorn.conf.py "$@"
        fi
        run gunicorn config.wsgi:application --bind "0.0.0.0:${PORT:-8000}" "$@"
        ;;
    migrate)
        run python manage.py migrate --noinput "$@"
        ;;
    beat)
        # The schedule file only remembers when static ticks last ran: a scratch path is fine.
        run celery -A config.celery beat --loglevel "${LOG_LEVEL:-INFO}" \
            --schedule "${PHAROS_BEAT_SCHEDULE:-/tmp/celerybeat-schedule}" "$@"
        ;;
    aggregator)
        # shellcheck disable=SC2086
        run celery -A config.celery worker -Q results -n "aggregator@%h" \
            --concurrency "$CONCURRENCY" --loglevel "${LOG_LEVEL:-INFO}" $QUIET "$@"
        ;;
    scheduler)
        # Nothing else runs here, so nothing a receiver or a target does can delay a tick.
        # shellcheck disable=SC2086
        run celery -A config.celery worker -Q schedule -n "scheduler@%h" \
            --concurrency "$CONCURRENCY" --loglevel "${LOG_LEVEL:-INFO}" $QUIET "$@"
        ;;
    housekeeping)
        # shellcheck disable=SC2086
        run celery -A config.celery worker -Q housekeeping,default -n "housekeeping@%h" \
            --concurrency 1 --loglevel "${LOG_LEVEL:-INFO}" $QUIET "$@"
        ;;
    alerts)
        # The solo pool hands outbox ids to the asyncio sender (alerts/sender.py).
        # shellcheck disable=SC2086
        run celery -A config.celery worker -Q alerts -n "alerts@%h" \
            --pool solo --loglevel "${LOG_LEVEL:-INFO}" $QUIET "$@"
        ;;
    watchdog)
        run python manage.py watchdog "$@"
        ;;
    probe)
        : "${PHAROS_REGION:?PHAROS_REGION must name this worker's region, e.g. eu}"
        # shellcheck disable=SC2086
        run celery -A probes.worker worker -Q "probe.${PHAROS_REGION}" -n "probe-${PHAROS_REGION}@%h" \
            --concurrency 1 --loglevel "${LOG_LEVEL:-INFO}" $QUIET "$@"
        ;;
    *)
        run "$role" "$@"
        ;;
esac
