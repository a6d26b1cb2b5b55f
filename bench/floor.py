#!/usr/bin/env python3
"""prep's SQL against a hand-written floor, on DuckDB and PostgreSQL.

The table: N rows, 20 numeric columns (5% NULL) and 3 text columns of 5
categories (5% NULL), generated inside each engine. The spec: every numeric
column imputed with its mean and standard-scaled, every text column imputed
with a constant and one-hot encoded (given categories). Then the same at
widths of 200, 400, 1,000 and 2,000 numeric columns on fewer rows (a
PostgreSQL row holds at most 8,160 bytes, so its widest run is 400), with
the one statement (`--inline`) timed against fit + apply.

The floor is what a person would write by hand for the same output: a fit of
one aggregate pass with exactly the statistics needed (AVG, VAR_POP, COUNT),
and an apply of one projection with the fitted values as literal constants.
prep's fit computes the variance in two passes (the values minus their mean,
as numpy does: one pass loses digits when the mean is large against the
spread), so the fit is also compared with a hand-written two-pass fit; its
apply reads the fitted parameters from their relation.

Runs are interleaved (prep fit, floor fit, prep apply, floor apply, repeated)
and each figure is the median of the repeats. Both sides materialise their
result as a table. Then the compile time (fastest of three) and peak memory
(largest) of a 1,000-feature spec. Numbers are printed, not asserted.

    bash bench/floor.sh [rows]      (sets up PostgreSQL and the venv, builds prep)
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time

import duckdb
import psycopg2

PREP = sys.argv[1] if len(sys.argv) > 1 else "target/release/prep"
ROWS = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
REPEATS = 5
NUMERIC = [f"x{i:02d}" for i in range(1, 21)]
# (numeric columns, rows, engines) of the wide runs.
# PostgreSQL stores at most 8,160 bytes in a row (about 1,000 doubles): the
# floor's stored fit holds two per column, so its widest run is 400.
WIDE = [
    (200, 100_000, ("duckdb", "postgres")),
    (400, 50_000, ("postgres",)),
    (1000, 20_000, ("duckdb",)),
    (2000, 10_000, ("duckdb",)),
]
TEXT = ["c1", "c2", "c3"]
CATEGORIES = ["k0", "k1", "k2", "k3", "k4", "missing"]


def spec():
    lines = [f"  {x}: [{{impute: mean}}, {{scale: standard}}]" for x in NUMERIC]
    cats = ", ".join(CATEGORIES)
    lines += [
        f"  {c}: [{{impute: {{strategy: constant, fill_value: missing}}}}, "
        f"{{one_hot: {{categories: [{cats}], handle_unknown: ignore}}}}]"
        for c in TEXT
    ]
    return "name: bench\nsource: {table: bench_src}\nfeatures:\n" + "\n".join(lines) + "\n"


def compiled(dialect, text=None):
    """prep's fit, apply and one statement for `dialect`, of `text` (a spec
    named bench; by default this bench's)."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "bench.yml")
        with open(path, "w") as f:
            f.write(spec() if text is None else text)
        subprocess.run(
            [PREP, "compile", path, "--dialect", dialect, "--out", d],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        read = lambda name: open(os.path.join(d, name)).read()
        inline = subprocess.run(
            [PREP, "compile", path, "--dialect", dialect, "--inline"],
            check=True, capture_output=True, text=True,
        ).stdout
        return read("bench.fit.sql"), read("bench.apply.sql"), inline


def generate(random, nulls):
    """The rows, as SQL over a row-number column `i` (`random` and `nulls` are the engine's spellings)."""
    cols = [
        f"CASE WHEN {random} < 0.05 THEN NULL ELSE {random} * {10 * k} + {k * 1000} END AS {x}"
        for k, x in enumerate(NUMERIC, start=1)
    ]
    cols += [
        f"CASE WHEN {random} < 0.05 THEN NULL ELSE 'k' || CAST(FLOOR({random} * 5) AS INTEGER) END AS {c}"
        for c in TEXT
    ]
    return ", ".join(cols)


def floor_fit():
    parts = []
    for x in NUMERIC:
        parts += [f"AVG({x}) AS {x}__mean", f"VAR_POP({x}) AS {x}__var"]
    return "SELECT " + ", ".join(parts) + " FROM bench_src"


def floor_fit_two_pass():
    """The same statistics as numpy computes them (and as prep does): the
    variance of the values minus their mean, learned once the mean is."""
    means = ", ".join(f"AVG({x}) AS {x}" for x in NUMERIC)
    parts = []
    for x in NUMERIC:
        parts += [f"MAX(m.{x}) AS {x}__mean", f"VAR_POP(s.{x} - m.{x}) AS {x}__var"]
    return f"WITH m AS (SELECT {means} FROM bench_src) SELECT " + ", ".join(parts) + " FROM bench_src s CROSS JOIN m"


def floor_apply(stats):
    """One projection with the fitted values as literals (the floor's fit gives them)."""
    cols = []
    for x in NUMERIC:
        mean, var = stats[f"{x}__mean"], stats[f"{x}__var"]
        scale = var ** 0.5 if var > 0 else 1.0
        cols.append(f"(COALESCE({x}, {mean!r}) - {mean!r}) / {scale!r} AS {x}")
    for c in TEXT:
        filled = f"COALESCE({c}, 'missing')"
        cols += [f"CASE WHEN {filled} = '{k}' THEN 1.0 ELSE 0.0 END AS {c}_{k}" for k in CATEGORIES]
    return "SELECT " + ", ".join(cols) + " FROM bench_src"


class Duck:
    name = "duckdb"

    def __init__(self, rows=ROWS):
        self.rows = rows
        self.con = duckdb.connect()
        self.con.execute("SELECT setseed(0.42)")
        self.con.execute(f"CREATE TABLE bench_src AS SELECT {generate('random()', 'NULL')} FROM range({rows}) t(i)")

    def run(self, sql):
        self.con.execute(sql)

    def stats(self, sql):
        cur = self.con.execute(sql)
        names = [d[0] for d in cur.description]
        return dict(zip(names, cur.fetchone()))


class Postgres:
    name = "postgres"

    def __init__(self, rows=ROWS):
        self.rows = rows
        self.con = psycopg2.connect(os.environ["PREP_PG_DSN"])
        self.con.autocommit = True
        self.cur = self.con.cursor()
        self.cur.execute("DROP TABLE IF EXISTS bench_src")
        self.cur.execute("SELECT setseed(0.42)")
        self.cur.execute(
            f"CREATE TABLE bench_src AS SELECT {generate('random()', 'NULL')} FROM generate_series(1, {rows}) t(i)"
        )
        self.cur.execute("ANALYZE bench_src")

    def run(self, sql):
        self.cur.execute(sql)

    def stats(self, sql):
        self.cur.execute(sql)
        names = [d[0] for d in self.cur.description]
        return dict(zip(names, self.cur.fetchone()))


def timed(engine, sql):
    start = time.perf_counter()
    engine.run(sql)
    return time.perf_counter() - start


def measure(engine, repeats=REPEATS):
    fit, apply, inline = compiled(engine.name)
    floor_stats = engine.stats(floor_fit())
    kinds = ("prep fit", "floor fit", "two-pass fit", "prep apply", "floor apply", "prep inline")
    times = {k: [] for k in kinds}
    for _ in range(repeats):
        for table in ("bench__params", "floor_params", "floor_params_2", "prep_out", "floor_out", "prep_inline"):
            engine.run(f"DROP TABLE IF EXISTS {table}")
        times["prep fit"].append(timed(engine, f"CREATE TABLE bench__params AS {fit}"))
        times["floor fit"].append(timed(engine, f"CREATE TABLE floor_params AS {floor_fit()}"))
        times["two-pass fit"].append(timed(engine, f"CREATE TABLE floor_params_2 AS {floor_fit_two_pass()}"))
        times["prep apply"].append(timed(engine, f"CREATE TABLE prep_out AS {apply}"))
        times["floor apply"].append(timed(engine, f"CREATE TABLE floor_out AS {floor_apply(floor_stats)}"))
        times["prep inline"].append(timed(engine, f"CREATE TABLE prep_inline AS {inline}"))
    med = {k: statistics.median(v) for k, v in times.items()}
    total = (med["prep fit"] + med["prep apply"]) / (med["floor fit"] + med["floor apply"])
    print(
        f"{engine.name:9} {len(NUMERIC):>5} columns {engine.rows:>10,} rows  fit {med['prep fit']:.3f} s / {med['floor fit']:.3f} s = "
        f"{med['prep fit'] / med['floor fit']:.2f}   apply {med['prep apply']:.3f} s / {med['floor apply']:.3f} s = "
        f"{med['prep apply'] / med['floor apply']:.2f}   total {total:.2f}"
    )
    print(
        f"{'':9} {'':>10}       fit against a two-pass floor (the variance as numpy computes it): "
        f"{med['prep fit']:.3f} s / {med['two-pass fit']:.3f} s = {med['prep fit'] / med['two-pass fit']:.2f}"
    )
    both = med["prep fit"] + med["prep apply"]
    print(f"{'':9} {'':>28}  --inline against fit + apply: {med['prep inline']:.3f} s / {both:.3f} s = {med['prep inline'] / both:.2f}")


def compile_wide(features=1000):
    text = "name: wide\nsource: {table: t}\nfeatures:\n" + "".join(
        f"  f{i}: [{{impute: mean}}, {{scale: standard}}]\n" for i in range(features)
    )
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "wide.yml")
        with open(path, "w") as f:
            f.write(text)
        runs = []
        for _ in range(3):
            done = subprocess.run(
                ["/usr/bin/time", "-f", "%e %M", PREP, "compile", path, "--dialect", "postgres"],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=True,
            )
            seconds, kb = done.stderr.strip().splitlines()[-1].split()
            runs.append((float(seconds), int(kb) / 1024))
    print(
        f"compile of {features:,} features (postgres): {min(r[0] for r in runs) * 1000:.0f} ms, "
        f"{max(r[1] for r in runs):.0f} MB peak"
    )


def main():
    print("prep / floor (median of", REPEATS, "interleaved runs; below 1 is faster than the floor)")
    global NUMERIC
    for engine in (Duck, Postgres):
        measure(engine())
    for width, rows, engines in WIDE:
        NUMERIC = [f"x{i:04d}" for i in range(1, width + 1)]
        for engine in (Duck, Postgres):
            if engine.name in engines:
                measure(engine(rows), repeats=3)
    compile_wide()


if __name__ == "__main__":
    main()
