"""Report sections of the network analyses: community map, communities, influencers, polarisation.

Each ``collect`` reads the derived tables (read-only) and returns None when its table is missing, so
the report says which command makes it. The map is an inline SVG computed here from the stored
force layout (``graph_layout``): no script, no remote load.
"""

from __future__ import annotations

import math
import re
from typing import Any

import duckdb
import orjson

from confiance import i18n
from confiance.i18n import N_
from confiance.report.charts import PALETTE
from confiance.report.sections import Section, _rows, register_section
from confiance.store import has_table
from confiance.wording import account_name

MAP_WIDTH, MAP_HEIGHT, MAP_PADDING = 1100, 720, 16
MAP_MAX_NODES = 3000
MAP_MAX_EDGES = 4000
MAP_LABELS = 12
LEGEND_COMMUNITIES = len(PALETTE)
OTHER_COLOUR = "#bcc6ce"
_MIN_RADIUS, _MAX_RADIUS = 1.2, 6.0
#: A map label's size in the drawing's units (11 px sans-serif: about 0.62 em a character, 13 px a line).
_LABEL_CHAR_WIDTH, _LABEL_HEIGHT = 6.8, 13.0


def _community_colours(con: duckdb.DuckDBPyConnection) -> tuple[dict[Any, str], list[dict[str, Any]]]:
    """Colours of the largest communities (the legend) by size; the rest share a grey."""
    if not has_table(con, "communities"):
        return {}, []
    if has_table(con, "community_profiles"):
        rows = _rows(con, "SELECT community, size, top_hashtags, top_accounts FROM community_profiles "
                          "WHERE size > 1 ORDER BY size DESC, community LIMIT ?", [LEGEND_COMMUNITIES])
    else:
        rows = _rows(con, "SELECT community, count(*) AS size, [] AS top_hashtags, [] AS top_accounts FROM communities "
                          "GROUP BY community HAVING count(*) > 1 ORDER BY size DESC, community LIMIT ?",
                     [LEGEND_COMMUNITIES])
    colours = {row["community"]: PALETTE[i] for i, row in enumerate(rows)}
    legend = [{"community": r["community"], "size": r["size"], "colour": colours[r["community"]],
               "hashtags": list(r["top_hashtags"] or [])[:3], "accounts": list(r["top_accounts"] or [])[:2]}
              for r in rows]
    return colours, legend


def _place_labels(drawn: list[dict[str, Any]], texts: list[str]) -> list[dict[str, Any]]:
    """Up to ``MAP_LABELS`` labels above the first nodes (the most influential), skipping one whose box
    would overlap a label already placed (two hubs side by side printed one name over the other), and
    kept inside the frame."""
    placed: list[dict[str, Any]] = []
    boxes: list[tuple[float, float, float, float]] = []
    for node, text in zip(drawn, texts):
        if len(placed) == MAP_LABELS:
            break
        half = _LABEL_CHAR_WIDTH * len(text) / 2
        x = min(max(node["x"], half), MAP_WIDTH - half)
        y = round(max(node["y"] - node["r"] - 2, _LABEL_HEIGHT), 1)  # y is the text's baseline
        box = (x - half, y - _LABEL_HEIGHT, x + half, y)
        if any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in boxes):
            continue
        boxes.append(box)
        placed.append({"x": round(x, 1), "y": y, "text": text})
    return placed


def collect_community_map(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """Nodes placed by the stored layout, coloured by community, sized by influence (1–6 px).

    At most ``MAP_MAX_NODES`` nodes (the most influential, else those of highest degree) and a
    repeatable sample of ``MAP_MAX_EDGES`` edges among them, drawn faint under the nodes.
    """
    if not has_table(con, "graph_layout"):
        return None
    has_communities = has_table(con, "communities")
    has_influence = has_table(con, "influence_scores")
    community = ("c.community" if has_communities else "NULL")
    influence = ("i.influence" if has_influence else "NULL")
    handle = ("coalesce(i.handle, a.handle, l.account_id)" if has_influence else "coalesce(a.handle, l.account_id)")
    joins = ["LEFT JOIN accounts a ON a.platform = l.platform AND a.account_id = l.account_id"]
    if has_communities:
        joins.append("LEFT JOIN communities c ON c.platform = l.platform AND c.account_id = l.account_id")
    if has_influence:
        joins.append("LEFT JOIN influence_scores i ON i.platform = l.platform AND i.account_id = l.account_id")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _map_nodes AS "
        "WITH degree AS (SELECT platform, account_id, sum(weight) AS strength FROM ("
        "  SELECT platform, src AS account_id, weight FROM graph_edges UNION ALL"
        "  SELECT platform, dst, weight FROM graph_edges) GROUP BY ALL) "
        f"SELECT l.platform, l.account_id, l.x, l.y, {community} AS community, {influence} AS influence, "
        f"       {handle} AS handle, coalesce(d.strength, 0) AS strength "
        f"FROM graph_layout l {' '.join(joins)} "
        "LEFT JOIN degree d ON d.platform = l.platform AND d.account_id = l.account_id "
        "WHERE isfinite(l.x) AND isfinite(l.y) "
        "ORDER BY influence DESC NULLS LAST, strength DESC, l.platform, l.account_id LIMIT ?",
        [MAP_MAX_NODES],
    )
    try:
        nodes = _rows(con, "SELECT * FROM _map_nodes")
        edges = con.execute(
            "WITH pairs AS (SELECT e.platform, least(e.src, e.dst) AS a, greatest(e.src, e.dst) AS b "
            "  FROM graph_edges e SEMI JOIN _map_nodes s ON s.platform = e.platform AND s.account_id = e.src "
            "  SEMI JOIN _map_nodes t ON t.platform = e.platform AND t.account_id = e.dst GROUP BY ALL) "
            "SELECT s.x, s.y, t.x, t.y FROM pairs p "
            "JOIN _map_nodes s ON s.platform = p.platform AND s.account_id = p.a "
            "JOIN _map_nodes t ON t.platform = p.platform AND t.account_id = p.b "
            "ORDER BY hash(p.platform, p.a, p.b), p.platform, p.a, p.b LIMIT ?",
            [MAP_MAX_EDGES],
        ).fetchall()
        total_nodes = con.execute("SELECT count(*) FROM graph_layout").fetchall()[0][0]
        total_pairs = con.execute(
            "SELECT count(*) FROM (SELECT DISTINCT platform, least(src, dst), greatest(src, dst) FROM graph_edges)"
        ).fetchall()[0][0]
    finally:
        con.execute("DROP TABLE IF EXISTS _map_nodes")
    if not total_nodes:
        return {"not_enough": i18n.gettext("the account graph has no edges: no reply, repost, quote or mention "
                                           "between two different accounts")}
    if not nodes:
        return None
    colours, legend = _community_colours(con)

    xs = [n["x"] for n in nodes]
    ys = [n["y"] for n in nodes]
    span = max(max(xs) - min(xs), max(ys) - min(ys)) or 1.0
    scale = min(MAP_WIDTH - 2 * MAP_PADDING, MAP_HEIGHT - 2 * MAP_PADDING) / span
    # keep the aspect ratio; centre the drawing in the frame
    x0 = MAP_WIDTH / 2 - scale * (max(xs) + min(xs)) / 2
    y0 = MAP_HEIGHT / 2 + scale * (max(ys) + min(ys)) / 2

    def px(x: float, y: float) -> tuple[float, float]:
        return round(x0 + scale * x, 1), round(y0 - scale * y, 1)

    top = max((n["influence"] for n in nodes if n["influence"] is not None), default=None)
    top_strength = max(n["strength"] for n in nodes) or 1.0
    drawn = []
    for n in nodes:
        share = (n["influence"] / top if top and n["influence"] is not None else
                 (n["strength"] / top_strength if top is None else 0.0))
        radius = _MIN_RADIUS + (_MAX_RADIUS - _MIN_RADIUS) * math.sqrt(max(share, 0.0))
        x, y = px(n["x"], n["y"])
        community = ("" if n["community"] is None else
                     " · " + i18n.gettext("community %(community)s", community=n["community"]))
        drawn.append({"x": x, "y": y, "r": round(radius, 1), "colour": colours.get(n["community"], OTHER_COLOUR),
                      "title": account_name(n["handle"]) + community})
    labels = _place_labels(drawn, [account_name(str(n["handle"])) for n in nodes])
    lines = [(*px(a, b), *px(c, d)) for a, b, c, d in edges]
    return {
        "width": MAP_WIDTH, "height": MAP_HEIGHT,
        "nodes": sorted(drawn, key=lambda d: d["r"]),  # the largest are drawn last, on top
        "edges": lines, "labels": labels, "legend": legend,
        "shown_nodes": len(nodes), "total_nodes": total_nodes,
        "shown_edges": len(lines), "total_edges": total_pairs,
        "sized_by": N_("influence") if top is not None else N_("weighted degree"),
    }


def collect_communities(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    if not has_table(con, "community_profiles"):
        return None
    colours, _ = _community_colours(con)
    totals = next(iter(con.execute(
        "SELECT count(*), count(*) FILTER (WHERE size = 1), coalesce(sum(size), 0) FROM community_profiles"
    ).fetchall()), None)
    rows = _rows(con, "SELECT community, size, top_accounts, top_hashtags, top_domains, top_terms, languages, "
                      "first_post, last_post FROM community_profiles WHERE size > 1 "
                      "ORDER BY size DESC, community LIMIT 25")
    # the profile's hashtags, domains and terms come from its members' own posts (reposts left out)
    posts = {community: (total, own) for community, total, own in con.execute(
        "SELECT c.community, count(p.post_id), count(p.post_id) FILTER (WHERE p.kind <> 'repost') FROM communities c "
        "JOIN posts p ON p.platform = c.platform AND p.account_id = c.account_id GROUP BY c.community").fetchall()}
    for row in rows:
        row["colour"] = colours.get(row["community"])
        total, own = posts.get(row["community"], (0, 0))
        row["empty_why"] = (i18n.gettext("no post by its members in the corpus") if not total else
                            i18n.gettext("its members only repost: no hashtag, domain or term of their own")
                            if not own else None)
        row["languages"] = [
            f"{i18n.language_name(item['lang'])} {i18n.number(round(100 * item['share']))} %" for item in (row["languages"] or [])[:3]
            if isinstance(item, dict) and item.get("share") is not None
        ]
        for key in ("top_accounts", "top_hashtags", "top_domains", "top_terms"):
            row[key] = list(row[key] or [])[:6]
    return {"communities": totals[0], "singletons": totals[1], "accounts": totals[2], "rows": rows}


def collect_influencers(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    if not has_table(con, "influence_scores"):
        return None
    from confiance.influence.scores import COMPONENTS, influencers

    rows = influencers(con, top=20)
    for row in rows:
        posts = row["evidence"]["example_posts"]
        row["excerpt"] = posts[0]["text"] if posts else ""
        row["engagers"] = [f"@{e['handle']}" if e.get("handle") else str(e.get("account_id", ""))
                           for e in row["evidence"]["top_engagers"][:3]]
        row["values"] = {name: _short_number(row.get(name)) for name in COMPONENTS}
        if row.get("engagement_rate") is not None:  # a share of followers, written as the accounts section does
            row["values"]["engagement_rate"] = f"{i18n.fixed(100 * row['engagement_rate'], 2)} %"
        if row.get("active_weeks_share") is not None:  # a share of weeks, beside a rate in percent: in percent too
            row["values"]["active_weeks_share"] = i18n.percent(100 * row["active_weeks_share"])
        row["why"] = row["explanation"]  # the weighted components and the community standing, as in --json
        # brand and automated accounts stay visible where their score puts them, with the reason, unranked
        row["rank"] = row["influencer_rank"] if row["excluded"] is None else "–"
        if row["excluded"]:
            row["why"] = i18n.gettext("not ranked as an influencer: %(reason)s", reason=row["excluded"])
    # a follow-only graph or a handful of unengaged posts: every score is 0 and the order means nothing
    return {"rows": rows, "components": {name: i18n.translate(meaning) for name, meaning in COMPONENTS.items()},
            "no_signal": bool(rows) and not any(r["influence"] for r in rows),
            "component_labels": {name: component_label(name) for name in COMPONENTS}}


#: How the influencers table heads each component (English: its name with spaces).
COMPONENT_LABELS = {"followers": N_("followers"), "unique_engagers": N_("unique engagers"),
                    "engagement_per_post": N_("engagement per post"), "amplification": N_("amplification"),
                    "authority": N_("authority"), "engagement_rate": N_("engagement rate"), "coreness": N_("coreness"),
                    "active_weeks_share": N_("active weeks share")}


def component_label(name: str) -> str:
    return i18n.label(COMPONENT_LABELS, name)


def _short_number(value: Any) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        return "–"  # not measured (e.g. Bluesky post views carry no follower count)
    if float(value).is_integer():
        return i18n.number(int(value))
    return i18n.fixed(value, 3) if abs(value) < 1 else i18n.fixed(value, 1) if abs(value) < 100 else i18n.number(value)


def polarization_reason(scores: dict[str, Any]) -> str | None:
    """Why there is no polarisation score, in the report's language: the stored English sentence written
    again from its figures (the component is the two sides' accounts; k as the sentence gives it)."""
    from confiance.graph.polarization import RWC_K, component_inadequacy

    reason = scores["reason"]
    if reason is None or i18n.current() == i18n.LANGUAGES[0]:
        return reason
    k = int(found.group(1)) if (found := re.search(r"with k = (\d+)", reason)) else RWC_K
    component = sum(side.get("size") or 0 for side in scores["sides"])
    figures = (component, scores["accounts_with_edges"] or 0)
    with i18n.using(i18n.LANGUAGES[0]):
        same = figures[1] > 0 and component_inadequacy(*figures, k=k) == reason
    return component_inadequacy(*figures, k=k) if same else reason  # a sentence of an older version stays as written


def collect_polarization(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    from confiance.graph.polarization import polarization_summary

    if not has_table(con, "polarization"):
        return None
    summary = _rows(con, "SELECT * FROM polarization LIMIT 1")
    if not summary:
        return None
    row = summary[0]
    stored_sides = row.get("sides")
    if isinstance(stored_sides, str):
        stored_sides = orjson.loads(stored_sides)
    has_influence = has_table(con, "influence_scores")
    sides = []
    if has_table(con, "account_bridging"):
        order = "i.influence DESC NULLS LAST, " if has_influence else ""
        join = ("LEFT JOIN influence_scores i ON i.platform = b.platform AND i.account_id = b.account_id "
                if has_influence else "")
        sides = _rows(con,
                      "SELECT b.side, count(*) AS size, "
                      f"  list(coalesce(a.handle, b.account_id) ORDER BY {order}b.bridging ASC NULLS LAST, b.account_id)[1:6] "
                      "  AS top_accounts "
                      "FROM account_bridging b LEFT JOIN accounts a ON a.platform = b.platform AND a.account_id = b.account_id "
                      f"{join}WHERE b.side IS NOT NULL GROUP BY b.side ORDER BY size DESC, b.side")
    if isinstance(stored_sides, list) and stored_sides and all(isinstance(s, dict) and "size" in s for s in stored_sides):
        sides = stored_sides  # as the analysis wrote them (leading accounts by degree)
    scores = polarization_summary(con)
    sides = [s for s in sides if s.get("size")]  # an empty side (no graph, one account) is no side to list
    if scores["reason"] and len(sides) < 2:
        sides = []  # not a split: the reason says why, a table of one side or none would only confuse
    return {"rwc": scores["rwc"], "modularity": scores["modularity"], "ei_index": scores["ei_index"],
            "reason": polarization_reason(scores), "note": scores["note"] and i18n.translate(scores["note"]),
            "nodes": scores["nodes"],
            "accounts_with_edges": scores["accounts_with_edges"], "sides": sides, "bridges": scores["bridges"]}


register_section(Section("community-map", N_("Community map"), 50, "community_map.html", collect_community_map))
register_section(Section("communities", N_("Communities"), 51, "communities.html", collect_communities))
register_section(Section("influencers", N_("Influencers"), 52, "influencers.html", collect_influencers))
register_section(Section("polarization", N_("Polarisation and bridging"), 53, "polarization.html", collect_polarization))
