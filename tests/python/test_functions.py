"""The row-wise steps at their edges, on every engine: each function's value
to NumPy's last digits (the parity suite's absolute tolerance would pass a
tiny value read as 0), a missing value where NumPy's is NaN or infinite, and
a missing value reaching binarize stops the query, as scikit-learn refuses it."""

import numpy as np
import pandas as pd
import pytest

from datasets import INTEGER, NUMERIC
from test_parity import compile_sql, engine

ENGINES = ["duckdb", "postgres", "redshift-on-postgres", "databricks-on-spark", "trino-on-duckdb", "clickhouse"]
FUNCTIONS = ["log", "log1p", "sqrt", "exp", "square", "sign", "abs"]
VALUES = [1e-200, 1e-17, 3e-9, -0.5, 0.25, 3.0, 700.0, 709.78, 710.0, -745.0, -746.0, -1.0, -2.0, 0.0,
          -0.0, 1.3e154, 1.4e154, 1e-160, 1e-170, 1e300, None]


def expected(name, x):
    with np.errstate(all="ignore"):
        y = getattr(np, name)(np.asarray(x, dtype=float))
    return np.where(np.isfinite(y), y, np.nan)


@pytest.mark.parametrize("engine_name", ENGINES)
def test_functions_give_numpys_digits_or_a_missing_value(prep_bin, engine_name, tmp_path):
    df = pd.DataFrame({"id": np.arange(len(VALUES), dtype=np.int64)})
    for name in FUNCTIONS:
        df[name] = np.array([np.nan if v is None else v for v in VALUES], dtype=float)
    eng = engine(engine_name)
    eng.load("edges", df, {"id": INTEGER, **{n: NUMERIC for n in FUNCTIONS}})
    spec = tmp_path / "edges.yml"
    spec.write_text("name: edges\nsource: {table: edges}\nkeys: [id]\nfeatures:\n"
                    + "".join(f"  {n}: [{{function: {n}}}]\n" for n in FUNCTIONS))
    got = eng.query(compile_sql(prep_bin, str(spec), eng.dialect, "--inline")).sort_values("id")
    for name in FUNCTIONS:
        want = expected(name, df[name])
        have = pd.to_numeric(got[name], errors="coerce").to_numpy(dtype=float)
        for x, h, w in zip(df[name], have, want):
            if np.isnan(w):
                assert np.isnan(h), (name, x, h)
            else:
                # A correctly rounded libm and the engine's may differ in the last bit.
                assert abs(h - w) <= 4 * np.finfo(float).eps * abs(w), (name, x, h, w)


@pytest.mark.parametrize("engine_name", ENGINES)
def test_a_missing_value_reaching_binarize_stops_the_query(prep_bin, engine_name, tmp_path):
    df = pd.DataFrame({"id": np.arange(3, dtype=np.int64), "x": [0.5, np.nan, 2.0]})
    eng = engine(engine_name)
    eng.load("holes", df, {"id": INTEGER, "x": NUMERIC})
    spec = tmp_path / "holes.yml"
    spec.write_text("name: holes\nsource: {table: holes}\nkeys: [id]\nfeatures:\n  x: [{binarize: {threshold: 1}}]\n")
    sql = compile_sql(prep_bin, str(spec), eng.dialect, "--inline")
    with pytest.raises(Exception) as failure:
        eng.query(sql)
    assert "binarize" in str(failure.value) and "column x" in str(failure.value)
    # Imputed first, it scores.
    spec.write_text("name: holes\nsource: {table: holes}\nkeys: [id]\nfeatures:\n"
                    "  x: [{impute: mean}, {binarize: {threshold: 1}}]\n")
    got = eng.query(compile_sql(prep_bin, str(spec), eng.dialect, "--inline")).sort_values("id")
    assert list(got["x"].astype(float)) == [0.0, 1.0, 1.0]
