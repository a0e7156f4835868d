"""Graph files (GML, header-less edge lists, edge CSV, GraphML, GEXF): counts checked against an
independent reading of each raw file (regexes over GML blocks, str.split over edge lines, the
stdlib XML parser over the test's own fixtures)."""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET  # test side only: parses our own trusted fixtures
from pathlib import Path

import pytest

from confiance.errors import IngestError
from confiance.ingest import detect
from tests.conftest import REAL, ingest, query, scalar

GRAPHS = Path(__file__).resolve().parents[1] / "data" / "graphs"
GML_FILES = ["karate", "dolphins", "football", "polblogs", "polbooks"]

_NODE = re.compile(r"\bnode\s*\[(.*?)\]", re.S)
_EDGE = re.compile(r"\bedge\s*\[(.*?)\]", re.S)


def _field(block: str, key: str) -> str | None:
    m = re.search(rf"(?m)^\s*{key}\s+(\"[^\"]*\"|\S+)", block)
    return None if m is None else m.group(1).strip('"')


def _gml_expected(path: Path):
    text = path.read_text()
    nodes = [(_field(b, "id"), _field(b, "label")) for b in _NODE.findall(text)]
    edges = [(_field(b, "source"), _field(b, "target")) for b in _EDGE.findall(text)]
    directed = re.search(r"(?m)^\s*directed\s+1\b", text) is not None
    return nodes, edges, directed


@pytest.mark.parametrize("name", GML_FILES)
def test_gml_counts_match_raw(workspace, name):
    path = REAL / name / f"{name}.gml"
    nodes, edges, directed = _gml_expected(path)
    [result] = ingest(workspace, path)
    assert result.format == "gml"
    node_ids = {n for n, _ in nodes}
    stored = len(node_ids) + len(set(edges))
    assert (result.records_read, result.rejected) == (len(nodes) + len(edges), 0)
    assert (result.stored, result.duplicates) == (stored, len(nodes) + len(edges) - stored)
    accounts = node_ids | {e for pair in edges for e in pair}
    assert scalar(workspace, "SELECT count(*) FROM accounts") == len(accounts)
    got = set(query(workspace, "SELECT src, dst FROM interactions WHERE platform = 'graph' AND kind = 'follow' AND post_id = ''"))
    assert got == set(edges)
    # polblogs labels carry trailing spaces and '&#38;' (GML's escape for '&'): stripped and decoded
    labels = {n: html.unescape(l).strip().lower() for n, l in nodes if l is not None}
    stored_labels = dict(query(workspace, "SELECT account_id, handle FROM accounts WHERE handle IS NOT NULL"))
    assert stored_labels == labels
    flags = {r[0] for r in query(workspace, "SELECT json_extract(attributes, '$.graph_directed')::BOOLEAN FROM accounts WHERE attributes IS NOT NULL")}
    assert flags == {directed}


def test_gml_known_sizes_and_attributes(workspace):
    [karate] = ingest(workspace, REAL / "karate" / "karate.gml")
    assert karate.records_read == 34 + 78
    assert scalar(workspace, "SELECT count(*) FROM interactions") == 78
    group = scalar(workspace, "SELECT json_extract(attributes, '$.groundTruth')::INT FROM accounts WHERE account_id = '1'")
    assert group == 0


def test_gml_node_labels_and_values(workspace):
    ingest(workspace, REAL / "dolphins" / "dolphins.gml", options={"platform": "dolphins"})
    row = query(workspace, "SELECT handle, display_name, attributes FROM accounts WHERE platform = 'dolphins' AND account_id = '0'")
    handle, display, attrs = row[0]
    assert (handle, display) == ("beak", "Beak")
    assert json.loads(attrs) == {"groundTruth": 1, "graph_directed": False}


def test_polblogs_self_loops_and_values(workspace):
    path = REAL / "polblogs" / "polblogs.gml"
    nodes, edges, _ = _gml_expected(path)
    ingest(workspace, path)
    self_loops = sum(1 for s, t in set(edges) if s == t)
    assert scalar(workspace, "SELECT count(*) FROM interactions WHERE src = dst") == self_loops
    text = path.read_text()
    conservative = sum(1 for b in _NODE.findall(text) if _field(b, "value") == "1")
    got = scalar(workspace, "SELECT count(*) FROM accounts WHERE json_extract(attributes, '$.value')::INT = 1")
    assert got == conservative
    source = scalar(workspace, "SELECT json_extract_string(attributes, '$.source') FROM accounts WHERE account_id = '3'")
    assert source == "Blogarama,BlogCatalog"


def test_gml_reingest_adds_nothing(workspace):
    path = REAL / "football" / "football.gml"
    ingest(workspace, path)
    before = scalar(workspace, "SELECT count(*) FROM accounts") + scalar(workspace, "SELECT count(*) FROM interactions")
    [again] = ingest(workspace, path)
    assert again.stored == 0
    after = scalar(workspace, "SELECT count(*) FROM accounts") + scalar(workspace, "SELECT count(*) FROM interactions")
    assert after == before


def test_gml_corrupted_blocks_are_rejected_with_their_line(workspace, tmp_path):
    lines = (REAL / "karate" / "karate.gml").read_text().splitlines()
    edge_lines = [i for i, l in enumerate(lines) if l.strip().startswith("edge")]
    first, second = edge_lines[0], edge_lines[5]
    # first: an edge without its target; second: a key without a value (syntax error)
    broken = list(lines)
    broken[first + 3] = broken[first + 3].replace("target", "comment")
    broken[second + 2] = "    source"
    path = tmp_path / "broken.gml"
    path.write_text("\n".join(broken) + "\n")
    [result] = ingest(workspace, path)
    assert (result.records_read, result.rejected) == (34 + 78, 2)
    assert scalar(workspace, "SELECT count(*) FROM interactions") == 76
    rejected = sorted(r[0] for r in query(workspace, "SELECT line_no FROM rejects"))
    assert rejected == [first + 1, second + 1]


def test_gml_refuses_oversized_and_deep_documents(workspace, tmp_path):
    from confiance.ingest._readers import Limits

    path = tmp_path / "deep.gml"
    path.write_text("graph [\n node [ id 1 g " + "[ a " * 40 + "1" + " ]" * 40 + " ]\n node [ id 2 ]\n]\n")
    [result] = ingest(workspace, path, limits=Limits(max_depth=10))
    assert (result.records_read, result.stored, result.rejected) == (2, 1, 1)
    assert "deeper" in scalar(workspace, "SELECT reason FROM rejects")
    big = tmp_path / "big.gml"
    big.write_text("graph [\n" + " node [ id 1 ]\n" * 100 + "]\n")
    [result] = ingest(workspace, big, limits=Limits(max_document_bytes=200))
    assert (result.records_read, result.rejected) == (1, 1)


def _edge_lines(path: Path, skip_header: bool = False) -> list[list[str]]:
    rows = [l.split() for l in path.read_text().splitlines() if l.strip() and not l.startswith("#")]
    return rows[1:] if skip_header else rows


def test_email_eu_core_edge_list(workspace):
    path = REAL / "email-Eu-core" / "email-Eu-core.txt"
    assert detect(path) == "edges-txt"
    rows = _edge_lines(path)
    [result] = ingest(workspace, path)
    pairs = {(a, b) for a, b in rows}
    assert (result.records_read, result.stored, result.rejected) == (len(rows), len(pairs), 0)
    assert result.duplicates == len(rows) - len(pairs)
    assert set(query(workspace, "SELECT src, dst FROM interactions")) == pairs
    assert scalar(workspace, "SELECT count(*) FROM accounts") == len({x for p in pairs for x in p})
    assert scalar(workspace, "SELECT count(*) FROM interactions WHERE weight IS NOT NULL OR probability IS NOT NULL") == 0


def test_nethept_header_and_probabilities(workspace):
    path = REAL / "nethept" / "NetHEPT.txt"
    assert detect(path) == "edges-txt"
    header = path.read_text().splitlines()[0].split()
    rows = _edge_lines(path, skip_header=True)
    assert int(header[1]) == len(rows)
    [result] = ingest(workspace, path)
    assert (result.records_read, result.stored, result.duplicates, result.rejected) == (len(rows), len(rows), 0, 0)
    assert scalar(workspace, "SELECT count(*) FROM accounts") == len({x for r in rows for x in r[:2]})
    assert scalar(workspace, "SELECT count(*) FROM accounts") == int(header[0])
    a, b, p = rows[0]
    got = query(workspace, "SELECT probability, weight FROM interactions WHERE src = ? AND dst = ?", [a, b])
    assert got == [(float(p), None)]
    assert scalar(workspace, "SELECT sum(probability) FROM interactions") == pytest.approx(sum(float(r[2]) for r in rows))


def test_edge_txt_options_and_size_header_that_is_an_edge(workspace, tmp_path):
    path = tmp_path / "edges.txt"
    path.write_text("# a comment\n% another\n5 7\n1 2 3\n2 3 1\n")
    [result] = ingest(workspace, path, format_name="edges-txt", options={"kind": "mention", "platform": "x"})
    # '5 7' is not a size header (the file has 2 edges, not 7): it is an edge
    assert (result.records_read, result.stored, result.rejected) == (3, 3, 0)
    rows = set(query(workspace, "SELECT platform, src, dst, kind, weight FROM interactions"))
    assert rows == {("x", "5", "7", "mention", None), ("x", "1", "2", "mention", 3.0), ("x", "2", "3", "mention", 1.0)}


def test_edge_txt_bad_line_is_rejected(workspace, tmp_path):
    path = tmp_path / "edges.txt"
    path.write_text("1 2\n2 3\n3 4 5 6 7\n4 5\n")
    [result] = ingest(workspace, path, format_name="edges-txt")
    assert (result.format, result.records_read, result.stored, result.rejected) == ("edges-txt", 4, 3, 1)
    assert scalar(workspace, "SELECT line_no FROM rejects") == 3


def test_comma_separated_weighted_edge_list_is_detected(tmp_path):
    path = tmp_path / "retweets.txt"
    path.write_text("alice,bob,2.0\ncarol,bob,4.0\n")
    assert detect(path) == "edges-txt"


def test_edges_csv_with_header(workspace, tmp_path):
    path = tmp_path / "edges.csv"
    path.write_text(
        "Source;Target;Weight;kind;timestamp\n"
        "u1;u2;1,5;repost;2024-02-01T10:00:00Z\n"
        "u2;u3;2;;\n"
        "u1;u2;9;repost;\n"
        "u3;;1;;\n"
        "u4;u1;1;shout;\n"
    )
    assert detect(path) == "edges-csv"
    [result] = ingest(workspace, path)
    assert (result.records_read, result.stored, result.duplicates, result.rejected) == (5, 2, 1, 2)
    rows = set(query(workspace, "SELECT src, dst, kind, weight, created_at IS NOT NULL FROM interactions"))
    assert rows == {("u1", "u2", "repost", 1.5, True), ("u2", "u3", "follow", 2.0, False)}
    assert sorted(r[0] for r in query(workspace, "SELECT line_no FROM rejects")) == [5, 6]
    assert scalar(workspace, "SELECT count(*) FROM accounts") == 3


def test_a_weight_that_counts_no_interactions_is_rejected_with_its_line(workspace, tmp_path):
    """Weights are summed into the graph and shared out by harm profiles: negative or infinite ones are refused."""
    path = tmp_path / "signed.csv"
    path.write_text("source,target,weight\na,b,3\nb,c,-2\nc,d,0\n")
    [result] = ingest(workspace, path)
    assert (result.records_read, result.stored, result.rejected) == (3, 2, 1)
    assert query(workspace, "SELECT line_no, reason FROM rejects") == [
        (3, "weight -2.0 is not a count of interactions (a finite number, 0 or more)")]
    graphml = tmp_path / "infinite.graphml"
    graphml.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<graphml xmlns="http://graphml.graphdrawing.org/xmlns">\n'
        '<key id="w" for="edge" attr.name="weight" attr.type="double"/>\n<graph edgedefault="directed">\n'
        '<node id="x"/><node id="y"/>\n<edge source="x" target="y"><data key="w">INF</data></edge>\n'
        '<edge source="y" target="x"><data key="w">NaN</data></edge>\n</graph>\n</graphml>\n')
    [result] = ingest(workspace, graphml)
    assert result.rejected == 2  # both edges; the two nodes are stored
    assert scalar(workspace, "SELECT count(*) FROM interactions WHERE src IN ('x', 'y')") == 0


def _xml_expected(path: Path, node_tag: str, edge_tag: str):
    root = ET.parse(path).getroot()
    nodes = [e.get("id") for e in root.iter() if e.tag.endswith("}" + node_tag)]
    edges = [(e.get("source"), e.get("target")) for e in root.iter() if e.tag.endswith("}" + edge_tag)]
    return nodes, edges


def test_graphml_fixture(workspace):
    path = GRAPHS / "small.graphml"
    assert detect(path) == "graphml"
    nodes, edges = _xml_expected(path, "node", "edge")
    [result] = ingest(workspace, path)
    # a1→b2 repost appears twice: one duplicate
    assert (result.records_read, result.stored, result.duplicates, result.rejected) == (len(nodes) + len(edges), len(nodes) + len(edges) - 1, 1, 0)
    assert scalar(workspace, "SELECT count(*) FROM accounts") == len(set(nodes) | {x for e in edges for x in e})
    rows = set(query(workspace, "SELECT src, dst, kind, weight, probability FROM interactions"))
    assert rows == {
        ("a1", "b2", "repost", 2.5, None),
        ("b2", "c3", "follow", 1.0, 0.25),
        ("c3", "a1", "follow", None, None),
        ("d4", "e5", "mention", None, None),
    }
    handle, display, attrs = query(workspace, "SELECT handle, display_name, attributes FROM accounts WHERE account_id = 'a1'")[0]
    assert (handle, display) == ("alice", "@Alice")
    assert json.loads(attrs) == {"community": 1, "lang": "fr", "graph_directed": True}
    assert scalar(workspace, "SELECT handle FROM accounts WHERE account_id = 'c3'") == "chloé"
    lines = (path.read_text().splitlines())
    [edge_line] = [i + 1 for i, l in enumerate(lines) if 'id="e4"' in l]
    broken = path.read_text().replace('<edge id="e4" source="d4" target="e5">', '<edge id="e4" source="d4">')
    copy = workspace.root.parent / "broken.graphml"
    copy.write_text(broken)
    [bad] = ingest(workspace, copy)
    assert (bad.records_read, bad.rejected, bad.stored) == (len(nodes) + len(edges), 1, 0)
    assert scalar(workspace, "SELECT line_no FROM rejects") == edge_line


def test_gexf_fixture(workspace):
    path = GRAPHS / "small.gexf"
    assert detect(path) == "gexf"
    nodes, edges = _xml_expected(path, "node", "edge")
    [result] = ingest(workspace, path, options={"kind": "like"})
    assert (result.records_read, result.rejected) == (len(nodes) + len(edges), 0)
    assert result.duplicates == len(edges) - len(set(edges))
    rows = set(query(workspace, "SELECT src, dst, kind, weight, probability, created_at::DATE::VARCHAR FROM interactions"))
    assert rows == {
        ("10", "20", "like", 3.5, None, None),
        ("20", "30", "mention", 1.0, 0.1, None),
        ("30", "10", "like", None, None, "2024-03-01"),
    }
    handle, display, attrs = query(workspace, "SELECT handle, display_name, attributes FROM accounts WHERE account_id = '10'")[0]
    assert (handle, display) == ("zoé", "Zoé")
    assert json.loads(attrs) == {"community": 3, "verified": True, "city": "Lyon", "graph_directed": True}
    assert json.loads(scalar(workspace, "SELECT attributes FROM accounts WHERE account_id = '30'")) == {"verified": False, "graph_directed": True}


def test_gexf_12_undirected(workspace):
    path = GRAPHS / "legacy-1.2.gexf"
    [result] = ingest(workspace, path)
    assert (result.format, result.records_read, result.stored, result.rejected) == ("gexf", 3, 3, 0)
    attrs = json.loads(scalar(workspace, "SELECT attributes FROM accounts WHERE account_id = 'n2'"))
    assert attrs == {"side": "R", "graph_directed": False}


def test_xml_entities_are_refused(workspace, tmp_path):
    path = tmp_path / "bomb.graphml"
    path.write_text('<?xml version="1.0"?>\n<!DOCTYPE g [<!ENTITY a "aaaa">]>\n'
                    '<graphml><graph><node id="&a;"/></graph></graphml>\n')
    [result] = ingest(workspace, path)
    assert (result.records_read, result.rejected, result.stored) == (1, 1, 0)
    assert "EntitiesForbidden" in scalar(workspace, "SELECT reason FROM rejects")


def test_edgelist_is_an_alias_recorded_under_the_canonical_name(workspace, tmp_path):
    path = tmp_path / "edges.txt"
    path.write_text("1 2 0.5\n2 3 0.25\n")
    [result] = ingest(workspace, path, format_name="edgelist")
    assert (result.format, result.stored) == ("edges-txt", 2)
    assert scalar(workspace, "SELECT format FROM sources") == "edges-txt"
    with pytest.raises(IngestError, match="unknown format"):
        ingest(workspace, path, format_name="edge-list-of-mine")
