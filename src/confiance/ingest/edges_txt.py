"""Header-less edge lists, one edge a line: ``source target [value [timestamp]]`` (SNAP, KONECT, IM
benchmarks such as NetHEPT, Garimella's retweet graphs).

Fields are separated by whitespace, or by commas when the line has any. Lines starting with ``#`` or
``%`` are comments (SNAP, KONECT), and so is a first line naming the columns (``source target``,
``from to``, ``src dst``: the names the edge-list CSV accepts). Each remaining line is one record: an
interaction (primary) and account rows for both ends; defaults as for every edge format (platform
``graph``, kind ``follow``; options ``platform``, ``kind``).

Quirks handled:

- an ``n m`` first line (NetHEPT: ``15229 62752``) is a size header, not an edge, when the file then
  holds exactly ``m`` edge lines; it is held back until the end to decide, and stored as an edge
  otherwise;
- the third column means different things in different files. Option ``third_column`` =
  ``weight`` | ``probability`` | ``timestamp`` says which; without it, the first 1,000 edges decide:
  all numbers in [0, 1] with at least one strictly between → ``probability`` (NetHEPT's weighted
  cascade), all numbers otherwise → ``weight`` (retweet counts, follow ``1.0``), else ``timestamp``;
- a fourth column is a timestamp (KONECT ``weight time``).
"""

from __future__ import annotations

import re
from typing import Any, Iterator

from confiance.errors import RecordError
from confiance.ingest._format import Context, Format, Sample
from confiance.ingest._graphs import emit_edge
from confiance.ingest._readers import BadItem, Item, Limits, Opened, Progress, bounded_lines
from confiance.ingest._sink import Sink
from confiance.ingest.edges_csv import SOURCE_NAMES, TARGET_NAMES

_GUESS_LINES = 1000
_THIRD = ("weight", "probability", "timestamp")
_INT = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _fields(line: str) -> list[str]:
    return [f.strip() for f in line.split(",")] if "," in line else line.split()


def _is_column_header(fields: list[str]) -> bool:
    return len(fields) >= 2 and fields[0].lower() in SOURCE_NAMES and fields[1].lower() in TARGET_NAMES


def _guess_third(lines: list[list[str]]) -> str:
    values = [f[2] for f in lines if len(f) >= 3]
    if not values:
        return "weight"
    if not all(_NUMBER.fullmatch(v) for v in values):
        return "timestamp"
    numbers = [float(v) for v in values]
    if all(0.0 <= x <= 1.0 for x in numbers) and any(0.0 < x < 1.0 for x in numbers):
        return "probability"
    return "weight"


def read_edge_lines(opened: Opened, limits: Limits, progress: Progress) -> Iterator[Item | BadItem]:
    held_header: tuple[int, list[str]] | None = None
    pending: list[tuple[int, list[str]]] = []  # buffered until the third column is guessed
    third: str | None = None
    edges = 0
    named = False
    for entry in bounded_lines(opened, limits, progress):
        if isinstance(entry, BadItem):
            yield entry
            continue
        line_no, raw = entry
        text = raw.decode("utf-8", errors="replace").lstrip("\ufeff")
        if not text or text[0] in "#%":
            continue
        fields = _fields(text)
        if edges == 0 and not pending and held_header is None and not named and _is_column_header(fields):
            named = True  # then the next line is an edge, not an 'n m' size line
            continue
        if held_header is None and not named and edges == 0 and not pending and len(fields) == 2 and all(_INT.fullmatch(f) for f in fields):
            held_header = (line_no, fields)
            continue
        edges += 1
        if third is None:
            pending.append((line_no, fields))
            if len(pending) >= _GUESS_LINES:
                third = _guess_third([f for _, f in pending])
                yield from (Item(n, {"fields": f, "third": third}) for n, f in pending)
                pending.clear()
        else:
            yield Item(line_no, {"fields": fields, "third": third})
    if third is None:
        third = _guess_third([f for _, f in pending])
        yield from (Item(n, {"fields": f, "third": third}) for n, f in pending)
    if held_header is not None and int(held_header[1][1]) != edges:
        yield Item(held_header[0], {"fields": held_header[1], "third": third})


def map_edge_line(record: Any, sink: Sink, ctx: Context) -> None:
    fields = record["fields"]
    if not 2 <= len(fields) <= 4:
        raise RecordError(f"expected 'source target [value [timestamp]]', found {len(fields)} fields")
    third = str(ctx.options.get("third_column") or record["third"])
    if third not in _THIRD:
        raise RecordError(f"option third_column must be one of {', '.join(_THIRD)}")
    columns: dict[str, Any] = {}
    if len(fields) >= 3:
        columns["created_at" if third == "timestamp" else third] = fields[2]
    if len(fields) == 4:
        columns["created_at"] = fields[3]
    emit_edge(sink, ctx, fields[0], fields[1], **columns)


def sniff(sample: Sample) -> int:
    """Every data line in the sample has 2-4 fields; ids are integers in two-column files, and the
    third column is a number (so 'id label' files such as bot-label TSVs do not match). Two integer
    columns where every first value is new and second values repeat a lot are more likely
    'node class' labels: a low score, so a labels format wins if one claims the file."""
    lines = sample.head_text.split("\n")
    if len(sample.head_text) >= 65536 and len(lines) > 1:
        lines = lines[:-1]  # the sample may end mid-line
    data = [_fields(l.strip()) for l in lines[:200] if l.strip() and l.strip()[0] not in "#%"]
    named = bool(data) and _is_column_header(data[0])
    if named:
        data = data[1:]
    if not data:
        return 0
    size_header = not named and len(data) > 1 and len(data[0]) == 2 and all(_INT.fullmatch(x) for x in data[0])
    body = data[1:] if size_header else data
    widths = {len(f) for f in body}
    if len(widths) != 1 or any(" " in x or not x for f in body for x in f):
        return 0
    width = widths.pop()
    if 3 <= width <= 4 and all(_NUMBER.fullmatch(f[2]) for f in body):
        return 50 if all(_INT.fullmatch(x) for f in body for x in f[:2]) else 35
    if width == 2 and all(_INT.fullmatch(x) for f in body for x in f):
        sources = {f[0] for f in body}
        if len(body) >= 8 and len(sources) == len(body) and len({f[1] for f in body}) * 4 <= len(body):
            return 10  # 'node label' files (bot labels, department labels) look the same: yield to any claim
        return 50
    return 0


FORMAT = Format(
    name="edges-txt",
    description="header-less edge list, 'source target [value [time]]' per line (SNAP, KONECT, NetHEPT)",
    containers=("csv",),
    sniff=sniff,
    map=map_edge_line,
    read=read_edge_lines,
    aliases=("edgelist",),
    options=('third_column', 'platform', 'kind'),
)
