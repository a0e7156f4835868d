"""GML graph files (Graph Modelling Language), as Newman, Adamic, Pajek exports and networkx write them.

Shape: optional top-level pairs (``Creator "…"``), then ``graph [ directed 0|1  node [ id … label "…" … ]
edge [ source … target … ] ]``. Keys are identifiers, values integers, reals, quoted strings (no escapes;
HTML entities such as ``&quot;`` are decoded) or nested ``[ … ]`` lists; ``#`` starts a comment line.
``directed`` defaults to 0 (undirected), as the GML spec says; karate.gml omits it.

Each ``node [ … ]`` and ``edge [ … ]`` block is one record, numbered by the line of its keyword; the
mapping is shared with GraphML and GEXF (see ``_graphs``): node id → account id, label → handle, the
other node keys → account attributes; edge ``weight`` (or Newman's ``value``), ``probability``, ``kind``.

The tokenizer is small and bounded: the document is refused above ``limits.max_document_bytes``,
nested lists deeper than ``limits.max_depth`` make a block invalid, and a block with a syntax error is
rejected on its own (the parser re-synchronises on its closing bracket).
"""

from __future__ import annotations

import html
import io
import re
from typing import Any, Iterator

from confiance.ingest._format import Format, Sample
from confiance.ingest._graphs import GraphEdge, GraphNode, map_graph_item
from confiance.ingest._readers import BadItem, Item, Limits, Opened, Progress, open_binary

_TOKEN = re.compile(
    r"(?P<newline>\n)|(?P<space>[ \t\r\f\v]+)|(?P<comment>#[^\n]*)|(?P<string>\"[^\"]*\")"
    r"|(?P<number>[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?(?![A-Za-z_]))"
    r"|(?P<key>[A-Za-z_][A-Za-z0-9_]*)|(?P<open>\[)|(?P<close>\])|(?P<other>.)",
    re.DOTALL,
)


class _Syntax(Exception):
    pass


def _tokens(text: str) -> Iterator[tuple[str, Any, int]]:
    """(kind, value, line) for every meaningful token."""
    line = 1
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        token = match.group()
        if kind == "newline":
            line += 1
            continue
        if kind in ("space", "comment"):
            continue
        if kind == "string":
            yield "value", html.unescape(token[1:-1]), line
            line += token.count("\n")
        elif kind == "number":
            is_int = not any(c in token for c in ".eE")
            yield "value", int(token) if is_int else float(token), line
        elif kind == "other":
            yield "other", token, line
        else:
            yield kind, token, line  # type: ignore[misc]


def _block(tokens: Iterator[tuple[str, Any, int]]) -> list[tuple[str, Any, int]]:
    """The tokens of one bracketed list, after its '[' up to its matching ']'.
    Raises EOFError when the file ends first."""
    depth = 1
    body: list[tuple[str, Any, int]] = []
    for token in tokens:
        if token[0] == "open":
            depth += 1
        elif token[0] == "close":
            depth -= 1
            if depth == 0:
                return body
        body.append(token)
    raise EOFError("file ends inside a [ … ] list")


def _pairs(body: list[tuple[str, Any, int]], max_depth: int) -> dict[str, Any]:
    """Parse 'key value' pairs of a list body; repeated keys keep every value in a list."""
    out: dict[str, Any] = {}
    stack: list[dict[str, Any]] = [out]
    pending_key: list[str | None] = [None]
    for kind, value, line in body:
        if kind == "key":
            if pending_key[-1] is not None:
                raise _Syntax(f"line {line}: key {pending_key[-1]!r} has no value")
            pending_key[-1] = value
            continue
        key = pending_key[-1]
        if kind == "close":
            if key is not None:
                raise _Syntax(f"line {line}: key {key!r} has no value")
            stack.pop()
            pending_key.pop()
            continue
        if key is None:
            raise _Syntax(f"line {line}: expected a key, found {value!r}")
        pending_key[-1] = None
        if kind == "open":
            if len(stack) >= max_depth:
                raise _Syntax(f"line {line}: lists nested deeper than {max_depth}")
            child: dict[str, Any] = {}
            _put(stack[-1], key, child)
            stack.append(child)
            pending_key.append(None)
        elif kind == "value":
            _put(stack[-1], key, value)
        else:
            raise _Syntax(f"line {line}: unexpected {value!r}")
    if pending_key[-1] is not None:
        raise _Syntax(f"key {pending_key[-1]!r} has no value")
    return out


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    if key not in target:
        target[key] = value
    elif isinstance(target[key], list):
        target[key].append(value)
    else:
        target[key] = [target[key], value]


def _skip_value(tokens: Iterator[tuple[str, Any, int]]) -> Any:
    kind, value, _ = next(tokens, ("eof", None, 0))
    if kind == "open":
        _block(tokens)
        return None
    if kind == "eof":
        raise EOFError("file ends after a key")
    return value


def _graph_items(tokens: Iterator[tuple[str, Any, int]], max_depth: int) -> Iterator[Item | BadItem]:
    """Items of one ``graph [ … ]`` body."""
    directed = False
    for kind, value, line in tokens:
        if kind == "close":
            return
        if kind != "key":
            yield BadItem(line, f"expected a key in graph, found {value!r}")
            continue
        if value not in ("node", "edge"):
            found = _skip_value(tokens)
            if value == "directed":
                directed = found == 1
            continue
        opener = next(tokens, ("eof", None, 0))
        if opener[0] != "open":
            yield BadItem(line, f"{value} must be followed by '['")
            if opener[0] == "eof":
                return
            continue
        body = _block(tokens)
        try:
            fields = _pairs(body, max_depth)
        except _Syntax as exc:
            yield BadItem(line, f"invalid GML {value}: {exc}")
            continue
        if value == "node":
            node_id = fields.pop("id", None)
            label = fields.pop("label", None)
            yield Item(line, GraphNode(node_id, label, fields, directed))
        else:
            yield Item(line, GraphEdge(fields.pop("source", None), fields.pop("target", None), fields, directed))
    raise EOFError("file ends inside graph [ … ]")


def read_gml(opened: Opened, limits: Limits, progress: Progress) -> Iterator[Item | BadItem]:
    size = opened.path.stat().st_size
    if size > limits.max_document_bytes:
        yield BadItem(1, f"GML document larger than {limits.max_document_bytes} bytes")
        return
    binary, position = open_binary(opened.path)
    with io.TextIOWrapper(binary, encoding=opened.encoding, errors="replace") as fh:  # type: ignore[arg-type]
        text = fh.read(limits.max_document_bytes + 1)
        if len(text) > limits.max_document_bytes:
            yield BadItem(1, f"GML document larger than {limits.max_document_bytes} bytes")
            return
        read = position()
    tokens = _tokens(text.lstrip("\ufeff"))
    saw_graph = False
    try:
        for kind, value, line in tokens:
            if kind == "key" and value == "graph":
                opener = next(tokens, ("eof", None, 0))
                if opener[0] != "open":
                    yield BadItem(line, "graph must be followed by '['")
                    return
                saw_graph = True
                yield from _graph_items(tokens, limits.max_depth)
            elif kind == "key":
                _skip_value(tokens)  # Creator, Version…
            else:
                yield BadItem(line, f"unexpected {value!r} outside graph [ … ]")
    except EOFError as exc:
        yield BadItem(text.count("\n") + 1, f"invalid GML: {exc}")
    if not saw_graph:
        yield BadItem(1, "no graph [ … ] in this GML file")
    progress(read)


_GRAPH = re.compile(r"(?m)^\s*graph\s*\[")
_BLOCK = re.compile(r"\b(?:node|edge)\s*\[")


def sniff(sample: Sample) -> int:
    head = sample.head_text
    if _GRAPH.search(head) and _BLOCK.search(head):
        return 90
    if sample.container == "gml" and _GRAPH.search(head):
        return 60
    return 0


FORMAT = Format(
    name="gml",
    description="GML graph (node/edge blocks; Newman, Adamic, Pajek, networkx exports)",
    containers=("gml", "csv"),
    sniff=sniff,
    map=map_graph_item,
    read=read_gml,
    options=('platform', 'kind'),
)
