"""Every statement prep emits parses with sqlglot for its dialect: a second
parser beside sqlparser (the Rust tests parse everything back with it),
written apart from prep, for every spec and example on every dialect, in
every plain-SQL form (fit and apply, --inline, fit-sql)."""

import glob
import os
import subprocess

import pytest
import sqlglot
from sqlglot.errors import ErrorLevel

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DIALECTS = sorted(
    os.path.basename(f)[:-4] for f in glob.glob(os.path.join(ROOT, "dialects", "*.yml"))
    if not os.path.basename(f).startswith("_")
)
# sqlglot's name for each dialect (a new dialect file fails here until it has one).
SQLGLOT = {
    "bigquery": "bigquery",
    "clickhouse": "clickhouse",
    "databricks": "databricks",
    "duckdb": "duckdb",
    "mssql": "tsql",
    "postgres": "postgres",
    "redshift": "redshift",
    "snowflake": "snowflake",
    "trino": "trino",
}
SPECS = sorted(glob.glob(os.path.join(ROOT, "tests", "specs", "*.yml"))) + sorted(
    glob.glob(os.path.join(ROOT, "examples", "*", "*.yml"))
)
FORMS = [[], ["--inline"], ["--emit", "fit-sql"]]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_statement_parses_with_sqlglot(prep_bin, dialect):
    assert dialect in SQLGLOT, f"dialects/{dialect}.yml: say which sqlglot dialect reads it"
    parsed = 0
    for spec in SPECS:
        for form in FORMS:
            out = subprocess.run([prep_bin, "compile", spec, "--dialect", dialect, *form],
                                 capture_output=True, text=True)
            if out.returncode != 0:
                # Specs that need fitted parameters (learned categories) in a
                # plain form are refused with a located error, not parsed.
                assert "error[E" in out.stderr, out.stderr
                continue
            try:
                statements = sqlglot.parse(out.stdout, read=SQLGLOT[dialect], error_level=ErrorLevel.RAISE)
            except sqlglot.errors.ParseError as e:
                pytest.fail(f"{os.path.relpath(spec, ROOT)} {' '.join(form)}: {str(e)[:500]}")
            parsed += len([s for s in statements if s is not None])
    assert parsed >= 3 * 20, f"only {parsed} statements parsed"
