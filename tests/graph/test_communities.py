"""Communities: Leiden against networkx Louvain on labelled graphs, connectivity, seeds, CPM, planted truth."""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from scipy.sparse.csgraph import connected_components

from confiance.graph.build import AccountGraph, build_edges, load_graph
from confiance.graph import communities
from confiance.graph.communities import (LEIDEN_RESTARTS, communities_listing, detect_communities, partition_modularity,
                                          restarts_for, run_communities)
from confiance.workspace import Workspace
from tests.conftest import REAL, ingest

# graph -> (file, label attribute in the accounts' attributes JSON, or None for a label file)
LABELLED = {
    "karate": ("karate/karate.gml", "groundTruth"),
    "dolphins": ("dolphins/dolphins.gml", "groundTruth"),
    "polbooks": ("polbooks/polbooks.gml", "value"),
    "football": ("football/football.gml", "value"),
    "polblogs": ("polblogs/polblogs.gml", "value"),
    "email-Eu-core": ("email-Eu-core/email-Eu-core.txt", None),
}
SEEDS = range(10)


def normalized_mutual_info(a, b) -> float:
    """NMI with arithmetic normalisation (scikit-learn's default): 2 I(a; b) / (H(a) + H(b))."""
    _, a = np.unique(np.asarray(a), return_inverse=True)
    _, b = np.unique(np.asarray(b), return_inverse=True)
    joint = np.zeros((a.max() + 1, b.max() + 1))
    np.add.at(joint, (a, b), 1.0)
    joint /= len(a)
    pa, pb = joint.sum(axis=1), joint.sum(axis=0)
    nz = joint > 0
    mutual = float((joint[nz] * np.log(joint[nz] / np.outer(pa, pb)[nz])).sum())
    entropy = -float((pa * np.log(pa)).sum()) - float((pb * np.log(pb)).sum())
    return 1.0 if entropy == 0 else max(0.0, 2 * mutual / entropy)


def load_labelled(name: str, root: Path) -> tuple[AccountGraph, np.ndarray]:
    """One labelled graph ingested through the normal ingest into a workspace under ``root``:
    (AccountGraph with isolates, label per node). ``benchmarks/leiden_restarts.py`` uses it too."""
    path, attribute = LABELLED[name]
    ws = Workspace.init(root / "ws")
    ingest(ws, REAL / path)
    with ws.writer() as con:
        build_edges(con, "t")
        graph = load_graph(con, include_isolates=True)
        if attribute:
            labels = dict(con.execute(
                f"SELECT account_id, json_extract_string(attributes, '$.{attribute}') FROM accounts").fetchall())
        else:
            text = (REAL / "email-Eu-core" / "email-Eu-core-department-labels.txt").read_text()
            labels = dict(line.split() for line in text.splitlines() if line.strip())
    return graph, np.array([labels[a] for a in graph.account_id])


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    """name -> (AccountGraph with isolates, label per node)."""
    return {name: load_labelled(name, tmp_path_factory.mktemp(name)) for name in LABELLED}


def _louvain(graph: AccountGraph, seed: int) -> np.ndarray:
    undirected = graph.undirected()
    g = nx.Graph()
    g.add_nodes_from(range(graph.n))
    g.add_weighted_edges_from(zip(undirected.src.tolist(), undirected.dst.tolist(), undirected.weight.tolist()))
    labels = np.zeros(graph.n, dtype=np.int64)
    for i, members in enumerate(nx.community.louvain_communities(g, weight="weight", seed=seed)):
        labels[list(members)] = i
    return labels


# Measured (seeds 0-9, same weighted undirected graph for both): our Leiden finds the higher modularity on
# every graph, but on polblogs the labels agree slightly better with Louvain's lower-modularity partitions
# (NMI and modularity are negatively correlated over seeds there, -0.5). Not tuned per graph; reported.
# On polblogs the partitions differ only in a third community of 25-50 blogs beside the two camps.
# Defaults tried for all six graphs (median NMI polblogs / email-Eu-core; Louvain 0.371 / 0.563), one run each:
# ParallelLeiden 30 iterations 0.367 / 0.562 (unchanged); without randomised node order 0.370 / 0.525
# (and football drops to 0.856 < 0.885); PLM with refinement 0.367 / 0.581 (dolphins and football then
# lose); a reciprocated pair counted once (max of the two directions instead of their sum) 0.372 / 0.576,
# but networkx Louvain on that same graph gets 0.373 / 0.570, and on the simulated worlds NMI against the
# planted communities drops from 0.96 / 0.95 to 0.95 / 0.93 (interaction counts are worth summing).
# Kept: the best modularity of 4 seeded runs (LEIDEN_RESTARTS) 0.3669 / 0.587, the other four graphs
# unchanged or better; consensus clustering of 10-20 runs (Lancichinetti & Fortunato 2012) 0.3669 / 0.595
# but polbooks drops to 0.529 < 0.537.
NMI_SHORTFALL = {
    "polblogs": "Leiden median NMI 0.3669 vs Louvain 0.3710 (best of 4 runs by modularity)",
}


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=NMI_SHORTFALL[n])) if n in NMI_SHORTFALL else n
    for n in LABELLED
])
def test_leiden_nmi_beats_networkx_louvain(labelled, name):
    graph, truth = labelled[name]
    ours = np.median([normalized_mutual_info(detect_communities(graph, seed=s), truth) for s in SEEDS])
    louvain = np.median([normalized_mutual_info(_louvain(graph, s), truth) for s in SEEDS])
    assert ours > louvain, f"{name}: Leiden NMI {ours:.4f} vs Louvain {louvain:.4f}"


@pytest.mark.parametrize("name", list(LABELLED))
def test_leiden_modularity_at_least_louvain(labelled, name):
    graph, _ = labelled[name]
    ours = np.median([partition_modularity(graph, detect_communities(graph, seed=s)) for s in SEEDS])
    louvain = np.median([partition_modularity(graph, _louvain(graph, s)) for s in SEEDS])
    assert ours >= louvain - 1e-9, f"{name}: Leiden modularity {ours:.4f} vs Louvain {louvain:.4f}"


def _assert_connected(graph: AccountGraph, labels: np.ndarray) -> None:
    csr = graph.undirected().csr()
    assert labels.min() == 0 and set(np.unique(labels)) == set(range(labels.max() + 1))
    sizes = np.bincount(labels)
    assert (np.diff(sizes) <= 0).all(), "labels are not ordered largest first"
    for community in range(labels.max() + 1):
        members = np.flatnonzero(labels == community)
        pieces, _ = connected_components(csr[members][:, members], directed=False)
        assert pieces == 1, f"community {community} ({len(members)} nodes) has {pieces} components"


@pytest.mark.parametrize("name", list(LABELLED))
def test_every_community_is_connected(labelled, name):
    graph, _ = labelled[name]
    for seed in (0, 1):
        _assert_connected(graph, detect_communities(graph, seed=seed))
    _assert_connected(graph, detect_communities(graph, quality="cpm", resolution=0.05))
    _assert_connected(graph, detect_communities(graph, resolution=3.0))


def test_same_seed_same_labels(labelled):
    graph, _ = labelled["email-Eu-core"]
    assert np.array_equal(detect_communities(graph, seed=4), detect_communities(graph, seed=4))
    assert np.array_equal(detect_communities(graph, quality="cpm", resolution=0.02, seed=4),
                          detect_communities(graph, quality="cpm", resolution=0.02, seed=4))


def test_restarts_keep_the_best_modularity_of_their_runs(labelled):
    graph, _ = labelled["dolphins"]
    runs = [detect_communities(graph, seed=3 * 4 + r, restarts=1) for r in range(4)]
    best = max(partition_modularity(graph, labels) for labels in runs)
    assert partition_modularity(graph, detect_communities(graph, seed=3, restarts=4)) == pytest.approx(best)
    assert len({round(partition_modularity(graph, labels), 9) for labels in runs}) > 1  # the runs differ
    with pytest.raises(ValueError, match="restarts"):
        detect_communities(graph, restarts=0)


def test_default_restarts_spend_an_edge_budget(labelled, monkeypatch):
    assert [restarts_for(m) for m in (0, 78, 16_705, 250_000, 250_001, 333_334, 500_001, 1_000_000, 10**7)] == \
        [LEIDEN_RESTARTS] * 4 + [3, 2, 1, 1, 1]
    graph, _ = labelled["email-Eu-core"]
    assert np.array_equal(detect_communities(graph, seed=2),
                          detect_communities(graph, seed=2, restarts=LEIDEN_RESTARTS))
    monkeypatch.setattr(communities, "RESTART_EDGE_BUDGET", 20_000)  # email-Eu-core has 16,064 edges
    assert np.array_equal(detect_communities(graph, seed=2), detect_communities(graph, seed=2, restarts=1))


def _ring_of_cliques(cliques: int, size: int, isolates: int = 0) -> AccountGraph:
    src, dst = [], []
    for c in range(cliques):
        base = c * size
        for i in range(size):
            for j in range(i + 1, size):
                src.append(base + i)
                dst.append(base + j)
        src.append(base)
        dst.append(((c + 1) % cliques) * size + 1)
    n = cliques * size + isolates
    ids = np.array([f"n{i}" for i in range(n)], dtype=object)
    return AccountGraph(np.array(["graph"] * n, dtype=object), ids, np.array(src), np.array(dst),
                        np.ones(len(src)), np.full(len(src), np.nan))


def test_cpm_finds_the_cliques_where_modularity_merges_them():
    # 30 cliques of 5: modularity's resolution limit merges neighbouring cliques; CPM with a
    # density threshold of 0.5 keeps each clique (Traag et al. 2011)
    graph = _ring_of_cliques(30, 5, isolates=3)
    expected = np.concatenate([np.repeat(np.arange(30), 5), 30 + np.arange(3)])
    cpm = detect_communities(graph, quality="cpm", resolution=0.5)
    assert normalized_mutual_info(cpm, expected) == pytest.approx(1.0)
    modularity = detect_communities(graph)
    assert modularity.max() + 1 < 33
    assert (np.bincount(cpm)[-3:] == 1).all()  # the isolates are singletons


def test_a_single_run_is_kept_without_scoring_it(monkeypatch):
    # one run (graphs over a million edges): its quality is compared with nothing, so it is not computed
    graph = _ring_of_cliques(30, 5, isolates=3)
    expected = {quality: detect_communities(graph, quality=quality, resolution=0.5, seed=7, restarts=1)
                for quality in ("modularity", "cpm")}

    def unused(*args, **kwargs):
        raise AssertionError("a single run was scored")

    monkeypatch.setattr(communities, "partition_modularity", unused)
    monkeypatch.setattr(communities, "partition_cpm", unused)
    for quality, labels in expected.items():
        assert np.array_equal(detect_communities(graph, quality=quality, resolution=0.5, seed=7, restarts=1), labels)


def test_run_communities_on_the_simulated_world_recovers_planted_communities(tmp_path):
    from confiance.pipeline import steps
    from confiance.simulate import simulate_world

    world = tmp_path / "world"
    simulate_world(world, seed=3, accounts=2000, posts=30000)
    ws = Workspace.init(tmp_path / "ws")
    ingest(ws, world / "x", world / "bluesky", world / "mastodon")
    with ws.writer() as con:
        build_edges(con, "g")
        summary = run_communities(con, "c")
        rows = communities_listing(con)
        profiles = con.execute(
            "SELECT community, size, top_accounts, top_hashtags, top_domains, top_terms, languages, activity, "
            "first_post, last_post, run_id FROM community_profiles ORDER BY community").fetchall()
        run_ids = con.execute("SELECT DISTINCT run_id FROM communities").fetchall()
    assert run_ids == [("c",)]
    assert summary["accounts"] == len(rows) == 2000
    truth = json.loads((world / "truth.json").read_text())
    # no edge joins two platforms, so a planted community is found once per platform: the truth is
    # (platform, planted community)
    planted = {(a["platform"], a["account_id"]): f'{a["platform"]}/{a["community"]}' for a in truth["accounts"]}
    found = {(r["platform"], r["account_id"]): r["community"] for r in rows}
    keys = sorted(planted)
    score = normalized_mutual_info([planted[k] for k in keys], [found[k] for k in keys])
    assert score >= 0.9, f"NMI vs planted communities {score:.3f}"
    # each platform apart too: one modularity over all platforms merged Mastodon's small communities
    # (NMI 0.598 on this world's Mastodon) where a platform's own partition finds them
    for platform in ("x", "bluesky", "mastodon"):
        mine = [k for k in keys if k[0] == platform]
        per_platform = normalized_mutual_info([planted[k] for k in mine], [found[k] for k in mine])
        assert per_platform >= 0.9, f"{platform}: NMI vs planted communities {per_platform:.3f}"
    assert sum(p[1] for p in profiles) == 2000
    biggest = profiles[0]
    assert biggest[1] == max(p[1] for p in profiles)
    assert len(biggest[2]) == 10 and biggest[3] and biggest[4] and biggest[5]
    assert abs(sum(l["share"] for l in biggest[6]) - 1.0) < 1e-9
    assert sum(w["posts"] for w in biggest[7]) > 0 and biggest[8] <= biggest[9]
    assert not {"the", "les", "and", "des"} & set(biggest[5])
    assert "communities" in steps() and steps()["communities"].after == ("graph",)


def test_run_communities_labels_every_account_and_lists_them(workspace):
    ingest(workspace, REAL / "karate" / "karate.gml")
    with workspace.writer() as con:
        build_edges(con, "g")
        summary = run_communities(con, "c", quality="cpm", resolution=0.1)
        rows = communities_listing(con)
    assert summary["accounts"] == 34 and len(rows) == 34
    assert set(rows[0]) == {"platform", "account_id", "community"}
    assert rows[0]["community"] == 0 and all(isinstance(r["account_id"], str) for r in rows)
