"""Drift: the drift query's numbers equal a hand computation (numpy, from
the definitions in the README) on real data, on every engine; it reports
drift on a shifted scoring set and none on an unshifted one."""

import math
import os
import subprocess

import numpy as np
import pandas as pd
import pytest
import yaml

import datasets
from test_parity import ROOT, compile_sql, engine, fit_through_result_file

SPEC = os.path.join(ROOT, "tests", "drift", "penguins_drift.yml")
TOL = 1e-9
DEFAULTS = {"js_divergence": 0.1, "mean_shift": 0.5, "std_shift": 0.5, "out_of_range": 0.05,
            "l_infinity": 0.1, "unseen": 0.05, "missing_share": 0.05}


def _js(p, q):
    def term(a, b):
        return sum(x * math.log(2 * x / (x + y)) for x, y in zip(a, b) if x > 0)
    return (term(p, q) + term(q, p)) / (2 * math.log(2))


def hand(train, compared, spec):
    """Every measure, from its definition: numpy and pandas, not prep."""
    drift = spec["drift"]
    bins = drift.get("bins", 10)
    thresholds = {**DEFAULTS, **drift.get("thresholds", {})}
    out = {}
    for feature, steps in spec["features"].items():
        if "date_parts" in steps[0]:
            continue  # the README: a date feature's drift is not measured
        t, c = train[feature], compared[feature]
        missing = c.isna().mean() - t.isna().mean()
        if pd.api.types.is_numeric_dtype(t):
            tv, cv = t.dropna().to_numpy(float), c.dropna().to_numpy(float)
            edges = np.percentile(tv, [100 * k / bins for k in range(1, bins)])
            share = lambda v: np.diff([0, *[(v < e).sum() for e in edges], len(v)]) / len(v)
            values = {
                "js_divergence": _js(share(tv), share(cv)),
                "mean_shift": (cv.mean() - tv.mean()) / tv.std(),
                "std_shift": cv.std() / tv.std() - 1,
                "out_of_range": ((cv < tv.min()) | (cv > tv.max())).mean(),
                "missing_share": missing,
            }
        else:
            p = t.dropna().value_counts(normalize=True)
            q = c.dropna().value_counts(normalize=True)
            values = {
                "l_infinity": max(abs(p.get(k, 0.0) - q.get(k, 0.0)) for k in set(p.index) | set(q.index)),
                "unseen": q[~q.index.isin(p.index)].sum(),
                "missing_share": missing,
            }
        for measure, value in values.items():
            out[(feature, measure)] = (float(value), thresholds[measure])
    return out


def shifted(df, sd):
    """A known shift: half a deviation on bill length, an island renamed
    (unseen), a fifth of `sex` lost."""
    s = df.copy()
    s["bill_length_mm"] = s["bill_length_mm"] + 0.5 * sd
    s["island"] = s["island"].where(s["island"] != "Torgersen", "Atlantis")
    s.loc[s.index % 5 == 0, "sex"] = None
    return s


@pytest.mark.parametrize("engine_name", ["duckdb", "postgres", "redshift-on-postgres", "databricks-on-spark"])
def test_drift_equals_a_hand_computation(prep_bin, engine_name, tmp_path):
    spec = yaml.safe_load(open(SPEC))
    df, types = datasets.penguins()
    train = df[df["split"] == "train"].reset_index(drop=True)
    eng = engine(engine_name)
    eng.load("penguins", df, types)
    fit_through_result_file(prep_bin, eng, SPEC, str(tmp_path), as_json=True)
    drift_sql = compile_sql(prep_bin, SPEC, eng.dialect, "--emit", "drift-sql", "--params",
                            str(tmp_path / "params.fitted.yml"))
    sd = train["bill_length_mm"].std(ddof=0)
    cases = {
        "unshifted": train.iloc[::-1].reset_index(drop=True),
        "scoring year": df[df["split"] == "score"].reset_index(drop=True),
        "shifted": shifted(train, sd),
    }
    statuses = {}
    for name, compared in cases.items():
        eng.load("penguins", compared, types)
        got = eng.query(drift_sql)
        want = hand(train, compared, spec)
        assert len(got) == len(want), (name, got)
        for row in got.to_dict(orient="records"):
            value, threshold = want[(row["feature"], row["measure"])]
            where = f"{name}: {row['feature']} {row['measure']}"
            assert row["value"] is not None and not pd.isna(row["value"]), where
            assert math.isclose(float(row["value"]), value, rel_tol=TOL, abs_tol=TOL), (where, row["value"], value)
            assert float(row["threshold"]) == threshold, where
            assert row["status"] == ("drift" if abs(value) > threshold else "ok"), (where, row, value)
        statuses[name] = {(r["feature"], r["measure"]) for r in got.to_dict(orient="records") if r["status"] == "drift"}
    assert statuses["unshifted"] == set()
    # Each shift is caught by the measure made for it; the untouched feature is not.
    assert {("bill_length_mm", "mean_shift"), ("island", "l_infinity"), ("island", "unseen"),
            ("sex", "missing_share")} <= statuses["shifted"]
    assert not {m for m in statuses["shifted"] if m[0] == "flipper_length_mm"}


def test_drift_needs_the_fit_of_this_spec(prep_bin, tmp_path):
    """Statistics fitted for another spec (other bins) stored as this spec's
    params relation stop the drift query, as they stop the apply."""
    spec = yaml.safe_load(open(SPEC))
    df, types = datasets.penguins()
    eng = engine("duckdb")
    eng.load("penguins", df, types)
    other = tmp_path / "other.yml"
    other.write_text(yaml.safe_dump({**spec, "drift": {"bins": 4}}))
    long = compile_sql(prep_bin, str(other), "duckdb", "--emit", "fit-sql")
    eng.execute(f"CREATE OR REPLACE TABLE penguins_drift__params AS {long}")
    with pytest.raises(Exception, match="not fitted for this spec"):
        eng.query(compile_sql(prep_bin, SPEC, "duckdb", "--emit", "drift-sql"))
    # This spec's own fit, stored the same way, is read.
    eng.execute(f"CREATE OR REPLACE TABLE penguins_drift__params AS {compile_sql(prep_bin, SPEC, 'duckdb', '--emit', 'fit-sql')}")
    assert len(eng.query(compile_sql(prep_bin, SPEC, "duckdb", "--emit", "drift-sql"))) == 16


def test_prep_drift_prints_the_same_measures_locally(prep_bin, tmp_path):
    """`prep drift --data` on the embedded engine: the same numbers as the
    hand computation, in the spec's order; `--fail-on-drift` exits 1 on the
    shifted rows and 0 on the unshifted ones."""
    spec = yaml.safe_load(open(SPEC))
    df, _ = datasets.penguins()
    train = df[df["split"] == "train"].reset_index(drop=True)
    data = tmp_path / "penguins.csv"
    df.to_csv(data, index=False)
    fitted = tmp_path / "penguins_drift.fitted.yml"
    done = subprocess.run([prep_bin, "fit", SPEC, "--data", str(data), "--out", str(fitted)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for name, compared, drifted in (("same", train, False),
                                    ("shifted", shifted(train, train["bill_length_mm"].std(ddof=0)), True)):
        path = tmp_path / f"{name}.csv"
        compared.to_csv(path, index=False)
        run = subprocess.run([prep_bin, "drift", SPEC, "--params", str(fitted), "--data", str(path), "--fail-on-drift"],
                             capture_output=True, text=True)
        assert run.returncode == (1 if drifted else 0), run.stderr
        lines = run.stdout.strip().splitlines()
        assert [c.strip() for c in lines[0].split("|")] == ["feature", "measure", "value", "threshold", "status"]
        rows = [[c.strip() for c in line.split("|")] for line in lines[2:]]
        want = hand(train, compared, spec)
        assert [(r[0], r[1]) for r in rows] == list(want), "the spec's order, measure by measure"
        for feature, measure, value, threshold, status in rows:
            expected, limit = want[(feature, measure)]
            assert math.isclose(float(value), expected, rel_tol=TOL, abs_tol=TOL), (name, feature, measure)
            assert status == ("drift" if abs(expected) > limit else "ok")
        if drifted:
            assert "drifted from the training statistics" in run.stderr and "island l_infinity" in run.stderr
