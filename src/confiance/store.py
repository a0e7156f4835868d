"""DuckDB connection factory with hardened settings, and schema migrations.

Connections may read and write only inside the workspace folder, never load or
install extensions, and lock their configuration so SQL cannot loosen it.
Migrations run only through :func:`migrate` (``confiance init`` / ``confiance migrate``),
never as a side effect of ingest or analysis.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Iterator

import duckdb

from confiance import __version__
from confiance.errors import WorkspaceError

#: Ordered migrations. Version 1 is the canonical schema in ``schema.sql``.
#: A later version appends ``(n, sql)``; released entries are never edited.
MIGRATIONS: list[tuple[int, str]] = [
    (1, resources.files("confiance").joinpath("schema.sql").read_text(encoding="utf-8")),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


def connect(db_path: Path, *, read_only: bool = False, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """Open the store with external access limited to the folder that holds it."""
    root = db_path.parent.resolve()
    tmp = root / "tmp"
    tmp.mkdir(exist_ok=True)
    config = {
        "autoload_known_extensions": False,
        "autoinstall_known_extensions": False,
        "temp_directory": str(tmp),
    }
    if read_only:
        config["access_mode"] = "READ_ONLY"
    else:
        # ingest commits once per file: at the default 16 MB every commit checkpointed, rewriting partly
        # filled row groups (COMMIT 26.0 -> 7.9 CPU s over a 1M-post ingest; benchmarks/ingest.py --profile).
        # The WAL is as durable; a larger one only takes longer to replay after a crash.
        config["checkpoint_threshold"] = "256MB"
    con = duckdb.connect(str(db_path), config=config)
    if _configuration_locked(con):
        return con  # this process already holds the file open, and only this function locks it: hardened
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")  # it draws on stdout, which `--json` output owns
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute("SET allowed_directories = [?]", [str(root) + "/"])
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def _configuration_locked(con: duckdb.DuckDBPyConnection) -> bool:
    """True when the database instance (shared by connections to one file in one process) is locked."""
    return bool(con.execute("SELECT current_setting('lock_configuration')").fetchall()[0][0])


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
    ).fetchall()[0][0]
    if not exists:
        return 0
    return con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchall()[0][0]


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply pending migrations, each in its own transaction. Returns the versions applied."""
    applied = []
    for version, sql in MIGRATIONS:
        if version <= current_version(con):
            continue
        with transaction(con):
            con.execute(sql)
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                [version, datetime.now(timezone.utc), __version__],
            )
        applied.append(version)
    return applied


def require_current(con: duckdb.DuckDBPyConnection) -> None:
    version = current_version(con)
    if version == 0:
        raise WorkspaceError("the store has no schema: run `confiance init`")
    if version < SCHEMA_VERSION:
        raise WorkspaceError(
            f"the store is at schema version {version}, this confiance needs {SCHEMA_VERSION}: run `confiance migrate`"
        )
    if version > SCHEMA_VERSION:
        raise WorkspaceError(
            f"the store is at schema version {version}, newer than this confiance ({SCHEMA_VERSION}): upgrade confiance"
        )


@contextlib.contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether a table (persistent or temporary) exists: analyses and outputs test for their inputs."""
    return bool(con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ? AND table_schema IN ('main', 'temp')",
        [name],
    ).fetchall()[0][0])


def derived_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Tables written by analyses: every stored table that is neither canonical nor bookkeeping."""
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' AND table_type = 'BASE TABLE' ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows if r[0] not in TABLE_KEYS and r[0] not in BOOKKEEPING_TABLES]


#: Tables that record how the store is kept rather than what it holds.
BOOKKEEPING_TABLES = frozenset({"schema_migrations", "suppressions", "analysis_runs"})

#: Canonical tables with their natural keys, in the order exports and counts list them.
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "sources": ("sha256",),
    "accounts": ("platform", "account_id"),
    "posts": ("platform", "post_id"),
    "interactions": ("platform", "src", "dst", "kind", "post_id"),
    "observations": ("platform", "post_id", "collected_at"),
    "rejects": ("source_sha256", "line_no", "item"),
    "kpis": ("series", "ts"),
    "surveys": ("wave", "respondent", "question"),
    "audience_reports": ("platform", "account_id", "dimension", "category"),
}
