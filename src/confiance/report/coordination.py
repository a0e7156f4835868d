"""Report section of coordinated behaviour: the groups drawn as a small network, and the evidence.

Each group gets a cell of a grid; its accounts sit on a circle inside the cell, and its edges are
drawn coloured by kind. Inline SVG, every label escaped by Jinja's autoescape.
"""

from __future__ import annotations

import math
from typing import Any

import duckdb

from confiance import i18n
from confiance.i18n import N_
from confiance.report.charts import PALETTE
from confiance.report.sections import Section, _rows, register_section
from confiance.store import has_table
from confiance.wording import account_name

MAX_GROUPS = 12
MAX_MEMBERS = 24  # accounts drawn per group (the rest are counted)
CELL, COLUMNS = 260, 4
EVIDENCE_ROWS = 40
EVIDENCE_POSTS = 6
KIND_COLOURS = {"co_repost": PALETTE[0], "co_link": PALETTE[1], "co_hashtag": PALETTE[2], "co_reply": PALETTE[3],
                "near_duplicate_text": PALETTE[4]}
#: How the report names each kind of edge (English: the kind itself, as the CLI and the tables name it).
KIND_LABELS = {"co_repost": N_("co_repost"), "co_link": N_("co_link"), "co_hashtag": N_("co_hashtag"),
               "co_reply": N_("co_reply"), "near_duplicate_text": N_("near_duplicate_text")}


def kind_label(kind: str) -> str:
    return i18n.translate(KIND_LABELS[kind]) if kind in KIND_LABELS else kind


def collect_coordination(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    if not has_table(con, "coordination_groups") or not has_table(con, "coordination_edges"):
        return None
    groups = _rows(con, "SELECT group_id, platform, size, kinds, edges, first_at, last_at "
                        "FROM coordination_group_profiles ORDER BY group_id LIMIT ?", [MAX_GROUPS]) \
        if has_table(con, "coordination_group_profiles") else []
    for g in groups:
        g["kinds"] = [kind_label(k) for k in g["kinds"] or []]
    members = _rows(con, "SELECT g.group_id, g.platform, g.account_id, coalesce(a.handle, g.account_id) AS handle "
                         "FROM coordination_groups g LEFT JOIN accounts a USING (platform, account_id) "
                         "WHERE g.group_id < ? ORDER BY g.group_id, g.account_id", [MAX_GROUPS])
    edges = _rows(con, "SELECT e.platform, e.a, e.b, e.kind, e.weight, e.evidence, "
                       "coalesce(x.handle, e.a) AS handle_a, coalesce(y.handle, e.b) AS handle_b "
                       "FROM coordination_edges e "
                       "LEFT JOIN accounts x ON x.platform = e.platform AND x.account_id = e.a "
                       "LEFT JOIN accounts y ON y.platform = e.platform AND y.account_id = e.b "
                       "ORDER BY e.weight DESC, e.platform, e.a, e.b, e.kind")
    total_groups = con.execute("SELECT count(DISTINCT group_id) FROM coordination_groups").fetchall()[0][0]
    position: dict[tuple[str, str], tuple[float, float]] = {}
    cells = []
    by_group: dict[int, list[dict[str, Any]]] = {}
    for m in members:
        by_group.setdefault(m["group_id"], []).append(m)
    for slot, (gid, accounts) in enumerate(sorted(by_group.items())):
        cx = (slot % COLUMNS) * CELL + CELL / 2
        cy = (slot // COLUMNS) * CELL + CELL / 2
        shown = accounts[:MAX_MEMBERS]
        radius = CELL * 0.32
        nodes = []
        for k, m in enumerate(shown):
            angle = 2 * math.pi * k / len(shown)
            x, y = round(cx + radius * math.cos(angle), 1), round(cy + radius * math.sin(angle), 1)
            position[(m["platform"], m["account_id"])] = (x, y)
            nodes.append({"x": x, "y": y, "title": account_name(m["handle"])})
        cells.append({"id": gid, "x": cx, "y": cy - CELL / 2 + 14, "nodes": nodes,
                      "hidden": len(accounts) - len(shown), "size": len(accounts)})
    lines = []
    for e in edges:
        a, b = position.get((e["platform"], e["a"])), position.get((e["platform"], e["b"]))
        if a and b:
            lines.append({"x1": a[0], "y1": a[1], "x2": b[0], "y2": b[1], "colour": KIND_COLOURS[e["kind"]],
                          "width": round(min(1 + math.log2(e["weight"]), 5), 1),
                          "title": f"{account_name(e['handle_a'])} – {account_name(e['handle_b'])} · {kind_label(e['kind'])} · {e['weight']}"})
    rows = int(math.ceil(len(cells) / COLUMNS)) or 1
    evidence = [{"a": e["handle_a"], "b": e["handle_b"], "platform": e["platform"], "kind": kind_label(e["kind"]),
                 "weight": e["weight"], "posts": list(e["evidence"])[:EVIDENCE_POSTS],
                 "more": max(len(e["evidence"]) - EVIDENCE_POSTS, 0)} for e in edges[:EVIDENCE_ROWS]]
    return {"width": COLUMNS * CELL, "height": rows * CELL, "cells": cells, "lines": lines, "groups": groups,
            "total_groups": total_groups, "total_edges": len(edges), "evidence": evidence,
            "legend": [{"kind": k, "label": kind_label(k), "colour": c} for k, c in KIND_COLOURS.items()]}


register_section(Section("coordination", N_("Coordinated behaviour"), 61, "coordination.html", collect_coordination,
                         missing_hint=N_("run `confiance analyze` (step coordination) or `confiance coordination`")))
