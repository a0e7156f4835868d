"""Influence scores per account, each explained by its parts and by its evidence.

Components (one row per ``(platform, account_id)`` of ``accounts``):

``followers``
    reach: the audience the account declares (latest ``accounts.followers``).
``unique_engagers``
    reach: distinct accounts that reposted, quoted, replied to or mentioned it (distinct accounts, not
    interactions, so a handful of accounts reposting in bursts does not inflate it).
``engagement_per_post``
    reach: the median public engagement (likes + reposts + replies + quotes) of the account's original
    posts, the audience a typical post actually reaches. The median, not the mean, so one viral post
    (or one burst of coordinated engagement) does not make an account; it also measures reach where a
    platform reports no follower counts.
``amplification``
    PageRank (Page et al. 1999) on the weighted repost graph; an edge ``src → dst`` means *src
    amplified dst*, so score flows to the amplified account.
``authority``
    conversational authority: weighted in-strength on reply + mention edges.
``engagement_rate``
    likes + reposts + replies + quotes received per original post, divided by followers; NULL when
    the audience is unknown (no or zero followers). Small accounts get high rates, so the default
    weight is 0 (shown, not combined).
``coreness``
    k-core number (Batagelj & Zaversnik 2003) on the undirected, unweighted combined graph.
``active_weeks_share`` / ``weekly_cv``
    consistency over time. The observed span of an account runs from the week of its first post to
    the last week of its platform's corpus (a lapsed account loses consistency; a new one is not
    penalised for weeks before it appeared). ``active_weeks_share`` = weeks with ≥ 1 post / weeks in
    that span; ``weekly_cv`` = standard deviation / mean of posts per week over the same span, zero
    weeks included (0 = perfectly regular; large = bursty). Shown, not combined by default: the most
    regular posters are automated accounts.

The combined ``influence`` score is a weighted mean of the components on a *log scale relative to the
platform's top account*: ``scaled = log(1 + x) / log(1 + max x)`` in [0, 1], computed within each
platform by default because followers, reposts and likes are not comparable across platforms
(PageRank is first multiplied by the platform's number of accounts, so 1 means about "a uniform
share").
Reach and engagement counts are heavy-tailed (roughly log-normal or power-law), so their logarithm
is the scale on which "twice the audience" is one step, wherever the account sits. Percentile ranks
(``*_pct``, still reported) are a poor scale for combining them: in the top 2 % every heavy-tailed
component is at p98-p100, and the ranking of the accounts that matter was then decided by the bounded
components (coreness, consistency) rather than by reach. A NULL component drops out and the remaining
weights are renormalised, so every score splits exactly into ``weight × scaled / Σ weights`` parts.

Community standing (listing only, not a component): when the ``communities`` step has run,
:func:`influencers` gives every account its Leiden community, the community's size, the account's
rank among the community's ranked accounts (brand and automated accounts take no rank, as in the
overall ranking) and its score as a share of the community leader's; a leader's explanation says how
far it leads (its score over the next account's). Agencies look for the leading voices of each
community, not only the loudest accounts overall: opinion leaders are spread across the groups they
lead (Katz & Lazarsfeld 1955), so the top of a small community can matter more for a brief than a
larger account elsewhere. It is shown, not weighted: mixing it into the score (``(1 - w) × score + w × share of
the leader``, w = 0.1, 0.2, 0.3) moved the planted influencers found in the per-platform top-k of two
simulated worlds by -2 to +1 (of 44 and 45), so it adds no ranking signal there; a listing-time join
also keeps the standing consistent with the ``communities`` table the report shows, whichever step
ran last.

Topical authority: with ``topic=`` the same scores are computed on the posts of one topic and the
interactions they carry, using the ``post_topics(platform, post_id, topic)`` table of the topics step.

References
----------
Page, L., Brin, S., Motwani, R., Winograd, T. (1999). The PageRank citation ranking: bringing order
to the web. Stanford InfoLab technical report 1999-66.
Batagelj, V., Zaversnik, M. (2003). An O(m) algorithm for cores decomposition of networks.
arXiv:cs/0310049.
Katz, E., Lazarsfeld, P. F. (1955). Personal Influence: the part played by people in the flow of mass
communications. Free Press.
Traag, V. A., Waltman, L., van Eck, N. J. (2019). From Louvain to Leiden: guaranteeing well-connected
communities. Scientific Reports 9, 5233.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import duckdb
import numpy as np
import orjson
import pyarrow as pa
import scipy.sparse as sp
from scipy.stats import rankdata

from confiance import i18n
from confiance.errors import ConfianceError
from confiance.graph.build import EDGE_TABLE, AccountGraph, load_graph
from confiance.i18n import N_
from confiance.influence.accounts import TYPE_LABELS, cue_label, cue_value
from confiance.overview import received_engagement
from confiance.pipeline import Step, register_step
from confiance.store import has_table

__all__ = [
    "COMPONENTS",
    "DEFAULT_WEIGHTS",
    "OWNED_TYPES",
    "coreness",
    "compute_influence",
    "in_strength",
    "influencers",
    "log_scaled",
    "pagerank",
    "percentile_ranks",
    "run_influence",
]

#: Interaction kinds through which an account engages with another one (likes are left out: not
#: every platform reports who liked).
ENGAGEMENT_KINDS = ("repost", "quote", "reply", "mention")
#: The components that enter the combined score, in display order, with a one-line meaning.
#: Below this many accounts with a value on a platform, a percentile says little ("p99" of one account):
#: the explanation then gives the n ("reach p99 of 1"); the stored percentiles are unchanged.
PERCENTILE_MIN_N = 100
COMPONENTS: dict[str, str] = {
    "followers": N_("followers"),
    "unique_engagers": N_("unique engagers"),
    "engagement_per_post": N_("median engagement per post"),
    "amplification": N_("amplification (PageRank on reposts)"),
    "authority": N_("conversational authority (reply/mention in-strength)"),
    "engagement_rate": N_("engagement rate per follower"),
    "coreness": N_("coreness (k-core)"),
    "active_weeks_share": N_("consistency (share of active weeks)"),
}
#: Default weights: reach leads (the audience an account declares, the engagement its typical post
#: gets, the distinct accounts that engage with it); amplification and conversational authority refine.
#: Reported but not weighted: the engagement rate (per follower it favours tiny accounts: an
#: audience-quality measure for brand fit, not influence), coreness (on an interaction graph most
#: active accounts share the top cores, so it hardly separates the top accounts) and consistency (the
#: most regular posters are automated accounts).
DEFAULT_WEIGHTS: dict[str, float] = {
    "followers": 0.40,
    "unique_engagers": 0.20,
    "engagement_per_post": 0.30,
    "amplification": 0.05,
    "authority": 0.05,
    "engagement_rate": 0.0,
    "coreness": 0.0,
    "active_weeks_share": 0.0,
}
#: Account types (``account_types``) that speak for an organisation's own products: listed apart from
#: the influencers, flagged, since a brand's own account is owned media, not a voice to work with.
OWNED_TYPES = ("brand",)
SCORE_TABLE = "influence_scores"
EVIDENCE_TABLE = "influence_evidence"


# --------------------------------------------------------------------------- graph measures


def pagerank(graph: AccountGraph, *, damping: float = 0.85, tol: float = 1e-10, max_iter: int = 200) -> np.ndarray:
    """Weighted PageRank by power iteration on the CSR adjacency.

    The random surfer follows an out-edge with probability proportional to its weight, or jumps to
    a uniformly chosen node with probability ``1 - damping``; the mass of dangling nodes (no
    out-weight) is spread uniformly over all nodes (as networkx does by default).

    Parameters
    ----------
    graph : AccountGraph
        Directed (or undirected: both directions are used) weighted graph.
    damping : float
        Probability of following a link (0.85, Page et al. 1999).
    tol : float
        Stop when the L1 norm of the change between two iterates is below ``tol``.
    max_iter : int
        Raise :class:`ConfianceError` when not converged after this many iterations.

    Returns
    -------
    numpy.ndarray
        One score per node (``graph`` node index), summing to 1.

    References
    ----------
    Page, L., Brin, S., Motwani, R., Winograd, T. (1999). The PageRank citation ranking: bringing
    order to the web. Stanford InfoLab technical report 1999-66.
    """
    if not 0.0 <= damping < 1.0:
        raise ValueError(f"damping must be in [0, 1), got {damping}")
    n = graph.n
    if n == 0:
        return np.zeros(0)
    adjacency = graph.csr()
    out_weight = np.asarray(adjacency.sum(axis=1)).ravel()
    dangling = out_weight <= 0
    inverse = np.zeros(n)
    inverse[~dangling] = 1.0 / out_weight[~dangling]
    incoming = sp.csr_matrix(adjacency.T)
    x = np.full(n, 1.0 / n)
    teleport = (1.0 - damping) / n
    for _ in range(max_iter):
        following = incoming @ (x * inverse)
        following += x[dangling].sum() / n
        new = damping * following + teleport
        change = np.abs(new - x).sum()
        x = new
        if change < tol:
            return x / x.sum()
    raise ConfianceError(f"PageRank did not converge to {tol} in {max_iter} iterations; raise max_iter")


def in_strength(graph: AccountGraph) -> np.ndarray:
    """Weighted in-degree per node (sum of the weights of incoming edges)."""
    return np.bincount(graph.dst, weights=graph.weight, minlength=graph.n).astype(np.float64)


def coreness(graph: AccountGraph) -> np.ndarray:
    """k-core number of every node on the undirected, unweighted version of ``graph``.

    Built from deduplicated node pairs (networkit 11.3 miscounts two-way edges when it converts a
    directed graph), then ``networkit.centrality.CoreDecomposition``.

    References
    ----------
    Batagelj, V., Zaversnik, M. (2003). An O(m) algorithm for cores decomposition of networks.
    arXiv:cs/0310049.
    """
    import networkit as nk

    if graph.n == 0:
        return np.zeros(0)
    decomposition = nk.centrality.CoreDecomposition(graph.undirected().to_networkit(weighted=False))
    decomposition.run()
    return np.asarray(decomposition.scores(), dtype=np.float64)


def percentile_ranks(values: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
    """Mid-rank percentiles in (0, 1] within each group; NaN stays NaN and is not counted.

    Ties share the mean of their ranks, so a value held by many accounts (0 reposts) gets the
    same, middling percentile for all of them.
    """
    return _within_groups(values, groups, lambda x: rankdata(x, method="average") / len(x))


def _within_groups(values: np.ndarray, groups: np.ndarray | None, transform) -> np.ndarray:
    """``transform`` applied to the non-NaN values of each group apart; NaN stays NaN."""
    values = np.asarray(values, dtype=np.float64)
    out = np.full(len(values), np.nan)
    if groups is None:
        groups = np.zeros(len(values), dtype=np.int64)
    for group in np.unique(groups):
        member = (groups == group) & ~np.isnan(values)
        if member.any():
            out[member] = transform(values[member])
    return out


# --------------------------------------------------------------------------- store access


def _prepare_sources(con: duckdb.DuckDBPyConnection, topic: str | None) -> tuple[str, str]:
    """Temp tables ``_infl_posts`` and ``_infl_edges`` (graph_edges' shape), or the stored ones.

    With ``topic``, a post counts when it or the post it reposts/quotes/replies to carries the topic,
    and an interaction counts when the post that carries it counts.
    """
    if topic is None:
        return "posts", EDGE_TABLE
    if not has_table(con, "post_topics"):
        raise ConfianceError("no topics yet: run confiance analyze once topics exist")
    known = [str(t) for (t,) in con.execute("SELECT DISTINCT topic FROM post_topics ORDER BY 1").fetchall()]
    if str(topic) not in known:
        raise ConfianceError(f"no topic {topic!r}; topics: {', '.join(known) or 'none'} (see `confiance topics`)")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _infl_posts AS "
        "SELECT p.* FROM posts p WHERE EXISTS (SELECT 1 FROM post_topics t WHERE t.topic = ? "
        "  AND t.platform = p.platform AND (t.post_id = p.post_id OR t.post_id = p.parent_post_id))",
        [topic],
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _infl_edges AS "
        "SELECT i.platform, i.src, i.dst, i.kind, sum(coalesce(i.weight, 1.0)) AS weight, "
        "       max(i.probability) AS probability, count(*) AS interactions "
        "FROM interactions i SEMI JOIN _infl_posts p ON p.platform = i.platform AND p.post_id = i.post_id "
        "WHERE i.src <> '' AND i.dst <> '' AND i.src <> i.dst GROUP BY ALL"
    )
    return "_infl_posts", "_infl_edges"


def _drop_sources(con: duckdb.DuckDBPyConnection, topic: str | None) -> None:
    if topic is None:
        return
    con.execute("DROP TABLE IF EXISTS _infl_posts")
    con.execute("DROP TABLE IF EXISTS _infl_edges")


def _graph(con: duckdb.DuckDBPyConnection, edges: str, kinds: Sequence[str] | None) -> AccountGraph:
    """``load_graph`` on the cached ``graph_edges``, or the same collapse on topic-restricted edges."""
    if edges == EDGE_TABLE:
        return load_graph(con, kinds=kinds)
    where, params = "true", []
    if kinds:
        where, params = "kind IN (SELECT unnest(?))", [list(kinds)]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _infl_pairs AS "
        f"SELECT platform, src, dst, sum(weight) AS weight FROM {edges} WHERE {where} GROUP BY ALL",
        params,
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _infl_nodes AS "
        "SELECT platform, account_id, (row_number() OVER (ORDER BY platform, account_id)) - 1 AS idx FROM ("
        "  SELECT platform, src AS account_id FROM _infl_pairs UNION SELECT platform, dst FROM _infl_pairs)"
    )
    nodes = con.sql("SELECT platform, account_id FROM _infl_nodes ORDER BY idx").to_arrow_table()
    pairs = con.sql(
        "SELECT s.idx AS src, d.idx AS dst, e.weight FROM _infl_pairs e "
        "JOIN _infl_nodes s ON s.platform = e.platform AND s.account_id = e.src "
        "JOIN _infl_nodes d ON d.platform = e.platform AND d.account_id = e.dst ORDER BY 1, 2"
    ).to_arrow_table()
    con.execute("DROP TABLE _infl_pairs")
    con.execute("DROP TABLE _infl_nodes")
    return AccountGraph(
        platform=np.array(nodes.column("platform").to_pylist(), dtype=object),
        account_id=np.array(nodes.column("account_id").to_pylist(), dtype=object),
        src=pairs.column("src").to_numpy().astype(np.int64),
        dst=pairs.column("dst").to_numpy().astype(np.int64),
        weight=pairs.column("weight").to_numpy(zero_copy_only=False).astype(np.float64),
        probability=np.full(pairs.num_rows, np.nan),
    )


def log_scaled(values: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
    """``log(1 + x) / log(1 + max x)`` within each group, in [0, 1]; NaN stays NaN.

    Negative values count as 0; a group whose maximum is 0 gets 0 everywhere.
    """
    def scaled(x: np.ndarray) -> np.ndarray:
        logs = np.log1p(np.maximum(x, 0.0))
        top = logs.max()
        return logs / top if top > 0 else np.zeros_like(logs)

    return _within_groups(values, groups, scaled)


def _node_table(graph: AccountGraph, values: np.ndarray) -> pa.Table:
    return pa.table({
        "platform": pa.array(graph.platform.tolist(), pa.string()),
        "account_id": pa.array(graph.account_id.tolist(), pa.string()),
        "value": pa.array(values, pa.float64()),
    })


# --------------------------------------------------------------------------- computation


def compute_influence(
    con: duckdb.DuckDBPyConnection,
    *,
    topic: str | None = None,
    weights: Mapping[str, float] | None = None,
    damping: float = 0.85,
    tol: float = 1e-10,
    max_iter: int = 200,
    coreness_kinds: Sequence[str] | None = None,
    percentile_scope: str = "platform",
) -> pa.Table:
    """Every component, its percentile and the combined score for every account (not persisted).

    Parameters
    ----------
    con : duckdb connection to the workspace store (``graph_edges`` must exist).
    topic : restrict to the posts of one topic (needs ``post_topics``).
    weights : component → weight for the combined score (default :data:`DEFAULT_WEIGHTS`).
    damping, tol, max_iter : PageRank parameters (Page et al. 1999).
    coreness_kinds : interaction kinds of the combined graph for coreness (default: all).
    percentile_scope : ``"platform"`` (percentiles within each platform) or ``"all"``.

    Returns
    -------
    pyarrow.Table
        One row per account, ordered by ``rank`` (1 = most influential); columns of ``influence_scores``.
    """
    weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
    unknown = set(weights) - set(COMPONENTS)
    if unknown:
        raise ConfianceError(f"unknown influence components {sorted(unknown)}; known: {', '.join(COMPONENTS)}")
    if any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
        raise ConfianceError("influence weights must be non-negative with a positive sum")
    if percentile_scope not in ("platform", "all"):
        raise ConfianceError(f"percentile_scope must be 'platform' or 'all', got {percentile_scope!r}")
    if not has_table(con, EDGE_TABLE):
        raise ConfianceError("no account graph yet: run confiance analyze")

    posts, edges = _prepare_sources(con, topic)
    try:
        repost_graph = _graph(con, edges, ["repost"])
        talk_graph = _graph(con, edges, ["reply", "mention"])
        combined = _graph(con, edges, coreness_kinds)
        for name, graph, values in (
            ("amplification", repost_graph, pagerank(repost_graph, damping=damping, tol=tol, max_iter=max_iter)),
            ("authority", talk_graph, in_strength(talk_graph)),
            ("coreness", combined, coreness(combined)),
        ):
            con.register(f"_infl_{name}", _node_table(graph, values))
        reuse_overview = topic is None and has_table(con, "overview_accounts")
        received = received_engagement()
        engagement = (
            f"SELECT platform, account_id, avg({received}) AS mean_engagement,"
            f" median({received}) AS engagement_per_post "
            f"FROM {posts} WHERE account_id IS NOT NULL AND kind <> 'repost' GROUP BY ALL"
        )
        rate = "o.engagement_rate" if reuse_overview else (
            "CASE WHEN a.followers > 0 THEN g.mean_engagement / a.followers END")
        raw = con.sql(
            "WITH acc AS ("
            "  SELECT platform, account_id, first(handle ORDER BY last_seen DESC NULLS LAST) AS handle,"
            "         first(followers ORDER BY last_seen DESC NULLS LAST) AS followers"
            "  FROM accounts GROUP BY ALL),"
            " engagers AS ("
            f"  SELECT platform, dst AS account_id, count(DISTINCT src) AS unique_engagers FROM {edges}"
            "  WHERE kind IN (SELECT unnest(?)) GROUP BY ALL),"
            f" engagement AS ({engagement}),"
            " weekly AS ("
            "  SELECT platform, account_id, date_trunc('week', created_at AT TIME ZONE 'UTC') AS week, count(*) AS n"
            f"  FROM {posts} WHERE created_at IS NOT NULL AND account_id IS NOT NULL GROUP BY ALL),"
            " corpus AS (SELECT platform, max(week) AS last_week FROM weekly GROUP BY ALL),"
            " activity AS ("
            "  SELECT w.platform, w.account_id, count(*) AS active_weeks, sum(w.n) AS posts, sum(w.n * w.n) AS squares,"
            "         datediff('week', min(w.week), any_value(c.last_week)) + 1 AS span_weeks"
            "  FROM weekly w JOIN corpus c USING (platform) GROUP BY ALL) "
            "SELECT a.platform, a.account_id, a.handle, a.followers,"
            "       coalesce(e.unique_engagers, 0) AS unique_engagers,"
            "       CAST(g.engagement_per_post AS DOUBLE) AS engagement_per_post,"
            "       coalesce(am.value, 0.0) AS amplification, coalesce(au.value, 0.0) AS authority,"
            f"      {rate} AS engagement_rate, coalesce(co.value, 0.0) AS coreness,"
            "       coalesce(t.active_weeks / t.span_weeks, 0.0) AS active_weeks_share,"
            "       CASE WHEN t.posts > 0 THEN sqrt(greatest(t.squares / t.span_weeks - (t.posts / t.span_weeks) ** 2, 0))"
            "            / (t.posts / t.span_weeks) END AS weekly_cv "
            "FROM acc a "
            "LEFT JOIN engagers e USING (platform, account_id) "
            "LEFT JOIN engagement g USING (platform, account_id) "
            + ("LEFT JOIN overview_accounts o USING (platform, account_id) " if reuse_overview else "") +
            "LEFT JOIN _infl_amplification am USING (platform, account_id) "
            "LEFT JOIN _infl_authority au USING (platform, account_id) "
            "LEFT JOIN _infl_coreness co USING (platform, account_id) "
            "LEFT JOIN activity t USING (platform, account_id) "
            "ORDER BY a.platform, a.account_id",
            params=[list(ENGAGEMENT_KINDS)],
        ).to_arrow_table()
    finally:
        for name in ("amplification", "authority", "coreness"):
            try:
                con.unregister(f"_infl_{name}")
            except duckdb.Error:
                pass
        _drop_sources(con, topic)

    platform = raw.column("platform").to_numpy(zero_copy_only=False)
    groups = platform if percentile_scope == "platform" else None
    total = np.zeros(raw.num_rows)
    available = np.zeros(raw.num_rows)
    columns: dict[str, Any] = {name: raw.column(name) for name in raw.column_names}
    nodes = np.unique(platform if groups is not None else np.zeros(len(platform)), return_inverse=True,
                      return_counts=True)
    group_size = nodes[2][nodes[1]].astype(np.float64)
    for name in COMPONENTS:
        values = raw.column(name).to_numpy(zero_copy_only=False).astype(np.float64)  # NULL → NaN
        pct = percentile_ranks(values, groups)
        columns[f"{name}_pct"] = pa.array(pct, pa.float64(), mask=np.isnan(pct))
        # PageRank sums to 1 over the graph: relative to a uniform share it is a count-like quantity
        scaled = log_scaled(values * group_size if name == "amplification" else values, groups)
        columns[f"{name}_scaled"] = pa.array(scaled, pa.float64(), mask=np.isnan(scaled))
        w = weights.get(name, 0.0)
        has = ~np.isnan(scaled)
        total[has] += w * scaled[has]
        available[has] += w
    influence = np.divide(total, available, out=np.zeros_like(total), where=available > 0)
    followers = raw.column("followers").to_numpy(zero_copy_only=False).astype(np.float64)
    order = np.lexsort((np.nan_to_num(-followers, nan=0.0), -influence))  # ties: larger audience first
    rank = np.empty(raw.num_rows, dtype=np.int64)
    rank[order] = np.arange(1, raw.num_rows + 1)
    columns["influence"] = pa.array(influence, pa.float64())
    columns["rank"] = pa.array(rank, pa.int64())
    columns["weights"] = pa.array([orjson.dumps(weights).decode()] * raw.num_rows, pa.string())
    return pa.table(columns).take(pa.array(order))


def _write_evidence(con: duckdb.DuckDBPyConnection, run_id: str, scores: str, posts: str, edges: str, *,
                    accounts: int, engagers: int, examples: int, table: str) -> None:
    """Top engagers and most engaged posts of the ``accounts`` best-ranked accounts."""
    con.execute(
        f"CREATE OR REPLACE {'TEMP ' if table.startswith('_') else ''}TABLE {table} AS "
        f"WITH ranked AS (SELECT platform, account_id FROM {scores} WHERE rank <= ?),"
        " engagers AS ("
        "  SELECT e.platform, e.dst AS account_id, e.src AS ref, sum(e.interactions) AS value"
        f"  FROM {edges} e SEMI JOIN ranked r ON r.platform = e.platform AND r.account_id = e.dst"
        "  WHERE e.kind IN (SELECT unnest(?)) GROUP BY e.platform, e.dst, e.src"
        "  QUALIFY row_number() OVER (PARTITION BY e.platform, e.dst ORDER BY value DESC, ref) <= ?),"
        " examples AS ("
        "  SELECT p.platform, p.account_id, p.post_id AS ref, left(regexp_replace(coalesce(p.text, ''), '\\s+', ' ', 'g'), 140) AS label,"
        f"         {received_engagement('p')} AS value"
        f"  FROM {posts} p SEMI JOIN ranked r ON r.platform = p.platform AND r.account_id = p.account_id"
        "  WHERE p.kind <> 'repost'"
        "  QUALIFY row_number() OVER (PARTITION BY p.platform, p.account_id ORDER BY value DESC NULLS LAST, p.post_id) <= ?) "
        "SELECT ? AS run_id, g.platform, g.account_id, 'top_engager' AS kind, g.ref,"
        "       coalesce(a.handle, g.ref) AS label, CAST(g.value AS DOUBLE) AS value "
        "FROM engagers g LEFT JOIN accounts a ON a.platform = g.platform AND a.account_id = g.ref "
        "UNION ALL "
        "SELECT ?, platform, account_id, 'example_post', ref, label, CAST(value AS DOUBLE) FROM examples "
        "ORDER BY 2, 3, 4 DESC, 7 DESC, 5",
        [accounts, list(ENGAGEMENT_KINDS), engagers, examples, run_id, run_id],
    )


def run_influence(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    *,
    evidence_accounts: int = 1000,
    top_engagers: int = 5,
    example_posts: int = 3,
    **params: Any,
) -> dict[str, Any]:
    """Compute :func:`compute_influence` and persist ``influence_scores`` and ``influence_evidence``.

    Evidence (``top_engagers`` accounts with their interaction counts, ``example_posts`` most
    engaged original posts) is written for the ``evidence_accounts`` best-ranked accounts, which
    bounds the table on large stores. Other keyword arguments go to :func:`compute_influence`.
    """
    scores = compute_influence(con, **params)
    con.register("_infl_scores", scores)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {SCORE_TABLE} AS SELECT ? AS run_id, * FROM _infl_scores ORDER BY rank",
                    [run_id])
    finally:
        con.unregister("_infl_scores")
    topic = params.get("topic")
    posts, edges = _prepare_sources(con, topic)
    try:
        _write_evidence(con, run_id, SCORE_TABLE, posts, edges, accounts=evidence_accounts, engagers=top_engagers,
                        examples=example_posts, table=EVIDENCE_TABLE)
    finally:
        _drop_sources(con, topic)
    evidence = con.execute(f"SELECT count(*) FROM {EVIDENCE_TABLE}").fetchall()[0][0]
    return {"accounts": scores.num_rows, "evidence": evidence}


# --------------------------------------------------------------------------- listing


def _explain(row: Mapping[str, Any], weights: Mapping[str, float], strongest: int = 3,
             counts: Mapping[str, int] | None = None) -> str:
    """``strongest: reach p97, …`` and the community standing, in the language of :func:`i18n.using`;
    ``counts`` (accounts with a value of each component on the row's platform) adds "of n" to a
    percentile taken among fewer than :data:`PERCENTILE_MIN_N` accounts."""
    available = [name for name in COMPONENTS if weights.get(name, 0) > 0 and row[f"{name}_pct"] is not None]
    # a zero (no repost, no engager) is no strength, whatever percentile its ties share
    parts = sorted(((row[f"{name}_pct"], name) for name in available if row[name]),
                   key=lambda p: (-p[0], list(COMPONENTS).index(p[1])))[:strongest]

    def strength(pct: float, name: str) -> str:
        values = {"component": i18n.translate(COMPONENTS[name]), "percentile": min(99, int(pct * 100))}
        n = (counts or {}).get(name)
        if n is not None and n < PERCENTILE_MIN_N:
            return i18n.gettext("%(component)s p%(percentile)s of %(n)s", n=i18n.number(n), **values)
        return i18n.gettext("%(component)s p%(percentile)s", **values)

    if parts:
        text = i18n.gettext("strongest: %(components)s", components=", ".join(strength(*p) for p in parts))
    else:
        text = i18n.gettext("every weighted component is zero") if available else i18n.gettext("no component available")
    standing = _standing(row)
    return i18n.clauses([text, standing] if standing else [text])


def _standing(row: Mapping[str, Any]) -> str:
    """The account's place among the ranked accounts of its community, for communities of two or more."""
    rank, size = row.get("_community_rank"), row.get("_community_size")
    share = row.get("_leader_share")  # None when the leader scores 0, and so does every member
    if rank is None or size is None or size < 2 or share is None:
        return ""  # an order of zeros: on a follow-only graph each community's "leader" came first by account id
    where = {"community": row["_community"], "size": i18n.plain(size)}
    if rank == 1:
        lead = row.get("_lead")
        if lead is None:
            return i18n.gettext("leads community %(community)s (%(size)s accounts)", **where)
        return i18n.gettext("leads community %(community)s (%(size)s accounts), %(lead)s× the next account's score",
                            lead=i18n.fixed(lead, 2), **where)
    return i18n.gettext("#%(rank)s in community %(community)s (%(size)s accounts), %(share)s of its leader's score",
                        rank=rank, share=i18n.fixed(share, 2), **where)


def _flagged_sql(con: duckdb.DuckDBPyConnection, enabled: bool = True) -> str:
    """Accounts that an influencer ranking lists apart: owned (typed ``brand``) and likely automated.

    One row per flagged account: ``platform, account_id, account_type, type_confidence,
    type_evidence`` (JSON) and ``bot_score`` (NULL when the bot model did not flag it).
    """
    parts = []
    if enabled and has_table(con, "account_types"):
        parts.append(
            "SELECT platform, account_id, type AS account_type, confidence AS type_confidence,"
            " CAST(evidence AS VARCHAR) AS type_evidence, NULL::DOUBLE AS bot_score FROM account_types"
            f" WHERE type IN ({', '.join(repr(t) for t in OWNED_TYPES)})")
    if enabled and has_table(con, "bot_scores"):
        parts.append(
            "SELECT platform, account_id, NULL::VARCHAR AS account_type, NULL::DOUBLE AS type_confidence,"
            " NULL::VARCHAR AS type_evidence, score AS bot_score FROM bot_scores WHERE label")
    if not parts:
        return ("SELECT NULL::VARCHAR AS platform, NULL::VARCHAR AS account_id, NULL::VARCHAR AS account_type, "
                "NULL::DOUBLE AS type_confidence, NULL::VARCHAR AS type_evidence, NULL::DOUBLE AS bot_score WHERE false")
    return ("SELECT platform, account_id, max(account_type) AS account_type, max(type_confidence) AS type_confidence,"
            " max(type_evidence) AS type_evidence, max(bot_score) AS bot_score FROM ("
            + " UNION ALL ".join(parts) + ") GROUP BY ALL")


def _exclusion_reason(account_type: str | None, confidence: float | None, evidence: str | None,
                      bot_score: float | None) -> str | None:
    """Why an account is listed apart, naming the analysis and the cues behind it (None: ranked), in the
    language of :func:`i18n.using`."""
    reasons = []
    if account_type is not None:
        cues = []
        for cue in orjson.loads(evidence or "[]"):
            if account_type in cue.get("types", {}):
                detail = cue.get("span", cue.get("value"))
                name = cue_label(cue["cue"])
                cues.append(f"{name} ({cue_value(detail)})" if detail is not None else name)
        values = {"type": i18n.translate(TYPE_LABELS.get(account_type, account_type)),
                  "confidence": i18n.fixed(confidence, 2)}
        if cues:
            reasons.append(i18n.gettext("owned account: typed %(type)s (confidence %(confidence)s; %(cues)s)",
                                        cues=", ".join(cues), **values))
        else:
            reasons.append(i18n.gettext("owned account: typed %(type)s (confidence %(confidence)s)", **values))
    if bot_score is not None:
        reasons.append(i18n.gettext("likely automated: bot probability %(score)s (bot likelihood model)",
                                    score=i18n.fixed(bot_score, 2)))
    return i18n.clauses(reasons) or None


def influencers(con: duckdb.DuckDBPyConnection, *, top: int = 20, topic: str | None = None,
                flag_accounts: bool = True) -> list[dict[str, Any]]:
    """The ``top`` most influential accounts, each with its components, their percentiles, the parts
    of the combined score, a one-line explanation and its evidence (``influencers --json``).

    Without ``topic`` the stored ``influence_scores`` are read; with ``topic`` the scores are
    computed on that topic's posts (default parameters) and not stored.

    An influencer ranking for brand work lists persons and independent voices: the accounts that
    the account typing finds to be brands (:data:`OWNED_TYPES`, ``account_types``: profile text,
    links to its own domain, being named in commercial posts) and those the bot model labels
    automated (``bot_scores``) are not ranked. With ``flag_accounts`` (default) they stay in the
    list where their score puts them, with ``excluded`` giving the reason and ``influencer_rank``
    None; ``top`` counts the ranked accounts. ``rank`` is always the rank of the score among all
    accounts (``influence_scores.rank``). Without the account-types and bots steps nothing is flagged.

    With the ``communities`` table, each row also gives ``community``, ``community_size``,
    ``community_rank`` (1 = leads it; None for a flagged account), ``community_leader_share`` (the
    score over the community leader's) and, for a leader, ``community_lead`` (its score over the
    next ranked account's, None when it is alone); the explanation ends with that standing for
    communities of two or more accounts. Without the table these are None.
    """
    if top < 1:
        raise ConfianceError("top must be at least 1")
    if topic is not None:
        con.register("_infl_topic_scores", compute_influence(con, topic=topic))
        scores = "_infl_topic_scores"
    else:
        if not has_table(con, SCORE_TABLE):
            raise ConfianceError("no influence scores yet: run confiance analyze")
        scores = SCORE_TABLE
    flagged = _flagged_sql(con, flag_accounts)
    members = ("SELECT platform, account_id, community FROM communities" if has_table(con, "communities") else
               "SELECT NULL::VARCHAR AS platform, NULL::VARCHAR AS account_id, NULL::INTEGER AS community WHERE false")
    try:
        cursor = con.execute(
            f"WITH flagged AS ({flagged}), members AS ({members}), "
            # the ranked (not flagged) accounts of a community, best first
            " standing AS ("
            "  SELECT s.platform, s.account_id, c.community AS _community,"
            "         count(*) OVER (PARTITION BY s.platform, c.community) AS _community_size,"
            "         CASE WHEN f.platform IS NULL THEN row_number() OVER ranked END AS _community_rank,"
            "         CASE WHEN f.platform IS NULL THEN s.influence / nullif(first_value(s.influence) OVER ranked, 0)"
            "         END AS _leader_share,"
            "         CASE WHEN f.platform IS NULL THEN s.influence / nullif(nth_value(s.influence, 2) OVER ranked, 0)"
            "         END AS _lead"
            f"  FROM {scores} s JOIN members c USING (platform, account_id)"
            "  LEFT JOIN flagged f USING (platform, account_id)"
            "  WINDOW ranked AS (PARTITION BY s.platform, c.community, f.platform IS NULL ORDER BY s.rank"
            "                    ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) "
            "SELECT s.*, f.account_type AS _type, f.type_confidence AS _confidence, f.type_evidence AS _evidence,"
            "       f.bot_score AS _bot, f.platform IS NOT NULL AS _flagged, g._community, g._community_size,"
            "       g._community_rank, g._leader_share, g._lead "
            f"FROM {scores} s LEFT JOIN flagged f USING (platform, account_id) "
            "LEFT JOIN standing g USING (platform, account_id) "
            "QUALIFY count_if(f.platform IS NULL) OVER (ORDER BY s.rank ROWS UNBOUNDED PRECEDING)"
            "        - CAST(f.platform IS NULL AS INTEGER) < ? "
            "ORDER BY s.rank", [top])
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, r)) for r in cursor.fetchall()]
        last = max((row["rank"] for row in rows), default=0)
        # accounts with a value of each component per platform: the n of its percentiles
        counts = {platform: dict(zip(COMPONENTS, n)) for platform, *n in con.execute(
            f"SELECT platform, {', '.join(f'count({name})' for name in COMPONENTS)} FROM {scores} GROUP BY platform"
        ).fetchall()}
        if topic is not None:
            posts, edges = _prepare_sources(con, topic)
            try:
                _write_evidence(con, "topic", scores, posts, edges, accounts=last, engagers=5, examples=3,
                                table="_infl_topic_evidence")
            finally:
                _drop_sources(con, topic)
        evidence = "_infl_topic_evidence" if topic is not None else EVIDENCE_TABLE
        proofs: dict[tuple[str, str], dict[str, list]] = {}
        for platform, account_id, kind, ref, label, value in con.execute(
            f"SELECT e.platform, e.account_id, e.kind, e.ref, e.label, e.value FROM {evidence} e "
            f"SEMI JOIN (SELECT platform, account_id FROM {scores} WHERE rank <= ?) s "
            "  ON s.platform = e.platform AND s.account_id = e.account_id "
            "ORDER BY e.platform, e.account_id, e.kind DESC, e.value DESC, e.ref", [last],
        ).fetchall():
            bucket = proofs.setdefault((platform, account_id), {"top_engagers": [], "example_posts": []})
            if kind == "top_engager":
                bucket["top_engagers"].append({"account_id": ref, "handle": label, "interactions": int(value)})
            else:
                # a platform that gives no counts (the IRA files) leaves a post's engagement unknown, not 0
                engagement = None if value is None else int(value)
                bucket["example_posts"].append({"post_id": ref, "text": label, "engagement": engagement})
    finally:
        if topic is not None:
            con.unregister("_infl_topic_scores")
            con.execute("DROP TABLE IF EXISTS _infl_topic_evidence")
    out = []
    ranked = 0
    for row in rows:
        weights = orjson.loads(row["weights"])
        available = sum(w for name, w in weights.items() if row[f"{name}_scaled"] is not None)
        excluded = _exclusion_reason(row["_type"], row["_confidence"], row["_evidence"], row["_bot"])
        ranked += excluded is None
        out.append({
            "rank": row["rank"],
            "influencer_rank": ranked if excluded is None else None,
            "platform": row["platform"],
            "account_id": row["account_id"],
            "handle": row["handle"],
            "influence": row["influence"],
            "excluded": excluded,
            **{name: row[name] for name in (*COMPONENTS, "weekly_cv")},
            "community": row["_community"],
            "community_size": row["_community_size"],
            "community_rank": row["_community_rank"],
            "community_leader_share": row["_leader_share"],
            "community_lead": row["_lead"] if row["_community_rank"] == 1 else None,
            "percentiles": {name: row[f"{name}_pct"] for name in COMPONENTS},
            "scaled": {name: row[f"{name}_scaled"] for name in COMPONENTS},
            "contributions": {
                name: (weights.get(name, 0.0) * row[f"{name}_scaled"] / available
                       if row[f"{name}_scaled"] is not None and available else None)
                for name in COMPONENTS
            },
            "weights": weights,
            "topic": topic,
            "explanation": _explain(row, weights, counts=counts.get(row["platform"])),
            "evidence": proofs.get((row["platform"], row["account_id"]), {"top_engagers": [], "example_posts": []}),
        })
    return out


def _step(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    return run_influence(con, run_id)


register_step(Step(
    "influence", _step, after=("graph", "overview"),
    description="influence scores per account (reach, PageRank amplification, authority, engagement rate, "
                "coreness, consistency) with evidence",
    parameters={"weights": DEFAULT_WEIGHTS, "damping": 0.85, "tol": 1e-10, "max_iter": 200,
                "percentile_scope": "platform", "evidence_accounts": 1000},
))
