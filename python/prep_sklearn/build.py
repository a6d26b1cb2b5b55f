"""Reading a fitted-parameters file and building its transformers."""

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd
import yaml
from scipy.interpolate import BSpline
from sklearn.compose import ColumnTransformer
from sklearn.frozen import FrozenEstimator
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    Binarizer,
    FunctionTransformer,
    KBinsDiscretizer,
    MaxAbsScaler,
    MinMaxScaler,
    Normalizer,
    OneHotEncoder,
    OrdinalEncoder,
    PolynomialFeatures,
    PowerTransformer,
    QuantileTransformer,
    RobustScaler,
    SplineTransformer,
    StandardScaler,
)

TRANSFORMERS = {
    c.__name__: c
    for c in [SimpleImputer, StandardScaler, MinMaxScaler, MaxAbsScaler, RobustScaler, OneHotEncoder, OrdinalEncoder,
              Binarizer, FunctionTransformer, KBinsDiscretizer, Normalizer, PolynomialFeatures, SplineTransformer,
              QuantileTransformer, PowerTransformer]
}
ENCODERS = (OneHotEncoder, OrdinalEncoder)


# `prep report`'s look (src/report.rs), scoped to the notebook output.
_STYLE = (".prep-fitted{font-family:system-ui,sans-serif;color:#222}"
          ".prep-fitted h4{border-top:1px solid #ccc;padding-top:.5em}"
          ".prep-fitted table{border-collapse:collapse;margin:.5em 0}"
          ".prep-fitted td,.prep-fitted th{border:1px solid #ddd;padding:.2em .5em;text-align:left}"
          ".prep-fitted td.n{text-align:right;font-variant-numeric:tabular-nums}"
          ".prep-fitted .muted{color:#777}")


@dataclass
class FittedFile:
    """What a fitted-parameters file says: the spec it belongs to, the fit's
    id, and each feature's steps as scikit-learn transformers."""

    spec: str
    spec_hash: str
    fit_id: str | None
    fitted_at: str | None
    features: list

    def _repr_html_(self):
        """In a notebook: which spec and fit, and per feature its steps and
        fitted values, laid out as `prep report` lays out a page (its
        tables and colours, scoped to this output); every text escaped."""
        e = html.escape
        parts = [f"<div class=\"prep-fitted\"><style>{_STYLE}</style>",
                 f"<h3>Spec <code>{e(self.spec)}</code></h3>",
                 f"<p class=\"muted\">spec hash {e(self.spec_hash)}; fit id {e(str(self.fit_id))}; "
                 f"fitted at {e(str(self.fitted_at))}</p>"]
        for feature in self.features:
            if "group" in feature:
                columns = ", ".join(f"<code>{e(c)}</code>" for c in feature["group"])
                title, steps = f"Columns {columns} together", [feature["step"]]
            else:
                title, steps = f"Feature <code>{e(feature['feature'])}</code>", feature["steps"]
            parts.append(f"<h4>{title}</h4><table><tr><th>step</th>"
                         "<th>scikit-learn</th><th>attribute</th><th>learned value</th></tr>")
            # The steps after an encoder or a step across columns, per output: "then 2.1".
            numbered = [(str(k), step) for k, step in enumerate(steps, start=1)]
            for i, after in enumerate(feature.get("then") or [], start=1):
                numbered += [(f"then {i}.{k}", step) for k, step in enumerate(after, start=1)]
            for k, step in numbered:
                options = ", ".join(f"{name}={value!r}" for name, value in step["options"].items())
                transformer = f"{step['transformer']}({options})"
                if not step["attributes"]:
                    parts.append(f"<tr><td class=\"n\">{k}</td><td>{e(transformer)}</td>"
                                 "<td class=\"muted\" colspan=\"2\">nothing learned from data</td></tr>")
                for name, value in step["attributes"].items():
                    number = isinstance(value, (int, float)) and not isinstance(value, bool)
                    cell = "<td class=\"n\">" if number else "<td>"
                    parts.append(f"<tr><td class=\"n\">{k}</td><td>{e(transformer)}</td><td>{e(name)}</td>"
                                 f"{cell}{e(repr(value) if not isinstance(value, str) else value)}</td></tr>")
            parts.append("</table>")
        parts.append("</div>")
        return "".join(parts)


def read(path):
    """Reads a fitted-parameters file written by `prep fit`."""
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    if not isinstance(data, dict) or "spec_hash" not in data:
        raise ValueError(f"{path}: not a prep fitted-parameters file")
    if "sklearn" not in data:
        raise ValueError(f"{path}: no `sklearn:` section; it was written by an older prep: run `prep fit` again")
    return FittedFile(
        spec=data["spec"],
        spec_hash=data["spec_hash"],
        fit_id=data.get("parameters", {}).get("prep_fit_id"),
        fitted_at=data.get("fitted_at"),
        features=data["sklearn"],
    )


def load(path, spec=None):
    """The fitted `ColumnTransformer` of a fitted-parameters file.

    With `spec` (the spec file), checks that the file was fitted for a spec of
    that name with the same features, in the same order. The spec's content
    hash is checked by prep itself (`prep compile --params`)."""
    fitted = read(path)
    if spec is not None:
        _check_spec(fitted, spec, path)
    parts, example, own = [], {}, {}
    for entry in fitted.features:
        if "group" in entry:
            columns = entry["group"]
            parts = [p for p in parts if p[0] not in columns]
            parts.append(_group(entry, own, example))
            continue
        name = entry["feature"]
        example[name] = [_example_value(entry["steps"])]
        own[name] = _feature_pipeline(name, entry["steps"], example)
        if entry.get("then"):
            own[name] = _then(own[name], entry["then"], pd.DataFrame({name: example[name]}))
        parts.append((name, FrozenEstimator(own[name]), [name]))
    columns = ColumnTransformer(parts, remainder="drop", verbose_feature_names_out=False)
    columns.set_output(transform="pandas")
    # Every part is frozen: this only records the input columns.
    return columns.fit(pd.DataFrame(example))


def _feature_pipeline(name, steps, example):
    """One column read as scikit-learn reads it, then its fitted steps."""
    reader = FunctionTransformer(_as_sklearn_reads, validate=False, feature_names_out="one-to-one")
    transformers = [("read", reader.fit(pd.DataFrame({name: example[name]})))]
    for step in steps:
        transformers.append((f"step{step['step']}", _transformer(step, name)))
    return Pipeline(transformers).set_output(transform="pandas")


def _group(entry, own, example):
    """A step across a group's columns: each column through its own steps
    (a ColumnTransformer of their pipelines), then the step on them."""
    columns, step = entry["group"], entry["step"]
    for name in columns:
        example.setdefault(name, [0.0])
        own.setdefault(name, _feature_pipeline(name, [], example))
    inner = ColumnTransformer([(name, FrozenEstimator(own[name]), [name]) for name in columns],
                              verbose_feature_names_out=False).set_output(transform="pandas")
    sample = pd.DataFrame({name: example[name] for name in columns})
    values = inner.fit(sample).transform(sample)
    options = dict(step["options"])
    if isinstance(options.get("degree"), list):
        options["degree"] = tuple(options["degree"])
    transformer = TRANSFORMERS[step["transformer"]](**options).fit(values)
    steps = [("columns", inner), ("step", transformer)]
    if isinstance(transformer, PolynomialFeatures):
        names = [_term_name(columns, powers) for powers in transformer.powers_]
        steps.append(("names", FunctionTransformer(_as_prep_terms, kw_args={"names": names},
                                                   feature_names_out=lambda _, __: np.array(names, dtype=object))))
    pipeline = Pipeline(steps).set_output(transform="pandas").fit(sample)
    if entry.get("then"):
        pipeline = _then(pipeline, entry["then"], sample)
    return (f"group:{','.join(columns)}", FrozenEstimator(pipeline), list(columns))


def _then(pipeline, then, sample):
    """`pipeline` (an encoder or a step across columns last), then each of
    its output columns through its own steps (`then`: a list per output, in
    order), as prep runs the steps after such a step."""
    outputs = pipeline.transform(sample)
    parts = [(f"output{i}", FrozenEstimator(_feature_pipeline(name, steps, {name: [0.0]})), [name])
             for i, (name, steps) in enumerate(zip(outputs.columns, then))]
    after = ColumnTransformer(parts, verbose_feature_names_out=False).set_output(transform="pandas")
    return Pipeline([("steps", FrozenEstimator(pipeline)), ("then", after.fit(outputs))]).set_output(transform="pandas")


def _term_name(columns, powers):
    """prep's name of a polynomial term: scikit-learn's with `^` and the space written `_`."""
    return "_".join(c if p == 1 else f"{c}_{p}" for c, p in zip(columns, powers) if p > 0) or "1"


def _as_prep_terms(x, names):
    """PolynomialFeatures' columns under prep's names, an overflowed product
    (NumPy's infinity, or NaN from 0 times it) missing as in prep."""
    values = np.asarray(x, dtype=float)
    return pd.DataFrame(np.where(np.isfinite(values), values, np.nan), index=x.index, columns=names)


def log_to_mlflow(path, spec=None):
    """Logs a fitted-parameters file to the active MLflow run (one is
    started if none is), so the model registry answers "which statistics
    did this model's features use": params `prep.spec`, `prep.spec_hash`
    and `prep.fit_id`, the same as tags (searchable on runs and, copied by
    MLflow, on registered model versions), and the fitted file and the spec
    as artifacts under `prep/`. Returns the run's id.

    Needs `mlflow` (`pip install "./python[mlflow]"`); the tracking URI and
    experiment are the caller's, as for any MLflow logging."""
    import mlflow

    fitted = read(path)
    if spec is not None:
        _check_spec(fitted, spec, path)
    run = mlflow.active_run() or mlflow.start_run()
    values = {"prep.spec": fitted.spec, "prep.spec_hash": fitted.spec_hash, "prep.fit_id": fitted.fit_id}
    mlflow.log_params(values)
    mlflow.set_tags(values)
    mlflow.log_artifact(path, "prep")
    if spec is not None:
        mlflow.log_artifact(spec, "prep")
    return run.info.run_id


def _check_spec(fitted, spec_path, path):
    with open(spec_path, encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    if spec.get("name") != fitted.spec:
        raise ValueError(f"{path} was fitted for spec `{fitted.spec}`, not `{spec.get('name')}` ({spec_path})")
    names = set(spec.get("features") or {})
    names.update(c for group in spec.get("groups") or [] for c in group.get("columns", []))
    fitted_names = {f["feature"] for f in fitted.features if "feature" in f}
    fitted_names.update(c for f in fitted.features for c in f.get("group", []))
    if not fitted_names <= names:
        raise ValueError(f"{path}: features {sorted(fitted_names - names)} are not in {spec_path}: run `prep fit` again")


def _as_sklearn_reads(x):
    """One column as scikit-learn reads it in prep's semantics: numbers as
    float (NaN missing), anything else as objects with NaN for missing."""
    name = x.columns[0]
    values = x.iloc[:, 0]
    if values.dtype.kind in "iuf":
        return pd.DataFrame({name: values.astype(float)}, index=x.index)
    out = np.array([np.nan if pd.isna(v) else v for v in values], dtype=object)
    return pd.DataFrame({name: pd.Series(out, index=x.index, dtype=object)})


def _example_value(steps):
    """A value any of the feature's transformers accepts (ColumnTransformer
    needs one row to record its columns)."""
    for step in steps:
        if step["options"].get("func") == "date_parts":
            return pd.Timestamp(2000, 1, 1)
        categories = step["attributes"].get("categories_")
        if categories:
            return next((c for c in categories if c is not None), 0.0)
    return 0.0


def _array(value, dtype=float):
    return None if value is None else np.array([np.nan if v is None else v for v in np.atleast_1d(value)], dtype=dtype)


def numpy_function(x, func, kw_args=None):
    """NumPy's `func` of each value, as prep computes it: a missing value
    where NumPy's is NaN or infinite (prep's README, step `function`)."""
    values = np.asarray(x, dtype=float)
    with np.errstate(all="ignore"):
        out = getattr(np, func)(values, **(kw_args or {}))
    out = np.where(np.isfinite(out), out, np.nan)
    if isinstance(x, pd.DataFrame):
        return pd.DataFrame(out, index=x.index, columns=x.columns)
    return out


def cyclical(x, period):
    """The sine and cosine of each value's angle on a circle of `period`
    (prep's step `cyclical`): scikit-learn's recipe for time features,
    `np.sin(x / period * 2 * np.pi)` and its cosine."""
    values = np.asarray(x, dtype=float)
    angle = values / period * 2 * np.pi
    out = np.hstack([np.sin(angle), np.cos(angle)])
    if isinstance(x, pd.DataFrame):
        columns = [f"{x.columns[0]}_sin", f"{x.columns[0]}_cos"]
        return pd.DataFrame(out, index=x.index, columns=columns)
    return out


def date_parts(x, parts):
    """The parts of each date or timestamp (prep's step `date_parts`):
    pandas' `Series.dt` numbers (`day_of_week` 0 for Monday), NaN where the
    value is missing; one column `<column>_<part>` per part."""
    column = x.iloc[:, 0] if isinstance(x, pd.DataFrame) else pd.Series(np.asarray(x, dtype=object).ravel())
    when = pd.to_datetime(pd.Series(column.to_numpy(), dtype=object))
    out = np.column_stack([getattr(when.dt, part).to_numpy(dtype=float) for part in parts])
    if isinstance(x, pd.DataFrame):
        return pd.DataFrame(out, index=x.index, columns=[f"{x.columns[0]}_{part}" for part in parts])
    return out


def _date_parts_names(transformer, names):
    return np.array([f"{names[0]}_{part}" for part in transformer.kw_args["parts"]], dtype=object)


def _cyclical_names(transformer, names):
    return np.array([f"{names[0]}_sin", f"{names[0]}_cos"], dtype=object)


def _transformer(step, feature):
    cls = TRANSFORMERS[step["transformer"]]
    options = dict(step["options"])
    attributes = step["attributes"]
    if cls is FunctionTransformer and options.get("func") == "date_parts":
        transformer = FunctionTransformer(date_parts, kw_args=options["kw_args"], feature_names_out=_date_parts_names)
        return transformer.fit(pd.DataFrame({feature: [pd.Timestamp(2000, 1, 1)]}))
    if cls is FunctionTransformer and options.get("func") == "cyclical":
        transformer = FunctionTransformer(cyclical, kw_args=options["kw_args"], feature_names_out=_cyclical_names)
        return transformer.fit(pd.DataFrame({feature: [0.0]}))
    if cls is FunctionTransformer:
        transformer = FunctionTransformer(numpy_function, kw_args=options, feature_names_out="one-to-one")
        return transformer.fit(pd.DataFrame({feature: [0.0]}))
    if cls is OneHotEncoder:
        return _one_hot(options, attributes, feature)
    if cls is OrdinalEncoder:
        return _ordinal(options, attributes, feature)
    if cls is KBinsDiscretizer:
        return _bins(options, attributes, feature)
    if cls is SplineTransformer:
        return _spline(options, attributes, feature)
    if cls is QuantileTransformer:
        return _quantile(options, attributes, feature)
    if cls is PowerTransformer:
        return _power(options, attributes, feature)
    if "feature_range" in options:
        options["feature_range"] = tuple(options["feature_range"])
    if "quantile_range" in options:
        options["quantile_range"] = tuple(options["quantile_range"])
    # prep's count of the training rows' missing values: where above 0,
    # the imputer's missing indicator has the column (below).
    attributes = dict(attributes)
    n_missing = attributes.pop("n_missing_", None)
    transformer = cls(**options)
    for name, value in attributes.items():
        dtype = object if isinstance(value, (str, bool)) else float
        if value is None and not _is_none(cls, name, options):
            value = np.nan  # a statistic of a column with no values
        setattr(transformer, name, None if value is None else _array(value, dtype))
    transformer.n_features_in_ = 1
    transformer.feature_names_in_ = np.array([feature], dtype=object)
    if cls is SimpleImputer:
        kind = transformer.statistics_.dtype
        transformer._fit_dtype = kind
        transformer._fill_dtype = kind
        # The indicator as scikit-learn's fit makes it, from the mask of
        # missing values: one value, missing where the training rows had one.
        transformer._fit_indicator(np.array([[bool(n_missing)]]))
    return transformer


def _bins(options, attributes, feature):
    """A KBinsDiscretizer with prep's edges: the file lists every edge numpy
    computed, null where scikit-learn removed it; a constant column has one
    bin, (-inf, inf)."""
    # prep's one-hot columns are dense (pandas output cannot hold a sparse matrix).
    if options.get("encode") == "onehot":
        options = dict(options, encode="onehot-dense")
    transformer = KBinsDiscretizer(**options)
    n_bins = int(attributes["n_bins_"])
    edges = [e for e in attributes["bin_edges_"] if e is not None]
    if n_bins == 1 and len(edges) == 1:
        edges = [-np.inf, np.inf]
    transformer.bin_edges_ = np.array([np.array(edges, dtype=float)] + [None], dtype=object)[:1]
    transformer.n_bins_ = np.array([n_bins])
    transformer.n_features_in_ = 1
    transformer.feature_names_in_ = np.array([feature], dtype=object)
    if transformer.encode != "ordinal":
        # As scikit-learn's fit makes it: categories 0 .. n_bins_ - 1.
        transformer._encoder = OneHotEncoder(categories=[np.arange(n_bins)], sparse_output=False,
                                             dtype=np.float64).fit(np.zeros((1, 1)))
    return transformer


def _spline(options, attributes, feature):
    """A SplineTransformer over prep's knots: the file lists every knot of
    the basis, the `degree` extra ones on each side included, as scikit-learn's
    fit computes them; the basis functions are its identity coefficients
    (periodic: wrapped, as its fit makes them)."""
    transformer = SplineTransformer(**options)
    knots = np.array(attributes["prep_knots_"], dtype=float)
    degree = transformer.degree
    coef = np.eye(len(knots) - degree - 1)
    if transformer.extrapolation == "periodic":
        # As scikit-learn's fit: the last `degree` functions wrap onto the first.
        coef = np.eye(len(knots) - 2 * degree - 1)
        coef = np.concatenate((coef, coef[:degree, :]))
    n_splines = coef.shape[1]
    extrapolate = transformer.extrapolation in ("periodic", "continue")
    transformer.bsplines_ = [BSpline.construct_fast(knots, coef, degree, extrapolate=extrapolate)]
    transformer.n_features_out_ = n_splines - (0 if transformer.include_bias else 1)
    transformer.n_features_in_ = 1
    transformer.feature_names_in_ = np.array([feature], dtype=object)
    return transformer


def _quantile(options, attributes, feature):
    """A QuantileTransformer over prep's quantiles (one column): the file
    lists them with their references, as scikit-learn's fit holds them."""
    transformer = QuantileTransformer(**options)
    transformer.n_quantiles_ = int(attributes["n_quantiles_"])
    transformer.quantiles_ = np.array(attributes["quantiles_"], dtype=float).reshape(-1, 1)
    transformer.references_ = np.array(attributes["references_"], dtype=float)
    transformer.n_features_in_ = 1
    transformer.feature_names_in_ = np.array([feature], dtype=object)
    return transformer


def _power(options, attributes, feature):
    """A PowerTransformer with prep's λ and, where it standardises, the
    StandardScaler scikit-learn's fit holds as `_scaler`."""
    transformer = PowerTransformer(**options)
    transformer.lambdas_ = np.array([attributes["lambdas_"]], dtype=float)
    if transformer.standardize:
        scaler = StandardScaler()
        for name in ("mean_", "var_", "scale_", "n_samples_seen_"):
            value = attributes[name]
            setattr(scaler, name, np.array([np.nan if value is None else value], dtype=float))
        scaler.n_samples_seen_ = int(attributes["n_samples_seen_"])
        scaler.n_features_in_ = 1
        transformer._scaler = scaler.set_output(transform="default")
    transformer.n_features_in_ = 1
    transformer.feature_names_in_ = np.array([feature], dtype=object)
    return transformer


def _is_none(cls, name, options):
    """Whether scikit-learn holds None (not NaN) for a fitted attribute: the
    file writes both as null, and only the options tell them apart."""
    if cls is StandardScaler:
        with_std = options.get("with_std", True)
        return (name in ("var_", "scale_") and not with_std) or (
            name == "mean_" and not options.get("with_mean", True) and not with_std)
    if cls is RobustScaler:
        return (name == "center_" and not options.get("with_centering", True)) or (
            name == "scale_" and not options.get("with_scaling", True))
    return False


def _categories(values):
    """A categories_ list as scikit-learn holds it: numbers as floats, text as
    objects, the missing value (null) as NaN, last."""
    if all(v is None or isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return np.array([np.nan if v is None else float(v) for v in values], dtype=float)
    return np.array([np.nan if v is None else v for v in values], dtype=object)


def _one_hot(options, attributes, feature):
    """A OneHotEncoder holding prep's categories, infrequent groups and
    dropped column: fitted on the category list alone, then given the
    infrequent grouping prep learned from the counts."""
    categories = _categories(attributes["categories_"])
    given = dict(options, categories=[categories], min_frequency=None, max_categories=None)
    if isinstance(given["drop"], list):
        given["drop"] = _categories(given["drop"])
    encoder = OneHotEncoder(**given).fit(pd.DataFrame({feature: categories}))
    _group_infrequent(encoder, options, attributes)
    encoder._set_drop_idx()
    encoder._n_features_outs = encoder._compute_n_features_outs()
    drop = None if encoder.drop_idx_ is None else encoder.drop_idx_[0]
    _expect(None if drop is None else int(drop), attributes["drop_idx_"], "drop_idx_")
    return encoder


def _ordinal(options, attributes, feature):
    categories = _categories(attributes["categories_"])
    # JSON null is NaN here; a whole number is scikit-learn's integer code.
    for key in ("unknown_value", "encoded_missing_value"):
        if key in options:
            value = options[key]
            options[key] = np.nan if value is None else int(value) if float(value).is_integer() else value
    given = dict(options, categories=[categories], min_frequency=None, max_categories=None)
    encoder = OrdinalEncoder(**given).fit(pd.DataFrame({feature: categories}))
    if "min_frequency" in options or "max_categories" in options:
        _group_infrequent(encoder, options, attributes)
    return encoder


def _group_infrequent(encoder, options, attributes):
    """An encoder fitted on its category list alone, given the infrequent
    grouping prep learned from the counts (checked against the file)."""
    encoder.min_frequency, encoder.max_categories = options.get("min_frequency"), options.get("max_categories")
    encoder._check_infrequent_enabled()
    infrequent = attributes.get("infrequent_categories_")
    if encoder._infrequent_enabled:
        known = list(attributes["categories_"])
        # OrdinalEncoder leaves the missing value out of the grouping (its
        # count removed); OneHotEncoder groups it as any category.
        ordinal = isinstance(encoder, OrdinalEncoder)
        missing = {0: len(known) - 1} if known[-1] is None and ordinal else {}
        positions = None if infrequent is None else np.array([known.index(c) for c in infrequent])
        # scikit-learn decides which categories are infrequent from their
        # counts; prep already decided (the same way): use its answer.
        encoder._identify_infrequent = lambda *_: positions
        encoder._fit_infrequent_category_mapping(0, [np.zeros(len(known))], missing)
        del encoder._identify_infrequent
    rebuilt = encoder.infrequent_categories_[0] if encoder._infrequent_enabled else None
    _expect(_plain(rebuilt), infrequent, "infrequent_categories_")


def _plain(values):
    """An array of categories as JSON holds them (NaN is null), or None."""
    if values is None:
        return None
    return [None if isinstance(v, float) and np.isnan(v) else v.item() if isinstance(v, np.generic) else v
            for v in values]


def _expect(mine, prep_value, name):
    """The rebuilt encoder holds what prep exported, or this is a bug."""
    if mine != prep_value:
        raise ValueError(f"prep_sklearn: the rebuilt encoder's {name} is {mine!r}, prep's is {prep_value!r}")
