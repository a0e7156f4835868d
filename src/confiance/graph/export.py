"""Graph files for Gephi, networkx, igraph, Cytoscape…: GEXF 1.3 and GraphML.

Both files hold the cached account graph (``graph_edges``; one edge per platform, source, target and
interaction kind, so two accounts linked by reposts and replies get two parallel edges, told apart by
``kind``) and, per account, what the analyses found, as typed node attributes:

- ``platform``, ``account_id``, ``handle`` (also the node ``label``), ``followers``;
- ``community`` (``communities``), ``side``, ``bridging``, ``participation`` (``account_bridging``);
- ``influence``, ``rank``, ``amplification`` (PageRank on reposts), ``authority``, ``unique_engagers``,
  ``engagement_rate``, ``coreness`` (``influence_scores``);
- ``x``, ``y`` (``graph_layout``; in GEXF as ``viz:position``, with ``viz:color`` by community and
  ``viz:size`` by influence);
- the scalar node attributes an imported graph file carried (ground-truth labels such as karate's
  ``club``), kept under their own names (``source_NAME`` where a name is already taken).

An attribute whose analysis has not run is still declared, and left empty on every node. Node ids
are the account ids when the graph has one platform, else ``platform:account_id``; the ``platform``
and ``account_id`` attributes always hold both parts. Every text is escaped and stripped of the
characters XML 1.0 forbids. Files are streamed: memory holds the nodes, not the edges.

Readers checked by the tests: networkx reads both files; igraph, which has no GEXF reader, reads the
GraphML file with the same values (an attribute a node lacks comes back as igraph's blank: NaN, "" or
False, so a missing boolean there reads as false).

References
----------
GEXF 1.3 specification, https://gexf.net/ (GEXF Working Group, 2022).
Brandes, U. et al. (2013). Graph markup language (GraphML). Handbook of Graph Drawing and
Visualization, CRC Press, 517–541.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Sequence, TextIO
from xml.sax.saxutils import escape, quoteattr

import duckdb
import orjson

from confiance import __version__
from confiance.errors import ConfianceError

GRAPH_FORMATS = ("gexf", "graphml")
GEXF_VERSIONS = {
    "1.3": ("http://gexf.net/1.3", "http://gexf.net/1.3/viz", "http://gexf.net/1.3/gexf.xsd", "1.3"),
    "1.2draft": ("http://www.gexf.net/1.2draft", "http://www.gexf.net/1.2draft/viz",
                 "http://www.gexf.net/1.2draft/gexf.xsd", "1.2"),
}
PALETTE = ((59, 110, 168), (209, 96, 61), (79, 154, 91), (142, 94, 162), (201, 162, 39), (47, 143, 157),
           (181, 72, 93), (107, 107, 107))
_OTHER_COLOUR = (190, 198, 206)
_MAX_SOURCE_ATTRIBUTES = 64
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

__all__ = ["write_gexf", "write_graphml", "export_graph", "graph_nodes", "GRAPH_FORMATS"]


@dataclass(frozen=True)
class Attribute:
    name: str
    type: str  # "string", "long", "double" or "boolean" (same words in GEXF and GraphML)


@dataclass
class GraphNodes:
    attributes: list[Attribute]
    ids: list[str]
    labels: list[str]
    values: list[dict[str, Any]]  # per node, attribute name -> value (absent when empty)
    positions: list[tuple[float, float] | None]
    colours: list[tuple[int, int, int]]
    sizes: list[float]


# (table, column, SQL type when the table or column is absent, attribute name)
_ANALYSIS_COLUMNS = (
    ("communities", "community", "BIGINT", "community"),
    ("account_bridging", "side", "VARCHAR", "side"),
    ("account_bridging", "bridging", "DOUBLE", "bridging"),
    ("account_bridging", "participation", "DOUBLE", "participation"),
    ("influence_scores", "influence", "DOUBLE", "influence"),
    ("influence_scores", "rank", "BIGINT", "rank"),
    ("influence_scores", "amplification", "DOUBLE", "amplification"),
    ("influence_scores", "authority", "DOUBLE", "authority"),
    ("influence_scores", "unique_engagers", "BIGINT", "unique_engagers"),
    ("influence_scores", "engagement_rate", "DOUBLE", "engagement_rate"),
    ("influence_scores", "coreness", "DOUBLE", "coreness"),
    ("graph_layout", "x", "DOUBLE", "x"),
    ("graph_layout", "y", "DOUBLE", "y"),
)
_ALIASES = {"communities": "c", "account_bridging": "b", "influence_scores": "i", "graph_layout": "l"}


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' AND table_name = ?", [table]
    ).fetchall()
    return {r[0] for r in rows}


def _sql_type_to_attribute(type_name: str) -> str:
    t = type_name.upper()
    if t == "BOOLEAN":
        return "boolean"
    if any(t.startswith(p) for p in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                                     "UINTEGER", "UBIGINT")):
        return "long"
    if t.startswith(("DOUBLE", "FLOAT", "REAL", "DECIMAL")):
        return "double"
    return "string"


def _kind_filter(kinds: Sequence[str] | None) -> tuple[str, list[Any]]:
    if not kinds:
        return "true", []
    from confiance.graph.build import KINDS

    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ConfianceError(f"unknown interaction kinds: {sorted(unknown)}; known: {', '.join(KINDS)}")
    return "kind IN (SELECT unnest(?))", [list(kinds)]


def graph_nodes(con: duckdb.DuckDBPyConnection, *, kinds: Sequence[str] | None = None) -> GraphNodes:
    """The accounts of the cached graph with every attribute the analyses give them."""
    if not _columns(con, "graph_edges"):
        raise ConfianceError("no account graph yet: run `confiance analyze` first")
    condition, params = _kind_filter(kinds)
    selects, joins = [], []
    present: dict[str, set[str]] = {t: _columns(con, t) for t in _ALIASES}
    for table, alias in _ALIASES.items():
        if {"platform", "account_id"} <= present[table]:
            joins.append(f"LEFT JOIN {table} {alias} ON {alias}.platform = n.platform AND {alias}.account_id = n.account_id")
    for table, column, fallback, name in _ANALYSIS_COLUMNS:
        usable = {"platform", "account_id", column} <= present[table]
        selects.append(f"{_ALIASES[table]}.{column} AS {name}" if usable else f"NULL::{fallback} AS {name}")
    followers = "coalesce(i.followers, a.followers)" if "followers" in present["influence_scores"] else "a.followers"
    sql = (
        f"WITH e AS (SELECT platform, src, dst FROM graph_edges WHERE {condition}), "
        "n AS (SELECT platform, src AS account_id FROM e UNION SELECT platform, dst FROM e) "
        f"SELECT n.platform, n.account_id, a.handle, {followers}::BIGINT AS followers, {', '.join(selects)}, "
        "a.attributes::VARCHAR AS source_attributes "
        f"FROM n LEFT JOIN accounts a ON a.platform = n.platform AND a.account_id = n.account_id {' '.join(joins)} "
        "ORDER BY n.platform, n.account_id"
    )
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    types = {d[0]: str(d[1]) for d in cursor.description}
    rows = cursor.fetchall()

    fixed = ["platform", "account_id", "handle", "followers"] + [c[3] for c in _ANALYSIS_COLUMNS]
    attributes = [Attribute(name, _sql_type_to_attribute(types[name])) for name in fixed if name not in ("x", "y")]
    attributes += [Attribute("x", "double"), Attribute("y", "double")]
    taken = {a.name for a in attributes} | {"id", "label", "graph_directed"}
    source_names: dict[str, str] = {}
    source_kinds: dict[str, set[str]] = {}
    parsed: list[dict[str, Any]] = []
    for row in rows:
        raw = row[-1]
        extras = orjson.loads(raw) if raw else {}
        extras = extras if isinstance(extras, dict) else {}
        kept = {}
        for key, value in extras.items():
            if key == "graph_directed" or value is None:
                continue
            if key not in source_names:
                if len(source_names) >= _MAX_SOURCE_ATTRIBUTES:
                    continue
                name = key if key not in taken else f"source_{key}"
                if not re.fullmatch(r"[A-Za-z_][\w.\-]{0,63}", name):
                    continue
                source_names[key] = name
                taken.add(name)
            kept[source_names[key]] = value
            source_kinds.setdefault(source_names[key], set()).add(_python_kind(value))
        parsed.append(kept)
    for name in source_names.values():
        kinds_seen = source_kinds.get(name, set())
        attribute_type = ("boolean" if kinds_seen == {"boolean"} else "long" if kinds_seen == {"long"}
                          else "double" if kinds_seen and kinds_seen <= {"long", "double"} else "string")
        attributes.append(Attribute(name, attribute_type))

    platforms = {row[0] for row in rows}
    single_platform = len(platforms) <= 1
    community_rank = _community_rank([row[names.index("community")] for row in rows])
    influence = [row[names.index("influence")] for row in rows]
    top = max((v for v in influence if _finite(v)), default=0.0) or 1.0
    nodes = GraphNodes(attributes, [], [], [], [], [], [])
    for row, extras in zip(rows, parsed):
        record = dict(zip(names, row))
        platform, account_id = record["platform"], record["account_id"]
        nodes.ids.append(account_id if single_platform else f"{platform}:{account_id}")
        nodes.labels.append(record["handle"] or account_id)
        values = {a.name: _typed(record.get(a.name), a.type) for a in attributes if a.name in record}
        for a in attributes[len(fixed):]:
            if a.name in extras:
                values[a.name] = _typed(extras[a.name], a.type)
        nodes.values.append({k: v for k, v in values.items() if v is not None})
        x, y = record["x"], record["y"]
        nodes.positions.append((x, y) if _finite(x) and _finite(y) else None)
        slot = community_rank.get(record["community"])
        nodes.colours.append(PALETTE[slot] if slot is not None and slot < len(PALETTE) else _OTHER_COLOUR)
        share = record["influence"] / top if _finite(record["influence"]) and top > 0 else 0.0
        nodes.sizes.append(round(2.0 + 18.0 * math.sqrt(max(share, 0.0)), 3))
    return nodes


def _community_rank(communities: list[Any]) -> dict[Any, int]:
    """Communities ordered by size (largest first), for colours."""
    counts: dict[Any, int] = {}
    for c in communities:
        if c is not None:
            counts[c] = counts.get(c, 0) + 1
    return {c: i for i, c in enumerate(sorted(counts, key=lambda c: (-counts[c], str(c))))}


def _python_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "double"
    return "string"


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _typed(value: Any, attribute_type: str) -> Any:
    """A value as its declared type, or None (empty) when it has none."""
    if value is None:
        return None
    if attribute_type == "double":
        return float(value) if _finite(value) else None
    if attribute_type == "long":
        return int(value) if isinstance(value, int) and not isinstance(value, bool) else None
    if attribute_type == "boolean":
        return bool(value) if isinstance(value, bool) else None
    if isinstance(value, (dict, list)):
        return orjson.dumps(value).decode()
    return str(value)


def _text(value: Any) -> str:
    """XML-safe text of one value (escaping is left to the caller's escape/quoteattr)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return _XML_ILLEGAL.sub("\ufffd", str(value))


def _attr(value: Any) -> str:
    return quoteattr(_text(value))


def _edges(con: duckdb.DuckDBPyConnection, kinds: Sequence[str] | None, single_platform: bool,
           batch_size: int = 100_000) -> Iterator[tuple[str, str, str, float, int]]:
    condition, params = _kind_filter(kinds)
    reader = con.sql(
        "SELECT platform, src, dst, kind, weight, interactions FROM graph_edges "
        f"WHERE {condition} ORDER BY platform, src, dst, kind", params=params or None
    ).to_arrow_reader(batch_size)
    for batch in reader:
        columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
        for platform, src, dst, kind, weight, interactions in zip(*columns):
            if single_platform:
                yield src, dst, kind, float(weight), int(interactions)
            else:
                yield f"{platform}:{src}", f"{platform}:{dst}", kind, float(weight), int(interactions)


def _single_platform(nodes: GraphNodes) -> bool:
    return len({v.get("platform") for v in nodes.values}) <= 1


def write_gexf(con: duckdb.DuckDBPyConnection, path: Path | str, *, kinds: Sequence[str] | None = None,
               version: str = "1.3") -> dict[str, int]:
    """Write the account graph as GEXF (default 1.3; ``version="1.2draft"`` for older readers).

    Parameters
    ----------
    con : duckdb connection (read-only is enough)
    path : target file (written to ``PATH.partial`` first, then renamed)
    kinds : interaction kinds to keep (default all)
    version : ``"1.3"`` or ``"1.2draft"``

    Returns
    -------
    dict with ``nodes``, ``edges`` and ``node_attributes`` counts.
    """
    if version not in GEXF_VERSIONS:
        raise ConfianceError(f"unknown GEXF version {version!r}; choose from {', '.join(GEXF_VERSIONS)}")
    namespace, viz, schema, number = GEXF_VERSIONS[version]
    nodes = graph_nodes(con, kinds=kinds)
    single = _single_platform(nodes)
    ids = {a.name: str(i) for i, a in enumerate(nodes.attributes)}
    with _atomic(path) as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        out.write(f'<gexf xmlns={quoteattr(namespace)} xmlns:viz={quoteattr(viz)} '
                  f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                  f'xsi:schemaLocation={quoteattr(namespace + " " + schema)} version="{number}">\n')
        today = datetime.now(timezone.utc).date().isoformat()
        out.write(f'  <meta lastmodifieddate="{today}"><creator>confiance {escape(__version__)}</creator>'
                  '<description>account interaction graph with communities, polarisation and influence scores'
                  '</description></meta>\n')
        out.write('  <graph defaultedgetype="directed" mode="static">\n')
        out.write('    <attributes class="node" mode="static">\n')
        for a in nodes.attributes:
            out.write(f'      <attribute id="{ids[a.name]}" title={_attr(a.name)} type="{a.type}"/>\n')
        out.write('    </attributes>\n    <attributes class="edge" mode="static">\n'
                  '      <attribute id="kind" title="kind" type="string"/>\n'
                  '      <attribute id="interactions" title="interactions" type="long"/>\n'
                  '    </attributes>\n    <nodes>\n')
        for node_id, label, values, position, colour, size in zip(nodes.ids, nodes.labels, nodes.values,
                                                                   nodes.positions, nodes.colours, nodes.sizes):
            out.write(f"      <node id={_attr(node_id)} label={_attr(label)}><attvalues>")
            out.write("".join(f'<attvalue for="{ids[k]}" value={_attr(v)}/>' for k, v in values.items()))
            out.write("</attvalues>")
            out.write(f'<viz:color r="{colour[0]}" g="{colour[1]}" b="{colour[2]}"/><viz:size value="{size!r}"/>')
            if position is not None:
                out.write(f'<viz:position x="{position[0] * 1000:.3f}" y="{position[1] * 1000:.3f}" z="0.0"/>')
            out.write("</node>\n")
        out.write("    </nodes>\n    <edges>\n")
        count = 0
        native_kind = version == "1.3"  # GEXF 1.3 tells parallel edges apart by their kind
        for src, dst, kind, weight, interactions in _edges(con, kinds, single):
            kind_xml = f" kind={_attr(kind)}" if native_kind else ""
            out.write(f'      <edge id="e{count}" source={_attr(src)} target={_attr(dst)} weight="{weight!r}"{kind_xml}>'
                      f'<attvalues><attvalue for="kind" value={_attr(kind)}/>'
                      f'<attvalue for="interactions" value="{interactions}"/></attvalues></edge>\n')
            count += 1
        out.write("    </edges>\n  </graph>\n</gexf>\n")
    return {"nodes": len(nodes.ids), "edges": count, "node_attributes": len(nodes.attributes)}


def write_graphml(con: duckdb.DuckDBPyConnection, path: Path | str, *,
                  kinds: Sequence[str] | None = None) -> dict[str, int]:
    """Write the account graph as GraphML, every node attribute a typed ``<key>`` (and ``label``).

    Returns
    -------
    dict with ``nodes``, ``edges`` and ``node_attributes`` counts.
    """
    nodes = graph_nodes(con, kinds=kinds)
    single = _single_platform(nodes)
    keys = {a.name: f"n{i}" for i, a in enumerate(nodes.attributes)}
    with _atomic(path) as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n'
                  '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
                  'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                  'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
                  'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">\n')
        out.write('  <key id="label" for="node" attr.name="label" attr.type="string"/>\n')
        for a in nodes.attributes:
            out.write(f'  <key id="{keys[a.name]}" for="node" attr.name={_attr(a.name)} attr.type="{a.type}"/>\n')
        out.write('  <key id="weight" for="edge" attr.name="weight" attr.type="double"/>\n'
                  '  <key id="kind" for="edge" attr.name="kind" attr.type="string"/>\n'
                  '  <key id="interactions" for="edge" attr.name="interactions" attr.type="long"/>\n')
        out.write('  <graph id="accounts" edgedefault="directed">\n')
        for node_id, label, values in zip(nodes.ids, nodes.labels, nodes.values):
            out.write(f'    <node id={_attr(node_id)}><data key="label">{escape(_text(label))}</data>')
            out.write("".join(f'<data key="{keys[k]}">{escape(_text(v))}</data>' for k, v in values.items()))
            out.write("</node>\n")
        count = 0
        for src, dst, kind, weight, interactions in _edges(con, kinds, single):
            out.write(f'    <edge id="e{count}" source={_attr(src)} target={_attr(dst)}>'
                      f'<data key="weight">{weight!r}</data><data key="kind">{escape(_text(kind))}</data>'
                      f'<data key="interactions">{interactions}</data></edge>\n')
            count += 1
        out.write("  </graph>\n</graphml>\n")
    return {"nodes": len(nodes.ids), "edges": count, "node_attributes": len(nodes.attributes)}


def export_graph(con: duckdb.DuckDBPyConnection, fmt: str, path: Path | str, *,
                 kinds: Sequence[str] | None = None) -> dict[str, int]:
    """``confiance export gexf|graphml``: one graph file."""
    if fmt == "gexf":
        return write_gexf(con, path, kinds=kinds)
    if fmt == "graphml":
        return write_graphml(con, path, kinds=kinds)
    raise ConfianceError(f"unknown graph format {fmt!r}; choose from {', '.join(GRAPH_FORMATS)}")


class _atomic:
    """Write to PATH.partial and rename on success, so a reader never sees half a file."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.partial = self.path.with_name(self.path.name + ".partial")
        self.handle: TextIO | None = None

    def __enter__(self) -> TextIO:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(self.partial, "w", encoding="utf-8", newline="\n")
        return self.handle

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self.handle is not None
        self.handle.close()
        if exc_type is None:
            self.partial.replace(self.path)
        else:
            self.partial.unlink(missing_ok=True)
