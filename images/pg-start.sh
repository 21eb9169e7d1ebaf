#!/bin/sh
# PostgreSQL for one js7ha deployment: initdb unless the image already holds
# a cluster (the Dockerfile runs `js7ha-pg-start --init-only` at build time,
# which saves every deployment the ~1 s initdb; superuser js7ha, trust auth
# from anywhere on the test network), then the server in the foreground as
# the postgres user. `exec` all the way down, so the signals
# `docker kill --signal` sends (through docker-init) reach the postmaster:
# SIGQUIT is an immediate shutdown, SIGINT a fast one.
set -eu
PGDATA=${PGDATA:-/var/lib/js7ha-pg}
PGPORT=${PGPORT:-5432}
BINDIR=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    mkdir -p "$PGDATA"
    chown postgres:postgres "$PGDATA"
    setpriv --reuid=postgres --regid=postgres --init-groups \
        "$BINDIR/initdb" -D "$PGDATA" -U js7ha --auth=trust -E UTF8 --no-locale \
        --no-sync --no-instructions >/dev/null
    echo "host all all 0.0.0.0/0 trust" >> "$PGDATA/pg_hba.conf"
fi
if [ "${1:-}" = "--init-only" ]; then
    exit 0
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups \
    "$BINDIR/postgres" -D "$PGDATA" -p "$PGPORT" \
    -c listen_addresses='*' -c unix_socket_directories= \
    -c fsync=off -c full_page_writes=off -c max_connections=300 \
    -c shared_buffers=32MB -c log_min_messages=warning -c timezone=UTC
