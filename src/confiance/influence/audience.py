"""Audience demographics per influencer: supplied reports when there are, estimates from engagers otherwise.

Two sources, kept apart by the ``source`` column of ``audience_profiles``:

``supplied``
    the influencer's own audience report (media kit, platform insights) ingested into
    ``audience_reports``; ``provider`` keeps the report's source. A report is a point figure: no
    interval, ``n`` NULL.
``estimated``
    measured on the influencer's *engagers*, the distinct accounts that reposted, replied to,
    quoted, liked or followed them (``interactions``). Each engager counts once. Dimensions:

    - ``community``: the engager's community (table ``communities``, when the step has run);
      categories beyond the ``MAX_CATEGORIES`` largest are pooled as ``other``;
    - ``language``: the language of most of the engager's posts (``post_language`` when it exists,
      else ``posts.lang``; ``und`` ignored);
    - ``country``: the engager's declared location (``accounts.location``) matched against a small
      gazetteer shipped with the package (``data/gazetteer.csv``: ISO 3166-1 country names in
      English and French, the largest French communes, capitals and large cities of the main
      francophone and anglophone markets) or a flag emoji; unmatched locations are unknown.

    ``share`` is the proportion among engagers whose category is known (``n`` of them) and
    ``lower``/``upper`` its Wilson score interval at 95% (Wilson 1927), which stays inside [0, 1]
    and is honest for small ``n`` and for shares near 0 or 1. Engagers are not a random sample of
    the audience (active accounts are over-represented): the interval covers sampling noise only.

Sensitive categories (political side, religion, health, ethnicity, sexual orientation) are never
inferred for a person: an engager is only ever assigned its community, its post language and the
country it wrote itself, and only shares over many engagers are stored.

References
----------
Wilson, E. B. (1927). Probable inference, the law of succession, and statistical inference. Journal
of the American Statistical Association 22(158), 209-212.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Iterable, Sequence

import duckdb
import pyarrow as pa

from confiance.errors import ConfianceError
from confiance.pipeline import Step, register_step
from confiance.store import has_table
from confiance.text.accents import fold_compatibility

__all__ = [
    "AudienceShare", "ENGAGER_KINDS", "RESULT_TABLE", "audience_candidates", "audience_of", "country_of_location",
    "estimated_audiences", "run_audience", "supplied_audiences", "wilson_interval",
]

RESULT_TABLE = "audience_profiles"
#: Interactions that make an account part of another's audience.
ENGAGER_KINDS = ("repost", "reply", "quote", "like", "follow")
#: Influencers profiled by the step: the most influential ones (``influence_scores``).
DEFAULT_ACCOUNTS = 300
#: Categories kept per estimated dimension; the rest pooled as ``other``.
MAX_CATEGORIES = 12
Z95 = 1.959963984540054
ESTIMATED_DIMENSIONS = ("community", "language", "country")


@dataclass(frozen=True)
class AudienceShare:
    """One category of one dimension of an influencer's audience."""

    dimension: str
    category: str
    share: float
    lower: float | None
    upper: float | None
    n: int | None
    source: str  # supplied | estimated
    provider: str | None = None


def wilson_interval(k: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k / n`` (``(0, 1)`` when ``n`` is 0)."""
    if n <= 0:
        return 0.0, 1.0
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # rounding can push a bound past p at p = 0 or 1: the interval always contains the estimate
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))


# --------------------------------------------------------------------------- locations


def _fold(text: str) -> str:
    """A place name whatever its case, accents, stylised letters (𝐋𝐲𝐨𝐧) and apostrophe (’)."""
    return fold_compatibility(text).casefold().replace("’", "'").strip()


@lru_cache(maxsize=1)
def _gazetteer() -> dict[str, str]:
    text = resources.files("confiance.influence").joinpath("data/gazetteer.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return {_fold(r["name"]): r["country"] for r in rows}


def _flag_country(text: str) -> str | None:
    """ISO code of the first flag emoji (two regional indicator symbols) in ``text``."""
    letters = [chr(ord(c) - 0x1F1E6 + ord("A")) for c in text if 0x1F1E6 <= ord(c) <= 0x1F1FF]
    return letters[0] + letters[1] if len(letters) >= 2 else None


def country_of_location(location: str | None) -> str | None:
    """ISO 3166-1 alpha-2 code of a free-text declared location, or None when unrecognised.

    The location is split on commas, slashes, pipes, bullets and " - "; pieces are tried from the last
    (the country usually comes last: "Lyon, France") against the gazetteer, then a flag emoji.
    """
    if not location or not location.strip():
        return None
    places = _gazetteer()
    folded = _fold(location)
    if folded in places:
        return places[folded]
    pieces = [p.strip(" .()") for chunk in folded.replace(" - ", ",").replace("/", ",").replace("|", ",")
              .replace("•", ",").split(",") for p in [chunk]]
    for piece in reversed([p for p in pieces if p]):
        if piece in places:
            return places[piece]
    return _flag_country(location)


# --------------------------------------------------------------------------- candidates


def audience_candidates(con: duckdb.DuckDBPyConnection, top: int = DEFAULT_ACCOUNTS) -> list[tuple[str, str]]:
    """The ``top`` accounts whose audience is profiled: by influence rank, else by distinct engagers."""
    if has_table(con, "influence_scores"):
        rows = con.execute("SELECT platform, account_id FROM influence_scores ORDER BY rank LIMIT ?", [top]).fetchall()
    else:
        rows = con.execute(
            "SELECT platform, dst FROM interactions WHERE kind IN (SELECT unnest(?)) AND src <> dst GROUP BY ALL "
            "ORDER BY count(DISTINCT src) DESC, platform, dst LIMIT ?", [list(ENGAGER_KINDS), top]).fetchall()
    return [(str(p), str(a)) for p, a in rows]


def _register_keys(con: duckdb.DuckDBPyConnection, keys: Sequence[tuple[str, str]], name: str) -> None:
    con.register(name, pa.table({"platform": pa.array([k[0] for k in keys], pa.string()),
                                 "account_id": pa.array([k[1] for k in keys], pa.string())}))


# --------------------------------------------------------------------------- supplied


def supplied_audiences(con: duckdb.DuckDBPyConnection,
                       keys: Sequence[tuple[str, str]] | None = None) -> dict[tuple[str, str], list[AudienceShare]]:
    """Reported audiences from ``audience_reports`` (all reported accounts when ``keys`` is None)."""
    if not has_table(con, "audience_reports"):
        return {}
    sql = ("SELECT platform, account_id, dimension, category, avg(share), first(source ORDER BY source) "
           "FROM audience_reports r")
    params: list[Any] = []
    if keys is not None:
        _register_keys(con, keys, "_aud_keys")
        sql += " SEMI JOIN _aud_keys k USING (platform, account_id)"
    sql += " WHERE share IS NOT NULL GROUP BY ALL ORDER BY platform, account_id, dimension, category"
    out: dict[tuple[str, str], list[AudienceShare]] = {}
    try:
        for platform, account, dimension, category, share, provider in con.execute(sql, params).fetchall():
            out.setdefault((platform, account), []).append(
                AudienceShare(str(dimension), str(category), float(share), None, None, None, "supplied", provider))
    finally:
        if keys is not None:
            con.unregister("_aud_keys")
    return out


# --------------------------------------------------------------------------- estimated


def _engager_categories(con: duckdb.DuckDBPyConnection, kinds: Sequence[str]) -> None:
    """Scratch table ``_aud_engagers(platform, account_id, src, community, language, country)``."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _aud_engagers AS SELECT DISTINCT i.platform, i.dst AS account_id, i.src "
        "FROM interactions i SEMI JOIN _aud_keys k ON k.platform = i.platform AND k.account_id = i.dst "
        "WHERE i.kind IN (SELECT unnest(?)) AND i.src <> i.dst AND i.src <> ''", [list(kinds)])
    if has_table(con, "post_language"):
        lang_source = ("SELECT p.platform, p.account_id, l.lang FROM post_language l JOIN posts p "
                       "USING (platform, post_id)")
    else:
        lang_source = "SELECT platform, account_id, lang FROM posts"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _aud_lang AS SELECT platform, account_id, mode(lang) AS language "
        f"FROM ({lang_source}) s SEMI JOIN (SELECT DISTINCT platform, src FROM _aud_engagers) e "
        "ON e.platform = s.platform AND e.src = s.account_id "
        "WHERE lang IS NOT NULL AND lang NOT IN ('', 'und') GROUP BY ALL")
    locations = con.execute(
        "SELECT DISTINCT a.location FROM accounts a SEMI JOIN (SELECT DISTINCT platform, src FROM _aud_engagers) e "
        "ON e.platform = a.platform AND e.src = a.account_id WHERE a.location IS NOT NULL AND trim(a.location) <> ''"
    ).fetchall()
    mapped = [(loc, country_of_location(loc)) for (loc,) in locations]
    mapped = [(loc, c) for loc, c in mapped if c]
    con.register("_aud_places", pa.table({"location": pa.array([m[0] for m in mapped], pa.string()),
                                          "country": pa.array([m[1] for m in mapped], pa.string())}))
    community = ("LEFT JOIN (SELECT platform, account_id, CAST(min(community) AS VARCHAR) AS community "
                 "FROM communities GROUP BY ALL) c ON c.platform = e.platform AND c.account_id = e.src"
                 if has_table(con, "communities") else "LEFT JOIN (SELECT NULL AS community) c ON true")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _aud_cats AS SELECT e.platform, e.account_id, e.src, c.community, l.language, "
        "g.country FROM _aud_engagers e "
        "LEFT JOIN _aud_lang l ON l.platform = e.platform AND l.account_id = e.src "
        f"{community} "
        "LEFT JOIN (SELECT a.platform, a.account_id, min(p.country) AS country FROM accounts a "
        " JOIN _aud_places p ON p.location = a.location GROUP BY ALL) g ON g.platform = e.platform AND g.account_id = e.src")
    con.unregister("_aud_places")


def estimated_audiences(con: duckdb.DuckDBPyConnection, keys: Sequence[tuple[str, str]], *,
                        kinds: Sequence[str] = ENGAGER_KINDS, max_categories: int = MAX_CATEGORIES,
                        z: float = Z95) -> dict[tuple[str, str], list[AudienceShare]]:
    """Community, language and country shares of each influencer's engagers, with Wilson intervals."""
    if not keys:
        return {}
    if max_categories < 1:
        raise ConfianceError(f"max_categories must be at least 1, found {max_categories}")
    unknown = sorted(set(kinds) - {"repost", "reply", "quote", "like", "follow", "mention"})
    if unknown:
        raise ConfianceError(f"unknown engagement kind(s) {', '.join(unknown)}")
    _register_keys(con, keys, "_aud_keys")
    out: dict[tuple[str, str], list[AudienceShare]] = {}
    try:
        _engager_categories(con, kinds)
        for dimension in ESTIMATED_DIMENSIONS:
            rows = con.execute(
                f"WITH c AS (SELECT platform, account_id, {dimension} AS category, count(*) AS k FROM _aud_cats "
                f" WHERE {dimension} IS NOT NULL GROUP BY ALL),"
                " ranked AS (SELECT *, sum(k) OVER (PARTITION BY platform, account_id) AS n,"
                "  row_number() OVER (PARTITION BY platform, account_id ORDER BY k DESC, category) AS r FROM c) "
                "SELECT platform, account_id, CASE WHEN r <= ? THEN category ELSE 'other' END AS category, "
                " sum(k) AS k, any_value(n) AS n FROM ranked GROUP BY ALL ORDER BY platform, account_id, k DESC, category",
                [max_categories]).fetchall()
            for platform, account, category, k, n in rows:
                lower, upper = wilson_interval(float(k), float(n), z)
                out.setdefault((platform, account), []).append(
                    AudienceShare(dimension, str(category), float(k) / float(n), lower, upper, int(n), "estimated"))
    finally:
        con.unregister("_aud_keys")
        for name in ("_aud_engagers", "_aud_lang", "_aud_cats"):
            con.execute(f"DROP TABLE IF EXISTS {name}")
    return out


def audience_of(profile: Iterable[AudienceShare]) -> dict[str, dict[str, AudienceShare]]:
    """The shares to use per dimension: the supplied report when it covers the dimension, else the estimate."""
    chosen: dict[str, dict[str, AudienceShare]] = {}
    ordered = sorted(profile, key=lambda s: s.source != "supplied")
    for share in ordered:
        dim = chosen.setdefault(share.dimension, {})
        if dim and next(iter(dim.values())).source != share.source:
            continue
        dim[share.category] = share
    return chosen


# --------------------------------------------------------------------------- step


_SCHEMA = pa.schema([("platform", pa.string()), ("account_id", pa.string()), ("dimension", pa.string()),
                     ("category", pa.string()), ("share", pa.float64()), ("lower", pa.float64()),
                     ("upper", pa.float64()), ("n", pa.int64()), ("source", pa.string()), ("provider", pa.string())])


def run_audience(con: duckdb.DuckDBPyConnection, run_id: str, *, top: int = DEFAULT_ACCOUNTS,
                 kinds: Sequence[str] = ENGAGER_KINDS) -> dict[str, Any]:
    """Write ``audience_profiles`` for the ``top`` influencers and every account with a supplied report."""
    keys = audience_candidates(con, top)
    supplied = supplied_audiences(con)
    estimated = estimated_audiences(con, keys, kinds=kinds)
    rows = [(key, s) for source in (supplied, estimated) for key, shares in source.items() for s in shares]
    table = pa.table({
        "platform": [k[0] for k, _ in rows], "account_id": [k[1] for k, _ in rows],
        "dimension": [s.dimension for _, s in rows], "category": [s.category for _, s in rows],
        "share": [s.share for _, s in rows], "lower": [s.lower for _, s in rows], "upper": [s.upper for _, s in rows],
        "n": [s.n for _, s in rows], "source": [s.source for _, s in rows], "provider": [s.provider for _, s in rows],
    }, schema=_SCHEMA)
    con.register("_aud_rows", table)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {RESULT_TABLE} AS SELECT ? AS run_id, * FROM _aud_rows "
                    "ORDER BY platform, account_id, source, dimension, share DESC, category", [run_id])
    finally:
        con.unregister("_aud_rows")
    return {"influencers": len(set(supplied) | set(estimated)), "supplied": len(supplied),
            "estimated": len(estimated), "rows": len(rows)}


def _step(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    return run_audience(con, run_id)


register_step(Step(
    "audience", _step, after=("influence", "communities", "language"),
    description="audience demographics per influencer: supplied reports, or estimated from engagers with intervals",
    parameters={"top": DEFAULT_ACCOUNTS, "engager_kinds": list(ENGAGER_KINDS), "max_categories": MAX_CATEGORIES,
                "interval": "wilson 95%"},
))
