"""Wide specs on every executed engine: the fit, the apply and the one
statement, with values equal to scikit-learn's.

PostgreSQL holds at most 1,664 columns in a query's row; a fit of a few
hundred features has several thousand parameters, so prep keeps them in
chunks there (one-row relations of at most that width) and the apply reads
each from its chunk; DuckDB takes any width but plans a row of more than
1,000 statistics slowly, so it is chunked there too. Spark takes one row. The
widths are each engine's (PostgreSQL's table also holds at most 1,600 columns
and 8,160 bytes per row, so its table has 600 numeric columns; DuckDB and
Spark take 2,000). ClickHouse takes one row; its statements are past its
default size limits, which each raises in its SETTINGS clause."""

import copy
import os
import tempfile

import numpy as np
import pandas as pd
import pytest
import yaml

from datasets import INTEGER, NUMERIC, TEXT, _typed
from reference import reference
from test_parity import compare, compile_sql, engine, fit_through_result_file

# Each feature takes the next of these, so every kind of scan is chunked:
# moments, percentiles, the most frequent value, learned vocabularies.
STEPS = [
    [{"impute": "mean"}, {"scale": "standard"}],
    [{"impute": "median"}, {"scale": "robust"}],
    [{"scale": "min_max"}],
    [{"impute": "most_frequent"}, {"scale": "max_abs"}],
    [{"impute": {"strategy": "constant", "fill_value": -1}}, {"scale": "standard"}],
]
WIDTHS = {"duckdb": 600, "postgres": 600, "redshift-on-postgres": 400, "databricks-on-spark": 100, "clickhouse": 600}


def wide_table(n):
    """`n` numeric columns of 60 rows (a tenth missing, some as NaN), two text columns."""
    rng = np.random.default_rng(n)
    rows = 60
    df = pd.DataFrame({"id": np.arange(rows, dtype=np.int64)})
    columns = {}
    for i in range(n):
        x = rng.normal(i % 7, 1 + i % 3, rows).round(3)
        x[rng.random(rows) < 0.1] = np.nan
        columns[f"x{i}"] = x
    df = pd.concat([df, pd.DataFrame(columns)], axis=1)
    df["shop"] = rng.choice(["north", "south", "east", "west'"], rows).astype(object)
    df["tier"] = rng.choice(["gold", "silver", "bronze"], rows).astype(object)
    types = {"id": INTEGER, **{f"x{i}": NUMERIC for i in range(n)}, "shop": TEXT, "tier": TEXT}
    return _typed(df[list(types)], types)


def wide_spec(n):
    features = {f"x{i}": copy.deepcopy(STEPS[i % len(STEPS)]) for i in range(n)}
    features["shop"] = [{"one_hot": {}}]
    features["tier"] = [{"ordinal": {"categories": ["bronze", "silver", "gold"]}}]
    return {"name": "wide", "source": {"table": "wide"}, "keys": ["id"], "features": features}


@pytest.mark.parametrize("engine_name", list(WIDTHS))
def test_wide_specs_fit_and_apply_equal_scikit_learn(prep_bin, engine_name):
    n = WIDTHS[engine_name]
    df, types = wide_table(n)
    spec = wide_spec(n)
    eng = engine(engine_name)
    eng.load("wide", df, types)
    with tempfile.TemporaryDirectory() as out:
        spec_path = os.path.join(out, "wide.yml")
        with open(spec_path, "w") as f:
            yaml.safe_dump(spec, f, sort_keys=False)
        fit = compile_sql(prep_bin, spec_path, eng.dialect, "--emit", "fit-sql")
        # Chunked where the engine's row is narrower than the fit (PostgreSQL),
        # or where it plans a wide row slowly (DuckDB, past 1,000 statistics).
        chunked = '"prep_params_0_2"' in fit
        assert chunked == (eng.dialect in ("postgres", "redshift", "duckdb")), eng.dialect
        # The warehouse path: the fit's result, then literals (learned categories too).
        bound = fit_through_result_file(prep_bin, eng, spec_path, out, as_json=True)
        compare(bound, reference(spec, df, df), "id")

        # Without the learned one-hot, the plain SQL can be written: the
        # apply reading the stored fit, and the one statement, give the same bits.
        del spec["features"]["shop"]
        with open(spec_path, "w") as f:
            yaml.safe_dump(spec, f, sort_keys=False)
        plain = os.path.join(out, "plain")
        compile_sql(prep_bin, spec_path, eng.dialect, "--out", plain)
        eng.store("wide__params", open(os.path.join(plain, "wide.fit.sql")).read())
        got = eng.query(open(os.path.join(plain, "wide.apply.sql")).read())
        inline = eng.query(compile_sql(prep_bin, spec_path, eng.dialect, "--inline"))
        pd.testing.assert_frame_equal(got, inline, check_exact=True)
        pd.testing.assert_frame_equal(got, bound.drop(columns=[c for c in bound.columns if c.startswith("shop")]),
                                      check_exact=True)
