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
is proportional to the actions plus the pairs found), in numpy, one kind at a time. Accounts are
numbered once, in name order, and each post row's account code is looked up by row id, so DuckDB
only scans, filters, hashes and numbers the distinct objects of a kind (a hash aggregate); the
sorting is done in numpy. Objects are compared by a 64-bit hash of (platform, object): two objects
would merge only on a hash collision (odds about 3 in 10^8 for a million objects). The pairs of a kind are sorted by edge once (one sort of packed int64 keys); an
edge resting on one pair (most of them) is read off directly, the others are counted by sorting
packed int64 keys (edge, object); the filters are applied to these weights before any post is
counted, so the posts of dropped edges are never sorted, and only the kept edges survive the kind,
in int32 where the values fit. Names are looked up once, for the kept edges, by integer code, and
stored once (dictionary-encoded columns); the group profiles are counted from the same arrays.

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
import pyarrow.compute as pc
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from confiance import store
from confiance.integrity.urls import NEEDS_FOLDING, normalise_url
from confiance.pipeline import Step, register_step, stored_parameters

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
    """Kept edges (one row per platform, a, b, kind) and group membership, as Arrow tables.

    The edges' string columns are dictionary-encoded: an account or an evidence post that recurs
    in many edges is stored once (``to_pylist`` and DuckDB read them as plain strings).
    """

    edges: pa.Table  # platform, a, b, kind, weight, posts_a, posts_b, evidence
    groups: pa.Table  # group_id, platform, account_id, kinds
    profiles: pa.Table  # group_id, platform, size, kinds, edges, total_weight, evidence_posts, first_at, last_at
    parameters: dict[str, Any]


def co_action_pairs(objects: np.ndarray, times: np.ndarray, accounts: np.ndarray,
                    window: float) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs ``(i, j)``, ``i < j``, of actions on the same object within ``window``, by two accounts.

    The arrays must be sorted by (object, time). Action ``i`` is compared with ``i + 1``, ``i + 2``…
    while they share its object and fall inside the window, so the work is proportional to the
    number of actions plus the number of pairs, never to the square of an object's actions.
    Indices are int32 when the actions allow (pairs can outnumber actions many times).
    """
    n = len(objects)
    index = np.int32 if n < 1 << 31 else np.int64
    first: list[np.ndarray] = []
    second: list[np.ndarray] = []
    active = np.arange(n, dtype=index)
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
        return np.zeros(0, index), np.zeros(0, index)
    return np.concatenate(first), np.concatenate(second)


#: The 64-bit hash accounts are matched on when no two share it ({0}: the table's prefix).
_ACCOUNT_HASH = "hash({0}platform, {0}account_id)"


def _account_codes(con: duckdb.DuckDBPyConnection) -> np.ndarray:
    """Number the accounts in (platform, account_id) order (``_coord_accounts``) and return the
    account code of each ``posts`` row id (-1: no account).

    One join over the posts, instead of one per kind: each kind's actions then look their
    accounts up by row id, in numpy. The join is on a 64-bit hash of (platform, account_id), an
    integer key cheaper to match than two strings, when no two accounts share a hash (checked;
    otherwise on the strings).
    """
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _coord_accounts AS "
        f"SELECT row_number() OVER (ORDER BY platform, account_id) - 1 AS aid, {_ACCOUNT_HASH.format('')} AS h,"
        " platform, account_id FROM (SELECT DISTINCT platform, account_id FROM posts WHERE account_id IS NOT NULL)"
    )
    [(unique,)] = con.execute("SELECT count(DISTINCT h) = count(*) FROM _coord_accounts").fetchall()
    match = (f"a.h = {_ACCOUNT_HASH.format('p.')}" if unique
             else "a.platform = p.platform AND a.account_id = p.account_id")
    rows = con.sql(f"SELECT p.rowid AS pid, a.aid FROM posts p JOIN _coord_accounts a ON {match}").to_arrow_table()
    pid, aid = rows.column("pid").to_numpy(), rows.column("aid").to_numpy()
    if len(aid) and int(aid.max()) >= 1 << 31:
        raise ValueError("more than 2**31 accounts: coordination keys would overflow")
    account_of = np.full(int(pid.max()) + 1 if len(pid) else 0, -1, np.int32)
    account_of[pid] = aid
    return account_of


#: URLs that :func:`normalise_url` returns unchanged when they also do not start with ``https://www.``:
#: https, a lower-case host without port, user or trailing dot, an ASCII path (RFC 3986 characters)
#: without trailing slash, no query or fragment. Only the others go through Python (a property test checks the claim).
ALREADY_NORMAL = r"https://[a-z0-9-]+(\.[a-z0-9-]+)*(/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*[A-Za-z0-9._~!$&'()*+,;=:@%-])?"


def _url_map(con: duckdb.DuckDBPyConnection) -> None:
    """Normalise each distinct URL once (far fewer than the posts that carry them)."""
    # the distinct URLs are fetched before they are matched, so that each is matched once: DuckDB
    # pushes a filter below a DISTINCT, even a MATERIALIZED one, and matched every post's URLs
    urls = con.sql("SELECT DISTINCT unnest(urls) AS u FROM posts WHERE kind <> 'repost'").to_arrow_table().column("u")
    unusual = pc.or_(pc.or_(pc.starts_with(urls, "https://www."), pc.match_substring_regex(urls, NEEDS_FOLDING)),
                     pc.invert(pc.match_substring_regex(urls, f"^(?:{ALREADY_NORMAL})$")))
    raw = urls.filter(pc.and_(pc.not_equal(urls, ""), unusual)).to_pylist()
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
        "SELECT l.pid, l.platform, l.account_id, l.created_at, coalesce(m.normalised, l.url) AS object FROM ("
        " SELECT p.rowid AS pid, p.platform, p.account_id, p.created_at, unnest(p.urls) AS url "
        " FROM posts p WHERE p.kind <> 'repost') l LEFT JOIN _coord_urls m ON m.url = l.url"
        " WHERE l.url <> ''"),
}


#: A post that links the same normalised URL twice acts once on it.
_DEDUPLICATE = {"co_link"}


def _by_object_and_time(pid: np.ndarray, aid: np.ndarray, obj: np.ndarray, t: np.ndarray,
                        deduplicate: bool = False) -> dict[str, np.ndarray]:
    """Actions sorted by (object, time, post); ``obj``: integer object codes in ``range(len(obj))``.

    Sorted in numpy rather than by an ``ORDER BY`` in DuckDB, which costs more on a million
    actions: one stable sort of the packed int64 (object code, time), and only the actions that tie
    on both (few: the same object at the same millisecond) are then sorted by post. A stable sort
    because numpy's quicksort slows down on many equal keys.
    ``deduplicate`` drops repeated (post, object) actions, adjacent in that order.
    """
    if not len(pid):
        return {"pid": pid, "aid": aid, "obj": np.zeros(0, np.int64), "t": t}
    t_min = int(t.min())
    span = int(t.max()) - t_min + 1
    if (int(obj.max()) + 1) * span < 1 << 63:
        key = obj * np.int64(span)
        key += t
        key -= t_min
        order = np.argsort(key, kind="stable")
        del key
    else:  # a span in ms too long to pack with the object codes
        order = np.lexsort((t, obj))
    code, t, pid, aid = obj[order], t[order], pid[order], aid[order]
    del order
    tie = np.flatnonzero((code[1:] == code[:-1]) & (t[1:] == t[:-1]))
    if len(tie):
        rows = np.union1d(tie, tie + 1)  # a run of equal (object, time) keeps its rows: reorder them by post
        by_post = rows[np.lexsort((pid[rows], t[rows], code[rows]))]
        pid[rows], aid[rows] = pid[by_post], aid[by_post]
    if deduplicate:
        first = np.r_[True, (code[1:] != code[:-1]) | (t[1:] != t[:-1]) | (pid[1:] != pid[:-1])]
        pid, aid, code, t = pid[first], aid[first], code[first], t[first]
    return {"pid": pid, "aid": aid, "obj": code, "t": t}


def _sorted_actions(con: duckdb.DuckDBPyConnection, kind: str, account_of: np.ndarray) -> dict[str, np.ndarray]:
    """(pid, aid, object code, time in ms) of one kind's actions, sorted by object then time.

    DuckDB numbers the distinct objects (in no particular order: the code only groups), by their
    64-bit hash, in a hash aggregate, which costs less than sorting the hashes in numpy.
    """
    table = con.sql(
        "WITH x AS (SELECT x.pid, hash(x.platform, x.object) AS h, epoch_ms(x.created_at) AS t "
        f" FROM ({_ACTIONS[kind]}) x "
        " WHERE x.account_id IS NOT NULL AND x.created_at IS NOT NULL AND x.object IS NOT NULL), "
        "codes AS (SELECT h, row_number() OVER () - 1 AS obj FROM (SELECT DISTINCT h FROM x)) "
        "SELECT x.pid, codes.obj, x.t FROM x JOIN codes USING (h)"
    ).to_arrow_table()
    pid = table.column("pid").to_numpy()
    return _by_object_and_time(pid, account_of[pid], table.column("obj").to_numpy(), table.column("t").to_numpy(),
                               deduplicate=kind in _DEDUPLICATE)


def _minhash_parameters(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    perms = BANDS * ROWS
    a = rng.integers(1, int(_MERSENNE), perms, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, int(_MERSENNE), perms, dtype=np.uint64)
    return a, b


def _text_actions(con: duckdb.DuckDBPyConnection, window_s: float, account_of: np.ndarray) -> dict[str, np.ndarray]:
    """Near-duplicate texts as actions on a copypasta: a connected set of near-duplicate posts.

    Shingles are hashed by DuckDB and streamed in batches; each batch updates the running minimum
    of every permutation (32-bit MinHash values: 256 bytes a text).
    """
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _coord_texts AS "
        "SELECT row_number() OVER (ORDER BY pid) - 1 AS k, * FROM ("
        " SELECT p.rowid AS pid, hash(p.platform) AS plat, epoch_ms(p.created_at) AS t,"
        "  trim(regexp_replace(regexp_replace(lower(p.text), '(https?://\\S+|[#@]\\S+)', ' ', 'g'),"
        "       '[^\\p{L}\\p{N}]+', ' ', 'g')) AS txt"
        " FROM posts p WHERE p.kind <> 'repost' AND p.account_id IS NOT NULL AND p.text IS NOT NULL"
        " AND p.created_at IS NOT NULL)"
        " WHERE length(txt) >= ?", [MIN_TEXT_CHARS])
    meta = con.sql("SELECT pid, plat, t FROM _coord_texts ORDER BY k").to_arrow_table()
    pid, t = meta.column("pid").to_numpy(), meta.column("t").to_numpy()
    aid = account_of[pid]
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
    return _by_object_and_time(pid[keep], aid[keep], copypasta[keep].astype(np.int64), t[keep])


def _distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (``np.unique`` hashes first in numpy 2, several times slower on
    millions of int64 than a sort)."""
    values = np.sort(values)
    return values[np.r_[True, values[1:] != values[:-1]]] if len(values) else values


def _object_codes(objects: np.ndarray) -> np.ndarray:
    """Dense codes 0, 1, 2… of a sorted array of object hashes (equal hashes, equal codes)."""
    if not len(objects):
        return np.zeros(0, np.int64)
    return np.cumsum(np.r_[False, objects[1:] != objects[:-1]], dtype=np.int64)


@dataclass(frozen=True)
class _KindEdges:
    """The kept edges of one kind (account codes ``a < b``) and their evidence as (edge, row id) pairs."""

    a: np.ndarray
    b: np.ndarray
    weight: np.ndarray
    posts_a: np.ndarray
    posts_b: np.ndarray
    evidence_edge: np.ndarray  # index into the arrays above, ascending
    evidence_pid: np.ndarray  # posts.rowid, ascending within an edge


def _bits(values_range: int) -> int:
    """Bits that hold the integers ``0 .. values_range - 1``."""
    return max(values_range - 1, 1).bit_length()


def _kind_edges(actions: dict[str, np.ndarray], window_s: float, min_participation: int,
                percentile: float) -> _KindEdges:
    """Co-action pairs of one kind counted into edges, filtered by weight, with their evidence.

    The pairs are sorted by edge once: the edge key (the two account codes) and the pair's index
    are packed into one int64 whose plain sort is cheaper than an argsort followed by gathers.
    Most edges rest on a single pair: weight 1, one post on each side, read off directly. Only the
    pairs of the other edges go through distinct counts (sorts of int64 keys packed with shifts,
    edge then value), and the posts are counted only for the edges the filters keep, since the
    filters need only the weights. Pairs are never turned into Python objects, and no table of
    pairs goes to DuckDB.
    """
    i, j = co_action_pairs(actions["obj"], actions["t"], actions["aid"], window_s * 1000.0)
    aid, pid = actions["aid"], actions["pid"]
    # i, j become the actions of the smaller and of the larger account code, in edge order
    first, second = aid[i], aid[j]
    swap = first > second
    i, j = np.where(swap, j, i), np.where(swap, i, j)
    del swap
    account_bits = _bits(int(aid.max()) + 1 if len(aid) else 1)
    key = np.minimum(first, second).astype(np.int64)
    key <<= account_bits
    key |= np.maximum(first, second)
    del first, second
    pair_bits = _bits(len(key))
    if 2 * account_bits + pair_bits <= 63:
        key = (key << pair_bits) | np.arange(len(key), dtype=np.int64)
        key.sort()
        order = key & ((1 << pair_bits) - 1)
        key >>= pair_bits
    else:  # too many accounts and pairs for one word
        order = np.argsort(key)
        key = key[order]
    i, j = i[order], j[order]
    del order
    new = np.r_[True, key[1:] != key[:-1]] if len(key) else np.zeros(0, bool)
    edges = key[new]
    del key
    n_edges = len(edges)
    edge_of_pair = np.cumsum(new) - 1
    del new
    several = np.bincount(edge_of_pair, minlength=n_edges)[edge_of_pair] > 1
    obj = _object_codes(actions["obj"])
    obj_bits = _bits(int(obj[-1]) + 1 if len(obj) else 1)
    post_bits = _bits(int(pid.max()) + 1 if len(pid) else 1)
    if _bits(n_edges) + max(obj_bits, post_bits) > 62:
        raise ValueError("too many edges and posts: coordination keys would overflow")
    weight = np.ones(n_edges, np.int64)
    distinct = _distinct((edge_of_pair[several] << obj_bits) | obj[i[several]]) >> obj_bits
    weight[distinct] = np.bincount(distinct, minlength=n_edges)[distinct]
    del obj, distinct
    keep = weight >= min_participation
    if n_edges and percentile > 0:
        keep &= weight >= np.quantile(weight, percentile, method="inverted_cdf")
    # the posts of the kept edges only, edges renumbered 0, 1, 2… in (a, b) order
    kept_pair = keep[edge_of_pair]
    edge_of_pair = (np.cumsum(keep) - 1)[edge_of_pair[kept_pair]]
    several, pid_a, pid_b = several[kept_pair], pid[i[kept_pair]], pid[j[kept_pair]]
    del i, j, kept_pair
    n_kept = int(keep.sum())
    packed = edge_of_pair << post_bits
    del edge_of_pair
    tied_a, tied_b = _distinct(packed[several] | pid_a[several]), _distinct(packed[several] | pid_b[several])
    posts_a, posts_b = np.ones(n_kept, np.int64), np.ones(n_kept, np.int64)
    edge_a, edge_b = tied_a >> post_bits, tied_b >> post_bits
    posts_a[edge_a] = np.bincount(edge_a, minlength=n_kept)[edge_a]
    posts_b[edge_b] = np.bincount(edge_b, minlength=n_kept)[edge_b]
    del edge_a, edge_b
    # evidence: the distinct posts of either side in post order within an edge. A single-pair
    # edge's two posts (distinct: they belong to different accounts) are already in edge order, so
    # there are two sorted runs, which a stable sort (numpy's timsort for int64) merges
    single = ~several
    low = packed[single] | np.minimum(pid_a[single], pid_b[single])
    high = packed[single] | np.maximum(pid_a[single], pid_b[single])
    del packed, pid_a, pid_b, single
    tied = np.sort(np.concatenate([np.stack([low, high], axis=1).ravel(),
                                   _distinct(np.concatenate([tied_a, tied_b]))]), kind="stable")
    del low, high, tied_a, tied_b
    kept = edges[keep]
    # int32 where the values fit (account codes always do): the edges are kept until the tables are built
    narrow = np.int32 if post_bits < 32 and _bits(n_kept) < 32 else np.int64
    return _KindEdges(a=(kept >> account_bits).astype(np.int32), b=(kept & ((1 << account_bits) - 1)).astype(np.int32),
                      weight=weight[keep], posts_a=posts_a, posts_b=posts_b,
                      evidence_edge=(tied >> post_bits).astype(narrow),
                      evidence_pid=(tied & ((1 << post_bits) - 1)).astype(narrow))


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
    CoordinationResult with the kept edges (evidence: post ids), the groups (connected
    components of the kept edges, largest first) and a profile of each group.

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
    account_of = _account_codes(con)
    try:
        if "co_link" in kinds:
            _url_map(con)
        per_kind = []
        for kind in kinds:
            if kind == "near_duplicate_text":
                actions, kind_window = _text_actions(con, text_window, account_of), text_window
            else:
                actions, kind_window = _sorted_actions(con, kind, account_of), window
            per_kind.append((kind, _kind_edges(actions, kind_window, int(min_participation), percentile)))
            del actions
        per_kind.sort(key=lambda item: item[0])
        accounts = con.sql("SELECT platform, account_id FROM _coord_accounts ORDER BY aid").to_arrow_table()
    finally:
        for table in ("_coord_accounts", "_coord_urls"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
    evidence = _evidence_posts(con, per_kind)
    merged = _merged(per_kind)
    groups = _groups(accounts.num_rows, merged)
    return CoordinationResult(_edge_table(accounts, per_kind, merged, evidence), _group_table(accounts, groups),
                              _profile_table(accounts, per_kind, groups, evidence), parameters)


def _encoded(codes: np.ndarray, values: pa.Array) -> pa.DictionaryArray:
    """``values[codes]`` as a dictionary array (no string is copied; int32 codes are not either)."""
    return pa.DictionaryArray.from_arrays(pa.array(codes), values)


@dataclass(frozen=True)
class _EvidencePosts:
    """The distinct posts cited as evidence, in no particular order: row id, ``post_id``, ``created_at``."""

    pid: np.ndarray
    post_id: pa.Array
    created_us: np.ndarray  # microseconds since the epoch (evidence posts all have a time)
    slot: np.ndarray  # slot[row id] = index into the arrays above

    def index(self, pids: np.ndarray) -> np.ndarray:
        return self.slot[pids]


def _evidence_posts(con: duckdb.DuckDBPyConnection, per_kind: list[tuple[str, _KindEdges]]) -> _EvidencePosts:
    """``post_id`` and ``created_at`` of every row id cited as evidence.

    One streamed scan of (rowid, post_id, created_at) keeps the wanted rows of each batch (looked
    up by row id in a boolean mask: no join, no sort), so memory holds the wanted posts, not the table.
    Posts are keyed by (platform, post_id), so a row id stands for one post.
    """
    size = max([int(edges.evidence_pid.max()) + 1 for _, edges in per_kind if len(edges.evidence_pid)], default=0)
    wanted = np.zeros(size, bool)
    for _, edges in per_kind:
        wanted[edges.evidence_pid] = True
    found_pid, found_id, found_us = [np.zeros(0, np.int64)], [pa.array([], pa.string())], [np.zeros(0, np.int64)]
    for batch in con.sql("SELECT rowid AS pid, post_id, epoch_us(created_at) AS us FROM posts").to_arrow_reader(BATCH):
        pid = batch.column(0).to_numpy()
        keep = pid < size
        keep[keep] = wanted[pid[keep]]
        mask = pa.array(keep)
        found_pid.append(pid[keep])
        found_id.append(batch.column(1).filter(mask))
        found_us.append(batch.column(2).filter(mask).to_numpy())
    del wanted
    pid = np.concatenate(found_pid)
    slot = np.zeros(size, np.int32 if len(pid) < 1 << 31 else np.int64)
    slot[pid] = np.arange(len(pid))
    return _EvidencePosts(pid, pa.concat_arrays(found_id), np.concatenate(found_us), slot)


#: Kind names in the order edges and group kinds are listed (alphabetical, as ``ORDER BY kind``).
_KIND_NAMES = sorted(KINDS)


def _joined(per_kind: list[tuple[str, _KindEdges]], field: str, dtype: type = np.int64) -> np.ndarray:
    return np.concatenate([np.zeros(0, dtype)] + [getattr(edges, field) for _, edges in per_kind])


def _kind_ranks(per_kind: list[tuple[str, _KindEdges]]) -> np.ndarray:
    return np.concatenate([np.zeros(0, np.int32)] + [np.full(len(edges.a), _KIND_NAMES.index(kind), np.int32)
                                                      for kind, edges in per_kind])


@dataclass(frozen=True)
class _Merged:
    """The kept edges of all kinds in (a, b, kind) order; ``order`` indexes the kinds' edges
    concatenated in kind-name order."""

    order: np.ndarray
    a: np.ndarray
    b: np.ndarray
    rank: np.ndarray


def _merged(per_kind: list[tuple[str, _KindEdges]]) -> _Merged:
    a, b, rank = _joined(per_kind, "a", np.int32), _joined(per_kind, "b", np.int32), _kind_ranks(per_kind)
    # per_kind comes in kind-name order and each kind's edges in (a, b) order: a stable sort of
    # the (a, b) keys leaves equal pairs in kind order, and merges the sorted runs quickly
    order = np.argsort((a.astype(np.int64) << 31) | b, kind="stable")
    return _Merged(order, a[order], b[order], rank[order])


def _edge_table(accounts: pa.Table, per_kind: list[tuple[str, _KindEdges]], merged: _Merged,
                evidence: _EvidencePosts) -> pa.Table:
    """Kept edges of every kind ordered by (platform, a, b, kind), with their evidence post ids.

    Account codes follow (platform, account_id) order, so sorting codes sorts the names.
    """
    order = merged.order
    position = np.empty(len(order), np.int64)
    position[order] = np.arange(len(order))
    # evidence lists move with their edge; within an edge they stay in post order (kind by kind,
    # so that no evidence-sized array is concatenated). What moves is each post's slot among the
    # distinct evidence posts, the code of its id in the dictionary-encoded column.
    first = np.cumsum([0] + [len(edges.a) for _, edges in per_kind])
    count = np.concatenate([np.zeros(0, np.int64)] + [np.bincount(edges.evidence_edge, minlength=len(edges.a))
                                                       for _, edges in per_kind])
    start = np.cumsum(count) - count  # where each edge's evidence starts, in input order
    offsets = np.r_[0, np.cumsum(count[order])]
    del count
    slots = np.empty(int(offsets[-1]), evidence.slot.dtype)
    for offset, (_, edges) in zip(first, per_kind):
        if not len(edges.evidence_edge):
            continue
        # a post's place: where its edge's list starts in the output, plus its rank in the list
        # (its index in the kind's evidence less where the edge's list starts there)
        kind = slice(offset, offset + len(edges.a))
        shift = offsets[position[kind]] - (start[kind] - start[offset])
        destination = shift[edges.evidence_edge]
        del shift
        destination += np.arange(len(destination))
        slots[destination] = evidence.index(edges.evidence_pid)
        del destination
    del position, start
    platforms, names = accounts.column("platform").combine_chunks(), accounts.column("account_id").combine_chunks()
    return pa.table({
        "platform": _encoded(merged.a, platforms),
        "a": _encoded(merged.a, names), "b": _encoded(merged.b, names),
        "kind": _encoded(merged.rank, pa.array(_KIND_NAMES, pa.string())),
        "weight": _joined(per_kind, "weight")[order],
        "posts_a": _joined(per_kind, "posts_a")[order], "posts_b": _joined(per_kind, "posts_b")[order],
        "evidence": pa.LargeListArray.from_arrays(pa.array(offsets), _encoded(slots, evidence.post_id)),
    })


def _marked(values: np.ndarray, size: int) -> np.ndarray:
    """Sorted distinct values of integers in ``range(size)``."""
    mask = np.zeros(size, bool)
    mask[values] = True
    return np.flatnonzero(mask)


@dataclass(frozen=True)
class _Groups:
    """Connected components of the kept edges: the account codes in an edge, ascending, and the
    group of each (0 = the largest), with each group's kinds."""

    nodes: np.ndarray
    group: np.ndarray
    kinds: pa.LargeListArray


def _group_of_accounts(nodes: np.ndarray, group: np.ndarray, n_accounts: int) -> np.ndarray:
    """Group of each account code (-1: in no group)."""
    group_of = np.full(n_accounts, -1, np.int64)
    group_of[nodes] = group
    return group_of


def _groups(n_accounts: int, merged: _Merged) -> _Groups:
    """Groups: connected components of the kept edges, largest first (ties: the group holding the
    smaller account code first), each with the kinds of its edges, by name.

    The edges, sorted by (a, b), are the graph's compressed rows as they stand (no COO conversion).
    """
    index = np.int32 if max(n_accounts, len(merged.a)) < 1 << 31 else np.int64
    indptr = np.r_[0, np.cumsum(np.bincount(merged.a, minlength=n_accounts))].astype(index)
    graph = sp.csr_matrix((np.ones(len(merged.a)), merged.b.astype(index), indptr), shape=(n_accounts, n_accounts))
    _, component = connected_components(graph, directed=False)
    del graph, indptr
    # distinct values by marking a mask over their range (account codes, components, group × kind): no sort
    in_edge = np.zeros(n_accounts, bool)
    in_edge[merged.a] = True
    in_edge[merged.b] = True
    nodes = np.flatnonzero(in_edge)
    used = _marked(component[nodes], n_accounts)
    dense = np.zeros(n_accounts, np.int64)
    dense[used] = np.arange(len(used))
    labels = dense[component[nodes]]
    sizes = np.bincount(labels)
    first_member = np.full(len(sizes), len(nodes), np.int64)
    np.minimum.at(first_member, labels, np.arange(len(nodes)))
    group_rank = np.empty(len(sizes), np.int64)
    group_rank[np.lexsort((first_member, -sizes))] = np.arange(len(sizes))
    group = group_rank[labels]
    group_kind = _marked(_group_of_accounts(nodes, group, n_accounts)[merged.a] * len(_KIND_NAMES) + merged.rank,
                         len(sizes) * len(_KIND_NAMES))
    kinds = pa.LargeListArray.from_arrays(
        pa.array(np.r_[0, np.cumsum(np.bincount(group_kind // len(_KIND_NAMES), minlength=len(sizes)))]),
        pa.array(_KIND_NAMES, pa.string()).take(pa.array(group_kind % len(_KIND_NAMES))))
    return _Groups(nodes, group, kinds)


def _group_table(accounts: pa.Table, groups: _Groups) -> pa.Table:
    """One row per grouped account, by group then (platform, account_id), with its group's kinds."""
    members = np.lexsort((groups.nodes, groups.group))
    codes = pa.array(groups.nodes[members])
    return pa.table({
        "group_id": pa.array(groups.group[members].astype(np.int32)),
        "platform": accounts.column("platform").take(codes),
        "account_id": accounts.column("account_id").take(codes),
        "kinds": groups.kinds.take(pa.array(groups.group[members])),
    })


def _profile_table(accounts: pa.Table, per_kind: list[tuple[str, _KindEdges]], groups: _Groups,
                   evidence: _EvidencePosts) -> pa.Table:
    """One row per group: platform, size, kinds, edges, total weight, distinct evidence posts, and
    the times of the first and last of them.

    Counted in numpy from the arrays the edges were built from: an edge lies inside one group (its
    two accounts), and so does each of its evidence posts (a post of one of them), so every count
    is a ``bincount`` by group and no table is joined.
    """
    n_groups = len(groups.kinds)
    group_of = _group_of_accounts(groups.nodes, groups.group, accounts.num_rows)
    first_member = np.full(n_groups, accounts.num_rows, np.int64)
    np.minimum.at(first_member, groups.group, groups.nodes)
    edges, total_weight = np.zeros(n_groups, np.int64), np.zeros(n_groups, np.int64)
    group_of_post = np.full(len(evidence.pid), -1, np.int64)
    for _, kind_edges in per_kind:
        group = group_of[kind_edges.a]
        edges += np.bincount(group, minlength=n_groups)
        np.add.at(total_weight, group, kind_edges.weight)
        group_of_post[evidence.index(kind_edges.evidence_pid)] = group[kind_edges.evidence_edge]
    first_us = np.full(n_groups, np.iinfo(np.int64).max, np.int64)
    last_us = np.full(n_groups, np.iinfo(np.int64).min, np.int64)
    np.minimum.at(first_us, group_of_post, evidence.created_us)
    np.maximum.at(last_us, group_of_post, evidence.created_us)
    moment = pa.timestamp("us", tz="UTC")
    return pa.table({
        "group_id": pa.array(np.arange(n_groups, dtype=np.int32)),
        "platform": accounts.column("platform").take(pa.array(first_member)),
        "size": np.bincount(groups.group, minlength=n_groups),
        "kinds": groups.kinds,
        "edges": edges,
        "total_weight": total_weight,
        "evidence_posts": np.bincount(group_of_post, minlength=n_groups),
        "first_at": pa.array(first_us).cast(moment),
        "last_at": pa.array(last_us).cast(moment),
    })


def run_coordination(con: duckdb.DuckDBPyConnection, run_id: str, **parameters: Any) -> dict[str, Any]:
    """Detect coordination and write ``coordination_edges``, ``coordination_groups`` and
    ``coordination_group_profiles`` (size, kinds, edges, total weight, first and last tie, evidence posts)."""
    result = detect_coordination(con, **parameters)
    for name, table in (("edges", result.edges), ("groups", result.groups), ("profiles", result.profiles)):
        con.register(f"_coord_{name}_arrow", table)
    try:
        con.execute("CREATE OR REPLACE TABLE coordination_edges AS SELECT ? AS run_id, * FROM _coord_edges_arrow",
                    [run_id])
        con.execute("CREATE OR REPLACE TABLE coordination_groups AS SELECT ? AS run_id, * FROM _coord_groups_arrow",
                    [run_id])
        con.execute(
            "CREATE OR REPLACE TABLE coordination_group_profiles AS "
            "SELECT ? AS run_id, group_id, platform, size, kinds, edges, total_weight::HUGEINT AS total_weight,"
            " evidence_posts, first_at, last_at FROM _coord_profiles_arrow", [run_id])
    finally:
        for name in ("edges", "groups", "profiles"):
            con.unregister(f"_coord_{name}_arrow")
    return {"edges": result.edges.num_rows, "accounts": result.groups.num_rows, "groups": result.profiles.num_rows}


def coordination_listing(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """``confiance coordination --json`` (DESIGN §6): ``{"groups": [...], "edges": [...]}``, plus the
    ``parameters`` of the run that found them (a later run keeps the options it was not given, so the
    reader must see which window, participation and percentile the edges rest on)."""
    if not store.has_table(con, "coordination_edges"):
        return {"groups": [], "edges": [], "parameters": None}
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
    return {"groups": list(groups.values()), "edges": edges,
            "parameters": stored_parameters(con, "coordination_edges", "coordination")}


DEFAULTS = {"window": WINDOW_S, "text_window": TEXT_WINDOW_S, "min_participation": MIN_PARTICIPATION,
            "percentile": PERCENTILE, "kinds": list(KINDS)}


def _step(con: duckdb.DuckDBPyConnection, run_id: str, **kept: Any) -> dict[str, Any]:
    return run_coordination(con, run_id, **{**DEFAULTS, **kept})


register_step(Step(
    "coordination", _step,
    description="coordinated accounts: co-repost, co-link, co-hashtag, co-reply within 10 s, near-duplicate "
                "text within 30 min; pairs repeating >= 2 times, weight >= median; groups = components",
    parameters=DEFAULTS, kept=tuple(DEFAULTS),
))
