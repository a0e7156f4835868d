"""Column-wise collector for the rows that mappers emit.

Mappers call ``sink.post(...)``, ``sink.account(...)``, ``sink.interaction(...)`` and so on with
keyword fields named as in ``schema.sql``. The sink checks and converts each value once
(ids become strings, counts integers, lists lists of strings) so that one bad value rejects one
record, never a batch. Each record emits exactly one ``primary=True`` row: the thing the record *is*
(a post, an edge, a KPI point); its key decides whether the record was stored or a duplicate.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Hashable, Iterable

import orjson
import pyarrow as pa

from confiance.errors import RecordError

# Columns the engine fills itself, never the mapper.
ENGINE_COLUMNS = {"source_sha256", "first_seen", "last_seen"}
META_COLUMNS = ("_seq", "_line", "_item", "_primary")

_ARROW = {
    "str": pa.string(),
    "ts": pa.string(),
    "json": pa.string(),
    "int": pa.int64(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "strlist": pa.list_(pa.string()),
}


def kind_of(duckdb_type: str) -> str:
    t = duckdb_type.upper()
    if t.endswith("[]"):
        return "strlist"
    if t.startswith("TIMESTAMP"):
        return "ts"
    if t in ("BIGINT", "INTEGER", "SMALLINT", "HUGEINT", "UBIGINT"):
        return "int"
    if t in ("DOUBLE", "FLOAT", "REAL") or t.startswith("DECIMAL"):
        return "float"
    if t == "BOOLEAN":
        return "bool"
    if t == "JSON":
        return "json"
    return "str"


def _to_str(name: str, v: Any) -> str | None:
    if v is None or type(v) is str:
        return v
    if type(v) is int:  # 19-digit ids given as JSON numbers stay exact
        return str(v)
    if type(v) is float:
        raise RecordError(f"{name}: a float ({v!r}) cannot be an exact id or text")
    if type(v) is bool:
        return "true" if v else "false"
    raise RecordError(f"{name}: expected text, got {type(v).__name__}")


def _to_int(name: str, v: Any) -> int | None:
    if v is None or type(v) is int:
        return v
    if type(v) is bool:
        return int(v)
    if type(v) is float:
        if v != v:  # NaN
            return None
        if v.is_integer():
            return int(v)
        raise RecordError(f"{name}: expected a whole number, got {v!r}")
    if type(v) is str:
        s = v.strip()
        if not s:
            return None
        try:
            return int(s)
        except ValueError:
            try:
                f = float(s)
            except ValueError:
                raise RecordError(f"{name}: expected a whole number, got {v[:40]!r}") from None
            return _to_int(name, f)
    raise RecordError(f"{name}: expected a whole number, got {type(v).__name__}")


def _to_float(name: str, v: Any) -> float | None:
    if v is None or type(v) is float:
        return v
    if type(v) in (int, bool):
        return float(v)
    if type(v) is str:
        s = v.strip()
        if not s:
            return None
        try:
            return float(s)
        except ValueError:
            raise RecordError(f"{name}: expected a number, got {v[:40]!r}") from None
    raise RecordError(f"{name}: expected a number, got {type(v).__name__}")


def _to_bool(name: str, v: Any) -> bool | None:
    if v is None or type(v) is bool:
        return v
    if type(v) is int:
        return v != 0
    if type(v) is str:
        s = v.strip().lower()
        if s in ("true", "t", "yes", "y", "1", "oui", "vrai"):
            return True
        if s in ("false", "f", "no", "n", "0", "non", "faux", ""):
            return False if s else None
    raise RecordError(f"{name}: expected true/false, got {v!r}"[:120])


def _to_ts(name: str, v: Any) -> str | None:
    if v is None or type(v) is str:
        return v or None
    if isinstance(v, datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=timezone.utc)
        return v.isoformat()
    if type(v) in (int, float):
        # epoch seconds (or milliseconds when too large to be seconds)
        seconds = v / 1000 if abs(v) > 1e11 else v
        try:
            return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat()
        except (OverflowError, OSError, ValueError):
            raise RecordError(f"{name}: timestamp {v!r} out of range") from None
    raise RecordError(f"{name}: expected a timestamp, got {type(v).__name__}")


def _to_strlist(name: str, v: Any) -> list[str] | None:
    if v is None:
        return None
    if isinstance(v, (list, tuple, set)):
        return [_to_str(name, x) for x in v if x is not None]  # type: ignore[misc]
    raise RecordError(f"{name}: expected a list, got {type(v).__name__}")


def _to_json(name: str, v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        return v
    try:
        return orjson.dumps(v, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError as exc:
        raise RecordError(f"{name}: cannot be stored as JSON ({exc})") from None


_CONVERT = {
    "str": _to_str,
    "ts": _to_ts,
    "int": _to_int,
    "float": _to_float,
    "bool": _to_bool,
    "strlist": _to_strlist,
    "json": _to_json,
}


class _AlwaysConvert:
    """A type no value has: floats (NaN) and lists (their items) are always checked."""


_FAST_TYPE = {"str": str, "ts": str, "json": str, "int": int, "float": _AlwaysConvert, "bool": bool, "strlist": _AlwaysConvert}


class _TableBuffer:
    """Column lists of one table. A row touches only the columns it sets; the others are padded
    with NULL lazily, so a sparse row costs what it sets, not the table's width."""

    def __init__(self, table: str, spec: list[tuple[str, str]], required: tuple[str, ...] = ()):
        self.table = table
        self.spec = spec
        self.required = required
        self.clear()

    def __len__(self) -> int:
        return self.n

    def append(self, fields: dict[str, Any], meta: tuple[int, int, int, bool]) -> None:
        n = self.n
        columns = self.columns
        slots = self.slots
        try:
            for name, value in fields.items():
                if value is None:
                    continue
                try:
                    fast, convert, column = slots[name]
                except KeyError:
                    raise TypeError(f"{self.table}: unknown field {name!r}") from None
                if type(value) is not fast:
                    value = convert(name, value)
                    if value is None:
                        continue
                if len(column) != n:
                    column.extend([None] * (n - len(column)))
                column.append(value)
            for name in self.required:
                value = fields.get(name)
                if value is None or value == "":
                    raise RecordError(f"{self.table}.{name} is missing")
        except BaseException:
            for column in columns.values():  # undo this row's values
                if len(column) > n:
                    del column[n:]
            raise
        seq, line_no, item, primary = meta
        columns["_seq"].append(seq)
        columns["_line"].append(line_no)
        columns["_item"].append(item)
        columns["_primary"].append(primary)
        self.n = n + 1

    def truncate(self, n: int) -> None:
        for column in self.columns.values():
            del column[n:]
        self.n = min(self.n, n)

    def to_arrow(self) -> pa.Table:
        n = self.n
        arrays = {}
        for name, kind in self.spec:
            column = self.columns[name]
            if len(column) < n:
                column.extend([None] * (n - len(column)))
            arrays[name] = pa.array(column, type=_ARROW[kind])
        arrays["_seq"] = pa.array(self.columns["_seq"], type=pa.int64())
        arrays["_line"] = pa.array(self.columns["_line"], type=pa.int64())
        arrays["_item"] = pa.array(self.columns["_item"], type=pa.int32())
        arrays["_primary"] = pa.array(self.columns["_primary"], type=pa.bool_())
        return pa.table(arrays)

    def clear(self) -> None:
        self.columns: dict[str, list] = {name: [] for name, _ in self.spec}
        for meta in META_COLUMNS:
            self.columns[meta] = []
        # per field: the type that needs no conversion, the converter, and the column list
        self.slots = {name: (_FAST_TYPE[kind], _CONVERT[kind], self.columns[name]) for name, kind in self.spec}
        self.n = 0


class Sink:
    """Collects rows of one batch; ``begin``/``commit_record``/``rollback_record`` frame each record."""

    def __init__(self, specs: dict[str, list[tuple[str, str]]], required: dict[str, tuple[str, ...]], default_collected_at: str):
        self.buffers = {table: _TableBuffer(table, spec, required.get(table, ())) for table, spec in specs.items()}
        self.default_collected_at = default_collected_at
        self._meta = (0, 0, 0)
        self._marks: dict[str, int] = {}
        self._primaries = 0
        self._seen: set[Hashable] = set()
        self._seen_in_record: list[Hashable] = []

    # -- record framing (engine) ---------------------------------------------------------------
    def begin(self, seq: int, line_no: int, item: int) -> None:
        self._meta = (seq, line_no, item)
        self._marks = {t: len(b) for t, b in self.buffers.items()}
        self._primaries = 0
        self._seen_in_record = []

    def rollback_record(self) -> None:
        for table, mark in self._marks.items():
            self.buffers[table].truncate(mark)
        self._seen.difference_update(self._seen_in_record)
        self._seen_in_record = []

    def primaries_in_record(self) -> int:
        return self._primaries

    def rows(self) -> int:
        return sum(len(b) for b in self.buffers.values())

    def drain(self) -> Iterable[tuple[str, pa.Table]]:
        self._seen = set()
        for table, buf in self.buffers.items():
            if len(buf):
                yield table, buf.to_arrow()
                buf.clear()

    # -- emitting (mappers) ----------------------------------------------------------------------
    def emit(self, table: str, primary: bool = False, **fields: Any) -> None:
        seq, line_no, item = self._meta
        self.buffers[table].append(fields, (seq, line_no, item, primary))
        if primary:
            self._primaries += 1

    def account(self, *, primary: bool = False, **fields: Any) -> None:
        """An account as seen at ``observed_at`` (ISO text, datetime or epoch)."""
        self.emit("accounts", primary, **fields)

    def once(self, key: Hashable) -> bool:
        """True the first time ``key`` is seen in this batch. Mappers use it to skip rows that repeat
        the same source object (a page's user emitted for each of its posts); a rejected record
        forgets the keys it added."""
        if key in self._seen:
            return False
        self._seen.add(key)
        self._seen_in_record.append(key)
        return True

    def post(self, *, primary: bool = False, **fields: Any) -> None:
        """A post. With ``observed_at``, its metrics also become an observation at that time."""
        if not fields.get("kind"):
            fields["kind"] = "post"
        self.emit("posts", primary, **fields)

    def interaction(self, *, primary: bool = False, **fields: Any) -> None:
        fields.setdefault("post_id", "")
        self.emit("interactions", primary, **fields)

    def observation(self, *, primary: bool = False, **fields: Any) -> None:
        if not fields.get("collected_at"):
            fields["collected_at"] = self.default_collected_at
        self.emit("observations", primary, **fields)

    def kpi(self, *, primary: bool = False, **fields: Any) -> None:
        self.emit("kpis", primary, **fields)

    def survey(self, *, primary: bool = False, **fields: Any) -> None:
        self.emit("surveys", primary, **fields)

    def audience(self, *, primary: bool = False, **fields: Any) -> None:
        self.emit("audience_reports", primary, **fields)
