"""Campaign KPI series as CSV (web analytics, sales, sign-up exports; causal-impact inputs).

Three shapes, told apart by the header (names case-insensitive):

- long: ``series,ts,value[,unit]`` (``metric`` or ``kpi`` for series; ``date``, ``day``, ``time``,
  ``timestamp`` for ts; ``valeur`` for value): one record per row;
- wide: a time column (``date``, ``ts``, ``day``, ``week``, ``month``, ``period``…) and one column per
  series: one record per non-empty cell, series = column name (an empty cell is no observation);
- wide without a time column (causal-impact test data such as ``X,y``): rows are consecutive days,
  ``ts`` = 2000-01-01 UTC + row index (0-based) days, so ``impact --intervention 70`` and the date
  2000-03-11 name the same point.

Values accept decimal commas, thousands grouping and a trailing ``%`` (unit ``%`` then, unless a unit
column says otherwise). Timestamps: ISO dates/times, ``YYYY-MM`` (first of the month), epoch seconds,
``dd/mm/yyyy`` when option ``dayfirst`` is true, or, without the option, when a date of the file has
a day above 12 in first place and none has one in second place (a French export: one reading for the
whole file, so ``05/11`` and ``13/11`` fall in the same month); else ``mm/dd/yyyy`` first, as
``parse_timestamp`` does. An unreadable ts or a non-numeric value rejects its record (``kpis.ts`` is
NOT NULL).
Natural key (series, ts): a repeated point is a duplicate.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

from confiance.errors import RecordError
from confiance.ingest._format import (SLASH_DATE, Context, DatedRow, Format, Sample, csv_with_slash_dates,
                                     parse_day_first, parse_timestamp)
from confiance.ingest._sink import Sink
from confiance.ingest._tables import cell, decimal, has_any, lowered

SERIES = ("series", "metric", "kpi")
TIME = ("ts", "date", "day", "time", "timestamp", "datetime", "week", "month", "period", "jour", "semaine", "mois")
VALUE = ("value", "valeur")
UNIT = ("unit", "unite", "unité")
INDEX_EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)
_ID_LIKE = re.compile(r"(^|_)(id|user|account|handle|author|name)($|_)")
_MONTH = re.compile(r"\d{4}-\d{2}")


def is_long_header(header: set[str]) -> bool:
    """A long KPI file's header (lower-case names): a series, a time and a value column."""
    return has_any(header, SERIES) and has_any(header, TIME) and has_any(header, VALUE)


def _time_cells(row: dict[str, str]) -> list[str | None]:
    return [cell(lowered(row), TIME)]


def records(unit: Any, ctx: Context) -> Iterator[dict[str, Any]]:
    if not isinstance(unit, DatedRow):
        raise RecordError("expected a CSV row")
    row = lowered(unit.row)
    day_first = unit.day_first
    if is_long_header(set(row)):
        yield {"series": cell(row, SERIES), "ts": cell(row, TIME), "value": cell(row, VALUE), "unit": cell(row, UNIT),
               "day_first": day_first}
        return
    time_column = next((name for name in TIME if name in row), None)
    if time_column is None:
        when: Any = INDEX_EPOCH + timedelta(days=unit.index)
    else:
        when = row[time_column]
    for name, value in unit.row.items():
        series = str(name).strip()
        if series.lower() == time_column or value is None or not str(value).strip():
            continue
        yield {"series": series, "ts": when, "value": value, "unit": None, "day_first": day_first}


def _timestamp(value: Any, ctx: Context, day_first_file: bool = False) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value or "").strip()
    if _MONTH.fullmatch(text):
        text += "-01"
    if SLASH_DATE.fullmatch(text) and ctx.options.get("dayfirst", day_first_file):
        return parse_day_first(text)
    return parse_timestamp(text, required=True)  # type: ignore[return-value]


def map_point(point: dict[str, Any], sink: Sink, ctx: Context) -> None:
    if not point.get("series"):
        raise RecordError("KPI series name is missing")
    value, percent = decimal(point.get("value"), f"value of {point['series'][:40]}")
    if value is None:
        raise RecordError("KPI value is missing")
    sink.kpi(
        primary=True,
        series=point["series"],
        ts=_timestamp(point.get("ts"), ctx, point.get("day_first", False)),
        value=value,
        unit=point.get("unit") or ("%" if percent else None),
    )


def _numeric(value: Any) -> bool:
    try:
        return decimal(value, "")[0] is not None
    except RecordError:
        return False


def sniff(sample: Sample) -> int:
    header = [h.strip().lower() for h in sample.header]
    while header and not header[-1]:
        header.pop()  # a separator at the end of every line (spreadsheet exports) names no column
    names = set(header)
    if not header or not all(header):
        return 0
    if is_long_header(names):
        return 85
    first = lowered(sample.first) if isinstance(sample.first, dict) else {}
    others = [h for h in header if h not in TIME]
    if not others or any(_ID_LIKE.search(h) for h in others):
        return 0  # account feature tables, not series
    if not first:  # a header alone (nothing over the period) says only as much as its time column
        return 40 if header[0] in TIME else 0
    if not all(_numeric(first.get(h)) or not first.get(h) for h in others):
        return 0
    if header[0] in TIME:
        return 40
    if not names & set(TIME) and not any(_numeric(h) for h in header):
        return 15  # index-only series such as X,y
    return 0


FORMAT = Format(
    name="kpi-csv",
    description="KPI series CSV: series,ts,value[,unit] or date + one column per series",
    containers=("csv",),
    sniff=sniff,
    records=records,
    map=map_point,
    read=csv_with_slash_dates(_time_cells),
    options=('dayfirst',),
)
