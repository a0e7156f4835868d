"""Ingest: detect each file's format, stream its records, map them to canonical rows, and store
them in one transaction per file. One module per format; each defines ``FORMAT``.

Public surface::

    formats()                       -> {name: Format}
    detect(path)                    -> Format name (IngestError when unknown or ambiguous)
    formats_for(paths, format_name) -> the Formats an ingest of these paths would use
    ingest_paths(ws, paths, ...)    -> list[IngestResult]
"""

from __future__ import annotations

import importlib
import pkgutil
from collections import deque
from functools import lru_cache
from pathlib import Path
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Iterable, Iterator

from confiance.errors import IngestError
from confiance.i18n import N_, Phrase
from confiance.ingest._engine import IngestResult, Staged
from confiance.ingest._format import Context, Format, Sample
from confiance.ingest._readers import DEFAULT_LIMITS, BadItem, Limits, Opened, csv_header, first_item, guess_container, sniff_encoding
from confiance.workspace import Workspace

#: files staged ahead of the one committing. A file's temporary tables fit in one DuckDB row group,
#: so its pages-to-rows SQL runs on one thread, as do its Python parts: two files staged at once keep
#: both cores busy where one left the second core waiting (see benchmarks/ingest.py)
STAGE_AHEAD = 2

__all__ = ["Format", "Sample", "Context", "IngestResult", "formats", "detect", "ingest_paths", "expand_paths", "formats_for"]


@lru_cache(maxsize=1)
def formats() -> dict[str, Format]:
    """Every format module in this package (modules whose name starts with '_' are the engine)."""
    found: dict[str, Format] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        fmt = getattr(module, "FORMAT", None)
        if isinstance(fmt, Format):
            found[fmt.name] = fmt
    return dict(sorted(found.items()))


def canonical_format_name(name: str) -> str:
    """The format called ``name`` or one of its aliases (``edgelist`` is ``edges-txt``)."""
    known = formats()
    if name in known:
        return name
    for fmt in known.values():
        if name in fmt.aliases:
            return fmt.name
    raise IngestError(name, None, Phrase(N_("unknown format; known: %(known)s"), known=", ".join(known)))


def _sample(path: Path) -> tuple[Sample, Any, str]:
    opened = sniff_encoding(path)
    container = guess_container(opened)
    try:
        first = first_item(opened, container) if container in ("jsonl", "json", "yaml", "csv") else None
    except Exception:  # detection must not crash on a broken file; ingest will report it
        first = None
    unreadable = first if isinstance(first, BadItem) else None
    header = csv_header(opened) if container == "csv" else []
    return (Sample(path, container, opened.head_text()[:65536], None if unreadable else first, header, opened.head,
                   unreadable), opened, container)


def detect(path: Path | str) -> str:
    sample, _, _ = _sample(Path(path))
    _refuse_archive(sample)
    return _pick(sample)


def _refuse_archive(sample: Sample) -> None:
    """A zip archive holds files rather than records (its bytes would be read as one odd CSV)."""
    if sample.head_text.startswith(("PK\x03\x04", "PK\x05\x06")):
        raise IngestError(str(sample.path), None, Phrase(N_("a zip archive: extract it and ingest the folder "
                                                            "(gzip, xz, bz2 and zstd files are read as they are)")))


#: Container names as a reader knows them, in the refusal of a file no format recognises.
_CONTAINER_NAMES = {"csv": N_("text read as CSV"), "jsonl": N_("JSON lines"), "json": "JSON", "yaml": "YAML",
                    "xml": "XML", "gml": "GML", "js": "JavaScript", "binary": N_("binary")}


def _seen(sample: Sample) -> Phrase:
    """What detection read, for the refusal: the container once, with its shape (column count, JSON keys),
    never the values, which may name people."""
    name = Phrase(_CONTAINER_NAMES.get(sample.container, sample.container))
    if sample.container == "csv":
        columns = len(sample.header)
        if columns == 1:
            return Phrase(N_("%(container)s, 1 column on its first line"), container=name)
        return Phrase(N_("%(container)s, %(columns)s columns on its first line"), container=name, columns=columns)
    if sample.container in ("json", "jsonl") and isinstance(sample.first, dict):
        keys = sorted(str(k) for k in sample.first)
        if not keys:
            return Phrase(N_("%(container)s, first record without keys"), container=name)
        shown = ", ".join(keys[:8]) + (", …" if len(keys) > 8 else "")
        return Phrase(N_("%(container)s, first record's keys %(keys)s"), container=name, keys=shown)
    return name


def _pick(sample: Sample) -> str:
    if not sample.head_text.strip():
        raise IngestError(str(sample.path), None, Phrase(N_("empty file: nothing to ingest")))
    scores = []
    for name, fmt in formats().items():
        if sample.container not in fmt.containers:
            continue
        try:
            score = fmt.sniff(sample)
        except Exception:
            score = 0
        if score > 0:
            scores.append((score, name))
    if not scores and sample.unreadable:  # a download cut short or a damaged file, not an unknown format
        raise IngestError(str(sample.path), sample.unreadable.line_no,
                          Phrase(N_("%(reason)s: the file looks cut short or damaged, so its format cannot be "
                                    "recognised"), reason=sample.unreadable.reason))
    if not scores:
        raise IngestError(str(sample.path), None, Phrase(N_("unrecognised format (%(seen)s); pass --format NAME "
                                                            "(see `confiance formats`)"), seen=_seen(sample)))
    scores.sort(reverse=True)
    if len(scores) > 1 and scores[0][0] == scores[1][0]:
        raise IngestError(str(sample.path), None, Phrase(N_("ambiguous format (%(first)s or %(second)s); pass --format"),
                                                        first=scores[0][1], second=scores[1][1]))
    return scores[0][1]


def expand_paths(paths: Iterable[Path | str]) -> list[tuple[Path, bool]]:
    """(file, named explicitly): folders expand to the files inside them (sorted, hidden skipped)."""
    out: list[tuple[Path, bool]] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(
                (f, False)
                for f in sorted(p.rglob("*"))
                if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts)
            )
        elif p.exists():
            out.append((p, True))
        else:
            raise IngestError(str(p), None, Phrase(N_("no such file")))
    return out


def plan_files(
    paths: Iterable[Path | str],
    format_name: str | None = None,
    options: dict[str, Any] | None = None,
    on_skip: Callable[[Path, str], None] | None = None,
) -> Iterator[tuple[Path, Format, Opened, str]]:
    """(file, format, opened file, container) for each file to ingest, lazily, on every engine.

    A file named explicitly must be readable in a known format; a file found inside a folder
    whose format is unknown (a README, say) is skipped and reported through ``on_skip``."""
    known = formats()
    format_name = canonical_format_name(format_name) if format_name else None
    for path, explicit in expand_paths(paths):
        sample, opened, container = _sample(path)
        try:
            _refuse_archive(sample)
            name = format_name or _pick(sample)
        except IngestError as exc:
            if explicit:
                raise
            if on_skip:
                on_skip(path, exc.reason)
            continue
        fmt = known[name]
        if fmt.needs_mapping and not (options or {}).get("mapping"):
            raise IngestError(str(path), None, Phrase(N_("format %(format)s needs --mapping MAPPING.yaml"), format=name))
        yield path, fmt, opened, container if container in fmt.containers else fmt.containers[0]


def formats_for(paths: Iterable[Path | str], format_name: str | None = None) -> list[Format]:
    """The formats an ingest of ``paths`` would use (detected as :func:`plan_files` does, records unread)."""
    known = formats()
    if format_name:
        return [known[canonical_format_name(format_name)]]
    chosen: dict[str, Format] = {}
    for path, explicit in expand_paths(paths):
        sample, _, _ = _sample(path)
        try:
            _refuse_archive(sample)
            name = _pick(sample)
        except IngestError:
            if explicit:
                raise
            continue
        chosen[name] = known[name]
    return list(chosen.values())


def ingest_paths(
    ws: Workspace,
    paths: Iterable[Path | str],
    *,
    format_name: str | None = None,
    options: dict[str, Any] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    on_file_start: Callable[[Path, int], Callable[[int], None]] | None = None,
    on_file_done: Callable[[IngestResult], None] | None = None,
    on_skip: Callable[[Path, str], None] | None = None,
) -> list[IngestResult]:
    """Ingest files (or folders) one transaction each, under the workspace's writer lock; the files
    and their formats are chosen by :func:`plan_files`."""
    results: list[IngestResult] = []

    def finish(staging: Future) -> None:
        result = staging.result().commit()
        ws.audit("ingest", sha256=result.sha256, format=result.format, records_read=result.records_read,
                 stored=result.stored, duplicates=result.duplicates, rejected=result.rejected,
                 already_ingested=result.already_ingested)
        if on_file_done:
            on_file_done(result)
        results.append(result)

    with ws.writer() as con, ThreadPoolExecutor(STAGE_AHEAD, thread_name_prefix="confiance-stage") as stager:
        for stale in ws.raw_dir.glob(".incoming-*"):  # left by a killed ingest; we hold the lock
            stale.unlink(missing_ok=True)
        # files i+1 .. i+STAGE_AHEAD are staged (read, mapped, in temporary tables) while file i merges
        # and commits; files commit in order
        pending: deque[Future] = deque()
        plans = plan_files(paths, format_name, options, on_skip)
        try:
            while True:
                try:
                    plan = next(plans, None)
                except BaseException:
                    while pending:  # the files before a bad one land, as in a serial ingest
                        finish(pending.popleft())
                    raise
                if plan is None:
                    break
                path, fmt, opened, container = plan
                progress = on_file_start(path, path.stat().st_size) if on_file_start else (lambda n: None)
                pending.append(stager.submit(Staged, ws, con, path, fmt, opened, container, options, limits, progress))
                if len(pending) > STAGE_AHEAD:
                    finish(pending.popleft())
            while pending:
                finish(pending.popleft())
        except BaseException:
            while pending:
                _abandon(pending.popleft())
            raise
    return results


def _abandon(staging: Future) -> None:
    """Wait for a file being staged and drop it (an earlier file failed)."""
    try:
        staging.result().abandon()
    except BaseException:  # the earlier failure is the one to report
        pass
