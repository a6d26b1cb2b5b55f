"""The dbt package prep generates, built by real dbt on DuckDB and PostgreSQL
(examples/dbt_project): the scored features equal scikit-learn's
(seeds/expected_scored.csv, from generate_expected.py), and the parameters
follow the training rows only."""

import os
import shutil
import subprocess

import duckdb
import pytest

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


def dbt(project, *args, target="duckdb"):
    env = {**os.environ, "DBT_PROFILES_DIR": str(project), "PREP_DBT_DUCKDB_PATH": str(project / "example.duckdb"),
           "PREP_PG_PORT": pg_port(), "DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    done = subprocess.run([DBT, *args, "--target", target], cwd=project, capture_output=True, text=True, env=env)
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
    env = {**os.environ, "DBT_PROFILES_DIR": str(project), "PREP_DBT_DUCKDB_PATH": str(project / "example.duckdb"),
           "PREP_PG_PORT": pg_port()}
    dbt(project, "seed")
    done = subprocess.run([DBT, "compile", "--select", "broken", "--target", "duckdb"], cwd=project,
                          capture_output=True, text=True, env=env)
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
