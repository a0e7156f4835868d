"""Evidence as an analyst reads it on an account page: other accounts named by handle (their id when
they have none), nested JSON as ``key: value`` text, absent values left out rather than shown as None;
keys, flags, numbers and the analyses' enumerations (severity, coordination kind, cue, bot feature) in the
page's language (labels in :mod:`confiance.web.evidence_keys`).

Only the HTML page uses it; the JSON API and the CSV keep the stored structure. Pseudonymised pages never
get here: they keep numbers and flags only.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import duckdb
import orjson

from confiance import i18n
from confiance.influence.fit import explain_fit
from confiance.web.evidence_keys import key_label, value_label
from confiance.wording import account_name, handles_of

#: Keys that hold an account id inside evidence (engagers…), and lists of account ids (coordinated members).
ACCOUNT_KEYS = ("account_id",)
ACCOUNT_LIST_KEYS = ("members",)


def _parsed(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def _account_ids(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ACCOUNT_KEYS and isinstance(item, str):
                yield item
            elif key in ACCOUNT_LIST_KEYS and isinstance(item, list):
                yield from (a for a in item if isinstance(a, str))
            else:
                yield from _account_ids(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _account_ids(item)


def _scalar(value: Any) -> str:
    """A flag or a number in the page's language ("yes", "1,234.5"; "oui", "1 234,5"); text as it is."""
    if isinstance(value, bool):
        return i18n.gettext("yes") if value else i18n.gettext("no")
    if isinstance(value, float):
        if value != value:
            return "–"
        if i18n.current() == i18n.LANGUAGES[0]:
            return f"{value:,.3f}".rstrip("0").rstrip(".")
        return i18n.trimmed_number(round(value, 3))
    if isinstance(value, int):
        return i18n.number(value)
    return str(value)


def _text(value: Any, name: Callable[[str], str], key: str = "") -> str:
    """``value`` as text; ``key`` is the one it is stored under (its enumerations are translated)."""
    if isinstance(value, dict):
        if any(k in value for k in ACCOUNT_KEYS):
            who = name(value["account_id"])
            rest = _text({k: v for k, v in value.items() if k not in ACCOUNT_KEYS and k != "handle"}, name)
            return f"{who} ({rest})" if rest else who
        parts = []
        for field, item in value.items():
            if item is None or item == [] or item == {}:
                continue
            if field in ACCOUNT_LIST_KEYS and isinstance(item, list):
                text = ", ".join(name(a) if isinstance(a, str) else _text(a, name) for a in item)
            else:
                text = _text(item, name, field)
            if not text:  # a record whose every field is empty (no coordinated group, say)
                continue
            nested = isinstance(item, dict) and not any(k in item for k in ACCOUNT_KEYS)
            parts.append(i18n.gettext("%(key)s: %(value)s", key=key_label(field), value=f"({text})" if nested else text))
        return i18n.clauses(parts)
    if isinstance(value, (list, tuple)):
        # records apart with a bar: their own fields already use commas and semicolons
        return (" | " if any(isinstance(v, dict) for v in value) else ", ").join(
            _text(v, name, key) for v in value if v is not None)
    return _scalar(value_label(key, value))


def readable_scores(con: duckdb.DuckDBPyConnection, platform: str,
                    scores: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The account page's score rows with structured values (lists, JSON evidence) written as text; the
    brand-fit explanation, stored in English, written again in the page's language from its fields."""
    parsed = {table: [{k: _parsed(v) for k, v in row.items()} for row in rows] for table, rows in scores.items()}
    if i18n.current() != i18n.LANGUAGES[0]:
        for row in parsed.get("fit", []):
            if isinstance(row.get("evidence"), dict) and row.get("explanation"):
                row["explanation"] = explain_fit(row)
    handles = handles_of(con, {(platform, a) for rows in parsed.values() for row in rows for v in row.values()
                               if isinstance(v, (dict, list, tuple)) for a in _account_ids(v)})

    def name(account_id: str) -> str:
        return account_name(handles.get((platform, account_id)), account_id)

    return {table: [{k: _text(v, name) if isinstance(v, (dict, list, tuple)) else v for k, v in row.items()}
                    for row in rows] for table, rows in parsed.items()}


def readable_cells(con: duckdb.DuckDBPyConnection, cells: list[tuple[str, Any]]) -> list[Any]:
    """Evidence cells of a dashboard table, each ``(platform, stored value)``, as the account page writes
    them: JSON as text, accounts by handle. A value that is not JSON (plain text) is returned unchanged."""
    parsed = [(platform, _parsed(value)) for platform, value in cells]
    handles = handles_of(con, {(p, a) for p, v in parsed if isinstance(v, (dict, list)) for a in _account_ids(v)})
    out = []
    for platform, value in parsed:
        if isinstance(value, (dict, list)):
            out.append(_text(value, lambda a, p=platform: account_name(handles.get((p, a)), a)))
        else:
            out.append(value)
    return out

