"""The engines the compiled SQL runs on: embedded DuckDB, a PostgreSQL server."""

import math
import os

import pandas as pd

from datasets import BOOLEAN, DATE, INTEGER, NUMERIC, TEXT, TIMESTAMP


def _rows(df):
    """Rows with NaN as NULL, except in columns named `*_nan`, which keep NaN
    (a missing value that is NaN, not NULL, in the table)."""
    keep = [str(c).endswith("_nan") for c in df.columns]
    for row in df.itertuples(index=False):
        yield tuple(
            None if (isinstance(v, float) and math.isnan(v) and not k) else v for v, k in zip(row, keep)
        )


class _QuotedSql:
    """What DuckDB and PostgreSQL share: double-quoted names, results stored as tables."""

    @staticmethod
    def quote(name):
        return '"' + name.replace('"', '""') + '"'

    def store(self, name, sql):
        self.execute(f"DROP TABLE IF EXISTS {self.quote(name)}")
        self.execute(f"CREATE TABLE {self.quote(name)} AS\n{sql}")


class DuckDB(_QuotedSql):
    name = dialect = "duckdb"

    def __init__(self):
        import duckdb

        self.con = duckdb.connect()

    def load(self, table, df, types):
        t = {NUMERIC: "DOUBLE", INTEGER: "BIGINT", TEXT: "VARCHAR", BOOLEAN: "BOOLEAN", DATE: "DATE",
             TIMESTAMP: "TIMESTAMP"}
        cols = ", ".join(f"{self.quote(c)} {t[types[c]]}" for c in df.columns)
        self.con.execute(f"DROP TABLE IF EXISTS {self.quote(table)}")
        self.con.execute(f"CREATE TABLE {self.quote(table)} ({cols})")
        self.con.executemany(f'INSERT INTO {self.quote(table)} VALUES ({", ".join("?" for _ in df.columns)})', list(_rows(df)))

    def query(self, sql):
        cur = self.con.execute(sql)
        cols = [d[0] for d in cur.description]
        return pd.DataFrame(cur.fetchall(), columns=cols)

    def execute(self, sql):
        self.con.execute(sql)


class TrinoOnDuckDB(DuckDB):
    """The trino dialect's SQL, run on DuckDB, whose SQL is close to Trino's
    (no engine of Trino runs here). It proves the text runs and, above all,
    that its exact percentiles (each column's values ranked, numpy's
    percentile read from the ranks: Trino has only approx_percentile) equal
    scikit-learn's. Trino's functions DuckDB lacks are stood in for by
    macros of the same shape: fail() raises, is_nan(); the fit id's row hash
    (xxhash64 of the row's JSON) by DuckDB's hash, which proves the SQL
    runs, not Trino's hash values."""

    name = "trino-on-duckdb"
    dialect = "trino"

    def __init__(self):
        super().__init__()
        for macro in [
            "fail(message) AS error(message)",
            "is_nan(x) AS isnan(x)",
            "json_format(j) AS CAST(j AS VARCHAR)",
            "to_utf8(s) AS s",
            "xxhash64(s) AS hash(s)",
            "from_big_endian_64(h) AS CAST(h % 9223372036854775807 AS BIGINT)",
            # Trino's ISO day of the week (1 = Monday) and day of the year.
            "day_of_week(x) AS isodow(x)",
            "day_of_year(x) AS dayofyear(x)",
        ]:
            self.con.execute(f"CREATE OR REPLACE MACRO {macro}")


class Postgres(_QuotedSql):
    name = dialect = "postgres"

    def __init__(self):
        import psycopg2

        self.con = psycopg2.connect(os.environ["PREP_PG_DSN"])
        self.con.autocommit = True

    def load(self, table, df, types):
        from psycopg2.extras import execute_values

        t = {NUMERIC: "DOUBLE PRECISION", INTEGER: "BIGINT", TEXT: "TEXT", BOOLEAN: "BOOLEAN", DATE: "DATE",
             TIMESTAMP: "TIMESTAMP"}
        cols = ", ".join(f"{self.quote(c)} {t[types[c]]}" for c in df.columns)
        with self.con.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {self.quote(table)} CASCADE")
            cur.execute(f"CREATE TABLE {self.quote(table)} ({cols})")
            execute_values(cur, f"INSERT INTO {self.quote(table)} VALUES %s", list(_rows(df)))

    def query(self, sql):
        with self.con.cursor() as cur:
            cur.execute(sql)
            cols = [d[0] for d in cur.description]
            return pd.DataFrame(cur.fetchall(), columns=cols)

    def execute(self, sql):
        with self.con.cursor() as cur:
            cur.execute(sql)


class RedshiftOnPostgres(Postgres):
    """The redshift dialect's SQL, run on PostgreSQL. Redshift reads backslash
    escapes in string literals, as PostgreSQL does with
    standard_conforming_strings off. Redshift-only forms would fail here; prep
    emits one, FNV_HASH(value, seed) in the fit id's checksum, which is stood
    in for by a PostgreSQL function of the same shape (strict, like
    Redshift's): this proves the SQL runs, not Redshift's hash values."""

    name = "redshift-on-postgres"
    dialect = "redshift"

    def __init__(self):
        super().__init__()
        self.execute("SET standard_conforming_strings = off")
        self.execute("SET escape_string_warning = off")
        self.execute(
            "CREATE OR REPLACE FUNCTION fnv_hash(value anyelement, seed bigint) RETURNS bigint "
            "LANGUAGE sql IMMUTABLE STRICT AS 'SELECT hashtextextended(CAST(value AS text), seed)'"
        )


class ClickHouse:
    """ClickHouse in-process (chdb), with its default settings: every column
    Nullable (a NULL needs it), NaN kept apart from NULL as in the table."""

    name = dialect = "clickhouse"

    def __init__(self):
        from chdb import session

        self.session = session.Session()

    @staticmethod
    def quote(name):
        return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'

    @staticmethod
    def _literal(v):
        if v is None:
            return "NULL"
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(float(v)) if isinstance(v, float) else str(v)
        return "'" + str(v).replace("\\", "\\\\").replace("'", "\\'") + "'"

    def load(self, table, df, types):
        # Date32 and DateTime64 hold 1900..2299 (Date and DateTime start in 1970).
        t = {NUMERIC: "Float64", INTEGER: "Int64", TEXT: "String", BOOLEAN: "Bool", DATE: "Date32",
             TIMESTAMP: "DateTime64(6)"}
        cols = ", ".join(f"{self.quote(c)} Nullable({t[types[c]]})" for c in df.columns)
        self.execute(f"DROP TABLE IF EXISTS {self.quote(table)}")
        self.execute(f"CREATE TABLE {self.quote(table)} ({cols}) ENGINE = Memory")
        rows = [f"({', '.join(self._literal(v) for v in row)})" for row in _rows(df)]
        if rows:
            self.execute(f"INSERT INTO {self.quote(table)} VALUES {', '.join(rows)}")

    def query(self, sql):
        return self.session.query(sql.strip().rstrip(";"), "DataFrame")

    def execute(self, sql):
        self.session.query(sql.strip().rstrip(";"))

    def store(self, name, sql):
        self.execute(f"DROP TABLE IF EXISTS {self.quote(name)}")
        self.execute(f"CREATE TABLE {self.quote(name)} ENGINE = Memory AS\n{sql.strip().rstrip(';')}")


class Spark:
    """Apache Spark in local mode (pyspark, the machine's Java 17) for the
    databricks dialect, with ANSI mode on as on Databricks."""

    name = "databricks-on-spark"
    dialect = "databricks"

    @staticmethod
    def quote(name):
        return "`" + name.replace("`", "``") + "`"

    def __init__(self):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        from pyspark.sql import SparkSession

        self.spark = (
            SparkSession.builder.master("local[2]")
            .appName("prep-parity")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.sql.ansi.enabled", "true")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.ui.enabled", "false")
            # A Databricks driver has several GB; Spark's analyser needs more
            # than the local default of 1 GB for the suite's largest specs
            # (quantile and spline steps: see the README's known limitations).
            .config("spark.driver.memory", "2g")
            .config("spark.sql.session.timeZone", "UTC")
            .getOrCreate()
        )
        self.spark.sparkContext.setLogLevel("ERROR")

    def load(self, table, df, types):
        from pyspark.sql.types import (
            BooleanType, DateType, DoubleType, LongType, StringType, StructField, StructType, TimestampNTZType,
        )

        t = {NUMERIC: DoubleType(), INTEGER: LongType(), TEXT: StringType(), BOOLEAN: BooleanType(),
             DATE: DateType(), TIMESTAMP: TimestampNTZType()}
        schema = StructType([StructField(c, t[types[c]], True) for c in df.columns])
        # pandas hands a timestamp back as its own subclass of datetime, which Spark refuses.
        rows = [[v.to_pydatetime() if isinstance(v, pd.Timestamp) else v for v in r] for r in _rows(df)]
        self.spark.createDataFrame(rows, schema).createOrReplaceTempView(table)

    def query(self, sql):
        result = self.spark.sql(sql)
        cols = result.columns
        return pd.DataFrame([list(r) for r in result.collect()], columns=cols)

    def execute(self, sql):
        self.spark.sql(sql)

    def store(self, name, sql):
        """Materialises a query's result under a name (a cached temporary view)."""
        frame = self.spark.sql(sql)
        frame.cache().count()
        frame.createOrReplaceTempView(name)
