"""GraphML files (networkx, igraph, Gephi, yEd exports), read with defusedxml's SAX parser.

Shape: ``<key id=… for=node|edge|graph|all attr.name=… attr.type=…><default>…</default></key>`` declare
data; ``<graph edgedefault=directed|undirected>`` holds ``<node id=…><data key=…>value</data></node>``
and ``<edge source=… target=… [directed=…]>``. Graphs may nest inside nodes; every node and edge at
any depth is one record, numbered by the line where its element starts.

Quirks handled: data values are converted by their key's ``attr.type``; key defaults fill missing
data; the data whose ``attr.name`` is ``label`` is the handle; data holding child elements (yEd
graphics) are skipped; ``<hyperedge>`` is rejected (no canonical row for it). Mapping shared with GML
and GEXF (see ``_graphs``).
"""

from __future__ import annotations

from typing import Any, Iterator

from confiance.ingest._format import Format, Sample
from confiance.ingest._graphs import GraphEdge, GraphNode, GraphXmlHandler, map_graph_item, read_xml_graph, typed
from confiance.ingest._readers import BadItem, Item, Limits, Opened, Progress


class _Key:
    __slots__ = ("name", "type", "domain", "default")

    def __init__(self, name: str, type_name: str, domain: str):
        self.name, self.type, self.domain = name, type_name, domain
        self.default: Any = None


class _GraphmlHandler(GraphXmlHandler):
    def __init__(self, limits: Limits):
        super().__init__(limits)
        self.keys: dict[str, _Key] = {}
        self.key_in_progress: _Key | None = None
        self.edge_defaults: list[bool] = []  # one per open <graph>
        self.open_items: list[dict[str, Any]] = []  # nodes/edges not yet closed
        self.data_key: str | None = None
        self.data_has_children = False
        self.in_hyperedge = 0

    def open(self, name: str, attrs: Any) -> None:
        if self.data_key is not None:
            self.data_has_children = True
            return
        if self.in_hyperedge:
            self.in_hyperedge += 1
            return
        if name == "key":
            key_id = attrs.get("id", "")
            self.key_in_progress = _Key(attrs.get("attr.name") or key_id, attrs.get("attr.type", "string"),
                                        attrs.get("for", "all"))
            self.keys[key_id] = self.key_in_progress
        elif name == "default" and self.key_in_progress is not None:
            self.text = []
        elif name == "graph":
            self.edge_defaults.append(attrs.get("edgedefault", "directed").lower() != "undirected")
        elif name in ("node", "edge"):
            self.open_items.append({"element": name, "line": self.line, "attrs": dict(attrs), "data": {}})
        elif name == "data" and self.open_items:
            self.data_key = attrs.get("key", "")
            self.data_has_children = False
            self.text = []
        elif name == "hyperedge":
            self.out.append(BadItem(self.line, "GraphML hyperedges are not supported"))
            self.in_hyperedge = 1

    def close(self, name: str) -> None:
        if self.in_hyperedge:
            self.in_hyperedge -= 1
            return
        if name == "data" and self.data_key is not None:
            text = self.take_text()
            if not self.data_has_children:
                key = self.keys.get(self.data_key)
                label = key.name if key else self.data_key
                self.open_items[-1]["data"][label] = typed(text, key.type if key else None)
            self.data_key = None
        elif self.data_key is not None:
            return
        elif name == "default" and self.key_in_progress is not None:
            self.key_in_progress.default = typed(self.take_text(), self.key_in_progress.type)
        elif name == "key":
            self.key_in_progress = None
        elif name == "graph" and self.edge_defaults:
            self.edge_defaults.pop()
        elif name in ("node", "edge") and self.open_items:
            self.out.append(self._finish(self.open_items.pop()))

    def _finish(self, element: dict[str, Any]) -> Item:
        kind = element["element"]
        data = element["data"]
        for key in self.keys.values():
            if key.domain in (kind, "all") and key.default is not None:
                data.setdefault(key.name, key.default)
        graph_directed = self.edge_defaults[-1] if self.edge_defaults else True
        attrs = element["attrs"]
        if kind == "node":
            label_key = next((k for k in data if k.lower() == "label"), None)
            label = data.pop(label_key) if label_key else None
            return Item(element["line"], GraphNode(attrs.get("id"), label, data, graph_directed))
        directed = attrs.get("directed")
        edge_directed = graph_directed if directed is None else directed.lower() == "true"
        return Item(element["line"], GraphEdge(attrs.get("source"), attrs.get("target"), data, edge_directed))


def read_graphml(opened: Opened, limits: Limits, progress: Progress) -> Iterator[Item | BadItem]:
    return read_xml_graph(opened, limits, progress, _GraphmlHandler(limits))


def sniff(sample: Sample) -> int:
    if sample.container != "xml":
        return 0
    head = sample.head_text[:8192]
    return 95 if "<graphml" in head else 0


FORMAT = Format(
    name="graphml",
    description="GraphML graph (networkx, igraph, Gephi, yEd exports)",
    containers=("xml",),
    sniff=sniff,
    map=map_graph_item,
    read=read_graphml,
    options=('platform', 'kind'),
)
