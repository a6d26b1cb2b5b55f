"""The ML engineer's half: `pip install ./python` in a fresh venv (no Rust,
no prep), then `prep_sklearn.load` builds from a fitted-parameters file the
fitted scikit-learn transformers whose output equals the SQL's, on every
parity spec (fitted in DuckDB through the warehouse path)."""

import html
import os
import pickle
import subprocess
import sys
import tempfile

import numpy as np
import pandas as pd
import pytest
import yaml

import datasets
from reference import features as features_of
from test_parity import ROOT, SPECS, engine, fit_through_result_file

TOL = 1e-12
# A power transform's standardised output divides by the spread of its
# transformed values, which can be 1e-5 of their size (penguins' flipper
# lengths, λ = -2.1): numpy's expm1 and the SQL's differ in the last bit,
# and the division makes that 1e-11 of the output.
POWER_TOL = 1e-9

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
    # With the MLflow extra, as the ML engineer installs it; the package
    # itself imports mlflow only in log_to_mlflow (checked below).
    subprocess.run([*uv, "pip", "install", "--quiet", "--python", python, os.path.join(ROOT, "python") + "[mlflow]",
                    "-c", constraints], check=True)
    assert subprocess.run([python, "-c", "import prep"], capture_output=True).returncode != 0, "no prep in it"
    lazy = "import sys, prep_sklearn; assert 'mlflow' not in sys.modules"
    assert subprocess.run([python, "-c", lazy], capture_output=True).returncode == 0, "mlflow imported eagerly"
    return python


def _has_uv(python):
    return subprocess.run([python, "-m", "uv", "--version"], capture_output=True).returncode == 0


def fit_on_duckdb(prep_bin, spec_path, out):
    """The spec's table loaded in DuckDB and fitted through a warehouse
    result file in `out` (params.fitted.yml): the spec, the table and the
    SQL features."""
    spec = yaml.safe_load(open(spec_path))
    table = spec["source"]["table"]
    df, types = datasets.TABLES[table]()
    eng = engine("duckdb")
    eng.load(table, df, types)
    sql = fit_through_result_file(prep_bin, eng, spec_path, str(out), as_json=True)
    return spec, df, sql


@pytest.mark.parametrize("spec_path", SPECS, ids=[os.path.basename(s)[:-4] for s in SPECS])
def test_python_pipeline_equals_the_sql(prep_bin, fresh_python, spec_path):
    with tempfile.TemporaryDirectory() as out:
        spec, df, sql = fit_on_duckdb(prep_bin, spec_path, out)
        data, result = os.path.join(out, "data.pkl"), os.path.join(out, "out.pkl")
        # pandas keeps text (column names included) in pyarrow where it is
        # installed (chdb brings it to the suite's venv); the package's venv
        # has none: the text goes across as Python objects.
        text = {c: object for c in df.columns if isinstance(df[c].dtype, pd.StringDtype)}
        df = df.astype(text)
        df.columns = pd.Index(list(df.columns), dtype=object)
        with open(data, "wb") as f:
            pickle.dump(df, f)
        # Warnings are errors, but scikit-learn's own: unknown categories, and
        # PolynomialFeatures' products that overflow (prep's missing values).
        done = subprocess.run([fresh_python, "-W", "error", "-W", "ignore:Found unknown categories",
                               "-W", "ignore:overflow encountered in multiply", "-c", SCRIPT, os.path.join(out, "params.fitted.yml"),
                               spec_path, data, result], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        with open(result, "rb") as f:
            python = pickle.load(f)
    key = spec["keys"][0]
    copied = set(spec.get("keys", [])) | set(spec.get("passthrough", []))
    features = [c for c in sql.columns if c not in copied and not c.startswith("prep_")]
    assert len(python.columns) == len(features), (list(python.columns), features)
    sql = sql.set_index(key).loc[df[key]]
    powers = any(kind == "power" for _, _, steps in features_of(spec) for step in steps for kind in step)
    tol = POWER_TOL if powers else TOL
    for theirs, ours in zip(features, python.columns):
        want, got = sql[theirs].to_numpy(), python[ours].to_numpy()
        if want.dtype == object and any(isinstance(v, str) for v in want):
            assert [None if v is None or v != v else v for v in got] == list(want), theirs
            continue
        want = np.array([np.nan if v is None else float(v) for v in want])
        got = got.astype(float)
        assert np.array_equal(np.isnan(want), np.isnan(got)), f"{theirs}: missing values differ"
        ok = ~np.isnan(want)
        assert np.allclose(got[ok], want[ok], rtol=tol, atol=tol), (
            f"{theirs} ({ours}): {np.max(np.abs(got[ok] - want[ok]))}")


MLFLOW_SCRIPT = """
import os, sys, mlflow, yaml
from prep_sklearn import load, log_to_mlflow, read
fitted, spec, store = sys.argv[1:]
mlflow.set_tracking_uri("file://" + store)
mlflow.set_experiment("churn-model")
with mlflow.start_run():
    run_id = log_to_mlflow(fitted, spec=spec)
# Later, someone holding only the registry: which statistics did this run use?
wanted = read(fitted).spec_hash
found = mlflow.search_runs(filter_string=f"params.`prep.spec_hash` = '{wanted}'", output_format="list")
assert [r.info.run_id for r in found] == [run_id], found
run = found[0]
copy = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="prep/" + os.path.basename(fitted))
load(copy, spec=spec)  # the logged file builds the pipeline again
print(yaml.safe_dump({"params": dict(run.data.params), "tags": {k: v for k, v in run.data.tags.items() if k.startswith("prep.")},
                      "artifacts": sorted(a.path for a in mlflow.MlflowClient().list_artifacts(run_id, "prep")),
                      "same_file": open(copy).read() == open(fitted).read()}))
"""


def test_an_mlflow_run_holds_the_spec_hash_and_fit_id(prep_bin, fresh_python, tmp_path):
    """`log_to_mlflow` in the fresh venv, to a local file store: the run is
    found again by the spec hash, holds the fit id, and its artifact is the
    fitted file itself (which builds the pipeline again)."""
    spec_path = next(s for s in SPECS if os.path.basename(s) == "penguins_numeric.yml")
    fit_on_duckdb(prep_bin, spec_path, tmp_path)
    fitted = str(tmp_path / "params.fitted.yml")
    # MLflow 3 refuses a file store unless told (it prefers a database); the
    # logging itself is the same on any store.
    env = dict(os.environ, MLFLOW_ALLOW_FILE_STORE="true")
    done = subprocess.run([fresh_python, "-c", MLFLOW_SCRIPT, fitted, spec_path, str(tmp_path / "mlruns")],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    logged = yaml.safe_load(done.stdout)
    stored = yaml.safe_load(open(fitted))
    expected = {"prep.spec": stored["spec"], "prep.spec_hash": stored["spec_hash"],
                "prep.fit_id": stored["parameters"]["prep_fit_id"]}
    assert stored["parameters"]["prep_fit_id"].startswith(stored["spec_hash"].split(":")[1][:12])
    assert logged["params"] == expected
    assert logged["tags"] == expected
    assert logged["artifacts"] == ["prep/params.fitted.yml", "prep/" + os.path.basename(spec_path)]
    assert logged["same_file"]


REPR_SCRIPT = """
import sys
from prep_sklearn import read
page = read(sys.argv[1])._repr_html_()
print(page)
"""


def test_a_fitted_file_shows_itself_in_a_notebook(prep_bin, fresh_python, tmp_path):
    """`read(path)._repr_html_()` (what Jupyter shows): the spec hash, the fit
    id, each feature's transformers with their fitted values, and learned
    categories (quotes and Jinja among them) as escaped text."""
    spec_path = next(s for s in SPECS if os.path.basename(s) == "adversarial_options.yml")
    fit_on_duckdb(prep_bin, spec_path, tmp_path)
    fitted = str(tmp_path / "params.fitted.yml")
    done = subprocess.run([fresh_python, "-c", REPR_SCRIPT, fitted], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    page = done.stdout
    stored = yaml.safe_load(open(fitted))
    assert stored["spec_hash"] in page and stored["parameters"]["prep_fit_id"] in page
    # Laid out as `prep report` lays out its page: a section per feature, a
    # table of step, transformer, attribute and learned value.
    for feature in stored["sklearn"]:
        assert f"<h4>Feature <code>{html.escape(feature['feature'])}</code></h4>" in page
        for step in feature["steps"]:
            for name, value in step["attributes"].items():
                if isinstance(value, float):
                    assert f"<td>{name}</td><td class=\"n\">{value!r}</td>" in page
    assert "<th>learned value</th>" in page and page.count("<style>") == 1
    assert "<script" not in page and "{{ x }}" in page and "O&#x27;Brien" in page
