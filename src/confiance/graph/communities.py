"""Communities of accounts: Leiden on the undirected weighted graph, each community connected.

``detect_communities`` runs networkit's ``ParallelLeiden`` (Traag, Waltman & van Eck 2019) on the
deduplicated undirected graph, :data:`LEIDEN_RESTARTS` times from consecutive seeds (fewer on
graphs over 250k edges: :func:`restarts_for`, measured at :data:`RESTART_EDGE_BUDGET`) keeping the
partition of highest quality (``AccountGraph.undirected()``: networkit 11.3 miscounts edges when it
converts two-way edges itself), seeded and single-threaded so one seed gives one partition. Two
qualities:

- ``modularity`` with a resolution ``gamma`` (Reichardt & Bornholdt 2006; 1.0 is Newman's
  modularity): networkit's own objective;
- ``cpm``, the Constant Potts Model (Traag, Van Dooren & Nesterov 2011), which networkit 11.3 does not
  offer. It is reduced exactly to networkit's resolution modularity: every node gets a self-loop of
  weight ``(D - k_i) / 2`` (``k_i`` its weighted degree, ``D`` the largest one), so every node has
  volume ``D``; a self-loop always stays inside its node's community, so it only adds a constant to
  the quality, and with ``gamma' = gamma * n / D`` the modularity gain of every move equals CPM's
  with unit node weights: ``cut(v, C) - gamma * |C|``. networkit 11.3's ParallelLeiden can loop
  forever on this reduced graph (seen on karate at CPM 0.1: when its refinement keeps every node a
  singleton, the aggregate never shrinks and its loop has no other exit), so CPM is optimised with
  networkit's PLM (Louvain with refinement, Staudt & Meyerhenke 2016) and then made connected by
  the same split as below: CPM's objective, not Leiden's optimiser. The CPM resolution is a density threshold (leidenalg's convention):
  communities have internal density above it, so useful values lie below the graph's edge density
  for unweighted graphs; 1.0 asks for (near-)cliques.

Leiden promises connected communities, but networkit's parallel implementation can leave a few
disconnected ones (its own header says so, after Sahu et al. 2023). ``detect_communities`` therefore
splits every community into the connected components of its induced subgraph (one scipy
``connected_components`` over the intra-community edges); isolated accounts are singletons.

``run_communities`` partitions each platform apart (no interaction joins two platforms; one modularity
over all of them merges a small platform's communities, the resolution limit of Fortunato & Barthelemy
2007) and writes the ``communities`` table (one row per account) and ``community_profiles``
(size, top accounts by weighted in-degree, top hashtags, domains and terms, languages, weekly activity,
first and last post), the evidence behind each community.

References
----------
V. A. Traag, L. Waltman, N. J. van Eck, "From Louvain to Leiden: guaranteeing well-connected
communities", Scientific Reports 9, 5233 (2019).
V. A. Traag, P. Van Dooren, Y. Nesterov, "Narrow scope for resolution-limit-free community
detection", Physical Review E 84, 016114 (2011).
S. Fortunato, M. Barthelemy, "Resolution limit in community detection", PNAS 104(1), 36-41 (2007).
J. Reichardt, S. Bornholdt, "Statistical mechanics of community detection", Physical Review E 74,
016110 (2006).
C. L. Staudt, H. Meyerhenke, "Engineering parallel algorithms for community detection in massive
networks", IEEE TPDS 27(1) (2016) (networkit); F. Nguyen, "Leiden-based parallel community detection",
Karlsruhe Institute of Technology (2021) (networkit's ParallelLeiden).
"""

from __future__ import annotations

from typing import Any, Iterator, Literal, Sequence

import duckdb
import numpy as np
import pyarrow as pa
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from confiance.graph.build import AccountGraph, load_graph
from confiance.pipeline import Step, register_step

Quality = Literal["modularity", "cpm"]

#: Leiden passes (move, refine, aggregate until stable) networkit repeats; it stops early when stable.
#: networkit's default: on the six labelled graphs 10 passes give the same partitions' NMI (within
#: 0.001) at three times the cost on graphs without clear structure; restarts are the better use of time.
#: Fewer passes lose modularity where structure is weak (power-law graph of ``benchmarks/graph.py``,
#: 1.7M undirected edges, median of 3 seeds, one run: 1 pass 0.1523, 2 passes 0.1584, 3 passes 0.1598,
#: 5 passes 0.1605, each pass 0.3-0.6 CPU s; networkx's Louvain 0.1538), so the default stays.
LEIDEN_ITERATIONS = 3
#: Independent Leiden runs per call on small graphs (seeds ``seed * restarts + r``); the partition of
#: highest quality is kept. Leiden is a randomised heuristic and its authors advise several runs,
#: keeping the best (Traag et al. 2019; leidenalg's documentation). Measured on the six labelled graphs
#: (median NMI over 10 seeds): email-Eu-core 0.562 with one run, 0.587 with four; karate, polbooks,
#: football unchanged; dolphins 0.576 -> 0.587; polblogs 0.3673 -> 0.3669.
LEIDEN_RESTARTS = 4
#: Undirected edges the restarts of one call may cover together: ``restarts_for`` runs
#: ``LEIDEN_RESTARTS`` times up to 250k edges, three, two, then one run above 500k edges. What restarts buy
#: shrinks as graphs grow (``benchmarks/leiden_restarts.py``, 12 seeds, best of 4 vs single run): the
#: across-seed spread (sd) of modularity is 0.0004 on email-Eu-core (16k edges), 0.0094 on an LFR graph
#: of 10k nodes (97k edges, mixing 0.5), 0.0004 on LFR 100k nodes (976k edges) and 0.0006 on the
#: power-law graph of ``benchmarks/graph.py`` (1.7M edges); the NMI against the planted communities
#: gains 0.028 from four runs at 97k edges (0.929 -> 0.957) but 0.005 at 976k (0.931 -> 0.936), while
#: each run costs seconds per million edges, the bulk of the ``communities`` step.
RESTART_EDGE_BUDGET = 1_000_000
#: How many accounts, hashtags, domains and terms a profile lists.
PROFILE_TOP = 10

# A small French + English stop-word list for the profile terms (function words only).
STOP_WORDS = frozenset("""
a about after again all also am an and any are as at be because been before being but by can could
did do does doing done for from had has have having he her here hers him his how i if in into is it
its just me more most my no not now of off on once only or other our out over own same she should so
some such than that the their them then there these they this those through to too under until up
very was we were what when where which while who whom why will with would you your yours rt via amp
https http www com
au aux avec ce ces cet cette dans de des du elle elles en est et être eu il ils je la le les leur
leurs lui ma mais me mes moi mon même ne nos notre nous on ont ou où par pas plus pour qu que qui sa
se ses son sont sur ta te tes toi ton tu un une vos votre vous été était c d l j m n s t y qu ça cela
fait faire bien très tout tous toute toutes comme si sans aussi alors donc car ni entre chez peu
""".split())


def detect_communities(
    graph: AccountGraph,
    *,
    quality: Quality = "modularity",
    resolution: float = 1.0,
    seed: int = 0,
    restarts: int | None = None,
) -> np.ndarray:
    """Leiden communities of the undirected weighted graph, every community connected.

    Parameters
    ----------
    graph : the account graph; directed graphs are made undirected from deduplicated pairs, the
        weights of both directions summed.
    quality : ``"modularity"`` (resolution modularity, Reichardt & Bornholdt 2006) or ``"cpm"``
        (Constant Potts Model, Traag et al. 2011, by exact reduction to resolution modularity: see
        the module docstring).
    resolution : gamma. For modularity, 1.0 is Newman-Girvan modularity (Traag et al. 2019 use it as
        the default; larger values give smaller communities). For CPM, a density threshold in edge
        weight per pair of accounts.
    seed : networkit's random seed; networkit runs single-threaded here so the same seed gives
        the same labels.
    restarts : independent runs (seeds ``seed * restarts + r``); the connected partition of
        highest quality (the chosen modularity or CPM) is kept. Default: :func:`restarts_for` the
        graph's undirected edge count (``LEIDEN_RESTARTS`` up to 250k edges, one above 500k).

    Returns
    -------
    np.ndarray of int64, one label per node, 0..k-1, community 0 the largest (ties: the community
    holding the smaller node index first). Isolated nodes are singleton communities.

    References
    ----------
    Traag, Waltman & van Eck, Scientific Reports 9, 5233 (2019).
    """
    if quality not in ("modularity", "cpm"):
        raise ValueError(f"quality must be 'modularity' or 'cpm', not {quality!r}")
    if not resolution >= 0:
        raise ValueError(f"resolution must be >= 0, not {resolution!r}")
    undirected = graph.undirected()
    if restarts is None:
        restarts = restarts_for(undirected.m)
    if restarts < 1:
        raise ValueError(f"restarts must be at least 1, not {restarts!r}")
    n = undirected.n
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if undirected.m == 0:
        return np.arange(n, dtype=np.int64)
    best, best_quality = None, -np.inf
    for raw in _leiden(undirected, quality, resolution, [seed * restarts + run for run in range(restarts)]):
        labels = _connected_labels(undirected, raw)
        if restarts == 1:
            return labels  # nothing to compare it with
        value = (partition_modularity(undirected, labels, resolution) if quality == "modularity"
                 else partition_cpm(undirected, labels, resolution))
        if value > best_quality:
            best, best_quality = labels, value
    return best


def restarts_for(edges: int) -> int:
    """Leiden runs for a graph of ``edges`` undirected edges: ``LEIDEN_RESTARTS`` while their total stays
    within ``RESTART_EDGE_BUDGET`` edges, never fewer than one (the measurement is at the constants)."""
    return max(1, min(LEIDEN_RESTARTS, RESTART_EDGE_BUDGET // max(edges, 1)))


def _leiden(undirected: AccountGraph, quality: str, resolution: float, seeds: Sequence[int]) -> Iterator[np.ndarray]:
    """One raw partition per seed, all on one networkit graph (built once)."""
    import networkit as nk

    n = undirected.n
    src, dst, weight = undirected.src, undirected.dst, undirected.weight
    gamma = resolution
    if quality == "cpm":
        degree = np.bincount(src, weights=weight, minlength=n) + np.bincount(dst, weights=weight, minlength=n)
        top = float(degree.max())
        loops = (top - degree) / 2.0
        has_loop = np.flatnonzero(loops > 0)
        src = np.concatenate([src, has_loop])
        dst = np.concatenate([dst, has_loop])
        weight = np.concatenate([weight, loops[has_loop]])
        gamma = resolution * n / top
    nk_graph = AccountGraph(undirected.platform, undirected.account_id, src, dst, weight,
                            np.full(len(src), np.nan), directed=False).to_networkit()
    for seed in seeds:
        threads = nk.getCurrentNumberOfThreads()
        nk.setNumberOfThreads(1)
        try:
            nk.engineering.setSeed(int(seed), False)
            if quality == "cpm":
                # networkit 11.3's ParallelLeiden can loop forever on this reduction (when refinement keeps
                # every node a singleton, the aggregate never shrinks and its loop has no other exit), so
                # CPM runs networkit's PLM (Louvain with a refinement phase) on the same reduced graph
                detector = nk.community.PLM(nk_graph, refine=True, gamma=gamma, par="none randomized")
            else:
                detector = nk.community.ParallelLeiden(nk_graph, randomize=True, iterations=LEIDEN_ITERATIONS,
                                                       gamma=gamma)
            detector.run()
            labels = np.asarray(detector.getPartition().getVector(), dtype=np.int64)
        finally:
            nk.setNumberOfThreads(threads)
        yield labels


def _connected_labels(undirected: AccountGraph, labels: np.ndarray) -> np.ndarray:
    """Split each community into the components of its induced subgraph; relabel largest first."""
    n = undirected.n
    inside = labels[undirected.src] == labels[undirected.dst]
    adjacency = sp.csr_matrix(
        (np.ones(int(inside.sum())), (undirected.src[inside], undirected.dst[inside])), shape=(n, n))
    _, pieces = connected_components(adjacency, directed=False)
    return relabel_by_size(pieces)


def relabel_by_size(labels: np.ndarray) -> np.ndarray:
    """Labels 0..k-1, the largest group first, ties broken by the group's smallest node index."""
    _, first, inverse, sizes = np.unique(labels, return_index=True, return_inverse=True, return_counts=True)
    order = np.lexsort((first, -sizes))
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[inverse.reshape(-1)]


def _per_platform(graph: AccountGraph, **options: Any) -> np.ndarray:
    """:func:`detect_communities` on each platform's accounts apart, labels made unique (largest first).

    No edge joins two platforms, but one modularity over all of them compares a small platform's
    communities with the edge count of the whole graph, which merges them (the resolution limit,
    Fortunato & Barthelemy 2007: on a simulated world, Mastodon's 8 planted communities came out as 1-3).
    """
    labels = np.empty(graph.n, dtype=np.int64)
    offset = 0
    for platform in np.unique(graph.platform):
        nodes = np.flatnonzero(graph.platform == platform)
        position = np.full(graph.n, -1, dtype=np.int64)
        position[nodes] = np.arange(len(nodes))
        inside = position[graph.src] >= 0
        sub = AccountGraph(graph.platform[nodes], graph.account_id[nodes], position[graph.src[inside]],
                           position[graph.dst[inside]], graph.weight[inside], graph.probability[inside],
                           directed=graph.directed)
        labels[nodes] = detect_communities(sub, **options) + offset
        offset = int(labels[nodes].max()) + 1
    return relabel_by_size(labels)


def run_communities(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    *,
    resolution: float = 1.0,
    quality: Quality = "modularity",
    seed: int = 0,
    kinds: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Detect communities on the cached graph and write ``communities`` and ``community_profiles``.

    Every account gets a community (accounts without edges of the chosen kinds are singletons). Each
    platform is partitioned apart (no interaction joins two platforms), so a small platform's
    communities are not merged by the modularity of the whole graph.

    Parameters
    ----------
    con : a writable store connection with ``graph_edges`` built (the ``graph`` step).
    run_id : the analysis run the rows belong to.
    resolution, quality, seed : as in :func:`detect_communities`.
    kinds : interaction kinds of the graph (default: all).

    Returns
    -------
    dict with ``accounts``, ``communities`` (count), ``singletons``, ``largest`` (size) and
    ``modularity`` (Newman's, of the partition on the undirected weighted graph).

    References
    ----------
    Traag, Waltman & van Eck, Scientific Reports 9, 5233 (2019).
    """
    graph = load_graph(con, kinds=kinds, include_isolates=True)
    labels = _per_platform(graph, quality=quality, resolution=resolution, seed=seed)
    undirected = graph.undirected()
    in_strength = np.bincount(graph.dst, weights=graph.weight, minlength=graph.n)
    members = pa.table({
        "platform": pa.array(graph.platform.tolist(), pa.string()),
        "account_id": pa.array(graph.account_id.tolist(), pa.string()),
        "community": pa.array(labels.astype(np.int32)),
        "in_strength": pa.array(in_strength),
    })
    con.register("_community_members", members)
    try:
        con.execute(
            "CREATE OR REPLACE TABLE communities AS "
            "SELECT ? AS run_id, platform, account_id, community FROM _community_members "
            "ORDER BY community, platform, account_id",
            [run_id],
        )
        _write_profiles(con, run_id)
    finally:
        con.unregister("_community_members")
    sizes = np.bincount(labels) if len(labels) else np.zeros(0, dtype=np.int64)
    return {
        "accounts": int(graph.n),
        "communities": int(len(sizes)),
        "singletons": int((sizes == 1).sum()),
        "largest": int(sizes.max()) if len(sizes) else 0,
        "modularity": float(partition_modularity(undirected, labels)),
    }


def partition_modularity(graph: AccountGraph, labels: np.ndarray, resolution: float = 1.0) -> float:
    """Newman's modularity (with a resolution) of ``labels`` on the undirected weighted graph.

    ``Q = sum_c [ w_c / W - gamma * (K_c / 2W)^2 ]`` with ``w_c`` the weight inside community c,
    ``K_c`` its total weighted degree and ``W`` the total edge weight (Newman & Girvan 2004).
    """
    undirected = graph.undirected()
    total = float(undirected.weight.sum())
    if total == 0:
        return 0.0
    labels = np.asarray(labels)
    k = int(labels.max()) + 1 if len(labels) else 0
    inside = labels[undirected.src] == labels[undirected.dst]
    internal = np.bincount(labels[undirected.src[inside]], weights=undirected.weight[inside], minlength=k)
    degree = (np.bincount(undirected.src, weights=undirected.weight, minlength=undirected.n)
              + np.bincount(undirected.dst, weights=undirected.weight, minlength=undirected.n))
    volume = np.bincount(labels, weights=degree, minlength=k)
    return float((internal / total - resolution * (volume / (2 * total)) ** 2).sum())


def partition_cpm(graph: AccountGraph, labels: np.ndarray, resolution: float) -> float:
    """Constant Potts Model quality with unit node weights: ``sum_c [ w_c - gamma * n_c (n_c - 1) / 2 ]``
    (Traag, Van Dooren & Nesterov 2011), ``w_c`` the edge weight inside community c."""
    undirected = graph.undirected()
    labels = np.asarray(labels)
    k = int(labels.max()) + 1 if len(labels) else 0
    inside = labels[undirected.src] == labels[undirected.dst]
    internal = np.bincount(labels[undirected.src[inside]], weights=undirected.weight[inside], minlength=k)
    sizes = np.bincount(labels, minlength=k).astype(np.float64)
    return float((internal - resolution * sizes * (sizes - 1) / 2).sum())


def _write_profiles(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    top = PROFILE_TOP
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _community_posts AS "
        "SELECT m.community, p.* FROM posts p JOIN _community_members m "
        "ON m.platform = p.platform AND m.account_id = p.account_id"
    )
    stop_words = sorted(STOP_WORDS)
    con.execute(
        "CREATE OR REPLACE TABLE community_profiles AS "
        "WITH sizes AS (SELECT community, count(*) AS size FROM _community_members GROUP BY community),"
        " ranked_accounts AS ("
        "  SELECT m.community, coalesce(a.handle, m.account_id) AS account, m.in_strength,"
        "         row_number() OVER (PARTITION BY m.community ORDER BY m.in_strength DESC, m.platform, m.account_id) AS r"
        "  FROM _community_members m LEFT JOIN accounts a ON a.platform = m.platform AND a.account_id = m.account_id),"
        " top_accounts AS (SELECT community, list(account ORDER BY r) AS top_accounts FROM ranked_accounts"
        "  WHERE r <= ? GROUP BY community),"
        " tags AS (SELECT community, lower(unnest(hashtags)) AS item FROM _community_posts WHERE kind <> 'repost'),"
        " top_hashtags AS (SELECT community, list(item ORDER BY n DESC, item) AS top_hashtags FROM ("
        "  SELECT community, item, count(*) AS n, row_number() OVER (PARTITION BY community ORDER BY count(*) DESC, item) AS r"
        "  FROM tags GROUP BY community, item) WHERE r <= ? GROUP BY community),"
        " doms AS (SELECT community, lower(unnest(domains)) AS item FROM _community_posts WHERE kind <> 'repost'),"
        " top_domains AS (SELECT community, list(item ORDER BY n DESC, item) AS top_domains FROM ("
        "  SELECT community, item, count(*) AS n, row_number() OVER (PARTITION BY community ORDER BY count(*) DESC, item) AS r"
        "  FROM doms GROUP BY community, item) WHERE r <= ? GROUP BY community),"
        " tokens AS (SELECT community, unnest(regexp_split_to_array(lower(regexp_replace(coalesce(text, ''),"
        "   '(https?://\\S+|[#@]\\S+)', ' ', 'g')), '[^\\p{L}\\p{N}]+')) AS item"
        "  FROM _community_posts WHERE kind <> 'repost' AND text IS NOT NULL),"
        " top_terms AS (SELECT community, list(item ORDER BY n DESC, item) AS top_terms FROM ("
        "  SELECT community, item, count(*) AS n, row_number() OVER (PARTITION BY community ORDER BY count(*) DESC, item) AS r"
        "  FROM tokens WHERE length(item) >= 3 AND NOT regexp_full_match(item, '[0-9]+')"
        "   AND item NOT IN (SELECT unnest(?)) GROUP BY community, item) WHERE r <= ? GROUP BY community),"
        " langs AS (SELECT community, list({'lang': lang, 'share': share} ORDER BY share DESC, lang) AS languages FROM ("
        "  SELECT community, coalesce(lang, 'und') AS lang,"
        "         count(*) / sum(count(*)) OVER (PARTITION BY community) AS share"
        "  FROM _community_posts GROUP BY community, coalesce(lang, 'und')) GROUP BY community),"
        " weeks AS (SELECT community, list({'week': week, 'posts': n} ORDER BY week) AS activity,"
        "  min(first_post) AS first_post, max(last_post) AS last_post FROM ("
        "  SELECT community, CAST(date_trunc('week', created_at) AS DATE) AS week, count(*) AS n,"
        "         min(created_at) AS first_post, max(created_at) AS last_post"
        "  FROM _community_posts WHERE created_at IS NOT NULL GROUP BY community, week) GROUP BY community) "
        "SELECT ? AS run_id, s.community, s.size, coalesce(a.top_accounts, []) AS top_accounts,"
        "       coalesce(h.top_hashtags, []) AS top_hashtags, coalesce(d.top_domains, []) AS top_domains,"
        "       coalesce(t.top_terms, []) AS top_terms, coalesce(l.languages, []) AS languages,"
        "       coalesce(w.activity, []) AS activity, w.first_post, w.last_post "
        "FROM sizes s LEFT JOIN top_accounts a USING (community) LEFT JOIN top_hashtags h USING (community)"
        " LEFT JOIN top_domains d USING (community) LEFT JOIN top_terms t USING (community)"
        " LEFT JOIN langs l USING (community) LEFT JOIN weeks w USING (community) "
        "ORDER BY s.community",
        [top, top, top, stop_words, top, run_id],
    )
    con.execute("DROP TABLE _community_posts")


def communities_listing(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """``confiance communities --json`` rows: ``{"platform", "account_id", "community"}`` (DESIGN §6)."""
    rows = con.execute(
        "SELECT platform, account_id, community FROM communities ORDER BY community, platform, account_id"
    ).fetchall()
    return [{"platform": p, "account_id": a, "community": int(c)} for p, a, c in rows]


def _step(con: duckdb.DuckDBPyConnection, run_id: str, **kept: Any) -> dict[str, Any]:
    return run_communities(con, run_id, **kept)


register_step(Step(
    "communities", _step, after=("graph",),
    description=f"Leiden communities (modularity, resolution 1.0, seed 0, best of {LEIDEN_RESTARTS} runs up to "
                f"{RESTART_EDGE_BUDGET // LEIDEN_RESTARTS:,} edges, fewer above), connected; community profiles",
    parameters={"quality": "modularity", "resolution": 1.0, "seed": 0,
                "restarts": f"{LEIDEN_RESTARTS} within {RESTART_EDGE_BUDGET:,} edges in all", "kinds": None},
    kept=("resolution", "quality", "seed"),
))
