"""Workspace status: counts per table, per source, and rejects (read-only)."""

from __future__ import annotations

from typing import Any

import duckdb

from confiance.store import TABLE_KEYS


def workspace_status(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    tables = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLE_KEYS}
    cols = ["sha256", "path", "format", "encoding", "records_read", "stored", "duplicates", "rejected", "ingested_at"]
    sources = [
        dict(zip(cols, row))
        for row in con.execute(f"SELECT {', '.join(cols)} FROM sources ORDER BY ingested_at").fetchall()
    ]
    for source in sources:
        source["ingested_at"] = source["ingested_at"].isoformat()
    per_platform = dict(con.execute("SELECT platform, count(*) FROM posts GROUP BY 1 ORDER BY 2 DESC").fetchall())
    reject_reasons = [
        {"reason": reason, "count": n}
        for reason, n in con.execute(
            "SELECT regexp_replace(reason, '[0-9]+', 'N', 'g') AS r, count(*) FROM rejects GROUP BY 1 ORDER BY 2 DESC LIMIT 20"
        ).fetchall()
    ]
    return {"tables": tables, "posts_per_platform": per_platform, "sources": sources, "reject_reasons": reject_reasons}
