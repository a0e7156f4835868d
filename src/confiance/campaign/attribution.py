"""Attribution: which posts carried which tracking link or promo code, and what those codes earned.

Keys are read from the posts themselves:

- UTM parameters of every linked URL (``utm_campaign``, ``utm_content``, ``utm_source``,
  ``utm_medium``), the convention of Google Analytics campaign tagging;
- promo codes in the text: the word after "code", "code promo", "promo", "coupon" (French and
  English), when it looks like a code (4-20 letters, digits, '-' or '_', with a digit or in capitals),
  plus any codes given explicitly.

A KPI series is joined to a key when its name ends with ``:KEY`` or ``:KIND=KEY`` (case-insensitive),
e.g. ``sales:SOLVANE20`` or ``clicks:utm_content=9156``, the shape of per-code exports from shops and
link trackers; its values from the key's first post on are summed per metric (the part before ':').
The join is descriptive (clicks and sales that carried the code), not a causal estimate: the KPI
counterfactual is :mod:`confiance.campaign.impact`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any, Iterable, Iterator
from urllib.parse import parse_qsl, urlsplit

import duckdb
import orjson
import pandas as pd

from confiance.pipeline import Step, register_step
__all__ = ["UTM_KEYS", "codes_in_text", "utm_in_url", "attribution_keys", "attribute", "run_attribution"]

UTM_KEYS = ("utm_campaign", "utm_content", "utm_source", "utm_medium")
_CODE = re.compile(r"(?i)\b(?:code(?:\s+promo)?|promo(?:\s+code)?|coupon)\s*[:«\"'“]?\s*([A-Za-z0-9][A-Za-z0-9_-]{3,19})\b")
_CODE_WORDS = {"promo", "code", "coupon", "pour", "with", "avec", "chez"}
BATCH_ROWS = 50_000
EVIDENCE_POSTS = 10


def codes_in_text(text: str | None, known: Iterable[str] = ()) -> set[str]:
    """Promo codes in a post (upper-cased): after a code word, or any of ``known`` as a whole word."""
    if not text:
        return set()
    found = set()
    for match in _CODE.finditer(text):
        token = match.group(1)
        if token.lower() in _CODE_WORDS:
            continue
        if any(ch.isdigit() for ch in token) or token.isupper():
            found.add(token.upper())
    for code in known:
        if re.search(rf"(?i)(?<![A-Za-z0-9]){re.escape(code)}(?![A-Za-z0-9])", text):
            found.add(code.upper())
    return found


def utm_in_url(url: str | None) -> dict[str, str]:
    """The UTM parameters of a URL (lower-case names, values as written)."""
    if not url or "utm_" not in url.lower():
        return {}
    try:
        query = urlsplit(url).query
    except ValueError:
        return {}
    return {k.lower(): v for k, v in parse_qsl(query) if k.lower() in UTM_KEYS and v}


def _post_batches(con: duckdb.DuckDBPyConnection) -> Iterator[pd.DataFrame]:
    reader = con.sql(
        "SELECT platform, post_id, account_id, created_at, text, urls, likes, reposts, replies, quotes, views "
        "FROM posts WHERE kind <> 'repost' AND (len(list_filter(coalesce(urls, []), lambda u: contains(lower(u), 'utm_'))) > 0 "
        "OR regexp_matches(coalesce(text, ''), '(?i)(code|promo|coupon)'))").to_arrow_reader(BATCH_ROWS)
    for batch in reader:
        yield batch.to_pandas()


def attribution_keys(con: duckdb.DuckDBPyConnection, codes: Iterable[str] = ()) -> pd.DataFrame:
    """One row per (kind, key): posts, accounts, engagements, views, first/last post time and up to
    10 evidence post ids (the most engaged). ``kind`` is a UTM parameter name or ``promo_code``."""
    known = [c for c in codes if c]
    agg: dict[tuple[str, str], dict[str, Any]] = defaultdict(lambda: {"posts": 0, "accounts": set(), "engagements": 0,
                                                                      "views": 0, "first": None, "last": None,
                                                                      "evidence": []})
    for frame in _post_batches(con):
        for row in frame.itertuples(index=False):
            keys = {("promo_code", code) for code in codes_in_text(row.text, known)}
            for url in (row.urls if row.urls is not None else []):
                keys |= set(utm_in_url(url).items())
            if not keys:
                continue
            engaged = sum(int(v) for v in (row.likes, row.reposts, row.replies, row.quotes) if pd.notna(v))
            for key in keys:
                entry = agg[key]
                entry["posts"] += 1
                entry["accounts"].add((row.platform, row.account_id))
                entry["engagements"] += engaged
                entry["views"] += int(row.views) if pd.notna(row.views) else 0
                when = row.created_at
                entry["first"] = when if entry["first"] is None or (when is not None and when < entry["first"]) else entry["first"]
                entry["last"] = when if entry["last"] is None or (when is not None and when > entry["last"]) else entry["last"]
                entry["evidence"].append((-engaged, row.platform, row.post_id))
    rows = []
    for (kind, key), e in sorted(agg.items()):
        rows.append({"kind": kind, "key": key, "posts": e["posts"], "accounts": len(e["accounts"]),
                     "engagements": e["engagements"], "views": e["views"], "first_post_at": e["first"],
                     "last_post_at": e["last"],
                     "evidence_post_ids": [pid for _, _, pid in sorted(e["evidence"])[:EVIDENCE_POSTS]]})
    return pd.DataFrame(rows, columns=["kind", "key", "posts", "accounts", "engagements", "views", "first_post_at",
                                       "last_post_at", "evidence_post_ids"])


def attribute(con: duckdb.DuckDBPyConnection, codes: Iterable[str] = ()) -> pd.DataFrame:
    """:func:`attribution_keys` joined to the KPI series named after each key (see the module
    docstring): adds ``kpi_totals`` (JSON {metric: sum from the first post on}) and ``kpi_series``."""
    keys = attribution_keys(con, codes)
    totals, series = [], []
    kpis = con.execute("SELECT series, ts, value FROM kpis WHERE contains(series, ':')").df() if len(keys) else None
    for row in keys.itertuples(index=False):
        metric_totals: dict[str, float] = {}
        names: list[str] = []
        if kpis is not None and len(kpis):
            suffix = kpis["series"].str.split(":", n=1).str[1].str.lower()
            wanted = {row.key.lower(), f"{row.kind}={row.key}".lower()}
            if row.kind == "promo_code":
                wanted.add(f"code={row.key}".lower())
            match = kpis[suffix.isin(wanted)]
            if row.first_post_at is not None and len(match):
                start = pd.Timestamp(row.first_post_at).floor("D")
                match = match[pd.to_datetime(match["ts"], utc=True) >= start]
            for name, part in match.groupby("series", sort=True):
                names.append(name)
                metric = name.split(":", 1)[0]
                metric_totals[metric] = metric_totals.get(metric, 0.0) + float(part["value"].sum())
        totals.append(orjson.dumps(metric_totals).decode())
        series.append(names)
    return keys.assign(kpi_totals=totals, kpi_series=series)


def run_attribution(con: duckdb.DuckDBPyConnection, run_id: str, codes: Iterable[str] = ()) -> dict[str, Any]:
    """Persist ``attribution`` (one row per UTM value or promo code)."""
    table = attribute(con, codes)
    con.register("_attribution_rows", table)
    try:
        con.execute("CREATE OR REPLACE TABLE attribution AS SELECT ?::VARCHAR AS run_id, kind, key, posts, accounts, "
                    "engagements, views, first_post_at, last_post_at, evidence_post_ids::VARCHAR[] AS evidence_post_ids, "
                    "kpi_totals::JSON AS kpi_totals, kpi_series::VARCHAR[] AS kpi_series FROM _attribution_rows", [run_id])
    finally:
        con.unregister("_attribution_rows")
    return {"keys": len(table), "joined": int(sum(1 for s in table["kpi_series"] if len(s)))}


def _step(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    return run_attribution(con, run_id)


register_step(Step(
    "attribution", _step,
    description="posts, engagement and KPI totals per UTM value and promo code found in posts",
    parameters={"utm_keys": list(UTM_KEYS), "codes": "after code/promo/coupon words", "kpi_join": "series ending in :KEY"},
))
