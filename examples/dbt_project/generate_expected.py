"""Writes seeds/expected_*.csv: the features of the scoring seed, fitted
on the training seed by scikit-learn from the spec's documented meaning
(tests/python/reference.py), so the dbt test compares prep with scikit-learn."""

import os
import sys

import pandas as pd
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "python"))
from reference import reference  # noqa: E402

def read(name):
    return pd.read_csv(os.path.join(HERE, "seeds", name), keep_default_na=True, dtype={"plan_code": object, "region": object})


train, scoring = read("train.csv"), read("scoring.csv")
for spec_name, out, drop in [("churn", "expected_scored.csv", ["signup_year"]), ("segments", "expected_segments.csv", [])]:
    spec = yaml.safe_load(open(os.path.join(HERE, "specs", f"{spec_name}.yml")))
    expected = reference(spec, train, scoring).drop(columns=drop)
    expected.to_csv(os.path.join(HERE, "seeds", out), index=False, float_format="%.17g")
    print(expected.to_string())
