#!/usr/bin/env python3
"""What each step costs, next to `scale: min_max`, on DuckDB and PostgreSQL.

The table is bench/floor.py's (N rows, 20 numeric columns, 5% NULL). For each
step, a spec gives every numeric column `impute: mean` then the step (a step
across columns works on groups of four columns); prep's fit and its apply
(reading the stored parameters) are each materialised as a table, and the
median of three runs is printed with its ratio to min_max's. Numbers are
printed, not asserted.

    python3 bench/steps.py [prep] [rows] [labels]     (PREP_PG_DSN names the PostgreSQL server)

`labels` (comma-separated, e.g. `spline,cyclical`) measures only those steps
next to min_max (`date_parts` reads timestamps made from the same numbers).
Then the size of a `quantile` step's SQL for 10, 100 and
1,000 quantiles: the plain apply (the same text for any number) and the
apply with the fitted values as literals (`--params`: a row per quantile).
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile

import floor
from floor import NUMERIC, Duck, Postgres, timed

REPEATS = 3

# (label, the step after `impute: mean`, whether it works across columns)
STEPS = [
    ("scale: min_max", "{scale: min_max}", False),
    ("scale: standard", "{scale: standard}", False),
    ("scale: robust", "{scale: robust}", False),
    ("binarize", "{binarize: {threshold: 1000}}", False),
    ("function: log1p", "{function: log1p}", False),
    ("bins: uniform", "{bins: {n_bins: 5, strategy: uniform, encode: ordinal}}", False),
    ("bins: quantile", "{bins: {n_bins: 5, encode: ordinal}}", False),
    ("cyclical", "{cyclical: {period: 24}}", False),
    ("spline", "{spline: {}}", False),
    ("quantile", "{quantile: {}}", False),
    ("power", "{power: {}}", False),
    ("quantile: normal", "{quantile: {output_distribution: normal}}", False),
    # On timestamps made from the same numbers (`bench_dates`, below): no imputer.
    ("date_parts", "{date_parts: [year, month, day, day_of_week, day_of_year, hour, minute]}", False),
    ("normalize: l2", "{normalize: l2}", True),
    ("polynomial: 2", "{polynomial: {degree: 2, include_bias: false}}", True),
]


# A timestamp per numeric column: 2000-01-01 plus its value (1,000 to
# 21,000) times 45,000 seconds (up to ~30 years), missing where it is.
DATES = {
    "duckdb": "TIMESTAMP '2000-01-01' + to_seconds(CAST({x} * 45000 AS BIGINT))",
    "postgres": "TIMESTAMP '2000-01-01' + {x} * 45000 * INTERVAL '1 second'",
}


def dates_table(engine):
    """`bench_dates`: `bench_src`'s numbers as timestamps (`t01`...)."""
    engine.run("DROP TABLE IF EXISTS bench_dates")
    columns = ", ".join(f"{DATES[engine.name].format(x=x)} AS t{x[1:]}" for x in NUMERIC)
    engine.run(f"CREATE TABLE bench_dates AS SELECT {columns} FROM bench_src")


def spec(step, across):
    """Every numeric column imputed then through `step` (in groups of four
    across columns); `date_parts` on each timestamp of `bench_dates`."""
    if step.startswith("{date_parts"):
        lines = [f"  t{x[1:]}: [{step}]" for x in NUMERIC]
        return "name: bench\nsource: {table: bench_dates}\nfeatures:\n" + "\n".join(lines) + "\n"
    if not across:
        lines = [f"  {x}: [{{impute: mean}}, {step}]" for x in NUMERIC]
        return "name: bench\nsource: {table: bench_src}\nfeatures:\n" + "\n".join(lines) + "\n"
    groups = [NUMERIC[i:i + 4] for i in range(0, len(NUMERIC), 4)]
    lines = [f"  - columns: [{', '.join(g)}]\n    steps: [{{impute: mean}}, {step}]" for g in groups]
    return "name: bench\nsource: {table: bench_src}\ngroups:\n" + "\n".join(lines) + "\n"


def measure(engine, only):
    rows = {}
    for label, step, across in STEPS:
        if only and label != "scale: min_max" and label not in only:
            continue
        if label == "date_parts":
            dates_table(engine)
        fit, apply, _ = floor.compiled(engine.name, spec(step, across))
        times = {"fit": [], "apply": []}
        for _ in range(REPEATS):
            for table in ("bench__params", "prep_out"):
                engine.run(f"DROP TABLE IF EXISTS {table}")
            times["fit"].append(timed(engine, f"CREATE TABLE bench__params AS {fit}"))
            times["apply"].append(timed(engine, f"CREATE TABLE prep_out AS {apply}"))
        rows[label] = {k: statistics.median(v) for k, v in times.items()}
    base = rows["scale: min_max"]
    for label, t in rows.items():
        print(
            f"{engine.name:9} {label:16} fit {t['fit']:.3f} s ({t['fit'] / base['fit']:.2f}x min_max)   "
            f"apply {t['apply']:.3f} s ({t['apply'] / base['apply']:.2f}x min_max)"
        )


def quantile_sizes(engine):
    """Bytes of one `quantile` step's apply, plain and with literals, as its
    number of quantiles grows (fitted on the bench table by DuckDB)."""
    for n in (10, 100, 1000):
        text = f"name: bench\nsource: {{table: bench_src}}\nfeatures:\n  x01: [{{quantile: {{n_quantiles: {n}}}}}]\n"
        fit, apply, _ = floor.compiled(engine.name, text)
        with tempfile.TemporaryDirectory() as d:
            spec = os.path.join(d, "bench.yml")
            with open(spec, "w") as f:
                f.write(text)
            cur = engine.con.execute(fit)
            names = [c[0] for c in cur.description]
            with open(os.path.join(d, "result.json"), "w") as f:
                json.dump([dict(zip(names, r)) for r in cur.fetchall()], f)
            fitted = os.path.join(d, "bench.fitted.yml")
            subprocess.run([floor.PREP, "fit", spec, "--from-result", os.path.join(d, "result.json"), "--out", fitted],
                           check=True, capture_output=True)
            bound = subprocess.run([floor.PREP, "compile", spec, "--dialect", engine.name, "--params", fitted],
                                   check=True, capture_output=True, text=True).stdout
        print(f"quantile, {n:5} quantiles: apply {len(apply):,} bytes, with literals (--params) {len(bound):,} bytes")


def main():
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    only = set(sys.argv[3].split(",")) if len(sys.argv) > 3 else set()
    print(f"each step after impute: mean on {len(NUMERIC)} columns, {rows:,} rows (median of {REPEATS})")
    for engine in (Duck, Postgres):
        measure(engine(rows), only)
    if not only or "quantile" in only:
        quantile_sizes(Duck(10_000))


if __name__ == "__main__":
    main()
