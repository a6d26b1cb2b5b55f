"""The ML engineer's half: `pip install ./python` in a fresh venv (no Rust,
no prep), then `prep_sklearn.load` builds from a fitted-parameters file the
fitted scikit-learn transformers whose output equals the SQL's, on every
parity spec (fitted in DuckDB through the warehouse path)."""

import os
import pickle
import subprocess
import sys
import tempfile

import numpy as np
import pytest
import yaml

import datasets
from test_parity import ROOT, SPECS, engine, fit_through_result_file

TOL = 1e-12

SCRIPT = """
import pickle, sys
from prep_sklearn import load
fitted, spec, data, out = sys.argv[1:]
features = load(fitted, spec=spec)
with open(data, "rb") as f:
    df = pickle.load(f)
with open(out, "wb") as f:
    pickle.dump(features.transform(df), f)
"""


@pytest.fixture(scope="module")
def fresh_python(tmp_path_factory):
    """A new venv holding only `./python` and what it depends on (the test
    suite's pinned versions as constraints, so results are reproducible)."""
    venv = tmp_path_factory.mktemp("venv") / "v"
    uv = [sys.executable, "-m", "uv"] if _has_uv(sys.executable) else ["python3", "-m", "uv"]
    subprocess.run([*uv, "venv", "--quiet", "--python", "python3", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    constraints = os.path.join(ROOT, "tests", "python", "requirements.txt")
    subprocess.run([*uv, "pip", "install", "--quiet", "--python", python, os.path.join(ROOT, "python"),
                    "-c", constraints], check=True)
    assert subprocess.run([python, "-c", "import prep"], capture_output=True).returncode != 0, "no prep in it"
    return python


def _has_uv(python):
    return subprocess.run([python, "-m", "uv", "--version"], capture_output=True).returncode == 0


@pytest.mark.parametrize("spec_path", SPECS, ids=[os.path.basename(s)[:-4] for s in SPECS])
def test_python_pipeline_equals_the_sql(prep_bin, fresh_python, spec_path):
    spec = yaml.safe_load(open(spec_path))
    table = spec["source"]["table"]
    df, types = datasets.TABLES[table]()
    eng = engine("duckdb")
    eng.load(table, df, types)
    with tempfile.TemporaryDirectory() as out:
        sql = fit_through_result_file(prep_bin, eng, spec_path, out, as_json=True)
        data, result = os.path.join(out, "data.pkl"), os.path.join(out, "out.pkl")
        with open(data, "wb") as f:
            pickle.dump(df, f)
        done = subprocess.run([fresh_python, "-W", "error", "-W", "ignore:Found unknown categories", "-c", SCRIPT, os.path.join(out, "params.fitted.yml"),
                               spec_path, data, result], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        with open(result, "rb") as f:
            python = pickle.load(f)
    key = spec["keys"][0]
    copied = set(spec.get("keys", [])) | set(spec.get("passthrough", []))
    features = [c for c in sql.columns if c not in copied and not c.startswith("prep_")]
    assert len(python.columns) == len(features), (list(python.columns), features)
    sql = sql.set_index(key).loc[df[key]]
    for theirs, ours in zip(features, python.columns):
        want, got = sql[theirs].to_numpy(), python[ours].to_numpy()
        if want.dtype == object and any(isinstance(v, str) for v in want):
            assert [None if v is None or v != v else v for v in got] == list(want), theirs
            continue
        want = np.array([np.nan if v is None else float(v) for v in want])
        got = got.astype(float)
        assert np.array_equal(np.isnan(want), np.isnan(got)), f"{theirs}: missing values differ"
        ok = ~np.isnan(want)
        assert np.allclose(got[ok], want[ok], rtol=TOL, atol=TOL), f"{theirs} ({ours})"
