"""GEXF files (Gephi, networkx; versions 1.1–1.3), read with defusedxml's SAX parser.

Shape: ``<gexf version=…><graph defaultedgetype=directed|undirected|mutual>`` with
``<attributes class=node|edge><attribute id=… title=… type=…><default>…</default></attribute>``
declarations, ``<nodes><node id=… label=…><attvalues><attvalue for=… value=…/></attvalues></node>``
and ``<edges><edge source=… target=… weight=… type=… kind=…/>``. Every node and edge is one record,
numbered by the line where its element starts.

Quirks handled: ``attvalue`` names its attribute with ``for`` (1.2, 1.3) or ``id`` (1.1); values are
converted by the declared type; declared defaults fill missing values; ``defaultedgetype`` is
``undirected`` when absent (GEXF spec); the edge ``kind`` attribute (GEXF multigraph kind) or an edge
attribute titled ``kind`` gives the interaction kind; ``start`` on an edge is its timestamp;
``viz:*`` and ``spells`` are ignored; hierarchical nodes (nodes inside nodes) are flattened and keep
their parent in the ``pid`` attribute. Mapping shared with GML and GraphML (see ``_graphs``).
"""

from __future__ import annotations

from typing import Any, Iterator

from confiance.ingest._format import Format, Sample
from confiance.ingest._graphs import GraphEdge, GraphNode, GraphXmlHandler, map_graph_item, read_xml_graph, typed
from confiance.ingest._readers import BadItem, Item, Limits, Opened, Progress

# XML attributes of <edge> that are structure, not data.
_EDGE_STRUCTURE = {"id", "source", "target", "type", "label"}


class _Declared:
    __slots__ = ("title", "type", "default")

    def __init__(self, title: str, type_name: str):
        self.title, self.type = title, type_name
        self.default: Any = None


class _GexfHandler(GraphXmlHandler):
    def __init__(self, limits: Limits):
        super().__init__(limits)
        self.declared: dict[str, dict[str, _Declared]] = {"node": {}, "edge": {}}
        self.attribute_class: str | None = None
        self.attribute_in_progress: _Declared | None = None
        self.graph_directed = False
        self.open_items: list[dict[str, Any]] = []

    def open(self, name: str, attrs: Any) -> None:
        if name == "graph":
            self.graph_directed = attrs.get("defaultedgetype", "undirected").lower() == "directed"
        elif name == "attributes":
            self.attribute_class = attrs.get("class", "node").lower()
        elif name == "attribute" and self.attribute_class in self.declared:
            declared = _Declared(attrs.get("title") or attrs.get("id", ""), attrs.get("type", "string"))
            self.declared[self.attribute_class][attrs.get("id", "")] = declared
            self.attribute_in_progress = declared
        elif name == "default" and self.attribute_in_progress is not None:
            self.text = []
        elif name in ("node", "edge"):
            parent = next((i["attrs"].get("id") for i in reversed(self.open_items) if i["element"] == "node"), None)
            item = {"element": name, "line": self.line, "attrs": dict(attrs), "values": {}}
            if name == "node" and parent is not None and "pid" not in item["attrs"]:
                item["attrs"]["pid"] = parent
            self.open_items.append(item)
        elif name == "attvalue" and self.open_items:
            item = self.open_items[-1]
            ref = attrs.get("for", attrs.get("id", ""))
            declared = self.declared[item["element"]].get(ref)
            title = declared.title if declared else ref
            item["values"].setdefault(title, typed(attrs.get("value", ""), declared.type if declared else None))

    def close(self, name: str) -> None:
        if name == "default" and self.attribute_in_progress is not None and self.text is not None:
            self.attribute_in_progress.default = typed(self.take_text(), self.attribute_in_progress.type)
        elif name == "attribute":
            self.attribute_in_progress = None
        elif name == "attributes":
            self.attribute_class = None
        elif name in ("node", "edge") and self.open_items:
            self.out.append(self._finish(self.open_items.pop()))

    def _finish(self, item: dict[str, Any]) -> Item:
        kind = item["element"]
        values = item["values"]
        for declared in self.declared[kind].values():
            if declared.default is not None:
                values.setdefault(declared.title, declared.default)
        attrs = item["attrs"]
        if kind == "node":
            extra = {k: v for k, v in attrs.items() if k not in ("id", "label")}
            return Item(item["line"], GraphNode(attrs.get("id"), attrs.get("label"), {**extra, **values}, self.graph_directed))
        edge_type = attrs.get("type")
        directed = self.graph_directed if edge_type is None else edge_type.lower() == "directed"
        data = {k: v for k, v in attrs.items() if k not in _EDGE_STRUCTURE}
        data.update({k: v for k, v in values.items() if k.lower() not in data})
        return Item(item["line"], GraphEdge(attrs.get("source"), attrs.get("target"), data, directed))


def read_gexf(opened: Opened, limits: Limits, progress: Progress) -> Iterator[Item | BadItem]:
    return read_xml_graph(opened, limits, progress, _GexfHandler(limits))


def sniff(sample: Sample) -> int:
    if sample.container != "xml":
        return 0
    return 95 if "<gexf" in sample.head_text[:8192] else 0


FORMAT = Format(
    name="gexf",
    description="GEXF graph 1.1-1.3 (Gephi, networkx exports)",
    containers=("xml",),
    sniff=sniff,
    map=map_graph_item,
    read=read_gexf,
    options=('platform', 'kind'),
)
