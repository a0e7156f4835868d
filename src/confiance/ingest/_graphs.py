"""Shared pieces of the graph-file formats (``edges-csv``, ``edges-txt``, ``gml``, ``graphml``, ``gexf``).

Every graph reader turns its file into :class:`GraphNode` and :class:`GraphEdge` values; this module
maps both to rows the same way for all of them:

- a node is one record: the primary ``accounts`` row (``id`` → account_id, ``label`` → handle,
  lower-cased, and display_name as written; every other node attribute goes to ``attributes``, plus
  ``graph_directed`` saying whether the file declared the graph directed);
- an edge is one record: the primary ``interactions`` row (src, dst, kind, post_id '' unless the edge
  carries one, weight, probability, created_at) and context ``accounts`` rows for both ends.
  Edges of an undirected graph are stored once, in the orientation the file gives.

Defaults (per file, from ``ctx.options``): platform ``graph`` (option ``platform``) and interaction kind
``follow`` (option ``kind``); an edge's own ``kind`` attribute or column wins over the default.

Also here: a streaming XML reader for GraphML and GEXF built on ``defusedxml``'s SAX parser (no DTD
entities, no external resources), with a nesting bound and line numbers from expat's locator.
"""

from __future__ import annotations

import math
import xml.sax
from dataclasses import dataclass, field
from typing import Any, Iterator

from defusedxml import DefusedXmlException
from defusedxml.sax import make_parser

from confiance.errors import RecordError
from confiance.ingest._format import Context, parse_timestamp
from confiance.ingest._readers import BadItem, Item, Limits, Opened, Progress, open_binary
from confiance.ingest._sink import Sink
from confiance.ingest._tables import decimal

DEFAULT_PLATFORM = "graph"
DEFAULT_KIND = "follow"
INTERACTION_KINDS = frozenset({"repost", "quote", "reply", "mention", "follow", "like"})

# Edge attribute names (lower-case) that fill interaction columns; the first one present wins.
_WEIGHT_KEYS = ("weight", "value")  # Newman's GML files keep edge weights in `value`
_PROBABILITY_KEYS = ("probability", "prob", "p")
_TIME_KEYS = ("timestamp", "created_at", "time", "start")


@dataclass
class GraphNode:
    id: Any
    label: Any = None
    attributes: dict[str, Any] = field(default_factory=dict)
    directed: bool | None = None  # what the file says about the whole graph


@dataclass
class GraphEdge:
    source: Any
    target: Any
    attributes: dict[str, Any] = field(default_factory=dict)
    directed: bool | None = None


def node_id(value: Any, what: str) -> str:
    """Ids as text; a whole float (GML `id 3.0`) becomes '3'; never through float otherwise."""
    if isinstance(value, bool) or value is None:
        raise RecordError(f"{what} is missing")
    if isinstance(value, float):
        if not value.is_integer():
            raise RecordError(f"{what} {value!r} is not an id")
        value = int(value)
    if isinstance(value, (dict, list)):
        raise RecordError(f"{what} must be a single value")
    text = str(value).strip()
    if not text:
        raise RecordError(f"{what} is missing")
    return text


def number(value: Any, what: str) -> float | None:
    """A number from a file: int/float, or text with '.' or ',' as decimal mark; '' is None."""
    if value is None or isinstance(value, bool):
        return None
    return decimal(value, what)[0]


def platform_of(ctx: Context, given: Any = None) -> str:
    platform = str(given).strip().lower() if given not in (None, "") else ""
    return platform or str(ctx.options.get("platform") or DEFAULT_PLATFORM).lower()


def kind_of(ctx: Context, given: Any = None) -> str:
    kind = str(given).strip().lower() if given not in (None, "") else ""
    kind = kind or str(ctx.options.get("kind") or DEFAULT_KIND).lower()
    if kind not in INTERACTION_KINDS:
        raise RecordError(f"interaction kind {kind[:40]!r} is not one of {', '.join(sorted(INTERACTION_KINDS))}")
    return kind


def emit_edge(
    sink: Sink,
    ctx: Context,
    source: Any,
    target: Any,
    *,
    platform: Any = None,
    kind: Any = None,
    post_id: Any = None,
    weight: Any = None,
    probability: Any = None,
    created_at: Any = None,
) -> None:
    """One edge record: the interaction (primary) and both accounts (context)."""
    src = node_id(source, "edge source")
    dst = node_id(target, "edge target")
    platform_name = platform_of(ctx, platform)
    p = number(probability, "probability")
    if p is not None and not 0.0 <= p <= 1.0:
        raise RecordError(f"probability {p} is outside [0, 1]")
    w = number(weight, "weight")
    # a weight counts interactions: the graph sums it, PageRank and Leiden need it non-negative, and harm
    # profiles take shares of it (a signed network's negative ties would turn them into nonsense)
    if w is not None and not 0.0 <= w < math.inf:
        raise RecordError(f"weight {w} is not a count of interactions (a finite number, 0 or more)")
    sink.interaction(
        primary=True,
        platform=platform_name,
        src=src,
        dst=dst,
        kind=kind_of(ctx, kind),
        post_id=node_id(post_id, "post id") if post_id not in (None, "") else "",
        created_at=parse_timestamp(created_at),
        weight=w,
        probability=p,
    )
    sink.account(platform=platform_name, account_id=src)
    if dst != src:
        sink.account(platform=platform_name, account_id=dst)


def _pick(attributes: dict[str, Any], keys: tuple[str, ...]) -> Any:
    lowered = {k.lower(): v for k, v in attributes.items()}
    return next((lowered[k] for k in keys if lowered.get(k) not in (None, "")), None)


def map_graph_item(item: GraphNode | GraphEdge, sink: Sink, ctx: Context) -> None:
    """``Format.map`` of the GML, GraphML and GEXF formats."""
    if isinstance(item, GraphNode):
        account_id = node_id(item.id, "node id")
        label = None if item.label is None else str(item.label).strip()
        attributes = dict(item.attributes)
        if item.directed is not None:
            attributes["graph_directed"] = item.directed
        sink.account(
            primary=True,
            platform=platform_of(ctx),
            account_id=account_id,
            handle=label.lstrip("@").lower() if label else None,
            display_name=label or None,
            attributes=attributes or None,
        )
        return
    if isinstance(item, GraphEdge):
        attrs = item.attributes
        emit_edge(
            sink,
            ctx,
            item.source,
            item.target,
            kind=_pick(attrs, ("kind",)),
            post_id=_pick(attrs, ("post_id",)),
            weight=_pick(attrs, _WEIGHT_KEYS),
            probability=_pick(attrs, _PROBABILITY_KEYS),
            created_at=_pick(attrs, _TIME_KEYS),
        )
        return
    raise RecordError(f"unexpected graph item {type(item).__name__}")


def typed(value: str, type_name: str | None) -> Any:
    """Convert an XML attribute value by its declared GraphML/GEXF type; text stays text."""
    t = (type_name or "string").lower()
    try:
        if t in ("int", "integer", "long", "short", "byte"):
            return int(value.strip())
        if t in ("float", "double", "bigdecimal"):
            return float(value.strip())
        if t == "boolean":
            v = value.strip().lower()
            if v in ("true", "1"):
                return True
            if v in ("false", "0"):
                return False
    except ValueError:
        pass
    return value


# ---------------------------------------------------------------------------------------------
# Streaming, defused XML
# ---------------------------------------------------------------------------------------------

_CHUNK = 1 << 16


class _TooDeep(xml.sax.SAXException):
    pass


class GraphXmlHandler(xml.sax.handler.ContentHandler):
    """Base SAX handler: local names, depth bound, bounded text capture, an output queue.

    Subclasses implement ``open(name, attrs)``, ``close(name)`` and set ``self.text = []`` to capture
    the text of the element just opened."""

    def __init__(self, limits: Limits):
        super().__init__()
        self.limits = limits
        self.depth = 0
        self.out: list[Item | BadItem] = []
        self.text: list[str] | None = None
        self.text_chars = 0
        self._locator: Any = None

    def setDocumentLocator(self, locator: Any) -> None:  # noqa: N802 (SAX API)
        self._locator = locator

    @property
    def line(self) -> int:
        return self._locator.getLineNumber() if self._locator else 0

    def startElement(self, name: str, attrs: Any) -> None:  # noqa: N802
        self.depth += 1
        if self.depth > self.limits.max_depth:
            raise _TooDeep(f"XML nested deeper than {self.limits.max_depth}")
        self.open(name.rsplit(":", 1)[-1], attrs)

    def endElement(self, name: str) -> None:  # noqa: N802
        self.depth -= 1
        self.close(name.rsplit(":", 1)[-1])

    def characters(self, content: str) -> None:
        if self.text is not None and self.text_chars < self.limits.max_field_chars:
            self.text.append(content)
            self.text_chars += len(content)

    def take_text(self) -> str:
        text = "".join(self.text or ())[: self.limits.max_field_chars]
        self.text, self.text_chars = None, 0
        return text

    def open(self, name: str, attrs: Any) -> None:
        raise NotImplementedError

    def close(self, name: str) -> None:
        raise NotImplementedError


def read_xml_graph(opened: Opened, limits: Limits, progress: Progress, handler: GraphXmlHandler) -> Iterator[Item | BadItem]:
    """Feed the file to a defused expat parser chunk by chunk, yielding what the handler queued.
    Expat detects the encoding from the XML declaration / BOM itself, so the raw bytes are fed."""
    size = opened.path.stat().st_size
    if size > limits.max_document_bytes:
        yield BadItem(1, f"XML document larger than {limits.max_document_bytes} bytes")
        return
    parser = make_parser()
    parser.setFeature(xml.sax.handler.feature_namespaces, False)
    parser.setContentHandler(handler)
    handler.setDocumentLocator(parser)  # feed() never announces a locator; the parser is one
    stream, position = open_binary(opened.path)
    fed = 0
    try:
        while True:
            chunk = stream.read(_CHUNK)
            fed += len(chunk)
            try:
                if fed > limits.max_document_bytes:
                    raise xml.sax.SAXException(f"XML document larger than {limits.max_document_bytes} bytes")
                if chunk:
                    parser.feed(chunk)
                else:
                    parser.close()
            except xml.sax.SAXParseException as exc:
                yield from handler.out
                yield BadItem(exc.getLineNumber(), f"invalid XML: {exc.getMessage()}")
                return
            except (xml.sax.SAXException, DefusedXmlException) as exc:
                yield from handler.out
                yield BadItem(handler.line or 1, f"refused XML: {exc}"[:300])
                return
            yield from handler.out
            handler.out.clear()
            if not chunk:
                break
        progress(position())
    finally:
        stream.close()
