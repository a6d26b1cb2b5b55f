#!/usr/bin/env bash
# The one test command (see README): installs and starts everything the tests
# need on a fresh machine, idempotently, then runs every test.
#   - a Python venv with pinned packages (scikit-learn, DuckDB, psycopg2, ...)
#   - a PostgreSQL 15 server on 127.0.0.1, stopped again on exit
#   - Java 17 (Spark) and Debian's headless Chromium (the report page test)
#   - the Rust tests (snapshots, CLI goldens, planner), then the Python suites
#     (parity against scikit-learn on DuckDB and PostgreSQL; fit/preview/export)
# Set PREP_PG_DSN to use a PostgreSQL server of your own instead.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/prep-target}"
venv="${PREP_VENV:-$HOME/.cache/prep-venv}"
step() { printf '\n==> %s\n' "$*"; }

# shellcheck source=tests/env.sh
. tests/env.sh
setup_venv

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

step "Chromium for the report page test"
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "Debian's chromium and chromium-driver are needed for the report page test: install them" >&2
    exit 1
  fi
fi
/usr/bin/chromium --version

start_postgres

step "Rust: the library builds without the embedded engine"
cargo check --locked --quiet --no-default-features --lib

step "Rust: snapshot, CLI and planner tests (this builds prep with the embedded DuckDB)"
# One command builds the binary the Python suites use too: `cargo build` and
# `cargo test` can resolve features differently and compile DuckDB twice.
cargo test --locked

step "Parity (compiled SQL on real engines against scikit-learn), fit, preview and export"
# -rs: every skipped test's reason is printed (the known failures, loudly).
PREP_BIN="$CARGO_TARGET_DIR/debug/prep" "$venv/bin/python" -m pytest -q -rs -p no:cacheprovider tests/python
