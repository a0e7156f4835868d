"""Coordinated behaviour: accounts that repeatedly do the same thing within seconds of each other.

Two accounts *co-act* when they act on the same object within a time window (Giglietto et al.
2020; Righetti & Balluff's CooRTweet; Pacheco et al. 2021). The objects, one per ``kind``:

- ``co_repost``: the reposted post (``parent_post_id``; when a repost names no parent, as in the
  FiveThirtyEight troll tweets, its parent account plus a hash of its text);
- ``co_link``: a normalised URL (:func:`confiance.integrity.urls.normalise_url`) in a post, reply
  or quote (links inside reposts are the reposted post's, as in coordination-network-toolkit);
- ``co_hashtag``: the same set of two or more hashtags (a single hashtag is a topic marker that
  strangers share by chance);
- ``co_reply``: the post replied to;
- ``near_duplicate_text``: a copypasta, i.e. a connected set of posts whose texts are near
  duplicates (MinHash of character 5-grams, Broder 1997; LSH banding, Indyk & Motwani 1998;
  candidate pairs kept when their estimated Jaccard similarity reaches ``text_similarity``).
  Copypasta is posted over minutes, not seconds, so it has its own, wider ``text_window``.

No all-pairs loop over accounts: actions are sorted by (object, time) and each action is paired
only with the following actions on the same object inside the window (a sorted sweep whose work
is proportional to the actions plus the pairs found), in numpy, one kind at a time. Objects are
compared by a 64-bit hash of (platform, object): two objects would merge only on a hash collision
(odds about 3 in 10^8 for a million objects).

An edge ``(a, b, kind)`` has a ``weight``: the number of distinct objects on which ``a`` and ``b``
co-acted (CooRTweet's edge weight), ``posts_a`` / ``posts_b``: how many posts of each side have a
partner post of the other (coordination-network-toolkit's directed weights), and ``evidence``: the
post ids that tie them. An edge is kept when ``weight >= min_participation`` (the pair repeated the
co-action; one coincidence is not coordination) and ``weight`` reaches the ``percentile`` of the
weights of its kind (CooRTweet's ``edge_weight`` quantile filter). Groups are the connected
components of the kept edges, all kinds together.

Definitions, compared with the peers:

- the window is inclusive: ``|t_a - t_b| <= window`` (coordination-network-toolkit's ``between``);
- an account never coordinates with itself (CooRTweet ``remove_loops = TRUE``; the toolkit keeps
  self-loops);
- edges are undirected; the toolkit's directed edge ``a -> b`` of weight ``w`` is ``posts_a = w``;
- CooRTweet applies ``min_participation`` to an account's number of coordinated actions; here it
  applies to the pair, which is stricter: an account is flagged only with a partner it repeatedly
  co-acted with.

References
----------
F. Giglietto, N. Righetti, L. Rossi, G. Marino, "It takes a village to manipulate the media:
coordinated link sharing behavior during 2018 and 2019 Italian elections", Information,
Communication & Society 23(6) (2020).
N. Righetti, P. Balluff, "CooRTweet: coordinated networks detection on social media", R package
(2023-2025), ``detect_groups`` (time_window = 10 s, min_participation = 2) and
``generate_coordinated_network`` (edge_weight = 0.5 quantile).
D. Pacheco, P.-M. Hui, C. Torres-Lugo, B. T. Truong, A. Flammini, F. Menczer, "Uncovering
coordinated networks on social media: methods and case studies", ICWSM 2021 (30-minute windows).
T. Graham, A. Bruns, G. Zhu, R. Campbell, "Like a virus: the coordinated spread of coronavirus
disinformation", Australia Institute (2020) (coordination-network-toolkit).
A. Z. Broder, "On the resemblance and containment of documents", SEQUENCES 1997.
P. Indyk, R. Motwani, "Approximate nearest neighbors", STOC 1998.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import duckdb
import numpy as np
import pyarrow as pa
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from confiance import store
from confiance.integrity.urls import normalise_url
from confiance.pipeline import Step, register_step

KINDS = ("co_repost", "co_link", "co_hashtag", "co_reply", "near_duplicate_text")
#: CooRTweet ``detect_groups`` default time window (seconds).
WINDOW_S = 10.0
#: Copypasta spreads over minutes: Pacheco et al. (2021) use 30-minute windows.
TEXT_WINDOW_S = 1800.0
#: CooRTweet ``detect_groups`` default; here the pair must co-act on this many distinct objects.
MIN_PARTICIPATION = 2
#: CooRTweet ``generate_coordinated_network(edge_weight = 0.5)``: keep edges at or above the median.
PERCENTILE = 0.5
#: Estimated Jaccard similarity of character 5-gram sets above which two texts are near duplicates.
TEXT_SIMILARITY = 0.6
#: Texts shorter than this (after removing links, mentions, hashtags) are too short to compare.
MIN_TEXT_CHARS = 30
SHINGLE = 5
BANDS, ROWS = 16, 4  # 64 MinHash permutations; a pair at J = 0.6 is a candidate with p = 0.89
BATCH = 1_000_000  # shingles per MinHash batch: memory stays bounded

_MERSENNE = np.uint64((1 << 61) - 1)


@dataclass(frozen=True)
class CoordinationResult:
    """Kept edges (one row per platform, a, b, kind) and group membership, as Arrow tables."""

    edges: pa.Table  # platform, a, b, kind, weight, posts_a, posts_b, evidence
    groups: pa.Table  # group_id, platform, account_id, kinds
    parameters: dict[str, Any]


def co_action_pairs(objects: np.ndarray, times: np.ndarray, accounts: np.ndarray,
                    window: float) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs ``(i, j)``, ``i < j``, of actions on the same object within ``window``, by two accounts.

    The arrays must be sorted by (object, time). Action ``i`` is compared with ``i + 1``, ``i + 2``…
    while they share its object and fall inside the window, so the work is proportional to the
    number of actions plus the number of pairs, never to the square of an object's actions.
    """
    n = len(objects)
    first: list[np.ndarray] = []
    second: list[np.ndarray] = []
    active = np.arange(n, dtype=np.int64)
    step = 1
    while len(active):
        active = active[active + step < n]
        partner = active + step
        inside = (objects[partner] == objects[active]) & (times[partner] - times[active] <= window)
        active, partner = active[inside], partner[inside]
        other = accounts[active] != accounts[partner]
        first.append(active[other])
        second.append(partner[other])
        step += 1
    if not first:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(first), np.concatenate(second)


def _account_codes(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _coord_accounts AS "
        "SELECT row_number() OVER (ORDER BY platform, account_id) - 1 AS aid, platform, account_id "
        "FROM (SELECT DISTINCT platform, account_id FROM posts WHERE account_id IS NOT NULL)"
    )


#: URLs that :func:`normalise_url` returns unchanged when they also do not start with ``https://www.``:
#: https, a lower-case host without port, user or trailing dot, an ASCII path (RFC 3986 characters)
#: without trailing slash, no query or fragment. Only the others go through Python (a property test checks the claim).
ALREADY_NORMAL = r"https://[a-z0-9-]+(\.[a-z0-9-]+)*(/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*[A-Za-z0-9._~!$&'()*+,;=:@%-])?"


def _url_map(con: duckdb.DuckDBPyConnection) -> None:
    """Normalise each distinct URL once (far fewer than the posts that carry them)."""
    raw = [r[0] for r in con.execute(
        "SELECT DISTINCT u FROM (SELECT unnest(urls) AS u FROM posts WHERE kind <> 'repost') "
        "WHERE u <> '' AND (starts_with(u, 'https://www.') OR NOT regexp_full_match(u, ?))", [ALREADY_NORMAL]).fetchall()]
    table = pa.table({"url": pa.array(raw, pa.string()),
                      "normalised": pa.array([normalise_url(u) for u in raw], pa.string())})
    con.register("_coord_url_arrow", table)
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE _coord_urls AS SELECT * FROM _coord_url_arrow")
    finally:
        con.unregister("_coord_url_arrow")


_ACTIONS = {
    "co_repost": (
        "SELECT p.rowid AS pid, p.platform, p.account_id, p.created_at, "
        " coalesce(p.parent_post_id, 'text:' || coalesce(p.parent_account_id, '') || ':' || md5(p.text)) AS object "
        "FROM posts p WHERE p.kind = 'repost' AND (p.parent_post_id IS NOT NULL OR p.text IS NOT NULL)"),
    "co_reply": (
        "SELECT p.rowid AS pid, p.platform, p.account_id, p.created_at, p.parent_post_id AS object "
        "FROM posts p WHERE p.kind = 'reply' AND p.parent_post_id IS NOT NULL"),
    "co_hashtag": (
        "SELECT pid, platform, account_id, created_at, array_to_string(tags, ' ') AS object FROM ("
        " SELECT p.rowid AS pid, p.platform, p.account_id, p.created_at, list_sort(list_distinct(p.hashtags)) AS tags "
        " FROM posts p WHERE p.kind <> 'repost') WHERE len(tags) >= 2"),
    "co_link": (
        "SELECT DISTINCT l.pid, l.platform, l.account_id, l.created_at, coalesce(m.normalised, l.url) AS object FROM ("
        " SELECT p.rowid AS pid, p.platform, p.account_id, p.created_at, unnest(p.urls) AS url "
        " FROM posts p WHERE p.kind <> 'repost') l LEFT JOIN _coord_urls m ON m.url = l.url"
        " WHERE l.url <> ''"),
}


def _sorted_actions(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, np.ndarray]:
    """(pid, aid, object hash, time in ms) sorted by object then time."""
    table = con.sql(
        f"SELECT x.pid, a.aid, hash(x.platform, x.object) AS obj, epoch_ms(x.created_at) AS t FROM ({sql}) x "
        "JOIN _coord_accounts a ON a.platform = x.platform AND a.account_id = x.account_id "
        "WHERE x.created_at IS NOT NULL AND x.object IS NOT NULL ORDER BY obj, t, x.pid"
    ).to_arrow_table()
    return {name: table.column(name).to_numpy() for name in ("pid", "aid", "obj", "t")}


def _kind_pairs(actions: dict[str, np.ndarray], window_s: float) -> dict[str, np.ndarray]:
    i, j = co_action_pairs(actions["obj"], actions["t"], actions["aid"], window_s * 1000.0)
    a_i, a_j = actions["aid"][i], actions["aid"][j]
    swap = a_i > a_j
    pid_i, pid_j = actions["pid"][i], actions["pid"][j]
    return {
        "a": np.where(swap, a_j, a_i), "b": np.where(swap, a_i, a_j),
        "pid_a": np.where(swap, pid_j, pid_i), "pid_b": np.where(swap, pid_i, pid_j),
        "obj": actions["obj"][i].view(np.int64),
    }


def _minhash_parameters(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    perms = BANDS * ROWS
    a = rng.integers(1, int(_MERSENNE), perms, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, int(_MERSENNE), perms, dtype=np.uint64)
    return a, b


def _text_actions(con: duckdb.DuckDBPyConnection, window_s: float) -> dict[str, np.ndarray]:
    """Near-duplicate texts as actions on a copypasta: a connected set of near-duplicate posts.

    Shingles are hashed by DuckDB and streamed in batches; each batch updates the running minimum
    of every permutation (32-bit MinHash values: 256 bytes a text).
    """
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _coord_texts AS "
        "SELECT row_number() OVER (ORDER BY pid) - 1 AS k, * FROM ("
        " SELECT p.rowid AS pid, a.aid, hash(p.platform) AS plat, epoch_ms(p.created_at) AS t,"
        "  trim(regexp_replace(regexp_replace(lower(p.text), '(https?://\\S+|[#@]\\S+)', ' ', 'g'),"
        "       '[^\\p{L}\\p{N}]+', ' ', 'g')) AS txt"
        " FROM posts p JOIN _coord_accounts a ON a.platform = p.platform AND a.account_id = p.account_id"
        " WHERE p.kind <> 'repost' AND p.text IS NOT NULL AND p.created_at IS NOT NULL)"
        " WHERE length(txt) >= ?", [MIN_TEXT_CHARS])
    meta = con.sql("SELECT pid, aid, plat, t FROM _coord_texts ORDER BY k").to_arrow_table()
    pid, aid, t = (meta.column(c).to_numpy() for c in ("pid", "aid", "t"))
    plat = meta.column("plat").to_numpy().view(np.int64)
    n = len(pid)
    a, b = _minhash_parameters()
    signature = np.full((n, len(a)), np.iinfo(np.uint32).max, np.uint32)
    reader = con.sql(
        "SELECT k, hash(substr(txt, s, $shingle)) AS h FROM ("
        " SELECT k, txt, unnest(range(1, length(txt) - $shingle + 2)) AS s FROM _coord_texts) ORDER BY k",
        params={"shingle": SHINGLE}).to_arrow_reader(BATCH)
    for batch in reader:
        owner = batch.column("k").to_numpy()
        value = batch.column("h").to_numpy() & np.uint64(0xFFFFFFFF)
        starts = np.r_[0, np.flatnonzero(np.diff(owner)) + 1]
        rows = owner[starts]
        for p in range(len(a)):
            permuted = ((value * a[p] + b[p]) % _MERSENNE).astype(np.uint32)
            signature[rows, p] = np.minimum(signature[rows, p], np.minimum.reduceat(permuted, starts))
    con.execute("DROP TABLE _coord_texts")
    window_ms = window_s * 1000.0
    # candidate pairs: the same band on the same platform within the window (a sorted sweep per band)
    first, second = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    for band in range(BANDS):
        rows = signature[:, band * ROWS:(band + 1) * ROWS].astype(np.uint64)
        key = plat.copy()
        for r in range(ROWS):
            key = key * np.int64(1_000_003) + rows[:, r].view(np.int64)
        order = np.lexsort((t, key))
        i, j = co_action_pairs(key[order], t[order], np.arange(n), window_ms)
        first.append(order[i])
        second.append(order[j])
    i, j = np.concatenate(first), np.concatenate(second)
    pairs = np.unique(np.stack([np.minimum(i, j), np.maximum(i, j)], axis=1), axis=0)
    pairs = pairs[(signature[pairs[:, 0]] == signature[pairs[:, 1]]).mean(axis=1) >= TEXT_SIMILARITY]
    graph = sp.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, copypasta = connected_components(graph, directed=False)
    keep = np.unique(pairs.ravel())
    order = keep[np.lexsort((pid[keep], t[keep], copypasta[keep]))]
    return {"pid": pid[order], "aid": aid[order], "obj": copypasta[order].astype(np.int64), "t": t[order]}


def detect_coordination(
    con: duckdb.DuckDBPyConnection,
    *,
    window: float = WINDOW_S,
    text_window: float = TEXT_WINDOW_S,
    min_participation: int = MIN_PARTICIPATION,
    percentile: float = PERCENTILE,
    kinds: Sequence[str] = KINDS,
) -> CoordinationResult:
    """Coordination edges and groups from the ``posts`` table.

    Parameters
    ----------
    con : a store connection (temporary tables are created and dropped).
    window : seconds within which two actions on the same object co-act (CooRTweet: 10 s).
    text_window : the same for near-duplicate texts (Pacheco et al. 2021: 30 minutes).
    min_participation : distinct objects a pair must have co-acted on (CooRTweet: 2).
    percentile : quantile in [0, 1] of the edge weights of a kind an edge must reach (CooRTweet's
        ``edge_weight``: 0.5); 0 disables it.
    kinds : any of :data:`KINDS`.

    Returns
    -------
    CoordinationResult with the kept edges (evidence: post ids) and the groups (connected
    components of the kept edges, largest first).

    References
    ----------
    Righetti & Balluff, CooRTweet (2023-2025); Pacheco et al., ICWSM 2021; Broder 1997.
    """
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown coordination kind {unknown[0]!r}; known: {', '.join(KINDS)}")
    if not window >= 0 or not text_window >= 0:
        raise ValueError(f"windows must be >= 0 seconds, not {window!r} and {text_window!r}")
    if int(min_participation) < 1:
        raise ValueError(f"min_participation must be >= 1, not {min_participation!r}")
    if not 0 <= percentile <= 1:
        raise ValueError(f"percentile must be in [0, 1], not {percentile!r}")
    parameters = {"window": window, "text_window": text_window, "min_participation": int(min_participation),
                  "percentile": percentile, "kinds": list(kinds)}
    _account_codes(con)
    if "co_link" in kinds:
        _url_map(con)
    parts = []
    for kind in kinds:
        if kind == "near_duplicate_text":
            pairs = _kind_pairs(_text_actions(con, text_window), text_window)
        else:
            pairs = _kind_pairs(_sorted_actions(con, _ACTIONS[kind]), window)
        parts.append({"kind": np.full(len(pairs["a"]), KINDS.index(kind), np.int64), **pairs})
    try:
        kept = _kept_edges(con, {k: np.concatenate([part[k] for part in parts]) if parts else np.zeros(0, np.int64)
                                 for k in ("kind", "a", "b", "pid_a", "pid_b", "obj")},
                           int(min_participation), percentile)
        con.register("_coord_kept", kept)
        _group_members(con)
        edges = con.sql(
            "SELECT ca.platform, ca.account_id AS a, cb.account_id AS b, list_extract($kinds, k.kind + 1) AS kind,"
            "       k.weight, k.posts_a, k.posts_b, k.evidence "
            "FROM _coord_kept k JOIN _coord_accounts ca ON ca.aid = k.a JOIN _coord_accounts cb ON cb.aid = k.b "
            "ORDER BY ca.platform, a, b, kind", params={"kinds": list(KINDS)}).to_arrow_table()
        groups = con.sql(
            "WITH kinds AS (SELECT g.group_id, list(DISTINCT list_extract($kinds, k.kind + 1) ORDER BY"
            "  list_extract($kinds, k.kind + 1)) AS kinds FROM _coord_kept k JOIN _coord_members g ON g.aid = k.a"
            "  GROUP BY g.group_id) "
            "SELECT g.group_id, c.platform, c.account_id, kinds.kinds FROM _coord_members g"
            " JOIN _coord_accounts c USING (aid) JOIN kinds USING (group_id) ORDER BY g.group_id, c.platform, c.account_id",
            params={"kinds": list(KINDS)}).to_arrow_table()
    finally:
        con.unregister("_coord_kept")
        for table in ("_coord_accounts", "_coord_urls", "_coord_members"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
    return CoordinationResult(edges, groups, parameters)


def _runs(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of a sorted array and how many times each occurs."""
    if not len(sorted_keys):
        return sorted_keys, np.zeros(0, np.int64)
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    return sorted_keys[starts], np.diff(np.r_[starts, len(sorted_keys)])


def _distinct_pairs(key: np.ndarray, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (key, value) rows, sorted by key then value."""
    order = np.lexsort((value, key))
    key, value = key[order], value[order]
    new = np.r_[True, (key[1:] != key[:-1]) | (value[1:] != value[:-1])] if len(key) else np.zeros(0, bool)
    return key[new], value[new]


def _kept_edges(con: duckdb.DuckDBPyConnection, pairs: dict[str, np.ndarray], min_participation: int,
                percentile: float) -> pa.Table:
    """The edges that pass both filters: kind, a, b (account codes), weight, posts_a, posts_b, evidence.

    Counted in numpy on one int64 key per edge (kind, a, b): DuckDB's list aggregates are slow with
    millions of groups, and sorting integer keys is not.
    """
    if len(pairs["a"]) and max(int(pairs["a"].max()), int(pairs["b"].max())) >= 1 << 29:
        raise ValueError("more than 2**29 accounts: coordination keys would overflow")
    key = (pairs["kind"] << 58) | (pairs["a"] << 29) | pairs["b"]
    edge, weight = _runs(_distinct_pairs(key, pairs["obj"])[0])
    posts_a = _runs(_distinct_pairs(key, pairs["pid_a"])[0])[1]
    posts_b = _runs(_distinct_pairs(key, pairs["pid_b"])[0])[1]
    kind = edge >> 58
    keep = weight >= min_participation
    for k in np.unique(kind):
        mine = kind == k
        keep[mine] &= weight[mine] >= np.quantile(weight[mine], percentile, method="inverted_cdf")
    edge, weight, posts_a, posts_b = edge[keep], weight[keep], posts_a[keep], posts_b[keep]
    # evidence: the distinct posts of either side that tie the pair, in post order
    tied_key = np.concatenate([key, key])
    tied_pid = np.concatenate([pairs["pid_a"], pairs["pid_b"]])
    slot = np.minimum(np.searchsorted(edge, tied_key), max(len(edge) - 1, 0))
    inside = edge[slot] == tied_key if len(edge) else np.zeros(len(tied_key), bool)
    tied_key, tied_pid = _distinct_pairs(tied_key[inside], tied_pid[inside])
    offsets = np.r_[0, np.cumsum(_runs(tied_key)[1])].astype(np.int64)
    post_ids = _post_ids(con, tied_pid)
    return pa.table({
        "kind": edge >> 58, "a": (edge >> 29) & ((1 << 29) - 1), "b": edge & ((1 << 29) - 1),
        "weight": weight, "posts_a": posts_a, "posts_b": posts_b,
        "evidence": pa.LargeListArray.from_arrays(pa.array(offsets), post_ids),
    })


def _post_ids(con: duckdb.DuckDBPyConnection, pids: np.ndarray) -> pa.Array:
    """``posts.post_id`` of each row id, in the order given."""
    unique, back = np.unique(pids, return_inverse=True)
    con.register("_coord_pids", pa.table({"pid": unique}))
    try:
        ids = con.sql("SELECT p.post_id FROM _coord_pids x JOIN (SELECT rowid AS pid, post_id FROM posts) p "
                      "USING (pid) ORDER BY pid").to_arrow_table().column("post_id").combine_chunks()
    finally:
        con.unregister("_coord_pids")
    return ids.take(pa.array(back))


def _group_members(con: duckdb.DuckDBPyConnection) -> None:
    """``_coord_members(aid, group_id)``: connected components of the kept edges, largest first
    (ties: the group holding the smaller account code first)."""
    ends = con.sql("SELECT a, b FROM _coord_kept").to_arrow_table()
    a, b = ends.column("a").to_numpy(), ends.column("b").to_numpy()
    nodes, index = np.unique(np.concatenate([a, b]), return_inverse=True)
    n = len(nodes)
    if n:
        graph = sp.coo_matrix((np.ones(len(a)), (index[:len(a)], index[len(a):])), shape=(n, n))
        _, labels = connected_components(graph, directed=False)
        sizes = np.bincount(labels)
        first_member = np.full(len(sizes), n, np.int64)
        np.minimum.at(first_member, labels, np.arange(n))
        rank = np.empty(len(sizes), np.int64)
        rank[np.lexsort((first_member, -sizes))] = np.arange(len(sizes))
        group = rank[labels].astype(np.int32)
    else:
        group = np.zeros(0, np.int32)
    con.register("_coord_members_arrow", pa.table({"aid": nodes.astype(np.int64), "group_id": group}))
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE _coord_members AS SELECT * FROM _coord_members_arrow")
    finally:
        con.unregister("_coord_members_arrow")


def run_coordination(con: duckdb.DuckDBPyConnection, run_id: str, **parameters: Any) -> dict[str, Any]:
    """Detect coordination and write ``coordination_edges``, ``coordination_groups`` and
    ``coordination_group_profiles`` (size, kinds, edges, total weight, first and last tie, evidence posts)."""
    result = detect_coordination(con, **parameters)
    con.register("_coord_edges_arrow", result.edges)
    con.register("_coord_groups_arrow", result.groups)
    try:
        con.execute("CREATE OR REPLACE TABLE coordination_edges AS SELECT ? AS run_id, * FROM _coord_edges_arrow",
                    [run_id])
        con.execute("CREATE OR REPLACE TABLE coordination_groups AS SELECT ? AS run_id, * FROM _coord_groups_arrow",
                    [run_id])
        con.execute(
            "CREATE OR REPLACE TABLE coordination_group_profiles AS "
            "WITH e AS (SELECT g.group_id, c.* FROM coordination_edges c JOIN coordination_groups g"
            "  ON g.platform = c.platform AND g.account_id = c.a),"
            " posts_of AS (SELECT e.group_id, unnest(e.evidence) AS post_id, e.platform FROM e),"
            " times AS (SELECT x.group_id, min(p.created_at) AS first_at, max(p.created_at) AS last_at,"
            "  count(DISTINCT x.post_id) AS evidence_posts"
            "  FROM posts_of x JOIN posts p ON p.platform = x.platform AND p.post_id = x.post_id GROUP BY x.group_id),"
            " sizes AS (SELECT group_id, any_value(platform) AS platform, count(*) AS size, any_value(kinds) AS kinds"
            "  FROM coordination_groups GROUP BY group_id),"
            " weights AS (SELECT group_id, count(*) AS edges, sum(weight) AS total_weight,"
            "  list({'kind': kind, 'edges': n} ORDER BY kind) AS per_kind FROM ("
            "   SELECT group_id, kind, weight, count(*) OVER (PARTITION BY group_id, kind) AS n FROM e)"
            "  GROUP BY group_id) "
            "SELECT ? AS run_id, s.group_id, s.platform, s.size, s.kinds, w.edges, w.total_weight,"
            "       t.evidence_posts, t.first_at, t.last_at "
            "FROM sizes s JOIN weights w USING (group_id) JOIN times t USING (group_id) ORDER BY s.group_id",
            [run_id])
    finally:
        con.unregister("_coord_edges_arrow")
        con.unregister("_coord_groups_arrow")
    return {"edges": result.edges.num_rows, "accounts": result.groups.num_rows,
            "groups": len(set(result.groups.column("group_id").to_pylist()))}


def coordination_listing(con: duckdb.DuckDBPyConnection) -> dict[str, list[dict[str, Any]]]:
    """``confiance coordination --json`` (DESIGN §6): ``{"groups": [...], "edges": [...]}``."""
    if not store.has_table(con, "coordination_edges"):
        return {"groups": [], "edges": []}
    groups: dict[int, dict[str, Any]] = {}
    for gid, platform, account, kinds in con.execute(
            "SELECT group_id, platform, account_id, kinds FROM coordination_groups "
            "ORDER BY group_id, platform, account_id").fetchall():
        group = groups.setdefault(int(gid), {"id": int(gid), "accounts": [], "kinds": list(kinds)})
        group["accounts"].append({"platform": platform, "account_id": account})
    edges = [{"platform": p, "a": a, "b": b, "kind": k, "weight": int(w), "evidence": list(ev)}
             for p, a, b, k, w, ev in con.execute(
                 "SELECT platform, a, b, kind, weight, evidence FROM coordination_edges "
                 "ORDER BY platform, a, b, kind").fetchall()]
    return {"groups": list(groups.values()), "edges": edges}


DEFAULTS = {"window": WINDOW_S, "text_window": TEXT_WINDOW_S, "min_participation": MIN_PARTICIPATION,
            "percentile": PERCENTILE, "kinds": list(KINDS)}


def _step(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    return run_coordination(con, run_id, **DEFAULTS)


register_step(Step(
    "coordination", _step,
    description="coordinated accounts: co-repost, co-link, co-hashtag, co-reply within 10 s, near-duplicate "
                "text within 30 min; pairs repeating >= 2 times, weight >= median; groups = components",
    parameters=DEFAULTS,
))
