"""Collects, per step option, engine and kind of data, how many cases ran and
passed and the worst relative error, and prints the matrix."""

from collections import defaultdict

REAL_TABLES = {"penguins", "diabetes"}

# Every step and option of the compiler, each of which must pass on real and on
# adversarial data on each of these engines.
REQUIRED_ENGINES = ["duckdb", "postgres", "databricks-on-spark"]
REQUIRED_CELLS = [
    "impute:mean", "impute:median", "impute:most_frequent", "impute:constant", "impute:keep_empty_features",
    "impute:add_indicator",
    "scale:standard", "scale:standard:with_mean", "scale:standard:with_std",
    "scale:min_max", "scale:min_max:feature_range", "scale:min_max:clip",
    "scale:max_abs",
    "scale:robust", "scale:robust:with_centering", "scale:robust:with_scaling", "scale:robust:quantile_range",
    "scale:robust:unit_variance",
    "one_hot:categories=given", "one_hot:categories=learned", "one_hot:categories=given_with_missing",
    "one_hot:drop=first", "one_hot:drop=if_binary", "one_hot:drop=category",
    "one_hot:handle_unknown=error", "one_hot:handle_unknown=ignore", "one_hot:handle_unknown=infrequent_if_exist",
    "one_hot:handle_unknown=warn",
    "one_hot:min_frequency", "one_hot:max_categories",
    "ordinal:categories=given", "ordinal:categories=learned", "ordinal:categories=given_with_missing",
    "ordinal:handle_unknown=error", "ordinal:handle_unknown=use_encoded_value", "ordinal:encoded_missing_value",
    "ordinal:min_frequency", "ordinal:max_categories",
    "binarize", "function:log", "function:log1p", "function:sqrt", "function:exp", "function:abs",
    "function:sign", "function:square", "function:clip",
    "bins:quantile", "bins:uniform", "bins:quantile_method=inverted_cdf", "bins:quantile_method=linear",
    "bins:encode=ordinal", "bins:encode=onehot", "cyclical",
    "date_parts:year", "date_parts:month", "date_parts:day", "date_parts:day_of_week", "date_parts:day_of_year",
    "date_parts:hour", "date_parts:minute",
    "spline", "spline:extrapolation=linear", "spline:extrapolation=continue", "spline:include_bias=false",
    "spline:handle_missing=zeros", "spline:knots=quantile", "spline:extrapolation=periodic",
    "quantile:output_distribution=uniform", "quantile:output_distribution=normal", "quantile:n_quantiles",
    "normalize:l1", "normalize:l2", "normalize:max",
    "polynomial", "polynomial:interaction_only", "polynomial:include_bias=false", "polynomial:degree=range",
]


# Required on DuckDB and PostgreSQL only, not yet on Spark: `power` does not
# run there yet (test_parity.KNOWN_FAILURES; the README's known limitations).
NOT_YET_REQUIRED = ["power:method=yeo-johnson", "power:standardize=false"]
NOT_YET_REQUIRED_ENGINES = ["duckdb", "postgres"]


def cells(steps, declared=None):
    """The option cells one feature's steps (and its declared type) exercise."""
    out = {f"type:{declared}"} if declared == "boolean" else set()
    for step in steps:
        (kind, opts), = step.items()
        if kind == "impute":
            out.add("impute:" + (opts if isinstance(opts, str) else opts["strategy"]))
            if isinstance(opts, dict) and opts.get("keep_empty_features"):
                out.add("impute:keep_empty_features")
            if isinstance(opts, dict) and opts.get("add_indicator"):
                out.add("impute:add_indicator")
        elif kind == "scale":
            name, options = (opts, {}) if isinstance(opts, str) else next(iter(opts.items()))
            out.add(f"scale:{name}")
            out.update(f"scale:{name}:{k}" for k in (options or {}))
        elif kind == "binarize":
            out.add("binarize")
        elif kind == "cyclical":
            out.add("cyclical")
        elif kind == "spline":
            opts = opts or {}
            out.add("spline")
            out.update(f"spline:{k}={v}" for k, v in opts.items()
                       if (k, v) in (("extrapolation", "linear"), ("extrapolation", "continue"),
                                     ("extrapolation", "periodic"), ("handle_missing", "zeros"),
                                     ("knots", "quantile")))
            if opts.get("include_bias") is False:
                out.add("spline:include_bias=false")
        elif kind == "quantile":
            opts = opts or {}
            out.add(f"quantile:output_distribution={opts.get('output_distribution', 'uniform')}")
            if "n_quantiles" in opts:
                out.add("quantile:n_quantiles")
        elif kind == "power":
            opts = opts or {}
            out.add(f"power:method={opts.get('method', 'yeo-johnson')}")
            if opts.get("standardize") is False:
                out.add("power:standardize=false")
        elif kind == "date_parts":
            out.update(f"date_parts:{part}" for part in opts)
        elif kind == "bins":
            out.add(f"bins:{opts.get('strategy', 'quantile')}")
            out.update(f"bins:{k}={v}" for k, v in opts.items() if k == "quantile_method")
            out.add(f"bins:encode={'ordinal' if opts.get('encode') == 'ordinal' else 'onehot'}")
        elif kind == "normalize":
            out.add(f"normalize:{opts if isinstance(opts, str) else (opts or {}).get('norm', 'l2')}")
        elif kind == "polynomial":
            opts = opts or {}
            out.add("polynomial")
            out.update(f"polynomial:{k}" for k in ("interaction_only",) if opts.get(k))
            if opts.get("include_bias") is False:
                out.add("polynomial:include_bias=false")
            if isinstance(opts.get("degree"), list):
                out.add("polynomial:degree=range")
        elif kind == "function":
            out.add(f"function:{opts if isinstance(opts, str) else next(iter(opts))}")
        else:
            opts = opts or {}
            given = isinstance(opts.get("categories"), list)
            out.add(f"{kind}:categories={'given' if given else 'learned'}")
            if given and None in opts["categories"]:
                out.add(f"{kind}:categories=given_with_missing")
            out.add(f"{kind}:handle_unknown={opts.get('handle_unknown', 'error')}")
            drop = opts.get("drop")
            if drop is not None:
                out.add(f"{kind}:drop={'category' if isinstance(drop, dict) else drop}")
            out.update(f"{kind}:{k}" for k in ("min_frequency", "max_categories", "encoded_missing_value") if k in opts)
    return out


class Report:
    def __init__(self):
        self.cells = defaultdict(lambda: {"cases": 0, "passed": 0, "max_rel": 0.0})
        self.engines = []
        self.not_executed = set()

    def __bool__(self):
        return bool(self.cells)

    def add(self, cell, engine, table, passed, max_rel):
        data = "real" if table in REAL_TABLES else "adversarial"
        c = self.cells[(cell, engine, data)]
        c["cases"] += 1
        c["passed"] += int(passed)
        c["max_rel"] = max(c["max_rel"], max_rel)
        if engine not in self.engines:
            self.engines.append(engine)

    def missing(self):
        """Required cells without a passing case on real or on adversarial data."""
        wanted = [(cell, engine) for engine in REQUIRED_ENGINES for cell in REQUIRED_CELLS]
        wanted += [(cell, engine) for engine in NOT_YET_REQUIRED_ENGINES for cell in NOT_YET_REQUIRED]
        return [
            f"{cell} on {engine} ({data} data)"
            for cell, engine in wanted
            for data in ("real", "adversarial")
            if self.cells.get((cell, engine, data), {}).get("passed", 0) == 0
        ]

    def lines(self):
        engines = [e for e in REQUIRED_ENGINES + sorted(self.engines) if e in self.engines]
        engines = list(dict.fromkeys(engines))
        names = sorted({c for c, _, _ in self.cells}, key=lambda c: (REQUIRED_CELLS.index(c) if c in REQUIRED_CELLS else 99, c))
        yield "cell: passed/cases on real | adversarial data, max relative error (|value| >= 1e-3)"
        yield f"{'step / option':42}" + "".join(f"{e:>30}" for e in engines)
        for cell in names:
            row = f"{cell:42}"
            for e in engines:
                r = self.cells.get((cell, e, "real"), {"cases": 0, "passed": 0, "max_rel": 0.0})
                a = self.cells.get((cell, e, "adversarial"), {"cases": 0, "passed": 0, "max_rel": 0.0})
                worst = max(r["max_rel"], a["max_rel"])
                row += f"{r['passed']}/{r['cases']} | {a['passed']}/{a['cases']}  {worst:.0e}".rjust(30)
            yield row
        for d in sorted(self.not_executed):
            yield f"{d}: not executed here (no engine on this machine); its SQL is checked by sqlparser, sqlglot and snapshots"


REPORT = Report()
