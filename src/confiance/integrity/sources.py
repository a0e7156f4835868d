"""Source credibility: which domains the corpus links, how credible they are, and how each URL spread.

Three parts, one step (``sources``):

Domain credibility
    A list of ``domain, rating, source`` rows. The default list ships with the package
    (``integrity/data/domain_credibility.csv``): 469 domains that OpenSources (Zimdars et al.,
    2016-2017, CC BY 4.0) tagged *fake*, *conspiracy* or *junk science*, all rated ``low``. It is
    small, English-language, US-centred and dated: it knows no French site and nothing after 2017
    (lists such as Lin et al. 2023, Iffy+, MBFC, NewsGuard or Le Monde's Décodex could not be
    bundled: no licence that allows it, or no offline copy). Users add their own list with
    :func:`read_credibility` (``confiance sources --credibility FILE.csv``); their rows override the
    default ones and are kept in the store, so a later ``confiance analyze`` uses them again.
    A rating is ``low``, ``mixed`` or ``high``, or a score in [0, 1] (0 = not credible, as in
    Lin et al. 2023), banded at :data:`LOW_BELOW` and :data:`HIGH_FROM`. A host matches its own
    entry or the nearest parent domain's (``a.b.example`` → ``b.example`` → ``example``).

URL shares
    Every link of every post, normalised by :func:`confiance.integrity.urls.normalise_url`. Short
    links (``t.co``, ``bit.ly``…) are expanded offline from the pairs the posts themselves carry
    (:func:`confiance.integrity.urls.expansion_pairs`); an unexpanded short link stays as it is and
    is marked ``shortened``. A repost that carries no link of its own shares its parent's links; a
    repost known only as an interaction (Bluesky repost events) is a share too.

Cascades
    The shares of one URL form a forest: a share that reposts, quotes or replies to another share
    of the same URL hangs under it, every other share is a root (an independent sharer). Per URL:
    who shared it first, reach (distinct accounts, sum of their known follower counts, NULL when none is
    known, reposts counted by the platform), trees, size, depth, largest breadth, and the structural virality of its largest tree
    (Goel et al. 2016: the mean distance between two nodes of the tree; 1 for a single broadcast
    hop, large for a long person-to-person chain). X's API attributes every retweet to the original
    tweet, so retweet trees are stars there; depth comes from quotes and replies. Twitter15/16 trees
    (Ma et al. 2017) are read with :func:`read_twitter_tree` for a real test bed.

References
----------
Zimdars, M. et al. (2016-2017). OpenSources: professionally curated lists of online sources.
github.com/OpenSourcesGroup/opensources, CC BY 4.0.
Lin, H., Lasser, J., Lewandowsky, S., Cole, R., Gully, A., Rand, D. G., Pennycook, G. (2023). High level
of correspondence across different news domain quality rating sets. PNAS Nexus 2(9), pgad286.
Goel, S., Anderson, A., Hofman, J., Watts, D. J. (2016). The structural virality of online diffusion.
Management Science 62(1), 180-196.
Ma, J., Gao, W., Wong, K.-F. (2017). Detect rumors in microblog posts using propagation structure via
kernel learning. ACL 2017.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import duckdb
import numpy as np
import pyarrow as pa

from confiance.errors import ConfianceError, IngestError
from confiance.integrity.urls import domain_of_url, expansion_pairs, is_shortened, normalise_url
from confiance.pipeline import Step, register_step
from confiance.store import has_table, repost_post_of

__all__ = [
    "DomainRating",
    "Forest",
    "TreeFile",
    "credibility_index",
    "default_credibility",
    "forest",
    "match_domain",
    "parse_credibility",
    "read_credibility",
    "read_twitter_tree",
    "run_sources",
    "sources_summary",
    "structural_virality",
    "tree_measures",
]

RATINGS = ("low", "mixed", "high")
#: Score bands for numeric ratings: below 0.4 low, from 0.6 high (NewsGuard's 60/100 line, rescaled).
LOW_BELOW, HIGH_FROM = 0.4, 0.6
DEFAULT_LIST = "domain_credibility.csv"
#: Post ids kept as evidence per cascade and per account.
EVIDENCE_POSTS = 20
_DOMAIN = re.compile(r"^(?:[\w-]+\.)+[\w-]+$|^\d{1,3}(?:\.\d{1,3}){3}$")
BATCH_ROWS = 50_000
_TREE_EDGE = re.compile(r"^\['([^']*)', '([^']*)', '([^']*)'\]->\['([^']*)', '([^']*)', '([^']*)'\]$")


# --------------------------------------------------------------------------- credibility lists


@dataclass(frozen=True)
class DomainRating:
    domain: str
    rating: str
    score: float | None
    source: str
    origin: str  # "default" (shipped list) or "user"


def _domain_cell(value: str) -> str:
    value = value.strip().lower()
    if "://" in value:
        value = domain_of_url(value)
    value = value.split("/", 1)[0].rstrip(".")
    return value[4:] if value.startswith("www.") else value


def _rating_cell(value: str) -> tuple[str, float | None]:
    text = value.strip().lower()
    if text in RATINGS:
        return text, None
    try:
        score = float(re.sub(r"^(\d*),(\d+)$", r"\1.\2", text))  # a French decimal comma: 0,3
    except ValueError:
        raise ValueError(f"rating {value.strip()!r} is not low, mixed, high or a score in [0, 1]") from None
    if not 0.0 <= score <= 1.0:
        raise ValueError(f"rating {value.strip()!r} is not low, mixed, high or a score in [0, 1]")
    return ("low" if score < LOW_BELOW else "high" if score >= HIGH_FROM else "mixed"), score


def parse_credibility(text: str, *, name: str, origin: str = "user") -> list[DomainRating]:
    """Rows of a credibility CSV (header with ``domain`` and ``rating``; ``source`` optional).

    Cells are separated by commas, or by semicolons or tabs when the header uses them (spreadsheet
    exports in a French locale). Lines starting with ``#`` are comments. A cell may hold a URL instead of a domain (its host is
    kept). Raises :class:`IngestError` naming ``name`` and the line for a missing column, an empty
    or malformed domain, an unknown rating or a domain listed twice.
    """
    lines = [(i, line) for i, line in enumerate(text.splitlines(), 1) if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise IngestError(name, None, "no header: expected the columns domain,rating[,source]")
    header_no, header = lines[0]
    # a spreadsheet saved in a French (or German…) locale separates cells with ';', some with tabs
    delimiter = next((d for d in (",", ";", "\t") if d in header), ",")
    columns = [c.strip().lower() for c in next(csv.reader([header], delimiter=delimiter))]
    missing = [c for c in ("domain", "rating") if c not in columns]
    if missing:
        raise IngestError(name, header_no, f"missing column(s) {', '.join(missing)}; found {', '.join(columns)}")
    position = {c: columns.index(c) for c in ("domain", "rating", "source") if c in columns}
    rows: list[DomainRating] = []
    first_line: dict[str, int] = {}
    for line_no, cells in zip((n for n, _ in lines[1:]), csv.reader((line for _, line in lines[1:]), delimiter=delimiter)):
        def cell(column: str) -> str:
            i = position.get(column)
            return cells[i] if i is not None and i < len(cells) else ""

        domain = _domain_cell(cell("domain"))
        if not domain or not _DOMAIN.match(domain):
            raise IngestError(name, line_no, f"domain {cell('domain').strip()!r} is not a domain name")
        if domain in first_line:
            raise IngestError(name, line_no, f"domain {domain} is listed twice (first at line {first_line[domain]})")
        try:
            rating, score = _rating_cell(cell("rating"))
        except ValueError as exc:
            raise IngestError(name, line_no, str(exc)) from None
        first_line[domain] = line_no
        rows.append(DomainRating(domain, rating, score, cell("source").strip() or Path(name).name, origin))
    return rows


def read_credibility(path: Path | str) -> list[DomainRating]:
    """A user-supplied credibility CSV (see :func:`parse_credibility`), UTF-8 with or without BOM."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise IngestError(str(path), None, f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise IngestError(str(path), None, f"not UTF-8 text (byte {exc.start})") from None
    return parse_credibility(text, name=str(path), origin="user")


def default_credibility() -> list[DomainRating]:
    """The list shipped with the package (OpenSources-derived; see the module docstring)."""
    text = resources.files("confiance.integrity").joinpath("data", DEFAULT_LIST).read_text(encoding="utf-8")
    return parse_credibility(text, name=DEFAULT_LIST, origin="default")


def credibility_index(*lists: Iterable[DomainRating]) -> dict[str, DomainRating]:
    """One entry per domain; a later list overrides an earlier one."""
    index: dict[str, DomainRating] = {}
    for rows in lists:
        for row in rows:
            index[row.domain] = row
    return index


def match_domain(domain: str, index: Mapping[str, DomainRating]) -> DomainRating | None:
    """The entry of ``domain`` or of its nearest listed parent domain (never a bare TLD)."""
    labels = domain.lower().rstrip(".").split(".")
    for start in range(len(labels) - 1):
        entry = index.get(".".join(labels[start:]))
        if entry is not None:
            return entry
    return None


# --------------------------------------------------------------------------- trees


@dataclass
class Forest:
    """Per node: its parent after cycles are cut (-1: root), depth (roots 0), root and subtree size."""

    parent: np.ndarray
    depth: np.ndarray
    root: np.ndarray
    subtree: np.ndarray


def forest(parent: Sequence[int] | np.ndarray) -> Forest:
    """Depth, root and subtree size of every node of a forest given by parent indices (-1: root).

    A link that would close a cycle is cut (the node becomes a root), so any input gives a forest.
    Vectorised level by level: cost O(n × depth).
    """
    parent = np.asarray(parent, dtype=np.int64).copy()
    n = len(parent)
    depth = np.full(n, -1, dtype=np.int64)
    root = np.full(n, -1, dtype=np.int64)
    frontier = np.flatnonzero(parent < 0)
    while True:
        depth[frontier] = 0
        root[frontier] = frontier
        level = 0
        while len(frontier):
            children = np.flatnonzero(np.isin(parent, frontier) & (depth < 0))
            depth[children] = level + 1
            root[children] = root[parent[children]]
            frontier = children
            level += 1
        unreached = np.flatnonzero(depth < 0)
        if len(unreached) == 0:
            break
        frontier = unreached[:1]  # on a cycle: cut its link to make it a root
        parent[frontier] = -1
    subtree = np.ones(n, dtype=np.int64)
    for d in range(int(depth.max(initial=0)), 0, -1):
        nodes = np.flatnonzero(depth == d)
        np.add.at(subtree, parent[nodes], subtree[nodes])
    return Forest(parent, depth, root, subtree)


def structural_virality(parent: Sequence[int] | np.ndarray) -> float | None:
    """Mean distance between two distinct nodes of one tree (Goel et al. 2016); None below 2 nodes.

    Each edge (v, parent v) lies on the path of every pair split by it, ``s (n - s)`` unordered pairs
    where ``s`` is the subtree size of v, so the Wiener index is ``Σ s (n - s)`` and the mean over
    the ``n (n - 1) / 2`` pairs follows in O(n).

    References
    ----------
    Goel, S., Anderson, A., Hofman, J., Watts, D. J. (2016). The structural virality of online
    diffusion. Management Science 62(1), 180-196.
    """
    parent = np.asarray(parent, dtype=np.int64)
    n = len(parent)
    if n < 2:
        return None
    if int((parent < 0).sum()) != 1:
        raise ValueError(f"structural virality needs one tree; got {int((parent < 0).sum())} roots")
    f = forest(parent)
    s = f.subtree[f.parent >= 0].astype(np.float64)
    return float(2.0 * (s * (n - s)).sum() / (n * (n - 1)))


def tree_measures(parent: Sequence[int] | np.ndarray, *, root: int | None = None) -> dict[str, Any]:
    """Size, trees, depth and largest breadth of a forest, and the structural virality of one tree.

    The tree is the one of node ``root`` when given (then size, depth and breadth are that tree's
    too), else the largest tree (ties: the one whose root has the lowest index).
    """
    if len(parent) == 0:
        return {"size": 0, "trees": 0, "depth": None, "max_breadth": None, "structural_virality": None}
    f = forest(parent)
    parent = f.parent
    roots, sizes = np.unique(f.root, return_counts=True)
    largest = roots[np.argmax(sizes)] if root is None else f.root[root]  # np.unique sorts: ties go to the lowest index
    members = np.flatnonzero(f.root == largest)
    local = np.full(len(parent), -1, dtype=np.int64)
    local[members] = np.arange(len(members))
    sub_parent = np.where(parent[members] >= 0, local[np.maximum(parent[members], 0)], -1)
    sub_parent[members == largest] = -1
    depth = f.depth if root is None else f.depth[members]
    return {
        "size": int(len(parent) if root is None else len(members)),
        "trees": int(len(roots) if root is None else 1),
        "depth": int(depth.max()),
        "max_breadth": int(np.bincount(depth).max()),
        "structural_virality": structural_virality(sub_parent),
    }


@dataclass
class TreeFile:
    """One Twitter15/16 tree file as a forest: node keys ``(uid, tweet_id, delay_minutes)``."""

    nodes: list[tuple[str, str, float]]
    parent: np.ndarray
    root: int
    skipped: int  # lines dropped: self-loops, a second parent for a node, a link to the root


def read_twitter_tree(lines: Iterable[str], *, name: str = "tree") -> TreeFile:
    """Turn a Twitter15/16 tree file into parent links (a reader for the test bed, not an ingest format).

    Each line is ``['uid', 'tweet_id', 'delay']->['uid', 'tweet_id', 'delay']`` (parent → child);
    the line whose parent is ``ROOT`` names the source tweet. A node is the whole triple. The data
    holds self-loops and nodes with two parents: the first parent in file order is kept, the other
    lines are counted in ``skipped``. A parent never seen as a child becomes a root of its own.
    """
    index: dict[tuple[str, str, float], int] = {}
    parent: list[int] = []
    root = -1
    skipped = 0

    def node(key: tuple[str, str, float]) -> int:
        if key not in index:
            index[key] = len(parent)
            parent.append(-1)
        return index[key]

    for line_no, line in enumerate(lines, 1):
        line = line.strip()
        if not line:
            continue
        match = _TREE_EDGE.match(line)
        try:
            if match is None:
                raise ValueError
            a = (match[1], match[2], float(match[3]))
            b = (match[4], match[5], float(match[6]))
        except ValueError:
            raise IngestError(name, line_no, "not a ['uid', 'tweet_id', 'delay']->[...] edge") from None
        if a[0] == "ROOT":
            if root >= 0:
                skipped += 1
                continue
            root = node(b)
            continue
        if a == b:
            skipped += 1
            continue
        child = node(b)
        up = node(a)
        if child == root or parent[child] >= 0 or _is_ancestor(parent, child, up):
            skipped += 1
            continue
        parent[child] = up
    if root < 0:
        raise IngestError(name, None, "no ROOT line: not a Twitter15/16 tree file")
    return TreeFile(list(index), np.asarray(parent, dtype=np.int64), root, skipped)


def _is_ancestor(parent: list[int], node: int, of: int) -> bool:
    """True when ``node`` is ``of`` or one of its ancestors (the link would close a cycle)."""
    while of >= 0:
        if of == node:
            return True
        of = parent[of]
    return False


# --------------------------------------------------------------------------- store: shares


def _collect_links(con: duckdb.DuckDBPyConnection) -> tuple[pa.Table, dict[str, str], int]:
    """(platform, post_id, url, shortened) for every link of every post, and the expansions learnt.

    Streams the posts in record batches; returns the rows before expansion, the short → expanded
    map (the most frequent expansion of each short link) and the number of short links that posts
    expanded in more than one way.
    """
    reader = con.sql(
        "SELECT platform, post_id, text, urls FROM posts WHERE len(coalesce(urls, [])) > 0"
    ).to_arrow_reader(BATCH_ROWS)
    platforms: list[str] = []
    post_ids: list[str] = []
    links: list[str] = []
    shortened: list[bool] = []
    seen: dict[str, Counter] = {}
    for batch in reader:
        columns = batch.to_pydict()
        for platform, post_id, text, urls in zip(columns["platform"], columns["post_id"], columns["text"], columns["urls"]):
            for short, expanded in expansion_pairs(text, urls):
                seen.setdefault(short, Counter())[expanded] += 1
            for url in dict.fromkeys(normalise_url(u) for u in urls if u):
                platforms.append(platform)
                post_ids.append(post_id)
                links.append(url)
                shortened.append(is_shortened(url))
    expansions = {short: sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] for short, counts in seen.items()}
    conflicts = sum(1 for counts in seen.values() if len(counts) > 1)
    table = pa.table({"platform": pa.array(platforms, pa.string()), "post_id": pa.array(post_ids, pa.string()),
                      "url": pa.array(links, pa.string()), "shortened": pa.array(shortened, pa.bool_())})
    return table, expansions, conflicts


def _write_shares(con: duckdb.DuckDBPyConnection, run_id: str, index: Mapping[str, DomainRating]) -> dict[str, int]:
    links, expansions, conflicts = _collect_links(con)
    rated_domains = sorted({d for d in (domain_of_url(u) for u in set(links.column("url").to_pylist())) if d}
                           | {domain_of_url(u) for u in expansions.values()})
    matches = [(d, match_domain(d, index)) for d in rated_domains]
    con.register("_src_links", links)
    con.register("_src_expansions", pa.table({"short": pa.array(list(expansions), pa.string()),
                                              "expanded": pa.array(list(expansions.values()), pa.string())}))
    con.register("_src_ratings", pa.table({
        "domain": pa.array([d for d, _ in matches], pa.string()),
        "rated_domain": pa.array([m.domain if m else None for _, m in matches], pa.string()),
        "rating": pa.array([m.rating if m else None for _, m in matches], pa.string()),
        "credibility_source": pa.array([m.source if m else None for _, m in matches], pa.string()),
    }))
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _src_own AS "
            "SELECT DISTINCT l.platform, l.post_id, coalesce(e.expanded, l.url) AS url, l.shortened, "
            "       e.expanded IS NOT NULL AS expanded "
            "FROM _src_links l LEFT JOIN _src_expansions e ON l.shortened AND e.short = l.url"
        )
        # a post listing both a short link and its expansion shares the page once
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _src_own AS SELECT platform, post_id, url, bool_or(shortened) AS shortened, "
            "bool_or(expanded) AS expanded FROM _src_own GROUP BY ALL"
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _src_shares AS "
            "SELECT o.platform, o.post_id AS share_id, o.post_id, p.account_id, p.created_at, p.kind, p.parent_post_id, "
            "       o.url, o.shortened, o.expanded "
            "FROM _src_own o JOIN posts p ON p.platform = o.platform AND p.post_id = o.post_id "
            "UNION ALL "
            # reposts without links of their own share their parent's links
            "SELECT r.platform, r.post_id, r.post_id, r.account_id, r.created_at, 'repost', r.parent_post_id, "
            "       o.url, o.shortened, o.expanded "
            "FROM posts r JOIN _src_own o ON o.platform = r.platform AND o.post_id = r.parent_post_id "
            "WHERE r.kind = 'repost' AND len(coalesce(r.urls, [])) = 0 "
            "UNION ALL "
            # reposts known only as interactions (their post_id is the reposted post, not a post by src)
            "SELECT i.platform, i.post_id || '#repost-by-' || i.src, NULL, i.src, i.created_at, 'repost', i.post_id, "
            "       o.url, o.shortened, o.expanded "
            "FROM interactions i JOIN _src_own o ON o.platform = i.platform AND o.post_id = i.post_id "
            f"WHERE i.kind = 'repost' AND NOT EXISTS (SELECT 1 FROM posts p WHERE {repost_post_of('i', 'p')})"
        )
        con.execute(
            "CREATE OR REPLACE TABLE url_shares AS "
            "SELECT ? AS run_id, s.platform, s.share_id, s.post_id, s.account_id, s.created_at, s.kind, "
            "       CASE WHEN s.kind IN ('repost', 'quote', 'reply') THEN par.share_id END AS parent_share_id, "
            "       s.url, d.domain, s.shortened, s.expanded, d.rating, d.rated_domain, d.credibility_source "
            "FROM _src_shares s "
            "LEFT JOIN _src_shares par ON par.platform = s.platform AND par.url = s.url AND par.post_id = s.parent_post_id "
            "  AND par.share_id = par.post_id "
            "LEFT JOIN _src_ratings d ON d.domain = regexp_extract(s.url, '^https?://([^/:?#]+)', 1) "
            "ORDER BY s.platform, s.url, s.created_at NULLS LAST, s.share_id",
            [run_id],
        )
    finally:
        for name in ("_src_links", "_src_expansions", "_src_ratings"):
            con.unregister(name)
        con.execute("DROP TABLE IF EXISTS _src_own")
        con.execute("DROP TABLE IF EXISTS _src_shares")
    return {"expansions": len(expansions), "expansion_conflicts": conflicts}


def _write_cascades(con: duckdb.DuckDBPyConnection, run_id: str) -> int:
    shares = con.sql(
        "SELECT s.platform, s.url, s.share_id, s.parent_share_id FROM url_shares s "
        "ORDER BY s.platform, s.url, s.created_at NULLS LAST, s.share_id"
    ).to_arrow_table()
    platform = shares.column("platform").to_pylist()
    url = shares.column("url").to_pylist()
    share_id = shares.column("share_id").to_pylist()
    parent_id = shares.column("parent_share_id").to_pylist()
    keys, sizes, trees, depths, breadths, virality = [], [], [], [], [], []
    start = 0
    n = len(share_id)
    while start < n:
        end = start
        while end < n and platform[end] == platform[start] and url[end] == url[start]:
            end += 1
        local = {share_id[i]: i - start for i in range(start, end)}
        parent = np.array([local.get(parent_id[i], -1) if parent_id[i] is not None else -1 for i in range(start, end)],
                          dtype=np.int64)
        m = tree_measures(parent)
        keys.append((platform[start], url[start]))
        sizes.append(m["size"])
        trees.append(m["trees"])
        depths.append(m["depth"])
        breadths.append(m["max_breadth"])
        virality.append(m["structural_virality"])
        start = end
    con.register("_src_measures", pa.table({
        "platform": pa.array([k[0] for k in keys], pa.string()), "url": pa.array([k[1] for k in keys], pa.string()),
        "size": pa.array(sizes, pa.int64()), "trees": pa.array(trees, pa.int64()),
        "depth": pa.array(depths, pa.int64()), "max_breadth": pa.array(breadths, pa.int64()),
        "structural_virality": pa.array(virality, pa.float64()),
    }))
    try:
        con.execute(
            "CREATE OR REPLACE TABLE url_cascades AS "
            "WITH acc AS (SELECT platform, account_id, max(followers) AS followers FROM accounts GROUP BY ALL),"
            " agg AS ("
            "  SELECT s.platform, s.url, any_value(s.domain) AS domain, any_value(s.rating) AS rating,"
            "         arg_min(s.share_id, (s.created_at, s.share_id)) AS first_share_id,"
            "         arg_min(s.account_id, (s.created_at, s.share_id)) AS first_account_id,"
            "         min(s.created_at) AS first_at, max(s.created_at) AS last_at,"
            "         count(*) FILTER (WHERE s.kind <> 'repost') AS posts,"
            "         count(*) FILTER (WHERE s.kind = 'repost') AS reposts,"
            "         count(DISTINCT s.account_id) AS accounts,"
            "         list(s.share_id ORDER BY s.created_at NULLS LAST, s.share_id)[1:?] AS evidence"
            "  FROM url_shares s GROUP BY ALL),"
            " reach AS ("
            "  SELECT u.platform, u.url, sum(a.followers) AS followers_reach FROM ("
            "    SELECT DISTINCT platform, url, account_id FROM url_shares) u"
            "  LEFT JOIN acc a ON a.platform = u.platform AND a.account_id = u.account_id GROUP BY ALL),"
            " counted AS ("
            "  SELECT s.platform, s.url, sum(coalesce(p.reposts, 0)) AS platform_reposts FROM url_shares s"
            "  JOIN posts p ON p.platform = s.platform AND p.post_id = s.post_id WHERE s.kind <> 'repost' GROUP BY ALL) "
            "SELECT ? AS run_id, g.platform, g.url, g.domain, g.rating, g.first_share_id, g.first_account_id,"
            "       fa.handle AS first_handle, g.first_at, g.last_at, g.posts, g.reposts, g.accounts,"
            # a sum of the known follower counts; NULL when no sharer's count is known (Bluesky events
            # carry none): unknown is not 0
            "       r.followers_reach, coalesce(c.platform_reposts, 0) AS platform_reposts,"
            "       m.size, m.trees, m.depth, m.max_breadth, m.structural_virality, g.evidence "
            "FROM agg g JOIN _src_measures m USING (platform, url) "
            "LEFT JOIN reach r USING (platform, url) LEFT JOIN counted c USING (platform, url) "
            "LEFT JOIN (SELECT platform, account_id, any_value(handle) AS handle FROM accounts GROUP BY ALL) fa"
            "  ON fa.platform = g.platform AND fa.account_id = g.first_account_id "
            "ORDER BY g.accounts DESC, m.size DESC, g.platform, g.url",
            [EVIDENCE_POSTS, run_id],
        )
    finally:
        con.unregister("_src_measures")
    return len(keys)


def _write_account_sources(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Per account: links it wrote (posts, replies, quotes) and how many go to low-credibility domains.

    Reposted links are counted apart (``reposted_links``, ``reposted_low_credibility``): the share
    describes what an account writes itself.
    """
    con.execute(
        "CREATE OR REPLACE TABLE account_sources AS "
        "SELECT ? AS run_id, platform, account_id,"
        "       count(*) FILTER (WHERE kind <> 'repost') AS links,"
        "       count(*) FILTER (WHERE kind <> 'repost' AND rating IS NOT NULL) AS rated_links,"
        "       count(*) FILTER (WHERE kind <> 'repost' AND rating = 'low') AS low_credibility_links,"
        "       CASE WHEN count(*) FILTER (WHERE kind <> 'repost') > 0 THEN"
        "         count(*) FILTER (WHERE kind <> 'repost' AND rating = 'low') / count(*) FILTER (WHERE kind <> 'repost')"
        "       END AS low_credibility_share,"
        "       count(*) FILTER (WHERE kind = 'repost') AS reposted_links,"
        "       count(*) FILTER (WHERE kind = 'repost' AND rating = 'low') AS reposted_low_credibility,"
        "       count(DISTINCT domain) AS domains,"
        "       list(DISTINCT domain) FILTER (WHERE rating = 'low') AS low_credibility_domains,"
        "       (list(share_id ORDER BY created_at NULLS LAST, share_id) FILTER (WHERE rating = 'low'))[1:?] AS evidence "
        "FROM url_shares WHERE account_id IS NOT NULL GROUP BY platform, account_id "
        "ORDER BY low_credibility_links DESC, links DESC, platform, account_id",
        [run_id, EVIDENCE_POSTS],
    )


def _write_credibility(con: duckdb.DuckDBPyConnection, run_id: str, index: Mapping[str, DomainRating]) -> None:
    rows = sorted(index.values(), key=lambda r: r.domain)
    con.register("_src_credibility", pa.table({
        "domain": pa.array([r.domain for r in rows], pa.string()),
        "rating": pa.array([r.rating for r in rows], pa.string()),
        "score": pa.array([r.score for r in rows], pa.float64()),
        "source": pa.array([r.source for r in rows], pa.string()),
        "origin": pa.array([r.origin for r in rows], pa.string()),
    }))
    try:
        con.execute("CREATE OR REPLACE TABLE domain_credibility AS SELECT ? AS run_id, * FROM _src_credibility", [run_id])
    finally:
        con.unregister("_src_credibility")


def stored_user_credibility(con: duckdb.DuckDBPyConnection) -> list[DomainRating]:
    """The user-supplied rows kept in ``domain_credibility`` by an earlier run (empty when none)."""
    if not has_table(con, "domain_credibility"):
        return []
    return [DomainRating(d, r, s, src, "user") for d, r, s, src in con.execute(
        "SELECT domain, rating, score, source FROM domain_credibility WHERE origin = 'user' ORDER BY domain").fetchall()]


def run_sources(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    *,
    credibility: Sequence[DomainRating] | None = None,
    include_default: bool = True,
) -> dict[str, Any]:
    """Rate the linked domains, list every URL share, build each URL's cascade, summarise per account.

    Writes ``domain_credibility`` (run_id, domain, rating, score, source, origin: the list in use),
    ``url_shares`` (one row per share of a URL: share_id, post_id, account_id, created_at, kind,
    parent_share_id, url, domain, shortened, expanded, rating, rated_domain, credibility_source),
    ``url_cascades`` (one row per platform and URL: first share and account, reach, size, trees,
    depth, max_breadth, structural_virality, evidence share ids) and ``account_sources``.

    Parameters
    ----------
    con : a writable store connection.
    run_id : the analysis run the rows belong to.
    credibility : user rows (:func:`read_credibility`); default: the user rows an earlier run stored.
    include_default : merge the shipped list under the user rows (user rows win).

    Returns
    -------
    dict with ``domains`` (list size), ``shares``, ``urls``, ``accounts``, ``low_credibility_shares``,
    ``expansions`` (short links expanded from posts) and ``expansion_conflicts``.
    """
    user = list(credibility) if credibility is not None else stored_user_credibility(con)
    index = credibility_index(default_credibility() if include_default else [], user)
    _write_credibility(con, run_id, index)
    expansion = _write_shares(con, run_id, index)
    urls = _write_cascades(con, run_id)
    _write_account_sources(con, run_id)
    shares, low, accounts = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE rating = 'low'), count(DISTINCT (platform, account_id)) FROM url_shares"
    ).fetchall()[0]
    return {"domains": len(index), "shares": shares, "urls": urls, "accounts": accounts,
            "low_credibility_shares": low, **expansion}


# --------------------------------------------------------------------------- listing


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def domain_shares(con: duckdb.DuckDBPyConnection, *, top: int = 20, rating: str | None = None) -> list[dict[str, Any]]:
    """Domains by number of shares (all kinds), with their share of all link shares and rating."""
    where, params = ("WHERE rating = ?", [rating]) if rating else ("", [])
    return _rows(con,
                 "SELECT domain, any_value(rating) AS rating, any_value(rated_domain) AS rated_domain,"
                 " any_value(credibility_source) AS source, count(*) AS shares,"
                 " count(*) / (SELECT count(*) FROM url_shares) AS share, count(DISTINCT url) AS urls,"
                 f" count(DISTINCT account_id) AS accounts FROM url_shares {where} GROUP BY domain "
                 "ORDER BY shares DESC, domain LIMIT ?", params + [top])


def sources_summary(con: duckdb.DuckDBPyConnection, *, top: int = 20) -> dict[str, Any]:
    """``confiance sources --json``: domains by share, low-credibility domains, top cascades and accounts."""
    if not has_table(con, "url_cascades"):
        raise ConfianceError("no source analysis yet: run `confiance analyze` (or `confiance sources`)")
    totals = _rows(con, "SELECT count(*) AS shares, count(DISTINCT url) AS urls, count(*) FILTER (WHERE rating = 'low') "
                        "AS low_credibility_shares, count(*) FILTER (WHERE shortened AND NOT expanded) AS unexpanded_short "
                        "FROM url_shares")[0]
    totals["credibility_list"] = _rows(con, "SELECT origin, count(*) AS domains FROM domain_credibility GROUP BY origin "
                                            "ORDER BY origin")
    cascades = _rows(con, "SELECT platform, url, domain, rating, first_share_id, first_account_id, first_handle, first_at,"
                          " posts, reposts, accounts, followers_reach, platform_reposts, size, trees, depth, max_breadth,"
                          " structural_virality, evidence FROM url_cascades ORDER BY accounts DESC, size DESC, url LIMIT ?",
                     [top])
    accounts = _rows(con, "SELECT s.platform, s.account_id, a.handle, s.links, s.low_credibility_links,"
                          " s.low_credibility_share, s.low_credibility_domains, s.evidence FROM account_sources s"
                          " LEFT JOIN (SELECT platform, account_id, any_value(handle) AS handle FROM accounts GROUP BY ALL) a"
                          " USING (platform, account_id) WHERE s.low_credibility_links > 0"
                          " ORDER BY s.low_credibility_links DESC, s.low_credibility_share DESC, s.account_id LIMIT ?", [top])
    return {"totals": totals, "domains": domain_shares(con, top=top),
            "low_credibility_domains": domain_shares(con, top=top, rating="low"),
            "cascades": cascades, "accounts": accounts}


def _step(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    return run_sources(con, run_id)


register_step(Step(
    "sources", _step,
    description="domain credibility, URL shares with offline short-link expansion, URL cascades (structural virality)",
    parameters={"credibility": "default list + stored user rows", "low_below": LOW_BELOW, "high_from": HIGH_FROM},
))
