"""Rebuild fitted scikit-learn transformers from `prep export-sklearn` and
check them against scikit-learn's own fit.

    prep fit examples/penguins/penguins.yml --data examples/penguins/penguins.csv
    prep export-sklearn examples/penguins/penguins.yml > fitted.json
    python examples/sklearn_export/rebuild.py fitted.json examples/penguins/penguins.csv

Each transformer is created unfitted, given prep's fitted attributes, and
applied to the data; the same transformer fitted by scikit-learn on the same
rows must give the same output (within 1e-12 relative). Exits non-zero if not.
"""

import json
import sys

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import (
    MaxAbsScaler, MinMaxScaler, OneHotEncoder, OrdinalEncoder, RobustScaler, StandardScaler,
)

CLASSES = {c.__name__: c for c in [SimpleImputer, StandardScaler, MinMaxScaler, MaxAbsScaler, RobustScaler,
                                   OneHotEncoder, OrdinalEncoder]}


def as_array(name, value):
    """prep's JSON value of an attribute as scikit-learn holds it (null is NaN/None)."""
    if name in ("categories_", "infrequent_categories_"):
        if value is None:
            return None
        return [np.array([np.nan if v is None else v for v in value], dtype=object)]
    if name == "drop_idx_":
        return None if value is None else np.array([value], dtype=object)
    if value is None:
        return None
    return np.array([value], dtype=object if isinstance(value, str) else float)


def rebuild(step, options, x):
    """A transformer holding prep's fitted values, without fitting it on data.

    Scalers and imputers get their fitted attributes set directly. Encoders are
    given prep's categories and fitted on that list alone; an encoder with
    infrequent categories needs the category counts too, so it is not rebuilt
    (None)."""
    attributes = step["attributes"]
    cls = CLASSES[step["transformer"]]
    if cls in (OneHotEncoder, OrdinalEncoder):
        if attributes.get("infrequent_categories_") is not None:
            return None
        categories = [v for v in attributes["categories_"] if v is not None]
        encoder = cls(**{**options, "categories": [categories]})
        return encoder.fit(np.array(categories, dtype=object if x.dtype == object else float).reshape(-1, 1))
    transformer = cls(**options)
    for name, value in attributes.items():
        setattr(transformer, name, as_array(name, value))
    transformer.n_features_in_ = 1
    if cls is SimpleImputer:
        transformer._fit_dtype = x.dtype
        transformer.indicator_ = None
        transformer._fill_dtype = x.dtype
    return transformer


def main(fitted_json, data_csv, options_by_step):
    fitted = json.load(open(fitted_json))
    data = pd.read_csv(data_csv)
    worst, rebuilt = 0.0, 0
    for feature, steps in fitted["features"].items():
        x = data[[feature]]
        x = x.astype(float).to_numpy() if x[feature].dtype.kind in "if" else np.array(x.astype(object).where(x.notna(), np.nan), dtype=object)
        for step in steps:
            options = options_by_step.get((feature, step["step"]), {})
            ours = rebuild(step, options, x)
            theirs = CLASSES[step["transformer"]](**options).fit(x)
            for name, value in step["attributes"].items():
                mine, reference = as_array(name, value), getattr(theirs, name, None)
                if name in ("categories_", "infrequent_categories_", "drop_idx_"):
                    same = (mine is None and reference is None) or all(
                        list(map(str, a)) == list(map(str, b)) for a, b in zip(mine, reference))
                    assert same, f"{feature} step {step['step']} {name}: {mine} != {reference}"
                    continue
                if mine is None or reference is None:
                    assert mine is None and reference is None, f"{feature} {name}: {mine} != {reference}"
                    continue
                if mine.dtype == object:
                    assert list(mine) == list(np.atleast_1d(reference)), f"{feature} {name}: {mine} != {reference}"
                    continue
                reference = np.atleast_1d(np.asarray(reference, dtype=float))
                assert np.allclose(mine, reference, rtol=1e-12, atol=0, equal_nan=True), f"{feature} {name}: {mine} != {reference}"
                nonzero = reference != 0
                if nonzero.any():
                    worst = max(worst, float(np.max(np.abs(mine[nonzero] - reference[nonzero]) / np.abs(reference[nonzero]))))
            if ours is not None:
                out_ours, out_theirs = np.asarray(ours.transform(x)), np.asarray(theirs.transform(x))
                if out_theirs.dtype == object:
                    assert out_ours.tolist() == out_theirs.tolist(), f"{feature} step {step['step']}"
                else:
                    assert np.allclose(out_ours.astype(float), out_theirs, rtol=1e-12, atol=1e-12, equal_nan=True), \
                        f"{feature} step {step['step']}"
                rebuilt += 1
            x = theirs.transform(x)
    print(f"prep's fitted attributes equal scikit-learn's (max relative difference {worst:.1e}); "
          f"{rebuilt} rebuilt transformers transform like scikit-learn's")


# The non-default options of examples/penguins/penguins.yml, by (feature, step).
PENGUINS = {
    ("bill_length_mm", 1): {"strategy": "median"},
    ("bill_depth_mm", 1): {"strategy": "mean"},
    ("bill_depth_mm", 2): {"feature_range": (-1, 1)},
    ("flipper_length_mm", 1): {"strategy": "constant", "fill_value": 200},
    ("body_mass_g", 1): {"strategy": "mean"},
    ("island", 1): {"handle_unknown": "ignore", "sparse_output": False},
    ("sex", 1): {"strategy": "most_frequent"},
    ("year", 1): {"max_categories": 2, "handle_unknown": "infrequent_if_exist", "sparse_output": False},
}

if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], PENGUINS)
