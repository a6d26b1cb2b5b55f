#!/usr/bin/env bash
# prep against a hand-written floor on DuckDB and PostgreSQL (see floor.py),
# what each step costs next to min_max (steps.py),
# and the compile time and memory of a 1,000-feature spec. Sets up what it
# needs as tests/run.sh does (the pinned venv, a PostgreSQL server on
# 127.0.0.1, stopped on exit) and builds prep in release mode.
#   bash bench/floor.sh            # 1M rows
#   bash bench/floor.sh 10000000   # 10M rows
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/prep-release}"
venv="${PREP_VENV:-$HOME/.cache/prep-venv}"
step() { printf '\n==> %s\n' "$*"; }

# shellcheck source=tests/env.sh
. tests/env.sh
setup_venv
start_postgres

step "prep, release build"
cargo build --release --locked --quiet --no-default-features

step "prep / floor"
"$venv/bin/python" bench/floor.py "$CARGO_TARGET_DIR/release/prep" "${1:-1000000}"

step "each step next to min_max"
"$venv/bin/python" bench/steps.py "$CARGO_TARGET_DIR/release/prep" "${1:-1000000}"
