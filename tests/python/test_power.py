"""The λ prep learns for `power` against scikit-learn's `lambdas_`, on the
parity specs' training rows, on DuckDB and PostgreSQL.

Both maximise the same likelihood by different searches (scipy's
`fminbound`, prep's grids of λ in the warehouse): where the maximum is
inside scipy's bounds, λ agrees within 1e-4 (1e-7 typically; the test
states the median too); where the likelihood grows toward a bound, prep's
λ is the bound and scipy's stops short of it by its own tolerance."""

import os
import subprocess

import numpy as np
import pytest
import yaml
from sklearn.pipeline import make_pipeline

import datasets
from reference import _column, _looks_numeric, _step, features
from test_parity import ROOT, compile_sql, engine, training_rows

SPECS = [os.path.join(ROOT, "tests", "parity", f) for f in
         ("penguins_power.yml", "adversarial_power.yml", "penguins_power_chained.yml")]


def _bounds(x):
    """scipy's yeojohnson_normmax bounds for the non-missing values `x`."""
    m = np.log1p(20 * np.max(np.abs(x)))
    tiny, big, eps = np.finfo(float).tiny, np.finfo(float).max, np.finfo(float).eps
    lb, ub = (np.log(tiny) - np.log(eps)) / 2 / m, (np.log(big) + np.log(eps)) / 2 / m
    if np.all(x < 0):
        return 2 - ub, 2 - lb
    if np.any(x < 0):
        return max(2 - ub, lb), min(2 - lb, ub)
    return lb, ub


def _lambdas(spec, train):
    """scikit-learn's λ of each power step, with its input values."""
    out = {}
    for col, _, steps in features(spec):
        for k, step in enumerate(steps, start=1):
            if "power" not in step:
                continue
            before = make_pipeline(*[_step(s) for s in steps[:k - 1]]) if k > 1 else None
            x = _column(train, col, _looks_numeric(steps))
            if before is not None:
                x = before.fit_transform(x)
            power = _step(step).fit(x)
            out[f"{col}__s{k}_lambda"] = (power.lambdas_[0], np.asarray(x, dtype=float)[:, 0])
    return out


@pytest.mark.parametrize("engine_name", ["duckdb", "postgres"])
@pytest.mark.parametrize("spec_path", SPECS, ids=[os.path.basename(s)[:-4] for s in SPECS])
def test_lambdas_are_scikit_learns(prep_bin, spec_path, engine_name):
    spec = yaml.safe_load(open(spec_path))
    table = spec["source"]["table"]
    df, types = datasets.TABLES[table]()
    eng = engine(engine_name)
    eng.load(table, df, types)
    fitted = eng.query(compile_sql(prep_bin, spec_path, eng.dialect, "--emit", "fit-sql"))
    ours = dict(zip(fitted["parameter"], fitted["number"]))
    train = training_rows(df, (spec.get("fit") or {}).get("where"))
    interior = []
    for name, (theirs, x) in _lambdas(spec, train).items():
        mine = float(ours[name])
        x = x[~np.isnan(x)]
        lb, ub = _bounds(x)
        reach = 1e-3 * (ub - lb)
        if min(abs(theirs - lb), abs(theirs - ub)) < reach:
            # The likelihood grows toward the bound: both land at it.
            bound = lb if abs(theirs - lb) < reach else ub
            assert abs(mine - bound) < reach, (name, mine, theirs, bound)
        elif theirs == 1.0:
            assert mine == 1.0, (name, mine)  # a constant column
        else:
            assert abs(mine - theirs) <= 1e-4 * max(1.0, abs(theirs)), (name, mine, theirs)
            interior.append(abs(mine - theirs) / max(1.0, abs(theirs)))
    if interior:
        assert np.median(interior) < 1e-6, interior


@pytest.mark.parametrize("engine_name", ["duckdb", "postgres"])
def test_a_column_without_values_has_no_lambda(prep_bin, engine_name, tmp_path):
    """scikit-learn's fit fails on it (scipy's search on an empty array):
    prep's λ is missing, and so is every output."""
    df, types = datasets.adversarial()
    eng = engine(engine_name)
    eng.load("adversarial", df, types)
    spec = tmp_path / "empty.yml"
    spec.write_text("name: empty\nsource: {table: adversarial}\nkeys: [id]\n"
                    "features:\n  all_null: [{power: {}}]\n  gappy: [{power: {}}]\n")
    fitted = eng.query(compile_sql(prep_bin, str(spec), eng.dialect, "--emit", "fit-sql"))
    ours = dict(zip(fitted["parameter"], fitted["number"]))
    assert ours["all_null__s1_lambda"] is None or np.isnan(ours["all_null__s1_lambda"])
    assert np.isfinite(ours["gappy__s1_lambda"])
    out = eng.query(compile_sql(prep_bin, str(spec), eng.dialect, "--inline"))
    assert out["all_null"].isna().all() and out["gappy"].notna().any()
