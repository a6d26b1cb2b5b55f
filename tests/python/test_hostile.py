"""Hostile names and values, executed: what data, a spec or a fit result holds
can never run as SQL, write a file, or change meaning on its way through prep.

Each test runs prep's SQL on real engines next to two canary tables (`canary`
and `v`) that an injection would drop, and checks that they survive and that
every value comes back exactly as it went in.
"""

import json
import os
import subprocess

import duckdb
import pandas as pd
import pytest

from engines import DuckDB, Postgres, RedshiftOnPostgres, Spark
from test_parity import engine

# Texts that have broken SQL, Jinja or a literal's meaning in some dialect.
HOSTILE = [
    "\\'THEN 0 END FROM t prep_src;DROP TABLE v;SELECT CASE WHEN 1=1 THEN--",
    "'); DROP TABLE canary; --",
    "it''s",
    "two''q",
    'we"ird',
    'two""quotes',
    "back\\slash",
    "ends with \\",
    "\\'",
    "${x}",
    "{{ run_query('drop table canary') }}",
    "{% raw %}",
    "cr\r\nlf",
    "trail \nx",
    "tab\tx",
    "é😀",
    "",
]

SQL_ENGINES = ["duckdb", "postgres", "redshift-on-postgres", "trino-on-duckdb", "clickhouse"]


def run(prep_bin, *args, stdin=None):
    return subprocess.run([prep_bin, *args], capture_output=True, text=True, input=stdin)


def plant_canaries(eng):
    for name in ("canary", "v"):
        eng.execute(f"DROP TABLE IF EXISTS {name}")
        eng.execute(f"CREATE TABLE {name} (x INTEGER)")


def canaries_alive(eng):
    for name in ("canary", "v"):
        assert len(eng.query(f"SELECT * FROM {name}")) == 0, f"{name} is gone"


def hostile_table():
    rows = []
    for i, value in enumerate(HOSTILE):
        for copy in range(2):
            rows.append({"id": 2 * i + copy, "cat": value, "x": float(i + copy)})
    return pd.DataFrame(rows)


def load(eng, df):
    from datasets import INTEGER, NUMERIC, TEXT

    eng.load("hostile", df, {"id": INTEGER, "cat": TEXT, "x": NUMERIC})


def spec_file(tmp_path, text):
    path = tmp_path / "spec.yml"
    path.write_text(text)
    return str(path)


def codes(df):
    """scikit-learn's ordinal codes: the sorted categories (code points), from 0."""
    order = sorted(set(HOSTILE))
    return {v: float(order.index(v)) for v in HOSTILE}


def check_codes(got, df):
    want = codes(df)
    got = got.sort_values("id").reset_index(drop=True)
    for row, value in zip(got.itertuples(), df.sort_values("id")["cat"]):
        assert row.cat == want[value], (value, row.cat)


@pytest.mark.parametrize("engine_name", SQL_ENGINES)
def test_learned_categories_from_data_stay_data(prep_bin, engine_name, tmp_path):
    """Finding 1: fit query -> exported result -> prep fit --from-result -> --params."""
    eng = engine(engine_name)
    df = hostile_table()
    load(eng, df)
    plant_canaries(eng)
    spec = spec_file(tmp_path, "name: hostile\nsource: {table: hostile}\nkeys: [id]\nfeatures:\n  cat: [{ordinal: {}}]\n")
    fit_sql = run(prep_bin, "compile", spec, "--dialect", eng.dialect, "--emit", "fit-sql")
    assert fit_sql.returncode == 0, fit_sql.stderr
    result = eng.query(fit_sql.stdout)
    records = [{k: (None if pd.isna(v) else v) for k, v in r.items()} for r in result.to_dict(orient="records")]
    (tmp_path / "result.json").write_text(json.dumps(records))
    params = tmp_path / "spec.fitted.yml"
    done = run(prep_bin, "fit", spec, "--from-result", str(tmp_path / "result.json"), "--out", str(params))
    assert done.returncode == 0, done.stderr
    for form in (["--emit", "sql"], ["--emit", "dbt-model"]):
        apply = run(prep_bin, "compile", spec, "--dialect", eng.dialect, "--params", str(params), *form)
        assert apply.returncode == 0, apply.stderr
    apply = run(prep_bin, "compile", spec, "--dialect", eng.dialect, "--params", str(params))
    check_codes(eng.query(apply.stdout), df)
    canaries_alive(eng)


@pytest.mark.parametrize("engine_name", SQL_ENGINES)
def test_given_categories_stay_data(prep_bin, engine_name, tmp_path):
    """Finding 3: given categories holding quotes and backslashes, inline and bound."""
    eng = engine(engine_name)
    df = hostile_table()
    load(eng, df)
    plant_canaries(eng)
    cats = json.dumps(sorted(set(HOSTILE)))
    spec = spec_file(tmp_path, f"name: hostile\nsource: {{table: hostile}}\nkeys: [id]\nfeatures:\n  cat: [{{ordinal: {{categories: {cats}}}}}]\n")
    inline = run(prep_bin, "compile", spec, "--dialect", eng.dialect, "--inline")
    assert inline.returncode == 0, inline.stderr
    check_codes(eng.query(inline.stdout), df)
    out = tmp_path / "out"
    done = run(prep_bin, "compile", spec, "--dialect", eng.dialect, "--out", str(out))
    assert done.returncode == 0, done.stderr
    eng.store("hostile__params", (out / "hostile.fit.sql").read_text())
    check_codes(eng.query((out / "hostile.apply.sql").read_text()), df)
    canaries_alive(eng)


def test_preview_output_cannot_be_steered_by_data(prep_bin, tmp_path):
    """Finding 2: a category in the data cannot make `prep preview --output` write elsewhere."""
    pwned = tmp_path / "pwned.csv"
    df = hostile_table()
    df.loc[0, "cat"] = f"x') TO '{pwned}' (FORMAT CSV); COPY (SELECT 1) TO '{pwned}"
    data = tmp_path / "train.parquet"
    con = duckdb.connect()
    con.register("df", df)
    con.execute(f"COPY df TO '{data}' (FORMAT parquet)")
    spec = spec_file(tmp_path, "name: hostile\nsource: {table: hostile}\nkeys: [id]\nfeatures:\n  cat: [{ordinal: {}}]\n")
    target = tmp_path / "out's dir"
    target.mkdir()
    done = run(prep_bin, "preview", spec, "--data", str(data), "--output", str(target / "features.csv"))
    assert done.returncode == 0, done.stderr
    assert not pwned.exists()
    written = pd.read_csv(target / "features.csv", keep_default_na=False)
    assert len(written) == len(df)


def test_a_line_break_in_the_spec_name_is_refused(prep_bin, tmp_path):
    """Finding 4: the name cannot end prep's header comment."""
    spec = spec_file(tmp_path, 'name: "x\\nDROP TABLE canary;"\nsource: {table: t}\nfeatures:\n  a: [{impute: mean}]\n')
    done = run(prep_bin, "compile", spec, "--dialect", "postgres")
    assert done.returncode == 1 and "E003" in done.stderr and "spec.yml:1:7" in done.stderr, done.stderr


def test_a_jinja_file_name_stays_text(prep_bin, tmp_path):
    """Finding 6: a spec file named like a Jinja call is written inertly."""
    path = tmp_path / "f{{ run_query('create table canary') }}.yml"
    path.write_text("name: named\nsource: {ref: t}\nfeatures:\n  a: [{impute: mean}]\n")
    done = run(prep_bin, "compile", str(path), "--dialect", "postgres", "--emit", "dbt-model")
    assert done.returncode == 0, done.stderr
    assert "{{ run_query" not in done.stdout and "run_query" in done.stdout


FILTER_VALUES = ["a\\", "it's", "plain", "a\\'b", "${x}"]


@pytest.mark.parametrize("engine_name", SQL_ENGINES + ["databricks-on-spark"])
def test_fit_where_literals_mean_what_they_say(prep_bin, engine_name, tmp_path):
    """Finding 5: literals in fit.where, read as standard SQL, are the same text on every engine."""
    eng = engine(engine_name)
    rows = [{"id": i, "cat": v, "x": float(10 ** i)} for i, v in enumerate(FILTER_VALUES)]
    rows.append({"id": 99, "cat": "score", "x": None})
    df = pd.DataFrame(rows)
    load(eng, df)
    where = "cat = 'a\\' OR cat = 'it''s' OR cat = 'a\\''b' OR cat = '${x}'"
    spec = spec_file(
        tmp_path,
        f"name: filtered\nsource: {{table: hostile}}\nkeys: [id]\nfit: {{where: {json.dumps(where)}}}\n"
        "features:\n  x: [{impute: mean}]\n",
    )
    done = run(prep_bin, "compile", spec, "--dialect", eng.dialect, "--inline")
    assert done.returncode == 0, done.stderr
    got = eng.query(done.stdout).set_index("id")
    kept = [r["x"] for r in rows if r["cat"] in ("a\\", "it's", "a\\'b", "${x}")]
    assert len(kept) == 4
    assert got.loc[99, "x"] == pytest.approx(sum(kept) / len(kept), rel=1e-12)


NAMES = ['a\\"b', "c\\`d", "e''f", 'g""h', "日本 語", "${x}y"]


@pytest.mark.parametrize("engine_name", SQL_ENGINES + ["databricks-on-spark"])
def test_hostile_column_names_round_trip(prep_bin, engine_name, tmp_path):
    """Findings 8 and 9: names with quotes after backslashes, doubled quotes, unicode."""
    eng = engine(engine_name)
    from datasets import INTEGER, NUMERIC

    # Texts a dialect refuses in a quoted name (a located error, tested in
    # Rust): Spark's ${ (substituted), ClickHouse's backslash (an escape).
    refused = {"databricks": "${", "clickhouse": "\\"}.get(eng.dialect)
    names = [n for n in NAMES if not (refused and refused in n)]
    df = pd.DataFrame({"id": [1, 2, 3], **{n: [1.0, None, 3.0] for n in names}})
    eng.load("hostile_names", df, {"id": INTEGER, **{n: NUMERIC for n in names}})
    features = "".join(f"  {json.dumps(n)}: [{{impute: mean}}]\n" for n in names)
    # A space in a name: Spark's tables here hold it, as a Delta table with column mapping does.
    spec = spec_file(tmp_path, f"name: names\nsource: {{table: hostile_names}}\nkeys: [id]\n"
                               f"delta_column_mapping: true\nfeatures:\n{features}")
    done = run(prep_bin, "compile", spec, "--dialect", eng.dialect, "--inline")
    assert done.returncode == 0, done.stderr
    got = eng.query(done.stdout)
    assert list(got.columns) == ["id", *names]
    for n in names:
        assert sorted(got[n]) == [1.0, 2.0, 3.0], n


def test_spark_variable_syntax_in_a_name_is_refused(prep_bin, tmp_path):
    """Finding 10: Spark would substitute ${x} in the statement text."""
    spec = spec_file(tmp_path, 'name: names\nsource: {table: t}\nfeatures:\n  "${x}y": [{impute: mean}]\n')
    done = run(prep_bin, "compile", spec, "--dialect", "databricks")
    assert done.returncode == 1 and "${" in done.stderr and "spec.yml:4:" in done.stderr, done.stderr


@pytest.mark.parametrize(
    "csv, message",
    [
        ("parameter,kind,text,frequency\n", "no column number"),
        ("parameter,kind,number,text,frequency\nx__mean,value,,1.5,\n", "has a text"),
        ("parameter,kind,number,text,frequency\nx__mean,value,NaN,,\n", "not a finite number"),
        ("parameter,kind,number,text,frequency\nx__mean,value,1e400,,\n", "not a finite number"),
        ("parameter,kind,number,text,frequency\nc__s1_categories,category,,a,2\nc__s1_categories,category,,a,3\n", "appears twice"),
        ("parameter,kind,number,text,frequency\nc__s1_categories,category,1,,2\n", "has a number"),
        ("parameter,kind,number,text,frequency\nc__s1_categories,category,,a,-2\n", "not a count"),
    ],
)
def test_wrong_fit_results_are_refused(prep_bin, tmp_path, csv, message):
    """Finding 12: a fit result that does not fit the plan is an error naming the row."""
    spec = spec_file(tmp_path, "name: checked\nsource: {table: t}\nfeatures:\n  x: [{impute: mean}]\n  c: [{ordinal: {}}]\n")
    result = tmp_path / "result.csv"
    result.write_text(csv)
    done = run(prep_bin, "fit", spec, "--from-result", str(result), "--out", str(tmp_path / "p.yml"))
    assert done.returncode == 1 and "E009" in done.stderr and message in done.stderr, done.stderr
    assert not (tmp_path / "p.yml").exists()
