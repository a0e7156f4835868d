"""KPI series for ``confiance impact``: from a CSV file (read by the CLI) or from the store's ``kpis``.

Shapes of the CSV, as the ``kpi-csv`` importer reads them (:mod:`confiance.ingest.kpi`):

- wide: a time column (``date``, ``ts``, ``day``…) first, then one column per series;
- wide without a time column (``X,y``): rows are consecutive days from 2000-01-01, so index 70 and
  the date 2000-03-11 name the same point;
- long: ``series,ts,value[,unit]``, pivoted to one column per series.

Values accept decimal commas and thousands grouping; an empty cell is a missing value. Errors name
the file, the line and the column.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Sequence

import duckdb
import numpy as np

from confiance.errors import ConfianceError, IngestError, RecordError
from confiance.ingest._format import parse_timestamp
from confiance.ingest._tables import decimal
from confiance.ingest.kpi import INDEX_EPOCH, SERIES, TIME, VALUE, is_long_header

__all__ = ["KpiTable", "read_kpi_csv", "kpi_table", "resolve_intervention", "pick_series"]

#: Names that mark the response column when --series is not given (CausalImpact's examples use y).
RESPONSE_NAMES = ("y", "response")


@dataclass
class KpiTable:
    """Aligned series: ``times`` (ISO dates or timestamps) and one float array per series."""

    times: list[str]
    columns: dict[str, np.ndarray]
    source: str

    def series(self, name: str) -> np.ndarray:
        if name not in self.columns:
            raise ConfianceError(f"{self.source}: no series {name!r}; series: {', '.join(self.columns)}")
        return self.columns[name]


def _day(text: str) -> str:
    """ISO timestamp → the date when it is midnight UTC (daily series), else the timestamp."""
    return text[:10] if text[10:].startswith("T00:00:00") and text.endswith(("+00:00", "Z")) else text


def read_kpi_csv(path: Path) -> KpiTable:
    """Read a KPI CSV (see the module docstring); raises :class:`IngestError` naming file and line."""
    name = str(path)
    try:
        handle = open(path, encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise IngestError(name, None, f"cannot read: {exc.strerror or exc}") from None
    with handle:
        sample = handle.read(4096)
        handle.seek(0)
        try:
            dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        rows = csv.reader(handle, dialect)
        header = next(rows, None)
        if not header or not any(h.strip() for h in header):
            raise IngestError(name, 1, "no header line")
        header = [h.strip() for h in header]
        lowered = [h.lower() for h in header]
        if is_long_header(set(lowered)):
            return _read_long(name, rows, lowered)
        return _read_wide(name, rows, header, lowered)


def _number(name: str, line: int, column: str, cell: str) -> float:
    try:
        value, _ = decimal(cell, f"column {column!r}")
    except RecordError as exc:
        raise IngestError(name, line, str(exc)) from None
    return np.nan if value is None else value


def _time(name: str, line: int, column: str, cell: str) -> str:
    try:
        return _day(parse_timestamp(cell.strip(), required=True))  # type: ignore[arg-type]
    except RecordError as exc:
        raise IngestError(name, line, f"column {column!r}: {exc}") from None


def _read_wide(name: str, rows, header: list[str], lowered: list[str]) -> KpiTable:
    has_time = lowered[0] in TIME or lowered[0] == ""
    value_columns = header[1:] if has_time else header
    if not value_columns:
        raise IngestError(name, 1, "no series column besides the time column")
    times: list[str] = []
    values: list[list[float]] = []
    for index, row in enumerate(rows):
        line = index + 2
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise IngestError(name, line, f"{len(row)} cells, the header has {len(header)}")
        cells = row[1:] if has_time else row
        if has_time:
            times.append(_time(name, line, header[0], row[0]) if lowered[0] != "" else row[0].strip())
        else:
            times.append((INDEX_EPOCH + timedelta(days=len(times))).date().isoformat())
        try:
            values.append([_number(name, line, column, cell) for column, cell in zip(value_columns, cells)])
        except IngestError:
            named = [column for column in value_columns if column.lower() in SERIES]
            if named and any(h in TIME for h in lowered):  # a long file whose value column is missing
                raise IngestError(name, 1, f"column {named[0]!r} holds series names but there is no "
                                           f"{' or '.join(VALUE)} column (long shape: series,ts,value)") from None
            raise
    if not values:
        raise IngestError(name, None, "no data rows")
    matrix = np.array(values, dtype=float)
    return KpiTable(times, {column: matrix[:, j] for j, column in enumerate(value_columns)}, name)


def _read_long(name: str, rows, lowered: list[str]) -> KpiTable:
    at = {key: next(i for i, h in enumerate(lowered) if h in names)
          for key, names in (("series", SERIES), ("ts", TIME), ("value", VALUE))}
    points: dict[str, dict[str, float]] = {}
    for index, row in enumerate(rows):
        line = index + 2
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < len(lowered):
            raise IngestError(name, line, f"{len(row)} cells, the header has {len(lowered)}")
        series = row[at["series"]].strip()
        if not series:
            raise IngestError(name, line, "series name is empty")
        when = _time(name, line, lowered[at["ts"]], row[at["ts"]])
        value = _number(name, line, series, row[at["value"]])
        seen = points.setdefault(series, {})
        if when in seen and not (seen[when] == value or (np.isnan(seen[when]) and np.isnan(value))):
            raise IngestError(name, line, f"series {series!r} has two values at {when}: {seen[when]:g} and {value:g}")
        seen[when] = value
    if not points:
        raise IngestError(name, None, "no data rows")
    return _aligned(points, name)


def _aligned(points: dict[str, dict[str, float]], source: str) -> KpiTable:
    """Series in the order of ``points`` (a file's order: its first series is the default response)."""
    times = sorted({t for series in points.values() for t in series})
    return KpiTable(times, {s: np.array([v.get(t, np.nan) for t in times]) for s, v in points.items()}, source)


def kpi_table(con: duckdb.DuckDBPyConnection, series: Sequence[str]) -> KpiTable:
    """The named series of the store's ``kpis`` table, aligned on the union of their times."""
    rows = con.execute("SELECT series, ts, value FROM kpis WHERE list_contains(?::VARCHAR[], series) ORDER BY ts",
                       [list(series)]).fetchall()
    points: dict[str, dict[str, float]] = {name: {} for name in series}
    for name, ts, value in rows:
        points.setdefault(name, {})[_day(ts.isoformat() if isinstance(ts, datetime) else str(ts))] = float(value)
    missing = [s for s in series if not points[s]]
    if missing:
        known = [r[0] for r in con.execute("SELECT DISTINCT series FROM kpis ORDER BY 1").fetchall()]
        raise ConfianceError(f"no KPI series {', '.join(map(repr, missing))} in the workspace; "
                             f"series: {', '.join(known) or 'none (ingest a KPI CSV first)'}")
    return _aligned(points, "kpis table")


def resolve_intervention(table: KpiTable, value: str) -> int:
    """An index (``70``) or a date/time (``2025-03-31``): the first point at or after it."""
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        index = int(text)
        if not 0 < index < len(table.times):
            raise ConfianceError(f"--intervention {index} is outside 1..{len(table.times) - 1} "
                                 f"({len(table.times)} points in {table.source})")
        return index
    try:
        when = _day(parse_timestamp(text, required=True))  # type: ignore[arg-type]
    except RecordError:
        raise ConfianceError(f"--intervention {text!r} is neither an index nor a date") from None
    after = [i for i, t in enumerate(table.times) if t >= when]
    if not after or after[0] == 0:
        raise ConfianceError(f"--intervention {text} leaves no pre-period or no post-period in {table.source} "
                             f"({table.times[0]} to {table.times[-1]})")
    return after[0]


def pick_series(table: KpiTable, series: str | None, controls: Sequence[str] | None) -> tuple[str, list[str]]:
    """The response (``series``, else a column named y/response, else the first: CausalImpact's
    convention) and the controls (given, else every other series)."""
    names = list(table.columns)
    if series is None:
        series = next((n for n in names if n.lower() in RESPONSE_NAMES), names[0])
    table.series(series)
    chosen = list(controls) if controls is not None else [n for n in names if n != series]
    for name in chosen:
        table.series(name)
    if series in chosen:
        raise ConfianceError(f"series {series!r} cannot be its own control")
    return series, chosen
