"""Train = serve, enforced at run time: an apply reads only parameters fitted
for its own spec. Parameters fitted for a different version of the spec (a
changed option, an added feature) stop the query, naming both spec hashes,
on every engine; the matching version runs."""

import pytest

import datasets
from test_parity import compile_sql, engine

V1 = "name: served\nsource: {table: adversarial}\nkeys: [id]\nfeatures:\n  decimals: [{scale: min_max}]\n"
CHANGED = {
    "an option": V1.replace("{scale: min_max}", "{scale: {min_max: {feature_range: [-1, 1]}}}"),
    "a feature": V1 + "  gappy: [{impute: mean}]\n",
    "only given categories": V1.replace("decimals: [{scale: min_max}]",
                                        "level: [{one_hot: {categories: [low, mid, high], handle_unknown: ignore}}]"),
}


@pytest.mark.parametrize("engine_name", ["duckdb", "postgres", "redshift-on-postgres", "databricks-on-spark"])
@pytest.mark.parametrize("change", sorted(CHANGED))
def test_parameters_of_another_spec_version_stop_the_apply(prep_bin, tmp_path, engine_name, change):
    df, types = datasets.adversarial()
    eng = engine(engine_name)
    eng.load("adversarial", df, types)
    v1, v2 = tmp_path / "v1.yml", tmp_path / "v2.yml"
    v1.write_text(V1)
    v2.write_text(CHANGED[change])
    eng.store("served__params", compile_sql(prep_bin, str(v1), eng.dialect, "--emit", "fit-sql"))
    apply_v1 = compile_sql(prep_bin, str(v1), eng.dialect).split("-- file: served.apply.sql\n")[1]
    assert len(eng.query(apply_v1)) == len(df)
    apply_v2 = compile_sql(prep_bin, str(v2), eng.dialect).split("-- file: served.apply.sql\n")[1]
    with pytest.raises(Exception) as stopped:
        eng.query(apply_v2)
    assert "not fitted for this spec" in str(stopped.value)


@pytest.mark.parametrize("engine_name", ["duckdb", "postgres", "redshift-on-postgres", "databricks-on-spark"])
def test_provenance_column_names_the_spec_of_the_statistics(prep_bin, tmp_path, engine_name):
    """`provenance: true`: every scored row carries the hash of the spec whose
    statistics scored it, the same as the stored `prep_spec_hash`."""
    df, types = datasets.adversarial()
    eng = engine(engine_name)
    eng.load("adversarial", df, types)
    spec = tmp_path / "v1.yml"
    spec.write_text(V1 + "provenance: true\n")
    eng.store("served__params", compile_sql(prep_bin, str(spec), eng.dialect, "--emit", "fit-sql"))
    stored = eng.query("SELECT text FROM served__params WHERE parameter = 'prep_spec_hash'")
    ((hash_,),) = [tuple(r) for r in stored.itertuples(index=False)]
    assert hash_.startswith("sha256:")
    stored = eng.query("SELECT text FROM served__params WHERE parameter = 'prep_fit_id'")
    ((fit_id,),) = [tuple(r) for r in stored.itertuples(index=False)]
    scored = eng.query(compile_sql(prep_bin, str(spec), eng.dialect).split("-- file: served.apply.sql\n")[1])
    assert list(scored.columns)[-2:] == ["prep_spec_hash", "prep_fit_id"]
    assert set(scored["prep_spec_hash"]) == {hash_} and len(scored) == len(df)
    assert set(scored["prep_fit_id"]) == {fit_id}


def fit_id(eng, prep_bin, spec, df, types):
    """The fit id the fit query stores for `df` as the training rows."""
    eng.load("adversarial", df, types)
    eng.store("served__params", compile_sql(prep_bin, str(spec), eng.dialect, "--emit", "fit-sql"))
    stored = eng.query("SELECT text FROM served__params WHERE parameter = 'prep_fit_id'")
    ((value,),) = [tuple(r) for r in stored.itertuples(index=False)]
    return value


@pytest.mark.parametrize("engine_name", ["duckdb", "postgres", "redshift-on-postgres", "databricks-on-spark"])
def test_fit_id_names_the_spec_and_the_training_rows(prep_bin, tmp_path, engine_name):
    """The fit id is the spec's hash, the row count and a checksum of the
    columns the spec reads: the same rows in another order give the same id;
    one changed value, one more row or a changed spec give another."""
    df, types = datasets.adversarial()
    eng = engine(engine_name)
    spec = tmp_path / "v1.yml"
    spec.write_text(V1)
    first = fit_id(eng, prep_bin, spec, df, types)
    digits, rows, checksum = first.split(":")
    assert len(digits) == 12 and int(rows) == len(df) and int(checksum) != 0
    assert fit_id(eng, prep_bin, spec, df.sample(frac=1, random_state=7), types) == first
    changed = df.copy()
    changed.loc[changed.index[3], "decimals"] = 0.5 if changed["decimals"].iloc[3] != 0.5 else 0.25
    assert fit_id(eng, prep_bin, spec, changed, types).split(":")[:2] == [digits, rows]
    assert fit_id(eng, prep_bin, spec, changed, types) != first
    more = df.iloc[list(range(len(df))) + [0]]
    assert fit_id(eng, prep_bin, spec, more, types).split(":")[1] == str(len(df) + 1)
    spec.write_text(CHANGED["an option"])
    assert fit_id(eng, prep_bin, spec, df, types).split(":")[0] != digits


@pytest.mark.parametrize("engine_name", ["duckdb", "postgres"])
def test_a_missing_parameter_stops_the_apply(prep_bin, tmp_path, engine_name):
    """A fitted value lost from the stored parameters (a partial copy, a hand
    edit) stops the apply, as a wrong hash does: never a silent NULL."""
    df, types = datasets.adversarial()
    eng = engine(engine_name)
    eng.load("adversarial", df, types)
    spec = tmp_path / "v1.yml"
    spec.write_text(V1)
    eng.store("served__params", compile_sql(prep_bin, str(spec), eng.dialect, "--emit", "fit-sql"))
    apply_sql = compile_sql(prep_bin, str(spec), eng.dialect).split("-- file: served.apply.sql\n")[1]
    assert len(eng.query(apply_sql)) == len(df)
    eng.execute("DELETE FROM served__params WHERE parameter = 'decimals__s1_scale'")
    with pytest.raises(Exception) as stopped:
        eng.query(apply_sql)
    assert "not all there" in str(stopped.value)
