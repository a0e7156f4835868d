"""Ingest on Spark: the same format mappers, run over every input file in one distributed job, merged
into the Parquet lake once per run.

The results are those of the DuckDB engine (``confiance.ingest._engine``), which ingests one file
after the other: per file ``records_read = stored + duplicates + rejected``, its rejects with line
and reason, its notes (``Context.note``: each chunk's, and the format's ``finish`` run on the driver
over the chunks' state), one ``sources`` row. A run here does the same work in a fixed number of Spark jobs,
however many files it holds:

1. the driver hashes each file (a file whose bytes the lake already has, or that this run already
   holds, stores nothing) and cuts it into chunks of units, the only serial part: lines for JSON
   lines (``bounded_lines``), parsed items from the format's reader otherwise; the chunks of all
   files are written as one scratch Parquet table of (file, chunk, payload);
2. one ``mapInArrow`` job maps every chunk with the format's own mapper through a ``Sink``
   (sequence numbers ``chunk << 32 | record``, so "first in the file wins" holds as in a serial
   read); the rows come back as Arrow batches per canonical table, tagged with their file;
3. per table, once: observations derived from posts, suppressions (forgotten people: their rows
   dropped, others' posts scrubbed of them with the DuckDB engine's own SQL, run by DuckDB on the
   executors; the files' archives are redacted of them before the ``sources`` rows), then one
   ranking on the natural keys over the whole run against the lake, ordered by (file, primary rows
   first, position in the file): the first row of a key is the one a file-after-file ingest keeps,
   and a file stored a key exactly when that first row is one of its primary rows. Parent linking
   (replies, quotes and reposts get the parent's author and their interaction) is computed once
   too, each link tagged with the file after which the serial ingest would have made it; so is the
   time an interaction without one takes from the first later reading that gives it (a Mastodon boost
   read from a ``reblogged_by`` list, then from the booster's timeline);
4. writes, each table once: new rows appended (repartitioned by platform and day, so a day is one
   file per write), only the ``posts`` day partitions whose rows gained a parent's author
   rewritten, as the ``interactions`` partitions without a day whose rows gained a time (first),
   ``accounts`` (the latest-snapshot merge, folded file by file over the run) replaced by a swap,
   then the ``sources`` rows last.

The lake has no multi-table transaction: a run killed before its ``sources`` rows leaves rows
without them; ingesting the files again completes it (rows already there count as duplicates).
"""

from __future__ import annotations

import os
import pickle
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import reduce
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from confiance import store
from confiance.engine.spark import Lake
from confiance.engine.tables import column_names, spark_schema, spark_type
from confiance.errors import IngestError
from confiance.ingest import formats, plan_files
from confiance.ingest._engine import (DROP_REPLY_ID, FORGOTTEN_COPY, MIN_POST_TEXT, RT_PREFIX, STAGED_TABLES,
                                      WORD_PATTERNS, IngestResult, TextScrub, _column_specs, _required, accounting_error,
                                      file_sha256, map_units, scrub_texts, write_archive)
from confiance.ingest._format import Context
from confiance.ingest._parallel import CHUNK_BYTES
from confiance.ingest._readers import (DEFAULT_LIMITS, READERS, BadItem, Limits, bounded_lines, line_chunks,
                                       parse_json_line)
from confiance.ingest._sink import Sink
from confiance.person import Person
from confiance.privacy import redact_incoming_archive
from confiance.workspace import Workspace

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

#: Parsed units per chunk for containers that are not JSON lines (CSV rows, JSON documents).
UNITS_PER_CHUNK = 2048
#: Bytes of chunks the driver hands Spark per write (bounds the driver's memory; one scratch file each).
DRIVER_BATCH_BYTES = 32 << 20
#: Compressed chunk bytes per map task (about one driver batch).
MAP_TASK_BYTES = 8 << 20
#: Chunks per Arrow batch in the Python workers (a chunk is up to CHUNK_BYTES: bounds their memory).
CHUNKS_PER_ARROW_BATCH = 4
#: Input bytes per shuffle partition (adaptive execution coalesces the small ones).
BYTES_PER_SHUFFLE_PARTITION = 64 << 20
_METRICS = ("likes", "reposts", "replies", "quotes", "views")
_SUPPRESSED = "suppressed: a forgotten person"
_LINKABLE = "kind IN ('reply', 'quote', 'repost') AND account_id IS NOT NULL AND parent_account_id IS NOT NULL"


@dataclass(frozen=True)
class _Job:
    """What an executor needs to map one file's chunks."""
    format_name: str
    lines: bool  # chunks hold raw JSON lines (parsed on the executor) rather than parsed items
    ctx: Context


@dataclass
class _File:
    index: int
    path: Path
    fmt: Any
    opened: Any
    container: str
    sha: str
    ctx: Context
    records: int = 0
    rejected: int = 0
    stored: int = 0

    @property
    def lines(self) -> bool:
        return self.fmt.read is None and self.container == "jsonl"


def staging_specs() -> dict[str, list[tuple[str, str]]]:
    """The staging columns per table, exactly as the DuckDB engine derives them from the schema."""
    con = duckdb.connect()
    try:
        for _, sql in store.MIGRATIONS:
            con.execute(sql)
        return _column_specs(con)
    finally:
        con.close()


def _mapped_schema(specs: dict, required: dict) -> pa.Schema:
    """One row type for every table's rows: the counts, then ``<table>__<column>`` for each table's
    staging columns (null outside its table), so the mapped rows land in one Parquet table that
    Spark splits by ``tbl`` without another pass through Python."""
    fields = [pa.field("file", pa.int64()), pa.field("chunk", pa.int64()), pa.field("records", pa.int64()),
              pa.field("rejected", pa.int64()), pa.field("tbl", pa.string()), pa.field("error", pa.string()),
              pa.field("findings", pa.binary())]
    empty = Sink(specs, required, "")
    for table in sorted(empty.buffers):
        fields += [pa.field(f"{table}__{f.name}", f.type) for f in empty.buffers[table].to_arrow().schema]
    return pa.schema(fields)


def _map_chunks(jobs: dict[int, _Job], specs: dict, required: dict, limits: Limits
                ) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The executor side: each chunk → one counts row (with what its context found: notes and state, for
    the file's ``finish`` on the driver), then its rows of every table (see ``_mapped_schema``).

    A file-level ``IngestError`` (a bad mapping file) comes back as an ``error`` row, raised on the driver."""
    schema = _mapped_schema(specs, required)

    def batch_of(n: int, values: dict[str, Any]) -> pa.RecordBatch:
        return pa.RecordBatch.from_arrays([values[f.name] if f.name in values else pa.nulls(n, f.type)
                                           for f in schema], schema=schema)

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        known = formats()
        for batch in batches:
            for file, chunk, payload in zip(batch.column("file").to_pylist(), batch.column("chunk").to_pylist(),
                                            batch.column("payload").to_pylist()):
                job = jobs[file]
                entries = pickle.loads(payload)
                units = [e if isinstance(e, BadItem) or not job.lines else parse_json_line(e[0], e[1], limits)
                         for e in entries]
                sink = Sink(specs, required, job.ctx.collected_at)
                ctx = job.ctx.part()  # a task maps many chunks, in any order: each finds its own
                try:
                    records, rejected = map_units(units, known[job.format_name], sink, ctx, limits, chunk << 32)
                except IngestError as exc:
                    yield batch_of(1, {"file": pa.array([file], pa.int64()), "chunk": pa.array([chunk], pa.int64()),
                                       "error": pa.array([pickle.dumps((exc.line, exc.reason)).hex()])})
                    continue
                findings = ctx.findings()
                yield batch_of(1, {"file": pa.array([file], pa.int64()), "chunk": pa.array([chunk], pa.int64()),
                                   "records": pa.array([records], pa.int64()),
                                   "rejected": pa.array([rejected], pa.int64()),
                                   "findings": pa.array([pickle.dumps(findings) if findings else None], pa.binary())})
                for table, arrow in sink.drain():
                    n = arrow.num_rows
                    values = {f"{table}__{name}": column.combine_chunks()
                              for name, column in zip(arrow.column_names, arrow.columns)}
                    values.update({"file": pa.array([file] * n, pa.int64()), "chunk": pa.array([chunk] * n, pa.int64()),
                                   "tbl": pa.array([table] * n, pa.string())})
                    yield batch_of(n, values)

    return run


def _rewrite_in_duckdb(scrubs: dict[int, TextScrub]) -> Callable[[Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The executor side of ``_Run._scrub_posts``: the DuckDB engine's updates of others' posts, run by DuckDB
    on each batch (``scrubs``: per file, what its texts lose)."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        con = duckdb.connect()
        try:
            for batch in batches:
                con.register("_batch", batch)
                con.execute("CREATE OR REPLACE TEMP TABLE _posts AS SELECT * FROM _batch")
                con.unregister("_batch")
                con.execute(f"UPDATE _posts SET attributes = {DROP_REPLY_ID} WHERE _drop_reply")
                con.execute(f"UPDATE _posts SET text = {FORGOTTEN_COPY} WHERE _copies")
                for file, scrub in scrubs.items():
                    scrub_texts(con, "_posts", scrub, "_file = ?", [file])
                yield from con.sql("SELECT * FROM _posts").to_arrow_table().cast(batch.schema).to_batches()
        finally:
            con.close()

    return run


class _Run:
    """The files of one ingest through Spark. Scratch tables live under the lake's ``.scratch``."""

    def __init__(self, spark: "SparkSession", lake: Lake, files: list[_File], limits: Limits, specs: dict,
                 hashes: list[str], timings: dict[str, float]):
        self.spark, self.lake, self.files, self.limits = spark, lake, files, limits
        self.specs, self.hashes, self.timings = specs, hashes, timings
        self.required = {t: _required(t) for t in STAGED_TABLES}
        self.scratch: list[str] = []
        self.chunk_bytes = 0
        #: per file (by index), what names the forgotten people whose rows it brought: its archive is redacted of it
        self.suppressed: dict[int, Person] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time a phase and name its Spark jobs (visible in the Spark UI and event logs)."""
        self.spark.sparkContext.setJobDescription(f"confiance ingest: {name}")
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start
            self.spark.sparkContext.setJobDescription(None)

    def _scratch(self, name: str) -> str:
        location = self.lake.scratch(name)
        self.scratch.append(location)
        return location

    def cleanup(self) -> None:
        for location in self.scratch:
            self.lake.remove(location)

    def _materialise(self, frame: "DataFrame", name: str) -> "DataFrame":
        location = self._scratch(name)
        frame.write.parquet(location)
        return self.spark.read.parquet(location)

    def _sha(self) -> "Column":
        """The ``source_sha256`` of a row's file."""
        from pyspark.sql import functions as F

        return F.element_at(F.array(*[F.lit(f.sha) for f in self.files]), F.col("_file").cast("int") + 1)

    # -- 1. chunks ----------------------------------------------------------------------------------
    def _chunks(self, file: _File) -> Iterator[list]:
        if file.lines:
            yield from line_chunks(bounded_lines(file.opened, self.limits), CHUNK_BYTES)
            return
        reader = file.fmt.read or READERS[file.container]
        chunk: list = []
        for unit in reader(file.opened, self.limits, lambda n: None):
            chunk.append(unit)
            if len(chunk) >= UNITS_PER_CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def write_chunks(self) -> str:
        location = self._scratch("chunks")
        schema = pa.schema([("file", pa.int64()), ("chunk", pa.int64()), ("payload", pa.binary())])
        pending: list[tuple[int, int, bytes]] = []
        size = 0
        folder = self.lake.local_folder(location)
        written = []

        def flush() -> None:
            arrow = pa.table({name: [row[i] for row in pending] for i, name in enumerate(schema.names)}, schema=schema)
            if folder is None:  # a remote lake: through Spark
                self.spark.createDataFrame(arrow).write.mode("append").parquet(location)
            else:
                folder.mkdir(parents=True, exist_ok=True)
                pq.write_table(arrow, folder / f"part-{len(written):05d}.parquet", row_group_size=16)
            written.append(len(pending))
            pending.clear()

        for file in self.files:
            for index, chunk in enumerate(self._chunks(file)):
                payload = pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL)
                pending.append((file.index, index, payload))
                size += len(payload)
                self.chunk_bytes += len(payload)
                if size >= DRIVER_BATCH_BYTES:
                    flush()
                    size = 0
        if pending or not written:  # no chunk at all still gets its (empty) table
            flush()
        return location

    # -- 2. map -------------------------------------------------------------------------------------
    def map(self, chunks: str) -> dict[str, "DataFrame"]:
        from pyspark.sql import functions as F
        from pyspark.sql.pandas.types import from_arrow_schema

        jobs = {f.index: _Job(f.fmt.name, f.lines, f.ctx) for f in self.files}
        schema = _mapped_schema(self.specs, self.required)
        # a map task per driver batch, not per 128 MB of compressed chunks: the tasks are CPU-bound,
        # so many small ones keep every core (of a cluster too) busy until the end
        split = self.spark.conf.get("spark.sql.files.maxPartitionBytes")
        self.spark.conf.set("spark.sql.files.maxPartitionBytes", str(MAP_TASK_BYTES))
        try:
            frame = self.spark.read.parquet(chunks)
            cores = max(1, self.spark.sparkContext.defaultParallelism)
            if frame.rdd.getNumPartitions() < cores:  # a small run: spread its chunks over every core
                frame = frame.repartition(cores, "file", "chunk")
            mapped = self._materialise(frame.mapInArrow(_map_chunks(jobs, self.specs, self.required, self.limits),
                                                        from_arrow_schema(schema)), "mapped")
        finally:
            self.spark.conf.set("spark.sql.files.maxPartitionBytes", split)
        found = F.when(F.col("findings").isNotNull(), F.struct("chunk", "findings"))  # collect_list drops nulls
        totals = mapped.where("tbl IS NULL").groupBy("file").agg(F.sum("records"), F.sum("rejected"),
                                                                F.max("error"), F.collect_list(found)).collect()
        for file, records, rejected, error, findings in totals:
            if error is not None:
                line, reason = pickle.loads(bytes.fromhex(error))
                raise IngestError(str(self.files[file].path), line, reason)
            self.files[file].records += int(records or 0)
            self.files[file].rejected += int(rejected or 0)
            for _, chunk_findings in sorted(findings):  # in file order, as a serial read meets them
                self.files[file].ctx.absorb(pickle.loads(chunk_findings))
        for file in self.files:  # the file's notes, as the DuckDB engine makes them
            if file.fmt.finish is not None:
                file.fmt.finish(file.ctx)
        staged = {}
        for (table,) in mapped.where("tbl IS NOT NULL").select("tbl").distinct().collect():
            prefix = f"{table}__"
            staged[table] = mapped.where(F.col("tbl") == table).select(
                *[F.col(f"`{c}`").alias(c[len(prefix):]) for c in schema.names if c.startswith(prefix)],
                F.col("file").alias("_file"))
        return staged

    # -- 3. merge -----------------------------------------------------------------------------------
    def derive_observations(self, staged: dict[str, "DataFrame"]) -> None:
        from pyspark.sql import functions as F

        if "posts" not in staged:
            return
        derived = staged["posts"].where(
            F.col("observed_at").isNotNull() & F.coalesce(*[F.col(m) for m in _METRICS]).isNotNull()
        ).select("platform", "post_id", F.col("observed_at").alias("collected_at"), *_METRICS,
                 "_seq", "_line", "_item", F.lit(False).alias("_primary"), "_file")
        staged["observations"] = staged["observations"].unionByName(derived, allowMissingColumns=True) \
            if "observations" in staged else derived

    def apply_suppressions(self, staged: dict[str, "DataFrame"]) -> None:
        """As the DuckDB engine (``_Run.apply_suppressions``): the forgotten people's rows are dropped (their
        records count as rejected); others' posts lose what points at them (parent and root post, parent
        author, ``in_reply_to_id``, mentions, and in the text their posts' texts and handles: ``TextScrub``);
        and ``self.suppressed`` gets, per file, what names them in its rows, for its archive to be redacted of it."""
        from pyspark.sql import functions as F

        if not self.hashes:
            return
        platform = F.col("platform")

        def hidden(column) -> Any:  # ``isin``: a hash set lookup (the list holds every forgotten post too)
            return F.coalesce(F.sha2(F.lower(column), 256).isin(self.hashes), F.lit(False))

        def handle(column) -> Any:  # scoped, or unscoped from a list written before handles were scoped
            return hidden(F.concat(platform, F.lit(":handle:"), column)) | hidden(column)

        def account(column: str) -> Any:  # its key, a Mastodon placeholder ``<id>@<host>``'s id, a handle used as id
            placeholder = F.regexp_extract(F.col(column), r"^(\d+)@", 1)
            return (hidden(F.concat_ws(":", platform, F.col(column)))
                    | hidden(F.concat(platform, F.lit(":alias:"), placeholder)) | handle(F.col(column))) \
                & F.col(column).isNotNull()

        def post(column: str) -> Any:
            return hidden(F.concat(platform, F.lit(":post:"), F.col(column)))

        aliases = [hidden(F.concat(platform, F.lit(":alias:"), F.get_json_object("attributes", f"$.{key}")))
                   for key in ("instance_account_id", "uri")]
        conditions = {
            "accounts": account("account_id") | handle(F.col("handle")) | aliases[0] | aliases[1],
            "posts": account("account_id"),
            "interactions": account("src") | account("dst"),
            "audience_reports": account("account_id"),
        }
        # others' reposts of a forgotten person (the DuckDB engine's ``copies_forgotten``): the handle their "RT @handle:"
        # names, whether it names a forgotten one where the row names no parent author, whether they copy their words
        text = F.coalesce(F.col("text"), F.lit(""))
        rt_handle = F.lower(F.regexp_extract(text, RT_PREFIX, 1))
        rt_names = F.col("parent_account_id").isNull() & (rt_handle != "") & handle(rt_handle)
        reposts = {"handle": rt_handle, "names": rt_names,
                   "copies": (text != "") & (((F.col("kind") == "repost") & account("parent_account_id")) | rt_names)}
        scrubs = self._named_in_rows(staged, conditions, account, post, hidden, handle, reposts)
        for table, condition in conditions.items():
            if table not in staged:
                continue
            dropped = self._materialise(staged[table].where(F.col("_primary") & condition).select(
                F.col("_line").alias("line_no"), F.col("_item").alias("item"), "_file"), f"suppressed-{table}")
            counts = dropped.groupBy("_file").count().collect()
            if counts:
                for file, count in counts:
                    self.files[file].rejected += count
                rejects = dropped.select("line_no", "item", F.lit(_SUPPRESSED).alias("reason"),
                                         F.lit(None).cast("string").alias("raw"), "_file")
                staged["rejects"] = staged["rejects"].select("line_no", "item", "reason", "raw", "_file") \
                    .unionByName(rejects) if "rejects" in staged else rejects
            staged[table] = staged[table].where(~condition)
        if "posts" in staged:
            staged["posts"] = self._scrub_posts(staged["posts"], scrubs, account, post, handle, reposts)
            if "observations" in staged:
                # an observation needs its post: in the lake, or in this file or an earlier one of the run
                known = staged["posts"].select("platform", "post_id", F.col("_file").alias("_post_file")).unionByName(
                    self.lake.read("posts").select("platform", "post_id", F.lit(-1).cast("bigint").alias("_post_file")))
                known = known.groupBy("platform", "post_id").agg(F.min("_post_file").alias("_post_file"))
                observations = staged["observations"].join(known, ["platform", "post_id"], "left")
                staged["observations"] = observations.where(F.col("_post_file") <= F.col("_file")).drop("_post_file")

    def _named_in_rows(self, staged: dict[str, "DataFrame"], conditions: dict[str, Any], account: Callable,
                       post: Callable, hidden: Callable, handle: Callable,
                       reposts: dict[str, Any]) -> dict[int, TextScrub]:
        """Fill ``self.suppressed`` (per file: the ids, handles, aliases, names, post ids and texts of forgotten
        people in its rows, as the DuckDB engine's ``_collect_suppressed``, and the words and handles that others'
        reposts copy of theirs, as its ``_copied_words``) in one Spark job; returns, per file, what others' texts
        lose: those texts, and the forgotten handles their posts mention or write as words."""
        from pyspark.sql import functions as F

        columns = ("platform", "account_id", "handle", "name", "post_id", "text", "alias", "actor", "mention", "word")

        def rows(frame: "DataFrame", legacy: Any = None, **values: Any) -> "DataFrame":
            flag = F.lit(False) if legacy is None else legacy
            return frame.select("_file", *[(values[c] if c in values else F.lit(None)).cast("string").alias(c)
                                           for c in columns], flag.alias("legacy"))

        parts = []
        if "accounts" in staged:
            parts.append(rows(staged["accounts"].where(conditions["accounts"]), platform=F.col("platform"),
                              account_id=F.col("account_id"), handle=F.col("handle"), name=F.col("display_name"),
                              alias=F.get_json_object("attributes", "$.instance_account_id"),
                              actor=F.get_json_object("attributes", "$.uri")))
        if "posts" in staged:
            posts = staged["posts"]
            parts.append(rows(posts.where(conditions["posts"]), platform=F.col("platform"),
                              account_id=F.col("account_id"), post_id=F.col("post_id"), text=F.col("text")))
            for column in ("parent_post_id", "root_post_id"):  # their posts that others answer or share
                parts.append(rows(posts.where(F.col(column).isNotNull()
                                              & (account("parent_account_id") | reposts["names"] | post(column))),
                                  platform=F.col("platform"), account_id=F.col("parent_account_id"),
                                  post_id=F.col(column)))
            # others' posts (the person's own are dropped first, as in the DuckDB engine): the handles they mention,
            # and their words that are handles
            others = posts.where(~conditions["posts"])
            copies = others.where(reposts["copies"])
            parts.append(rows(copies, platform=F.col("platform"), text=F.regexp_replace("text", RT_PREFIX, ""),
                              handle=F.when(reposts["handle"] != "", reposts["handle"])))
            mentioned = others.select("_file", "platform", F.explode("mentions").alias("_m")).distinct()
            parts.append(rows(mentioned.where(handle(F.col("_m"))), hidden(F.col("_m")),
                              platform=F.col("platform"), mention=F.col("_m")))
            words = F.concat(*[F.regexp_extract_all("text", F.lit(pattern), F.lit(0)) for pattern in WORD_PATTERNS])
            written = others.select("_file", "platform", F.explode(words).alias("_w")) \
                .select("_file", "platform", F.lower("_w").alias("_w")).distinct()
            parts.append(rows(written.where(handle(F.col("_w"))), hidden(F.col("_w")),
                              platform=F.col("platform"), word=F.col("_w")))
        found: dict[int, tuple[list, list]] = {}
        if parts:
            for (file, platform, account_id, handle, name, post_id, text, alias, actor, mention, word,
                 legacy) in reduce(lambda a, b: a.unionByName(b), parts).collect():
                person = self.suppressed.setdefault(file, Person())
                mentions, words = found.setdefault(file, ([], []))
                if mention is not None:
                    mentions.append((None if legacy else platform, mention))
                elif word is not None:
                    words.append((None if legacy else platform, word))
                else:
                    person.add(platform, account_id, handle, name, post_id)
                    person.aliases |= {a for a in (alias, actor) if a}
                    if text and len(text) >= MIN_POST_TEXT:
                        person.post_texts.add(text)
        self._copied_texts(staged["posts"].where(~conditions["posts"]) if "posts" in staged else None)
        scrubs = {}
        for file, (mentions, words) in found.items():
            person = self.suppressed[file]
            scrub = TextScrub.of(person.post_texts, mentions, words)
            person.handles |= {value for _, value in (*scrub.mentions, *scrub.words)}
            if scrub:
                scrubs[file] = scrub
        return scrubs

    def _copied_texts(self, others: "DataFrame | None") -> None:
        """Keep, per file, only the forgotten people's texts that others' posts of the file copy (a repost, a
        quote), as the DuckDB engine does: the others are neither scrubbed nor looked for in the archive."""
        from pyspark.sql import functions as F

        pairs = [(file, text) for file, person in sorted(self.suppressed.items()) for text in sorted(person.post_texts)]
        if not pairs:
            return
        texts = self.spark.createDataFrame(pairs, "_tfile bigint, _t string")
        copied: dict[int, set[str]] = {}
        if others is not None:
            copies = others.join(F.broadcast(texts), (F.col("_file") == F.col("_tfile"))
                                 & F.col("text").contains(F.col("_t")))
            for file, text in copies.select("_tfile", "_t").distinct().collect():
                copied.setdefault(file, set()).add(text)
        for file, person in self.suppressed.items():
            person.post_texts = copied.get(file, set())

    def _scrub_posts(self, posts: "DataFrame", scrubs: dict[int, TextScrub], account: Callable, post: Callable,
                     handle: Callable, reposts: dict[str, Any]) -> "DataFrame":
        """Others' posts lose what points at a forgotten person: the DuckDB engine's updates, in the same
        order; the JSON and regular-expression rewrites run in DuckDB on the executors (``_rewrite_in_duckdb``)
        over the posts they touch, so that both engines write the same bytes."""
        from pyspark.sql import functions as F

        null = F.lit(None).cast("string")
        parent_gone = account("parent_account_id")
        gone = {column: post(column) | parent_gone | reposts["names"] for column in ("parent_post_id", "root_post_id")}
        posts = posts.withColumn("_drop_reply", gone["parent_post_id"] | gone["root_post_id"]) \
            .withColumn("_copies", reposts["copies"])
        for column, condition in gone.items():
            posts = posts.withColumn(column, F.when(condition, null).otherwise(F.col(column)))
        posts = posts.withColumn("parent_account_id", F.when(parent_gone, null).otherwise(F.col("parent_account_id")))
        # the texts that may hold what a file's scrub replaces (Spark's lower case); DuckDB checks each again
        in_text = []
        for file, scrub in scrubs.items():
            for platform, needle, exact in scrub.needles():
                text = F.col("text") if exact else F.lower(F.col("text"))
                on_platform = F.lit(True) if platform is None else F.col("platform") == platform
                in_text.append((F.col("_file") == file) & on_platform & text.contains(needle))
        touched = F.coalesce(reduce(lambda a, b: a | b, in_text, F.col("_drop_reply") | F.col("_copies")), F.lit(False))
        rewritten = self._materialise(posts.where(touched).mapInArrow(_rewrite_in_duckdb(scrubs), posts.schema),
                                      "posts-scrubbed")
        posts = posts.where(~touched).unionByName(rewritten).drop("_drop_reply", "_copies")
        return posts.withColumn("mentions", F.filter("mentions", lambda m: ~handle(m)))

    def _typed(self, table: str, frame: "DataFrame", columns: list[str]) -> list:
        from pyspark.sql import functions as F

        return [F.expr(f"try_cast(`{c}` AS {spark_type(table, c)})").alias(c) for c in columns if c in frame.columns] \
            + [F.lit(None).cast(spark_type(table, c)).alias(c) for c in columns if c not in frame.columns]

    def rows(self, table: str, frame: "DataFrame", columns: list[str] | None = None, sub: int = 0) -> "DataFrame":
        """Typed rows with their order in the run: file, then ``sub`` (a file's staged rows 0, the links
        made after it 1), then primary rows first, then position in the file."""
        from pyspark.sql import functions as F

        columns = columns or [c for c, _ in self.specs[table] if c != "observed_at"]
        return frame.select(*self._typed(table, frame, columns), "_primary", "_seq", "_file", F.lit(sub).alias("_sub"))

    def first_rows(self, table: str, rows: "DataFrame") -> "DataFrame":
        """One row per key the lake lacks, the one a file-after-file ingest keeps; counts the stored keys.

        A file stored a key exactly when the key's first row in the run is one of its primary rows
        (the serial ingest counts a file's primary keys that neither the lake nor an earlier file had)."""
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        keys = list(store.TABLE_KEYS[table])
        present = rows.where(" AND ".join(f"`{k}` IS NOT NULL" for k in keys))
        fresh = present.join(self.lake.read(table).select(*keys), keys, "left_anti")
        order = Window.partitionBy(*keys).orderBy("_file", "_sub", F.col("_primary").desc(), "_seq")
        first = self._materialise(fresh.withColumn("_rank", F.row_number().over(order)).where("_rank = 1")
                                  .drop("_rank"), f"first-{table}")
        counts = first.where(F.col("_primary") & (F.col("_sub") == 0)).groupBy("_file").count()
        if table == "interactions":  # a key with a null part is never stored, yet the serial ingest counts it
            nulls = rows.where("_primary AND NOT (" + " AND ".join(f"`{k}` IS NOT NULL" for k in keys) + ")") \
                .select("_file", *keys).distinct().groupBy("_file").count()
            counts = counts.unionByName(nulls)
        for file, count in counts.collect():
            self.files[file].stored += count
        return first

    def link_parents(self, new_posts: "DataFrame") -> tuple["DataFrame", "DataFrame | None", "DataFrame"]:
        """As the DuckDB engine: a reply, quote or repost whose parent's author the record did not name
        gets it from the parent post (this file's or an earlier one's, either order), and the matching
        interaction. Returns (the new posts, the lake's posts that gained an author, the links), each
        link tagged with the file after which the serial ingest made it."""
        from pyspark.sql import functions as F

        needs = (F.col("parent_account_id").isNull() & F.col("parent_post_id").isNotNull()
                 & F.col("kind").isin("reply", "quote", "repost"))
        old = self.lake.read("posts")
        # parents named apart (``_pplatform``): a join of the run's posts with themselves must not
        # mistake one side's columns for the other's
        run_authors = new_posts.where("account_id IS NOT NULL").select(
            F.col("platform").alias("_pplatform"), F.col("post_id").alias("_parent"),
            F.col("account_id").alias("_author"), F.col("_file").alias("_parent_file"))
        authors = run_authors.unionByName(old.where("account_id IS NOT NULL").select(
            F.col("platform").alias("_pplatform"), F.col("post_id").alias("_parent"),
            F.col("account_id").alias("_author"), F.lit(-1).cast("bigint").alias("_parent_file")))
        parent = (F.col("platform") == F.col("_pplatform")) & (F.col("parent_post_id") == F.col("_parent"))
        joined = new_posts.join(authors, parent, "left")
        fill = needs & F.col("_author").isNotNull()
        # linked once both are in: after the later of the two files (a parent in the lake: file -1)
        linked = joined.withColumn("_link_file", F.when(fill, F.greatest("_file", "_parent_file"))
                                   .otherwise(F.col("_file"))) \
            .withColumn("parent_account_id", F.when(fill, F.col("_author")).otherwise(F.col("parent_account_id"))) \
            .drop("_pplatform", "_parent", "_author", "_parent_file")
        new_posts = self._materialise(linked, "posts-linked")

        # the lake's posts whose parent arrives in this run: they gain its author
        gained = old.where(needs).join(run_authors, parent)
        gained = self._materialise(gained.withColumn("parent_account_id", F.col("_author"))
                                   .withColumn("_link_file", F.col("_parent_file"))
                                   .drop("_pplatform", "_parent", "_author", "_parent_file"), "posts-gained")
        if not gained.limit(1).count():
            gained = None
        # the lake's posts whose parent id is a post of this run (as the serial ingest, on the id alone)
        run_ids = new_posts.groupBy(F.col("post_id").alias("_pid")).agg(F.min("_file").alias("_link_file"))
        children = old.join(run_ids, F.col("parent_post_id") == F.col("_pid")).drop("_pid")
        if gained is not None:
            children = children.join(gained.select("platform", "post_id"), ["platform", "post_id"], "left_anti")
        columns = ["platform", F.col("account_id").alias("src"), F.col("parent_account_id").alias("dst"), "kind",
                   F.expr(store.carried_interaction_post_id("p")).alias("post_id"), "created_at",
                   F.col("_link_file").alias("_file")]
        sources = [new_posts, children] + ([gained] if gained is not None else [])
        links = reduce(lambda a, b: a.unionByName(b), [s.alias("p").where(_LINKABLE).select(*columns) for s in sources])
        links = links.withColumn("_primary", F.lit(False)).withColumn("_seq", F.lit(0).cast("bigint"))
        return new_posts, gained, links

    def interaction_times(self, staged: dict[str, "DataFrame"]) -> "DataFrame | None":
        """Per interaction key, the time that the run's first reading with one gives (``_time``), as the DuckDB
        engine's ``_fill_interaction_times`` reads them: only in the files with readings of the platforms that
        leave times out (a Mastodon boost from a ``reblogged_by`` list), in file order, primary rows first.
        None when no file of the run has such readings."""
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        if "interactions" not in staged:
            return None
        rows = self.rows("interactions", staged["interactions"])
        files = [file for (file,) in rows.where(F.col("platform").isin(*store.REPOST_KEYED_BY_REPOSTED))
                 .select("_file").distinct().collect()]
        if not files:
            return None
        keys = list(store.TABLE_KEYS["interactions"])
        order = Window.partitionBy(*keys).orderBy("_file", F.col("_primary").desc(), "_seq")
        timed = rows.where(F.col("_file").isin(files) & F.col("created_at").isNotNull())
        return self._materialise(timed.withColumn("_rank", F.row_number().over(order)).where("_rank = 1")
                                 .select(*keys, F.col("created_at").alias("_time")), "interaction-times")

    @staticmethod
    def timed(frame: "DataFrame", times: "DataFrame") -> "DataFrame":
        """``frame``'s interactions, those without a time given the one ``times`` has for their key."""
        from pyspark.sql import functions as F

        return frame.join(times, list(store.TABLE_KEYS["interactions"]), "left") \
            .withColumn("created_at", F.coalesce(F.col("created_at"), F.col("_time"))).drop("_time")

    def retimed(self, times: "DataFrame") -> "tuple[DataFrame, DataFrame] | None":
        """The lake's interactions without a time that this run's readings give one (a stored time never changes):
        the rows of their partitions (one per platform) with those times, and the partitions to replace; None
        when there are none. A row given a time moves to its day's partition."""
        from pyspark.sql import functions as F

        keys = list(store.TABLE_KEYS["interactions"])
        lake = self.lake.read("interactions")
        untimed = lake.where(F.col("created_at").isNull()).join(times, keys, "left")
        platforms = [p for (p,) in untimed.where("_time IS NOT NULL").select("platform").distinct().collect()]
        if not platforms:
            return None
        rows = untimed.where(F.col("platform").isin(*platforms))
        # a key the lake also holds with a time (a rewrite killed before it deleted the old files) keeps that row alone
        twice = lake.where(F.col("created_at").isNotNull()).join(
            rows.where("_time IS NOT NULL").select(*keys), keys, "left_semi").select(*keys)
        rows = self._materialise(self.timed(rows.drop("_time").join(twice, keys, "left_anti"), times),
                                 "interactions-retimed")
        columns = column_names("interactions")
        replaced = self.spark.createDataFrame([tuple(p if c == "platform" else None for c in columns) for p in platforms],
                                              spark_schema("interactions"))
        return rows, replaced

    def merge_accounts(self, frame: "DataFrame") -> "DataFrame":
        """The accounts table after the run: per file, per column, the latest snapshot that has a
        value (nulls never win, as ``arg_max``); then folded into the lake's row file after file with
        the DuckDB engine's rule (the newer file's value unless its snapshots are older)."""
        from pyspark.sql import Window
        from pyspark.sql import functions as F

        profile = [c for c, _ in self.specs["accounts"] if c not in ("platform", "account_id", "observed_at")]
        keys = ["platform", "account_id"]
        snapshots = frame.withColumn("_obs", F.expr("try_cast(observed_at AS timestamp)"))
        snapshots = snapshots.withColumn("_ord", F.row_number().over(
            Window.partitionBy(*keys, "_file").orderBy(F.col("_obs").asc_nulls_first(), F.col("_seq"))))
        typed = dict(zip(profile, self._typed("accounts", snapshots, profile)))
        latest = [F.max_by(typed[c], F.when(typed[c].isNotNull(), F.col("_ord"))).alias(c) for c in profile]
        per_file = snapshots.groupBy(*keys, "_file").agg(*latest, F.min("_obs").alias("first_seen"),
                                                         F.max("_obs").alias("last_seen"))
        state = [*profile, "first_seen", "last_seen"]
        runs = per_file.groupBy(*keys).agg(F.sort_array(F.collect_list(F.struct("_file", *state))).alias("_files"))
        old = self.lake.read("accounts")
        joined = runs.join(old.withColumn("_old", F.lit(True)), keys, "left")
        start = F.struct(F.coalesce(F.col("_old"), F.lit(False)).alias("_old"), *[F.col(c) for c in state])

        def step(acc: "Column", new: "Column") -> "Column":
            newer = (~acc["_old"]) | new["last_seen"].isNull() | acc["last_seen"].isNull() \
                | (new["last_seen"] >= acc["last_seen"])
            return F.struct(F.lit(True).alias("_old"), *[
                F.when(newer, F.coalesce(new[c], acc[c])).otherwise(F.coalesce(acc[c], new[c])).alias(c)
                for c in profile],
                F.least(new["first_seen"], acc["first_seen"]).alias("first_seen"),
                F.greatest(new["last_seen"], acc["last_seen"]).alias("last_seen"))

        merged = joined.select(*keys, F.aggregate("_files", start, step).alias("_m")).select(
            *keys, *[F.col(f"_m.{c}").alias(c) for c in state])
        kept = old.join(runs.select(*keys), keys, "left_anti")
        return kept.unionByName(merged)

    def run(self) -> dict[str, Callable[[], None]]:
        """Map and merge; fills each file's counts and returns the writes, in the order to run them."""
        with self.phase("chunks (driver)"):
            chunks = self.write_chunks()
        partitions = max(int(self.spark.conf.get("spark.sql.shuffle.partitions")),
                         -(-self.chunk_bytes // BYTES_PER_SHUFFLE_PARTITION))
        self.spark.conf.set("spark.sql.shuffle.partitions", str(partitions))
        with self.phase("map (mapInArrow)"):
            staged = self.map(chunks)
        with self.phase("suppressions"):
            self.derive_observations(staged)
            self.apply_suppressions(staged)
        first: dict[str, DataFrame] = {}
        gained = links = None
        with self.phase("dedup posts + parent links"):
            if "posts" in staged:
                first["posts"], gained, links = self.link_parents(
                    self.first_rows("posts", self.rows("posts", staged["posts"])))
        with self.phase("dedup other tables"):
            if links is not None:
                linked = self.rows("interactions", links, sub=1)
                staged_rows = self.rows("interactions", staged["interactions"]) if "interactions" in staged else None
                first["interactions"] = self.first_rows(
                    "interactions", linked if staged_rows is None else staged_rows.unionByName(linked))
            for table in STAGED_TABLES:
                if table in staged and table not in first and table not in ("accounts", "posts"):
                    first[table] = self.first_rows(table, self.rows(table, staged[table]))
            if "accounts" in staged:
                self.first_rows("accounts", self.rows("accounts", staged["accounts"], ["platform", "account_id"]))
        retimed = None
        with self.phase("interaction times"):
            times = self.interaction_times(staged)
            if times is not None:
                if "interactions" in first:
                    first["interactions"] = self.timed(first["interactions"], times)
                retimed = self.retimed(times)
        for file in self.files:
            if file.records - file.rejected - file.stored < 0:
                raise IngestError(str(file.path), None, accounting_error(file.stored, file.records - file.rejected))
        return self._writes(staged, first, gained, retimed)

    def _writes(self, staged: dict[str, "DataFrame"], first: dict[str, "DataFrame"], gained: "DataFrame | None",
                retimed: "tuple[DataFrame, DataFrame] | None") -> dict[str, Callable[[], None]]:
        """The writes in the order that lets a re-run repair a killed one: the lake's interactions that gained
        a time first (their partitions are listed when rewritten: the run's own rows without a time must not be
        there yet), everything derived from the run's new posts (links, accounts, relinked parents) before the
        posts themselves, which stop being new once written; rejects deduplicated against the lake; ``sources``
        after all."""
        def append(table: str, frame: "DataFrame") -> Callable[[], None]:
            if table != "interactions":
                frame = frame.withColumn("source_sha256", self._sha())
            frame = frame.drop("_primary", "_seq", "_file", "_sub", "_link_file")
            # no rows, no write: Spark would leave a folder without Parquet files, which the next run cannot read
            return lambda: None if frame.isEmpty() else self.lake.append(table, frame)

        writes: dict[str, Callable[[], None]] = {}
        if retimed is not None:
            writes["interactions (partitions without a time that gained one)"] = \
                lambda: self.lake.rewrite_partitions("interactions", *retimed)
        writes.update((table, append(table, frame)) for table, frame in first.items() if table != "posts")
        if "accounts" in staged:
            writes["accounts"] = lambda: self.lake.replace("accounts", self.merge_accounts(staged["accounts"]))
        if gained is not None:
            writes["posts (day partitions that gained a parent)"] = lambda: self.lake.rewrite_partitions(
                "posts", self._relinked(gained))
        if "posts" in first:
            writes["posts"] = append("posts", first["posts"])
        if "rejects" in staged:
            keys = list(store.TABLE_KEYS["rejects"])
            rejects = staged["rejects"].select(self._sha().alias("source_sha256"), "line_no", "item", "reason", "raw")
            rejects = rejects.join(self.lake.read("rejects").select(*keys), keys, "left_anti")
            writes["rejects"] = lambda: None if rejects.isEmpty() else self.lake.append("rejects", rejects)
        return writes

    def _relinked(self, gained: "DataFrame") -> "DataFrame":
        """The lake's posts of every (platform, day) partition holding a post that gained an author."""
        from pyspark.sql import functions as F

        day = F.date_format(F.col("created_at"), "yyyy-MM-dd")
        old = self.lake.read("posts").withColumn("_day", day)
        days = gained.select(F.col("platform").alias("_dplatform"), day.alias("_dday")).distinct()
        rows = old.join(days, (F.col("platform") == F.col("_dplatform")) & F.col("_day").eqNullSafe(F.col("_dday")),
                        "left_semi")
        fills = gained.select("platform", "post_id", F.col("parent_account_id").alias("_gained"))
        rows = rows.join(fills, ["platform", "post_id"], "left").withColumn(
            "parent_account_id", F.coalesce(F.col("_gained"), F.col("parent_account_id"))).drop("_gained", "_day")
        # one row per post, should a killed rewrite have left a post twice
        return self._materialise(rows.dropDuplicates(["platform", "post_id"]), "posts-relinked")


def _suppression_hashes(ws: Workspace) -> list[str]:
    with ws.reader() as con:
        return [h for (h,) in con.execute("SELECT key_hash FROM suppressions ORDER BY key_hash").fetchall()]


def _earlier(lake: Lake) -> dict[str, tuple[int, int]]:
    """(records read, rejected) per file the lake holds, by its sha256."""
    return {sha: (int(records), int(rejected))
            for sha, records, rejected in lake.read("sources").select("sha256", "records_read", "rejected").collect()}


def _archive(ws: Workspace, path: Path, sha: str) -> Path:
    target = ws.archive_path(sha)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".incoming-{os.getpid()}-{sha}.zst")
        with open(path, "rb") as src, write_archive(partial) as dst:
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
    timings: dict[str, float] | None = None,
) -> list[IngestResult]:
    """Ingest files (or folders) into the lake in one run, with the results ``ingest_paths`` gives
    file after file into the store: same detection, same skips, same counts. The workspace lock is
    held throughout. ``timings``, when given, receives the seconds spent per phase.

    A file-level error (a bad mapping file) stops the run before anything is written to the lake."""

    specs = staging_specs()
    hashes = _suppression_hashes(ws)
    timings = {} if timings is None else timings
    shuffle_partitions = spark.conf.get("spark.sql.shuffle.partitions")
    arrow_batch = spark.conf.get("spark.sql.execution.arrow.maxRecordsPerBatch")
    results: list[IngestResult] = []
    with ws.lock():
        start = time.perf_counter()
        earlier = _earlier(lake)
        files: list[_File] = []
        order: list[tuple[Path, str, str, str, _File | None]] = []  # path, format, encoding, sha, file to map
        for path, fmt, opened, container in plan_files(paths, format_name, options, on_skip):
            sha = file_sha256(path)
            file = None
            if sha not in earlier and all(f.sha != sha for f in files):
                collected = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc).isoformat()
                file = _File(len(files), path, fmt, opened, container, sha,
                             Context(path=path, collected_at=collected, options=dict(options or {})))
                files.append(file)
            order.append((path, fmt.name, opened.encoding, sha, file))
        timings["plan and hash (driver)"] = time.perf_counter() - start
        if files:
            run = _Run(spark, lake, files, limits, specs, hashes, timings)
            # the driver compresses the archive copies while the executors work
            archiver = ThreadPoolExecutor(1, thread_name_prefix="confiance-archive")
            archives = {f.index: archiver.submit(_archive, ws, f.path, f.sha) for f in files}
            spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", str(CHUNKS_PER_ARROW_BATCH))
            try:
                writes = run.run()
                for name, write in writes.items():
                    with run.phase(f"write {name}"):
                        write()
                with run.phase("archive (driver, waited for) + sources"):
                    archived = {index: future.result() for index, future in archives.items()}
                    for index, person in run.suppressed.items():  # the raw bytes would keep what the lake dropped
                        if person.named():
                            redact_incoming_archive(archived[index], person, frozenset(hashes))
                    now = datetime.now(timezone.utc)
                    lake.append("sources", spark.createDataFrame([(
                        f.sha, str(f.path), f.fmt.name, f.opened.encoding, f.path.stat().st_size, f.records, f.stored,
                        f.records - f.rejected - f.stored, f.rejected, now, str(archived[f.index].relative_to(ws.root)),
                        False) for f in files],
                        "sha256 string, path string, format string, encoding string, size_bytes bigint, "
                        "records_read bigint, stored bigint, duplicates bigint, rejected bigint, "
                        "ingested_at timestamp, archive_path string, redacted boolean"))
            finally:
                archiver.shutdown(cancel_futures=True)
                run.cleanup()
                spark.conf.set("spark.sql.shuffle.partitions", shuffle_partitions)
                spark.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", arrow_batch)
        for path, name, encoding, sha, file in order:
            if file is not None:
                result = IngestResult(str(path), name, file.records, file.stored, file.records - file.rejected - file.stored,
                                      file.rejected, sha, encoding, notes=tuple(file.ctx.notes))
            else:  # in the lake already, or an earlier file of this run with the same bytes
                records, rejected = earlier.get(sha) or next((f.records, f.rejected) for f in files if f.sha == sha)
                result = IngestResult(str(path), name, records, 0, records - rejected, rejected, sha, encoding,
                                      already_ingested=True)
            ws.audit("ingest", sha256=result.sha256, format=result.format, records_read=result.records_read,
                     stored=result.stored, duplicates=result.duplicates, rejected=result.rejected,
                     already_ingested=result.already_ingested, engine="spark")
            if on_file_done:
                on_file_done(result)
            results.append(result)
    return results
