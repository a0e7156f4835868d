"""The report on the 9 format samples ingested together: posts over 20 years, a fragmented graph."""

from __future__ import annotations

import re
from datetime import date

import pytest

from confiance.pipeline import analyze
from confiance.report import build_report
from confiance.report.charts import MAX_TIME_POINTS, bucket_periods, bucket_start, time_bucket
from confiance.report.sections import collect_volume
from tests.conftest import FORMATS, ingest


@pytest.fixture(scope="module")
def formats_ws(tmp_path_factory):
    from confiance.workspace import Workspace

    ws = Workspace.init(tmp_path_factory.mktemp("formats") / "ws")
    ingest(ws, FORMATS)
    analyze(ws, only=["overview", "graph", "communities", "polarization"])
    return ws


def _section(html: str, key: str) -> str:
    start = html.index(f'id="{key}"')
    return html[start:html.index("</section>", start)]


def test_time_bucket_follows_the_span():
    assert time_bucket(date(2024, 1, 1), date(2024, 12, 31)) == "day"
    assert time_bucket(date(2020, 1, 1), date(2024, 12, 31)) == "week"
    assert time_bucket(date(2005, 6, 23), date(2026, 8, 1)) == "month"
    assert time_bucket(date(1900, 1, 1), date(2026, 8, 1)) == "year"
    for first, last in ((date(2023, 1, 4), date(2024, 2, 6)), (date(2016, 3, 31), date(2024, 2, 29)),
                        (date(1990, 12, 31), date(2024, 1, 1))):
        bucket = time_bucket(first, last)
        periods = bucket_periods(first, last, bucket)
        assert len(periods) <= MAX_TIME_POINTS
        assert (periods[0], periods[-1]) == (bucket_start(first, bucket), bucket_start(last, bucket))
    weeks = bucket_periods(date(2024, 1, 3), date(2024, 1, 15), "week")
    assert weeks == [date(2024, 1, 1), date(2024, 1, 8), date(2024, 1, 15)]
    assert bucket_periods(date(2023, 11, 30), date(2024, 2, 1), "month") == [
        date(2023, 11, 1), date(2023, 12, 1), date(2024, 1, 1), date(2024, 2, 1)]


def test_volume_over_20_years_is_monthly_and_keeps_every_post(formats_ws):
    with formats_ws.reader() as con:
        volume = collect_volume(con)
        first, last, posts = con.execute("SELECT min(day), max(day), sum(posts) FROM overview_volume").fetchall()[0]
    assert (last - first).days > 20 * 365
    assert volume["bucket"] == "month"
    for chart in (volume["by_platform"], volume["by_language"]):
        points = [s.points.split() for s in chart.series]
        assert all(len(p) <= MAX_TIME_POINTS for p in points)
    # 9 platforms, 6 drawn; every post of a drawn platform is in its monthly points
    drawn = {s.label for s in volume["by_platform"].series}
    with formats_ws.reader() as con:
        per_platform = dict(con.execute("SELECT platform, sum(posts) FROM overview_volume GROUP BY 1").fetchall())
    assert len(drawn) == min(6, len(per_platform)) and sum(per_platform.values()) == posts


def test_report_volume_section_is_small_and_says_its_bucket(formats_ws, tmp_path):
    html = build_report(formats_ws, tmp_path / "r.html").read_text()
    volume = _section(html, "volume")
    assert len(volume) < 60_000  # was 1.1 MB: one point per day over 20 years
    assert "Posts per month, by platform" in volume and "Posts per month, by language" in volume
    assert "Posts per day" not in volume and "2005-06-23 to 2026-08-01" in volume


def test_report_says_why_there_is_no_polarisation_score(formats_ws, tmp_path):
    section = _section(build_report(formats_ws, tmp_path / "r.html").read_text(), "polarization")
    assert "No polarisation score:" in section and "18 accounts, fewer than 40" in section
    assert "random-walk controversy</th>" not in section and not re.search(r"<td[^>]*>-0\.\d+</td>", section)


def test_report_declares_the_language_it_is_written_in(formats_ws, tmp_path):
    html = build_report(formats_ws, tmp_path / "r.html").read_text()
    assert re.match(r'<!doctype html>\s*<html lang="en">', html)  # its words are English (it said "fr")


def test_share_of_voice_that_matched_nothing_says_so_with_its_queries(formats_ws, tmp_path):
    from confiance.pipeline import rerun
    from confiance.text.trends import run_share_of_voice

    queries = ["#nothingmatchesthis", '"<b>no such brand</b>"']
    rerun(formats_ws, "share_of_voice", {"queries": queries, "by": "week"},
          lambda con, run_id: run_share_of_voice(con, run_id, queries, by="week"))
    section = _section(build_report(formats_ws, tmp_path / "r.html").read_text(), "share_of_voice")
    assert "No post matched the queries of the latest `confiance sov` run" in section
    assert "<code>#nothingmatchesthis</code>" in section and "<code>&#34;&lt;b&gt;no such brand&lt;/b&gt;&#34;</code>" in section
    assert "<svg" not in section and "<table" not in section
