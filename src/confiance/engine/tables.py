"""The canonical tables' columns, read from the store's own migrations, as each engine types them."""

from __future__ import annotations

from functools import lru_cache

import duckdb
import ibis

from confiance import store

CANONICAL_TABLES = tuple(store.TABLE_KEYS)

_IBIS_TYPES = {
    "VARCHAR": "string", "JSON": "string", "TIMESTAMP WITH TIME ZONE": "timestamp('UTC')", "BIGINT": "int64",
    "INTEGER": "int32", "DOUBLE": "float64", "BOOLEAN": "boolean", "VARCHAR[]": "array<string>", "DATE": "date",
}
_SPARK_TYPES = {
    "VARCHAR": "string", "JSON": "string", "TIMESTAMP WITH TIME ZONE": "timestamp", "BIGINT": "bigint",
    "INTEGER": "int", "DOUBLE": "double", "BOOLEAN": "boolean", "VARCHAR[]": "array<string>", "DATE": "date",
}


@lru_cache(maxsize=1)
def canonical_columns() -> dict[str, tuple[tuple[str, str], ...]]:
    """(column, DuckDB type) per canonical table, in schema order."""
    con = duckdb.connect()
    try:
        for _, sql in store.MIGRATIONS:
            con.execute(sql)
        rows = con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_name IN (SELECT unnest(?)) ORDER BY table_name, ordinal_position", [list(CANONICAL_TABLES)]
        ).fetchall()
    finally:
        con.close()
    out: dict[str, list[tuple[str, str]]] = {}
    for table, column, dtype in rows:
        out.setdefault(table, []).append((column, dtype))
    return {table: tuple(columns) for table, columns in out.items()}


def column_names(table: str) -> list[str]:
    return [c for c, _ in canonical_columns()[table]]


def spark_type(table: str, column: str) -> str:
    return _SPARK_TYPES[dict(canonical_columns()[table])[column]]


def spark_schema(table: str) -> str:
    """The table's columns as a Spark DDL string."""
    return ", ".join(f"`{c}` {_SPARK_TYPES[t]}" for c, t in canonical_columns()[table])


def ibis_table(table: str) -> ibis.Table:
    """An unbound Ibis table with the canonical schema (compiled to SQL for the DuckDB store)."""
    return ibis.table({c: _IBIS_TYPES[t] for c, t in canonical_columns()[table]}, name=table)
