#!/bin/sh
# Start the local PostgreSQL and Redis the test suite talks to, if they are installed but
# stopped. Servers elsewhere (DATABASE_URL / REDIS_URL pointing away) are left alone.
set -u

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; }

if command -v pg_isready >/dev/null 2>&1 && ! pg_up; then
    echo "starting local PostgreSQL"
    if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
        for version in $(ls /etc/postgresql); do
            pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
        done
    fi
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
fi

if command -v redis-server >/dev/null 2>&1 && ! redis_up; then
    echo "starting local Redis"
    mkdir -p /tmp/pharos-redis
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
        --dir /tmp/pharos-redis --logfile /tmp/pharos-redis/redis.log || true
    for _ in $(seq 1 30); do redis_up && break; sleep 1; done
fi

pg_up || echo "warning: PostgreSQL is not answering on 127.0.0.1:5432" >&2
redis_up || echo "warning: Redis is not answering on 127.0.0.1:6379" >&2
exit 0
