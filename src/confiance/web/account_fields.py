"""How the account page names what it shows, in the page's language: each analysis's table by what it holds,
each column by what it measures, and the analyses' stored codes among the values ("creator": "professional
creator"); the columns that mean nothing to a reader (internal ids, log-scaled and rescaled helper columns the
models read, map coordinates) are left out.

Only the HTML page uses it; the JSON API keeps the stored tables and names. A label the dashboard already has
(evidence keys, bot features, style features, the tables' column headings) is that message, so both say the same
thing. ``tests/web/test_french.py`` checks that every column an analysis writes per account is labelled or hidden,
so a new column cannot reach the page under its stored name.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from confiance import i18n
from confiance.i18n import N_
from confiance.influence.fit import STYLE_FEATURE_LABELS
from confiance.report.bots import FEATURE_LABELS
from confiance.report.coordination import kind_label
from confiance.report.disclosure import disclosure_label, verdict_label
from confiance.report.trust import rating_label, type_label
from confiance.web.evidence_keys import EVIDENCE_KEYS

#: Each table an analysis writes per account, by what it holds.
TABLE_TITLES: dict[str, str] = {
    "account_bridging": N_("Bridging between sides"), "account_sources": N_("Links shared and their sources"),
    "account_stance": N_("Stance toward the target"), "account_style": N_("Writing style"),
    "account_types": N_("Account type"), "audience_credibility": N_("Audience credibility"),
    "audience_profiles": N_("Audience profile"), "bot_features": N_("Bot model features"),
    "bot_scores": N_("Bot likelihood"), "campaign_exposure": N_("Exposure to the campaign"),
    "communities": N_("Community"), "coordination_groups": N_("Coordinated group"),
    "disclosure_accounts": N_("Disclosure by account"), "disclosure_posts": N_("Disclosure audit"),
    "fit": N_("Brand fit"), "harm_profiles": N_("Harmful-influence profile"),
    "influence_evidence": N_("Influence evidence"), "influence_scores": N_("Influence"),
    "opinion_matches": N_("Matched control accounts (opinion shift)"), "overview_accounts": N_("Activity and engagement"),
    "plan_results": N_("Campaign plan"), "post_sentiment": N_("Post sentiment"), "post_stance": N_("Post stance"),
    "url_shares": N_("Shared links"),
}

#: Inferred labels that can reveal an opinion (a polarised graph's sides are often political camps): the
#: dashboard shows them only in aggregate, never on one person's page or row.
SENSITIVE_COLUMNS = frozenset({"side", "polarization_side", "polarization_position", "exposure_side0", "exposure_side1"})
#: Tables that mean nothing read one account at a time (the map's coordinates).
HIDDEN_TABLES = frozenset({"graph_layout"})
#: Columns that mean nothing to a reader: ids of rows, runs and the account itself (the page's heading).
HIDDEN_COLUMNS = frozenset({"run_id", "platform", "account_id", "handle", "display_name", "share_id", "parent_share_id",
                            "ref", "control_platform", "parameters", "passage_start", "passage_end"})
#: Columns that are not about the account: the whole plan's summary, repeated on each of its seeds.
HIDDEN_TABLE_COLUMNS = frozenset({("plan_results", "summary")})
#: Suffixes of the helper columns the models read: log-scaled counts and the components rescaled to [0, 1].
HIDDEN_SUFFIXES = ("_log", "_scaled")

#: Each column by what it measures; a column named alike in several tables means the same in each.
FIELD_LABELS: dict[str, str] = {
    **{k: v for k, v in FEATURE_LABELS.items() if not k.endswith(HIDDEN_SUFFIXES)},
    **STYLE_FEATURE_LABELS, **EVIDENCE_KEYS,
    # account_bridging
    "bridging": N_("bridging"), "participation": N_("participation"),
    # account_sources
    "rated_links": N_("links with a rated source"), "reposted_links": N_("reposted links"), "reposted_low_credibility": N_("reposted low-credibility links"),
    "low_credibility_domains": N_("low-credibility domains"), "evidence": N_("evidence"),
    # account_stance and post_stance
    "target": N_("target"), "period": N_("period"), "stance": N_("stance"), "n_posts": N_("posts"),
    "probability": N_("probability"),
    "relevance": N_("relevance"),
    # account_types
    "type": N_("type"), "confidence": N_("confidence"), "scores": N_("score per type"),
    # audience_credibility
    "suspicious_share": N_("suspicious share of the audience"), "bot_engagers": N_("engaging bots"),
    "coordinated_engagers": N_("coordinated engaging accounts"),
    "suspicious_interaction_share": N_("suspicious share of interactions"),
    "followers_observed": N_("followers observed"), "suspicious_followers": N_("suspicious followers"),
    "suspicious_follower_share": N_("suspicious share of followers"), "suspicious_accounts": N_("suspicious accounts"),
    "suspicious_not_listed": N_("suspicious accounts not listed"), "status": N_("status"),
    # audience_profiles
    "category": N_("category"), "provider": N_("provider"),
    # bot_scores
    "score": N_("bot probability"), "label": N_("flagged as a likely bot"),
    # campaign_exposure and opinion_matches
    "first_exposed_at": N_("first exposed"), "channels": N_("channels"), "evidence_post_ids": N_("evidence posts"),
    "exposures": N_("exposures"), "control_account_id": N_("control account"),
    # communities, coordination_groups
    "community": N_("community"), "group_id": N_("coordinated group"),
    # disclosure_accounts and disclosure_posts
    "unclear_posts": N_("posts with an unclear mention"), "banned_posts": N_("posts in a banned category"),
    "undisclosed_share": N_("undisclosed share"), "commercial": N_("commercial"),
    "verdict": N_("verdict"), "findings": N_("evidence"),
    # fit and plan_results
    "rank": N_("rank"), "fit": N_("fit"), "explanation": N_("why"), "brand": N_("brand"), "cost": N_("cost"),
    "marginal_gain": N_("marginal gain"), "marginal_share": N_("marginal share"),
    # harm_profiles
    "bot_engagements": N_("engagements from bots"), "bot_amplification_share": N_("bot amplification"),
    "bot_amplifier_share": N_("share of bot amplifiers"), "coordination_kinds": N_("kinds of coordination"),
    "undisclosed_posts": N_("undisclosed posts"),
    # influence_evidence
    "kind": N_("kind"),
    # influence_scores
    "engagement_per_post": N_("engagement per post"), "engagement_rate": N_("engagement rate"),
    "active_weeks_share": N_("active weeks"), "weekly_cv": N_("week-to-week variation"),
    "followers_pct": N_("followers (percentile)"), "unique_engagers_pct": N_("unique engagers (percentile)"),
    "engagement_per_post_pct": N_("engagement per post (percentile)"),
    "amplification_pct": N_("amplification (percentile)"), "authority_pct": N_("authority (percentile)"),
    "engagement_rate_pct": N_("engagement rate (percentile)"), "coreness_pct": N_("coreness (percentile)"),
    "active_weeks_share_pct": N_("active weeks (percentile)"), "influence": N_("influence"),
    "weights": N_("weights"),
    # overview_accounts, post_sentiment
    "engagement": N_("engagement"), "lang": N_("language"),
    # url_shares
    "created_at": N_("posted"), "url": N_("link"), "domain": N_("domain"), "shortened": N_("shortened link"),
    "expanded": N_("expanded"), "rating": N_("credibility rating"), "rated_domain": N_("rated domain"),
    "credibility_source": N_("credibility list"),
}
#: Columns a table names otherwise than :data:`FIELD_LABELS` (the same name, another measure).
TABLE_FIELD_LABELS: dict[tuple[str, str], str] = {
    ("post_sentiment", "label"): N_("sentiment"), ("post_sentiment", "score"): N_("sentiment score"),
    ("post_stance", "label"): N_("stance"), ("post_stance", "stance"): N_("stance score"),
    ("account_stance", "stance"): N_("stance score"),
    ("influence_evidence", "label"): N_("account or post"), ("influence_evidence", "value"): N_("interactions"),
    ("url_shares", "kind"): N_("kind"),
}

#: The analyses' stored codes, by what they say.
CODE_LABELS: dict[str, str] = {
    "top_engager": N_("top engager"), "example_post": N_("most engaged post"),
    "post": N_("post"), "reply": N_("reply"), "repost": N_("repost"), "quote": N_("quote"),
    "positive": N_("positive"), "neutral": N_("neutral"), "negative": N_("negative"),
    "favour": N_("favourable"), "against": N_("against"),
    "estimated": N_("estimated"), "supplied": N_("supplied"), "computed": N_("computed"),
    # who supplied an audience report (audience_profiles.provider)
    "platform_insights": N_("platform insights"), "creator": N_("the account's own report"),
    "community": N_("community"), "language": N_("language"), "age": N_("age"), "country": N_("country"),
    "gender": N_("gender"),
}


def code_label(value: Any) -> Any:
    """A code an analysis or the store writes ("top_engager", a post's kind "repost") as the page names it."""
    return i18n.label(CODE_LABELS, value) if isinstance(value, str) and value in CODE_LABELS else value


def _each(name: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A code's label applied to each code of a list (the kinds of a coordinated group)."""
    return lambda values: [name(v) for v in values] if isinstance(values, (list, tuple)) else name(values)


#: How each column's stored codes read (a column not here shows its values as stored).
VALUE_LABELS: dict[tuple[str, str], Callable[[Any], Any]] = {
    ("account_types", "type"): type_label,
    ("influence_evidence", "kind"): code_label, ("url_shares", "kind"): code_label, ("url_shares", "rating"): rating_label,
    ("post_sentiment", "label"): code_label, ("post_sentiment", "lang"): i18n.language_name,
    ("post_stance", "label"): code_label, ("audience_profiles", "dimension"): code_label,
    ("audience_profiles", "source"): code_label, ("audience_profiles", "provider"): code_label,
    ("audience_credibility", "status"): code_label,
    ("disclosure_posts", "verdict"): verdict_label, ("disclosure_posts", "disclosure"): disclosure_label,
    ("coordination_groups", "kinds"): _each(kind_label), ("harm_profiles", "coordination_kinds"): _each(kind_label),
    ("campaign_exposure", "channels"): _each(code_label),
}
#: The profile's fields (the ``accounts`` table) by what they hold.
PROFILE_LABELS: dict[str, str] = {
    "platform": N_("platform"), "followers": N_("followers"), "following": N_("following"),
    "posts_count": N_("posts"), "verified": N_("verified"), "created_at": N_("created"), "lang": N_("language"),
    "display_name": N_("name"), "bio": N_("bio"), "location": N_("location"), "url": N_("url"),
}


def hidden(table: str, column: str) -> bool:
    return (column in HIDDEN_COLUMNS or column in SENSITIVE_COLUMNS or (table, column) in HIDDEN_TABLE_COLUMNS
            or column.endswith(HIDDEN_SUFFIXES))


def field_label(table: str, column: str) -> str | None:
    """The message that names ``column`` of ``table`` (None: not labelled)."""
    return TABLE_FIELD_LABELS.get((table, column)) or FIELD_LABELS.get(column)


def unlabelled(table: str, columns: Iterable[str]) -> list[str]:
    """The columns of ``table`` that the page would show without a label (a test keeps this empty)."""
    if table in HIDDEN_TABLES:
        return []
    missing = [] if table in TABLE_TITLES else [table]
    return missing + [c for c in columns if not hidden(table, c) and field_label(table, c) is None]


def named_codes(scores: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The score rows with the analyses' stored codes named in the page's language (before the evidence is
    written as text: a list of codes is named code by code)."""
    return {table: [{c: VALUE_LABELS[table, c](v) if (table, c) in VALUE_LABELS and v is not None else v
                     for c, v in row.items()} for row in rows] for table, rows in scores.items()}


def shown_tables(scores: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The account page's score tables as it shows them: ``{"title", "labels", "rows"}`` each, the title and
    the labels in the page's language, each row its shown values in the labels' order."""
    out = []
    for table, rows in scores.items():
        if table in HIDDEN_TABLES or not rows:
            continue
        columns = [c for c in rows[0] if not hidden(table, c)]
        labels = [i18n.translate(field_label(table, c) or c.replace("_", " ")) for c in columns]
        out.append({"title": i18n.label(TABLE_TITLES, table), "labels": labels,
                    "rows": [[row.get(c) for c in columns] for row in rows]})
    return out


def shown_profile(profile: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """The profile's fields that hold a value: ``(field, label in the page's language, value)``."""
    return [(k, i18n.label(PROFILE_LABELS, k), v) for k, v in profile.items() if v is not None]
