#!/bin/bash
# Starts Debian's PostgreSQL 15 as the test database: user and database `mcp`
# (password from POSTGRES_PASSWORD), the tables of the user's report, and the
# pg_trgm extension standing in for pgvector (not packaged for Debian 12).
set -euo pipefail
bin=/usr/lib/postgresql/15/bin
data=${PGDATA:-/var/lib/postgresql/sw-data}
mkdir -p "$data" /run/postgresql
chown -R postgres:postgres "$data" /run/postgresql
if [ ! -s "$data/PG_VERSION" ]; then
  su postgres -c "$bin/initdb -D $data -U postgres --auth-local=trust --auth-host=md5" >/dev/null
  echo "listen_addresses = '*'" >>"$data/postgresql.conf"
  echo "host all all 0.0.0.0/0 md5" >>"$data/pg_hba.conf"
  su postgres -c "$bin/pg_ctl -D $data -w start" >/dev/null
  su postgres -c "psql -q -v ON_ERROR_STOP=1 -c \"CREATE ROLE mcp LOGIN PASSWORD '${POSTGRES_PASSWORD}'\" -c 'CREATE DATABASE mcp OWNER mcp'"
  su postgres -c "psql -q -v ON_ERROR_STOP=1 -d mcp -f /usr/local/share/sw-test/init.sql"
  su postgres -c "$bin/pg_ctl -D $data -w stop" >/dev/null
fi
exec su postgres -c "exec $bin/postgres -D $data"
