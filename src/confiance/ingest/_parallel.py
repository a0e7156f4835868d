"""Map large JSON-lines files in worker processes.

The parent reads lines (cheap) and stages Arrow batches into DuckDB; workers parse JSON and run
the format's mapper (the costly, pure-Python part), one chunk of lines at a time, in file order.
Workers are spawned, not forked (the parent holds DuckDB and Arrow thread pools), once per process
and reused for every file of an ingest.
"""

from __future__ import annotations

import atexit
import multiprocessing
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Iterable, Iterator

import pyarrow as pa

from confiance.ingest._format import Context
from confiance.ingest._readers import BadItem, Item, Limits, line_chunks, parse_json_line

CHUNK_BYTES = 4 << 20
_pool: ProcessPoolExecutor | None = None
_pool_size = 0


@dataclass(frozen=True)
class _Job:
    format_name: str
    specs: dict
    required: dict
    ctx: Context
    limits: Limits


#: A chunk's records, rejects, batches per table and what its context found (``Context.findings``).
Mapped = tuple[int, int, list[tuple[str, pa.Table]], tuple[list[str], dict] | None]


def _map_chunk(job: _Job, seq_base: int, lines: list) -> Mapped:
    from confiance.ingest import formats
    from confiance.ingest._engine import map_units
    from confiance.ingest._sink import Sink

    units: list[Item | BadItem] = [
        entry if isinstance(entry, BadItem) else parse_json_line(entry[0], entry[1], job.limits) for entry in lines
    ]
    sink = Sink(job.specs, job.required, job.ctx.collected_at)
    ctx = job.ctx.part()
    records, rejected = map_units(units, formats()[job.format_name], sink, ctx, job.limits, seq_base)
    return records, rejected, list(sink.drain()), ctx.findings()


def _workers(size: int) -> ProcessPoolExecutor:
    global _pool, _pool_size
    if _pool is None or _pool_size != size:
        shutdown()
        _pool = ProcessPoolExecutor(max_workers=size, mp_context=multiprocessing.get_context("spawn"))
        _pool_size = size
    return _pool


@atexit.register
def shutdown() -> None:
    global _pool
    if _pool is not None:
        _pool.shutdown(cancel_futures=True)
        _pool = None


def map_file(format_name: str, specs: dict, ctx: Context, limits: Limits,
             lines: Iterable[tuple[int, bytes] | BadItem], workers: int) -> Iterator[Mapped]:
    """Yield (records, rejected, [(table, batch)], findings) per chunk, in file order."""
    from confiance.ingest._engine import STAGED_TABLES, _required

    job = _Job(format_name, specs, {t: _required(t) for t in STAGED_TABLES}, ctx, limits)
    pool = _workers(workers)
    pending: deque[Future] = deque()
    try:
        for index, chunk in enumerate(line_chunks(lines, CHUNK_BYTES)):
            pending.append(pool.submit(_map_chunk, job, index << 32, chunk))
            while len(pending) > 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()
