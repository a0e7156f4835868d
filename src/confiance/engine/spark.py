"""Spark sessions, the Parquet lake that holds the canonical tables on Spark, and Ibis on PySpark.

The lake is a folder (local, ``hdfs://`` or ``s3a://``: any URL Hadoop reads) with one Parquet
dataset per canonical table, partitioned by platform and, for timed tables, by UTC day::

    lake/posts/platform=x/day=2024-05-01/part-….parquet
    lake/accounts/platform=bluesky/part-….parquet
    lake/sources/part-….parquet

DuckDB reads it too: ``read_parquet('lake/posts/**/*.parquet', hive_partitioning = true)``.
A table is replaced by writing a new copy beside it and renaming (Hadoop file system API), never
by overwriting the folder Spark is reading from.
"""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from confiance.engine.tables import CANONICAL_TABLES, column_names, spark_schema, spark_type
from confiance.errors import ConfianceError
from confiance.i18n import N_, Phrase

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

#: Default master: every local core, at most 8 (the ingest's worker bound).
DEFAULT_MASTER = "local[{}]".format(max(1, min(os.cpu_count() or 1, 8)))
MASTER_VARIABLE = "CONFIANCE_SPARK_MASTER"
LAKE_VARIABLE = "CONFIANCE_LAKE"
#: Tables partitioned by day, and the timestamp that names the day.
DAY_COLUMN = {"posts": "created_at", "interactions": "created_at", "observations": "collected_at"}
PLATFORM_TABLES = ("accounts", "posts", "interactions", "observations", "audience_reports")


def master_url(master: str | None = None) -> str:
    """The option, else ``$CONFIANCE_SPARK_MASTER``, else ``local[N]``."""
    return master or os.environ.get(MASTER_VARIABLE) or DEFAULT_MASTER


def session(master: str | None = None, *, app_name: str = "confiance", shuffle_partitions: int | None = None,
            config: dict[str, str] | None = None) -> "SparkSession":
    """A SparkSession (the active one if it exists) in UTC, quiet, with Arrow transfers on.

    Local masters bind to 127.0.0.1 unless ``SPARK_LOCAL_IP`` says otherwise, and run this Python
    interpreter unless ``PYSPARK_PYTHON`` says otherwise; on a cluster, the workers' Python must have
    confiance installed. ``spark.jars.packages``
    or ``spark.jars`` in ``config`` add GraphFrames when a cluster provides it.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # the `spark` extra
        raise ConfianceError(Phrase(N_("the Spark engine needs PySpark: pip install 'confiance[spark]' (and Java 17)"))) from exc
    url = master_url(master)
    if url.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        # the Python workers must be this interpreter (with this environment's packages)
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    cores = url[len("local["):-1] if url.startswith("local[") else ""
    partitions = shuffle_partitions or (2 * int(cores) if cores.isdigit() else 200)
    builder = (SparkSession.builder.master(url).appName(app_name)
               .config("spark.sql.session.timeZone", "UTC")
               # UTC-adjusted INT64 timestamps (not Spark's legacy INT96): DuckDB reads them as TIMESTAMPTZ
               .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
               .config("spark.sql.shuffle.partitions", str(partitions))
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               # adaptive execution: shuffles sized from what they really hold, skewed joins split
               .config("spark.sql.adaptive.enabled", "true")
               .config("spark.sql.adaptive.coalescePartitions.enabled", "true")
               .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
               .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false"))
    for key, value in (config or {}).items():
        builder = builder.config(key, value)
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # no Java, a bad master URL
        raise ConfianceError(Phrase(N_("cannot start Spark at %(url)s: %(error)s"), url=url,
                                    error=str(exc).splitlines()[0][:300])) from exc
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def ibis_backend(spark: "SparkSession"):
    """Ibis on PySpark: the expressions of :mod:`confiance.engine.transforms` run here unchanged."""
    import ibis

    return ibis.pyspark.connect(spark)


class Lake:
    """The canonical tables as partitioned Parquet datasets under ``location``."""

    def __init__(self, spark: "SparkSession", location: str):
        self.spark = spark
        self.location = location.rstrip("/")

    def path(self, table: str) -> str:
        return f"{self.location}/{table}"

    def _fs(self, path: str):
        jvm = self.spark.sparkContext._jvm
        hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
        return hadoop_path.getFileSystem(self.spark.sparkContext._jsc.hadoopConfiguration()), hadoop_path

    def exists(self, table_or_path: str) -> bool:
        path = table_or_path if "/" in table_or_path else self.path(table_or_path)
        fs, hadoop_path = self._fs(path)
        return bool(fs.exists(hadoop_path))

    def has_data(self, table: str) -> bool:
        """Whether the table's folder holds a Parquet file (a write of no rows leaves only ``_SUCCESS``,
        from which Spark cannot infer a schema). Stops at the first file found."""
        if not self.exists(table):
            return False
        fs, hadoop_path = self._fs(self.path(table))
        files = fs.listFiles(hadoop_path, True)
        while files.hasNext():
            if files.next().getPath().getName().endswith(".parquet"):
                return True
        return False

    def read(self, table: str) -> "DataFrame":
        """The table with its canonical columns, in order (partition folders become columns again)."""
        if not self.has_data(table):
            return self.spark.createDataFrame([], spark_schema(table))
        frame = self.spark.read.option("basePath", self.path(table)).parquet(self.path(table))
        return frame.select(*[frame[c].cast(spark_type(table, c)).alias(c) for c in column_names(table)])

    def read_derived(self, table: str) -> "DataFrame":
        """A derived table (``graph_edges``, ``account_graph_metrics``) as written."""
        if not self.exists(table):
            raise ConfianceError(Phrase(N_("the lake at %(location)s has no %(table)s yet"), location=self.location, table=table))
        return self.spark.read.option("basePath", self.path(table)).parquet(self.path(table))

    def _partitioned(self, table: str, frame: "DataFrame") -> tuple["DataFrame", list[str]]:
        from pyspark.sql import functions as F

        by: list[str] = []
        if table not in CANONICAL_TABLES:  # a derived table (graph_edges…): its own columns, by platform
            return frame, ["platform"] if "platform" in frame.columns else []
        frame = frame.select(*column_names(table))
        if table in PLATFORM_TABLES:
            by.append("platform")
        if table in DAY_COLUMN:
            frame = frame.withColumn("day", F.date_format(F.col(DAY_COLUMN[table]), "yyyy-MM-dd"))
            by.append("day")
        return frame, by

    def _writer(self, table: str, frame: "DataFrame", mode: str):
        """Rows of one partition folder gathered in one task first: one file per folder and write."""
        frame, by = self._partitioned(table, frame)
        writer = (frame.repartition(*by) if by else frame).write.mode(mode)
        return writer.partitionBy(*by) if by else writer

    def append(self, table: str, frame: "DataFrame") -> None:
        self._writer(table, frame, "append").parquet(self.path(table))

    def rewrite_partitions(self, table: str, frame: "DataFrame", replaced: "DataFrame | None" = None) -> None:
        """Replace the partition folders ``frame`` has rows for (or ``replaced`` has, when its rows move to other
        folders, whose files are kept) with its rows (``frame`` must not read them: materialise it first). The
        new files are written beside the old ones, then the old files are deleted: a run killed in between
        leaves some rows twice, never none."""
        shaped, by = self._partitioned(table, frame if replaced is None else replaced)
        folders = ["/".join(f"{c}={'__HIVE_DEFAULT_PARTITION__' if v is None else v}" for c, v in zip(by, row))
                   for row in shaped.select(*by).distinct().collect()]
        old = []
        for folder in folders:
            fs, path = self._fs(f"{self.path(table)}/{folder}")
            if fs.exists(path):
                old += [status.getPath() for status in fs.listStatus(path) if status.isFile()]
        self.append(table, frame)
        for path in old:
            fs, _ = self._fs(path.toString())
            fs.delete(path, False)

    def replace(self, table: str, frame: "DataFrame") -> None:
        """Write ``frame`` (which may read the table itself) as the new table, then swap folders."""
        fresh = f"{self.location}/.{table}-{uuid.uuid4().hex}"
        self._writer(table, frame, "overwrite").parquet(fresh)
        self.remove(self.path(table))
        fs, fresh_path = self._fs(fresh)
        _, target = self._fs(self.path(table))
        if not fs.rename(fresh_path, target):
            raise ConfianceError(Phrase(N_("cannot move %(source)s to %(target)s"), source=fresh, target=self.path(table)))

    def remove(self, path: str) -> None:
        fs, hadoop_path = self._fs(path)
        if fs.exists(hadoop_path):
            fs.delete(hadoop_path, True)

    def local_folder(self, path: str) -> "Path | None":
        """The folder of ``path`` on this machine's disk when the lake is local (no URL scheme, or
        ``file://``): the driver then writes scratch Parquet itself, without a Spark job."""
        if "://" in path and not path.startswith("file://"):
            return None
        return Path(path.removeprefix("file://").removeprefix("file:"))

    def scratch(self, name: str) -> str:
        """A fresh folder for intermediate tables (one per use; :meth:`remove` it after)."""
        return f"{self.location}/.scratch/{name}-{uuid.uuid4().hex}"


def lake_location(workspace_root, option: str | None = None) -> str:
    """The option, else ``$CONFIANCE_LAKE``, else ``WORKSPACE/lake`` (a cluster needs a shared URL)."""
    return option or os.environ.get(LAKE_VARIABLE) or str(workspace_root / "lake")
