"""Polarisation of the account graph: two sides, random-walk controversy, and who bridges them.

The pipeline follows Garimella et al. (2018): (i) the conversation graph (here the cached account
graph, made undirected from deduplicated pairs, its largest connected component), (ii) a 2-way
partition into sides, (iii) controversy measured on that partition.

Sides (:func:`two_sides`). Garimella et al. partition with METIS, a balanced min-cut bisection.
METIS is not a dependency here; we use its spectral counterpart: the Fiedler vector of the normalised
Laplacian (Shi & Malik 2000; the spectral relaxation of the balanced normalised cut), split at its
median, so both sides have (almost) the same number of accounts as a METIS bisection does. A
balanced split matters: on a graph without two camps the cut still has to go through the middle and
many walks cross it, so RWC stays low.

Measures:

- :func:`random_walk_controversy` (RWC), the paper's variant: absorbing vertices are the ``k``
  highest-degree vertices of each side; a walk starts at a uniformly random vertex of a side and stops
  at the first absorbing vertex; ``RWC = P_XX P_YY - P_XY P_YX`` with ``P_AB = Pr[start in A | end in
  B]`` (each side starts half of the walks). Computed exactly by a sparse linear solve of the
  absorption probabilities, not by sampling.
  This is the paper's definition (section 4.2 of the TSC version). The authors' public script
  (gvrkiran/controversy-detection, ``code/randomwalk/computePolarizationScoreRandomwalk.py``) runs a
  different variant: the graph is read undirected and unweighted (``networkx.read_weighted_edgelist``
  builds a ``Graph``, and the walk picks neighbours uniformly), but the absorbing vertices are a random
  sample of a share of each side (a command-line percentage), walks start only at the sampled
  vertices (ending at any *other* sampled vertex), 1000 samples are pooled, and ``P_AB`` comes from
  the pooled counts, so each side weighs by its size rather than one half. Its top-k-degree
  function is present but commented out. The published retweet graphs carry no direction (each
  pair appears once, in either order), so an in-degree variant cannot be reproduced from them.
  The formula allows a negative RWC (down to -1): walks then end on the *other* side more often than
  on their own (``P_XY P_YX > P_XX P_YY``), which a balanced cut of a small or star-shaped component
  produces. It means the split separates nothing, not that the graph is "anti-polarised";
  :data:`NEGATIVE_RWC_NOTE` says so wherever the score is shown.
- :func:`split_modularity` (Newman 2006) and :func:`ei_index` (Krackhardt & Stern 1988) of the split;
- :func:`bridging_scores`: per account, how balanced its interactions with the two sides are
  (``1 - |share_X - share_Y|``), in the spirit of bridging-based ranking (Ovadya & Thorburn 2023),
  which rewards what is endorsed across a divide rather than within one camp;
- :func:`participation_coefficients` (Guimerà & Amaral 2005): brokers spread their ties over many
  communities.

When the scores mean nothing (:func:`component_inadequacy`). The split covers the largest connected
component only. RWC needs ``k`` absorbing vertices per side plus vertices to start walks from; with
fewer than ``4 k`` accounts in the component, half of a side or more is absorbing, and the walks say
more about where the hubs sit than about two camps. And when the component holds less than half of
the accounts with edges (no giant component), it is one fragment of the conversation, not the
conversation. The 9 real format samples ingested together are such a case: 18 accounts out of 863,
RWC -0.515. Then ``rwc``, ``modularity`` and ``ei_index`` are not computed, and the ``polarization``
row says why (``reason``); the sides and bridging rows are still written, as what was looked at.

Measured on the 19 published labelled retweet graphs (``*_threshold_largest_CC``; AUC of the score
for separating the 10 controversial topics from the 9 others; ``benchmarks/polarization.py``): RWC
with the paper's variant (k = 10) gives 0.52 with our spectral sides and 0.61 with the authors' own
METIS sides, 0.58 with k = 100 (``--k 100 --reference-sides``). Outside the benchmark (one-off
computations with the same exact solver): k as 0.1-30 % of each side gives 0.31-0.46 and the authors'
sampled variant (10 %) 0.47 on the METIS sides. The paper's separation does not reproduce on these
graphs with any variant: thresholding at two retweets leaves the non-controversial topics as loosely joined stars
around celebrities and brands, which any balanced cut separates as well as two camps (``ff`` 0.94,
``wcw`` 0.98 on METIS sides, against 0.57-0.94 for the controversial topics). Subtracting the RWC of
configuration-model rewirings, each split again (Salloum et al. 2022's normalisation; spectral sides,
two rewirings per topic), did not help either (AUC 0.33).

References
----------
K. Garimella, G. De Francisci Morales, A. Gionis, M. Mathioudakis, "Quantifying controversy on social
media", ACM Transactions on Social Computing 1(1), 3 (2018); WSDM 2016 "Quantifying controversy in
social media".
J. Shi, J. Malik, "Normalized cuts and image segmentation", IEEE TPAMI 22(8), 888-905 (2000).
M. E. J. Newman, "Modularity and community structure in networks", PNAS 103, 8577-8582 (2006).
D. Krackhardt, R. N. Stern, "Informal networks and organizational crises: an experimental
simulation", Social Psychology Quarterly 51(2), 123-140 (1988).
A. Ovadya, L. Thorburn, "Bridging systems: open problems for countering destructive divisiveness
across ranking, recommenders, and governance", arXiv:2301.09976 (2023).
R. Guimerà, L. A. N. Amaral, "Functional cartography of complex metabolic networks", Nature 433,
895-900 (2005).
A. Salloum, T. H. Y. Chen, M. Kivelä, "Separating polarization from noise: comparison and
normalization of structural polarization measures", Proc. ACM Hum.-Comput. Interact. 6 (CSCW1), 115
(2022).
"""

from __future__ import annotations

from typing import Any, Sequence

import duckdb
import numpy as np
import orjson
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import eigsh, spsolve

from confiance import i18n
from confiance.graph.build import AccountGraph, load_graph
from confiance.graph.communities import partition_modularity
from confiance.i18n import N_
from confiance.pipeline import Step, register_step
from confiance.store import has_table

#: Absorbing vertices per side: Garimella et al. take the 10 highest-degree vertices of each side.
RWC_K = 10
#: Accounts listed per side in the ``polarization`` row.
SIDE_TOP = 10
#: The largest component must hold this many times ``k`` accounts (each side then has at least 2 k,
#: so at most half of a side is absorbing vertices)…
MIN_COMPONENT_PER_K = 4
#: …and this share of the accounts with edges (a giant component, not one fragment of the graph).
MIN_COMPONENT_SHARE = 0.5
#: Shown beside a negative RWC (the formula allows one; it does not mean "anti-polarised").
NEGATIVE_RWC_NOTE = N_("RWC below 0: walks ended on the other side more often than on their own side, so this "
                        "split separates nothing (no sign of two camps); it does not mean an 'anti-polarised' graph")


def component_inadequacy(component: int, accounts_with_edges: int, *, k: int = RWC_K) -> str | None:
    """Why the largest component is too small for the polarisation scores to mean anything (None if it is not).

    Parameters
    ----------
    component : accounts in the largest connected component (the split's and the walks' graph).
    accounts_with_edges : accounts with at least one interaction in the graph.
    k : absorbing vertices per side of RWC.

    Returns
    -------
    A sentence naming the figures and the thresholds not met, or None when both are met: at least
    ``MIN_COMPONENT_PER_K * k`` accounts and ``MIN_COMPONENT_SHARE`` of the accounts with edges. It is
    written in the language of :func:`i18n.using` (the step stores it in English).
    """
    needed = MIN_COMPONENT_PER_K * k
    reasons = []
    if component < needed:
        reasons.append(i18n.gettext("has %(component)s accounts, fewer than %(needed)s (%(per_k)s x k, with k = %(k)s "
                                    "absorbing accounts per side): too few to measure two sides",
                                    component=i18n.plain(component), needed=i18n.plain(needed),
                                    per_k=i18n.plain(MIN_COMPONENT_PER_K), k=k))
    if component < MIN_COMPONENT_SHARE * accounts_with_edges:
        reasons.append(i18n.gettext("holds %(component)s of the %(accounts)s accounts with interactions (%(share)s, "
                                    "under %(minimum)s): the graph is fragmented, and one fragment does not show the "
                                    "conversation's sides", component=i18n.plain(component),
                                    accounts=i18n.plain(accounts_with_edges),
                                    share=i18n.share(component / accounts_with_edges),
                                    minimum=i18n.share(MIN_COMPONENT_SHARE)))
    if len(reasons) == 2:
        return i18n.gettext("the largest connected component %(first)s and %(second)s",
                            first=reasons[0], second=reasons[1])
    return i18n.gettext("the largest connected component %(reason)s", reason=reasons[0]) if reasons else None


def largest_component(graph: AccountGraph) -> np.ndarray:
    """Boolean mask of the nodes in the largest connected component of the undirected graph."""
    if graph.n == 0:
        return np.zeros(0, dtype=bool)
    _, component = connected_components(graph.undirected().csr(), directed=False)
    return component == np.bincount(component).argmax()


def two_sides(graph: AccountGraph) -> np.ndarray:
    """A balanced 2-way partition of the largest connected component (spectral bisection).

    The Fiedler vector of the normalised Laplacian ``I - D^-1/2 A D^-1/2`` of the undirected weighted
    graph (its largest component), split at the median: the balanced spectral relaxation of the
    normalised cut (Shi & Malik 2000), standing in for the METIS bisection of Garimella et al. (2018).

    Parameters
    ----------
    graph : the account graph.

    Returns
    -------
    np.ndarray of int8 per node: 0 or 1 for the two sides (side 0 holds the highest-degree vertex),
    -1 for nodes outside the largest component.

    References
    ----------
    Shi & Malik, IEEE TPAMI 22(8) (2000); Garimella et al., ACM TSC 1(1) (2018).
    """
    sides = np.full(graph.n, -1, dtype=np.int8)
    mask = largest_component(graph)
    nodes = np.flatnonzero(mask)
    if len(nodes) < 2:
        sides[nodes] = 0
        return sides
    adjacency = graph.undirected().csr()[nodes][:, nodes].tocsr()
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    scale = 1.0 / np.sqrt(degree)
    normalised = sp.diags(scale) @ adjacency @ sp.diags(scale)
    fiedler = _fiedler(normalised, np.sqrt(degree)) * scale
    side = (fiedler > np.median(fiedler)).astype(np.int8)
    if side.all() or not side.any():  # all values equal: split by index, still balanced
        side = (np.arange(len(nodes)) >= len(nodes) // 2).astype(np.int8)
    if side[np.argmax(degree)] == 1:
        side = 1 - side
    sides[nodes] = side
    return sides


def _fiedler(normalised: sp.spmatrix, top: np.ndarray) -> np.ndarray:
    """Second eigenvector of the normalised adjacency (largest eigenvalue 1, eigenvector sqrt(degree))."""
    n = normalised.shape[0]
    if n <= 3:
        values, vectors = np.linalg.eigh(normalised.toarray())
        return vectors[:, -2]
    top = top / np.linalg.norm(top)
    # deflate the known top eigenvector and shift so the wanted one is the largest in magnitude
    deflated = sp.linalg.LinearOperator(
        (n, n), matvec=lambda x: normalised @ x - top * (top @ x) + x, dtype=np.float64)
    start = np.cos(np.arange(n, dtype=np.float64))  # deterministic start vector
    values, vectors = eigsh(deflated, k=1, which="LA", v0=start, tol=1e-8, maxiter=max(5000, 20 * n))
    vector = vectors[:, 0]
    return vector * (1 if vector[np.argmax(np.abs(vector))] > 0 else -1)


def _walk_graph(graph: AccountGraph, weighted: bool) -> sp.csr_matrix:
    undirected = graph.undirected()
    weights = undirected.weight if weighted else np.ones(undirected.m)
    return AccountGraph(undirected.platform, undirected.account_id, undirected.src, undirected.dst,
                        weights, undirected.probability, directed=False).csr()


def absorbing_vertices(graph: AccountGraph, sides: np.ndarray, *, k: int = RWC_K) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` highest-degree vertices of each side (degree = number of distinct neighbours; ties by index)."""
    undirected = graph.undirected()
    degree = np.bincount(undirected.src, minlength=graph.n) + np.bincount(undirected.dst, minlength=graph.n)
    chosen = []
    for side in (0, 1):
        members = np.flatnonzero(sides == side)
        order = np.lexsort((members, -degree[members]))
        chosen.append(members[order[:k]])
    return chosen[0], chosen[1]


def random_walk_controversy(
    graph: AccountGraph,
    sides: np.ndarray,
    *,
    k: int = RWC_K,
    weighted: bool = False,
) -> dict[str, float]:
    """Random-walk controversy (RWC) of a 2-way split, computed exactly.

    A walk starts at a uniformly random vertex of side X (or Y, each half of the time), moves to a
    uniformly random neighbour at each step (weighted by edge weight if ``weighted``), and stops at the
    first absorbing vertex it reaches after at least one step; the absorbing vertices are the ``k``
    highest-degree vertices of each side. With ``P_AB = Pr[start in A | end in B]``,
    ``RWC = P_XX P_YY - P_XY P_YX``: close to 1 when walks stay on their side (controversy), close to 0
    when they cross freely.

    The absorption probabilities ``h`` solve ``(D_T - A_TT) h = A_TX 1`` on the transient vertices
    ``T`` (a grounded Laplacian, symmetric positive definite on a connected graph), so no sampling
    noise enters the score.

    Parameters
    ----------
    graph : the account graph; walked undirected (Garimella et al. walk the undirected retweet graph,
        and their code picks neighbours uniformly, ignoring retweet counts: ``weighted=False``).
    sides : per node 0 / 1, or -1 for nodes outside the walk (e.g. outside the largest component).
    k : absorbing vertices per side; Garimella et al. use the 10 highest-degree vertices per side.
    weighted : choose the next vertex proportionally to edge weight instead of uniformly.

    Returns
    -------
    dict with ``rwc``, the four conditional probabilities ``p_xx``, ``p_xy``, ``p_yx``, ``p_yy``
    (``p_ab = Pr[start in a | end in b]``), and ``end_x_from_x`` / ``end_x_from_y`` (``Pr[end in X |
    start in X]`` and ``| start in Y``), the quantities the score is built from.

    References
    ----------
    Garimella, De Francisci Morales, Gionis, Mathioudakis, ACM TSC 1(1) (2018), section 4.2.
    """
    sides = np.asarray(sides)
    if k < 1:
        raise ValueError(f"k must be >= 1, not {k}")
    if not ((sides == 0).any() and (sides == 1).any()):
        raise ValueError("random_walk_controversy needs two non-empty sides")
    nodes = np.flatnonzero(sides >= 0)
    adjacency = _walk_graph(graph, weighted)[nodes][:, nodes].tocsr()
    side = sides[nodes]
    local = np.full(graph.n, -1)
    local[nodes] = np.arange(len(nodes))
    absorb_x, absorb_y = (local[a] for a in absorbing_vertices(graph, sides, k=k))
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    if (degree == 0).any():
        raise ValueError("random_walk_controversy needs a graph without isolated vertices among the sides")
    absorbing = np.zeros(len(nodes), dtype=bool)
    absorbing[absorb_x] = absorbing[absorb_y] = True
    transient = np.flatnonzero(~absorbing)
    # h: probability of ending in X, 1 on X's absorbing vertices, 0 on Y's, solved on the rest
    h = np.zeros(len(nodes))
    h[absorb_x] = 1.0
    if len(transient):
        a_tt = adjacency[transient][:, transient]
        system = (sp.diags(degree[transient]) - a_tt).tocsc()
        rhs = adjacency[transient][:, absorb_x] @ np.ones(len(absorb_x))
        # minimum degree on A+A' suits a symmetric system: on the 200k-post demo graph (11.8k transient
        # vertices) it solved in 1.7 s of CPU where spsolve's default COLAMD took 18 s (same h to 1e-14)
        h[transient] = np.atleast_1d(spsolve(system, rhs, permc_spec="MMD_AT_PLUS_A"))
    # the walk takes a first step before it may stop, from any start vertex (absorbing ones included)
    start = (adjacency @ h) / degree
    end_x_from_x = float(start[side == 0].mean())
    end_x_from_y = float(start[side == 1].mean())
    end_y_from_x, end_y_from_y = 1.0 - end_x_from_x, 1.0 - end_x_from_y
    ends_x = end_x_from_x + end_x_from_y
    ends_y = end_y_from_x + end_y_from_y
    p_xx = end_x_from_x / ends_x if ends_x > 0 else 0.0
    p_yx = end_x_from_y / ends_x if ends_x > 0 else 0.0
    p_yy = end_y_from_y / ends_y if ends_y > 0 else 0.0
    p_xy = end_y_from_x / ends_y if ends_y > 0 else 0.0
    return {"rwc": p_xx * p_yy - p_xy * p_yx, "p_xx": p_xx, "p_xy": p_xy, "p_yx": p_yx, "p_yy": p_yy,
            "end_x_from_x": end_x_from_x, "end_x_from_y": end_x_from_y}


def split_modularity(graph: AccountGraph, sides: np.ndarray) -> float:
    """Newman's modularity of the 2-way split on the undirected weighted graph of the sided nodes."""
    nodes = np.flatnonzero(np.asarray(sides) >= 0)
    return partition_modularity(_subgraph(graph.undirected(), nodes), np.asarray(sides)[nodes].astype(np.int64))


def ei_index(graph: AccountGraph, sides: np.ndarray, *, weighted: bool = True) -> float:
    """Krackhardt & Stern's E-I index ``(E - I) / (E + I)`` of the split.

    ``E`` is the weight of ties between the two sides, ``I`` the weight of ties within a side, on the
    undirected graph (counts of ties if not ``weighted``, as in the original paper). -1: all ties stay
    inside their side; +1: all cross.

    References
    ----------
    Krackhardt & Stern, Social Psychology Quarterly 51(2), 123-140 (1988).
    """
    sides = np.asarray(sides)
    undirected = graph.undirected()
    a, b = sides[undirected.src], sides[undirected.dst]
    keep = (a >= 0) & (b >= 0)
    weight = undirected.weight[keep] if weighted else np.ones(int(keep.sum()))
    external = float(weight[a[keep] != b[keep]].sum())
    internal = float(weight[a[keep] == b[keep]].sum())
    return (external - internal) / (external + internal) if external + internal > 0 else 0.0


def side_exposure(graph: AccountGraph, sides: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per node, the interaction weight (both directions) with accounts of side 0 and of side 1."""
    sides = np.asarray(sides)
    undirected = graph.undirected()
    exposure = []
    for side in (0, 1):
        to_side = np.bincount(undirected.src, weights=undirected.weight * (sides[undirected.dst] == side),
                              minlength=graph.n)
        from_side = np.bincount(undirected.dst, weights=undirected.weight * (sides[undirected.src] == side),
                                minlength=graph.n)
        exposure.append(to_side + from_side)
    return exposure[0], exposure[1]


def bridging_scores(graph: AccountGraph, sides: np.ndarray) -> np.ndarray:
    """Per account, how evenly its interactions reach both sides: ``1 - |w_0 - w_1| / (w_0 + w_1)``.

    ``w_s`` is the weight of the account's interactions (given or received) with accounts of side
    ``s``. 1 means its interactions are split evenly between the two sides, 0 that they all involve one
    side (or that it has none with sided accounts). Bridging-based ranking (Ovadya & Thorburn 2023)
    favours what is endorsed across a divide; this is its account-level, structural counterpart, and
    ``w_0``, ``w_1`` (:func:`side_exposure`) are its evidence.

    References
    ----------
    Ovadya & Thorburn, arXiv:2301.09976 (2023).
    """
    w0, w1 = side_exposure(graph, sides)
    total = w0 + w1
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(total > 0, 1.0 - np.abs(w0 - w1) / total, 0.0)
    return score


def participation_coefficients(graph: AccountGraph, communities: np.ndarray) -> np.ndarray:
    """Guimerà & Amaral's participation coefficient ``P_i = 1 - sum_s (k_is / k_i)^2``.

    ``k_is`` is node i's interaction weight with community s, ``k_i`` its weighted degree, on the
    undirected graph. 0: all its ties are inside one community; close to 1: spread over many (brokers).
    Nodes without edges get 0.

    References
    ----------
    Guimerà & Amaral, Nature 433, 895-900 (2005).
    """
    communities = np.asarray(communities, dtype=np.int64)
    undirected = graph.undirected()
    if undirected.m == 0:
        return np.zeros(graph.n)
    k = int(communities.max()) + 1
    rows = np.concatenate([undirected.src, undirected.dst])
    cols = communities[np.concatenate([undirected.dst, undirected.src])]
    weights = np.concatenate([undirected.weight, undirected.weight])
    per_community = sp.csr_matrix((weights, (rows, cols)), shape=(graph.n, k))
    degree = np.asarray(per_community.sum(axis=1)).ravel()
    squares = np.asarray(per_community.multiply(per_community).sum(axis=1)).ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(degree > 0, 1.0 - squares / degree**2, 0.0)


def _subgraph(graph: AccountGraph, nodes: np.ndarray) -> AccountGraph:
    local = np.full(graph.n, -1)
    local[nodes] = np.arange(len(nodes))
    keep = (local[graph.src] >= 0) & (local[graph.dst] >= 0)
    return AccountGraph(graph.platform[nodes], graph.account_id[nodes], local[graph.src[keep]], local[graph.dst[keep]],
                        graph.weight[keep], graph.probability[keep], directed=graph.directed)


def polarization_of(graph: AccountGraph, *, k: int = RWC_K) -> dict[str, Any]:
    """Sides, RWC, split modularity, E-I index and bridging scores of one graph (no store involved).

    The three scores are None, and ``reason`` says why, when the largest component is too small
    (:func:`component_inadequacy`); the sides and bridging scores are computed in any case.
    """
    sides = two_sides(graph)
    undirected = graph.undirected()
    with_edges = int(np.union1d(undirected.src, undirected.dst).size)
    reason = component_inadequacy(int((sides >= 0).sum()), with_edges, k=k)
    measures: dict[str, Any] = {"sides": sides, "rwc": None, "modularity": None, "ei_index": None,
                                "reason": reason, "accounts_with_edges": with_edges}
    if reason is None and (sides == 0).any() and (sides == 1).any():
        measures.update(
            rwc=random_walk_controversy(graph, sides, k=k)["rwc"],
            modularity=split_modularity(graph, sides),
            ei_index=ei_index(graph, sides),
        )
    measures["bridging"] = bridging_scores(graph, sides)
    return measures


def run_polarization(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    *,
    k: int = RWC_K,
    kinds: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Two sides, RWC, modularity and E-I of the split; bridging and participation per account.

    Writes ``polarization`` (one row: run_id, rwc, modularity, ei_index (NULL when not meaningful), k,
    nodes (largest component), accounts_with_edges, reason (why the scores are NULL, else NULL), sides
    JSON ``[{"side", "size", "top_accounts"}]``) and ``account_bridging`` (run_id, platform,
    account_id, side (NULL outside the largest component), bridging, participation, exposure_side0,
    exposure_side1 (the evidence of ``bridging``)). Participation uses the ``communities`` table when
    the ``communities`` step has run, else every account counts as its own community (participation 0
    is then meaningless, so the step depends on ``communities``).

    Parameters
    ----------
    con : a writable store connection with ``graph_edges`` (and ``communities``) built.
    run_id : the analysis run the rows belong to.
    k : absorbing vertices per side for RWC (Garimella et al.: 10).
    kinds : interaction kinds of the graph (default all; Garimella et al. use retweets).

    Returns
    -------
    dict: ``rwc``, ``modularity``, ``ei_index``, ``reason``, ``sides`` (as in the table), ``accounts``.

    References
    ----------
    Garimella et al., ACM TSC 1(1) (2018); Guimerà & Amaral, Nature 433 (2005).
    """
    graph = load_graph(con, kinds=kinds)
    result = polarization_of(graph, k=k)
    sides = result["sides"]
    communities = _stored_communities(con, graph)
    participation = participation_coefficients(graph, communities)
    w0, w1 = side_exposure(graph, sides)
    undirected = graph.undirected()
    degree = np.bincount(undirected.src, minlength=graph.n) + np.bincount(undirected.dst, minlength=graph.n)
    handles = dict(con.execute("SELECT platform || ':' || account_id, handle FROM accounts").fetchall())
    side_rows = []
    for side in (0, 1):
        members = np.flatnonzero(sides == side)
        top = members[np.lexsort((members, -degree[members]))][:SIDE_TOP]
        side_rows.append({
            "side": side, "size": int(len(members)),
            "top_accounts": [handles.get(f"{graph.platform[i]}:{graph.account_id[i]}") or graph.account_id[i]
                             for i in top],
        })
    con.execute(
        "CREATE OR REPLACE TABLE polarization AS SELECT ? AS run_id, CAST(? AS DOUBLE) AS rwc, "
        "CAST(? AS DOUBLE) AS modularity, CAST(? AS DOUBLE) AS ei_index, CAST(? AS INTEGER) AS k, "
        "CAST(? AS BIGINT) AS nodes, CAST(? AS BIGINT) AS accounts_with_edges, CAST(? AS VARCHAR) AS reason, "
        "CAST(? AS JSON) AS sides",
        [run_id, result["rwc"], result["modularity"], result["ei_index"], k, int((sides >= 0).sum()),
         result["accounts_with_edges"], result["reason"], orjson.dumps(side_rows).decode()],
    )
    import pyarrow as pa

    table = pa.table({
        "platform": pa.array(graph.platform.tolist(), pa.string()),
        "account_id": pa.array(graph.account_id.tolist(), pa.string()),
        "side": pa.array([int(s) if s >= 0 else None for s in sides.tolist()], pa.int8()),
        "bridging": pa.array(result["bridging"]),
        "participation": pa.array(participation),
        "exposure_side0": pa.array(w0),
        "exposure_side1": pa.array(w1),
    })
    con.register("_account_bridging", table)
    try:
        con.execute(
            "CREATE OR REPLACE TABLE account_bridging AS SELECT ? AS run_id, * FROM _account_bridging "
            "ORDER BY bridging DESC, platform, account_id",
            [run_id],
        )
    finally:
        con.unregister("_account_bridging")
    return {"rwc": result["rwc"], "modularity": result["modularity"], "ei_index": result["ei_index"],
            "reason": result["reason"], "sides": side_rows, "accounts": int(graph.n)}


def _stored_communities(con: duckdb.DuckDBPyConnection, graph: AccountGraph) -> np.ndarray:
    labels = np.arange(graph.n, dtype=np.int64)
    if not has_table(con, "communities"):
        return labels
    stored = {(p, a): c for p, a, c in con.execute("SELECT platform, account_id, community FROM communities").fetchall()}
    offset = max(stored.values(), default=-1) + 1
    for i, key in enumerate(zip(graph.platform, graph.account_id)):
        labels[i] = stored.get(key, offset + i)
    return labels


#: How many bridging accounts the summary lists.
TOP_BRIDGES = 15


def top_bridges(con: duckdb.DuckDBPyConnection, limit: int = TOP_BRIDGES) -> list[dict[str, Any]]:
    """The accounts that bridge the two sides best (``account_bridging``), with their exposure to each side.

    Ranked by the interaction weight with the side they reach less, then by ``bridging``: one interaction
    with each side is perfectly even but bridges little. ``side`` is None outside the largest component.
    """
    if not has_table(con, "account_bridging"):
        return []
    cursor = con.execute(
        "SELECT b.platform, b.account_id, coalesce(a.handle, b.account_id) AS handle, b.side, "
        "       b.bridging, b.participation, b.exposure_side0, b.exposure_side1 "
        "FROM account_bridging b LEFT JOIN accounts a ON a.platform = b.platform AND a.account_id = b.account_id "
        "WHERE b.bridging IS NOT NULL ORDER BY least(b.exposure_side0, b.exposure_side1) DESC, b.bridging DESC, "
        "b.platform, b.account_id LIMIT ?", [limit])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def polarization_summary(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """``confiance polarization --json`` (DESIGN §6): ``{"rwc", "modularity", "ei_index", "meaningful", "reason",
    "note", "nodes", "accounts_with_edges", "sides": [...], "bridges": [...]}``.

    ``meaningful`` is False, the scores None and ``reason`` the why, when the largest component was too
    small (:func:`component_inadequacy`); ``note`` explains a negative RWC (else None); ``bridges`` are
    :func:`top_bridges` (who links the sides, and the brokers' participation).
    """
    cursor = con.execute("SELECT * FROM polarization LIMIT 1")
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    if not rows:
        return {"rwc": None, "modularity": None, "ei_index": None, "meaningful": False,
                "reason": "no polarisation row", "note": None, "nodes": 0, "accounts_with_edges": 0, "sides": [],
                "bridges": []}
    row = dict(zip(names, rows[0]))
    rwc = row["rwc"]
    reason = row.get("reason")  # absent from tables written before the check existed
    return {"rwc": rwc, "modularity": row["modularity"], "ei_index": row["ei_index"],
            "meaningful": reason is None and rwc is not None, "reason": reason,
            "note": NEGATIVE_RWC_NOTE if rwc is not None and rwc < 0 else None,
            "nodes": row.get("nodes"), "accounts_with_edges": row.get("accounts_with_edges"),
            "sides": orjson.loads(row["sides"]), "bridges": top_bridges(con)}


def _step(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    return run_polarization(con, run_id)


register_step(Step(
    "polarization", _step, after=("graph", "communities"),
    description="two sides (spectral bisection), random-walk controversy, E-I, bridging and participation",
    parameters={"k": RWC_K, "kinds": None, "sides": "spectral-median", "walk": "unweighted"},
))
