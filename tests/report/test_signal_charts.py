"""Sentiment and trend charts over a long corpus: the volume chart's bucketing (weeks, months), the
bucket named on the x axis, shares weighted by each period's posts, burst circles on their period."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pyarrow as pa
import pytest

from confiance.report.charts import MAX_TIME_POINTS, bucket_series, bucket_start, line_chart, time_bucket
from confiance.report.signals import collect_sentiment, collect_trends

FIRST = date(2021, 3, 3)
DAYS = 3 * 365  # three years: weekly under the volume chart's rule


def _corpus(ws) -> list[tuple[date, str]]:
    """One to three posts a day over three years, labelled by a fixed rule, all tagged #vote (bursting on one day)."""
    posts, labels = [], []
    for i in range(DAYS):
        day = FIRST + timedelta(days=i)
        for k in range(1 + i % 3):
            label = ("positive", "negative", "neutral")[(i + k) % 3] if i % 7 else "positive"
            posts.append((f"p{i}-{k}", day, ["vote"]))
            labels.append((f"p{i}-{k}", label))
    with ws.writer() as con:
        con.register("_posts", pa.table({
            "post_id": [p for p, _, _ in posts], "label": [lab for _, lab in labels],
            "created_at": [datetime.combine(d, datetime.min.time(), timezone.utc) + timedelta(hours=12) for _, d, _ in posts],
            "hashtags": [tags for _, _, tags in posts]}))
        con.execute("INSERT INTO posts (platform, post_id, account_id, created_at, kind, text, hashtags) "
                    "SELECT 'x', post_id, 'a', created_at, 'post', 'texte', hashtags FROM _posts")
        con.execute("CREATE TABLE post_sentiment AS SELECT 'x' AS platform, post_id, 'a' AS account_id, 'fr' AS lang, "
                    "label, 0.0 AS score, 'r' AS run_id FROM _posts")
        con.unregister("_posts")
        con.execute("CREATE TABLE trend_bursts AS SELECT 'hashtag' AS series_kind, 'vote' AS series, DATE '2023-05-17' AS day, "
                    "3 AS count, 0.1 AS expected, 9.5 AS score, 'r' AS run_id")
    return [(d, lab) for (_, d, _), (_, lab) in zip(posts, labels)]


def test_bucket_series_sums_each_period():
    days = [date(2024, 1, 1) + timedelta(days=i) for i in range(20)]
    periods, sums = bucket_series(days, list(range(20)), "week")
    assert periods == [date(2024, 1, 1), date(2024, 1, 8), date(2024, 1, 15)]
    assert sums == [sum(range(7)), sum(range(7, 14)), sum(range(14, 20))]
    assert bucket_series([], [], "month") == ([], [])


def test_axis_titles_are_drawn_below_and_above_the_plot():
    chart = line_chart([date(2024, 1, 1), date(2024, 1, 8)], {"a": [1, 2]}, x_title="week (starting Monday)",
                       y_title="posts")
    plain = line_chart([date(2024, 1, 1), date(2024, 1, 8)], {"a": [1, 2]})
    assert (chart.x_title, chart.y_title) == ("week (starting Monday)", "posts")
    assert plain.tick_y == plain.height - 8  # no title: the ticks stay where they were
    assert chart.tick_y <= chart.height - 3 - 14  # the x title's 11 px line fits under the tick labels
    assert chart.y_ticks[-1][0] - 4 >= 11  # the y title (baseline 11) sits above the top tick label
    assert [label for _, label in plain.y_ticks] == ["0", "0.5", "1", "1.5", "2"]  # small maxima keep their halves
    shares = line_chart([date(2024, 1, 1), date(2024, 1, 8)], {"a": [20, 45]})
    assert [label for _, label in shares.y_ticks] == ["0", "12.5", "25", "37.5", "50"]
    counts = line_chart([date(2024, 1, 1), date(2024, 1, 8)], {"a": [200, 2400]})
    assert [label for _, label in counts.y_ticks] == ["0", "625", "1,250", "1,875", "2,500"]


def test_sentiment_over_three_years_is_weekly_and_weighted_by_posts(workspace, tmp_path):
    corpus = _corpus(workspace)
    with workspace.reader() as con:
        data = collect_sentiment(con)
    bucket = time_bucket(FIRST, FIRST + timedelta(days=DAYS - 1))
    assert bucket == "week" and data["bucket"] == "week"
    chart = data["over_time"]
    assert chart.x_title.startswith("week") and chart.y_title == "% of posts"
    points = chart.series[0].points.split()
    assert len(points) <= MAX_TIME_POINTS and len(points) == DAYS // 7 + 1
    # independent count for one week: positive posts over all posts of that week
    week = bucket_start(date(2022, 6, 15), "week")
    in_week = [lab for d, lab in corpus if bucket_start(d, "week") == week]
    expected = 100 * in_week.count("positive") / len(in_week)
    k = (week - bucket_start(FIRST, "week")).days // 7
    y_of = lambda v: float(chart.y_ticks[0][0]) + (float(chart.y_ticks[-1][0]) - float(chart.y_ticks[0][0])) * v / 100
    assert float(points[k].split(",")[1]) == pytest.approx(y_of(expected), abs=0.06)
    from confiance.report import build_report

    html = build_report(workspace, tmp_path / "r.html").read_text()
    section = html[html.index('id="sentiment"'):html.index("</section>", html.index('id="sentiment"'))]
    assert "Sentiment per week" in section and "week (starting Monday)" in section and "% of posts" in section


def test_trends_over_three_years_are_weekly_with_the_burst_on_its_week(workspace):
    _corpus(workspace)
    with workspace.reader() as con:
        data = collect_trends(con)
    assert data["bucket"] == "week" and data["chart"].x_title.startswith("week")
    points = data["chart"].series[0].points.split()
    assert len(points) == DAYS // 7 + 1
    (marker,) = data["markers"]
    k = (bucket_start(date(2023, 5, 17), "week") - bucket_start(FIRST, "week")).days // 7
    assert (marker["x"], marker["y"]) == tuple(points[k].split(","))
    assert "on 2023-05-17" in marker["title"]
