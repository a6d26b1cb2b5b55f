#!/usr/bin/env bash
# The one test command (see README): installs and starts everything the tests
# need on a fresh machine, idempotently, then runs every test.
#   - a Python venv with pinned packages (scikit-learn, DuckDB, psycopg2, ...)
#   - a PostgreSQL 15 server on 127.0.0.1, stopped again on exit
#   - the Rust tests (snapshots, CLI goldens, planner), then the Python suites
#     (parity against scikit-learn on DuckDB and PostgreSQL; fit/preview/export)
# Set PREP_PG_DSN to use a PostgreSQL server of your own instead.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/prep-target}"
venv="${PREP_VENV:-$HOME/.cache/prep-venv}"
step() { printf '\n==> %s\n' "$*"; }

step "Python venv ($venv) with tests/python/requirements.txt"
# uv (from PyPI) installs the pinned set in seconds; run as a module so that a
# fresh install needs no PATH or shim refresh.
if ! python3 -m uv --version >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check uv==0.13.9
fi
[ -x "$venv/bin/python" ] || python3 -m uv venv --quiet --python python3 "$venv"
python3 -m uv pip install --quiet --python "$venv/bin/python" -r tests/python/requirements.txt

step "Java for Spark"
if ! command -v java >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null
  else
    echo "Java 17 is needed for the Spark tests: install a JRE" >&2
    exit 1
  fi
fi
java -version 2>&1 | head -n 1

step "PostgreSQL server on 127.0.0.1"
if [ -z "${PREP_PG_DSN:-}" ]; then
  pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$pgbin" ]; then
    if [ "$(id -u)" = 0 ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
      pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    else
      echo "PostgreSQL is not installed: install the 'postgresql' package, or set PREP_PG_DSN" >&2
      exit 1
    fi
  fi
  pgdata=$(mktemp -d /tmp/prep-pg.XXXXXX)
  as_pg=()
  if [ "$(id -u)" = 0 ]; then
    chown postgres "$pgdata"
    as_pg=(runuser -u postgres --)
  fi
  port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "${as_pg[@]}" "$pgbin/initdb" -D "$pgdata" -U postgres --auth=trust --locale=C.UTF-8 >"$pgdata.initdb.log"
  stop_pg() { "${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdata" -m fast stop >/dev/null 2>&1 || true; rm -rf "$pgdata" "$pgdata.initdb.log"; }
  trap stop_pg EXIT
  "${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdata" -w -l "$pgdata/server.log" \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $pgdata -c fsync=off" start >/dev/null
  export PREP_PG_DSN="host=127.0.0.1 port=$port user=postgres dbname=postgres"
  echo "started PostgreSQL ($("$pgbin/postgres" --version)) on port $port"
fi

step "Rust: the library builds without the embedded engine"
cargo check --locked --quiet --no-default-features --lib

step "Rust: snapshot, CLI and planner tests (this builds prep with the embedded DuckDB)"
# One command builds the binary the Python suites use too: `cargo build` and
# `cargo test` can resolve features differently and compile DuckDB twice.
cargo test --locked

step "Parity (compiled SQL on real engines against scikit-learn), fit, preview and export"
PREP_BIN="$CARGO_TARGET_DIR/debug/prep" "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/python
