#!/usr/bin/env python3
"""Output size, time and peak memory of `prep compile` as specs grow.

Prints, for chained steps, given categories and features, the bytes prep
writes (fit + apply, and --inline), the wall time (fastest of five runs)
and the peak resident memory (largest of five) of the command, and the
growth from one size to the next (a linear output doubles when the input
doubles). Run with a release build:

    cargo build --release --no-default-features
    python3 bench/compile_size.py target/release/prep

Numbers are measured, not asserted: tests assert only sizes (tests/hostile.rs).
"""

import os
import subprocess
import sys
import tempfile

PREP = sys.argv[1] if len(sys.argv) > 1 else "target/release/prep"
DIALECTS = ["postgres", "duckdb", "databricks"]
# Wide specs differ most between dialects (long-form styles, guards): all of them.
ALL_DIALECTS = ["postgres", "redshift", "duckdb", "databricks", "bigquery", "snowflake"]
# The budget for the largest case of each kind: seconds and peak MB.
BUDGET = (2.0, 500.0)


def chained(n):
    steps = ", ".join(["{impute: mean}", "{scale: {min_max: {clip: true}}}"] * (n // 2) + ["{impute: mean}"] * (n % 2))
    return f"name: chain\nsource: {{table: t}}\nfeatures:\n  x: [{steps}]\n"


def categories(n):
    cats = ", ".join(f"c{i}" for i in range(n))
    return (
        "name: cats\nsource: {table: t}\nfeatures:\n"
        f"  x: [{{impute: {{strategy: constant, fill_value: c0}}}}, {{one_hot: {{categories: [{cats}], handle_unknown: error}}}}]\n"
    )


def features(n):
    lines = "".join(f"  f{i}: [{{impute: mean}}, {{scale: standard}}]\n" for i in range(n))
    return f"name: wide\nsource: {{table: t}}\nfeatures:\n{lines}"


CASES = [
    ("chained steps", chained, [1, 10, 100], DIALECTS),
    ("given categories (handle_unknown: error)", categories, [10, 100, 1000, 10000], DIALECTS),
    ("features (impute mean, standard scale)", features, [100, 1000, 5000, 20000], ALL_DIALECTS),
]


RUNS = 5


def measure(spec_text, dialect, *extra):
    """Bytes, and the fastest time and largest peak memory of RUNS runs: this
    machine's kernel adds up to half a second of system time to a run at
    random, and the fastest run is the closest to prep's own cost."""
    runs = [measure_once(spec_text, dialect, *extra) for _ in range(RUNS)]
    return runs[0][0], min(r[1] for r in runs), max(r[2] for r in runs)


def measure_once(spec_text, dialect, *extra):
    with tempfile.TemporaryDirectory() as d:
        spec = os.path.join(d, "spec.yml")
        with open(spec, "w") as f:
            f.write(spec_text)
        out = os.path.join(d, "out.sql")
        with open(out, "w") as sink:
            done = subprocess.run(
                ["/usr/bin/time", "-f", "%e %M", PREP, "compile", spec, "--dialect", dialect, *extra],
                stdout=sink, stderr=subprocess.PIPE, text=True,
            )
        if done.returncode != 0:
            raise SystemExit(done.stderr)
        seconds, kb = done.stderr.strip().splitlines()[-1].split()
        return os.path.getsize(out), float(seconds), int(kb) / 1024


def main():
    print(f"{'case':44} {'n':>6} {'dialect':10} {'form':8} {'bytes':>11} {'growth':>7} {'seconds':>8} {'peak MB':>8}")
    largest = {}
    for name, make, sizes, dialects in CASES:
        for dialect in dialects:
            for form, extra in (("sql", []), ("inline", ["--inline"])):
                previous = None
                for n in sizes:
                    size, seconds, mb = measure(make(n), dialect, *extra)
                    growth = "" if previous is None else f"{size / previous[0] / (n / previous[1]):.2f}"
                    print(f"{name:44} {n:>6} {dialect:10} {form:8} {size:>11,} {growth:>7} {seconds:>8.2f} {mb:>8.1f}")
                    previous = (size, n)
                # The last row measured is the largest size.
                worst = largest.get(name, (n, 0.0, 0.0))
                largest[name] = (n, max(worst[1], seconds), max(worst[2], mb))
    print("growth: (bytes ratio) / (input ratio) from the row above; 1.00 is linear")
    print(f"\nthe largest of each case, worst over dialects and forms, against {BUDGET[0]} s and {BUDGET[1]:.0f} MB:")
    for name, (n, seconds, mb) in largest.items():
        within = "within" if seconds < BUDGET[0] and mb < BUDGET[1] else "OVER"
        print(f"{name:44} {n:>6} {seconds:>6.2f} s {mb:>7.1f} MB  {within}")


if __name__ == "__main__":
    main()
