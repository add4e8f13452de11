#!/usr/bin/env bash
# Make sure PostgreSQL (127.0.0.1:5432, database `test`) and Redis (127.0.0.1:6379) are
# up for the test suite: start them if installed but stopped; install them with apt
# when root and missing.
set -euo pipefail

as_root() { [ "$(id -u)" -eq 0 ]; }
apt_install() {
    as_root && command -v apt-get >/dev/null || {
        echo "cannot install $*: not root, or no apt-get; install it yourself" >&2
        exit 1
    }
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
wait_for() {  # command, what
    for _ in $(seq 1 50); do
        if eval "$1" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    echo "$2 did not come up" >&2
    exit 1
}

postgres_up() { pg_isready -q -h 127.0.0.1 -p 5432; }
if ! command -v pg_ctlcluster >/dev/null; then
    echo "installing PostgreSQL"
    apt_install postgresql
fi
if ! postgres_up; then
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    wait_for postgres_up "PostgreSQL"
fi
psql_postgres() { psql -h 127.0.0.1 -U postgres -d postgres -tAc "$1" 2>/dev/null \
    || (as_root && su postgres -c "psql -tAc \"$1\""); }
if ! psql -h 127.0.0.1 -U postgres -d test -c 'select 1' >/dev/null 2>&1; then
    # A fresh Debian cluster asks for passwords on TCP: trust loopback on this test machine.
    if as_root && ! psql -h 127.0.0.1 -U postgres -d postgres -c 'select 1' >/dev/null 2>&1; then
        hba=$(su postgres -c "psql -tAc 'SHOW hba_file'")
        sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
        su postgres -c "psql -tAc 'SELECT pg_reload_conf()'" >/dev/null
    fi
    [ "$(psql_postgres "SELECT 1 FROM pg_database WHERE datname = 'test'")" = "1" ] \
        || psql_postgres "CREATE DATABASE test" >/dev/null
fi

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG; }
if ! command -v redis-server >/dev/null; then
    echo "installing Redis"
    apt_install redis-server redis-tools
fi
if ! redis_up; then
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/ci.log
    wait_for redis_up "Redis"
fi
