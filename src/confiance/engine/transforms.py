"""Aggregations written once, as Ibis expressions, for every engine.

Each function takes Ibis tables and returns an Ibis table: on the DuckDB store the expression, over
unbound tables with the canonical schema, compiles to DuckDB SQL (:func:`duckdb_sql`) that runs inside
the caller's transaction; on Spark (:mod:`confiance.engine.spark`) the same expression compiles to Spark SQL over
the Parquet lake. There is no second, hand-written implementation of these aggregations.

- :func:`interaction_edges`: the weighted account edges per kind (``graph_edges``);
- :func:`authored_metrics`, :func:`received_metrics`, :func:`account_metrics`: per-account activity
  and reception counts (the account-typing features use :func:`authored_metrics`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

import ibis
import ibis.expr.types as ir

ENGAGEMENT_KINDS = ("repost", "quote", "reply", "mention", "like")


def duckdb_sql(expression: ir.Table) -> str:
    """DuckDB SQL for an expression over :func:`confiance.engine.tables.ibis_table` tables, to run on the
    store connection inside the caller's transaction (an Ibis backend on it would change its settings,
    which the hardened store locks)."""
    return ibis.to_sql(expression, dialect="duckdb")


def interaction_edges(
    interactions: ir.Table,
    run_id: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    platforms: Sequence[str] | None = None,
    self_loops: bool = False,
) -> ir.Table:
    """One row per (platform, src, dst, kind): the interactions collapsed into a weighted edge.

    ``weight`` is the number of interactions, or the sum of their ``weight`` when an edge file gave
    one; ``probability`` keeps its maximum; ``first_at``/``last_at`` bound the times seen. Rows with an
    empty endpoint are dropped; self-loops are dropped, or, with ``self_loops=True``, only they are
    kept (the build summary counts them).
    """
    t = interactions
    condition = (t.src != "") & (t.dst != "")
    if since is not None:
        condition &= t.created_at.isnull() | (t.created_at >= since)
    if until is not None:
        condition &= t.created_at.isnull() | (t.created_at < until)
    if platforms:
        condition &= t.platform.isin(list(platforms))
    condition &= (t.src == t.dst) if self_loops else (t.src != t.dst)
    kept = t.filter(condition)
    return kept.group_by(["platform", "src", "dst", "kind"]).aggregate(
        weight=kept.weight.fill_null(1.0).sum(),
        probability=kept.probability.max(),
        interactions=kept.count(),
        first_at=kept.created_at.min(),
        last_at=kept.created_at.max(),
    ).select(run_id=ibis.literal(run_id), platform="platform", src="src", dst="dst", kind="kind", weight="weight",
             probability="probability", interactions="interactions", first_at="first_at", last_at="last_at")


def authored_metrics(posts: ir.Table) -> ir.Table:
    """Per (platform, account_id) with an authored post: ``posts`` (kind post), ``replies``,
    ``quotes``, ``reposts_made``, ``link_posts`` (non-reposts carrying a URL) and ``active_days``
    (distinct UTC days with a non-repost)."""
    p = posts.filter(posts.account_id.notnull())
    return p.group_by(["platform", "account_id"]).aggregate(
        posts=p.count(where=p.kind == "post"),
        replies=p.count(where=p.kind == "reply"),
        quotes=p.count(where=p.kind == "quote"),
        reposts_made=p.count(where=p.kind == "repost"),
        link_posts=p.count(where=(p.kind != "repost") & (p.urls.fill_null([]).length() > 0)),
        active_days=p.created_at.date().nunique(where=p.kind != "repost"),
    )


def received_metrics(interactions: ir.Table) -> ir.Table:
    """Per (platform, account_id) engaged with: ``reposts_received``, ``replies_received``,
    ``quotes_received``, ``mentions_received``, ``engagements_received`` (every engagement kind,
    self-engagement excluded) and ``unique_engagers`` (distinct accounts engaging)."""
    i = interactions.filter(interactions.kind.isin(list(ENGAGEMENT_KINDS)) & (interactions.src != interactions.dst)
                            & (interactions.src != ""))
    return i.group_by([i.platform, i.dst.name("account_id")]).aggregate(
        reposts_received=i.count(where=i.kind == "repost"),
        replies_received=i.count(where=i.kind == "reply"),
        quotes_received=i.count(where=i.kind == "quote"),
        mentions_received=i.count(where=i.kind == "mention"),
        engagements_received=i.count(),
        unique_engagers=i.src.nunique(),
    )


def account_metrics(posts: ir.Table, interactions: ir.Table) -> ir.Table:
    """:func:`authored_metrics` and :func:`received_metrics` side by side (0 where an account has
    none), for every account that published or was engaged with."""
    authored, received = authored_metrics(posts), received_metrics(interactions)
    joined = authored.outer_join(received, ["platform", "account_id"])
    counts = [c for c in (*authored.columns, *received.columns) if c not in ("platform", "account_id")]
    return joined.select(
        platform=ibis.coalesce(joined.platform, joined.platform_right),
        account_id=ibis.coalesce(joined.account_id, joined.account_id_right),
        **{c: joined[c].fill_null(0).cast("int64") for c in counts},
    )
