#!/usr/bin/env bash
# Installs the newest wheel in dist/ (packaging/build_wheel.sh) into a fresh
# venv and uses it with no Rust on PATH: prep --version, init, check,
# compile, fit --data and report on the embedded engine, and the Python
# package on the fitted file. Prints
# the wheel's size and prep's start-up time.
set -euo pipefail
cd "$(dirname "$0")/.."
wheel=$(ls -t dist/prep_sql-*.whl | head -1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q "$wheel[sklearn]"
# Only the venv and the system: no cargo, no rustc.
export PATH="$work/venv/bin:/usr/bin:/bin"
if command -v cargo >/dev/null || command -v rustc >/dev/null; then
  echo "a Rust toolchain is on PATH" >&2
  exit 1
fi
test "$(command -v prep)" = "$work/venv/bin/prep"
prep --version
prep init starter --data examples/data/iris.csv --out "$work/starter.yml"
prep check "$work/starter.yml"
prep compile examples/churn/churn_features.yml --dialect duckdb >/dev/null
prep fit examples/penguins/penguins.yml --data examples/penguins/penguins.csv --out "$work/penguins.fitted.yml"
prep report examples/penguins/penguins.yml --data examples/penguins/penguins.csv \
  --params "$work/penguins.fitted.yml" --out "$work/penguins.html"
python - "$work/penguins.fitted.yml" <<'PY'
import sys
import pandas as pd
import prep_sklearn
columns = prep_sklearn.load(sys.argv[1])
features = columns.transform(pd.read_csv("examples/penguins/penguins.csv"))
assert features.shape[0] == 344, features.shape
print(f"prep_sklearn: {features.shape[1]} features of {features.shape[0]} rows")
PY
python - <<'PY'
import statistics, subprocess, time
runs = []
for _ in range(20):
    t = time.perf_counter()
    subprocess.run(["prep", "--version"], check=True, capture_output=True)
    runs.append(time.perf_counter() - t)
print(f"prep --version: median {1000 * statistics.median(runs):.1f} ms over 20 runs")
PY
echo "wheel $(basename "$wheel"): $(du -h "$wheel" | cut -f1)"
