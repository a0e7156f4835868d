"""Which posts belong to a campaign, and which accounts saw them (exposure from the interaction graph).

A campaign post is an original post, reply or quote that carries one of the campaign's markers: a
hashtag, a link to one of its domains (or under one of its URL prefixes), or a promo code in the
text; with ``seeds`` given, only the seed accounts' posts count (the paid influencers' posts, not
every fan's mention). An account is *exposed* when the interaction graph shows it saw one:

``follow``
    it follows the author of a campaign post (a follow recorded before that author's last campaign
    post, so the post reached its feed);
``repost``, ``quote``, ``reply``
    it reposted, quoted or replied to a campaign post (or replied inside its thread);
``like``
    it liked a campaign post;
``addressed``
    a campaign post replied to it or mentioned it.

Each exposure row names its evidence: the campaign post and the channel. The first exposure time of
an account is kept so that an analysis can require exposure before the outcome it measures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import pandas as pd

from confiance.errors import ConfianceError
from confiance.store import repost_post_of

__all__ = ["CampaignMarkers", "CHANNELS", "campaign_posts", "campaign_exposure", "campaign_side"]

CHANNELS = ("follow", "repost", "quote", "reply", "like", "addressed")


@dataclass(frozen=True)
class CampaignMarkers:
    """What identifies a campaign's posts (case-insensitive): hashtags without '#', link domains,
    URL prefixes, promo codes, and optionally the seed accounts as ``(platform, account_id)`` (only
    their posts count) and the owners (the brand's own accounts: never exposed, never controls)."""

    hashtags: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    url_prefixes: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    seeds: tuple[tuple[str, str], ...] = field(default=())
    owners: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        if not (self.hashtags or self.domains or self.url_prefixes or self.codes):
            raise ConfianceError("a campaign needs at least one marker: a hashtag, a domain, a URL prefix or a code")

    def normalised(self) -> dict[str, list[str]]:
        return {"hashtags": [h.lower().lstrip("#") for h in self.hashtags],
                "domains": [d.lower().removeprefix("www.") for d in self.domains],
                "url_prefixes": [u.lower() for u in self.url_prefixes],
                "codes": [c.lower() for c in self.codes]}


def _campaign_post_sql(markers: CampaignMarkers, since: datetime | None) -> tuple[str, list]:
    m = markers.normalised()
    where = ["list_has_any(coalesce(hashtags, []), ?::VARCHAR[])",
             "list_has_any(list_transform(coalesce(domains, []), lambda d: lower(d)), ?::VARCHAR[])",
             "len(list_filter(coalesce(urls, []), lambda u: len(list_filter(?::VARCHAR[], "
             "lambda p: starts_with(lower(u), p))) > 0)) > 0",
             "len(list_filter(?::VARCHAR[], lambda c: contains(lower(coalesce(text, '')), c))) > 0"]
    params: list = [m["hashtags"], m["domains"], m["url_prefixes"], m["codes"]]
    sql = ("SELECT platform, post_id, account_id, created_at FROM posts "
           f"WHERE kind <> 'repost' AND ({' OR '.join(where)})")
    if since is not None:
        sql += " AND created_at >= ?"
        params.append(since)
    if markers.seeds:
        sql += " AND (platform, account_id) IN (SELECT unnest(?::STRUCT(p VARCHAR, a VARCHAR)[], recursive := true))"
        params.append([{"p": p, "a": a} for p, a in markers.seeds])
    return sql, params


def campaign_posts(con: duckdb.DuckDBPyConnection, markers: CampaignMarkers,
                   since: datetime | None = None) -> pd.DataFrame:
    """The campaign's posts: platform, post_id, account_id, created_at (from ``since`` on)."""
    sql, params = _campaign_post_sql(markers, since)
    return con.execute(sql + " ORDER BY platform, created_at, post_id", params).df()


def campaign_side(con: duckdb.DuckDBPyConnection, markers: CampaignMarkers,
                  since: datetime | None = None) -> pd.DataFrame:
    """The campaign's own accounts: authors of its posts (from ``since`` on) and its owners, with
    ``role`` 'author' or 'owner' (an owner who also posted is listed once, as owner)."""
    sql, params = _campaign_post_sql(markers, since)
    owners = [{"p": p, "a": a} for p, a in markers.owners]
    return con.execute(
        "WITH owners AS (SELECT DISTINCT p AS platform, a AS account_id "
        "FROM (SELECT unnest(?::STRUCT(p VARCHAR, a VARCHAR)[], recursive := true))), "
        f"authors AS (SELECT DISTINCT platform, account_id FROM ({sql})) "
        "SELECT platform, account_id, 'owner' AS role FROM owners UNION ALL "
        "SELECT platform, account_id, 'author' FROM authors WHERE (platform, account_id) NOT IN (FROM owners) "
        "ORDER BY 1, 2", [owners, *params]).df()


def campaign_exposure(con: duckdb.DuckDBPyConnection, markers: CampaignMarkers, since: datetime | None = None,
                      channels: tuple[str, ...] = CHANNELS) -> pd.DataFrame:
    """Exposed accounts: platform, account_id, first_exposed_at, channels (list), evidence_post_ids
    (up to 10 campaign posts seen), exposures (count). Campaign authors and owners are not counted as
    exposed."""
    unknown = sorted(set(channels) - set(CHANNELS))
    if unknown:
        raise ConfianceError(f"unknown exposure channel(s) {unknown}; choose among {', '.join(CHANNELS)}")
    sql, params = _campaign_post_sql(markers, since)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _campaign_posts AS {sql}", params)
    owners = [{"p": p, "a": a} for p, a in markers.owners]
    try:
        parts = {
            "follow": "SELECT i.platform, i.src AS account_id, 'follow' AS channel, c.post_id, c.created_at AS at "
                      "FROM interactions i JOIN _campaign_posts c ON i.kind = 'follow' AND i.platform = c.platform "
                      "AND i.dst = c.account_id WHERE i.created_at IS NULL OR i.created_at <= c.created_at",
            "repost": "SELECT p.platform, p.account_id, p.kind, c.post_id, p.created_at FROM posts p "
                      "JOIN _campaign_posts c ON p.platform = c.platform "
                      "AND (p.parent_post_id = c.post_id OR p.root_post_id = c.post_id) AND p.kind <> 'post' "
                      "UNION ALL SELECT i.platform, i.src, i.kind, c.post_id, i.created_at FROM interactions i "
                      "JOIN _campaign_posts c ON i.platform = c.platform AND i.post_id = c.post_id "
                      "AND i.kind IN ('repost', 'quote', 'reply', 'like') "
                      # a repost the posts above already hold (keyed by the reposted post: a Mastodon boost)
                      f"WHERE NOT EXISTS (SELECT 1 FROM posts q WHERE {repost_post_of('i', 'q')})",
            "addressed": "SELECT p.platform, p.parent_account_id, 'addressed', c.post_id, c.created_at "
                         "FROM _campaign_posts c JOIN posts p ON p.platform = c.platform AND p.post_id = c.post_id "
                         "WHERE p.parent_account_id IS NOT NULL "
                         "UNION ALL SELECT c.platform, a.account_id, 'addressed', c.post_id, c.created_at "
                         "FROM _campaign_posts c JOIN posts p ON p.platform = c.platform AND p.post_id = c.post_id "
                         "JOIN accounts a ON a.platform = p.platform "
                         "AND list_contains(coalesce(p.mentions, []), lower(a.handle))",
        }
        union = " UNION ALL ".join(parts[k] for k in ("follow", "repost", "addressed"))
        return con.execute(
            f"WITH seen AS ({union}) "
            "SELECT s.platform, s.account_id, min(s.at) AS first_exposed_at, list(DISTINCT s.channel ORDER BY s.channel) "
            "AS channels, list(DISTINCT s.post_id ORDER BY s.post_id)[1:10] AS evidence_post_ids, count(*) AS exposures "
            "FROM seen s WHERE list_contains(?::VARCHAR[], s.channel) AND s.account_id IS NOT NULL "
            "AND (s.platform, s.account_id) NOT IN (SELECT platform, account_id FROM _campaign_posts) "
            "AND (s.platform, s.account_id) NOT IN (SELECT unnest(?::STRUCT(p VARCHAR, a VARCHAR)[], recursive := true)) "
            "GROUP BY s.platform, s.account_id ORDER BY s.platform, s.account_id", [list(channels), owners]).df()
    finally:
        con.execute("DROP TABLE IF EXISTS _campaign_posts")
