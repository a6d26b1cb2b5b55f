"""Writes seeds/expected_scored.csv: the features of the scoring seed, fitted
on the training seed by scikit-learn from the spec's documented meaning
(tests/python/reference.py), so the dbt test compares prep with scikit-learn."""

import os
import sys

import pandas as pd
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "python"))
from reference import reference  # noqa: E402

spec = yaml.safe_load(open(os.path.join(HERE, "specs", "churn.yml")))
train = pd.read_csv(os.path.join(HERE, "seeds", "train.csv"), keep_default_na=True, dtype={"plan_code": object, "region": object})
scoring = pd.read_csv(os.path.join(HERE, "seeds", "scoring.csv"), keep_default_na=True, dtype={"plan_code": object, "region": object})
expected = reference(spec, train, scoring)
expected = expected.drop(columns=["signup_year"])
expected.to_csv(os.path.join(HERE, "seeds", "expected_scored.csv"), index=False, float_format="%.17g")
print(expected.to_string())
