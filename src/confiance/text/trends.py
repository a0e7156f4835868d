"""Trends: daily series, burst detection (emerging narratives) and share of voice with a query language.

Bursts
------
Daily post counts per hashtag, linked domain and topic (``post_topics`` when present) are tested
day by day against a **trailing-window negative-binomial baseline**: for day ``t``, the mean ``μ``
and variance ``s²`` of the previous ``window`` days (28: four weekly cycles) give a negative
binomial by the method of moments (a Poisson when ``s² <= μ``). The tail probability
``P(X >= x_t)`` is turned into a normal-equivalent score ``z = Φ⁻¹(1 - P)``, so the threshold reads
as a z-score (3, the three-sigma rule, is ``P <= 0.00135``) while the skew and overdispersion of
counts are respected. Day ``t`` bursts when ``z >= threshold``, ``x_t >= min_count`` and at least
``min_history`` baseline days exist. Days already found bursting are left out of later baselines
(``passes`` re-estimations), so one burst does not hide the next: the exclusion of past outbreaks
of Farrington et al. (1996) and Noufaily et al. (2013). A series that bursts is an **emerging
narrative**; the most recent ones are listed first.

The ``trends`` step writes ``trend_bursts(series_kind, series, day, count, expected, score, method,
run_id)``, one row per bursting day (``expected`` is the baseline mean ``μ``).

Query language (share of voice)
-------------------------------
A query selects posts. Terms:

=====================  =======================================================================
``velo``               the word, as a whole word, ignoring case and accents (``velo``,
                       ``vélo`` and ``VÉLO`` find each other: social posts often drop accents)
``vél*``               a word starting with ``vél`` (or ``vel``)
``"vélo électrique"``  the phrase: these words in this order, any spaces or hyphens between them
``#solvane``           the hashtag (``posts.hashtags``, ignoring case and accents: ``#velotaf``
                       finds ``#vélotaf``)
``@alice``             posts by the account with this handle, or mentioning it
``lang:fr``            the post's language (``post_language`` when present, else the platform's tag)
``platform:x``         the platform (``x``, ``bluesky``, ``mastodon``, …)
=====================  =======================================================================

Operators, from loosest to tightest: ``OR``, ``AND`` (also implied between two terms: ``vélo
électrique`` = ``vélo AND électrique``), ``NOT`` (also written ``-term``), and parentheses. The
operator words must be upper-case; lower-case ``or``/``and``/``not`` are ordinary words (French
*or*). Example: ``(Solvane OR #solvane) AND lang:fr AND NOT platform:mastodon``.

Words, phrases and hashtags are compared after folding accents on both sides (Unicode marks
removed: ``é`` → ``e``, ``ç`` → ``c``; ligatures such as ``œ`` are kept), and the apostrophes ``'``,
``’`` and ``ʼ`` are the same character, so ``l'électrique`` finds ``l’électrique``. An elided word is
a word of its own: ``électrique`` finds ``l'électrique``. A hyphen inside a word and a space are
alike: ``"vélo cargo"`` and ``vélo-cargo`` both find ``vélo-cargo`` and ``vélo cargo``; ``cargo``
alone finds both too.

Queries are compiled to DuckDB SQL with every user value passed as a parameter, never pasted into
the SQL. A malformed query raises :class:`QueryError` naming the column.

Share of voice per period is each query's matching posts over the sum of all queries' matching posts
in that period (a post matching two queries counts for both).

References
----------
C. P. Farrington, N. J. Andrews, A. D. Beale, M. A. Catchpole, "A statistical algorithm for the early
detection of outbreaks of infectious disease", JRSS A 159(3) (1996).
A. Noufaily et al., "An improved algorithm for outbreak detection in multiple surveillance systems",
Statistics in Medicine 32(7) (2013).
J. Kleinberg, "Bursty and hierarchical structure in streams", KDD 2002 (the burst notion).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Iterator, Literal, Sequence

import duckdb
import numpy as np
import pyarrow as pa

from confiance.errors import ConfianceError
from confiance.i18n import N_
from confiance.pipeline import Step, register_step
from confiance.store import has_table

METHOD = N_("trailing-window negative-binomial tail z-score")
#: Days of trailing baseline (four weekly cycles).
WINDOW = 28
#: Three-sigma rule.
THRESHOLD = 3.0
MIN_COUNT = 5
MIN_HISTORY = 7
#: Baseline re-estimations, each leaving out the days the previous one found bursting.
PASSES = 3
#: Series tested per kind (the most used), so the step stays bounded on any corpus.
MAX_SERIES = 1000
#: A series needs this many posts in all to be tested.
MIN_TOTAL = 10
MAX_QUERY_LENGTH = 2000
MAX_DEPTH = 50

SeriesKind = Literal["hashtag", "domain", "topic"]


# -- bursts -----------------------------------------------------------------------------------------
@dataclass
class BurstTest:
    expected: np.ndarray
    score: np.ndarray
    burst: np.ndarray   # bool


def detect_bursts(counts: Sequence[float], *, window: int = WINDOW, threshold: float = THRESHOLD,
                  min_count: int = MIN_COUNT, min_history: int = MIN_HISTORY, passes: int = PASSES) -> BurstTest:
    """Negative-binomial tail z-score of each day of a daily count series against its trailing baseline.

    See the module docstring. ``expected`` is the baseline mean; ``score`` is NaN where the baseline
    has fewer than ``min_history`` days.
    """
    _check_options(window, min_history, passes)
    x = np.asarray(counts, dtype=np.float64)
    keep = np.ones(len(x), dtype=bool)
    for _ in range(passes):
        expected, score = _baseline_scores(x, keep, window, min_history)
        burst = (np.nan_to_num(score, nan=-np.inf) >= threshold) & (x >= min_count)
        keep = ~burst
    return BurstTest(expected, score, burst)


def _check_options(window: int, min_history: int, passes: int) -> None:
    if window < 2 or min_history < 2 or min_history > window or passes < 1:
        raise ValueError(f"need 2 <= min_history <= window and passes >= 1, not window {window}, "
                         f"min_history {min_history}, passes {passes}")


def _baseline_scores(x: np.ndarray, keep: np.ndarray, window: int, min_history: int) -> tuple[np.ndarray, np.ndarray]:
    from scipy import stats

    n = len(x)
    kept = np.where(keep, x, 0.0)
    days = np.concatenate([[0], np.cumsum(keep)])
    total = np.concatenate([[0.0], np.cumsum(kept)])
    squares = np.concatenate([[0.0], np.cumsum(kept * kept)])
    t = np.arange(n)
    start = np.maximum(t - window, 0)
    k = (days[t] - days[start]).astype(np.float64)
    enough = k >= min_history
    safe_k = np.where(enough, k, 2.0)
    mean = np.where(enough, (total[t] - total[start]) / safe_k, np.nan)
    variance = (squares[t] - squares[start] - safe_k * np.nan_to_num(mean) ** 2) / (safe_k - 1)
    # a mean of zero has no tail: half a post a day keeps a first appearance testable
    mu = np.maximum(np.nan_to_num(mean), 0.5)
    overdispersed = variance > mu * (1 + 1e-6)
    size = np.where(overdispersed, mu * mu / np.where(overdispersed, variance - mu, 1.0), 1.0)
    tail = np.where(overdispersed, stats.nbinom.sf(x - 1, size, size / (size + mu)), stats.poisson.sf(x - 1, mu))
    score = np.where(enough, stats.norm.isf(np.clip(tail, 1e-300, 1.0)), np.nan)
    return mean, score


_SERIES_SQL = {
    "hashtag": "SELECT lower(tag) AS series, CAST(created_at AS DATE) AS day, count(*) AS n "
               "FROM (SELECT unnest(hashtags) AS tag, created_at FROM posts WHERE created_at IS NOT NULL) GROUP BY ALL",
    "domain": "SELECT lower(d) AS series, CAST(created_at AS DATE) AS day, count(*) AS n "
              "FROM (SELECT unnest(domains) AS d, created_at FROM posts WHERE created_at IS NOT NULL) GROUP BY ALL",
    "topic": "SELECT CAST(t.topic AS VARCHAR) AS series, CAST(p.created_at AS DATE) AS day, count(*) AS n "
             "FROM post_topics t JOIN posts p USING (platform, post_id) WHERE t.topic >= 0 AND p.created_at IS NOT NULL "
             "GROUP BY ALL",
}


def daily_series(con: duckdb.DuckDBPyConnection, kind: SeriesKind, *, max_series: int = MAX_SERIES,
                 min_total: int = MIN_TOTAL) -> tuple[list[date], dict[str, np.ndarray]]:
    """Days (the corpus' first to last) and the daily counts of the ``max_series`` most used series."""
    if kind not in _SERIES_SQL:
        raise ValueError(f"series kind must be one of {', '.join(_SERIES_SQL)}, not {kind!r}")
    if kind == "topic" and not has_table(con, "post_topics"):
        return [], {}
    span = con.execute("SELECT min(CAST(created_at AS DATE)), max(CAST(created_at AS DATE)) FROM posts").fetchall()[0]
    if span[0] is None:
        return [], {}
    days = [span[0] + timedelta(days=i) for i in range((span[1] - span[0]).days + 1)]
    rows = con.execute(
        f"WITH s AS ({_SERIES_SQL[kind]}), top AS (SELECT series FROM s GROUP BY series HAVING sum(n) >= ? "
        "ORDER BY sum(n) DESC, series LIMIT ?) SELECT series, day, n FROM s JOIN top USING (series)",
        [min_total, max_series]).fetchall()
    series: dict[str, np.ndarray] = {}
    for name, day, n in rows:
        series.setdefault(name, np.zeros(len(days)))[(day - days[0]).days] += n
    return days, dict(sorted(series.items()))


def find_bursts(con: duckdb.DuckDBPyConnection, *, kinds: Sequence[SeriesKind] = ("topic", "hashtag", "domain"),
                window: int = WINDOW, threshold: float = THRESHOLD, min_count: int = MIN_COUNT,
                min_history: int = MIN_HISTORY, passes: int = PASSES) -> list[dict[str, Any]]:
    """Every bursting day of every tested series, most recent and strongest first."""
    _check_options(window, min_history, passes)  # also when there is no series to test
    out = []
    for kind in kinds:
        days, series = daily_series(con, kind)
        for name, counts in series.items():
            test = detect_bursts(counts, window=window, threshold=threshold, min_count=min_count,
                                 min_history=min_history, passes=passes)
            for i in np.flatnonzero(test.burst):
                out.append({"series_kind": kind, "series": name, "day": days[i], "count": int(counts[i]),
                            "expected": float(test.expected[i]), "score": float(test.score[i]), "method": METHOD})
    out.sort(key=lambda r: (r["day"], r["score"]), reverse=True)
    return out


def emerging_narratives(bursts: Sequence[dict[str, Any]], *, top: int = 20) -> list[dict[str, Any]]:
    """Bursting series, one row each: first and last burst day, bursting days, peak score; latest first."""
    by_series: dict[tuple[str, str], dict[str, Any]] = {}
    for b in bursts:
        row = by_series.setdefault((b["series_kind"], b["series"]), {
            "series_kind": b["series_kind"], "series": b["series"], "first_burst": b["day"], "last_burst": b["day"],
            "burst_days": 0, "peak_score": b["score"], "peak_count": b["count"]})
        row["first_burst"] = min(row["first_burst"], b["day"])
        row["last_burst"] = max(row["last_burst"], b["day"])
        row["burst_days"] += 1
        if b["score"] > row["peak_score"]:
            row["peak_score"], row["peak_count"] = b["score"], b["count"]
    return sorted(by_series.values(), key=lambda r: (r["last_burst"], r["peak_score"]), reverse=True)[:top]


DEFAULTS = {"method": METHOD, "window": WINDOW, "threshold": THRESHOLD, "min_count": MIN_COUNT,
            "min_history": MIN_HISTORY, "passes": PASSES}


def run_trends(con: duckdb.DuckDBPyConnection, run_id: str, *, window: int = WINDOW, threshold: float = THRESHOLD,
               min_count: int = MIN_COUNT, min_history: int = MIN_HISTORY, passes: int = PASSES) -> dict[str, Any]:
    """The ``trends`` step: ``trend_bursts``."""
    bursts = find_bursts(con, window=window, threshold=threshold, min_count=min_count, min_history=min_history,
                         passes=passes)
    table = pa.Table.from_pylist(bursts, schema=pa.schema([
        ("series_kind", pa.string()), ("series", pa.string()), ("day", pa.date32()), ("count", pa.int64()),
        ("expected", pa.float64()), ("score", pa.float64()), ("method", pa.string())]))
    con.register("_bursts", table)
    con.execute("CREATE OR REPLACE TABLE trend_bursts AS SELECT *, ? AS run_id FROM _bursts", [run_id])
    con.unregister("_bursts")
    return {"bursts": len(bursts), "series": len({(b["series_kind"], b["series"]) for b in bursts})}


register_step(Step(
    "trends", run_trends, after=("topics",), description=f"bursts of topics, hashtags and domains ({METHOD})",
    parameters=DEFAULTS, kept=("window", "threshold", "min_count", "min_history", "passes"),
))


# -- query language ---------------------------------------------------------------------------------
class QueryError(ConfianceError):
    """A share-of-voice query cannot be parsed; ``column`` is 1-based."""

    def __init__(self, query: str, column: int, reason: str):
        self.query = query
        self.column = column
        self.reason = reason
        shown = query if len(query) <= 80 else query[:77] + "..."
        super().__init__(f"query {shown!r}, column {column}: {reason}")


@dataclass(frozen=True)
class Token:
    kind: str    # word, phrase, hashtag, mention, field, and, or, not, minus, lparen, rparen
    value: str
    column: int  # 1-based


_FIELDS = {"lang", "platform"}
_BARE = re.compile(r'[^\s()"]+')


def tokenize(query: str) -> list[Token]:
    if not isinstance(query, str):
        raise QueryError(str(query), 1, "a query is a text")
    if len(query) > MAX_QUERY_LENGTH:
        raise QueryError(query, MAX_QUERY_LENGTH + 1, f"longer than {MAX_QUERY_LENGTH} characters")
    tokens: list[Token] = []
    i = 0
    while i < len(query):
        ch = query[i]
        column = i + 1
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append(Token("lparen" if ch == "(" else "rparen", ch, column))
            i += 1
        elif ch == '"':
            end = query.find('"', i + 1)
            if end < 0:
                raise QueryError(query, column, "this quote is never closed")
            phrase = query[i + 1:end].split()
            if not phrase:
                raise QueryError(query, column, "empty phrase")
            tokens.append(Token("phrase", " ".join(phrase), column))
            i = end + 1
        elif ch == "-" and i + 1 < len(query) and not query[i + 1].isspace() and query[i + 1] != ")":
            tokens.append(Token("minus", "-", column))
            i += 1
        else:
            bare = _BARE.match(query, i).group(0)
            i += len(bare)
            tokens.append(_bare_token(query, bare, column))
    return tokens


def _bare_token(query: str, bare: str, column: int) -> Token:
    if bare in ("AND", "OR", "NOT"):
        return Token(bare.lower(), bare, column)
    if bare.startswith("#"):
        if len(bare) == 1:
            raise QueryError(query, column, "'#' needs a hashtag after it")
        return Token("hashtag", bare[1:].lower(), column)
    if bare.startswith("@"):
        if len(bare) == 1:
            raise QueryError(query, column, "'@' needs a handle after it")
        return Token("mention", bare[1:].lower(), column)
    name, sep, value = bare.partition(":")
    if sep and name.lower() in _FIELDS:
        if not value:
            raise QueryError(query, column + len(name) + 1, f"'{name}:' needs a value")
        return Token("field", f"{name.lower()}:{value.lower()}", column)
    if not bare.rstrip("*") or "*" in bare.rstrip("*"):
        raise QueryError(query, column, "'*' is only allowed at the end of a word, after at least one letter")
    return Token("word", bare, column)


@dataclass
class Node:
    op: str                       # term kinds, or "and", "or", "not"
    value: str = ""
    children: tuple["Node", ...] = ()


class _Parser:
    def __init__(self, query: str):
        self.query = query
        self.tokens = tokenize(query)
        self.i = 0

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def error(self, reason: str, token: Token | None = None) -> QueryError:
        token = token or self.peek()
        return QueryError(self.query, token.column if token else len(self.query) + 1, reason)

    def parse(self) -> Node:
        if not self.tokens:
            raise QueryError(self.query, 1, "empty query")
        node = self.parse_or(0)
        if self.peek() is not None:
            token = self.peek()
            raise self.error("unmatched ')'" if token.kind == "rparen" else f"unexpected {token.value!r}")
        return node

    def parse_or(self, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise self.error(f"nested more than {MAX_DEPTH} levels deep")
        parts = [self.parse_and(depth)]
        while self.peek() is not None and self.peek().kind == "or":
            self.i += 1
            parts.append(self.parse_and(depth))
        return parts[0] if len(parts) == 1 else Node("or", children=tuple(parts))

    def parse_and(self, depth: int) -> Node:
        parts = [self.parse_unary(depth)]
        while self.peek() is not None and self.peek().kind not in ("or", "rparen"):
            if self.peek().kind == "and":
                self.i += 1
            parts.append(self.parse_unary(depth))
        return parts[0] if len(parts) == 1 else Node("and", children=tuple(parts))

    def parse_unary(self, depth: int) -> Node:
        token = self.peek()
        if token is None:
            raise self.error("the query ends where a term was expected")
        if token.kind in ("not", "minus"):
            self.i += 1
            if depth > MAX_DEPTH:
                raise self.error(f"nested more than {MAX_DEPTH} levels deep", token)
            return Node("not", children=(self.parse_unary(depth + 1),))
        if token.kind == "lparen":
            self.i += 1
            node = self.parse_or(depth + 1)
            if self.peek() is None or self.peek().kind != "rparen":
                raise self.error("this '(' is never closed", token)
            self.i += 1
            return node
        if token.kind in ("and", "or"):
            raise self.error(f"{token.value} needs a term on each side")
        if token.kind == "rparen":
            raise self.error("')' where a term was expected")
        self.i += 1
        return Node(token.kind, token.value)


def parse_query(query: str) -> Node:
    """The query's syntax tree; :class:`QueryError` (with the column) when it is malformed."""
    return _Parser(query).parse()


_BOUNDARY_BEFORE = r"(?:^|[^\pL\pN_])"
_BOUNDARY_AFTER = r"(?:$|[^\pL\pN_])"


_APOSTROPHES = "'’ʼ"
#: The text as words and phrases are matched: accents folded (DuckDB's ``strip_accents``, as :func:`fold`).
_FOLDED_TEXT = "strip_accents(coalesce(p.text, ''))"


def fold(value: str) -> str:
    """``value`` without its accents (Unicode marks, as DuckDB's ``strip_accents``): ``"Vélo"`` → ``"Velo"``."""
    return "".join(ch for ch in unicodedata.normalize("NFD", value) if unicodedata.category(ch) not in ("Mn", "Mc", "Me"))


_JOINER = r"[\s\-]+"  # between the words of a phrase, and for a hyphen: "vélo cargo" = "vélo-cargo"


def _literal(word: str) -> str:
    """A regular expression for ``word`` folded, any apostrophe matching any other, a hyphen inside it a space."""
    folded = fold(word)
    return "".join(f"[{_APOSTROPHES}]" if ch in _APOSTROPHES else _JOINER if ch == "-" and 0 < k < len(folded) - 1
                   else re.escape(ch) for k, ch in enumerate(folded))


def _word_pattern(word: str) -> str:
    if word.endswith("*"):
        return _BOUNDARY_BEFORE + _literal(word.rstrip("*"))
    return _BOUNDARY_BEFORE + _literal(word) + _BOUNDARY_AFTER


def compile_query(node: Node, *, language_column: str = "p.lang") -> tuple[str, list[Any]]:
    """A SQL boolean expression over ``posts p`` (and ``accounts a``) with its parameters."""
    if node.op in ("and", "or"):
        parts = [compile_query(child, language_column=language_column) for child in node.children]
        return "(" + f" {node.op.upper()} ".join(sql for sql, _ in parts) + ")", [v for _, ps in parts for v in ps]
    if node.op == "not":
        sql, params = compile_query(node.children[0], language_column=language_column)
        return f"(NOT coalesce({sql}, false))", params
    if node.op == "word":
        return f"regexp_matches({_FOLDED_TEXT}, ?, 'i')", [_word_pattern(node.value)]
    if node.op == "phrase":
        pattern = _BOUNDARY_BEFORE + _JOINER.join(_literal(w) for w in node.value.split()) + _BOUNDARY_AFTER
        return f"regexp_matches({_FOLDED_TEXT}, ?, 'i')", [pattern]
    if node.op == "hashtag":
        return ("list_contains(list_transform(coalesce(p.hashtags, []), lambda h: strip_accents(lower(h))), ?)",
                [fold(node.value)])
    if node.op == "mention":
        return "(list_contains(coalesce(p.mentions, []), ?) OR lower(coalesce(a.handle, '')) = ?)", [node.value, node.value]
    if node.op == "field":
        name, value = node.value.split(":", 1)
        column = language_column if name == "lang" else "p.platform"
        return f"(lower(coalesce({column}, '')) = ?)", [value]
    raise ValueError(f"unknown query node {node.op!r}")


def query_sql(con: duckdb.DuckDBPyConnection, query: str) -> tuple[str, list[Any]]:
    """``FROM … WHERE …`` selecting the query's posts (aliases ``p`` posts, ``a`` accounts), with parameters."""
    language, language_join = _language_source(con)
    where, params = compile_query(parse_query(query), language_column=language)
    joins = "LEFT JOIN accounts a ON a.platform = p.platform AND a.account_id = p.account_id" + language_join
    return f"FROM posts p {joins} WHERE {where}", params


def _language_source(con: duckdb.DuckDBPyConnection) -> tuple[str, str]:
    """(SQL of a post's language, the join it needs): the identified language when the ``language``
    step has stored one, else the platform's tag."""
    if has_table(con, "post_language"):
        return ("coalesce(nullif(l.lang, 'und'), p.lang)",
                " LEFT JOIN post_language l ON l.platform = p.platform AND l.post_id = p.post_id")
    return "p.lang", ""


def count_matches(con: duckdb.DuckDBPyConnection, query: str) -> int:
    sql, params = query_sql(con, query)
    return int(con.execute(f"SELECT count(*) {sql}", params).fetchall()[0][0])


def _fields(node: Node) -> Iterator[tuple[str, str]]:
    if node.op == "field":
        name, value = node.value.split(":", 1)
        yield name, value
    for child in node.children:
        yield from _fields(child)


def unknown_fields(con: duckdb.DuckDBPyConnection, queries: Sequence[str]) -> list[str]:
    """A note for each ``platform:`` or ``lang:`` value of the queries that no post carries (a typo such as
    ``platform:twitter`` for ``x`` would otherwise count 0 without a word), naming the values there are."""
    asked = {field for q in queries for field in _fields(parse_query(q))}
    if not asked:
        return []
    language, join = _language_source(con)
    present = {}
    for name, column in (("platform", "p.platform"), ("lang", language)):
        if any(n == name for n, _ in asked):
            present[name] = sorted(v for (v,) in con.execute(
                f"SELECT DISTINCT lower({column}) FROM posts p{join} WHERE {column} IS NOT NULL").fetchall())
    return [f"{name}:{value} matches no post (values here: {', '.join(present[name]) or 'none'})"
            for name, value in sorted(asked) if value not in present[name]]


def share_of_voice(con: duckdb.DuckDBPyConnection, queries: Sequence[str], *, by: Literal["day", "week"] = "day",
                   kinds: Sequence[str] | None = None) -> dict[str, Any]:
    """Posts matching each query per period and their share of all queries' posts.

    ``kinds`` restricts the post kinds (default: all, reposts included: a repost is voice too).
    ``notes`` names the ``platform:`` / ``lang:`` values no post carries (:func:`unknown_fields`).
    """
    if by not in ("day", "week"):
        raise ValueError(f"by must be 'day' or 'week', not {by!r}")
    if not queries:
        raise ConfianceError("share of voice needs at least one query")
    compiled = [query_sql(con, q) for q in queries]  # all parse errors before any work
    per_period: dict[date, list[int]] = {}
    totals = []
    for k, (sql, params) in enumerate(compiled):
        kind_filter = ""
        extra: list[Any] = []
        if kinds:
            kind_filter = " AND p.kind IN (SELECT unnest(?))"
            extra = [list(kinds)]
        rows = con.execute(f"SELECT CAST(date_trunc('{by}', p.created_at) AS DATE), count(*) {sql}{kind_filter} "
                           "GROUP BY 1 ORDER BY 1", params + extra).fetchall()
        totals.append(sum(n for _, n in rows))
        for period, n in rows:
            per_period.setdefault(period, [0] * len(queries))[k] += n
    grand = sum(totals)
    series = []
    for period in sorted(p for p in per_period if p is not None):
        counts = per_period[period]
        whole = sum(counts)
        series.extend({"period": period, "query": q, "posts": n, "share": n / whole if whole else 0.0}
                      for q, n in zip(queries, counts))
    return {
        "by": by,
        "totals": [{"query": q, "posts": n, "share": n / grand if grand else 0.0} for q, n in zip(queries, totals)],
        "series": series,
        "notes": unknown_fields(con, queries),
    }


def run_share_of_voice(con: duckdb.DuckDBPyConnection, run_id: str, queries: Sequence[str], *,
                       by: Literal["day", "week"] = "day") -> dict[str, Any]:
    """Compute share of voice and keep it in ``share_of_voice`` (the report shows the latest)."""
    result = share_of_voice(con, queries, by=by)
    table = pa.Table.from_pylist([{"by": by, **row} for row in result["series"]], schema=pa.schema([
        ("by", pa.string()), ("period", pa.date32()), ("query", pa.string()), ("posts", pa.int64()),
        ("share", pa.float64())]))
    con.register("_sov", table)
    con.execute("CREATE OR REPLACE TABLE share_of_voice AS SELECT *, ? AS run_id FROM _sov", [run_id])
    con.unregister("_sov")
    return result
