"""`prep fit`, `prep preview` and `prep export-sklearn` on the embedded engine,
with real data (palmerpenguins), checked against scikit-learn."""

import os
import subprocess

import duckdb
import pytest

import datasets

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SPEC = os.path.join(ROOT, "examples", "penguins", "penguins.yml")
REBUILD = os.path.join(ROOT, "examples", "sklearn_export", "rebuild.py")


def run(prep_bin, *args):
    return subprocess.run([prep_bin, *args], capture_output=True, text=True)


@pytest.fixture(scope="module")
def penguins_files(tmp_path_factory):
    """The penguins table as CSV, and split in two Parquet files (read through a glob)."""
    out = tmp_path_factory.mktemp("penguins")
    df, _ = datasets.penguins()
    csv = out / "penguins.csv"
    df.to_csv(csv, index=False)
    con = duckdb.connect()
    con.register("df", df)
    con.execute(f"COPY (SELECT * FROM df WHERE id < 200) TO '{out / 'part1.parquet'}' (FORMAT parquet)")
    con.execute(f"COPY (SELECT * FROM df WHERE id >= 200) TO '{out / 'part2.parquet'}' (FORMAT parquet)")
    return out


def test_fitted_values_equal_scikit_learn_attributes(prep_bin, penguins_files, tmp_path):
    params = tmp_path / "penguins.fitted.yml"
    done = run(prep_bin, "fit", SPEC, "--data", str(penguins_files / "penguins.csv"), "--out", str(params))
    assert done.returncode == 0, done.stderr
    text = params.read_text()
    assert "prep_rows: 344.0" in text and "spec_hash:" in text
    exported = run(prep_bin, "export-sklearn", SPEC, "--params", str(params))
    assert exported.returncode == 0, exported.stderr
    fitted_json = tmp_path / "fitted.json"
    fitted_json.write_text(exported.stdout)
    # The example checks every attribute against scikit-learn's own fit (1e-12 relative).
    check = subprocess.run(["python", REBUILD, str(fitted_json), str(penguins_files / "penguins.csv")],
                           capture_output=True, text=True, env={**os.environ, "PATH": os.path.dirname(os.sys.executable) + ":" + os.environ["PATH"]})
    assert check.returncode == 0, check.stdout + check.stderr
    assert "equal scikit-learn's" in check.stdout


def test_parquet_globs_give_the_same_parameters_as_csv(prep_bin, penguins_files, tmp_path):
    a, b = tmp_path / "a.fitted.yml", tmp_path / "b.fitted.yml"
    assert run(prep_bin, "fit", SPEC, "--data", str(penguins_files / "penguins.csv"), "--out", str(a)).returncode == 0
    done = run(prep_bin, "fit", SPEC, "--data", str(penguins_files / "part*.parquet"), "--out", str(b))
    assert done.returncode == 0, done.stderr
    body = lambda p: [l for l in p.read_text().splitlines() if not l.startswith("#")]
    assert body(a) == body(b)


def test_preview_shows_an_aligned_table_and_writes_files(prep_bin, penguins_files, tmp_path):
    done = run(prep_bin, "preview", SPEC, "--data", str(penguins_files / "penguins.csv"), "--rows", "5")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2 + 5
    header = [c.strip() for c in lines[0].split("|")]
    assert header[:3] == ["id", "bill_length_mm", "bill_depth_mm"]
    assert "island_Biscoe" in header and "year_infrequent_sklearn" in header
    assert len({len(l) for l in lines[:2]}) == 1, "columns are aligned"
    out = tmp_path / "features.parquet"
    done = run(prep_bin, "preview", SPEC, "--data", str(penguins_files / "penguins.csv"), "--output", str(out))
    assert done.returncode == 0, done.stderr
    assert duckdb.connect().execute(f"SELECT count(*) FROM '{out}'").fetchone()[0] == 344


def test_apply_scores_with_fitted_statistics_and_fits_nothing(prep_bin, penguins_files, tmp_path):
    """Fitted on the first rows, applied to the others: `prep apply` gives what
    the compiled apply query gives with the same fitted file, not a refit."""
    params = tmp_path / "first.fitted.yml"
    done = run(prep_bin, "fit", SPEC, "--data", str(penguins_files / "part1.parquet"), "--out", str(params))
    assert done.returncode == 0, done.stderr
    scored = tmp_path / "scored.parquet"
    done = run(prep_bin, "apply", SPEC, "--params", str(params), "--data", str(penguins_files / "part2.parquet"),
               "--output", str(scored))
    assert done.returncode == 0, done.stderr
    sql = run(prep_bin, "compile", SPEC, "--dialect", "duckdb", "--params", str(params))
    assert sql.returncode == 0, sql.stderr
    con = duckdb.connect()
    source = "penguins"  # the spec's source table
    con.execute(f"CREATE TABLE {source} AS SELECT * FROM '{penguins_files / 'part2.parquet'}'")
    want = con.execute(f"SELECT * FROM ({sql.stdout}) ORDER BY id").fetchall()
    got = con.execute(f"SELECT * FROM '{scored}' ORDER BY id").fetchall()
    assert got == want and len(got) == 144
    refit = tmp_path / "refit.parquet"
    assert run(prep_bin, "preview", SPEC, "--data", str(penguins_files / "part2.parquet"), "--output",
               str(refit)).returncode == 0
    assert con.execute(f"SELECT * FROM '{refit}' ORDER BY id").fetchall() != got
    # preview --params shows the same rows.
    shown = run(prep_bin, "preview", SPEC, "--params", str(params), "--data", str(penguins_files / "part2.parquet"),
                "--rows", "3")
    assert shown.returncode == 0, shown.stderr
    assert len(shown.stdout.splitlines()) == 2 + 3


def test_handle_unknown_warn_names_the_rows_it_warns_about(prep_bin, penguins_files, tmp_path):
    """OneHotEncoder(handle_unknown='warn') warns in transform about categories
    the fit did not learn: `prep apply` does too, naming them with their row
    counts (Dream, not listed; Chinstrap, not in the first rows), and scores
    them as infrequent_if_exist does (all zeros here: no infrequent column)."""
    df, _ = datasets.penguins()
    first, later = df[df["id"] < 200], df[df["id"] >= 200].sort_values("id")
    spec = tmp_path / "warn.yml"
    spec.write_text(
        "name: penguins\nsource: {table: penguins}\nkeys: [id]\nfeatures:\n"
        "  island: [{one_hot: {categories: [Biscoe, Torgersen], handle_unknown: warn}}]\n"
        "  species: [{one_hot: {handle_unknown: warn}}]\n"
        "  sex: [{one_hot: {handle_unknown: warn}}]\n"
    )
    params = tmp_path / "warn.fitted.yml"
    done = run(prep_bin, "fit", str(spec), "--data", str(penguins_files / "part1.parquet"), "--out", str(params))
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr
    scored = tmp_path / "scored.csv"
    done = run(prep_bin, "apply", str(spec), "--params", str(params), "--data", str(penguins_files / "part2.parquet"),
               "--output", str(scored))
    assert done.returncode == 0, done.stderr
    for feature, category in [("island", "Dream"), ("species", "Chinstrap")]:
        assert category not in set(first[feature]) or feature == "island"
        n = int((later[feature] == category).sum())
        assert n > 0 and f'warning: feature `{feature}`: {n} row(s)' in done.stderr, done.stderr
        assert f'"{category}" ({n})' in done.stderr, done.stderr
    # The missing sex was seen in the first rows: no warning.
    assert first["sex"].isna().any() and "feature `sex`" not in done.stderr
    # Unknown rows are all zeros, as scikit-learn encodes them.
    out = duckdb.connect().execute(f"SELECT island_Biscoe + island_Torgersen FROM '{scored}' ORDER BY id").fetchall()
    assert [v for (v,) in out] == [0.0 if i == "Dream" else 1.0 for i in later["island"]]


@pytest.mark.parametrize("case", ["missing file", "unreadable file", "missing column", "wrong type"])
def test_bad_data_names_the_file_and_column_and_writes_nothing(prep_bin, penguins_files, tmp_path, case):
    params = tmp_path / "x.fitted.yml"
    data = str(penguins_files / "penguins.csv")
    expected = []
    if case == "missing file":
        data = str(tmp_path / "nope.csv")
        expected = ["nope.csv", "no such data file"]
    elif case == "unreadable file":
        bad = tmp_path / "bad.parquet"
        bad.write_bytes(b"this is not parquet")
        data = str(bad)
        expected = ["bad.parquet", "cannot read"]
    elif case == "missing column":
        con = duckdb.connect()
        path = tmp_path / "no_sex.csv"
        con.execute(f"COPY (SELECT * EXCLUDE (sex) FROM read_csv('{data}')) TO '{path}' (HEADER)")
        data = str(path)
        expected = ["no_sex.csv", "`sex`"]
    elif case == "wrong type":
        con = duckdb.connect()
        path = tmp_path / "text_mass.csv"
        con.execute(f"COPY (SELECT * REPLACE ('g' || body_mass_g AS body_mass_g) FROM read_csv('{data}')) TO '{path}' (HEADER)")
        data = str(path)
        expected = ["text_mass.csv", "`body_mass_g`", "VARCHAR", "numeric"]
    done = run(prep_bin, "fit", SPEC, "--data", data, "--out", str(params))
    assert done.returncode != 0
    for word in expected:
        assert word in done.stderr, done.stderr
    assert "E010" in done.stderr and "help:" in done.stderr
    assert not params.exists(), "no partial params file"
