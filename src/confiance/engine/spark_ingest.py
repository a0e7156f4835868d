"""Ingest on Spark: the same format mappers, run per partition, merged into the Parquet lake.

Per file, as the DuckDB engine does (``confiance.ingest._engine``), with the same accounting
(``records_read = stored + duplicates + rejected``, checked before the ``sources`` row is written):

1. the driver hashes the file (a file whose bytes the lake already has stores nothing) and cuts it
   into chunks of units, the only serial part: lines for JSON lines (``bounded_lines``, as the
   parallel mapper does), parsed items from the format's reader otherwise; the chunks are written
   as a Parquet table;
2. executors map each chunk with ``mapInArrow``: the format's own mapper through a ``Sink``,
   sequence numbers ``chunk << 32 | record`` so "first in the file wins" holds as in a serial read;
   the rows come back as Arrow batches per canonical table, written once, then decoded per table;
3. Spark merges: observations derived from posts, suppressions (forgotten people), the stored count,
   deduplication on the natural keys (primary rows first, then file order) against the lake,
   per-column latest account snapshots, rejects, parent linking (replies, quotes and reposts get the
   parent's author and their interaction), and the ``sources`` row last.

The lake has no multi-table transaction: a run killed mid-file leaves rows without their
``sources`` row; ingesting the file again completes it (rows already there count as duplicates).
"""

from __future__ import annotations

import gzip
import os
import pickle
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

import duckdb
import pyarrow as pa

from confiance import store
from confiance.engine.spark import Lake
from confiance.engine.tables import spark_type
from confiance.errors import IngestError
from confiance.ingest import formats, plan_files
from confiance.ingest._engine import STAGED_TABLES, IngestResult, _column_specs, _required, file_sha256, map_units
from confiance.ingest._format import Context
from confiance.ingest._parallel import CHUNK_BYTES
from confiance.ingest._readers import (DEFAULT_LIMITS, READERS, BadItem, Limits, bounded_lines, line_chunks,
                                       parse_json_line)
from confiance.ingest._sink import Sink
from confiance.workspace import Workspace

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

#: Parsed units per chunk for containers that are not JSON lines (CSV rows, JSON documents).
UNITS_PER_CHUNK = 2048
#: Chunks handed to Spark per driver batch (bounds the driver's memory to about this × CHUNK_BYTES).
CHUNKS_PER_BATCH = 16
_MAPPED_SCHEMA = "chunk bigint, records bigint, rejected bigint, tbl string, batch binary"
_METRICS = ("likes", "reposts", "replies", "quotes", "views")
_SUPPRESSED = "suppressed: a forgotten person"


@dataclass(frozen=True)
class _Job:
    format_name: str
    lines: bool  # chunks hold raw JSON lines (parsed on the executor) rather than parsed items
    specs: dict
    required: dict
    ctx: Context
    limits: Limits


def staging_specs() -> dict[str, list[tuple[str, str]]]:
    """The staging columns per table, exactly as the DuckDB engine derives them from the schema."""
    con = duckdb.connect()
    try:
        for _, sql in store.MIGRATIONS:
            con.execute(sql)
        return _column_specs(con)
    finally:
        con.close()


def _map_chunks(job: _Job) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The executor side: each chunk → one counts row, then one row per table batch (Arrow IPC)."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        fmt = formats()[job.format_name]
        for batch in batches:
            for chunk, payload in zip(batch.column("chunk").to_pylist(), batch.column("payload").to_pylist()):
                entries = pickle.loads(payload)
                units = [e if isinstance(e, BadItem) or not job.lines else parse_json_line(e[0], e[1], job.limits)
                         for e in entries]
                sink = Sink(job.specs, job.required, job.ctx.collected_at)
                records, rejected = map_units(units, fmt, sink, job.ctx, job.limits, chunk << 32)
                rows: dict[str, list] = {"chunk": [chunk], "records": [records], "rejected": [rejected],
                                         "tbl": [None], "batch": [None]}
                for table, arrow in sink.drain():
                    sink_ipc = pa.BufferOutputStream()
                    with pa.ipc.new_stream(sink_ipc, arrow.schema) as writer:
                        writer.write_table(arrow)
                    for key, value in (("chunk", chunk), ("records", 0), ("rejected", 0), ("tbl", table),
                                       ("batch", sink_ipc.getvalue().to_pybytes())):
                        rows[key].append(value)
                yield pa.RecordBatch.from_pydict(rows, schema=pa.schema([
                    ("chunk", pa.int64()), ("records", pa.int64()), ("rejected", pa.int64()), ("tbl", pa.string()),
                    ("batch", pa.binary())]))

    return run


def _decode(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        for payload in batch.column("batch").to_pylist():
            yield from pa.ipc.open_stream(payload).read_all().to_batches()


class _FileRun:
    """One file through Spark. Scratch tables live under the lake's ``.scratch`` and are removed."""

    def __init__(self, spark: "SparkSession", lake: Lake, path: Path, fmt, opened, container: str,
                 options: dict[str, Any], limits: Limits, specs: dict, hashes: list[str]):
        self.spark, self.lake, self.path, self.fmt = spark, lake, path, fmt
        self.opened, self.container, self.limits, self.specs, self.hashes = opened, container, limits, specs, hashes
        collected = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc).isoformat()
        self.ctx = Context(path=path, collected_at=collected, options=options)
        self.scratch: list[str] = []
        self.records = self.rejected = 0

    def _scratch(self, name: str) -> str:
        location = self.lake.scratch(name)
        self.scratch.append(location)
        return location

    def cleanup(self) -> None:
        for location in self.scratch:
            self.lake.remove(location)

    # -- 1. chunks ----------------------------------------------------------------------------------
    def _chunks(self) -> Iterator[list]:
        if self.fmt.read is None and self.container == "jsonl":
            yield from line_chunks(bounded_lines(self.opened, self.limits), CHUNK_BYTES)
            return
        reader = self.fmt.read or READERS[self.container]
        chunk: list = []
        for unit in reader(self.opened, self.limits, lambda n: None):
            chunk.append(unit)
            if len(chunk) >= UNITS_PER_CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def write_chunks(self) -> str:
        location = self._scratch("chunks")
        schema = pa.schema([("chunk", pa.int64()), ("payload", pa.binary())])
        pending: list[tuple[int, bytes]] = []

        def flush() -> None:
            arrow = pa.table({"chunk": [c for c, _ in pending], "payload": [p for _, p in pending]}, schema=schema)
            self.spark.createDataFrame(arrow).write.mode("append").parquet(location)
            pending.clear()

        for index, chunk in enumerate(self._chunks()):
            pending.append((index, pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL)))
            if len(pending) >= CHUNKS_PER_BATCH:
                flush()
        if pending or not self.lake.exists(location):  # an empty file still gets its (empty) table
            flush()
        return location

    # -- 2. map -------------------------------------------------------------------------------------
    def map(self, chunks: str) -> dict[str, "DataFrame"]:
        from pyspark.sql import functions as F
        from pyspark.sql.pandas.types import from_arrow_schema

        lines = self.fmt.read is None and self.container == "jsonl"
        job = _Job(self.fmt.name, lines, self.specs, {t: _required(t) for t in STAGED_TABLES}, self.ctx, self.limits)
        mapped = self._scratch("mapped")
        frame = self.spark.read.parquet(chunks)
        frame = frame.repartition(max(1, self.spark.sparkContext.defaultParallelism), "chunk")
        frame.mapInArrow(_map_chunks(job), _MAPPED_SCHEMA).write.parquet(mapped)
        mapped_frame = self.spark.read.parquet(mapped)
        totals = mapped_frame.groupBy("tbl").agg(F.sum("records"), F.sum("rejected")).collect()
        self.records = sum(int(row[1] or 0) for row in totals)
        self.rejected = sum(int(row[2] or 0) for row in totals)
        present = [row[0] for row in totals if row[0] is not None]
        empty = Sink(self.specs, job.required, self.ctx.collected_at)
        staged = {}
        for table in present:
            schema = from_arrow_schema(empty.buffers[table].to_arrow().schema)
            staged[table] = mapped_frame.where(F.col("tbl") == table).select("batch").mapInArrow(_decode, schema)
        return staged

    # -- 3. merge -----------------------------------------------------------------------------------
    def derive_observations(self, staged: dict[str, "DataFrame"]) -> None:
        from pyspark.sql import functions as F

        if "posts" not in staged:
            return
        posts = staged["posts"]
        derived = posts.where(F.col("observed_at").isNotNull() & F.coalesce(*[F.col(m) for m in _METRICS]).isNotNull()) \
            .select("platform", "post_id", F.col("observed_at").alias("collected_at"), *_METRICS,
                    "_seq", "_line", "_item", F.lit(False).alias("_primary"))
        staged["observations"] = staged["observations"].unionByName(derived, allowMissingColumns=True) \
            if "observations" in staged else derived

    def apply_suppressions(self, staged: dict[str, "DataFrame"]) -> None:
        from pyspark.sql import functions as F

        if not self.hashes:
            return
        listed = F.array(*[F.lit(h) for h in self.hashes])

        def hidden(column) -> Any:
            return F.coalesce(F.array_contains(listed, F.sha2(F.lower(column), 256)), F.lit(False))

        def account(column: str) -> Any:
            return hidden(F.concat_ws(":", F.col("platform"), F.col(column))) & F.col(column).isNotNull()

        conditions = {
            "accounts": account("account_id") | hidden(F.col("handle")),
            "posts": account("account_id"),
            "interactions": account("src") | account("dst"),
            "audience_reports": account("account_id"),
        }
        for table, condition in conditions.items():
            if table not in staged:
                continue
            dropped = staged[table].where(F.col("_primary") & condition).select(
                F.col("_line").alias("line_no"), F.col("_item").alias("item"))
            dropped = self._materialise(dropped, f"suppressed-{table}")
            count = dropped.count()
            if count:
                self.rejected += count
                rejects = dropped.select("line_no", "item", F.lit(_SUPPRESSED).alias("reason"),
                                         F.lit(None).cast("string").alias("raw"))
                staged["rejects"] = staged["rejects"].select("line_no", "item", "reason", "raw").unionByName(rejects) \
                    if "rejects" in staged else rejects
            staged[table] = staged[table].where(~condition)
        if "posts" in staged:
            posts = staged["posts"]
            parent_hidden = account("parent_account_id")
            posts = posts.withColumn("parent_account_id", F.when(parent_hidden, F.lit(None).cast("string"))
                                     .otherwise(F.col("parent_account_id")))
            staged["posts"] = posts.withColumn("mentions", F.filter(
                "mentions", lambda m: ~F.coalesce(F.array_contains(listed, F.sha2(F.lower(m), 256)), F.lit(False))))
            if "observations" in staged:
                known = staged["posts"].select("platform", "post_id").unionByName(
                    self.lake.read("posts").select("platform", "post_id"))
                staged["observations"] = staged["observations"].join(known.distinct(), ["platform", "post_id"],
                                                                     "left_semi")

    def _materialise(self, frame: "DataFrame", name: str) -> "DataFrame":
        location = self._scratch(name)
        frame.write.parquet(location)
        return self.spark.read.parquet(location)

    def _typed(self, table: str, frame: "DataFrame", columns: list[str]) -> list:
        from pyspark.sql import functions as F

        return [F.expr(f"try_cast(`{c}` AS {spark_type(table, c)})").alias(c) for c in columns if c in frame.columns] \
            + [F.lit(None).cast(spark_type(table, c)).alias(c) for c in columns if c not in frame.columns]

    def count_stored(self, staged: dict[str, "DataFrame"]) -> int:
        """Distinct primary keys the lake lacks, over every staged table, in one Spark job."""
        from functools import reduce

        from pyspark.sql import functions as F

        counts = []
        for table in STAGED_TABLES:
            if table not in staged:
                continue
            keys = list(store.TABLE_KEYS[table])
            primary = staged[table].where("_primary").select(*self._typed(table, staged[table], keys)).distinct()
            existing = self.lake.read(table).select(*keys)
            match = reduce(lambda a, b: a & b, [primary[k].eqNullSafe(existing[k]) for k in keys])
            counts.append(primary.join(existing, match, "left_anti").agg(F.count(F.lit(1)).alias("n")))
        if not counts:
            return 0
        return int(reduce(lambda a, b: a.unionByName(b), counts).agg(F.sum("n")).collect()[0][0] or 0)

    def merged_rows(self, table: str, frame: "DataFrame", sha: str) -> "DataFrame":
        """The staged rows whose key the lake lacks, one per key: primary rows first, then file order."""
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        keys = list(store.TABLE_KEYS[table])
        columns = [c for c, _ in self.specs[table] if c != "observed_at"]
        rows = frame.select(*self._typed(table, frame, columns), "_primary", "_seq")
        rows = rows.where(" AND ".join(f"`{k}` IS NOT NULL" for k in keys))
        rows = rows.join(self.lake.read(table).select(*keys), keys, "left_anti")
        order = Window.partitionBy(*keys).orderBy(F.col("_primary").desc(), F.col("_seq"))
        rows = rows.withColumn("_rank", F.row_number().over(order)).where("_rank = 1")
        if table != "interactions":
            rows = rows.withColumn("source_sha256", F.lit(sha))
        return rows.drop("_rank", "_primary", "_seq")

    def merge_accounts(self, frame: "DataFrame") -> None:
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        profile = [c for c, _ in self.specs["accounts"] if c not in ("platform", "account_id", "observed_at")]
        keys = ["platform", "account_id"]
        snapshots = frame.withColumn("_obs", F.expr("try_cast(observed_at AS timestamp)"))
        snapshots = snapshots.withColumn("_ord", F.row_number().over(
            Window.partitionBy(*keys).orderBy(F.col("_obs").asc_nulls_first(), F.col("_seq"))))
        typed = dict(zip(profile, self._typed("accounts", snapshots, profile)))
        # per column, the value of the latest snapshot that has one (nulls never win, as arg_max)
        latest = [F.max_by(typed[c], F.when(typed[c].isNotNull(), F.col("_ord"))).alias(c) for c in profile]
        new = snapshots.groupBy(*keys).agg(*latest, F.min("_obs").alias("first_seen"), F.max("_obs").alias("last_seen"))
        old = self.lake.read("accounts")
        n, o = new.alias("n"), old.alias("o")
        joined = n.join(o, (F.col("n.platform") == F.col("o.platform")) & (F.col("n.account_id") == F.col("o.account_id")),
                        "left")
        newer = (F.col("o.account_id").isNull() | F.col("n.last_seen").isNull() | F.col("o.last_seen").isNull()
                 | (F.col("n.last_seen") >= F.col("o.last_seen")))
        merged = joined.select(
            F.col("n.platform").alias("platform"), F.col("n.account_id").alias("account_id"),
            *[F.when(newer, F.coalesce(F.col(f"n.{c}"), F.col(f"o.{c}")))
              .otherwise(F.coalesce(F.col(f"o.{c}"), F.col(f"n.{c}"))).alias(c) for c in profile],
            F.least(F.col("n.first_seen"), F.col("o.first_seen")).alias("first_seen"),
            F.greatest(F.col("n.last_seen"), F.col("o.last_seen")).alias("last_seen"),
        )
        kept = old.join(new.select(*keys), keys, "left_anti")
        result = self._materialise(kept.unionByName(merged), "accounts-merged")
        self.lake.replace("accounts", result)

    def link_parents(self, new_posts: "DataFrame", sha: str) -> None:
        """As the DuckDB engine: a reply, quote or repost whose parent's author the record did not name
        gets it from the parent post (this file's or an earlier one's, either order), and the
        matching interaction."""
        from pyspark.sql import functions as F

        old = self.lake.read("posts")
        authors = old.select("platform", "post_id", "account_id", "source_sha256").unionByName(
            new_posts.select("platform", "post_id", "account_id", "source_sha256"))
        authors = authors.where("account_id IS NOT NULL").select(
            "platform", F.col("post_id").alias("_parent"), F.col("account_id").alias("_author"),
            F.col("source_sha256").alias("_parent_sha"))
        needs = (F.col("parent_account_id").isNull() & F.col("parent_post_id").isNotNull()
                 & F.col("kind").isin("reply", "quote", "repost"))

        def filled(posts: "DataFrame", only_new_parents: bool) -> "DataFrame":
            joined = posts.join(authors, (posts["platform"] == authors["platform"])
                                & (posts["parent_post_id"] == authors["_parent"]), "left").drop(authors["platform"])
            fill = needs & F.col("_author").isNotNull()
            if only_new_parents:
                fill &= F.col("_parent_sha") == sha
            return joined.withColumn("parent_account_id", F.when(fill, F.col("_author"))
                                     .otherwise(F.col("parent_account_id"))).drop("_parent", "_author", "_parent_sha")

        new_posts = self._materialise(filled(new_posts, False), "posts-linked")
        this_ids = new_posts.select("post_id").distinct()
        stale = old.where(needs).join(this_ids.withColumnRenamed("post_id", "parent_post_id"), "parent_post_id",
                                      "left_semi")
        if stale.limit(1).count():
            self.lake.replace("posts", self._materialise(filled(old, True), "posts-relinked").unionByName(new_posts))
        else:
            self.lake.append("posts", new_posts)
        posts = self.lake.read("posts")
        linkable = "kind IN ('reply', 'quote', 'repost') AND account_id IS NOT NULL AND parent_account_id IS NOT NULL"
        columns = ["platform", F.col("account_id").alias("src"), F.col("parent_account_id").alias("dst"), "kind",
                   "post_id", "created_at"]
        own = posts.where(F.col("source_sha256") == sha).where(linkable).select(*columns)
        children = posts.join(this_ids.withColumnRenamed("post_id", "parent_post_id"), "parent_post_id", "left_semi") \
            .where(linkable).select(*columns)
        links = own.unionByName(children).distinct()
        keys = list(store.TABLE_KEYS["interactions"])
        links = links.join(self.lake.read("interactions").select(*keys), keys, "left_anti")
        links = links.withColumn("weight", F.lit(None).cast("double")).withColumn("probability", F.lit(None).cast("double"))
        self.lake.append("interactions", links)

    def run(self, sha: str) -> tuple[int, int]:
        """Map and merge; returns (stored, duplicates). The caller writes the ``sources`` row."""
        from pyspark.sql import functions as F

        staged = self.map(self.write_chunks())
        self.derive_observations(staged)
        self.apply_suppressions(staged)
        stored = self.count_stored(staged)
        duplicates = self.records - self.rejected - stored
        if duplicates < 0:
            raise IngestError(str(self.path), None,
                              f"accounting error: {stored} stored of {self.records - self.rejected} readable records")
        new_posts = None
        for table in STAGED_TABLES:
            if table not in staged:
                continue
            if table == "accounts":
                self.merge_accounts(staged[table])
            elif table == "posts":
                new_posts = self.merged_rows(table, staged[table], sha)
            else:
                self.lake.append(table, self.merged_rows(table, staged[table], sha))
        if "rejects" in staged:
            rejects = staged["rejects"].select(F.lit(sha).alias("source_sha256"), "line_no", "item", "reason", "raw")
            self.lake.append("rejects", rejects)
        if new_posts is not None:
            self.link_parents(new_posts, sha)
        return stored, duplicates


def _suppression_hashes(ws: Workspace) -> list[str]:
    with ws.reader() as con:
        return [h for (h,) in con.execute("SELECT key_hash FROM suppressions ORDER BY key_hash").fetchall()]


def _earlier(lake: Lake, sha: str) -> tuple[int, int] | None:
    rows = lake.read("sources").where(f"sha256 = '{sha}'").select("records_read", "rejected").collect()
    return (int(rows[0][0]), int(rows[0][1])) if rows else None


def _archive(ws: Workspace, path: Path, sha: str) -> Path:
    target = ws.archive_path(sha)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".incoming-{os.getpid()}-{sha}.gz")
        with open(path, "rb") as src, gzip.open(partial, "wb", compresslevel=1) as dst:
            shutil.copyfileobj(src, dst, 4 << 20)
        os.replace(partial, target)
    return target


def ingest_paths_spark(
    ws: Workspace,
    paths: Iterable[Path | str],
    spark: "SparkSession",
    lake: Lake,
    *,
    format_name: str | None = None,
    options: dict[str, Any] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    on_file_done: Callable[[IngestResult], None] | None = None,
    on_skip: Callable[[Path, str], None] | None = None,
) -> list[IngestResult]:
    """Ingest files (or folders) into the lake, one file after the other, as ``ingest_paths`` does into
    the store: same detection, same skips, same results. The workspace lock is held throughout."""

    specs = staging_specs()
    hashes = _suppression_hashes(ws)
    results = []
    with ws.lock():
        for path, fmt, opened, container in plan_files(paths, format_name, options, on_skip):
            name = fmt.name
            sha = file_sha256(path)
            earlier = _earlier(lake, sha)
            if earlier is not None:
                records, rejected = earlier
                result = IngestResult(str(path), name, records, 0, records - rejected, rejected, sha, opened.encoding,
                                      already_ingested=True)
            else:
                run = _FileRun(spark, lake, path, fmt, opened, container, dict(options or {}), limits, specs, hashes)
                try:
                    stored, duplicates = run.run(sha)
                    target = _archive(ws, path, sha)
                    assert run.records == stored + duplicates + run.rejected
                    source = spark.createDataFrame([(
                        sha, str(path), name, opened.encoding, path.stat().st_size, run.records, stored, duplicates,
                        run.rejected, datetime.now(timezone.utc), str(target.relative_to(ws.root)), False,
                    )], "sha256 string, path string, format string, encoding string, size_bytes bigint, "
                        "records_read bigint, stored bigint, duplicates bigint, rejected bigint, "
                        "ingested_at timestamp, archive_path string, redacted boolean")
                    lake.append("sources", source)
                finally:
                    run.cleanup()
                result = IngestResult(str(path), name, run.records, stored, duplicates, run.rejected, sha,
                                      opened.encoding)
            ws.audit("ingest", sha256=result.sha256, format=result.format, records_read=result.records_read,
                     stored=result.stored, duplicates=result.duplicates, rejected=result.rejected,
                     already_ingested=result.already_ingested, engine="spark")
            if on_file_done:
                on_file_done(result)
            results.append(result)
    return results
