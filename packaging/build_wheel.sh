#!/usr/bin/env bash
# Builds the wheel `prep-sql` into dist/ with maturin (pyproject.toml): the
# release `prep` binary with its embedded DuckDB, and prep_sklearn beside it.
# The release build compiles DuckDB's C++ with LTO on the Rust side: about
# 25 minutes on 2 cores the first time, so it runs outside CI (README,
# "Install without Rust"). Extra arguments go to `maturin build`.
set -euo pipefail
cd "$(dirname "$0")/.."
tools="$HOME/.cache/prep-maturin"
if [ ! -x "$tools/bin/maturin" ]; then
  python3 -m venv "$tools"
  "$tools/bin/pip" install -q "maturin==1.16.0"
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/prep-release}"
"$tools/bin/maturin" build --release --locked --out dist "$@"
