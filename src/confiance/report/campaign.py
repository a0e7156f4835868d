"""Report sections of the campaign's proof of impact: KPI counterfactuals (70), opinion shift (71),
survey waves and attribution (72). Each states the assumptions its figures rest on, in plain words."""

from __future__ import annotations

from typing import Any

import duckdb
import orjson

from confiance.campaign.impact import ASSUMPTIONS
from confiance.report.charts import band_chart
from confiance.report.sections import Section, _rows, register_section
from confiance.store import has_table

OPINION_ASSUMPTIONS = (
    "Without the campaign, exposed accounts and their matched unexposed accounts would have changed their "
    "stance by the same amount (parallel trends).",
    "Exposure is read from the interaction graph (follows, reposts, replies, likes of campaign posts): accounts "
    "that saw a post without interacting count as unexposed, which dilutes the effect toward zero.",
    "The campaign did not reach the control accounts by other routes (no spillover).",
)
SURVEY_ASSUMPTIONS = (
    "Survey weights make each wave represent the same population.",
    "The segment-adjusted comparison removes the differences between exposed and unexposed respondents "
    "that the segment explains, and only those.",
)


def collect_impact(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    if not has_table(con, "impact_results"):
        return None
    results = _rows(con, "SELECT * FROM impact_results ORDER BY series")
    for result in results:
        points = _rows(con, "SELECT * FROM impact_points WHERE series = ? ORDER BY idx", [result["series"]])
        labels = [p["ts"] for p in points]
        marker = result["intervention_index"]
        result["chart"] = band_chart(labels, [p["actual"] for p in points], [p["predicted"] for p in points],
                                     [p["predicted_lower"] for p in points], [p["predicted_upper"] for p in points],
                                     marker)
        result["effect_chart"] = band_chart(labels[marker:], [p["cumulative_effect"] for p in points[marker:]],
                                            [0.0] * (len(points) - marker),
                                            [p["cumulative_lower"] for p in points[marker:]],
                                            [p["cumulative_upper"] for p in points[marker:]], None, height=160)
        result["controls"] = list(result["controls"] or [])
    attribution = (_rows(con, "SELECT kind, key, posts, accounts, engagements, kpi_totals FROM attribution "
                              "ORDER BY posts DESC, kind, key LIMIT 20") if has_table(con, "attribution") else [])
    for row in attribution:
        row["kpi_totals"] = orjson.loads(row["kpi_totals"]) if row["kpi_totals"] else {}
    return {"results": results, "assumptions": ASSUMPTIONS, "attribution": attribution}


def collect_opinion(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    if not has_table(con, "opinion_results"):
        return None
    row = _rows(con, "SELECT * FROM opinion_results")[0]
    summary = orjson.loads(row["summary"])
    return {"result": row, "summary": summary, "assumptions": OPINION_ASSUMPTIONS}


def collect_surveys(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    if not has_table(con, "survey_changes"):
        return None
    changes = _rows(con, "SELECT question, answer, comparison, segment, estimate, lower, upper FROM survey_changes "
                         "WHERE segment = 'all' ORDER BY question, answer, comparison")
    # a segment that holds every respondent of its wave (a survey without a segment column: all "unknown")
    # only repeats the "all" row
    shares = _rows(con, "SELECT s.question, s.answer, s.wave, s.segment, s.estimate, s.lower, s.upper, s.respondents, "
                        "s.effective_n FROM survey_shares s WHERE s.exposed = 'all' AND (s.segment = 'all' OR NOT EXISTS ("
                        "  SELECT 1 FROM survey_shares a WHERE a.exposed = 'all' AND a.segment = 'all' "
                        "  AND a.question = s.question AND a.answer IS NOT DISTINCT FROM s.answer AND a.wave = s.wave "
                        "  AND a.respondents = s.respondents)) ORDER BY s.question, s.answer, s.segment, s.wave")
    return {"changes": changes, "shares": shares, "assumptions": SURVEY_ASSUMPTIONS}


register_section(Section("impact", "Campaign impact on KPIs", 70, "impact.html", collect_impact,
                         missing_hint="run `confiance impact --series NAME --intervention DATE`"))
register_section(Section("opinion", "Opinion shift among exposed accounts", 71, "opinion.html", collect_opinion,
                         missing_hint="run `confiance opinion --intervention DATE --hashtag TAG`"))
register_section(Section("surveys", "Survey waves", 72, "surveys.html", collect_surveys,
                         missing_hint="ingest a survey CSV (wave,respondent,question,answer), then run "
                                      "`confiance analyze --only surveys`"))
