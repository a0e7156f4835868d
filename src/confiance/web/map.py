"""Data for the dashboard's network map: laid-out nodes (small, coloured by community) and their edges.

Positions come from the ``layout`` analysis step (computed on the server and stored), so the browser
only draws. That step lays out the accounts with the most interactions (its ``max_nodes``); larger
graphs are therefore sampled, and the map says how many accounts it shows out of how many. Node sizes
stay between 1.5 and 7 pixels: oversized nodes stalled rendering for over a minute in a trial.
"""

from __future__ import annotations

from typing import Any

import duckdb

from confiance.graph.layout import LAYOUT_TABLE
from confiance.report.charts import PALETTE
from confiance.store import has_table

MAX_EDGES = 200_000
COLOURED_COMMUNITIES = len(PALETTE)
OTHER_COLOUR = "#9aa5b1"
MIN_SIZE, MAX_SIZE = 1.5, 7.0


def map_data(con: duckdb.DuckDBPyConnection, *, community: int | None = None, platform: str | None = None,
             kind: str | None = None, max_edges: int = MAX_EDGES) -> dict[str, Any]:
    """Nodes and edges of the stored layout, filtered by community, platform and interaction kind."""
    has_communities = has_table(con, "communities")
    has_influence = has_table(con, "influence_scores")
    community_sql = "c.community" if has_communities else "NULL"
    influence_sql = "i.influence" if has_influence else "NULL"
    joins = (("LEFT JOIN communities c USING (platform, account_id) " if has_communities else "")
             + ("LEFT JOIN influence_scores i USING (platform, account_id) " if has_influence else ""))
    where, params = [], []
    if community is not None and has_communities:
        where.append("c.community = ?")
        params.append(community)
    if platform:
        where.append("l.platform = ?")
        params.append(platform)
    rows = con.execute(
        f"SELECT l.platform, l.account_id, a.handle, l.x, l.y, {community_sql}, {influence_sql} "
        f"FROM {LAYOUT_TABLE} l LEFT JOIN accounts a USING (platform, account_id) {joins}"
        f"{'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY l.platform, l.account_id", params).fetchall()
    colours = _community_colours(con) if has_communities else {}
    nodes = [{"platform": p, "account_id": a, "handle": h, "x": x, "y": y, "community": c,
              "size": round(MIN_SIZE + (MAX_SIZE - MIN_SIZE) * (inf or 0.0) ** 2, 2),
              "color": colours.get(c, OTHER_COLOUR)} for p, a, h, x, y, c, inf in rows]
    edge_filter, edge_params = ("AND e.kind = ?", [kind]) if kind else ("", [])
    edges = con.execute(
        f"""WITH shown AS (SELECT platform, account_id FROM {LAYOUT_TABLE})
            SELECT e.platform, e.src, e.dst FROM graph_edges e
            SEMI JOIN shown s ON s.platform = e.platform AND s.account_id = e.src
            SEMI JOIN shown t ON t.platform = e.platform AND t.account_id = e.dst
            WHERE e.src <> e.dst {edge_filter}
            GROUP BY ALL ORDER BY sum(e.weight) DESC LIMIT {int(max_edges)}""", edge_params).fetchall()
    total = con.execute(
        "SELECT count(*) FROM (SELECT platform, src AS id FROM graph_edges UNION SELECT platform, dst FROM graph_edges)"
    ).fetchall()[0][0]
    laid_out = con.execute(f"SELECT count(*) FROM {LAYOUT_TABLE}").fetchall()[0][0]
    return {
        "nodes": nodes, "edges": edges, "total_nodes": total, "sampled": laid_out < total,
        "sampling": f"the {laid_out:,} accounts with the most interactions, laid out by the layout step",
        "filters": _filters(con, has_communities),
    }


def _community_colours(con: duckdb.DuckDBPyConnection) -> dict[int, str]:
    """The largest communities get the palette's colours, in order of size; the rest share grey."""
    rows = con.execute("SELECT community FROM communities GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT ?",
                       [COLOURED_COMMUNITIES]).fetchall()
    return {c: PALETTE[i] for i, (c,) in enumerate(rows)}


def _filters(con: duckdb.DuckDBPyConnection, has_communities: bool) -> dict[str, list]:
    communities = [c for (c,) in con.execute(
        "SELECT community FROM communities GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 50").fetchall()] if has_communities else []
    platforms = [p for (p,) in con.execute(f"SELECT DISTINCT platform FROM {LAYOUT_TABLE} ORDER BY 1").fetchall()]
    kinds = [k for (k,) in con.execute("SELECT DISTINCT kind FROM graph_edges ORDER BY 1").fetchall()]
    return {"communities": communities, "platforms": platforms, "kinds": kinds}
