"""The Parquet lake read and rewritten with DuckDB, for work that must not wait for a Spark cluster.

``forget`` uses it: a person must leave the lake as surely as the store, on a machine where only the
workspace is at hand. The lake is loaded into an in-memory DuckDB database (the canonical tables with
the store's own schema, the derived ones as written), changed there, and each table is written back
beside the old one with the same partitioning, then swapped in by renaming. Spark reads the result as
it reads its own files (see :mod:`confiance.engine.spark` for the layout).
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import duckdb

from confiance import store
from confiance.engine.spark import DAY_COLUMN, LAKE_VARIABLE, PLATFORM_TABLES, lake_location
from confiance.engine.tables import CANONICAL_TABLES, column_names
from confiance.errors import ConfianceError


def local_lake(workspace_root: Path) -> Path | None:
    """The workspace's lake folder when it has one; an error when the lake is a remote URL."""
    location = lake_location(workspace_root)
    if "://" in location and not location.startswith("file://"):
        raise ConfianceError(f"the lake ({LAKE_VARIABLE}={location}) is not on this machine: mount it and point "
                             f"{LAKE_VARIABLE} at the mounted folder, so that the person can be removed from it too")
    path = Path(location.removeprefix("file://"))
    return path if path.is_dir() else None


def _tables(lake: Path) -> list[Path]:
    """One folder per table; hidden folders are Spark's scratch space and half-written copies."""
    return sorted(p for p in lake.iterdir() if p.is_dir() and not p.name.startswith(".") and any(p.rglob("*.parquet")))


def load(lake: Path) -> tuple[duckdb.DuckDBPyConnection, list[str]]:
    """An in-memory database holding the lake's tables, and their names.

    The store's migrations create the canonical tables first, so every table ``forget`` touches exists
    with its canonical types even when the lake has none of its rows yet."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for _, sql in store.MIGRATIONS:
        con.execute(sql)
    loaded = []
    for folder in _tables(lake):
        files = str(folder / "**" / "*.parquet")
        source = f"read_parquet('{_quoted(files)}', hive_partitioning = true, union_by_name = true)"
        if folder.name in CANONICAL_TABLES:
            columns = ", ".join(f'"{c}"' for c in column_names(folder.name))
            con.execute(f'INSERT INTO "{folder.name}" ({columns}) SELECT {columns} FROM {source}')
        else:
            con.execute(f'CREATE OR REPLACE TABLE "{folder.name}" AS SELECT * EXCLUDE (day) FROM {source}'
                        if "day" in _columns(con, source) else
                        f'CREATE OR REPLACE TABLE "{folder.name}" AS SELECT * FROM {source}')
        loaded.append(folder.name)
    return con, loaded


def write_back(con: duckdb.DuckDBPyConnection, lake: Path, tables: list[str]) -> None:
    """Write each table as a fresh partitioned copy, then swap it in place of the old folder."""
    for table in tables:
        fresh, retired = lake / f".{table}-{uuid.uuid4().hex}", lake / f".{table}-retired-{uuid.uuid4().hex}"
        columns = _store_columns(con, table)
        select = ", ".join(f'CAST("{c}" AS VARCHAR) AS "{c}"' if dtype == "JSON" else f'"{c}"' for c, dtype in columns)
        partitions = []
        if "platform" in dict(columns) and (table in PLATFORM_TABLES or table not in CANONICAL_TABLES):
            partitions.append("platform")
        if table in DAY_COLUMN:
            select += f", strftime(\"{DAY_COLUMN[table]}\", '%Y-%m-%d') AS day"
            partitions.append("day")
        if con.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0]:
            options = "FORMAT parquet" + (f", PARTITION_BY ({', '.join(partitions)})" if partitions else "")
            target = fresh if partitions else fresh / "part-0.parquet"
            fresh.mkdir()
            con.execute(f"COPY (SELECT {select} FROM \"{table}\") TO '{_quoted(str(target))}' ({options})")
        (lake / table).rename(retired)
        if fresh.exists():
            fresh.rename(lake / table)
        shutil.rmtree(retired)


def remove_scratch(lake: Path) -> int:
    """Delete hidden folders (Spark's scratch tables, copies left by a killed run): they may hold rows."""
    removed = 0
    for folder in lake.iterdir():
        if folder.is_dir() and folder.name.startswith("."):
            shutil.rmtree(folder)
            removed += 1
    return removed


def _columns(con: duckdb.DuckDBPyConnection, source: str) -> set[str]:
    return {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}


def _store_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    return [(c, t) for c, t in con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
        [table]).fetchall()]


def _quoted(path: str) -> str:
    return path.replace("'", "''")
