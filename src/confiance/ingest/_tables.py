"""Cell helpers shared by the table formats (KPI, survey, audience CSVs) and edge lists.

Spreadsheets exported in French or German write ``12,5`` for 12.5, group thousands with spaces or
dots, and put ``%`` after shares; these helpers read such cells and look columns up by any of
their accepted names, case-insensitively.
"""

from __future__ import annotations

import re
from typing import Any

from confiance.errors import RecordError

_SPACES = re.compile(r"[\s\u00a0\u202f]+")
_PLAIN = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
#: spaces inside a number only group thousands ('1 234,5'); '12 15' is two numbers, not 1215
_GROUPED = re.compile(r"[+-]?\d{1,3}(?:[\s\u00a0\u202f]\d{3})+(?:[.,]\d*)?")
_TRUE = {"1", "true", "t", "yes", "y", "oui", "o", "vrai"}
_FALSE = {"0", "false", "f", "no", "n", "non", "faux"}


def lowered(row: dict[str, Any]) -> dict[str, Any]:
    """The row with header names stripped and lower-cased (first column wins on a clash)."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        out.setdefault(str(key).strip().lower(), value)
    return out


def cell(row: dict[str, Any], names: tuple[str, ...]) -> str | None:
    """First non-empty value among the columns ``names`` of a :func:`lowered` row, stripped."""
    for name in names:
        value = row.get(name)
        if value is not None and str(value).strip():
            return str(value).strip()
    return None


def has_any(header: set[str], names: tuple[str, ...]) -> bool:
    return any(n in header for n in names)


def decimal(value: Any, what: str) -> tuple[float | None, bool]:
    """(number, was_percent) from a cell: '12.5', '12,5', '1 234,5', '1.234,5', '1,234.5', '34 %'.
    A lone comma is a decimal mark ('1,234' is 1.234: files that use ',' for thousands also use
    '.' for decimals, and then carry both or neither). '' is (None, False)."""
    if value is None:
        return None, False
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value), False
    written = str(value).strip()
    number = written[:-1].rstrip() if written.endswith("%") else written
    if _SPACES.search(number) and not _GROUPED.fullmatch(number):
        raise RecordError(f"{what}: not a number: {written[:40]!r}")
    text = _SPACES.sub("", written)
    percent = text.endswith("%")
    if percent:
        text = text[:-1]
    if not text:
        if percent:
            raise RecordError(f"{what}: not a number: {str(value)[:40]!r}")
        return None, False
    if "," in text and "." in text:
        decimal_mark = "," if text.rfind(",") > text.rfind(".") else "."
        grouping = "." if decimal_mark == "," else ","
        text = text.replace(grouping, "").replace(decimal_mark, ".")
    elif "," in text:
        text = text.replace(",", ".")
    if not _PLAIN.fullmatch(text):
        raise RecordError(f"{what}: not a number: {str(value)[:40]!r}")
    return float(text), percent


def boolean(value: Any, what: str) -> bool | None:
    if value is None or str(value).strip() == "":
        return None
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise RecordError(f"{what}: expected 1/0, true/false or oui/non, got {str(value)[:40]!r}")
