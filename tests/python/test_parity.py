"""Truth tests: prep's compiled SQL, run on real engines, equals scikit-learn.

For each spec in tests/parity and each engine: load the spec's table, run
prep's fit query and store its row as the parameters relation, run the apply
query (and the one-statement --inline form), then compare every value, row by
row on the key, and every column name and order with scikit-learn's pipeline
fitted on the same training rows.
"""

import glob
import json
import os
import subprocess
import tempfile

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml

import datasets
from engines import ClickHouse, DuckDB, Postgres, RedshiftOnPostgres, Spark, TrinoOnDuckDB
from parity_report import REPORT, cells
from reference import features, indicates, reference

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPECS = sorted(glob.glob(os.path.join(ROOT, "tests", "parity", "*.yml")))
RTOL, ATOL = 1e-9, 1e-12
# A power transform's λ is a maximum found numerically, by scipy's
# `fminbound` and by prep's grids of λ: they agree to about 1e-7 where the
# likelihood has a clear maximum, and to about 1e-4 where it is flat (where
# scipy's own λ moves by 2e-5 with its starting point); `test_power.py`
# checks the λ values. The outputs of a spec with a power step are held to
# this, absolute or relative.
POWER_TOLERANCE = 1e-5

_engines = {}


def engine(name):
    if name not in _engines:
        _engines[name] = {
            "duckdb": DuckDB,
            "postgres": Postgres,
            "redshift-on-postgres": RedshiftOnPostgres,
            "databricks-on-spark": Spark,
            "trino-on-duckdb": TrinoOnDuckDB,
            "clickhouse": ClickHouse,
        }[name]()
    return _engines[name]


def compile_sql(prep_bin, spec, dialect, *extra):
    out = subprocess.run([prep_bin, "compile", spec, "--dialect", dialect, *extra], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


def training_rows(df, where):
    """The rows `fit.where` keeps, evaluated by DuckDB over the DataFrame (not by prep)."""
    if not where:
        return df
    con = duckdb.connect()
    con.register("t", df)
    ids = {r[0] for r in con.execute(f"SELECT id FROM t WHERE {where}").fetchall()}
    return df[df["id"].isin(ids)].reset_index(drop=True)


def feature_cells(spec):
    """(feature, its option cells) for every feature of the spec."""
    return [(col, cells(steps, declared)) for col, declared, steps in features(spec)]


# Known failures, skipped loudly (pytest -rs prints each reason; the README's
# known limitations say them): a spec the engine cannot run at all.
KNOWN_FAILURES = {
    **{(name, "databricks-on-spark"):
       "KNOWN FAILURE: Spark analyses a power step's fit in 12 s and runs it in 20 s (penguins_power, "
       "local[2]), but this test of its forms (the apply with literals, fit and apply in one statement) "
       "ran past 10 minutes; after a learned step its analyser does not resolve the plan (100 rounds)"
       for name in ("penguins_power", "adversarial_power", "penguins_power_chained")},
    **{(name, "clickhouse"):
       "KNOWN FAILURE: ClickHouse's query tree outgrows its 500,000 elements for a power step "
       "(it copies each CTE into every reader, and the grid's passes nest)"
       for name in ("penguins_power", "adversarial_power", "penguins_power_chained")},
}


def tolerances(spec):
    """(relative, absolute) tolerance of a spec's outputs."""
    powers = any(kind == "power" for _, _, steps in features(spec) for step in steps for kind in step)
    return (POWER_TOLERANCE, POWER_TOLERANCE) if powers else (RTOL, ATOL)


def compare(got: pd.DataFrame, want: pd.DataFrame, key: str, tolerance=(RTOL, ATOL)):
    rtol, atol = tolerance
    assert list(got.columns) == list(want.columns), "output columns and their order"
    got = got.sort_values(key).reset_index(drop=True)
    want = want.sort_values(key).reset_index(drop=True)
    worst = 0.0
    for col in want.columns:
        w, g = want[col].to_numpy(), got[col].to_numpy()
        if w.dtype == object:
            assert list(g) == list(w), col
            continue
        w = w.astype(float)
        g = np.array([np.nan if v is None else float(v) for v in g])
        assert np.array_equal(np.isnan(g), np.isnan(w)), f"{col}: missing values differ"
        ok = ~np.isnan(w)
        diff = np.abs(g[ok] - w[ok])
        bad = diff > np.maximum(atol, rtol * np.abs(w[ok]))
        assert not bad.any(), f"{col}: {g[ok][bad][:5]} != {w[ok][bad][:5]}"
        # Relative error where it means something; near zero the absolute bound applies.
        big = np.abs(w[ok]) >= atol / rtol
        if big.any():
            worst = max(worst, float(np.max(diff[big] / np.abs(w[ok][big]))))
    return worst


def learns_categories(spec):
    """Whether some output columns exist only once categories are learned."""
    for _, _, steps in features(spec):
        for step in steps:  # an encoder, with steps after it or not
            (kind, opts), = step.items()
            if kind == "bins" and (opts or {}).get("encode", "onehot") != "ordinal":
                return True  # one column per bin the fit keeps
            if indicates(step):
                return True  # the indicator exists where the fit saw a missing value
            if kind in ("one_hot", "ordinal"):
                opts = opts or {}
                if not isinstance(opts.get("categories"), list) or "min_frequency" in opts or "max_categories" in opts:
                    return True
    return False


def fit_through_result_file(prep_bin, eng, spec_path, out, as_json):
    """The warehouse path: run prep's fit query, export its result, `prep fit
    --from-result`, then the apply query with every fitted value as a literal."""
    result = eng.query(compile_sql(prep_bin, spec_path, eng.dialect, "--emit", "fit-sql"))
    path = os.path.join(out, "fit_result.json" if as_json else "fit_result.csv")
    if as_json:
        records = [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
                   for r in result.to_dict(orient="records")]
        with open(path, "w") as f:
            json.dump(records, f)  # Python writes floats in shortest round-trip form
    else:
        result.to_csv(path, index=False)
    params = os.path.join(out, "params.fitted.yml")
    done = subprocess.run([prep_bin, "fit", spec_path, "--from-result", path, "--out", params], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return eng.query(compile_sql(prep_bin, spec_path, eng.dialect, "--params", params))


@pytest.mark.parametrize("engine_name", ["duckdb", "postgres", "redshift-on-postgres", "databricks-on-spark", "trino-on-duckdb", "clickhouse"])
@pytest.mark.parametrize("spec_path", SPECS, ids=[os.path.basename(s)[:-4] for s in SPECS])
def test_parity(prep_bin, spec_path, engine_name):
    spec = yaml.safe_load(open(spec_path))
    if (spec["name"], engine_name) in KNOWN_FAILURES:
        pytest.skip(KNOWN_FAILURES[(spec["name"], engine_name)])
    table = spec["source"]["table"]
    df, types = datasets.TABLES[table]()
    eng = engine(engine_name)
    eng.load(table, df, types)
    passed, worst = False, float("nan")
    try:
        with tempfile.TemporaryDirectory() as out:
            # JSON keeps the empty string apart from NULL; CSV cannot.
            as_json = table == "adversarial"
            bound = fit_through_result_file(prep_bin, eng, spec_path, out, as_json)
            if not learns_categories(spec):
                compile_sql(prep_bin, spec_path, eng.dialect, "--out", out)
                fit = open(os.path.join(out, f"{spec['name']}.fit.sql")).read()
                apply = open(os.path.join(out, f"{spec['name']}.apply.sql")).read()
                eng.store(f'{spec["name"]}__params', fit)
                params = eng.query(f'SELECT * FROM {eng.quote(spec["name"] + "__params")}')
                assert list(params.columns) == ["parameter", "kind", "number", "text", "frequency"]
                values = params[params["kind"] == "value"]["parameter"]
                assert len(values) > 0 and values.is_unique, "one row per fitted parameter"
                got = eng.query(apply)
                inline = eng.query(compile_sql(prep_bin, spec_path, eng.dialect, "--inline"))
                # Same numbers, bit for bit: parameters read from a relation, from
                # the same statement, or written as literals (rows in key order:
                # a query's rows have none, and a join may move them).
                key = spec["keys"][0]
                in_order = lambda d: d.sort_values(key).reset_index(drop=True)
                # Spark's sums are not the same to the last bit from one run
                # of a fit to the next where the rows reach them through a
                # shuffle (a quantile step's join, then a scaler): the order
                # its partial sums merge in follows the plan. Its forms agree
                # to 1e-13 there; every other engine's, bit for bit.
                # A power step's λ comes from sums over the rows crossed with
                # a grid (thousands of terms), which a parallel engine
                # (DuckDB) adds in an order of its own from one run to the
                # next, and the parabola through three likelihoods a step
                # 1e-3 apart divides their last-bit differences by about
                # 1e-4: λ, and the outputs, move by about 1e-11.
                same = {"check_exact": True}
                if engine_name == "databricks-on-spark":
                    same = {"check_exact": False, "rtol": 1e-13, "atol": 0.0}
                if tolerances(spec) != (RTOL, ATOL):
                    same = {"check_exact": False, "rtol": 1e-9, "atol": 1e-12}
                pd.testing.assert_frame_equal(in_order(got), in_order(inline), **same)
                pd.testing.assert_frame_equal(in_order(got), in_order(bound), **same)
        train = training_rows(df, (spec.get("fit") or {}).get("where"))
        want = reference(spec, train, df)
        worst = compare(bound, want, spec["keys"][0], tolerances(spec))
        passed = True
    finally:
        for _, feature_options in feature_cells(spec):
            for cell in feature_options:
                REPORT.add(cell, engine_name, table, passed, 0.0 if np.isnan(worst) else worst)


# A value scikit-learn refuses stops the query on every engine, the message
# naming the column and the value or the transformer: a spec's features, and
# two words the message holds.
STOPS = {
    # handle_unknown: error, and a category never seen.
    "unknown_category": ("level: [{one_hot: {categories: [low, mid, high], handle_unknown: error}}]",
                         ["extreme", "level"]),
    # A missing value reaching a step across columns (Normalizer refuses NaN).
    "missing_across": ("gappy: [{normalize: l2}]", ["gappy", "Normalizer"]),
    # SplineTransformer's handle_missing: error (its default).
    "missing_spline": ("gappy: [{spline: {}}]", ["gappy", "SplineTransformer"]),
}


@pytest.mark.parametrize("engine_name", ["duckdb", "postgres", "redshift-on-postgres", "databricks-on-spark", "trino-on-duckdb", "clickhouse"])
@pytest.mark.parametrize("case", sorted(STOPS))
def test_what_scikit_learn_refuses_stops_the_query(prep_bin, engine_name, case, tmp_path):
    features, words = STOPS[case]
    spec_path = tmp_path / "strict.yml"
    spec_path.write_text(f"name: strict\nsource: {{table: adversarial}}\nkeys: [id]\nfeatures:\n  {features}\n")
    df, types = datasets.adversarial()
    eng = engine(engine_name)
    eng.load("adversarial", df, types)
    sql = compile_sql(prep_bin, str(spec_path), eng.dialect, "--inline")
    with pytest.raises(Exception) as failure:
        eng.query(sql)
    assert all(word in str(failure.value) for word in words), str(failure.value)[:500]


def test_bigquery_snowflake_and_sql_server_are_not_executed_here():
    """Said loudly: these warehouses cannot run on this machine (Trino's
    text runs on DuckDB: trino-on-duckdb)."""
    REPORT.not_executed.update({"bigquery", "snowflake", "mssql"})


def test_every_option_passes_on_real_and_adversarial_data_on_every_engine():
    """Runs last: the matrix of the issue's acceptance, checked."""
    missing = REPORT.missing()
    assert not missing, "no passing case for:\n" + "\n".join(missing)
