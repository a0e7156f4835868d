"""Report sections for conversation signals: trends with bursts marked, share of voice, sentiment by community."""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb
import orjson

from confiance import i18n
from confiance.i18n import N_
from confiance.report.charts import (Bucket, axis_title, bar_chart, bucket_name, bucket_series, bucket_start, line_chart,
                                     time_bucket)
from confiance.report.sections import Section, register_section
from confiance.store import has_table

#: Series drawn on the trends chart (the strongest emerging narratives).
CHART_SERIES = 6
#: Where the share-of-voice queries came from when a `confiance sov` run stored them.
LATEST_SOV = N_("the latest `confiance sov` run")


def _burst_markers(chart, names: list[str], bursts: list[dict[str, Any]], periods: list[date],
                   bucket: Bucket) -> list[dict[str, Any]]:
    """Chart coordinates of each burst: the vertex of its series' polyline at the period holding its day."""
    index = {d: i for i, d in enumerate(periods)}
    markers = []
    for k, name in enumerate(names):
        points = chart.series[k].points.split()
        for b in bursts:
            period = bucket_start(b["day"], bucket)
            if b["label"] == name and period in index:
                x, y = points[index[period]].split(",")
                markers.append({"x": x, "y": y, "color": chart.series[k].color,
                                "title": _burst_title(name, b)})
    return markers


def _burst_title(series: str, burst: dict[str, Any]) -> str:
    return i18n.ngettext("%(series)s: %(num)s post on %(day)s (expected %(expected)s, z %(z)s)",
                         "%(series)s: %(num)s posts on %(day)s (expected %(expected)s, z %(z)s)",
                         burst["count"], series=series, num=i18n.plain(burst["count"]), day=i18n.moment(burst["day"]),
                         expected=i18n.fixed(burst["expected"], 1), z=i18n.fixed(burst["score"], 1))


def collect_trends(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    from confiance.text.trends import METHOD, MIN_COUNT, MIN_HISTORY, THRESHOLD, WINDOW, daily_series, emerging_narratives

    if not has_table(con, "trend_bursts"):
        return None
    rows = con.execute("SELECT series_kind, series, day, count, expected, score FROM trend_bursts").fetchall()
    bursts = [dict(zip(("series_kind", "series", "day", "count", "expected", "score"), r)) for r in rows]
    narratives = emerging_narratives(bursts, top=15)
    chosen = sorted(narratives, key=lambda n: -n["peak_score"])[:CHART_SERIES]
    topics = _topic_labels(con)
    series: dict[str, Any] = {}
    periods: list[date] = []
    bucket: Bucket = "day"
    for kind in sorted({n["series_kind"] for n in chosen}):
        days, counts = daily_series(con, kind)
        if days:
            # the volume chart's bucketing: a long corpus is drawn per week or month, not per day
            bucket = time_bucket(days[0], days[-1])
        for n in chosen:
            if n["series_kind"] == kind and n["series"] in counts:
                periods, series[_label(kind, n["series"], topics)] = bucket_series(days, counts[n["series"]], bucket)
    chart = line_chart(periods, series, x_title=axis_title(bucket), y_title=i18n.gettext("posts")) if series else None
    for b in bursts:
        b["label"] = _label(b["series_kind"], b["series"], topics)
    markers = _burst_markers(chart, list(series), bursts, periods, bucket) if chart else []
    for n in narratives:
        n["label"] = _label(n["series_kind"], n["series"], topics)
    first, last = con.execute("SELECT min(CAST(created_at AS DATE)), max(CAST(created_at AS DATE)) FROM posts").fetchall()[0]
    span_days = (last - first).days + 1 if first is not None else 0
    return {"chart": chart, "markers": markers, "narratives": narratives, "method": i18n.translate(METHOD),
            "bursts": len(bursts), "bucket": bucket, "bucket_name": bucket_name(bucket),
            "window": WINDOW, "threshold": THRESHOLD, "min_count": MIN_COUNT,
            "min_history": MIN_HISTORY, "span_days": span_days,
            # a day is tested only after MIN_HISTORY earlier days: a shorter corpus cannot show a burst
            "too_short": span_days <= MIN_HISTORY}


def _label(kind: str, series: str, topic_labels: dict[str, str] | None = None) -> str:
    if kind == "topic" and topic_labels and series in topic_labels:
        # the topic's terms, as the topics section names it
        return i18n.gettext("topic %(topic)s: %(label)s", topic=series, label=topic_labels[series])
    if kind == "topic":
        return i18n.gettext("topic %(topic)s", topic=series)
    return {"hashtag": "#"}.get(kind, "") + series


def _topic_labels(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    if not has_table(con, "topics"):
        return {}
    return {str(t): label for t, label in con.execute("SELECT topic, label FROM topics WHERE label IS NOT NULL").fetchall()}


def default_queries(con: duckdb.DuckDBPyConnection, how_many: int = 5) -> list[str]:
    """The most used hashtags that a query can name as they are (``#word``), one query each."""
    rows = con.execute(
        "SELECT tag FROM (SELECT unnest(hashtags) AS tag FROM posts) WHERE regexp_full_match(tag, '[\\pL\\pN_]+') "
        "GROUP BY tag ORDER BY count(*) DESC, tag LIMIT ?", [how_many]).fetchall()
    return [f"#{tag}" for (tag,) in rows]


def collect_share_of_voice(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    from confiance.text.trends import share_of_voice

    if has_table(con, "share_of_voice"):
        rows = con.execute("SELECT \"by\", period, query, posts, share FROM share_of_voice ORDER BY period, query").fetchall()
        if not rows:  # the table keeps matched posts only: say so, with the queries, rather than draw nothing
            return {"source": i18n.translate(LATEST_SOV), "unmatched": _latest_sov_queries(con)}
        by = rows[0][0]
        series_rows = [dict(zip(("by", "period", "query", "posts", "share"), r)) for r in rows]
        queries = list(dict.fromkeys(r["query"] for r in series_rows))
        totals_by_query = {q: sum(r["posts"] for r in series_rows if r["query"] == q) for q in queries}
        source = i18n.translate(LATEST_SOV)
    else:
        if not con.execute("SELECT count(*) FROM posts").fetchall()[0][0]:
            return None
        queries = default_queries(con)
        if not queries:
            return None
        result = share_of_voice(con, queries, by="week")
        by, series_rows = result["by"], result["series"]
        totals_by_query = {r["query"]: r["posts"] for r in result["totals"]}
        source = i18n.gettext("the most used hashtags (run `confiance sov QUERY...` to compare your own queries)")
    periods = sorted({r["period"] for r in series_rows})
    index = {p: i for i, p in enumerate(periods)}
    shares = {q: [0.0] * len(periods) for q in queries}
    for r in series_rows:
        shares[r["query"]][index[r["period"]]] = 100.0 * r["share"]
    whole = sum(totals_by_query.values()) or 1
    return {
        "by": by, "by_name": bucket_name(by), "source": source,
        "chart": line_chart(periods, shares, x_title=axis_title(by), y_title=i18n.gettext("%% of matched posts"))
        if periods else None,
        "totals": bar_chart([(q, round(100.0 * n / whole, 1)) for q, n in totals_by_query.items()], label_width=220),
        "counts": [{"query": q, "posts": n} for q, n in totals_by_query.items()],
    }


def _latest_sov_queries(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The queries of the latest `confiance sov` run (from its recorded parameters)."""
    rows = con.execute("SELECT parameters FROM analysis_runs WHERE step = 'share_of_voice' "
                       "ORDER BY finished_at DESC LIMIT 1").fetchall()
    parameters = orjson.loads(rows[0][0]) if rows and rows[0][0] else {}
    return [str(q) for q in parameters.get("queries") or []]


def collect_sentiment(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    from confiance.text.sentiment import sentiment_breakdown

    if not has_table(con, "post_sentiment"):
        return None
    if not con.execute("SELECT count(*) FROM post_sentiment").fetchall()[0][0]:
        return {"not_enough": i18n.gettext("no post, reply or quote with text to score "
                                           "(reposts carry no text of their own)")}
    communities = sentiment_breakdown(con, "community")[:12]
    languages = sentiment_breakdown(con, "language")
    daily = sorted(sentiment_breakdown(con, "day"), key=lambda r: r["key"])
    days = [date.fromisoformat(r["key"]) for r in daily]
    bucket: Bucket = time_bucket(days[0], days[-1]) if days else "day"
    # shares per period weighted by the day's posts: the share of the period's posts, not a mean of daily shares
    periods, posts = bucket_series(days, [r["posts"] for r in daily], bucket)
    kept = [i for i, n in enumerate(posts) if n]  # a period without posts has no share (not 0 %)
    shares = {}
    for label, key in ((N_("%% positive"), "positive"), (N_("%% negative"), "negative")):
        _, labelled = bucket_series(days, [r[key] * r["posts"] for r in daily], bucket)
        shares[i18n.gettext(label)] = [100 * labelled[i] / posts[i] for i in kept]
    periods = [periods[i] for i in kept]
    return {
        "communities": communities,
        "positive_chart": bar_chart([(_community(r["key"]), round(100 * r["positive"], 1)) for r in communities]),
        "negative_chart": bar_chart([(_community(r["key"]), round(100 * r["negative"], 1)) for r in communities]),
        "languages": languages,
        "bucket": bucket, "bucket_name": bucket_name(bucket),
        "over_time": line_chart(periods, shares, x_title=axis_title(bucket), y_title=i18n.gettext("%% of posts"))
        if daily else None,
    }


def _community(key: object) -> str:
    return i18n.gettext("community %(community)s", community=key)


register_section(Section("trends", N_("Trends and emerging narratives"), 45, "trends.html", collect_trends,
                         missing_hint=N_("run `confiance analyze --only trends`")))
register_section(Section("share_of_voice", N_("Share of voice"), 46, "share_of_voice.html", collect_share_of_voice))
register_section(Section("sentiment", N_("Sentiment by community"), 47, "sentiment.html", collect_sentiment,
                         missing_hint=N_("run `confiance analyze --only sentiment`")))
