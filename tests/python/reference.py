"""The scikit-learn pipeline a spec means, built from the spec's documented
meaning (README, "Spec reference") and nothing of prep's code: each step is
the scikit-learn transformer of the same name with the same options, chained
as a Pipeline per feature column, fitted on the training rows.
"""

import re

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    Binarizer, FunctionTransformer, KBinsDiscretizer, MaxAbsScaler, MinMaxScaler, Normalizer, OneHotEncoder, OrdinalEncoder,
    PolynomialFeatures, PowerTransformer, QuantileTransformer, RobustScaler, SplineTransformer, StandardScaler,
)

# Steps across a group's columns: the group's last step, after each column's own.
ACROSS = ("normalize", "polynomial")


def features(spec):
    """(column, declared type or None, steps) in output order."""
    for col, value in (spec.get("features") or {}).items():
        if isinstance(value, list):
            yield col, None, value
        else:
            yield col, value.get("type"), value["steps"]
    for group in spec.get("groups") or []:
        for col in group["columns"]:
            yield col, group.get("type"), group["steps"]


def declarations(spec):
    """(columns, declared type or None, steps): each feature, and each group, in output order."""
    for col, value in (spec.get("features") or {}).items():
        if isinstance(value, list):
            yield [col], None, value
        else:
            yield [col], value.get("type"), value["steps"]
    for group in spec.get("groups") or []:
        yield group["columns"], group.get("type"), group["steps"]


def across(steps):
    """The position of the step across columns in `steps`, or None."""
    return next((k for k, s in enumerate(steps) if next(iter(s)) in ACROSS), None)


def _across_step(step):
    (kind, opts), = step.items()
    if kind == "normalize":
        return Normalizer(norm=opts if isinstance(opts, str) else (opts or {}).get("norm", "l2"))
    opts = dict(opts or {})
    if isinstance(opts.get("degree"), list):
        opts["degree"] = tuple(opts["degree"])
    return PolynomialFeatures(**opts)


def _across_names(step, transformer, columns):
    """The README's names: the columns' for normalize; for polynomial,
    scikit-learn's term names with `^` and the space written `_`."""
    if "normalize" in step:
        return list(columns)
    names = []
    for powers in transformer.powers_:
        factors = [c if p == 1 else f"{c}_{p}" for c, p in zip(columns, powers) if p > 0]
        names.append("_".join(factors) or "1")
    return names


def _reference_across(columns, steps, train, score, out):
    """A group with a step across its columns: each column through its own
    steps, then the step on them together (NumPy's infinities, a product
    that overflows, are prep's missing values), then each output through
    the steps after it."""
    at = across(steps)
    own, step, after = steps[:at], steps[at], steps[at + 1:]
    fitted = []
    for col in columns:
        pipe = make_pipeline(*[_step(s) for s in own]) if own else None
        if pipe is not None:
            pipe.fit(_column(train, col, True))
        fitted.append(pipe)
    def values(df):
        parts = [_column(df, col, True) if pipe is None else pipe.transform(_column(df, col, True))
                 for col, pipe in zip(columns, fitted)]
        return np.hstack([np.asarray(p, dtype=float).reshape(len(df), 1) for p in parts])
    transformer = _across_step(step).fit(values(train))
    def outputs(df):
        with np.errstate(all="ignore"):
            result = transformer.transform(values(df))
        return np.where(np.isfinite(result), result, np.nan)
    fitted_outputs, result = outputs(train), outputs(score)
    for j, name in enumerate(_across_names(step, transformer, columns)):
        if after:
            pipe = make_pipeline(*[_step(s) for s in after]).fit(fitted_outputs[:, j:j + 1])
            out[name] = np.asarray(pipe.transform(result[:, j:j + 1]), dtype=float)[:, 0]
        else:
            out[name] = result[:, j]


def _step(step):
    (kind, opts), = step.items()
    if kind == "impute":
        opts = {"strategy": opts} if isinstance(opts, str) else dict(opts)
        if "value" in opts:
            opts["fill_value"] = opts.pop("value")
        return SimpleImputer(**opts)
    if kind == "scale":
        name, options = (opts, {}) if isinstance(opts, str) else next(iter(opts.items()))
        options = dict(options or {})
        for key in ("feature_range", "quantile_range"):
            if key in options:
                options[key] = tuple(options[key])
        return {"standard": StandardScaler, "min_max": MinMaxScaler, "max_abs": MaxAbsScaler,
                "robust": RobustScaler}[name](**options)
    if kind == "one_hot":
        opts = dict(opts)
        opts.pop("names", None)
        if isinstance(opts.get("categories"), list):
            opts["categories"] = [_nan_for_missing(opts["categories"])]
        drop = opts.get("drop")
        if isinstance(drop, dict):
            opts["drop"] = [drop["category"]]
        return OneHotEncoder(sparse_output=False, **opts)
    if kind == "ordinal":
        opts = dict(opts)
        if isinstance(opts.get("categories"), list):
            opts["categories"] = [_nan_for_missing(opts["categories"])]
        return OrdinalEncoder(**opts)
    if kind == "binarize":
        return Binarizer(**(opts or {}))
    if kind == "bins":
        # prep's columns are dense: the same values as scikit-learn's default sparse one-hot.
        opts = dict(opts or {})
        if opts.get("encode", "onehot") == "onehot":
            opts["encode"] = "onehot-dense"
        return KBinsDiscretizer(**opts)
    if kind == "spline":
        return SplineTransformer(**(opts or {}))
    if kind == "quantile":
        return QuantileTransformer(**(opts or {}))
    if kind == "power":
        return PowerTransformer(**(opts or {}))
    if kind == "cyclical":
        # scikit-learn's recipe for time features: sine and cosine of x / period * 2 * pi.
        period = opts["period"]
        return FunctionTransformer(lambda x: np.hstack([np.sin(x / period * 2 * np.pi),
                                                        np.cos(x / period * 2 * np.pi)]))
    if kind == "function":
        # NumPy's function; where NumPy's value is NaN or infinite, a missing
        # value (the README's meaning of `function`).
        name, kw = (opts, {}) if isinstance(opts, str) else ("clip", dict(zip(("a_min", "a_max"), opts["clip"])))
        def finite(x, f=getattr(np, name), kw=kw):
            with np.errstate(all="ignore"):
                y = f(np.asarray(x, dtype=float), **kw)
            return np.where(np.isfinite(y), y, np.nan)
        return FunctionTransformer(finite)
    raise ValueError(f"unknown step {kind}")


def _nan_for_missing(categories):
    """A category list as scikit-learn takes it: the missing value (YAML's null) is NaN."""
    return [np.nan if c is None else c for c in categories]


def _number_or_text(text):
    try:
        return float(text)
    except ValueError:
        return text


def _suffix(category, names):
    text = str(int(category)) if isinstance(category, float) and category.is_integer() else str(category)
    if text in names:
        return names[text]
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


def _column(df, col, numeric):
    values = df[[col]]
    if numeric:
        return values.astype(float).to_numpy()
    arr = np.array(values.astype(object).to_numpy(), dtype=object)
    arr[pd.isna(arr)] = np.nan  # scikit-learn's missing marker for object arrays
    return arr


def reference(spec, train, score):
    """The features of `score`, fitted on `train`: a DataFrame in output order."""
    out = {}
    for key in list(spec.get("keys") or []) + list(spec.get("passthrough") or []):
        out[key] = score[key].to_numpy()
    for columns, declared, steps in declarations(spec):
        if across(steps) is not None:
            _reference_across(columns, steps, train, score, out)
            continue
        for col in columns:
            _reference_feature(col, declared, steps, train, score, out)
    return pd.DataFrame(out)


def _date_parts(df, col, parts):
    """pandas' `Series.dt` numbers of each part (the README's meaning of
    `date_parts`), NaN where the date is missing: one column per part."""
    when = pd.to_datetime(pd.Series(df[col].to_numpy(), dtype=object))
    return [getattr(when.dt, part).to_numpy(dtype=float).reshape(-1, 1) for part in parts]


def _reference_feature(col, declared, steps, train, score, out):
    """One column through its steps, its outputs added to `out`."""
    if "date_parts" in steps[0]:
        # Each part a numeric column `<col>_<part>`, through the steps after
        # it as a feature of its own (fitted on its training values).
        parts = steps[0]["date_parts"]
        for part, fit_on, values in zip(parts, _date_parts(train, col, parts), _date_parts(score, col, parts)):
            name = f"{col}_{part}"
            if len(steps) == 1:
                out[name] = values[:, 0]
                continue
            part_train, part_score = pd.DataFrame({name: fit_on[:, 0]}), pd.DataFrame({name: values[:, 0]})
            _reference_feature(name, "numeric", steps[1:], part_train, part_score, out)
        return
    numeric = declared == "numeric" or (declared is None and _looks_numeric(steps)) or (
        declared == "boolean" and _numbers_only(steps)
    )
    pipe = make_pipeline(*[_step(s) for s in steps])
    pipe.fit(_column(train, col, numeric))
    if indicates(steps[0]):
        # The imputed value (a text, or a number after the steps), then its
        # missing indicator where the training rows had a missing value.
        result = pipe.transform(_column(score, col, numeric))
        for j, name in enumerate(pipe.get_feature_names_out([col])):
            out[name] = result[:, j] if (j == 0 and not numeric) else result[:, j].astype(float)
        return
    result = np.asarray(pipe.transform(_column(score, col, numeric)), dtype=float)
    # The step that names the outputs: an encoder (steps after it run on
    # each of its columns, keeping their names), or the last one.
    at = next((k for k, s in enumerate(steps) if next(iter(s)) in ("one_hot", "cyclical", "bins", "spline")),
              len(steps) - 1)
    last, encoder = steps[at], pipe[at]
    if "one_hot" in last:
        names = last["one_hot"].get("names") or {}
        produced = encoder.get_feature_names_out([col])
        assert result.shape[1] == len(produced)
        for j, name in enumerate(produced):
            text = name[len(col) + 1:]
            if text != "infrequent_sklearn":
                text = _suffix(_number_or_text(text) if numeric else text, names)
            out[f"{col}_{text}"] = result[:, j]
    elif "spline" in last:
        for j, name in enumerate(encoder.get_feature_names_out([col])):
            out[name] = result[:, j]
    elif "cyclical" in last:
        out[f"{col}_sin"], out[f"{col}_cos"] = result[:, 0], result[:, 1]
    elif "bins" in last and (last["bins"] or {}).get("encode", "onehot") != "ordinal":
        # Bins are numeric categories (0.0, 1.0, ...): named as one-hot names them.
        for j, name in enumerate(encoder.get_feature_names_out([col])):
            out[f"{col}_{_suffix(float(name[len(col) + 1:]), {})}"] = result[:, j]
    else:
        out[col] = result[:, 0]


def indicates(step):
    """An imputer with `add_indicator`."""
    (kind, opts), = step.items()
    return kind == "impute" and isinstance(opts, dict) and bool(opts.get("add_indicator"))


def _numbers_only(steps):
    """A bool column is read as numbers when its first step is a scaler or a
    mean/median imputer; otherwise its values are the categories False/True."""
    (kind, opts), = steps[0].items()
    strategy = opts if isinstance(opts, str) else (opts or {}).get("strategy")
    return kind == "scale" or (kind == "impute" and strategy in ("mean", "median"))


def _looks_numeric(steps):
    for s in steps:
        (kind, opts), = s.items()
        if kind in ("scale", "binarize", "function", "bins", "cyclical", "spline", "quantile", "power"):
            return True
        if kind == "impute":
            o = {"strategy": opts} if isinstance(opts, str) else opts
            if o["strategy"] in ("mean", "median"):
                return True
            fill = o.get("fill_value", o.get("value"))
            if fill is not None:
                return not isinstance(fill, str)
        if kind in ("one_hot", "ordinal"):
            cats = opts.get("categories") if isinstance(opts, dict) else None
            if isinstance(cats, list) and cats and cats[0] is not None:
                return not isinstance(cats[0], str)
            return False
    return False
