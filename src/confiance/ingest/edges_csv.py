"""Edge-list CSV with a header row (Gephi edge tables, hand-made lists, exports of other tools).

Columns, matched case-insensitively: source ``source|src|from``, target ``target|dst|to`` (required);
optional ``weight``, ``probability`` (or ``prob``, ``p``), ``kind`` (interaction kind), ``post_id``,
``timestamp`` (or ``created_at``, ``time``, ``date``), ``platform``. Other columns (Gephi's ``Id``,
``Label``, ``Type`` = Directed/Undirected…) are ignored: the interactions table has no place for them.

Each row is one record: an interaction (primary) plus account rows for both ends. Defaults: platform
``graph`` (option ``platform``), kind ``follow`` (option ``kind``), because edge files are most often
follower/friend graphs; pass ``kind=mention`` or ``repost`` for other graphs. The delimiter
(``,`` ``;`` tab ``|``) and encoding are detected by the CSV reader; decimal commas are accepted.
"""

from __future__ import annotations

from typing import Any

from confiance.errors import RecordError
from confiance.ingest._format import Context, Format, Sample
from confiance.ingest._graphs import emit_edge
from confiance.ingest._sink import Sink

SOURCE_NAMES = ("source", "src", "from")
TARGET_NAMES = ("target", "dst", "to")
_OPTIONAL = {
    "weight": ("weight",),
    "probability": ("probability", "prob", "p"),
    "kind": ("kind",),
    "post_id": ("post_id",),
    "created_at": ("timestamp", "created_at", "time", "date"),
    "platform": ("platform",),
}
_KNOWN = set(SOURCE_NAMES) | set(TARGET_NAMES) | {n for names in _OPTIONAL.values() for n in names} | {"id", "label", "type"}


def _column(row: dict[str, Any], names: tuple[str, ...]) -> Any:
    lowered = {k.strip().lower(): v for k, v in row.items()}
    return next((lowered[n] for n in names if n in lowered), None)


def map_edge_row(row: Any, sink: Sink, ctx: Context) -> None:
    if not isinstance(row, dict):
        raise RecordError("expected a CSV row")
    source = _column(row, SOURCE_NAMES)
    target = _column(row, TARGET_NAMES)
    if source in (None, "") or target in (None, ""):
        raise RecordError("edge needs both a source and a target")
    fields = {name: _column(row, names) for name, names in _OPTIONAL.items()}
    emit_edge(sink, ctx, source, target, **fields)


def sniff(sample: Sample) -> int:
    header = {h.strip().lower() for h in sample.header}
    if not (header & set(SOURCE_NAMES) and header & set(TARGET_NAMES)):
        return 0
    return 70 if header <= _KNOWN else 45


FORMAT = Format(
    name="edges-csv",
    description="edge list CSV with a header (source,target[,weight,probability,kind,timestamp,platform])",
    containers=("csv",),
    sniff=sniff,
    map=map_edge_row,
    options=('platform', 'kind'),
)
