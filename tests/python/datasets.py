"""Data for the parity suite: real tables shipped inside Python packages, and
an adversarial table built by a seeded rule. Every table has an integer `id`
(the row key) and a `split` column: 'train' rows are what specs fit on
(`fit: {where: "split = 'train'"}`), 'score' rows are scored with the
training statistics and hold values and categories never seen in training.
"""

import numpy as np
import pandas as pd

NUMERIC, INTEGER, TEXT, BOOLEAN = "numeric", "integer", "text", "boolean"
# Python `date` and `datetime` (naive) values, None where missing.
DATE, TIMESTAMP = "date", "timestamp"


def _typed(df: pd.DataFrame, types: dict) -> tuple[pd.DataFrame, dict]:
    df = df.reset_index(drop=True)
    for col, t in types.items():
        if t in (TEXT, BOOLEAN, DATE, TIMESTAMP):
            df[col] = df[col].astype(object).where(df[col].notna(), None)
        elif t == NUMERIC:
            df[col] = df[col].astype(float)
    return df, types


def penguins():
    """palmerpenguins: missing numbers and categories; 2009 is the scoring year."""
    import palmerpenguins

    df = palmerpenguins.load_penguins()
    df.insert(0, "id", np.arange(len(df), dtype=np.int64))
    df["split"] = np.where(df["year"] < 2009, "train", "score")
    df["year"] = df["year"].astype(np.int64)
    # The day the nest's first egg was observed (palmerpenguins' raw table, same rows).
    egg = pd.to_datetime(palmerpenguins.load_penguins_raw()["Date Egg"])
    df["date_egg"] = np.array([None if pd.isna(d) else d.date() for d in egg], dtype=object)
    types = {
        "id": INTEGER, "split": TEXT, "species": TEXT, "island": TEXT,
        "bill_length_mm": NUMERIC, "bill_depth_mm": NUMERIC, "flipper_length_mm": NUMERIC,
        "body_mass_g": NUMERIC, "sex": TEXT, "year": INTEGER, "date_egg": DATE,
    }
    return _typed(df[list(types)], types)


def diabetes():
    """scikit-learn's bundled diabetes table, with 12% of each feature set missing by a seeded rule."""
    from sklearn.datasets import load_diabetes

    df = load_diabetes(as_frame=True, scaled=False).frame
    rng = np.random.default_rng(20261121)
    for col in ["age", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]:
        df.loc[rng.random(len(df)) < 0.12, col] = np.nan
    df["sex"] = np.where(df["sex"] == 1, "one", "two").astype(object)
    df.loc[rng.random(len(df)) < 0.05, "sex"] = None
    df.insert(0, "id", np.arange(len(df), dtype=np.int64))
    df["split"] = np.where(df["id"] < 330, "train", "score")
    types = {"id": INTEGER, "split": TEXT, "sex": TEXT, "target": NUMERIC}
    types.update({c: NUMERIC for c in ["age", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]})
    return _typed(df[list(types)], types)


def adversarial():
    """The traps of docs/semantics.md, one column each."""
    rng = np.random.default_rng(7)
    n = 240
    train = np.arange(n) < 200
    df = pd.DataFrame({"id": np.arange(n, dtype=np.int64), "split": np.where(train, "train", "score")})
    df["all_null"] = np.nan
    df["constant"] = 7.25
    df["huge"] = 1e15 + rng.integers(0, 16, n) * 0.5  # 1e15 with a spread of a few units
    df["tiny"] = rng.normal(0, 1, n) * 1e-200
    df["ints"] = rng.integers(-5, 6, n).astype(np.int64)  # integer column: no integer division anywhere
    df["decimals"] = np.round(rng.normal(100, 15, n), 2)
    df["negzero"] = np.where(rng.random(n) < 0.5, -0.0, 0.0)
    df.loc[rng.random(n) < 0.2, "negzero"] = 1.5
    df["gappy"] = rng.normal(3, 2, n)
    df.loc[rng.random(n) < 0.3, "gappy"] = np.nan
    df.loc[~train, "gappy"] = df.loc[~train, "gappy"] * 10  # out of the training range
    cats = np.array(["a", "A", "a ", "é", "日本", "", "O'Brien", "{{ x }}", "back\\slash"], dtype=object)
    df["cat"] = cats[rng.integers(0, len(cats), n)]
    df.loc[rng.random(n) < 0.1, "cat"] = None
    df.loc[~train & (rng.random(n) < 0.4), "cat"] = "never seen"
    df["level"] = np.array(["low", "mid", "high"], dtype=object)[rng.integers(0, 3, n)]
    df.loc[~train & (rng.random(n) < 0.3), "level"] = "extreme"
    # Epoch milliseconds: a mean far larger than the spread (a one-pass
    # variance loses digits here).
    df["epoch_ms"] = 1.7e12 + np.round(rng.normal(0, 4e5, n))
    # Near the top of the double range (PostgreSQL's AVG overflowed here).
    df["big"] = rng.uniform(1, 9, n) * 1e300
    df.loc[rng.random(n) < 0.1, "big"] = np.nan
    # Missing only in scoring rows: a value the ordinal encoders never saw.
    df["late_null"] = np.array(["p", "q", "r"], dtype=object)[rng.integers(0, 3, n)]
    df.loc[~train & (rng.random(n) < 0.5), "late_null"] = None
    df["late_null2"] = df["late_null"]
    # Missing values stored as NaN, not NULL (engines keep them apart; scikit-learn does not).
    df["gappy_nan"] = df["gappy"]
    # BOOLEAN columns: scikit-learn reads 0/1 for numbers, False/True as categories.
    df["yes_no"] = np.array([bool(b) for b in rng.random(n) < 0.35], dtype=object)
    df.loc[rng.random(n) < 0.15, "yes_no"] = None
    df["yes_no_full"] = np.array([bool(b) for b in rng.random(n) < 0.6], dtype=object)
    _dates(df, n)
    types = {
        "id": INTEGER, "split": TEXT, "all_null": NUMERIC, "constant": NUMERIC, "huge": NUMERIC,
        "tiny": NUMERIC, "ints": INTEGER, "decimals": NUMERIC, "negzero": NUMERIC, "gappy": NUMERIC,
        "cat": TEXT, "level": TEXT, "epoch_ms": NUMERIC, "big": NUMERIC, "late_null": TEXT,
        "late_null2": TEXT, "gappy_nan": NUMERIC, "yes_no": BOOLEAN, "yes_no_full": BOOLEAN,
        "seen_at": TIMESTAMP, "seen_on": DATE, "seen_at_b": TIMESTAMP, "seen_on_b": DATE,
    }
    return _typed(df[list(types)], types)


def _dates(df, n):
    """A timestamp and a date column: the calendar's edges (leap days, 1900
    not a leap year, the ends of ClickHouse's range 1900..2299, a year's
    last minute, each day of the week) then random instants, missing
    values among them (a random generator of its own: the other columns'
    values do not move)."""
    import datetime as dt

    rng = np.random.default_rng(11)
    edges = [
        dt.datetime(1900, 1, 1, 0, 0), dt.datetime(1900, 2, 28, 23, 59), dt.datetime(1900, 3, 1, 0, 1),
        dt.datetime(2000, 2, 29, 12, 30), dt.datetime(2024, 12, 31, 23, 59, 59, 999999),
        dt.datetime(2299, 12, 31, 23, 59), dt.datetime(1970, 1, 1), dt.datetime(1969, 12, 31, 23, 59),
    ] + [dt.datetime(2026, 11, 30, 3 * k) + dt.timedelta(days=k) for k in range(7)]  # Monday to Sunday
    start = dt.datetime(1950, 1, 1)
    seconds = rng.integers(0, 120 * 365 * 86400, n)
    values = [start + dt.timedelta(seconds=int(s), microseconds=int(u))
              for s, u in zip(seconds, rng.integers(0, 1_000_000, n))]
    values[:len(edges)] = edges
    missing = rng.random(n) < 0.1
    missing[:len(edges)] = False
    df["seen_at"] = np.array([None if m else v for v, m in zip(values, missing)], dtype=object)
    days = rng.permutation(values)
    df["seen_on"] = np.array([None if m else v.date() for v, m in zip(days, rng.random(n) < 0.1)], dtype=object)
    df["seen_at_b"], df["seen_on_b"] = df["seen_at"], df["seen_on"]


TABLES = {"penguins": penguins, "diabetes": diabetes, "adversarial": adversarial}


def wide_vocab():
    """High cardinality: about 10,000 categories with a long tail, for max_categories."""
    rng = np.random.default_rng(11)
    n = 12000
    ranks = np.minimum(rng.zipf(1.3, n), 10000)
    df = pd.DataFrame({"id": np.arange(n, dtype=np.int64)})
    df["split"] = np.where(df["id"] < 11000, "train", "score")
    df["code"] = np.array([f"c{r:05d}" for r in ranks], dtype=object)
    df.loc[df["split"] == "score", "code"] = np.array([f"new{i}" for i in range((df["split"] == "score").sum())], dtype=object)
    df["level"] = rng.integers(0, 10000, n).astype(np.int64)
    types = {"id": INTEGER, "split": TEXT, "code": TEXT, "level": INTEGER}
    return _typed(df[list(types)], types)


TABLES["wide_vocab"] = wide_vocab
