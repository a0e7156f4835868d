"""Report section of the bot analysis: how bot likelihood is spread, and the likeliest bots with
the features behind their scores (``bot_scores``, ``bot_features``; read-only)."""

from __future__ import annotations

from typing import Any

import duckdb
import orjson

from confiance import i18n
from confiance.i18n import N_
from confiance.integrity.bots import FEATURES, SCORE_TABLE, load_model
from confiance.report.charts import bar_chart
from confiance.report.sections import Section, register_section
from confiance.store import has_table

TOP_ACCOUNTS = 25
EVIDENCE_SHOWN = 3
#: Bins of the calibrated probability for the distribution chart.
BINS = 10
#: How the report names each feature (English: its name with spaces); its meaning is the analysis's.
FEATURE_LABELS = {"posts_count_log": N_("posts count log"), "repost_ratio": N_("repost ratio"),
                  "quote_ratio": N_("quote ratio"), "hashtags_per_post": N_("hashtags per post"),
                  "mentions_per_post": N_("mentions per post"), "urls_per_post": N_("urls per post"),
                  "likes_per_post_log": N_("likes per post log"), "reposts_per_post_log": N_("reposts per post log"),
                  "following_follower_ratio_log": N_("following follower ratio log"), "listed_log": N_("listed log"),
                  "verified": N_("verified"), "interval_variance_log": N_("interval variance log"),
                  "reply_ratio": N_("reply ratio"), "default_avatar": N_("default avatar"),
                  "bio_length": N_("bio length"), "has_url": N_("has url"), "handle_length": N_("handle length"),
                  "handle_digits": N_("handle digits"), "name_digits": N_("name digits"),
                  "account_age_days": N_("account age days"), "posts_per_day": N_("posts per day"),
                  "hour_entropy": N_("hour entropy"), "interval_cv": N_("interval cv"),
                  "duplicate_text_share": N_("duplicate text share"), "activity": N_("activity")}


#: Features that are flags (1/0) or counts: shown as yes / no and as whole numbers, not "0.00".
FLAG_FEATURES = frozenset({"verified", "default_avatar", "has_url"})
COUNT_FEATURES = frozenset({"bio_length", "handle_length", "handle_digits", "name_digits"})


def feature_label(name: str) -> str:
    return i18n.label(FEATURE_LABELS, name)


def feature_value(name: str, value: Any, digits: int) -> str:
    """A feature's value as the reader reads it: a flag as yes / no, a count whole, a rate to ``digits`` decimals."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return i18n.number(value, digits)
    if name in FLAG_FEATURES:
        return i18n.gettext("yes") if value else i18n.gettext("no")
    return i18n.number(value, 0 if name in COUNT_FEATURES else digits)


def feature_meaning(name: str) -> str:
    return i18n.translate(FEATURES[name]) if name in FEATURES else ""


def collect_bots(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    if not has_table(con, SCORE_TABLE):
        return None
    counts = dict(con.execute(
        f"SELECT least(floor(score * {BINS}), {BINS - 1})::INTEGER AS bin, count(*) FROM {SCORE_TABLE} GROUP BY ALL"
    ).fetchall())
    distribution = bar_chart([(f"{i18n.fixed(b / BINS, 1)}–{i18n.fixed((b + 1) / BINS, 1)}", counts.get(b, 0))
                              for b in range(BINS)])
    totals = con.execute(
        f"SELECT platform, count(*), count(*) FILTER (WHERE label), avg(score) FROM {SCORE_TABLE} "
        "GROUP BY ALL ORDER BY platform").fetchall()
    rows = []
    for platform, account_id, handle, score, evidence in con.execute(
        f"SELECT s.platform, s.account_id, a.handle, s.score, s.evidence FROM {SCORE_TABLE} s "
        "LEFT JOIN (SELECT platform, account_id, any_value(handle) AS handle FROM accounts GROUP BY ALL) a "
        "  USING (platform, account_id) WHERE s.label "
        "ORDER BY s.score DESC, s.platform, s.account_id LIMIT ?", [TOP_ACCOUNTS],
    ).fetchall():
        items = orjson.loads(evidence) if isinstance(evidence, (str, bytes)) else evidence
        weighted = [e for e in items if e["contribution"] != 0][:EVIDENCE_SHOWN]
        shown = [e for e in items if e["contribution"] == 0 and not e.get("missing")]
        rows.append({"platform": platform, "account_id": account_id, "handle": handle, "score": score,
                     "features": [{**e, "label": feature_label(e["feature"]), "meaning": feature_meaning(e["feature"]),
                                   "shown": feature_value(e["feature"], e["value"], 3)} for e in weighted],
                     "telltales": [{**e, "label": feature_label(e["feature"]),
                                    "shown": feature_value(e["feature"], e["value"], 2)} for e in shown]})
    metadata = load_model().metadata
    return {
        "distribution": distribution,
        "platforms": [{"platform": p, "accounts": n, "likely": k, "mean": m} for p, n, k, m in totals],
        "rows": rows,
        "training": {"rows": metadata.get("rows"), "bots": metadata.get("bots"), "data": metadata.get("data", "")},
    }


register_section(Section("bots", N_("Bot likelihood"), 60, "bots.html", collect_bots))
