"""Data for the dashboard's network map: laid-out nodes (small, coloured by community) and their links.

Positions come from the ``layout`` analysis step (computed on the server and stored), so the browser
only draws. The payload is columnar so that 50,000 nodes and 200,000 links parse and load quickly:
one JSON array per node attribute (positions, sizes, colour indexes), the links as one flat array of
node indexes ``[a0, b0, a1, b1, ...]``, and the strings (platforms, colours) once each.

Sampling, in two documented stages, and the map always says how many accounts it shows of how many:

1. the ``layout`` step lays out the accounts of highest weighted degree, at most its ``max_nodes``
   (50,000 by default, about half a minute; ``confiance layout --max-nodes N`` changes it);
2. the map draws at most ``max_nodes`` of those (``MAX_MAP_NODES``, 50,000, by default; ``/map?max_nodes=N``
   asks for fewer), again those of highest weighted degree.

"Fluid" depends on the browser's WebGL. ``benchmarks/dashboard.py`` times a scripted pan and zoom in
Chromium with software WebGL (SwiftShader, what a machine without a usable GPU gets) on a loaded 2-core
machine: a moving frame took 50 ms (20 fps) at 20,000 nodes and 67 ms (14 fps, 117 ms at the 95th
percentile) at 50,000; of a 59 ms frame, the page's own work (sigma's JavaScript, about 3 ms, events,
layout) took under 10 ms and it waited 50 ms for SwiftShader drawing the nodes (``--profile``). That
is usable, not smooth; links and labels are hidden while the camera moves above 20,000 links. With a
GPU the drawing costs next to nothing, so a frame is bounded by that JavaScript (not measured here:
the test machines have no GPU). Beyond 50,000 nodes the map samples.

Node sizes stay between 1.5 and 7 pixels: oversized nodes stalled rendering for over a minute in a trial.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import duckdb
import numpy as np
import orjson

from confiance import i18n
from confiance.graph.layout import LAYOUT_TABLE, layout_summary
from confiance.i18n import N_
from confiance.report.charts import PALETTE
from confiance.store import has_table

#: The most nodes the map draws; beyond, the accounts of highest weighted degree (see the module docstring).
MAX_MAP_NODES = 50_000
#: The most links the map draws (the heaviest ones between the nodes shown).
MAX_EDGES = 200_000
OTHER_COLOUR = "#9aa5b1"
#: Colours of the largest communities, in order of size; every other community shares the last, grey.
COLOURS = (*PALETTE, OTHER_COLOUR)
MIN_SIZE, MAX_SIZE = 1.5, 7.0
#: Positions are in [-1, 1]: five decimals keep them exact to a pixel at a 500x zoom on a 4k screen.
POSITION_DECIMALS = 5


@dataclass(frozen=True)
class MapData:
    """The nodes shown (arrays aligned by node index) and the links among them."""

    platform: list[str]
    account_id: list[str]
    handle: list[str | None]
    x: np.ndarray
    y: np.ndarray
    size: np.ndarray
    colour: np.ndarray  # index into COLOURS
    community: list[int | None]
    edges: np.ndarray  # flat int32 pairs of node indexes, heaviest first
    total_nodes: int  # accounts in the graph (with at least one interaction)
    laid_out: int  # accounts the layout step placed
    candidates: int  # laid-out accounts that pass the filters, before max_nodes
    max_nodes: int
    filters: dict[str, list]

    @property
    def sampled(self) -> bool:
        return self.laid_out < self.total_nodes or len(self.x) < self.candidates

    def sampling(self) -> str:
        """How the nodes shown were chosen, in a sentence (English, as the API answers it; the map script
        rebuilds it in another language from the payload's numbers and :data:`SAMPLING_WORDS`, with the
        second clause when this sentence has "(max_nodes)")."""
        if self.laid_out < self.total_nodes:
            text = f"the layout step placed the {self.laid_out:,} accounts with the most interactions"
        else:
            text = "every account is laid out"
        if len(self.x) < self.candidates:
            text += f"; the map draws the {len(self.x):,} with the most interactions (max_nodes)"
        return text


#: The map script's own words (frontend/src/map.js), translated on the server and given to the page as
#: JSON; "{name}" takes a value in the script.
WORDS = {
    "loading": N_("loading…"),
    "noMap": N_("no map: {detail}"),
    "noAccount": N_("no account to draw with these filters"),
    "noMatch": N_("no account matches in this map"),
    "focus": N_(" · community {community} · {links} links shown"),
    "none": N_("none"),
    "sampled": N_("showing {shown} of {total} accounts, {links} links (sampled: {sampling})"),
    "whole": N_("{shown} accounts, {links} links"),
}
#: The sampling sentence in parts, for a language other than the API's English (see MapData.sampling).
SAMPLING_WORDS = {
    "sampledLayout": N_("the layout step placed the {laidOut} accounts with the most interactions"),
    "sampledAll": N_("every account is laid out"),
    "sampledMap": N_("; the map draws the {shown} with the most interactions (max_nodes)"),
}


def map_words() -> dict[str, str]:
    """The map script's words in the page's language (:func:`confiance.i18n.using`)."""
    words = {key: i18n.translate(message) for key, message in WORDS.items()}
    if i18n.current() != i18n.LANGUAGES[0]:
        words.update({key: i18n.translate(message) for key, message in SAMPLING_WORDS.items()})
    return {"locale": i18n.current(), **words}


def map_data(con: duckdb.DuckDBPyConnection, *, community: int | None = None, platform: str | None = None,
             kind: str | None = None, max_nodes: int = MAX_MAP_NODES, max_edges: int = MAX_EDGES) -> MapData:
    """Nodes of the stored layout and their links, filtered by community, platform and interaction kind.

    Nodes come in order of weighted degree (interactions of every kind), highest first; at most
    ``max_nodes`` of them. Links are undirected pairs of node indexes (both directions and every
    matching kind merged), the ``max_edges`` heaviest.
    """
    has_communities = has_table(con, "communities")
    has_influence = has_table(con, "influence_scores")
    joins = (("LEFT JOIN communities c USING (platform, account_id) " if has_communities else "")
             + ("LEFT JOIN influence_scores i USING (platform, account_id) " if has_influence else ""))
    where, params = [], []
    if community is not None and has_communities:
        where.append("c.community = ?")
        params.append(community)
    if platform:
        where.append("l.platform = ?")
        params.append(platform)
    where_sql = f"WHERE {' AND '.join(where)}" if where else ""
    selected = f"""
        WITH strength AS (
            SELECT platform, account_id, sum(weight) AS strength FROM (
                SELECT platform, src AS account_id, weight FROM graph_edges
                UNION ALL SELECT platform, dst, weight FROM graph_edges) GROUP BY ALL),
        candidates AS (
            SELECT l.platform, l.account_id, a.handle, l.x, l.y,
                   {"c.community" if has_communities else "NULL::BIGINT"} AS community,
                   {"i.influence" if has_influence else "NULL::DOUBLE"} AS influence,
                   coalesce(s.strength, 0) AS strength
            FROM {LAYOUT_TABLE} l LEFT JOIN accounts a USING (platform, account_id)
            LEFT JOIN strength s USING (platform, account_id) {joins}{where_sql})
        SELECT (row_number() OVER (ORDER BY strength DESC, platform, account_id) - 1)::INTEGER AS i,
               platform, account_id, handle, x, y, community, influence, count(*) OVER () AS candidates
        FROM candidates ORDER BY i LIMIT {int(max_nodes)}"""
    nodes = con.sql(selected, params=params).to_arrow_table()
    con.register("_map_nodes", nodes.select(["i", "platform", "account_id"]))
    try:
        edge_filter, edge_params = ("AND e.kind = ?", [kind]) if kind else ("", [])
        pairs = con.execute(
            f"""SELECT least(s.i, t.i) AS a, greatest(s.i, t.i) AS b FROM graph_edges e
                JOIN _map_nodes s ON s.platform = e.platform AND s.account_id = e.src
                JOIN _map_nodes t ON t.platform = e.platform AND t.account_id = e.dst
                WHERE e.src <> e.dst {edge_filter}
                GROUP BY 1, 2 ORDER BY sum(e.weight) DESC, 1, 2 LIMIT {int(max_edges)}""", edge_params).fetchnumpy()
    finally:
        con.unregister("_map_nodes")
    summary = layout_summary(con)
    community_ids = nodes.column("community").to_pylist()
    colour_of = _community_colours(con) if has_communities else {}
    influence = np.nan_to_num(nodes.column("influence").to_numpy(zero_copy_only=False).astype(np.float64))
    return MapData(
        platform=nodes.column("platform").to_pylist(),
        account_id=nodes.column("account_id").to_pylist(),
        handle=nodes.column("handle").to_pylist(),
        x=nodes.column("x").to_numpy(zero_copy_only=False).astype(np.float64).round(POSITION_DECIMALS),
        y=nodes.column("y").to_numpy(zero_copy_only=False).astype(np.float64).round(POSITION_DECIMALS),
        size=(MIN_SIZE + (MAX_SIZE - MIN_SIZE) * np.clip(influence, 0.0, 1.0) ** 2).round(2),
        colour=np.array([colour_of.get(c, len(COLOURS) - 1) for c in community_ids], dtype=np.int32),
        community=community_ids,
        edges=np.stack([pairs["a"], pairs["b"]], axis=1).astype(np.int32).ravel(),
        total_nodes=summary["accounts"], laid_out=summary["laid_out"],
        candidates=int(nodes.column("candidates")[0].as_py()) if nodes.num_rows else 0, max_nodes=int(max_nodes),
        filters=_filters(con, has_communities),
    )


def map_json(data: MapData, account: Callable[[str, str, str | None], dict[str, str]]) -> bytes:
    """The columnar JSON payload of ``/api/map``.

    ``account(platform, account_id, handle)`` gives each node's shown ``ref`` and ``label`` (the
    dashboard's pseudonymised mode replaces both).
    """
    platforms = sorted(set(data.platform))
    platform_index = {p: k for k, p in enumerate(platforms)}
    shown = [account(p, a, h) for p, a, h in zip(data.platform, data.account_id, data.handle)]
    payload: dict[str, Any] = {
        "count": len(shown),
        "total_nodes": data.total_nodes,
        "laid_out": data.laid_out,
        "max_nodes": data.max_nodes,
        "sampled": data.sampled,
        "sampling": data.sampling(),
        "platforms": platforms,
        "colours": list(COLOURS),
        "nodes": {
            "ref": [s["ref"] for s in shown],
            "label": [s["label"] for s in shown],
            "platform": np.array([platform_index[p] for p in data.platform], dtype=np.int32),
            "community": data.community,
            "x": data.x,
            "y": data.y,
            "size": data.size,
            "colour": data.colour,
        },
        "edges": data.edges,
        "filters": data.filters,
    }
    return orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY)


def _community_colours(con: duckdb.DuckDBPyConnection) -> dict[int, int]:
    """The largest communities get the palette's colours (their index), in order of size; the rest grey."""
    rows = con.execute("SELECT community FROM communities GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT ?",
                       [len(PALETTE)]).fetchall()
    return {c: i for i, (c,) in enumerate(rows)}


def _filters(con: duckdb.DuckDBPyConnection, has_communities: bool) -> dict[str, list]:
    communities = [c for (c,) in con.execute(
        "SELECT community FROM communities GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 50").fetchall()] if has_communities else []
    platforms = [p for (p,) in con.execute(f"SELECT DISTINCT platform FROM {LAYOUT_TABLE} ORDER BY 1").fetchall()]
    kinds = [k for (k,) in con.execute("SELECT DISTINCT kind FROM graph_edges ORDER BY 1").fetchall()]
    return {"communities": communities, "platforms": platforms, "kinds": kinds}
