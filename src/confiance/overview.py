"""Workspace status: counts per table, per source, rejects, and the audience-report groups whose
shares do not sum to 100% (read-only)."""

from __future__ import annotations

from typing import Any

import duckdb

from confiance.ingest.audience import groups_not_summing
from confiance.store import TABLE_KEYS, has_table


#: The engagement a post received (likes + reposts + replies + quotes), NULL when its platform gave none of the
#: counts (the IRA troll files carry none): unknown, not 0, so that sums and averages leave it out.
RECEIVED_ENGAGEMENT = ("CASE WHEN coalesce({p}likes, {p}reposts, {p}replies, {p}quotes) IS NOT NULL THEN coalesce({p}likes, 0) "
                       "+ coalesce({p}reposts, 0) + coalesce({p}replies, 0) + coalesce({p}quotes, 0) END")


def received_engagement(alias: str = "") -> str:
    """:data:`RECEIVED_ENGAGEMENT` on the posts table named ``alias`` (none: the one in the FROM)."""
    return RECEIVED_ENGAGEMENT.format(p=f"{alias}." if alias else "")


def workspace_status(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    tables = {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in TABLE_KEYS}
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
    # per audience-report source, the groups whose shares do not sum to 100% (the listing of
    # sources keeps its columns; these are a list of their own, keyed by the source's sha256)
    paths = {s["sha256"]: s["path"] for s in sources}
    unsummed = [{"sha256": sha, "path": paths.get(sha), **group}
                for sha, groups in groups_not_summing(con).items() for group in groups]
    return {"tables": tables, "posts_per_platform": per_platform, "sources": sources, "reject_reasons": reject_reasons,
            "audience_groups_not_summing": unsummed}


def corpus_overview(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, int]:
    """Descriptive statistics every report starts with; written as ``overview_*`` tables.

    - ``overview_volume``: posts per day, platform and language (the platform's tag, else the identified one);
    - ``overview_accounts``: per account, simple reach (followers, unique engagers) and engagement
      (likes + reposts + replies + quotes received, per post and per follower; NULL, unknown, where the posts
      carry no count);
    - ``overview_hashtags`` / ``overview_domains``: posts and distinct accounts per tag / domain.
    """
    # the platform's language tag, else the one the language step identified (generic CSV, graph files)
    identified = has_table(con, "post_language")
    con.execute(
        "CREATE OR REPLACE TABLE overview_volume AS "
        "SELECT ? AS run_id, CAST(date_trunc('day', p.created_at) AS DATE) AS day, p.platform, "
        f"coalesce(p.lang, {'l.lang' if identified else 'NULL'}, 'und') AS lang, count(*) AS posts "
        f"FROM posts p {'LEFT JOIN post_language l USING (platform, post_id)' if identified else ''} "
        "WHERE p.created_at IS NOT NULL GROUP BY ALL ORDER BY day",
        [run_id],
    )
    con.execute(
        "CREATE OR REPLACE TABLE overview_accounts AS "
        "WITH authored AS ("
        "  SELECT platform, account_id, count(*) AS posts,"
        f"         sum({received_engagement()}) AS engagement, count({received_engagement()}) AS counted"
        "  FROM posts WHERE account_id IS NOT NULL AND kind <> 'repost' GROUP BY ALL),"
        " engagers AS ("
        "  SELECT platform, dst AS account_id, count(DISTINCT src) AS unique_engagers"
        "  FROM interactions WHERE kind IN ('repost', 'quote', 'reply', 'mention', 'like') AND src <> dst GROUP BY ALL)"
        "SELECT ? AS run_id, a.platform, a.account_id, a.handle, a.display_name, a.followers,"
        "       coalesce(p.posts, 0) AS posts, CASE WHEN p.posts IS NULL THEN 0 ELSE p.engagement END AS engagement,"
        "       coalesce(e.unique_engagers, 0) AS unique_engagers,"
        "       CASE WHEN p.counted > 0 THEN p.engagement / p.counted END AS engagement_per_post,"
        "       CASE WHEN a.followers > 0 AND p.counted > 0 THEN p.engagement / p.counted / a.followers END AS engagement_rate "
        "FROM accounts a "
        "LEFT JOIN authored p ON p.platform = a.platform AND p.account_id = a.account_id "
        "LEFT JOIN engagers e ON e.platform = a.platform AND e.account_id = a.account_id",
        [run_id],
    )
    for name, column in (("hashtags", "hashtag"), ("domains", "domain")):
        con.execute(
            f"CREATE OR REPLACE TABLE overview_{name} AS "
            f"SELECT ? AS run_id, item AS {column}, count(*) AS posts, count(DISTINCT platform || ':' || account_id) AS accounts "
            f"FROM (SELECT platform, account_id, unnest({name}) AS item FROM posts WHERE kind <> 'repost') "
            f"GROUP BY item ORDER BY posts DESC",
            [run_id],
        )
    return {
        table: con.execute(f"SELECT count(*) FROM overview_{table}").fetchall()[0][0]
        for table in ("volume", "accounts", "hashtags", "domains")
    }
