"""Report sections of the campaign's proof of impact: KPI counterfactuals (70), opinion shift (71),
survey waves and attribution (72). Each states the assumptions its figures rest on, in plain words."""

from __future__ import annotations

from typing import Any

import duckdb
import orjson

from confiance import i18n
from confiance.campaign.impact import ASSUMPTIONS, model_description
from confiance.i18n import N_
from confiance.report.charts import band_chart
from confiance.report.sections import Section, _rows, register_section
from confiance.store import has_table

#: How the attribution table names a kind of key that is not a UTM parameter.
ATTRIBUTION_KINDS = {"promo_code": N_("promo code")}
OPINION_ASSUMPTIONS = (
    N_("Without the campaign, exposed accounts and their matched unexposed accounts would have changed their "
       "stance by the same amount (parallel trends)."),
    N_("Exposure is read from the interaction graph (follows, reposts, replies, likes of campaign posts): accounts "
       "that saw a post without interacting count as unexposed, which dilutes the effect toward zero."),
    N_("The campaign did not reach the control accounts by other routes (no spillover)."),
)
SURVEY_ASSUMPTIONS = (
    N_("Survey weights make each wave represent the same population."),
    N_("The segment-adjusted comparison removes the differences between exposed and unexposed respondents "
       "that the segment explains, and only those."),
)
#: The messages of :data:`confiance.campaign.impact.ASSUMPTIONS`, for the catalogue (a test keeps them equal).
IMPACT_ASSUMPTION_MESSAGES = (
    N_("The control series were not affected by the campaign (no spillover onto them)."),
    N_("The relationship between the KPI and the controls seen before the campaign would have held after it."),
    N_("Nothing else that moves the KPI but not the controls happened at the same time as the campaign."),
    N_("The pre-period is long enough to learn that relationship (the model is fitted on it only)."),
)


#: How the report names the survey's pooled and unknown segments in another language than English.
SEGMENT_LABELS = {"all": N_("all respondents"), "unknown": N_("unknown segment")}


def _survey_label(value: str, labels: dict[str, str]) -> str:
    """A comparison or segment the survey step stores in English, in the report's language (wave names stay)."""
    return i18n.translate(labels[value]) if i18n.current() != i18n.LANGUAGES[0] and value in labels else value


def _translated(sentences: tuple[str, ...]) -> list[str]:
    return [i18n.translate(s) for s in sentences]


def collect_impact(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    if not has_table(con, "impact_results"):
        return None
    results = _rows(con, "SELECT * FROM impact_results ORDER BY series")
    for result in results:
        result["model"] = model_description(result["model"]) if result.get("model") else result.get("model")
        points = _rows(con, "SELECT * FROM impact_points WHERE series = ? ORDER BY idx", [result["series"]])
        labels = [p["ts"] for p in points]
        marker = result["intervention_index"]
        # the KPI's unit is whatever its file measures: the axis names the series, not a unit it cannot know
        x_title = i18n.gettext("date of the KPI value")
        result["chart"] = band_chart(labels, [p["actual"] for p in points], [p["predicted"] for p in points],
                                     [p["predicted_lower"] for p in points], [p["predicted_upper"] for p in points],
                                     marker, height=248, x_title=x_title,
                                     y_title=i18n.gettext("%(series)s (in the KPI's unit)", series=result["series"]))
        result["effect_chart"] = band_chart(labels[marker:], [p["cumulative_effect"] for p in points[marker:]],
                                            [0.0] * (len(points) - marker),
                                            [p["cumulative_lower"] for p in points[marker:]],
                                            [p["cumulative_upper"] for p in points[marker:]], None, height=188,
                                            x_title=x_title, y_title=i18n.gettext(
                                                "cumulative effect on %(series)s (in the KPI's unit)",
                                                series=result["series"]))
        result["controls"] = list(result["controls"] or [])
    attribution = (_rows(con, "SELECT kind, key, posts, accounts, engagements, kpi_totals FROM attribution "
                              "ORDER BY posts DESC, kind, key LIMIT 20") if has_table(con, "attribution") else [])
    for row in attribution:
        row["kpi_totals"] = orjson.loads(row["kpi_totals"]) if row["kpi_totals"] else {}
        # a UTM parameter keeps the name analytics tools give it (utm_source); a promo code is named in words
        row["kind_label"] = i18n.translate(ATTRIBUTION_KINDS[row["kind"]]) if row["kind"] in ATTRIBUTION_KINDS else row["kind"]
    return {"results": results, "assumptions": _translated(ASSUMPTIONS), "attribution": attribution}


def collect_opinion(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    if not has_table(con, "opinion_results"):
        return None
    row = _rows(con, "SELECT * FROM opinion_results")[0]
    summary = orjson.loads(row["summary"])
    return {"result": row, "summary": summary, "assumptions": _translated(OPINION_ASSUMPTIONS)}


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
    from confiance.campaign.surveys import ADJUSTED_COMPARISON, EXPOSED_COMPARISON

    comparisons = {c: c for c in (EXPOSED_COMPARISON, ADJUSTED_COMPARISON)}
    for change in changes:
        change["comparison"] = _survey_label(change["comparison"], comparisons)
    for share in shares:
        share["segment"] = _survey_label(share["segment"], SEGMENT_LABELS)
    return {"changes": changes, "shares": shares, "assumptions": _translated(SURVEY_ASSUMPTIONS)}


register_section(Section("impact", N_("Campaign impact on KPIs"), 70, "impact.html", collect_impact,
                         missing_hint=N_("run `confiance impact --series NAME --intervention DATE`")))
register_section(Section("opinion", N_("Opinion shift among exposed accounts"), 71, "opinion.html", collect_opinion,
                         missing_hint=N_("run `confiance opinion --intervention DATE --hashtag TAG`")))
register_section(Section("surveys", N_("Survey waves"), 72, "surveys.html", collect_surveys,
                         missing_hint=N_("ingest a survey CSV (wave,respondent,question,answer), then run "
                                         "`confiance analyze --only surveys`")))
