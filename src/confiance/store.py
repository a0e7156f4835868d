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
    (2, resources.files("confiance").joinpath("migration_2.sql").read_text(encoding="utf-8")),
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

#: Platforms where an account reposts a post at most once (a Mastodon boost, a Bluesky repost record): there a
#: ``repost`` interaction's ``post_id`` is the reposted post, not the repost's own id, so every reading of one
#: repost (the reposter's timeline, the reposted post's list of reposters, a repository record) keys the same row.
#: The repost itself (its own id and time) stays in ``posts`` where a reading gave it: kind ``repost``, by ``src``,
#: ``parent_post_id`` the interaction's ``post_id``.
REPOST_KEYED_BY_REPOSTED = ("mastodon", "bluesky")


def interaction_post_id(platform: str, kind: str, post_id: str, parent_post_id: str | None) -> str:
    """The ``post_id`` of the interaction that post ``post_id`` (of ``kind``, answering or sharing
    ``parent_post_id``) carries to its parent's author; :func:`carried_interaction_post_id` in SQL."""
    if kind == "repost" and parent_post_id is not None and platform in REPOST_KEYED_BY_REPOSTED:
        return parent_post_id
    return post_id


def carried_interaction_post_id(post: str) -> str:
    """SQL (DuckDB and Spark alike): :func:`interaction_post_id` of row ``post`` of ``posts``."""
    platforms = ", ".join(f"'{p}'" for p in REPOST_KEYED_BY_REPOSTED)
    return (f"CASE WHEN {post}.kind = 'repost' AND {post}.parent_post_id IS NOT NULL AND {post}.platform IN ({platforms}) "
            f"THEN {post}.parent_post_id ELSE {post}.post_id END")


def repost_post_of(interaction: str, post: str) -> str:
    """SQL: row ``post`` of ``posts`` is the repost that ``repost`` row ``interaction`` of ``interactions``
    records (keyed by the repost's own id, or by the reposted post: :data:`REPOST_KEYED_BY_REPOSTED`), so
    analyses that read both tables count it once."""
    i, p = interaction, post
    return (f"({i}.kind = 'repost' AND {p}.kind = 'repost' AND {p}.platform = {i}.platform AND {p}.account_id = {i}.src "
            f"AND ({p}.post_id = {i}.post_id OR {p}.parent_post_id = {i}.post_id))")
