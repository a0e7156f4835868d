"""The loop every collector shares: pull pages from tasks, commit each, respect the limits, ingest."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol

from confiance.collect._journal import Journal
from confiance.collect.config import Limits
from confiance.ingest import IngestResult, ingest_paths
from confiance.workspace import Workspace


@dataclass
class Page:
    """What one request (or one firehose flush) gives: lines for the raw chunk and the cursor after it."""

    kind: str  # chunk kind (see _journal.CHUNK_KINDS)
    data: bytes  # whole lines, each ending with a newline; b"" when the page held nothing to keep
    items: int
    state: dict  # the task's state once this page is durable
    stopped: str | None = None  # set on a task's last page when it ends early: why (no personal data)
    file: Path | None = None  # a whole downloaded file (Journal.spool_path) instead of lines
    side: bool = False  # about items of the task's earlier pages (engagers): outside max_pages / max_posts
    continues: bool = False  # side pages follow: a limit reached on this page waits for them


class Task(Protocol):
    key: str  # stable across runs: the state is stored under it
    label: str  # shown in progress and summaries: never personal data ("author feed #2")
    paged: bool  # False for a stream: its flushes do not count against max_pages

    def pages(self, state: dict) -> Iterator[Page]: ...


@dataclass
class TaskSummary:
    label: str
    pages: int = 0
    items: int = 0
    stopped: str = "exhausted"  # exhausted | max_pages | max_posts | duration | a task's own reason
    side_pages: int = 0  # of ``pages``: side pages (engagers of the task's statuses)
    side_items: int = 0  # of ``items``: what the side pages held


@dataclass
class CollectResult:
    name: str
    platform: str
    tasks: list[TaskSummary] = field(default_factory=list)
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    waited_s: float = 0.0
    skipped: int = 0  # optional lists the server refused (401/404): engagers of a status, a follow list
    ingested: list[IngestResult] = field(default_factory=list)
    pending_files: int = 0

    @property
    def pages(self) -> int:
        return sum(t.pages for t in self.tasks)

    @property
    def items(self) -> int:
        return sum(t.items for t in self.tasks)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "platform": self.platform, "pages": self.pages, "items": self.items,
            "requests": self.requests, "retries": self.retries, "rate_limited": self.rate_limited,
            "waited_s": round(self.waited_s, 3), "skipped": self.skipped, "tasks": [asdict(t) for t in self.tasks],
            "ingested": [r.as_json() for r in self.ingested], "pending_files": self.pending_files,
        }


#: progress callback: (task label, pages of the task so far, items of the task so far)
Progress = Callable[[str, int, int], None]


def run_tasks(journal: Journal, tasks: list[Task], limits: Limits, result: CollectResult,
              on_page: Progress | None = None) -> None:
    """Run each task until it is exhausted or hits ``max_pages`` / ``max_posts`` for this run.

    Side pages count in the summary but not against the limits; once a limit is reached, the side
    pages that the last page announced (``continues``) are still taken, so that the engagers of the
    statuses just written are not left to the next run."""
    for task in tasks:
        summary = TaskSummary(task.label)
        result.tasks.append(summary)
        pages = task.pages(journal.task_state(task.key))
        try:
            for page in pages:
                if page.file is not None:
                    journal.commit_file(page.kind, page.file, task.key, page.state)
                else:
                    journal.commit_page(page.kind, page.data, task.key, page.state)
                summary.pages += 1
                summary.items += page.items
                if page.side:
                    summary.side_pages += 1
                    summary.side_items += page.items
                if on_page:
                    on_page(task.label, summary.pages, summary.items)
                if page.stopped:
                    summary.stopped = page.stopped
                    break
                if summary.stopped == "exhausted":
                    if task.paged and summary.pages - summary.side_pages >= limits.max_pages:
                        summary.stopped = "max_pages"
                    elif summary.items - summary.side_items >= limits.max_posts:
                        summary.stopped = "max_posts"
                if summary.stopped != "exhausted" and not page.continues:
                    break
        finally:
            pages.close()  # a stream task closes its connection


def ingest_ready(ws: Workspace, journal: Journal,
                 on_file_done: Callable[[IngestResult], None] | None = None) -> list[IngestResult]:
    """Ingest the closed chunks (one transaction each; archived in ``raw/``) and drop the copies."""
    results = []
    for path, format_name in journal.ready_files():
        for result in ingest_paths(ws, [path], format_name=format_name):
            results.append(result)
            if on_file_done:
                on_file_done(result)
        journal.mark_ingested(Path(path))
    return results
