"""Live collectors for Bluesky and Mastodon: public APIs to raw files to the store.

Public surface::

    load_config(path, platform=None)          -> CollectConfig (CollectConfigError names file and field)
    collect(ws, config, *, ingest=True, ...)  -> CollectResult

A collection is named (``name`` in its YAML, else the file stem). Its raw pages go to
``WORKSPACE/collect/<name>/`` in the formats the importers read, its cursors to
``WORKSPACE/collect/<name>.state.json``; a collector killed at any point starts again where it
stopped, with no page written twice (see ``_journal``). Closed raw files are ingested with
:func:`confiance.ingest.ingest_paths` (archived in ``raw/``, then removed from ``collect/``).
"""

from __future__ import annotations

from typing import Any, Callable

import httpx

from confiance.collect._http import Clock, FakeClock, SystemClock
from confiance.collect._journal import CheckpointHook, Journal
from confiance.collect._runner import CollectResult, Progress, TaskSummary, ingest_ready, run_tasks
from confiance.collect.config import CollectConfig, CollectConfigError, CollectError, Limits, load_config, parse_config
from confiance.ingest import IngestResult
from confiance.workspace import Workspace

__all__ = [
    "CollectConfig", "CollectConfigError", "CollectError", "CollectResult", "Limits", "TaskSummary",
    "Clock", "FakeClock", "SystemClock", "collect", "load_config", "parse_config",
]


def collect(
    ws: Workspace,
    config: CollectConfig,
    *,
    ingest: bool = True,
    clock: Clock | None = None,
    seed: int = 0,
    transport: httpx.BaseTransport | None = None,
    connect: Callable[..., Any] | None = None,
    resolve: Callable[[str], list[str]] | None = None,
    on_page: Progress | None = None,
    on_ingested: Callable[[IngestResult], None] | None = None,
    checkpoint_hook: CheckpointHook | None = None,
) -> CollectResult:
    """Run every task of ``config`` once, then (with ``ingest``) ingest what was collected.

    Parameters
    ----------
    ws
        The workspace (raw files, state and store).
    config
        From :func:`load_config`.
    ingest
        Ingest the closed raw files (also those an earlier run left) after collecting.
    clock, seed
        Time and sleep (every wait goes through it) and the backoff jitter's seed.
    transport, connect
        An ``httpx`` transport and a WebSocket ``connect`` to replace the network (tests).
    resolve
        Host name to its IP addresses, for the private-address check of repository hosts (tests);
        default: the system resolver.
    on_page, on_ingested
        Progress callbacks: (task label, task pages, task items) after each committed page;
        each ingest result.
    checkpoint_hook
        Called with ("written" | "committed", pages committed) around each page commit (tests).

    Returns
    -------
    CollectResult
        Counts per task, requests, retries, 429s, seconds waited, lists skipped (401/404), ingest results.
    """
    from confiance.collect import bluesky, mastodon

    clock = clock or SystemClock()
    journal = Journal(ws, config.name, config.platform, chunk_pages=config.limits.chunk_pages,
                      checkpoint_hook=checkpoint_hook)
    if config.platform == "bluesky":
        tasks, apis = bluesky.build_tasks(config, clock=clock, transport=transport, connect=connect, seed=seed,
                                          spool=journal.spool_path("repo"), resolve=resolve)
    else:
        tasks, apis = mastodon.build_tasks(config, clock=clock, transport=transport, seed=seed)
    result = CollectResult(config.name, config.platform)
    try:
        with journal:
            try:
                run_tasks(journal, tasks, config.limits, result, on_page)
            finally:
                for api in apis:
                    result.requests += api.stats.requests
                    result.retries += api.stats.retries
                    result.rate_limited += api.stats.rate_limited
                    result.waited_s += api.stats.waited_s
                    result.skipped += api.stats.skipped
                result.retries += sum(getattr(task, "reconnects", 0) for task in tasks)
                ws.audit("collect", platform=config.platform, name=config.name, pages=result.pages,
                         items=result.items, requests=result.requests, retries=result.retries,
                         rate_limited=result.rate_limited, skipped=result.skipped)
            journal.close_chunks()
            if ingest:
                result.ingested = ingest_ready(ws, journal, on_ingested)
            result.pending_files = len(journal.ready_files())
    finally:
        for api in apis:
            api.client.close()
    return result
