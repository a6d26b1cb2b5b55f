"""The dbt package prep generates, built by real dbt on DuckDB and PostgreSQL
(examples/dbt_project): the scored features equal scikit-learn's
(seeds/expected_scored.csv, from generate_expected.py), and the parameters
follow the training rows only."""

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
    """A copy of the example project with the package generated into it."""
    dest = tmp_path / "project"
    shutil.copytree(PROJECT, dest, ignore=shutil.ignore_patterns("prep_features", "dbt_packages", "target", "logs", "*.duckdb"))
    done = subprocess.run([prep_bin, "compile", "specs", "--emit", "dbt-package", "--out", "prep_features"],
                          cwd=dest, capture_output=True, text=True)
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


def table(project, name):
    con = duckdb.connect(str(project / "example.duckdb"), read_only=True)
    try:
        return sorted(map(tuple, con.execute(f'SELECT * FROM "{name}"').fetchall()), key=str)
    finally:
        con.close()


@pytest.mark.parametrize("target", ["duckdb", "postgres"])
def test_dbt_build_scores_with_the_training_statistics(project, target):
    dbt(project, "deps", target=target)
    out = dbt(project, "build", target=target)
    assert "scored_matches_scikit_learn" in out and "segments_match_scikit_learn" in out and "ERROR=0" in out


def test_parameters_follow_training_rows_only(project):
    dbt(project, "deps")
    dbt(project, "build")
    fitted = [r for r in table(project, "churn__params") if r[0] != "prep_fitted_at"]
    scored = table(project, "scored")
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


def test_scoring_relation_without_a_source_column_fails_at_compile_time(project):
    dbt(project, "deps")
    (project / "models" / "broken.sql").write_text("{{ prep.apply_churn(ref('expected_scored')) }}\n")
    dbt(project, "seed")
    done = dbt_run(project, "compile", "--select", "broken")
    assert done.returncode != 0
    assert "has no column `signup_year`" in done.stdout + done.stderr


def test_pinned_parameters_do_not_follow_training_rows(prep_bin, project):
    """`--params`: the package's params model holds one fit's statistics as
    literals; training rows change, the parameters and the scores do not."""
    for path in ("specs/segments.yml", "specs/segments.fitted.yml", "models/scored_segments.sql",
                 "tests/segments_match_scikit_learn.sql"):
        (project / path).unlink()
    shutil.rmtree(project / "prep_features")
    done = subprocess.run([prep_bin, "fit", "specs/churn.yml", "--data", "seeds/train.csv", "--out", "churn.fitted.yml"],
                          cwd=project, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    done = subprocess.run([prep_bin, "compile", "specs/churn.yml", "--emit", "dbt-package", "--params",
                           "churn.fitted.yml", "--out", "prep_features"], cwd=project, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "prep.params_churn()" in (project / "prep_features" / "models" / "churn__params.sql").read_text()
    dbt(project, "deps")
    out = dbt(project, "build")
    assert "scored_matches_scikit_learn" in out and "ERROR=0" in out
    fitted, scored = table(project, "churn__params"), table(project, "scored")
    train = project / "seeds" / "train.csv"
    train.write_text(train.read_text().replace("1,2021,3.5,120.0", "1,2021,30.5,420.0"))
    dbt(project, "build")
    assert table(project, "churn__params") == fitted
    assert table(project, "scored") == scored


def test_two_packages_in_one_project_build_without_warnings(prep_bin, project):
    """Each spec its own package, with its own name and model prefix: both
    build in one project, and dbt says nothing about prep's files."""
    shutil.rmtree(project / "prep_features")
    for spec, package, prefix in (("churn", "features_a", "a_"), ("segments", "features_b", "b_")):
        done = subprocess.run([prep_bin, "compile", f"specs/{spec}.yml", "--emit", "dbt-package", "--package-name",
                               package, "--model-prefix", prefix, "--out", package], cwd=project,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    (project / "packages.yml").write_text("packages:\n  - local: features_a\n  - local: features_b\n")
    for model, call in (("scored", "features_a.apply_churn"), ("scored_segments", "features_b.apply_segments")):
        path = project / "models" / f"{model}.sql"
        path.write_text(path.read_text().replace(call.replace("features_a", "prep").replace("features_b", "prep"), call))
    for target in ("duckdb", "postgres"):
        dbt(project, "deps", target=target)
        out = dbt(project, "build", target=target)
        assert "scored_matches_scikit_learn" in out and "segments_match_scikit_learn" in out and "ERROR=0" in out
        assert "a_churn__params" in out and "b_segments__params" in out
        warnings = [line for line in out.splitlines() if "WARN" in line.upper() and "features_" in line]
        assert not warnings, warnings


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
        "version: 2\nmodels:\n  - name: scored\n    data_tests: [prep.matches_churn]\n"
        "  - name: broken_scored\n    data_tests: [prep.matches_churn]\n")
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
    spec.update(name="churn_drift", drift={"bins": 4})
    (project / "specs" / "churn_drift.yml").write_text(yaml.safe_dump(spec, sort_keys=False))
    done = subprocess.run([prep_bin, "compile", "specs", "--emit", "dbt-package", "--out", "prep_features"],
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
