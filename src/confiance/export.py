"""Exports of the store: CSV (spreadsheet-safe) and Parquet, optionally pseudonymised.

CSV cells that start with = + - @ tab or CR are prefixed with an apostrophe so that a spreadsheet
shows them as text instead of running them as formulas (OWASP "CSV injection").
Ids stay strings end to end.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path
from typing import Any, Iterator

import duckdb
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from confiance.errors import ConfianceError
from confiance.store import TABLE_KEYS, derived_tables

_FORMULA_START = r"^[=+\-@\t\r]"
EXPORT_FORMATS = ("csv", "parquet", "gexf", "graphml")

#: Columns that name or describe a person; pseudonymised exports hash ids/handles and drop the rest.
#: The names also apply to the fields of nested values (structs, JSON evidence), where analyses list accounts.
_ID_COLUMNS = {"account_id", "parent_account_id", "src", "dst", "respondent", "a", "b", "first_account_id"}
_HANDLE_COLUMNS = {"handle", "first_handle"}
_ACCOUNT_LIST_COLUMNS = {"mentions", "top_accounts", "members"}
_DROPPED_COLUMNS = {"display_name", "bio", "location", "url", "attributes", "raw", "path"}
#: ``influence_evidence`` rows whose ``ref`` is an account id and ``label`` its handle.
_ACCOUNT_EVIDENCE_KINDS = {"top_engager"}


def safe_cell(value: Any) -> Any:
    """One value, made safe for a spreadsheet (used by the CLI's --csv listings)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def neutralise_formulas(table: pa.Table) -> pa.Table:
    """Vectorised :func:`safe_cell` over every text column; lists and JSON become text first."""
    columns = []
    for field, column in zip(table.schema, table.columns):
        nested = pa.types.is_list(field.type) or pa.types.is_large_list(field.type) or pa.types.is_fixed_size_list(field.type)
        if nested and (pa.types.is_string(field.type.value_type) or pa.types.is_large_string(field.type.value_type)):
            column = pc.binary_join_element_wise("[", pc.binary_join(column, "|"), "]", "")
        elif nested or pa.types.is_struct(field.type) or pa.types.is_map(field.type):
            # lists of numbers or records (community profiles' languages, activity…) become JSON text
            column = pa.array([None if v is None else orjson.dumps(v, default=str).decode() for v in column.to_pylist()],
                              pa.string())
        elif not (pa.types.is_string(field.type) or pa.types.is_large_string(field.type)):
            columns.append(column)
            continue
        risky = pc.match_substring_regex(column, _FORMULA_START)
        column = pc.if_else(risky, pc.binary_join_element_wise("'", column, ""), column)
        columns.append(column)
    return pa.table(columns, names=table.column_names)


class Pseudonymiser:
    """Stable keyed pseudonyms (HMAC-SHA256 with a per-workspace secret): the same person gets the
    same pseudonym in every export of one workspace, and nobody without the key can reverse it."""

    def __init__(self, key: bytes):
        self.key = key

    @classmethod
    def for_workspace(cls, key_path: Path) -> "Pseudonymiser":
        if not key_path.exists():
            key_path.write_bytes(secrets.token_bytes(32))
            key_path.chmod(0o600)
        return cls(key_path.read_bytes())

    def name(self, value: str) -> str:
        return "p_" + hmac.new(self.key, value.lower().encode(), hashlib.sha256).hexdigest()[:16]

    def table(self, table: pa.Table, json_columns: frozenset[str] = frozenset()) -> pa.Table:
        """``json_columns``: text columns that hold JSON (DuckDB JSON reaches Arrow as plain strings)."""
        columns, names = [], []
        engager_rows = None
        if {"kind", "ref", "label"} <= set(table.column_names):
            engager_rows = [kind in _ACCOUNT_EVIDENCE_KINDS for kind in table.column("kind").to_pylist()]
        for name, column in zip(table.column_names, table.columns):
            if name in _DROPPED_COLUMNS:
                continue
            if name in _ID_COLUMNS or name in _HANDLE_COLUMNS:
                column = pa.array([None if v is None or v == "" else self.name(v) for v in column.to_pylist()], pa.string())
            elif name in _ACCOUNT_LIST_COLUMNS and pa.types.is_list(column.type):
                column = pa.array([None if v is None else [self.name(m) for m in v] for v in column.to_pylist()],
                                  pa.list_(pa.string()))
            elif engager_rows is not None and name in ("ref", "label"):
                column = pa.array([self.name(v) if engager and v else v for v, engager in zip(column.to_pylist(), engager_rows)],
                                  pa.string())
            elif name in json_columns:
                column = pa.array([None if t is None else orjson.dumps(self._value("", orjson.loads(t))).decode()
                                   for t in column.to_pylist()], pa.string())
            elif pa.types.is_nested(column.type):
                column = pa.array([self._value("", v) for v in column.to_pylist()], column.type)
            columns.append(column)
            names.append(name)
        return pa.table(columns, names=names)

    def _value(self, key: str, value: Any) -> Any:
        """A struct, list or JSON value with the account fields inside it pseudonymised (by field name)."""
        if isinstance(value, dict):
            return {k: self._value(k, v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._value(key, v) for v in value]
        if isinstance(value, str) and value and (key in _ID_COLUMNS or key in _HANDLE_COLUMNS
                                                 or key in _ACCOUNT_LIST_COLUMNS):
            return self.name(value)
        return value


def export_tables(
    con: duckdb.DuckDBPyConnection,
    fmt: str,
    outdir: Path,
    *,
    pseudonymiser: Pseudonymiser | None = None,
    tables: list[str] | None = None,
) -> list[Path]:
    """Write each canonical table (and derived tables when present) to OUTDIR/<table>.<fmt>."""
    if fmt not in EXPORT_FORMATS:
        raise ConfianceError(f"unknown export format {fmt!r}; choose from {', '.join(EXPORT_FORMATS)}")
    if fmt in ("gexf", "graphml"):
        # one graph file: OUTDIR when it is named *.gexf / *.graphml, else OUTDIR/graph.FORMAT
        from confiance.graph.export import export_graph

        if pseudonymiser is not None:
            raise ConfianceError(f"--pseudonymise is not available for {fmt} yet; export csv or parquet instead")
        target = outdir if outdir.suffix.lower() == f".{fmt}" else outdir / f"graph.{fmt}"
        export_graph(con, fmt, target)
        return [target]
    outdir.mkdir(parents=True, exist_ok=True)
    names = tables or [t for t in TABLE_KEYS if t != "rejects" or pseudonymiser is None] + derived_tables(con)
    written = []
    for name in names:
        json_columns = frozenset(c for c, t in con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'main' "
            "AND table_name = ?", [name]).fetchall() if t == "JSON")
        target = outdir / f"{name}.{fmt}"
        writer: pacsv.CSVWriter | pq.ParquetWriter | None = None
        try:
            for table in _table_batches(con, name):
                if pseudonymiser is not None:
                    table = pseudonymiser.table(table, json_columns)
                if fmt == "csv":
                    table = neutralise_formulas(_json_as_text(table))
                if writer is None:
                    writer = pacsv.CSVWriter(target, table.schema) if fmt == "csv" else pq.ParquetWriter(target, table.schema)
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()
        written.append(target)
    return written


#: Rows read and written at a time: an export holds one batch in memory, whatever the table's size.
#: A text vector is 2 KiB, and about 40 KiB while its 512 numbers become CSV text: on a 14k-text world,
#: 2,000 rows a batch peak at 0.5 GB where the whole table at once took 1.1 GB (and grew with the corpus).
EXPORT_BATCH_ROWS = 2_000


def _table_batches(con: duckdb.DuckDBPyConnection, name: str) -> Iterator[pa.Table]:
    """The table in batches of ``EXPORT_BATCH_ROWS``; an empty table still yields one (empty) batch."""
    reader = con.sql(f'SELECT * FROM "{name}"').to_arrow_reader(EXPORT_BATCH_ROWS)
    empty = True
    for batch in reader:
        empty = False
        yield pa.Table.from_batches([batch])
    if empty:
        yield reader.schema.empty_table()


def _json_as_text(table: pa.Table) -> pa.Table:
    """DuckDB JSON and timestamp columns become plain text for CSV."""
    columns = []
    for field, column in zip(table.schema, table.columns):
        if pa.types.is_timestamp(field.type):
            column = pc.strftime(column.cast(pa.timestamp("s", tz="UTC"), safe=False), format="%Y-%m-%dT%H:%M:%SZ")
        elif isinstance(field.type, pa.ExtensionType):
            column = column.cast(field.type.storage_type)
        columns.append(column)
    return pa.table(columns, names=table.column_names)

