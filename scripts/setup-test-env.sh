#!/usr/bin/env bash
# Prepares a fresh Debian machine (as root) for prevoir's test suite: installs the Debian
# packages the tests use (PostgreSQL; Chromium for the dashboard's browser tests) and starts
# PostgreSQL on 127.0.0.1:5432 with a test database.
# Safe to run again. Prints the environment to export; `make test` sources it.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

need=()
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
[ -x /usr/lib/chromium/chromium ] || need+=(chromium)   # the web package's browser tests
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  apt-get update -qq >&2
  apt-get -o DPkg::Lock::Timeout=120 install -y -qq "${need[@]}" >&2
fi

PGVER=$(ls /usr/lib/postgresql | sort -V | tail -1)
pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "$PGVER main" || pg_createcluster "$PGVER" main >&2
pg_ctlcluster "$PGVER" main start >&2 2>/dev/null || true   # exits 2 when already running
for _ in $(seq 60); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
pg_isready -q -h 127.0.0.1 -p 5432 || { echo "setup: PostgreSQL did not start" >&2; exit 1; }
su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\"" >&2
su postgres -c "createdb prevoir_test" 2>/dev/null || true

echo "export PREVOIR_TEST_POSTGRES='postgres://postgres:postgres@127.0.0.1:5432/prevoir_test?sslmode=disable'"
