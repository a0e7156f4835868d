"""Map a large JSON-lines file in worker processes.

The parent reads lines (cheap) and stages Arrow batches into DuckDB; workers parse JSON and run
the format's mapper (the costly, pure-Python part), one chunk of lines at a time, in order.
Workers are spawned, not forked: the parent holds DuckDB and Arrow thread pools.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Iterable, Iterator

import pyarrow as pa

from confiance.ingest._format import Context
from confiance.ingest._readers import BadItem, Item, Limits, parse_json_line

CHUNK_BYTES = 4 << 20
_worker: dict[str, Any] = {}


def _init(format_name: str, specs: dict, required: dict, ctx: Context, limits: Limits) -> None:
    from confiance.ingest import formats
    from confiance.ingest._sink import Sink

    _worker.update(fmt=formats()[format_name], specs=specs, required=required, ctx=ctx, limits=limits, Sink=Sink)


def _map_chunk(seq_base: int, lines: list[tuple[int, bytes] | BadItem]) -> tuple[int, int, list[tuple[str, pa.Table]]]:
    from confiance.ingest._engine import map_units

    limits: Limits = _worker["limits"]
    units: list[Item | BadItem] = [
        entry if isinstance(entry, BadItem) else parse_json_line(entry[0], entry[1], limits) for entry in lines
    ]
    sink = _worker["Sink"](_worker["specs"], _worker["required"], _worker["ctx"].collected_at)
    records, rejected = map_units(units, _worker["fmt"], sink, _worker["ctx"], limits, seq_base)
    return records, rejected, list(sink.drain())


def _chunks(lines: Iterable[tuple[int, bytes] | BadItem]) -> Iterator[list[tuple[int, bytes] | BadItem]]:
    chunk: list[tuple[int, bytes] | BadItem] = []
    size = 0
    for entry in lines:
        chunk.append(entry)
        size += 256 if isinstance(entry, BadItem) else len(entry[1])
        if size >= CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def map_file(format_name: str, specs: dict, ctx: Context, limits: Limits,
             lines: Iterable[tuple[int, bytes] | BadItem], workers: int | None = None) -> Iterator[tuple[int, int, list[tuple[str, pa.Table]]]]:
    """Yield (records, rejected, [(table, batch)]) per chunk, in file order."""
    from confiance.ingest._engine import STAGED_TABLES, _required, parallel_workers

    workers = workers or parallel_workers()
    required = {t: _required(t) for t in STAGED_TABLES}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init,
                             initargs=(format_name, specs, required, ctx, limits)) as pool:
        pending: deque[Future] = deque()
        for index, chunk in enumerate(_chunks(lines)):
            pending.append(pool.submit(_map_chunk, index << 32, chunk))
            while len(pending) > 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
