"""The dbt packages prep generates, built by real dbt on DuckDB and PostgreSQL
(examples/dbt_project: one package fitting in the warehouse, one pinned to a
fit): the scored features equal scikit-learn's (seeds/expected_*.csv, from
generate_expected.py), the parameters follow the training rows only where
they are not pinned, and the package's contract, docs, group and exposure
are what dbt reads."""

import os
import shutil
import subprocess

import json

import duckdb
import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROJECT = os.path.join(ROOT, "examples", "dbt_project")
DBT = os.path.join(os.path.dirname(os.sys.executable), "dbt")


def pg_port():
    parts = dict(p.split("=", 1) for p in os.environ["PREP_PG_DSN"].split())
    return parts["port"]


@pytest.fixture()
def project(prep_bin, tmp_path):
    """A copy of the example project with its packages written into it by
    its own script."""
    dest = tmp_path / "project"
    shutil.copytree(PROJECT, dest, ignore=shutil.ignore_patterns(
        "prep_features", "pinned_features", "dbt_packages", "target", "logs", "*.duckdb"))
    done = subprocess.run(["sh", "build_packages.sh"], cwd=dest, capture_output=True, text=True,
                          env={**os.environ, "PREP": prep_bin})
    assert done.returncode == 0, done.stderr
    return dest


def dbt_run(project, *args, target="duckdb"):
    """dbt run in the project, whatever its outcome."""
    env = {**os.environ, "DBT_PROFILES_DIR": str(project), "PREP_DBT_DUCKDB_PATH": str(project / "example.duckdb"),
           "PREP_PG_PORT": pg_port(), "DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    return subprocess.run([DBT, *args, "--target", target], cwd=project, capture_output=True, text=True, env=env)


def dbt(project, *args, target="duckdb"):
    """dbt run in the project, which must succeed: its output."""
    done = dbt_run(project, *args, target=target)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    return done.stdout


def build_matching(project, expected, name, key, target, tolerance=1e-9):
    """`expected` (scikit-learn's features) as a seed, and a data test that
    the package `<name>_features`' model `name` equals it (within
    `tolerance`, relative above 1, absolute below); then dbt build
    (a full refresh: the seeds' columns are this test's, whatever a database
    kept), which must pass that test: its output."""
    expected.to_csv(project / "seeds" / f"expected_{name}.csv", index=False)
    (project / "tests" / f"{name}_matches_scikit_learn.sql").write_text(
        f"{{{{ matches_expected(ref('{name}_features', '{name}'), ref('expected_{name}'), '{key}', {tolerance}) }}}}\n")
    dbt(project, "deps", target=target)
    out = dbt(project, "build", "--full-refresh", target=target)
    assert f"{name}_matches_scikit_learn" in out and "ERROR=0" in out, out[-6000:]
    return out


def add_package(prep_bin, project, spec, package):
    """One more package in the project: `spec` (a dict) written by prep as
    dbt package `package` and listed in packages.yml."""
    specs = project / f"{package}_specs"
    specs.mkdir()
    (specs / f"{spec['name']}.yml").write_text(json.dumps(spec))
    done = subprocess.run([prep_bin, "compile", specs.name, "--emit", "dbt-package", "--package-name", package,
                           "--out", package], cwd=project, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    (project / "packages.yml").write_text((project / "packages.yml").read_text() + f"  - local: {package}\n")


def table(project, name):
    con = duckdb.connect(str(project / "example.duckdb"), read_only=True)
    try:
        return sorted(map(tuple, con.execute(f'SELECT * FROM "{name}"').fetchall()), key=str)
    finally:
        con.close()


@pytest.mark.parametrize("target", ["duckdb", "postgres"])
def test_dbt_build_scores_with_the_training_statistics(project, target):
    """Both packages build side by side, their scoring models equal
    scikit-learn's, and dbt says nothing about prep's files."""
    dbt(project, "deps", target=target)
    out = dbt(project, "build", target=target)
    assert "scored_matches_scikit_learn" in out and "segments_match_scikit_learn" in out and "ERROR=0" in out
    assert "pinned_segments__params" in out and "churn__params" in out
    warnings = [line for line in out.splitlines() if "WARN" in line.upper() and "WARN=0" not in line]
    assert not warnings, warnings
    # prep's models run without JIT on PostgreSQL (its dialect's pre-hook,
    # in the model's transaction), and with nothing before them elsewhere.
    log = (project / "logs" / "dbt.log").read_text()
    assert ("set local jit = off" in log) == (target == "postgres")


def test_parameters_follow_training_rows_only(project):
    """The warehouse-fitted package follows the training rows (and only
    them); the pinned one follows nothing."""
    dbt(project, "deps")
    dbt(project, "build")
    fitted = [r for r in table(project, "churn__params") if r[0] != "prep_fitted_at"]
    scored = table(project, "scored")
    pinned, scored_pinned = table(project, "pinned_segments__params"), table(project, "scored_segments")
    # A scoring row changes: the parameters do not.
    scoring = project / "seeds" / "scoring.csv"
    scoring.write_text(scoring.read_text().replace("101,2024,5.0,500.0", "101,2024,6.0,900.0"))
    exclude = ["--exclude", "scored_matches_scikit_learn", "segments_match_scikit_learn"]  # expected values no longer apply
    dbt(project, "build", *exclude)
    assert [r for r in table(project, "churn__params") if r[0] != "prep_fitted_at"] == fitted
    # A training row changes: the parameters and the scored features do.
    train = project / "seeds" / "train.csv"
    train.write_text(train.read_text().replace("1,2021,3.5,120.0", "1,2021,30.5,420.0"))
    dbt(project, "build", *exclude)
    assert [r for r in table(project, "churn__params") if r[0] != "prep_fitted_at"] != fitted
    assert table(project, "scored") != scored
    assert table(project, "pinned_segments__params") == pinned
    assert table(project, "scored_segments") == scored_pinned


def test_scoring_relation_without_a_source_column_fails_at_compile_time(project):
    dbt(project, "deps")
    (project / "models" / "broken.sql").write_text("{{ prep.apply_churn(ref('expected_scored')) }}\n")
    dbt(project, "seed")
    done = dbt_run(project, "compile", "--select", "broken")
    assert done.returncode != 0
    assert "has no column `signup_year`" in done.stdout + done.stderr


def test_the_pinned_fit_is_what_prep_fit_gives(prep_bin, project):
    """The example's pinned statistics are those `prep fit` learns from the
    training seed today (its comments and time aside), and the pinned
    package holds them as literals."""
    done = subprocess.run([prep_bin, "fit", "specs/segments.yml", "--data", "seeds/train.csv", "--out",
                           "refit.fitted.yml"], cwd=project, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    def content(path):
        return [l for l in (project / path).read_text().splitlines()
                if not l.startswith("#") and not l.startswith("fitted_at")]
    assert content("refit.fitted.yml") == content("specs/segments.fitted.yml")
    model = (project / "pinned_features" / "models" / "pinned_segments__params.sql").read_text()
    assert "pinned_features.params_segments()" in model


def test_incremental_scoring_keeps_what_scored_each_row(project):
    """scored_history adds the rows not scored before: after a refit, the
    old rows keep their features and fit id, a new row gets the new fit's."""
    dbt(project, "deps")
    dbt(project, "build")
    before = table(project, "scored_history")
    fit_ids = {r[-1] for r in before}
    assert len(fit_ids) == 1
    train = project / "seeds" / "train.csv"
    train.write_text(train.read_text().replace("1,2021,3.5,120.0", "1,2021,30.5,420.0"))
    scoring = project / "seeds" / "scoring.csv"
    scoring.write_text(scoring.read_text().rstrip("\n") + "\n999,2024,5.0,500.0,1,basic,emea\n")
    dbt(project, "build", "--exclude", "scored_matches_scikit_learn", "segments_match_scikit_learn")
    after = table(project, "scored_history")
    assert set(before) < set(after) and len(after) == len(before) + 1
    (new,) = set(after) - set(before)
    assert new[0] == 999 and new[-1] not in fit_ids
    assert {r[-1] for r in table(project, "scored")} == {new[-1]}


def test_contract_docs_group_and_exposure_reach_dbt(prep_bin, project):
    """What dbt reads of the package: the features model's contract with a
    type per column (a wrong type fails the build), its columns described by
    docs blocks the project's own model reuses, its owner as a group, the
    exposure that reads it."""
    dbt(project, "deps")
    dbt(project, "parse")
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    churn = manifest["nodes"]["model.prep.churn"]
    assert churn["config"]["contract"]["enforced"] and churn["access"] == "public"
    assert churn["group"] == "prep__growth_analytics"
    assert manifest["nodes"]["model.prep.churn__params"]["access"] == "protected"
    assert manifest["groups"]["group.prep.prep__growth_analytics"]["owner"]["name"] == "growth-analytics"
    assert {c: v["data_type"] for c, v in churn["columns"].items()}["usage"] == "DOUBLE"
    assert churn["columns"]["prep_fit_id"]["data_type"] == "VARCHAR"
    assert manifest["exposures"]["exposure.prep.churn_classifier"]["depends_on"]["nodes"] == ["model.prep.churn"]
    usage = churn["columns"]["usage"]["description"]
    assert usage.startswith("`usage`: missing values replaced by the training median")
    assert manifest["nodes"]["model.prep_example.scored"]["columns"]["usage"]["description"] == usage
    # A one-hot column's category holds Jinja: its description shows it as text.
    assert "O'Brien {{ x }}, else 0" in churn["columns"]["plan_code_obrien"]["description"]
    # A column typed unlike the contract: dbt refuses to build the model.
    spec = project / "specs" / "churn.yml"
    spec.write_text(spec.read_text().replace("customer_id: integer", "customer_id: varchar"))
    done = subprocess.run(["sh", "build_packages.sh"], cwd=project, capture_output=True, text=True,
                          env={**os.environ, "PREP": prep_bin})
    assert done.returncode == 0, done.stderr
    dbt(project, "deps")
    done = dbt_run(project, "build", "--select", "+churn")
    assert done.returncode != 0 and "contract" in done.stdout and "customer_id" in done.stdout, done.stdout[-3000:]


def test_ephemeral_inputs_empty_builds_and_unit_tests_work(project):
    """The apply macro does not need to describe its input: `dbt compile` on
    a fresh database, an ephemeral model, `dbt build --empty` and a dbt unit
    test's fixtures all work."""
    dbt(project, "deps")
    out = dbt(project, "compile")
    assert "ERROR" not in out
    dbt(project, "build")
    (project / "models" / "scoring_eph.sql").write_text(
        "{{ config(materialized='ephemeral') }}\nselect * from {{ ref('scoring') }}\n")
    (project / "models" / "scored_eph.sql").write_text("{{ prep.apply_churn(ref('scoring_eph')) }}\n")
    dbt(project, "build", "--select", "scored_eph")
    assert table(project, "scored_eph") == table(project, "scored")
    # --empty: every model builds on no rows (the example's own tests compare
    # learned columns with expected values, which an empty fit cannot have).
    out = dbt(project, "build", "--empty", "--exclude", "scored_matches_scikit_learn", "segments_match_scikit_learn")
    assert "ERROR=0" in out
    dbt(project, "build", "--exclude", "scored_eph")
    # A unit test of the scoring model: its fixtures are the params model's
    # rows and two scoring rows; the expected rows are what the build gave.
    con = duckdb.connect(str(project / "example.duckdb"), read_only=True)
    try:
        params = con.execute("SELECT parameter, kind, number, text, frequency FROM churn__params").fetchall()
        cur = con.execute("SELECT * FROM scored WHERE customer_id IN (101, 102) ORDER BY customer_id")
        names = [d[0] for d in cur.description]
        expected = [dict(zip(names, r)) for r in cur.fetchall()]
    finally:
        con.close()
    scoring = (project / "seeds" / "scoring.csv").read_text().splitlines()
    header = scoring[0].split(",")
    given = [dict(zip(header, line.split(","))) for line in scoring[1:3]]
    def yaml_value(v):
        if v is None or v == "":
            return "null"
        if isinstance(v, float):
            return repr(v)
        return json.dumps(v) if isinstance(v, str) else str(v)
    def rows(items):
        return "\n".join("          - {" + ", ".join(f"{json.dumps(k)}: {yaml_value(v)}" for k, v in r.items()) + "}"
                         for r in items)
    params_rows = [dict(zip(["parameter", "kind", "number", "text", "frequency"], r)) for r in params]
    (project / "models" / "unit.yml").write_text(f"""version: 2
unit_tests:
  - name: scored_uses_the_given_statistics
    model: scored
    given:
      - input: ref('scoring')
        rows:
{rows(given)}
      - input: ref('prep', 'churn__params')
        rows:
{rows(params_rows)}
    expect:
      rows:
{rows(expected)}
""")
    out = dbt(project, "test", "--select", "test_type:unit")
    assert "PASS=1" in out and "ERROR=0" in out, out
    # The fixture is what the macro reads: other statistics, other features.
    unit = project / "models" / "unit.yml"
    scaled = [dict(r, number=r["number"] * 2) if r["parameter"].endswith("__s2_scale") else r for r in params_rows]
    unit.write_text(unit.read_text().replace(rows(params_rows), rows(scaled)))
    done = dbt_run(project, "test", "--select", "test_type:unit")
    assert done.returncode != 0 and "FAIL 1" in done.stdout and "differs from" in done.stdout, done.stdout[-3000:]


def test_fit_once_keeps_the_statistics_until_a_full_refresh(project):
    """var prep_fit: once: the params model is fitted when first built, then
    kept whatever the training rows do, until `--full-refresh` fits again."""
    dbt(project, "deps")
    once = ["--vars", "{prep_fit: once}"]
    exclude = ["--exclude", "scored_matches_scikit_learn", "segments_match_scikit_learn"]
    dbt(project, "build", *once)
    fitted, scored = table(project, "churn__params"), table(project, "scored")
    train = project / "seeds" / "train.csv"
    train.write_text(train.read_text().replace("1,2021,3.5,120.0", "1,2021,30.5,420.0"))
    dbt(project, "build", *once, *exclude)
    assert table(project, "churn__params") == fitted
    assert table(project, "scored") == scored
    dbt(project, "build", *once, *exclude, "--full-refresh")
    refitted = table(project, "churn__params")
    assert [r for r in refitted if r[0] != "prep_fitted_at"] != [r for r in fitted if r[0] != "prep_fitted_at"]
    assert table(project, "scored") != scored
    # Any other value is refused with the two it can be.
    done = dbt_run(project, "build", "--vars", "{prep_fit: sometimes}")
    assert done.returncode != 0 and "it is every_build or once" in done.stdout, done.stdout[-2000:]


def test_grants_come_from_the_spec_and_the_project_can_override_them(project):
    """The spec's grants are the package's default for its models; the
    project's own dbt_project.yml outranks them."""
    dbt(project, "deps")
    def grants():
        out = dbt(project, "ls", "--select", "churn", "--resource-type", "model", "--output", "json",
                  "--output-keys", "name config")
        (line,) = [l for l in out.splitlines() if l.startswith("{")]
        return json.loads(line)["config"]["grants"]
    assert grants() == {"select": ["postgres"]}
    project_file = project / "dbt_project.yml"
    project_file.write_text(project_file.read_text() + "models:\n  prep:\n    +grants: {select: [reporter]}\n")
    assert grants() == {"select": ["reporter"]}


def test_a_scoring_model_is_checked_against_its_spec(project):
    """`prep.matches_churn` on any model built with `prep.apply_churn`: it
    passes on the real scoring model and fails on one whose rows the apply
    cannot have written (a NULL where the steps never leave one)."""
    (project / "models" / "broken_scored.sql").write_text(
        "select * replace (cast(null as double) as usage) from {{ ref('scored') }}\n")
    (project / "models" / "checks.yml").write_text(
        "version: 2\nmodels:\n  - name: broken_scored\n    data_tests: [prep.matches_churn]\n")
    dbt(project, "deps")
    dbt(project, "build", "--exclude", "broken_scored")
    done = dbt_run(project, "build", "--select", "broken_scored")
    assert done.returncode != 0 and "matches_churn_broken_scored" in done.stdout, done.stdout[-2000:]
    rows = len((project / "seeds" / "scoring.csv").read_text().strip().splitlines()) - 1
    assert f"FAIL {rows}" in done.stdout, done.stdout[-2000:]  # every row: its usage is NULL


def test_the_package_tests_fail_on_bad_rows(project):
    """The package's own column tests (they quote prep's columns per adapter)
    catch what they claim to: a repeated key, a NULL, a value out of range."""
    (project / "models" / "bad_rows.sql").write_text(
        "select customer_id, usage from {{ ref('scored') }}\n"
        "union all select customer_id, cast(null as double) from {{ ref('scored') }} where customer_id = 101\n"
        "union all select 999, 1e9\n")
    (project / "models" / "bad_rows.yml").write_text(
        "version: 2\nmodels:\n  - name: bad_rows\n    columns:\n      - name: customer_id\n        quote: false\n"
        "        data_tests: [prep.unique]\n      - name: usage\n        quote: false\n        data_tests:\n"
        "          - prep.not_null\n          - prep.within_range: {arguments: {min_value: -100, max_value: 100}}\n")
    dbt(project, "deps")
    dbt(project, "build", "--exclude", "bad_rows")
    done = dbt_run(project, "build", "--select", "bad_rows")
    out = done.stdout
    assert done.returncode != 0, out[-2000:]
    for test in ("prep_unique_bad_rows_customer_id", "prep_not_null_bad_rows_usage", "prep_within_range_bad_rows_usage"):
        line = next((l for l in out.splitlines() if test in l and "FAIL 1" in l), None)
        assert line is not None, (test, out[-3000:])


@pytest.mark.parametrize("target", ["duckdb", "postgres"])
def test_the_drift_test_fails_on_a_shifted_relation_only(prep_bin, project, target):
    """A spec with `drift:` gets `prep.drift_<spec>` (a macro and a data
    test): on the training rows themselves it passes; on a relation with a
    shifted number and an unseen category it fails, one row per drifted
    measure."""
    spec = yaml.safe_load((project / "specs" / "churn.yml").read_text())
    del spec["dbt"]  # its exposure is churn's
    spec.update(name="churn_drift", drift={"bins": 4})
    (project / "drift_specs").mkdir()
    shutil.copy(project / "specs" / "churn.yml", project / "drift_specs" / "churn.yml")
    (project / "drift_specs" / "churn_drift.yml").write_text(yaml.safe_dump(spec, sort_keys=False))
    done = subprocess.run([prep_bin, "compile", "drift_specs", "--emit", "dbt-package", "--out", "prep_features"],
                          cwd=project, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    (project / "models" / "same_rows.sql").write_text("select * from {{ ref('train') }}\n")
    (project / "models" / "shifted_rows.sql").write_text(
        "select customer_id, signup_year, usage + 100 as usage, amount, tickets, 'enterprise' as plan_code, region\n"
        "from {{ ref('train') }}\n")
    (project / "models" / "drift_checks.yml").write_text(
        "version: 2\nmodels:\n  - name: same_rows\n    data_tests: [prep.drift_churn_drift]\n"
        "  - name: shifted_rows\n    data_tests: [prep.drift_churn_drift]\n")
    dbt(project, "deps", target=target)
    out = dbt(project, "build", "--exclude", "shifted_rows", target=target)
    assert "drift_churn_drift_same_rows" in out and "ERROR=0" in out, out[-3000:]
    done = dbt_run(project, "build", "--select", "shifted_rows", target=target)
    assert done.returncode != 0 and "drift_churn_drift_shifted_rows" in done.stdout, done.stdout[-3000:]
    # usage: js_divergence, mean_shift, out_of_range (its spread and missing
    # share are unchanged); plan_code: l_infinity, unseen, and missing_share
    # (the training rows miss 1 of 8, the shifted ones none).
    assert "FAIL 6" in done.stdout, done.stdout[-3000:]


PWNED = "{{ exceptions.raise_compiler_error('pwned') }}"


def test_hostile_texts_reach_dbt_as_text(prep_bin, project):
    """Categories, an owner and an exposure's texts that are Jinja, YAML or
    SQL syntax: dbt parses the package (any Jinja of theirs run would stop
    it) and holds each text as it was written, in the docs blocks, the
    group and the exposure."""
    from test_hostile import HOSTILE
    categories = [h for h in HOSTILE if h] + [PWNED, "{% enddocs %}", "{# x"]
    names = {c: f"c{i}" for i, c in enumerate(categories)}
    owner = "{% raw %}o'wner\": x"
    spec = {
        "name": "hostile", "owner": owner, "source": {"ref": "train"}, "keys": ["customer_id"],
        "features": {"plan_code": [{"one_hot": {"categories": sorted(categories), "handle_unknown": "ignore",
                                                "names": names}}]},
        "dbt": {"exposure": {"name": "hostile_app", "type": "application", "url": PWNED,
                             "description": "\n".join(categories)}},
    }
    add_package(prep_bin, project, spec, "hostile_features")
    dbt(project, "deps")
    out = dbt(project, "parse")
    assert "pwned" not in out
    manifest = json.loads((project / "target" / "manifest.json").read_text())
    columns = manifest["nodes"]["model.hostile_features.hostile"]["columns"]
    for category, column in names.items():
        if not any(c in category for c in "\r\n\t"):  # written visibly escaped in descriptions
            assert columns[f"plan_code_{column}"]["description"] == f"`plan_code`: 1 where the value is {category}, else 0"
    exposure = manifest["exposures"]["exposure.hostile_features.hostile_app"]
    # dbt renders descriptions with Jinja, which writes every line break as \n.
    assert exposure["url"] == PWNED and exposure["description"] == "\n".join(categories).replace("\r\n", "\n")
    assert exposure["owner"]["name"] == owner
    (group,) = [g for g in manifest["groups"].values() if g["package_name"] == "hostile_features"]
    assert group["owner"]["name"] == owner


@pytest.mark.parametrize("target", ["duckdb", "postgres"])
def test_bin_edges_are_learned_in_the_warehouse(prep_bin, project, target):
    """KBinsDiscretizer's edges (equal-count ones read as order statistics,
    equal-width ones) and its learned number of one-hot columns, and an
    ordinal encoder's infrequent grouping, are learned by the package's
    params model in the warehouse and read by its features model when it
    compiles: the features equal scikit-learn's on the training seed (a data
    test comparing them)."""
    import numpy as np
    import pandas as pd
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import KBinsDiscretizer, OneHotEncoder, OrdinalEncoder

    steps = {"usage": ("median", {"n_bins": 3, "encode": "ordinal"}),
             "amount": ("mean", {"n_bins": 4, "strategy": "uniform", "encode": "ordinal"}),
             # scikit-learn's default encoding: a column per bin, their number learned.
             "tickets": ("median", {"n_bins": 3, "quantile_method": "linear"})}
    spec = {"name": "binned", "source": {"ref": "train"}, "keys": ["customer_id"],
            "features": {c: [{"impute": s}, {"bins": o}] for c, (s, o) in steps.items()}}
    # And an ordinal encoder's infrequent grouping, decided from the learned counts,
    # and a one-hot encoder's over given categories that list the missing value.
    spec["features"]["region"] = [{"ordinal": {"min_frequency": 3}}]
    plans = ["O'Brien {{ x }}", "basic", "pro", None]
    spec["features"]["plan_code"] = [{"one_hot": {"categories": plans, "min_frequency": 2,
                                                  "handle_unknown": "infrequent_if_exist"}}]
    add_package(prep_bin, project, spec, "binned_features")
    train = pd.read_csv(project / "seeds" / "train.csv")
    expected = pd.DataFrame({"customer_id": train["customer_id"]})
    for column, (strategy, options) in steps.items():
        options = dict(options, encode=options.get("encode", "onehot-dense"))
        pipe = make_pipeline(SimpleImputer(strategy=strategy), KBinsDiscretizer(**options))
        binned = pipe.fit_transform(train[[column]].to_numpy(dtype=float))
        if options["encode"] == "ordinal":
            expected[column] = binned[:, 0]
        else:
            for j in range(binned.shape[1]):
                expected[f"{column}_{j}"] = binned[:, j]
    region = train[["region"]].astype(object).where(train[["region"]].notna(), np.nan).to_numpy()
    grouped = OrdinalEncoder(min_frequency=3).fit(region)
    assert list(grouped.infrequent_categories_[0]) == ["amer", "apac"]
    expected["region"] = grouped.transform(region)[:, 0]
    plan = train[["plan_code"]].astype(object).where(train[["plan_code"]].notna(), np.nan).to_numpy()
    hot = OneHotEncoder(categories=[[np.nan if p is None else p for p in plans]], min_frequency=2,
                        handle_unknown="infrequent_if_exist", sparse_output=False).fit(plan)
    # O'Brien and the missing value (once each) are infrequent: one column for both.
    assert list(hot.get_feature_names_out(["plan_code"])) == ["plan_code_basic", "plan_code_pro",
                                                               "plan_code_infrequent_sklearn"]
    for j, name in enumerate(hot.get_feature_names_out(["plan_code"])):
        expected[name] = hot.transform(plan)[:, j]
    # The bins tell rows apart; tickets keeps 3 bins.
    assert len(set(expected["usage"])) == 3 and len(set(expected["amount"])) > 1 and "tickets_2" in expected
    out = build_matching(project, expected, "binned", "customer_id", target)
    assert "binned__params" in out, out[-6000:]


@pytest.mark.parametrize("target", ["duckdb", "postgres"])
def test_steps_across_columns_in_the_dbt_package(prep_bin, project, target):
    """Normalizer and PolynomialFeatures after each column's own imputation,
    and a scaler on each of PolynomialFeatures' outputs and on each column of
    a one-hot encoder (their statistics learned in the warehouse), in the dbt
    package: its features equal scikit-learn's on the training seed, and the
    normalized columns pass the package's range tests."""
    import numpy as np
    import pandas as pd
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import Normalizer, OneHotEncoder, PolynomialFeatures, StandardScaler

    spec = {"name": "across", "source": {"ref": "train"}, "keys": ["customer_id"],
            # A scaler after an encoder: each one-hot column standardized (one row misses its region).
            "features": {"region": [{"one_hot": {"categories": ["amer", "apac", "emea"], "handle_unknown": "ignore"}},
                                    {"scale": "standard"}]},
            "groups": [{"columns": ["usage", "amount"], "steps": [{"impute": "mean"}, {"normalize": "l2"}]},
                       {"columns": ["tickets", "signup_year"],
                        "steps": [{"impute": "median"}, {"polynomial": {"degree": 2}}, {"scale": "standard"}]}]}
    add_package(prep_bin, project, spec, "across_features")
    train = pd.read_csv(project / "seeds" / "train.csv")
    expected = pd.DataFrame({"customer_id": train["customer_id"]})
    region = train[["region"]].astype(object).where(train[["region"]].notna(), np.nan).to_numpy()
    encoded = make_pipeline(OneHotEncoder(categories=[["amer", "apac", "emea"]], handle_unknown="ignore",
                                          sparse_output=False), StandardScaler()).fit_transform(region)
    for j, name in enumerate(["region_amer", "region_apac", "region_emea"]):
        expected[name] = encoded[:, j]
    for columns, own, last in [(["usage", "amount"], [SimpleImputer()], Normalizer()),
                               (["tickets", "signup_year"], [SimpleImputer(strategy="median")],
                                PolynomialFeatures(degree=2))]:
        parts = [make_pipeline(*own).fit_transform(train[[c]].to_numpy(dtype=float)) for c in columns]
        values = last.fit_transform(np.hstack(parts))
        if isinstance(last, PolynomialFeatures):
            # Each output standardized on its own, as the spec's step after it.
            values = np.hstack([StandardScaler().fit_transform(values[:, j:j + 1]) for j in range(values.shape[1])])
        names = columns if isinstance(last, Normalizer) else ["1", "tickets", "signup_year", "tickets_2",
                                                              "tickets_signup_year", "signup_year_2"]
        for j, name in enumerate(names):
            expected[name] = values[:, j]
    out = build_matching(project, expected, "across", "customer_id", target)
    assert "across_features_within_range_across_usage" in out, out[-6000:]


@pytest.mark.parametrize("target", ["duckdb", "postgres"])
def test_date_parts_in_the_dbt_package(prep_bin, project, target):
    """`date_parts` on a seed's timestamp and date columns (dbt types them
    from the CSV), and a scaler on a part learned in the warehouse: the
    package's features equal pandas' `Series.dt` numbers and scikit-learn's
    scaler on them (a data test comparing them)."""
    import datetime as dt

    import numpy as np
    import pandas as pd
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(5)
    start = dt.datetime(1999, 12, 27)  # a Monday
    at = [start + dt.timedelta(minutes=int(m)) for m in rng.integers(0, 60 * 24 * 800, 40)]
    at[:3] = [dt.datetime(2000, 2, 29, 23, 59), dt.datetime(2000, 12, 31, 0, 1), dt.datetime(2001, 1, 7, 12, 0)]
    events = pd.DataFrame({"event_id": range(1, 41), "happened_at": at, "happened_on": [a.date() for a in at]})
    events.loc[5, "happened_at"] = None  # a missing timestamp: missing in every part
    events.to_csv(project / "seeds" / "events.csv", index=False)
    parts = ["year", "month", "day", "day_of_week", "day_of_year", "hour", "minute"]
    spec = {"name": "dated", "source": {"ref": "events"}, "keys": ["event_id"],
            "features": {"happened_at": [{"date_parts": parts}],
                         "happened_on": [{"date_parts": ["day_of_week", "month"]}, {"scale": "standard"}]}}
    add_package(prep_bin, project, spec, "dated_features")
    expected = pd.DataFrame({"event_id": events["event_id"]})
    when = pd.to_datetime(events["happened_at"])
    for part in parts:
        expected[f"happened_at_{part}"] = getattr(when.dt, part).to_numpy(dtype=float)
    day = pd.to_datetime(events["happened_on"])
    for part in ["day_of_week", "month"]:
        values = getattr(day.dt, part).to_numpy(dtype=float).reshape(-1, 1)
        expected[f"happened_on_{part}"] = StandardScaler().fit_transform(values)[:, 0]
    assert sorted(set(expected["happened_at_day_of_week"].dropna())) == [0, 1, 2, 3, 4, 5, 6]
    build_matching(project, expected, "dated", "event_id", target)


@pytest.mark.parametrize("target", ["duckdb", "postgres"])
def test_splines_in_the_dbt_package(prep_bin, project, target):
    """SplineTransformer after an imputer, its knots and boundary slopes
    learned by the params model in the warehouse, and a scaler on each basis
    column learned there too: the package's features equal scikit-learn's on
    the training seed (a data test comparing them)."""
    import numpy as np
    import pandas as pd
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import SplineTransformer, StandardScaler

    usage = {"n_knots": 4, "extrapolation": "linear"}
    amount = {"degree": 2, "include_bias": False}
    spec = {"name": "splined", "source": {"ref": "train"}, "keys": ["customer_id"],
            "features": {"usage": [{"impute": "median"}, {"spline": usage}],
                         "amount": [{"impute": "mean"}, {"spline": amount}, {"scale": "standard"}]}}
    add_package(prep_bin, project, spec, "splined_features")
    train = pd.read_csv(project / "seeds" / "train.csv")
    expected = pd.DataFrame({"customer_id": train["customer_id"]})
    basis = make_pipeline(SimpleImputer(strategy="median"), SplineTransformer(**usage))
    values = basis.fit_transform(train[["usage"]].to_numpy(dtype=float))
    for j in range(values.shape[1]):
        expected[f"usage_sp_{j}"] = values[:, j]
    basis = make_pipeline(SimpleImputer(), SplineTransformer(**amount))
    values = basis.fit_transform(train[["amount"]].to_numpy(dtype=float))
    for j in range(values.shape[1]):  # each basis column standardized on its own
        expected[f"amount_sp_{j}"] = StandardScaler().fit_transform(values[:, j:j + 1])[:, 0]
    assert values.shape[1] == 5 and "usage_sp_5" in expected
    build_matching(project, expected, "splined", "customer_id", target)


@pytest.mark.parametrize("target", ["duckdb", "postgres"])
def test_quantiles_in_the_dbt_package(prep_bin, project, target):
    """QuantileTransformer after an imputer, its quantiles learned by the
    params model in the warehouse (rows of kind `quantile`), the normal
    output, and a scaler learned on the transformed values there too: the
    package's features equal scikit-learn's on the training seed."""
    import pandas as pd
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import QuantileTransformer, StandardScaler

    usage = {"n_quantiles": 5}
    amount = {"output_distribution": "normal"}
    spec = {"name": "ranked", "source": {"ref": "train"}, "keys": ["customer_id"],
            "features": {"usage": [{"impute": "median"}, {"quantile": usage}],
                         "amount": [{"impute": "mean"}, {"quantile": amount}, {"scale": "standard"}]}}
    add_package(prep_bin, project, spec, "ranked_features")
    train = pd.read_csv(project / "seeds" / "train.csv")
    expected = pd.DataFrame({"customer_id": train["customer_id"]})
    usage_pipe = make_pipeline(SimpleImputer(strategy="median"), QuantileTransformer(**usage))
    expected["usage"] = usage_pipe.fit_transform(train[["usage"]].to_numpy(dtype=float))[:, 0]
    amount_pipe = make_pipeline(SimpleImputer(), QuantileTransformer(**amount), StandardScaler())
    expected["amount"] = amount_pipe.fit_transform(train[["amount"]].to_numpy(dtype=float))[:, 0]
    build_matching(project, expected, "ranked", "customer_id", target)


@pytest.mark.parametrize("target", ["duckdb", "postgres"])
def test_power_transforms_in_the_dbt_package(prep_bin, project, target):
    """PowerTransformer after an imputer, its λ found by the params model in
    the warehouse (three passes over a grid of λ), standardised or not: the
    package's features equal scikit-learn's on the training seed within the
    power step's tolerance (the parity suite's)."""
    import pandas as pd
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PowerTransformer

    spec = {"name": "powered", "source": {"ref": "train"}, "keys": ["customer_id"],
            "features": {"usage": [{"impute": "median"}, {"power": {}}],
                         "amount": [{"impute": "mean"}, {"power": {"standardize": False}}]}}
    add_package(prep_bin, project, spec, "powered_features")
    train = pd.read_csv(project / "seeds" / "train.csv")
    expected = pd.DataFrame({"customer_id": train["customer_id"]})
    usage = make_pipeline(SimpleImputer(strategy="median"), PowerTransformer())
    expected["usage"] = usage.fit_transform(train[["usage"]].to_numpy(dtype=float))[:, 0]
    amount = make_pipeline(SimpleImputer(), PowerTransformer(standardize=False))
    expected["amount"] = amount.fit_transform(train[["amount"]].to_numpy(dtype=float))[:, 0]
    build_matching(project, expected, "powered", "customer_id", target, tolerance=1e-5)


@pytest.mark.parametrize("target", ["duckdb", "postgres"])
def test_missing_indicators_in_the_dbt_package(prep_bin, project, target):
    """`add_indicator`: the package writes `missingindicator_<column>` where
    the params model counted a missing training value (usage, with a scaler
    after the imputer on both its outputs; tickets) and not where it counted
    none (signup_year): the features equal scikit-learn's (the text
    imputer's indicator is in the parity suite: this test compares numbers)."""
    import pandas as pd
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    indicated = lambda strategy: {"impute": {"strategy": strategy, "add_indicator": True}}
    spec = {"name": "indicated", "source": {"ref": "train"}, "keys": ["customer_id"],
            "features": {"usage": [indicated("mean"), {"scale": "standard"}],
                         "signup_year": [indicated("median")],
                         "tickets": {"type": "numeric", "steps": [indicated("most_frequent")]}}}
    add_package(prep_bin, project, spec, "indicated_features")
    train = pd.read_csv(project / "seeds" / "train.csv", keep_default_na=False, na_values=[""])
    expected = pd.DataFrame({"customer_id": train["customer_id"]})
    for column, pipe, kind in [
        ("usage", make_pipeline(SimpleImputer(add_indicator=True), StandardScaler()), float),
        ("signup_year", make_pipeline(SimpleImputer(strategy="median", add_indicator=True)), float),
        ("tickets", make_pipeline(SimpleImputer(strategy="most_frequent", add_indicator=True)), float),
    ]:
        out = pipe.fit_transform(train[[column]].to_numpy(dtype=kind))
        for j, name in enumerate(pipe.get_feature_names_out([column])):
            expected[name] = out[:, j]
    assert "missingindicator_usage" in expected and "missingindicator_signup_year" not in expected
    build_matching(project, expected, "indicated", "customer_id", target)


@pytest.mark.parametrize("target", ["duckdb", "postgres"])
def test_an_empty_build_with_learned_columns(prep_bin, project, target):
    """`dbt build --empty` of a package whose columns are learned (two one-hot
    encoders, two missing indicators): a placeholder column each, of its own
    name, and the source read as a derived table (dbt writes an empty ref as
    an aliased subquery; PostgreSQL refused both before)."""
    indicated = {"impute": {"strategy": "mean", "add_indicator": True}}
    spec = {"name": "pending", "source": {"ref": "train"}, "keys": ["customer_id"],
            "features": {"plan_code": [{"one_hot": {}}], "region": [{"one_hot": {}}],
                         "usage": [indicated], "amount": [indicated]}}
    add_package(prep_bin, project, spec, "pending_features")
    dbt(project, "deps", target=target)
    out = dbt(project, "build", "--empty", "--select", "+package:pending_features", target=target)
    assert "pending__params" in out and "ERROR=0" in out


@pytest.mark.parametrize("target", ["duckdb", "postgres"])
def test_unknown_categories_warn_in_the_dbt_package(prep_bin, project, target):
    """`handle_unknown: warn`: the package's test of the spec's source warns
    (dbt's WARN, the build passes) with the rows whose categories the
    encoders did not learn, per feature and category, as pandas counts them:
    learned text and number categories (a hostile text among the unknown
    ones), given ones, the missing value where the fit saw none and nothing
    imputes it."""
    import pandas as pd

    spec = {"name": "warned", "source": {"ref": "train"}, "keys": ["customer_id"],
            "fit": {"where": "customer_id <= 2"},
            "features": {
                "plan_code": [{"one_hot": {"handle_unknown": "warn"}}],
                "region": [{"one_hot": {"categories": ["amer"], "handle_unknown": "warn"}}],
                "signup_year": {"type": "numeric", "steps": [
                    {"one_hot": {"categories": [2021, 2022], "handle_unknown": "warn"}}]},
                "tickets": {"type": "numeric", "steps": [
                    {"impute": "most_frequent"}, {"one_hot": {"handle_unknown": "warn"}}]}}}
    add_package(prep_bin, project, spec, "warned_features")
    train = pd.read_csv(project / "seeds" / "train.csv", keep_default_na=False, na_values=[""])
    fit = train[train["customer_id"] <= 2]
    expected = {}
    for column, given, imputed in [("plan_code", None, False), ("region", ["amer"], False),
                                   ("signup_year", [2021, 2022], False), ("tickets", None, True)]:
        known = set(given) if given is not None else set(fit[column].dropna())
        missing_known = imputed or (given is None and fit[column].isna().any())
        for value in train[column]:
            if pd.isna(value):
                if not missing_known:
                    expected[(column, None)] = expected.get((column, None), 0) + 1
            elif value not in known:
                key = (column, value if isinstance(value, str) else float(value))
                expected[key] = expected.get(key, 0) + 1
    assert ("plan_code", "O'Brien {{ x }}") in expected and ("region", None) in expected
    dbt(project, "deps", target=target)
    out = dbt(project, "build", "--full-refresh", target=target)
    warned = [line for line in out.splitlines() if "warned__unknown_categories" in line]
    assert "ERROR=0" in out and any("WARN" in line for line in warned), out[-6000:]
    shown = dbt(project, "show", "--inline", "{{ warned_features.unknown_warned(ref('train')) }}",
                "--limit", "100", "--output", "json", "--log-format", "text", target=target)
    rows = json.loads(shown[shown.index("{"):shown.rindex("}") + 1])["show"]
    got = {}
    for r in rows:
        category = r["category"]
        if category is not None and r["feature"] in ("signup_year", "tickets"):
            category = float(category)
        got[(r["feature"], category)] = int(r["rows"])
    assert got == expected
