"""Polarisation: sides, exact RWC (checked by simulation), E-I, bridging, participation, Garimella's graphs."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from confiance.graph.build import AccountGraph, build_edges, load_graph
from confiance.graph.communities import run_communities
from confiance.graph.polarization import (
    NEGATIVE_RWC_NOTE, bridging_scores, component_inadequacy, ei_index, participation_coefficients,
    polarization_summary, random_walk_controversy, run_polarization, split_modularity, two_sides,
)
from tests.conftest import FORMATS, REAL, ingest


def _graph(edges, n) -> AccountGraph:
    src, dst = (np.array(x) for x in zip(*edges))
    ids = np.array([f"n{i}" for i in range(n)], dtype=object)
    return AccountGraph(np.array(["graph"] * n, dtype=object), ids, src, dst, np.ones(len(src)),
                        np.full(len(src), np.nan))


def _two_cliques(size=8, bridges=1):
    edges = [(c * size + i, c * size + j) for c in (0, 1) for i in range(size) for j in range(i + 1, size)]
    edges += [(i, size + i) for i in range(bridges)]
    return _graph(edges, 2 * size)


def test_two_cliques_are_two_polarised_sides():
    graph = _two_cliques()
    sides = two_sides(graph)
    assert set(sides[:8]) | set(sides[8:]) == {0, 1} and len(set(sides[:8])) == 1 and len(set(sides[8:])) == 1
    rwc = random_walk_controversy(graph, sides, k=2)
    assert rwc["rwc"] > 0.7
    assert ei_index(graph, sides) == pytest.approx((1 - 56) / 57)
    assert split_modularity(graph, sides) > 0.45
    bridging = bridging_scores(graph, sides)
    assert bridging[0] > 0 and bridging[8] > 0 and bridging[3] == 0


def test_exact_rwc_matches_a_monte_carlo_walk():
    rng = np.random.default_rng(1)
    graph = _two_cliques(size=6, bridges=3)
    sides = two_sides(graph)
    k = 2
    exact = random_walk_controversy(graph, sides, k=k)
    csr = graph.undirected().csr()
    from confiance.graph.polarization import absorbing_vertices

    ax, ay = absorbing_vertices(graph, sides, k=k)
    ends = {0: [], 1: []}
    for _ in range(20000):
        side = int(rng.integers(2))
        node = int(rng.choice(np.flatnonzero(sides == side)))
        while True:
            neighbours = csr.indices[csr.indptr[node]:csr.indptr[node + 1]]
            node = int(rng.choice(neighbours))
            if node in ax or node in ay:
                ends[side].append(node in ax)
                break
    assert np.mean(ends[0]) == pytest.approx(exact["end_x_from_x"], abs=0.02)
    assert np.mean(ends[1]) == pytest.approx(exact["end_x_from_y"], abs=0.02)


def test_random_graph_has_low_controversy():
    rng = np.random.default_rng(0)
    n = 400
    edges = {(int(a), int(b)) for a, b in rng.integers(0, n, size=(3000, 2)) if a != b}
    graph = _graph(sorted(edges), n)
    sides = two_sides(graph)
    assert abs((sides == 0).sum() - (sides == 1).sum()) <= 2
    assert random_walk_controversy(graph, sides)["rwc"] < 0.3
    assert ei_index(graph, sides) > -0.6


def test_participation_coefficient():
    graph = _graph([(0, 1), (0, 2), (0, 3), (0, 4), (1, 2)], 6)
    communities = np.array([0, 0, 0, 1, 2, 3])
    p = participation_coefficients(graph, communities)
    assert p[0] == pytest.approx(1 - (0.5**2 + 0.25**2 + 0.25**2))
    assert p[1] == 0 and p[5] == 0


def test_polblogs_sides_follow_the_political_labels(workspace):
    ingest(workspace, REAL / "polblogs" / "polblogs.gml")
    with workspace.writer() as con:
        build_edges(con, "g")
        graph = load_graph(con)
        labels = dict(con.execute("SELECT account_id, json_extract_string(attributes, '$.value') FROM accounts").fetchall())
    sides = two_sides(graph)
    sided = sides >= 0
    truth = np.array([labels[a] for a in graph.account_id])[sided]
    agreement = np.mean((sides[sided] == 0) == (truth == "0"))
    # measured 0.886; the balanced (median) split of 586 left / 636 right blogs caps it at 0.96
    assert max(agreement, 1 - agreement) > 0.85
    # measured 0.454, well above the random graph above (< 0.3)
    assert random_walk_controversy(graph, sides)["rwc"] > 0.3


def test_run_polarization_writes_tables_and_summary(workspace):
    ingest(workspace, REAL / "karate" / "karate.gml")
    with workspace.writer() as con:
        build_edges(con, "g")
        run_communities(con, "c")
        result = run_polarization(con, "p", k=3)
        summary = polarization_summary(con)
        rows = con.execute("SELECT platform, account_id, side, bridging, participation, exposure_side0, "
                           "exposure_side1, run_id FROM account_bridging").fetchall()
    assert set(summary) == {"rwc", "modularity", "ei_index", "meaningful", "reason", "note", "nodes",
                            "accounts_with_edges", "sides", "bridges"}
    assert summary["meaningful"] and summary["reason"] is None and summary["nodes"] == summary["accounts_with_edges"] == 34
    assert summary["rwc"] == pytest.approx(result["rwc"]) and -1 <= summary["ei_index"] <= 1
    assert [s["size"] for s in summary["sides"]] == [17, 17]
    assert len(rows) == 34 and {r[7] for r in rows} == {"p"}
    assert all(0 <= r[3] <= 1 and 0 <= r[4] <= 1 for r in rows)
    assert any(r[4] > 0 for r in rows)
    from confiance.pipeline import steps

    assert steps()["polarization"].after == ("graph", "communities")


def test_summary_names_the_bridging_accounts(workspace):
    """`polarization` promised "sides and bridging accounts" but listed only the sides: a researcher asking who
    bridges the conversation got no name from the CLI or --json, only from the report."""
    ingest(workspace, REAL / "karate" / "karate.gml")
    with workspace.writer() as con:
        build_edges(con, "g")
        run_communities(con, "c")
        run_polarization(con, "p", k=3)
        bridges = polarization_summary(con)["bridges"]
    assert 0 < len(bridges) <= 15
    assert set(bridges[0]) == {"platform", "account_id", "handle", "side", "bridging", "participation",
                               "exposure_side0", "exposure_side1"}
    least = [min(b["exposure_side0"], b["exposure_side1"]) for b in bridges]
    assert least == sorted(least, reverse=True) and least[0] > 0


def test_component_inadequacy_names_the_threshold_not_met():
    assert component_inadequacy(40, 80, k=10) is None
    too_small = component_inadequacy(39, 39, k=10)
    assert "39 accounts, fewer than 40" in too_small and "fragmented" not in too_small
    fragment = component_inadequacy(100, 201, k=10)
    assert "100 of the 201" in fragment and "fragmented" in fragment and "fewer than" not in fragment
    assert component_inadequacy(17, 34, k=3) is None and "fewer than 40" in component_inadequacy(17, 34)


def test_fragmented_formats_graph_gets_no_score_but_a_reason(workspace):
    """The 9 format samples together: an 18-account largest component out of 600 accounts with edges.

    RWC was -0.515 there, which read as 'strongly non-polarised'; now there is no score, and why."""
    ingest(workspace, FORMATS)
    with workspace.writer() as con:
        build_edges(con, "g")
        run_communities(con, "c")
        result = run_polarization(con, "p")
        summary = polarization_summary(con)
        bridging = con.execute("SELECT count(*) FROM account_bridging WHERE side IS NOT NULL").fetchall()[0][0]
    assert result["rwc"] is None and summary["rwc"] is None
    assert summary["modularity"] is None and summary["ei_index"] is None
    assert summary["meaningful"] is False
    assert summary["nodes"] == bridging == 18 and summary["accounts_with_edges"] > 500
    assert "18 accounts, fewer than 40" in summary["reason"] and "fragmented" in summary["reason"]
    assert [s["size"] for s in summary["sides"]] == [9, 9]


def test_negative_rwc_is_possible_and_explained(workspace):
    """A split along a bipartite graph's two parts: every step crosses, so walks end across more often."""
    size = 30
    graph = _graph([(i, size + j) for i in range(size) for j in range(size) if (i + j) % 3 == 0], 2 * size)
    bipartition = np.repeat(np.array([0, 1], dtype=np.int8), size)
    assert random_walk_controversy(graph, bipartition)["rwc"] < 0
    ingest(workspace, REAL / "karate" / "karate.gml")
    with workspace.writer() as con:
        build_edges(con, "g")
        run_communities(con, "c")
        run_polarization(con, "p", k=3)
        assert polarization_summary(con)["note"] is None
        con.execute("UPDATE polarization SET rwc = -0.2")
        summary = polarization_summary(con)
    assert summary["meaningful"] and summary["note"] == NEGATIVE_RWC_NOTE and "separates nothing" in summary["note"]


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="measured AUC 0.522 with spectral sides, 0.611 on the authors' METIS sides "
                                       "(benchmarks/polarization.py --reference-sides), goal 0.9: no RWC variant "
                                       "separates these thresholded graphs (see graph/polarization.py)")
def test_rwc_separates_garimella_controversial_topics():
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import polarization as bench

    scores, labels = [], []
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for topic, path, controversial in bench.topics():
            graph = bench.load_topic(path, Path(tmp))
            scores.append(random_walk_controversy(graph, two_sides(graph))["rwc"])
            labels.append(controversial)
    assert len(scores) == 19
    assert bench.auc(scores, labels) >= 0.9
