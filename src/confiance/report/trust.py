"""Report sections of source credibility, account types and harmful-influence profiles.

Each ``collect`` reads the derived tables (read-only) and returns None when its table is missing, so
the report says which command makes it. Inputs of the harm profile that other steps compute (bots,
coordination, disclosure) show as "not computed" when those steps have not run.
"""

from __future__ import annotations

from typing import Any

import duckdb
import orjson

from confiance import i18n
from confiance.i18n import N_
from confiance.report.charts import bar_chart
from confiance.report.sections import Section, _rows, register_section
from confiance.store import has_table
from confiance.wording import account_name, handles_of

TOP_DOMAINS = 12
TOP_CASCADES = 10
TOP_PROFILES = 15
#: The messages of :data:`confiance.influence.accounts.TYPE_LABELS`, for the catalogue (a test keeps them equal).
TYPE_LABEL_MESSAGES = {"expert": N_("individual expert (B2B)"), "creator": N_("professional creator"),
                       "media": N_("media"), "brand": N_("brand"), "institution": N_("institution"),
                       "other": N_("other")}
#: How the report names a domain's rating.
RATING_LABELS = {"low": N_("low"), "mixed": N_("mixed"), "high": N_("high")}


def type_label(account_type: str) -> str:
    from confiance.influence.accounts import TYPE_LABELS

    return i18n.translate(TYPE_LABELS[account_type]) if account_type in TYPE_LABELS else account_type


def rating_label(rating: str) -> str:
    return i18n.translate(RATING_LABELS[rating]) if rating in RATING_LABELS else rating


def collect_source_credibility(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    if not has_table(con, "url_cascades"):
        return None
    from confiance.integrity.sources import domain_shares

    totals = _rows(con, "SELECT count(*) AS shares, count(DISTINCT url) AS urls, count(DISTINCT domain) AS domains, "
                        "count(*) FILTER (WHERE rating = 'low') AS low, count(*) FILTER (WHERE rating IS NOT NULL) AS rated, "
                        "count(*) FILTER (WHERE shortened AND NOT expanded) AS unexpanded FROM url_shares")[0]
    origins = {r["origin"]: r["n"] for r in _rows(con, "SELECT origin, count(*) AS n FROM domain_credibility GROUP BY origin")}
    domains = domain_shares(con, top=TOP_DOMAINS)
    low = domain_shares(con, top=TOP_DOMAINS, rating="low")
    cascades = _rows(con, "SELECT platform, url, domain, rating, first_handle, first_account_id, first_at, accounts, posts, "
                          "reposts, followers_reach, depth, max_breadth, structural_virality, evidence[1:3] AS evidence "
                          "FROM url_cascades ORDER BY accounts DESC, size DESC, url LIMIT ?", [TOP_CASCADES])
    for cascade in cascades:
        rating = cascade["rating"]
        cascade["rating_label"] = rating_label(rating)
    low_cascades = _rows(con, "SELECT platform, url, domain, first_handle, first_account_id, first_at, accounts, reposts, "
                              "depth, structural_virality, evidence[1:3] AS evidence FROM url_cascades WHERE rating = 'low' "
                              "ORDER BY accounts DESC, size DESC, url LIMIT ?", [TOP_CASCADES])
    return {"totals": totals, "origins": origins,
            "domains": domains, "domain_chart": bar_chart([(d["domain"] or "?", d["shares"]) for d in domains]),
            "low": low, "cascades": cascades, "low_cascades": low_cascades}


def collect_account_types(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    if not has_table(con, "account_types"):
        return None
    counts = _rows(con, "SELECT type, count(*) AS accounts, avg(confidence) AS confidence FROM account_types "
                        "GROUP BY type ORDER BY accounts DESC, type")
    join, order = (("LEFT JOIN influence_scores i USING (platform, account_id) ", "i.rank NULLS LAST, t.confidence DESC")
                   if has_table(con, "influence_scores") else ("", "t.confidence DESC"))
    examples = _rows(con, f"SELECT t.platform, t.account_id, t.handle, t.type, t.confidence, t.evidence FROM account_types t "
                          f"{join}WHERE t.type <> 'other' ORDER BY {order}, t.platform, t.account_id LIMIT 20")
    from confiance.influence.accounts import cue_label, cue_value

    for row in examples:
        cues = orjson.loads(row.pop("evidence"))
        row["cues"] = [cue_label(c["cue"]) + (f" {i18n.quoted(c['span'])}" if "span" in c else
                                              f" ({cue_value(c['value'])})" if "value" in c else "") for c in cues][:4]
        row["label"] = type_label(row["type"])
    return {"counts": [{**c, "label": type_label(c["type"])} for c in counts],
            "chart": bar_chart([(type_label(c["type"]), c["accounts"]) for c in counts]),
            "examples": examples}


def collect_harm_profiles(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    if not has_table(con, "harm_profiles"):
        return None
    from confiance.integrity.harm import harm_listing

    rows = harm_listing(con, top=TOP_PROFILES)
    missing = set()
    for row in rows:
        evidence = row["evidence"]
        for key, value in evidence.items():
            if isinstance(value, str):
                missing.add(value)
        bots = evidence["bot_amplification"]
        row["bot_engagers"] = [e["account_id"] for e in bots["top_bot_engagers"][:3]] if isinstance(bots, dict) else []
        low = evidence["low_credibility"]
        row["low_domains"] = list(low["domains"])[:3] if isinstance(low, dict) else []
        row["low_posts"] = list(low["posts"])[:2] if isinstance(low, dict) else []
        # the n behind each share, so 100 % of 1 post reads as what it is
        row["links"] = low.get("links") if isinstance(low, dict) else None
        disclosure = evidence.get("disclosure")
        row["commercial_posts"] = disclosure.get("commercial_posts") if isinstance(disclosure, dict) else None
        row["suspicious"] = [account_name(s.get("handle"), s["account_id"]) for s in (row.pop("suspicious_accounts") or [])[:3]]
        # no group: "no" when coordination was computed, "–" (not measured) when it was not
        row["coordination_measured"] = isinstance(evidence.get("coordination"), dict)
    # the profile's evidence keeps account ids (stable keys); the report names accounts as the other sections do
    handles = handles_of(con, {(r["platform"], a) for r in rows for a in r["bot_engagers"]})
    for row in rows:
        row["bot_engagers"] = [account_name(handles.get((row["platform"], a)), a) for a in row["bot_engagers"]]
    return {"rows": rows, "missing": sorted(_missing_note(con, note) for note in missing)}


def _missing_note(con: duckdb.DuckDBPyConnection, note: str) -> str:
    """A signal's "not computed" evidence (stored in English) in the report's language."""
    from confiance.graph.polarization import polarization_summary
    from confiance.integrity.harm import MISSING_NOTES, SPLIT_NOTE
    from confiance.report.network import polarization_reason

    if i18n.current() == i18n.LANGUAGES[0]:
        return note
    if note in MISSING_NOTES.values():
        return i18n.translate(note)
    if has_table(con, "polarization"):
        scores = polarization_summary(con)
        if scores["reason"] and note == SPLIT_NOTE % {"reason": scores["reason"]}:
            return i18n.gettext(SPLIT_NOTE, reason=polarization_reason(scores))
    return note  # a note of an older version stays as written


register_section(Section("source-credibility", N_("Source credibility and URL cascades"), 62, "source_credibility.html",
                         collect_source_credibility))
register_section(Section("account-types", N_("Account types"), 64, "account_types.html", collect_account_types))
register_section(Section("harm-profiles", N_("Harmful-influence profiles of the top influencers"), 65, "harm_profiles.html",
                         collect_harm_profiles))
