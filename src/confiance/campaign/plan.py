"""Campaign plan: a portfolio of influencers that maximises expected reach across a brief's segments.

Diffusion model
---------------
Influence spreads on the interaction graph (``graph_edges``, through
:func:`confiance.graph.build.load_graph`). An interaction ``src → dst`` means *src acted on dst*
(reposted, quoted, replied to, mentioned, liked or followed dst): src saw dst's messages, so
influence flows **dst → src** (``direction="actor"``, the default). Edge files written for influence
maximisation benchmarks (NetHEPT: ``u v p`` where p is the chance that u activates v) use the other
convention: pass ``direction="source"`` for them.

Two cascade models (Kempe, Kleinberg, Tardos 2003), both independent cascades on the influence arcs:

``ic``
    independent cascade: an arc's probability is the edge's ``probability`` when its file gave one,
    else ``1 - (1 - default_probability) ** weight`` (each of the ``weight`` interactions is an
    independent chance; ``default_probability`` 0.01 is the uniform IC probability of Kempe et al.
    2003 and Chen et al. 2009).
``wc``
    weighted cascade: ``p(u → v) = weight(u, v) / Σ_x weight(x, v)``, i.e. 1 / in-degree of v on a
    graph of unit weights (Kempe et al. 2003, parallel edges counted by weight).

Segments
--------
Each segment ``s`` of the brief gives every account ``v`` a membership ``m_s(v)`` in [0, 1], the
product of the criteria the segment names (an unnamed criterion is 1; criteria are assumed
independent):

- ``communities``: 1 when v's community (table ``communities``, ids of ``confiance communities``) is
  listed, else 0;
- ``languages``: the share of v's posts in the listed languages (``post_language`` when it exists,
  else ``posts.lang``); an account without posts of known language gets the corpus-wide share;
- ``age``, ``gender``, ``country``: demographics are never inferred per person. An account that
  acted on (engaged with) accounts with an audience report (``audience_reports``) is part of their
  audience, so it gets the interaction-weighted mean of their reported shares in the listed
  categories; others get the mean over all reports. Without any report these criteria are ignored
  and a note says so;
- ``interests``: 1 when v used one of the interests as a hashtag (case and accents ignored), or posted in a topic (``topics``,
  ``post_topics``) whose label or terms contain it; else 0.

The objective is ``Σ_s W_s · E[members of s reached] / |s|`` with weights normalised to sum 1 and
``|s| = Σ_v m_s(v)``: weights apply to the *share* of each segment reached, so a small segment
counts as much as a big one at equal weight. Without segments the objective is plain expected
reach (accounts). Each account's weight ``w(v) = Σ_s W_s m_s(v) / |s|`` makes this a weighted
influence spread.

Algorithm
---------
IMM (Tang, Shi, Xiao 2015) on reverse-reachable (RR) sets (Borgs et al. 2014), extended:

- roots are drawn with probability ``w(v) / Σ w`` so that the covered fraction of RR sets times
  ``Σ w`` estimates the weighted spread (targeted/weighted RR sampling; Li et al. 2015);
- with costs and a budget, seeds are chosen by the budgeted greedy rule of Khuller, Moss, Naor
  (1999): the better of the cost-effective greedy (largest marginal coverage per unit cost among
  affordable accounts) and the best single affordable account. It gives a (1 - 1/e)/2 approximation
  of the coverage (Nguyen & Zheng 2013 for influence maximisation); IMM's sample size is computed
  with that factor in place of (1 - 1/e);
- the final RR sets are drawn afresh after the lower-bound phase (Chen 2018's correction of IMM).

RR sets are generated in vectorised batches over CSR arrays (one breadth-first level of every RR
set of a batch per numpy step) and stored flat, with at most ``max_rr_entries`` node entries; when
the cap binds, the guarantee does not hold and the result says so (``theta_capped``).

The chosen portfolio is then evaluated by Monte-Carlo simulation (vectorised the same way, runs as
groups): expected reach overall and per segment with 95% intervals of the expected value (normal
approximation, ``mean ± 1.96 · sd / √runs``) and the 5th-95th percentiles of single runs.

References
----------
Kempe, D., Kleinberg, J., Tardos, É. (2003). Maximizing the spread of influence through a social
network. KDD.
Leskovec, J., Krause, A., Guestrin, C., Faloutsos, C., VanBriesen, J., Glance, N. (2007).
Cost-effective outbreak detection in networks. KDD (CELF).
Khuller, S., Moss, A., Naor, J. (1999). The budgeted maximum coverage problem. Information
Processing Letters 70(1).
Chen, W., Wang, Y., Yang, S. (2009). Efficient influence maximization in social networks. KDD.
Borgs, C., Brautbar, M., Chayes, J., Lucier, B. (2014). Maximizing social influence in nearly
optimal time. SODA.
Tang, Y., Shi, Y., Xiao, X. (2015). Influence maximization in near-linear time: a martingale
approach. SIGMOD (IMM).
Li, Y., Zhang, D., Tan, K.-L. (2015). Real-time targeted influence maximization for online
advertisements. VLDB.
Nguyen, H., Zheng, R. (2013). On budgeted influence maximization in social networks. IEEE JSAC 31(6).
Chen, W. (2018). An issue in the martingale analysis of the influence maximization algorithm IMM.
arXiv:1808.09363.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Iterator, Sequence

import duckdb
import numpy as np
import orjson
import pyarrow as pa
import scipy.sparse as sp

from confiance.campaign.brief import AccountRef, Brief
from confiance.errors import ConfianceError
from confiance.graph.build import EDGE_TABLE, AccountGraph, load_graph
from confiance.i18n import N_
from confiance.store import has_table
from confiance.text.accents import fold_accents

__all__ = [
    "DiffusionGraph", "IMMResult", "PlanResult", "diffusion_graph", "imm", "simulate_spread", "segment_membership",
    "plan", "run_plan", "latest_plan", "MODELS", "DIRECTIONS", "NOTES", "RESULT_TABLE",
]

MODELS = ("ic", "wc")
DIRECTIONS = ("actor", "source")
RESULT_TABLE = "plan_results"
DEFAULT_PROBABILITY = 0.01  # uniform IC probability (Kempe et al. 2003; Chen et al. 2009)
DEFAULT_K = 10
MAX_RR_ENTRIES = 20_000_000  # RR-set node entries; selection peaks near 20 bytes an entry (~400 MB)
#: The notes a plan stores (English, values put in; the report writes them again in its language).
NOTE_DIMENSION_IGNORED = N_("segment %(segment)s: %(dimension)s ignored (no audience reports)")
NOTE_SEGMENT_EMPTY = N_("segment %(segment)s matches no account of the graph")
NOTE_NOBODY_LEFT = N_("no account is left to pick: the brief's exclusions and languages rule out every account of "
                      "the graph")
NOTE_RR_CAPPED = N_("RR sets capped at %(entries)s entries: the approximation guarantee does not hold")
NOTES = (NOTE_DIMENSION_IGNORED, NOTE_SEGMENT_EMPTY, NOTE_NOBODY_LEFT, NOTE_RR_CAPPED)
_BATCH_ENTRIES = 4_000_000  # target (group, node) pairs per vectorised cascade batch
_Z95 = 1.959963984540054


# --------------------------------------------------------------------------- diffusion graph


@dataclass(frozen=True)
class DiffusionGraph:
    """Influence arcs ``a → b`` (a can activate b) with probabilities, in CSR by source and by target."""

    platform: np.ndarray
    account_id: np.ndarray
    out_ptr: np.ndarray
    out_node: np.ndarray
    out_prob: np.ndarray
    in_ptr: np.ndarray
    in_node: np.ndarray
    in_prob: np.ndarray

    @property
    def n(self) -> int:
        return len(self.out_ptr) - 1

    @property
    def m(self) -> int:
        return len(self.out_node)


def _csr(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    matrix = sp.csr_matrix((values, (rows, cols)), shape=(n, n))
    matrix.sort_indices()
    return matrix.indptr.astype(np.int64), matrix.indices.astype(np.int64), matrix.data.astype(np.float64)


def diffusion_graph(graph: AccountGraph, model: str = "wc", *, direction: str = "actor",
                    default_probability: float = DEFAULT_PROBABILITY) -> DiffusionGraph:
    """Arc probabilities of the ``ic`` or ``wc`` model on the influence direction of ``graph``."""
    if model not in MODELS:
        raise ConfianceError(f"unknown diffusion model {model!r}; choose {' or '.join(MODELS)}")
    if direction not in DIRECTIONS:
        raise ConfianceError(f"unknown edge direction {direction!r}; choose {' or '.join(DIRECTIONS)}")
    if not 0.0 < default_probability <= 1.0:
        raise ConfianceError(f"default probability must be in (0, 1], found {default_probability}")
    src, dst = (graph.dst, graph.src) if direction == "actor" else (graph.src, graph.dst)
    if not graph.directed:
        src, dst = np.concatenate([src, dst]), np.concatenate([dst, src])
    weight = np.tile(graph.weight, 2) if not graph.directed else graph.weight
    weight = np.where(weight > 0, weight, 0.0)
    if model == "wc":
        in_strength = np.bincount(dst, weights=weight, minlength=graph.n)
        prob = np.divide(weight, in_strength[dst], out=np.zeros_like(weight), where=in_strength[dst] > 0)
    else:
        given = np.tile(graph.probability, 2) if not graph.directed else graph.probability
        prob = np.where(np.isnan(given), 1.0 - (1.0 - default_probability) ** weight, given)
    prob = np.clip(prob, 0.0, 1.0)
    # sum duplicates (an undirected graph may give both orientations): 1 - Π(1 - p) keeps IC semantics
    keep = prob > 0
    with np.errstate(divide="ignore"):  # log(0) = -inf for certain arcs: they stay certain after merging
        log_miss = sp.csr_matrix((np.log1p(-prob[keep]), (src[keep], dst[keep])), shape=(graph.n, graph.n))
    log_miss.sum_duplicates()
    coo = log_miss.tocoo()
    merged = -np.expm1(coo.data)
    out = _csr(coo.row, coo.col, merged, graph.n)
    into = _csr(coo.col, coo.row, merged, graph.n)
    return DiffusionGraph(graph.platform, graph.account_id, *out, *into)


# --------------------------------------------------------------------------- vectorised cascades


def _sorted_unique(keys: np.ndarray) -> np.ndarray:
    """Sorted distinct values (numpy's hash-based ``unique`` is several times slower on int64 keys)."""
    keys = np.sort(keys)
    if keys.size:
        keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]
    return keys


def _cascade(ptr: np.ndarray, nodes: np.ndarray, prob: np.ndarray, start: np.ndarray, n: int,
             rng: np.random.Generator) -> np.ndarray:
    """Independent cascades of many groups at once, one breadth-first level per step.

    ``start`` holds keys ``group * n + node`` of the initially active nodes; returns the sorted
    unique keys of every node each group activated (starts included).
    """
    visited = _sorted_unique(start)
    frontier = visited
    while frontier.size:
        node = frontier % n
        begin = ptr[node]
        degree = ptr[node + 1] - begin
        has = degree > 0
        if not has.any():
            break
        frontier, node, begin, degree = frontier[has], node[has], begin[has], degree[has]
        total = int(degree.sum())
        ends = np.cumsum(degree)
        arcs = np.repeat(begin - (ends - degree), degree) + np.arange(total)
        live = rng.random(total) < prob[arcs]
        if not live.any():
            break
        reached = _sorted_unique(np.repeat(frontier - node, degree)[live] + nodes[arcs[live]])
        at = np.minimum(np.searchsorted(visited, reached), visited.size - 1)
        frontier = reached[visited[at] != reached]
        # both parts are sorted: the stable sort (timsort) merges them in linear time
        visited = np.sort(np.concatenate([visited, frontier]), kind="stable")
    return visited


@dataclass
class _RRSets:
    """Reverse-reachable sets stored flat: the nodes of set i are ``node[ptr[i]:ptr[i+1]]``."""

    ptr: np.ndarray
    node: np.ndarray

    @property
    def count(self) -> int:
        return len(self.ptr) - 1


def _sample_rr(dg: DiffusionGraph, cumulative_weight: np.ndarray, count: int, rng: np.random.Generator,
               max_entries: int) -> tuple[_RRSets, bool]:
    """``count`` RR sets with roots drawn proportionally to node weight; (sets, capped)."""
    n = dg.n
    sizes: list[np.ndarray] = []
    members: list[np.ndarray] = []
    made = entries = 0
    batch = 10_000
    capped = False
    while made < count:
        b = min(batch, count - made)
        roots = np.searchsorted(cumulative_weight, rng.random(b) * cumulative_weight[-1], side="right")
        roots = np.minimum(roots, n - 1)
        keys = _cascade(dg.in_ptr, dg.in_node, dg.in_prob, np.arange(b, dtype=np.int64) * n + roots, n, rng)
        if entries + keys.size > max_entries:
            capped = True
            break
        sizes.append(np.bincount(keys // n, minlength=b))
        members.append((keys % n).astype(np.int32))
        made += b
        entries += keys.size
        batch = int(min(max(_BATCH_ENTRIES / max(keys.size / b, 1.0), 1_000), 1_000_000))
    ptr = np.zeros(made + 1, np.int64)
    if sizes:
        np.cumsum(np.concatenate(sizes), out=ptr[1:])
    node = np.concatenate(members) if members else np.zeros(0, np.int32)
    return _RRSets(ptr, node), capped


def _gather(ptr: np.ndarray, values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``values[ptr[r]:ptr[r+1]]`` for every r in ``rows``, concatenated."""
    begin = ptr[rows]
    length = ptr[rows + 1] - begin
    total = int(length.sum())
    if total == 0:
        return values[:0]
    ends = np.cumsum(length)
    return values[np.repeat(begin - (ends - length), length) + np.arange(total)]


@dataclass
class _Selection:
    seeds: list[int]
    gains: list[int]  # RR sets newly covered by each pick
    covered: int
    rule: str  # "greedy", "cost-effective greedy" or "best single account"


def _select(rr: _RRSets, n: int, candidates: np.ndarray, cost: np.ndarray | None, k: int,
            budget: float | None) -> _Selection:
    """Greedy maximum coverage of RR sets, budgeted when ``cost`` is given (Khuller et al. 1999).

    Stops early when no allowed node covers a further RR set (more seeds would add nothing).
    """
    counts = np.bincount(rr.node, minlength=n).astype(np.float64)
    order = np.argsort(rr.node, kind="stable")
    node_ptr = np.zeros(n + 1, np.int64)
    np.cumsum(counts.astype(np.int64), out=node_ptr[1:])
    set_of = np.repeat(np.arange(rr.count, dtype=np.int32), np.diff(rr.ptr))[order]
    del order
    covered = np.zeros(rr.count, bool)
    allowed = candidates.copy()
    single_best = -1
    if cost is not None:
        affordable = allowed & (cost <= (budget if budget is not None else np.inf))
        if affordable.any():
            single_best = int(np.flatnonzero(affordable)[np.argmax(counts[affordable])])
    seeds: list[int] = []
    gains: list[int] = []
    spent = 0.0
    while len(seeds) < k:
        if cost is not None:
            remaining = (budget if budget is not None else np.inf) - spent
            allowed &= cost <= remaining + 1e-9
            score = np.where(allowed, counts / np.maximum(cost, 1e-12), -1.0)
        else:
            score = np.where(allowed, counts, -1.0)
        pick = int(np.argmax(score))
        if score[pick] <= 0:
            break
        sets = set_of[node_ptr[pick]:node_ptr[pick + 1]]
        fresh = sets[~covered[sets]]
        covered[fresh] = True
        counts -= np.bincount(_gather(rr.ptr, rr.node, fresh), minlength=n)
        seeds.append(pick)
        gains.append(int(fresh.size))
        allowed[pick] = False
        if cost is not None:
            spent += float(cost[pick])
    total = int(sum(gains))
    if cost is None:
        return _Selection(seeds, gains, total, "greedy")
    if single_best >= 0:
        single = int(node_ptr[single_best + 1] - node_ptr[single_best])
        if single > total:
            return _Selection([single_best], [single], single, "best single account")
    return _Selection(seeds, gains, total, "cost-effective greedy")


def _log_binomial(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


@dataclass
class IMMResult:
    seeds: list[int]
    gains: np.ndarray  # estimated marginal objective of each pick
    objective: float  # estimated weighted spread of the set
    rr_sets: int
    theta: int
    lower_bound: float
    theta_capped: bool
    rule: str
    approximation: float


def imm(dg: DiffusionGraph, node_weight: np.ndarray, *, k: int, candidates: np.ndarray | None = None,
        cost: np.ndarray | None = None, budget: float | None = None, epsilon: float = 0.2, ell: float = 1.0,
        rng: np.random.Generator | None = None, max_rr_entries: int = MAX_RR_ENTRIES) -> IMMResult:
    """IMM seed selection for the weighted spread ``Σ_v w(v) P(v active)``, optionally budgeted.

    Parameters
    ----------
    dg : the diffusion graph.
    node_weight : w(v) ≥ 0 per node (ones for plain reach).
    k : at most this many seeds.
    candidates : boolean mask of the nodes that may be seeds (default all).
    cost, budget : per-node cost and total budget; with them the budgeted greedy rule applies.
    epsilon, ell : IMM's accuracy ε and confidence exponent ℓ: with probability ≥ 1 - 1/n^ℓ the set
        is within ``approximation - ε`` of the optimum (unless ``theta_capped``).
    rng : random generator (the seed makes the selection reproducible).
    max_rr_entries : memory bound on stored RR-set entries.

    Returns
    -------
    IMMResult with the seeds in pick order and each pick's estimated marginal objective.

    References
    ----------
    Tang, Shi, Xiao (2015), Algorithms 1-3; Chen (2018) for fresh final samples; Khuller, Moss,
    Naor (1999) for the budgeted rule.
    """
    rng = rng or np.random.default_rng(0)
    n = dg.n
    if not 0 < epsilon < 1:
        raise ConfianceError(f"epsilon must be in (0, 1), found {epsilon}")
    if ell <= 0:
        raise ConfianceError(f"ell must be > 0, found {ell}")
    weight = np.asarray(node_weight, dtype=np.float64)
    candidates = np.ones(n, bool) if candidates is None else candidates.astype(bool)
    total_weight = float(weight.sum())
    if n == 0 or total_weight <= 0 or not candidates.any():
        return IMMResult([], np.zeros(0), 0.0, 0, 0, 0.0, False, "greedy", 0.0)
    cumulative = np.cumsum(weight)
    budgeted = cost is not None
    if budgeted:
        affordable = np.sort(cost[candidates])
        limit = budget if budget is not None else np.inf
        k = min(k, int(np.searchsorted(np.cumsum(affordable), limit + 1e-9, side="right")))
    k = max(1, min(k, int(candidates.sum())))
    approximation = (1 - 1 / math.e) / 2 if budgeted else 1 - 1 / math.e
    ell = ell * (1 + math.log(2) / math.log(max(n, 2)))
    log_n = math.log(max(n, 2))
    log_choose = _log_binomial(int(candidates.sum()), k)
    eps_prime = math.sqrt(2) * epsilon
    lambda_prime = ((2 + 2 / 3 * eps_prime) * (log_choose + ell * log_n + math.log(max(math.log2(max(n, 2)), 1.0)))
                    * total_weight / eps_prime ** 2)
    # OPT is at least what the best affordable seed(s) weigh themselves
    feasible = candidates & (cost <= (budget if budget is not None else np.inf)) if budgeted else candidates
    if not feasible.any():
        return IMMResult([], np.zeros(0), 0.0, 0, 0, 0.0, False, "cost-effective greedy", 0.0)
    floor = float(weight[feasible].max()) if budgeted else float(np.sort(weight[feasible])[-k:].sum())
    floor = max(floor, total_weight * 1e-12)
    lower_bound = floor
    capped = False
    rr = _RRSets(np.zeros(1, np.int64), np.zeros(0, np.int32))
    for i in range(1, max(int(math.log2(max(n, 2))), 2)):
        x = total_weight / 2 ** i
        if x < floor:
            break
        theta_i = int(math.ceil(lambda_prime / x))
        extra, capped = _sample_rr(dg, cumulative, theta_i - rr.count, rng, max_rr_entries - rr.node.size)
        rr = _RRSets(np.concatenate([rr.ptr, extra.ptr[1:] + rr.ptr[-1]]), np.concatenate([rr.node, extra.node]))
        chosen = _select(rr, n, candidates, cost, k, budget)
        estimate = total_weight * chosen.covered / max(rr.count, 1)
        if estimate >= (1 + eps_prime) * x:
            lower_bound = estimate / (1 + eps_prime)
            break
        if capped:
            break
    alpha = math.sqrt(ell * log_n + math.log(2))
    beta = math.sqrt(approximation * (log_choose + ell * log_n + math.log(2)))
    lambda_star = 2 * total_weight * (approximation * alpha + beta) ** 2 / epsilon ** 2
    theta = int(math.ceil(lambda_star / lower_bound))
    del rr
    final, final_capped = _sample_rr(dg, cumulative, theta, rng, max_rr_entries)
    chosen = _select(final, n, candidates, cost, k, budget)
    scale = total_weight / max(final.count, 1)
    return IMMResult(
        seeds=chosen.seeds, gains=np.asarray(chosen.gains, np.float64) * scale, objective=chosen.covered * scale,
        rr_sets=final.count, theta=theta, lower_bound=lower_bound, theta_capped=capped or final_capped,
        rule=chosen.rule, approximation=approximation,
    )


# --------------------------------------------------------------------------- Monte-Carlo evaluation


def simulate_spread(dg: DiffusionGraph, seeds: Sequence[int], values: np.ndarray, runs: int,
                    rng: np.random.Generator) -> np.ndarray:
    """Per run, the sum of ``values`` (shape (n, c)) over the activated nodes: array (runs, c).

    Runs are simulated as groups of one vectorised cascade, in batches bounded in memory.
    """
    n = dg.n
    values = np.asarray(values, dtype=np.float64).reshape(n, -1)
    out = np.zeros((runs, values.shape[1]))
    seeds = np.unique(np.asarray(seeds, dtype=np.int64))
    if runs <= 0 or seeds.size == 0:
        return out
    done, batch = 0, max(1, min(runs, 100))
    while done < runs:
        b = min(batch, runs - done)
        start = (np.arange(b, dtype=np.int64)[:, None] * n + seeds[None, :]).ravel()
        keys = _cascade(dg.out_ptr, dg.out_node, dg.out_prob, start, n, rng)
        group, node = keys // n, keys % n
        for c in range(values.shape[1]):
            out[done:done + b, c] = np.bincount(group, weights=values[node, c], minlength=b)
        done += b
        batch = int(min(max(_BATCH_ENTRIES / max(keys.size / b, 1.0), 1), 100_000))
    return out


def _interval(samples: np.ndarray) -> dict[str, float]:
    mean = float(samples.mean())
    half = _Z95 * float(samples.std(ddof=1)) / math.sqrt(len(samples)) if len(samples) > 1 else 0.0
    return {"mean": mean, "lower": mean - half, "upper": mean + half,
            "p05": float(np.percentile(samples, 5)), "p95": float(np.percentile(samples, 95))}


# --------------------------------------------------------------------------- segments


def _node_table(dg: DiffusionGraph) -> pa.Table:
    return pa.table({"platform": pa.array(dg.platform.tolist(), pa.string()),
                     "account_id": pa.array(dg.account_id.tolist(), pa.string()),
                     "idx": pa.array(np.arange(dg.n, dtype=np.int64))})


@contextmanager
def _nodes_registered(con: duckdb.DuckDBPyConnection, dg: DiffusionGraph) -> Iterator[None]:
    """Temp table ``_plan_nodes(platform, account_id, idx)`` for joins with the node indexes."""
    con.register("_plan_nodes_arrow", _node_table(dg))
    con.execute("CREATE OR REPLACE TEMP TABLE _plan_nodes AS SELECT * FROM _plan_nodes_arrow")
    con.unregister("_plan_nodes_arrow")
    try:
        yield
    finally:
        con.execute("DROP TABLE IF EXISTS _plan_nodes")


def _per_node(con: duckdb.DuckDBPyConnection, sql: str, n: int, params: list | None = None) -> np.ndarray:
    """``sql`` returns (idx, value) rows (``_plan_nodes`` is registered); a dense array, 0 elsewhere."""
    out = np.zeros(n)
    rows = con.execute(sql, params or []).fetchall()
    if rows:
        idx, value = zip(*rows)
        out[np.asarray(idx, np.int64)] = np.asarray(value, np.float64)
    return out


def _language_share(con: duckdb.DuckDBPyConnection, n: int, languages: tuple[str, ...]) -> np.ndarray:
    source = ("SELECT p.platform, p.account_id, l.lang FROM post_language l JOIN posts p "
              "ON p.platform = l.platform AND p.post_id = l.post_id"
              if has_table(con, "post_language") else "SELECT platform, account_id, lang FROM posts")
    known = (f"SELECT n.idx, count(*) FILTER (WHERE lower(s.lang) IN (SELECT unnest(?))) / count(*) "
             f"FROM ({source}) s JOIN _plan_nodes n USING (platform, account_id) "
             "WHERE s.lang IS NOT NULL AND s.lang NOT IN ('', 'und') GROUP BY n.idx")
    share = np.full(n, np.nan)
    rows = con.execute(known, [list(languages)]).fetchall()
    if rows:
        idx, value = zip(*rows)
        share[np.asarray(idx, np.int64)] = value
    prior = con.execute(f"SELECT count(*) FILTER (WHERE lower(lang) IN (SELECT unnest(?))) / greatest(count(*), 1) "
                        f"FROM ({source}) WHERE lang IS NOT NULL AND lang NOT IN ('', 'und')",
                        [list(languages)]).fetchall()[0][0]
    return np.where(np.isnan(share), float(prior or 0.0), share)


def _demographic_share(con: duckdb.DuckDBPyConnection, n: int, dimension: str, categories: tuple[str, ...]) -> np.ndarray:
    """Interaction-weighted mean share of the categories in the audiences an account belongs to."""
    wanted = [c.lower() for c in categories]
    reports = ("SELECT platform, account_id, sum(share) FILTER (WHERE lower(category) IN (SELECT unnest(?))) "
               "  / greatest(sum(share), 1e-12) AS share "
               "FROM audience_reports WHERE lower(dimension) = ? GROUP BY platform, account_id")
    prior = con.execute(f"SELECT avg(coalesce(share, 0)) FROM ({reports})", [wanted, dimension]).fetchall()[0][0]
    if prior is None:
        return np.ones(n)
    out = np.full(n, float(prior))
    rows = con.execute(
        f"SELECT n.idx, sum(e.weight * coalesce(r.share, 0)) / sum(e.weight) FROM {EDGE_TABLE} e "
        f"JOIN ({reports}) r ON r.platform = e.platform AND r.account_id = e.dst "
        "JOIN _plan_nodes n ON n.platform = e.platform AND n.account_id = e.src GROUP BY n.idx",
        [wanted, dimension]).fetchall()
    if rows:
        idx, value = zip(*rows)
        out[np.asarray(idx, np.int64)] = value
    return out


def _interest_match(con: duckdb.DuckDBPyConnection, n: int, interests: tuple[str, ...]) -> np.ndarray:
    # folded as DuckDB's strip_accents(lower(h)) folds the hashtags: #vélo and #velo are the same interest
    plain = [fold_accents(i.lower()).lstrip("#") for i in interests]
    tags = sorted({t.replace(" ", "") for t in plain} | set(plain))
    matched = _per_node(con, "SELECT DISTINCT n.idx, 1.0 FROM posts p JOIN _plan_nodes n USING (platform, account_id) "
                             "WHERE len(list_intersect(list_transform(p.hashtags, lambda h: strip_accents(lower(h))), ?)) > 0",
                        n, [tags])
    if has_table(con, "topics") and has_table(con, "post_topics"):
        topics = [row[0] for row in con.execute(
            "SELECT topic FROM topics WHERE exists(SELECT 1 FROM (SELECT unnest(?) AS i) WHERE "
            "  contains(lower(coalesce(label, '')), i) OR list_contains(list_transform(coalesce(terms, []), lambda t: lower(t)), i))",
            [list(interests)]).fetchall()]
        if topics:
            matched = np.maximum(matched, _per_node(
                con, "SELECT DISTINCT n.idx, 1.0 FROM post_topics t JOIN posts p USING (platform, post_id) "
                     "JOIN _plan_nodes n ON n.platform = p.platform AND n.account_id = p.account_id "
                     "WHERE t.topic IN (SELECT unnest(?))", n, [topics]))
    return matched


def segment_membership(con: duckdb.DuckDBPyConnection, dg: DiffusionGraph, brief: Brief | None
                       ) -> tuple[list[str], np.ndarray, np.ndarray, list[str]]:
    """(segment names, membership (n, S), normalised weights (S,), notes). See the module docstring."""
    segments = list(brief.segments) if brief is not None else []
    if not segments:
        return ["all accounts"], np.ones((dg.n, 1)), np.ones(1), []
    notes: list[str] = []
    has_reports = has_table(con, "audience_reports") and bool(
        con.execute("SELECT count(*) FROM audience_reports").fetchall()[0][0])
    membership = np.ones((dg.n, len(segments)))
    with _nodes_registered(con, dg):
        for j, segment in enumerate(segments):
            audience = segment.audience
            if audience.communities:
                if not has_table(con, "communities"):
                    raise ConfianceError(f"segment {segment.name!r} names communities but there are none yet: "
                                         "run `confiance analyze`")
                membership[:, j] *= _per_node(
                    con, "SELECT n.idx, 1.0 FROM communities c JOIN _plan_nodes n USING (platform, account_id) "
                         "WHERE c.community IN (SELECT unnest(?))", dg.n, [list(audience.communities)])
            if audience.languages:
                membership[:, j] *= _language_share(con, dg.n, audience.languages)
            for dimension in ("age", "gender", "country"):
                categories = getattr(audience, dimension)
                if not categories:
                    continue
                if not has_reports:
                    notes.append(NOTE_DIMENSION_IGNORED % {"segment": repr(segment.name), "dimension": dimension})
                    continue
                membership[:, j] *= _demographic_share(con, dg.n, dimension, categories)
            if audience.interests:
                membership[:, j] *= _interest_match(con, dg.n, audience.interests)
            if membership[:, j].sum() <= 0:
                notes.append(NOTE_SEGMENT_EMPTY % {"segment": repr(segment.name)})
    weights = np.array([s.weight for s in segments], np.float64)
    return [s.name for s in segments], membership, weights / weights.sum(), notes


# --------------------------------------------------------------------------- plan


@dataclass
class PlanResult:
    """A portfolio and its evaluation; :meth:`to_json` gives the CLI's ``--json`` document."""

    seeds: list[dict[str, Any]]
    expected_reach: dict[str, float]
    objective: dict[str, float]
    segments: dict[str, dict[str, Any]]
    platforms: dict[str, dict[str, Any]]
    parameters: dict[str, Any]
    diagnostics: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _resolve(con: duckdb.DuckDBPyConnection, dg: DiffusionGraph, refs: Sequence[AccountRef]) -> np.ndarray:
    """Node indexes of the accounts a brief names (by id or handle); unknown ones are skipped."""
    index = {(p, a): i for i, (p, a) in enumerate(zip(dg.platform, dg.account_id))}
    found: list[int] = []
    for ref in refs:
        if ref.account_id is not None:
            ids = [ref.account_id]
        else:
            ids = [r[0] for r in con.execute("SELECT account_id FROM accounts WHERE platform = ? AND lower(handle) = ?",
                                             [ref.platform, ref.handle]).fetchall()]
        found.extend(index[(ref.platform, a)] for a in ids if (ref.platform, a) in index)
    return np.asarray(found, np.int64)


def _account_facts(con: duckdb.DuckDBPyConnection, dg: DiffusionGraph) -> tuple[np.ndarray, np.ndarray]:
    """(followers as float with NaN when unknown, handles) per node."""
    with _nodes_registered(con, dg):
        rows = con.execute("SELECT n.idx, a.followers, a.handle FROM _plan_nodes n JOIN accounts a "
                           "ON a.platform = n.platform AND a.account_id = n.account_id").fetchall()
    followers = np.full(dg.n, np.nan)
    handles = np.full(dg.n, None, dtype=object)
    for idx, count, handle in rows:
        if count is not None:
            followers[idx] = count
        handles[idx] = handle
    return followers, handles


def _fit_scores(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], float]:
    """The ``fit`` table's score per account, when the fit analysis has run."""
    if not has_table(con, "fit"):
        return {}
    columns = {r[0] for r in con.execute("DESCRIBE fit").fetchall()}
    score = next((c for c in ("fit", "score") if c in columns), None)
    if score is None or not {"platform", "account_id"} <= columns:
        return {}
    return {(p, a): float(s) for p, a, s in con.execute(
        f"SELECT platform, account_id, max({score}) FROM fit GROUP BY ALL").fetchall() if s is not None}


def _candidates(con: duckdb.DuckDBPyConnection, dg: DiffusionGraph, brief: Brief | None) -> np.ndarray:
    allowed = np.ones(dg.n, bool)
    if brief is None:
        return allowed
    excluded = brief.exclusions
    if excluded.platforms:
        allowed &= ~np.isin(dg.platform.astype(str), list(excluded.platforms))
    allowed[_resolve(con, dg, excluded.accounts)] = False
    if excluded.bots and has_table(con, "bot_scores"):
        bots = {(p, a) for p, a in con.execute("SELECT platform, account_id FROM bot_scores WHERE label").fetchall()}
        allowed &= np.array([(p, a) not in bots for p, a in zip(dg.platform, dg.account_id)], bool)
    if brief.languages:
        # an influencer writes mostly in the brief's languages (accounts of unknown language stay)
        with _nodes_registered(con, dg):
            share = _language_share(con, dg.n, brief.languages)
            known = _per_node(con, "SELECT DISTINCT n.idx, 1.0 FROM posts p JOIN _plan_nodes n USING (platform, account_id) "
                                   "WHERE p.lang IS NOT NULL AND p.lang NOT IN ('', 'und')", dg.n)
        allowed &= (known == 0) | (share >= 0.5)
    return allowed


def plan(con: duckdb.DuckDBPyConnection, brief: Brief | None = None, *, k: int | None = None,
         budget: float | None = None, model: str = "wc", epsilon: float = 0.2, ell: float = 1.0, seed: int = 0,
         mc_runs: int = 1000, direction: str = "actor", default_probability: float = DEFAULT_PROBABILITY,
         kinds: Sequence[str] | None = None, max_rr_entries: int = MAX_RR_ENTRIES) -> PlanResult:
    """Choose seed accounts that maximise expected reach weighted across the brief's segments.

    Parameters
    ----------
    con : workspace connection (reads ``graph_edges``, ``accounts``, and the segment tables).
    brief : the campaign brief (segments, costs, budget, exclusions); None plans for plain reach.
    k : at most this many seeds (default 10 without a budget, unbounded with one).
    budget : total budget; overrides the brief's ``budget.total``. Costs come from the brief's cost
        model (default 1 per influencer).
    model : ``wc`` (weighted cascade) or ``ic`` (independent cascade); see the module docstring.
    epsilon, ell : IMM's ε and ℓ (1). ε = 0.2, not the 0.5 of Tang et al. (2015)'s experiments: at 0.5
        the greedy over-fits its ~60k RR sets on NetHEPT (spread 945 against 961 at 0.2, k = 50).
    seed : random seed: the same seed gives the same plan and the same figures.
    mc_runs : Monte-Carlo runs for the reach estimates and their intervals.
    direction : ``actor`` (influence flows from the account acted upon to the actor) or ``source``
        (edge files written source → target for diffusion benchmarks).
    default_probability : IC probability of one interaction when the edge has none.
    kinds : interaction kinds of the graph (default all).
    max_rr_entries : memory bound on RR-set storage.

    Returns
    -------
    PlanResult: seeds in pick order (with cost, marginal objective, share of the plan's value, fit),
    expected reach with intervals overall and per segment, seeds and cost per platform.
    """
    started = time.perf_counter()
    if not has_table(con, EDGE_TABLE):
        raise ConfianceError("no interaction graph yet: run `confiance analyze`")
    if mc_runs < 2:
        raise ConfianceError(f"mc_runs must be at least 2, found {mc_runs}")
    if k is not None and k < 1:
        raise ConfianceError(f"k must be at least 1, found {k}")
    graph = load_graph(con, kinds=kinds)
    if graph.n == 0:
        raise ConfianceError("the interaction graph is empty: nothing to plan on")
    dg = diffusion_graph(graph, model, direction=direction, default_probability=default_probability)
    names, membership, weights, notes = segment_membership(con, dg, brief)
    sizes = membership.sum(axis=0)
    per_segment = np.divide(weights, sizes, out=np.zeros_like(weights), where=sizes > 0)
    node_weight = membership @ per_segment if brief is not None and brief.segments else np.ones(dg.n)

    candidates = _candidates(con, dg, brief)
    if not candidates.any():
        notes.append(NOTE_NOBODY_LEFT)
    followers, handles = _account_facts(con, dg)
    budget = budget if budget is not None else (brief.budget.total if brief is not None else None)
    if budget is not None and budget <= 0:
        raise ConfianceError(f"budget must be > 0, found {budget}")
    cost = None
    if budget is not None:
        model_of_cost = brief.budget.cost if brief is not None else None
        if model_of_cost is None:
            cost = np.ones(dg.n)
        else:
            cost = np.array([model_of_cost.price(None if np.isnan(f) else int(f)) for f in followers])
            for ref, price in model_of_cost.overrides:
                cost[_resolve(con, dg, [ref])] = price
    k_max = k if k is not None else (dg.n if budget is not None else DEFAULT_K)

    rng = np.random.default_rng(seed)
    chosen = imm(dg, node_weight, k=k_max, candidates=candidates, cost=cost, budget=budget, epsilon=epsilon,
                 ell=ell, rng=rng, max_rr_entries=max_rr_entries)
    if chosen.theta_capped:
        notes.append(NOTE_RR_CAPPED % {"entries": max_rr_entries})

    values = np.column_stack([np.ones(dg.n), node_weight, membership])
    runs = simulate_spread(dg, chosen.seeds, values, mc_runs, np.random.default_rng([seed, 1]))
    reach = _interval(runs[:, 0])
    objective = _interval(runs[:, 1])
    segments: dict[str, dict[str, Any]] = {}
    for j, name in enumerate(names):
        figures = _interval(runs[:, 2 + j])
        size = float(sizes[j])
        segments[name] = {
            "weight": float(weights[j]), "size": size, **figures,
            "share": figures["mean"] / size if size else None,
            "share_lower": figures["lower"] / size if size else None,
            "share_upper": figures["upper"] / size if size else None,
        }

    fits = _fit_scores(con)
    total_gain = float(chosen.gains.sum()) or 1.0
    seeds_out: list[dict[str, Any]] = []
    platforms: dict[str, dict[str, Any]] = {}
    for rank, (node, gain) in enumerate(zip(chosen.seeds, chosen.gains), start=1):
        platform, account = str(dg.platform[node]), str(dg.account_id[node])
        price = float(cost[node]) if cost is not None else None
        seeds_out.append({
            "rank": rank, "platform": platform, "account_id": account, "handle": handles[node],
            "followers": None if np.isnan(followers[node]) else int(followers[node]), "cost": price,
            "marginal_gain": float(gain), "marginal_share": float(gain) / total_gain,
            "fit": fits.get((platform, account)),
        })
        entry = platforms.setdefault(platform, {"seeds": 0, "cost": 0.0 if price is not None else None})
        entry["seeds"] += 1
        if price is not None:
            entry["cost"] += price
    parameters = {"brief": brief.source if brief is not None else None, "k": k, "budget": budget, "model": model,
                  "epsilon": epsilon, "ell": ell, "seed": seed, "mc_runs": mc_runs, "direction": direction,
                  "default_probability": default_probability, "kinds": list(kinds) if kinds else None,
                  # costs are in the brief's currency when it names one (budget.currency); else in its own units
                  "currency": (brief.budget.currency or None) if brief is not None else None}
    diagnostics = {
        "nodes": dg.n, "arcs": dg.m, "candidates": int(candidates.sum()), "rr_sets": chosen.rr_sets,
        "theta": chosen.theta, "lower_bound": chosen.lower_bound, "theta_capped": chosen.theta_capped,
        "rule": chosen.rule, "approximation": chosen.approximation,
        "estimated_objective": chosen.objective,
        "total_cost": float(sum(s["cost"] for s in seeds_out)) if cost is not None else None,
        "seconds": time.perf_counter() - started,
    }
    return PlanResult(seeds_out, reach, objective, segments, platforms, parameters, diagnostics, notes)


# --------------------------------------------------------------------------- storage


def run_plan(con: duckdb.DuckDBPyConnection, run_id: str, brief: Brief | None = None, **options: Any) -> PlanResult:
    """:func:`plan`, stored in ``plan_results``: one row per seed, the evaluation repeated as JSON."""
    result = plan(con, brief, **options)
    summary = orjson.dumps({k: v for k, v in result.to_json().items() if k != "seeds"}).decode()
    rows = result.seeds or [{"rank": None, "platform": None, "account_id": None, "handle": None, "followers": None,
                             "cost": None, "marginal_gain": None, "marginal_share": None, "fit": None}]
    table = pa.table({
        "run_id": pa.array([run_id] * len(rows), pa.string()),
        "rank": pa.array([r["rank"] for r in rows], pa.int32()),
        "platform": pa.array([r["platform"] for r in rows], pa.string()),
        "account_id": pa.array([r["account_id"] for r in rows], pa.string()),
        "handle": pa.array([r["handle"] for r in rows], pa.string()),
        "followers": pa.array([r["followers"] for r in rows], pa.int64()),
        "cost": pa.array([r["cost"] for r in rows], pa.float64()),
        "marginal_gain": pa.array([r["marginal_gain"] for r in rows], pa.float64()),
        "marginal_share": pa.array([r["marginal_share"] for r in rows], pa.float64()),
        "fit": pa.array([r["fit"] for r in rows], pa.float64()),
        "parameters": pa.array([orjson.dumps(result.parameters).decode()] * len(rows), pa.string()),
        "summary": pa.array([summary] * len(rows), pa.string()),
    })
    con.register("_plan_rows", table)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {RESULT_TABLE} AS SELECT * FROM _plan_rows")
    finally:
        con.unregister("_plan_rows")
    return result


def latest_plan(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    """The stored plan as the ``--json`` document (None when no plan was made)."""
    if not has_table(con, RESULT_TABLE):
        return None
    rows = con.execute(f"SELECT rank, platform, account_id, handle, followers, cost, marginal_gain, marginal_share, "
                       f"fit, summary, run_id FROM {RESULT_TABLE} ORDER BY rank").fetchall()
    if not rows:
        return None
    keys = ("rank", "platform", "account_id", "handle", "followers", "cost", "marginal_gain", "marginal_share", "fit")
    document = orjson.loads(rows[0][9])
    seeds = [dict(zip(keys, r[:9])) for r in rows if r[0] is not None]
    return {"run_id": rows[0][10], "seeds": seeds, **document}
