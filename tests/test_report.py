"""The HTML report: self-contained, escaped, only http(s) links, sections through the extension point."""

from __future__ import annotations

import json
import re

from confiance.pipeline import analyze
from confiance.report import build_report, http_url
from confiance.report.sections import Section, all_sections, register_section
from tests.conftest import FORMATS, ingest


def test_report_is_self_contained_and_shows_the_overview(workspace, tmp_path):
    ingest(workspace, FORMATS / "twitter-v2-json")
    analyze(workspace)
    html = build_report(workspace, tmp_path / "r.html").read_text()
    assert "<script" not in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # nothing loads from elsewhere
    assert "@import" not in html and "url(" not in html
    for title in ("Sources and data quality", "Volumes over time", "Top accounts", "Top hashtags and domains"):
        assert title in html
    assert "brexit" in html.lower() and "<polyline" in html and "<rect" in html
    assert "twitter-v2" in html


def test_hostile_data_is_escaped(workspace, tmp_path):
    evil = "<img src=x onerror=alert(1)>"
    page = {"data": [{"id": "1", "author_id": "9", "text": f"{evil} #tag", "created_at": "2024-01-01T00:00:00Z",
                      "entities": {"hashtags": [{"tag": "<b>x</b>"}]}}],
            "includes": {"users": [{"id": "9", "username": "u", "name": evil}]}, "__twarc": {}}
    f = tmp_path / "evil.jsonl"
    f.write_text(json.dumps(page) + "\n")
    ingest(workspace, f)
    analyze(workspace)
    html = build_report(workspace, tmp_path / "r.html").read_text()
    assert evil not in html and "<b>x</b>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_only_http_links():
    assert http_url("https://example.org/a") == "https://example.org/a"
    assert http_url("javascript:alert(1)") is None
    assert http_url("data:text/html,hi") is None
    assert http_url("//example.org") is None
    assert http_url(" http://x.fr ") == "http://x.fr"


def test_extension_point_adds_a_section(workspace, tmp_path):
    register_section(Section("zz-test", "A test section", 999, "sources.html", lambda con: None, "run the test step"))
    try:
        html = build_report(workspace, tmp_path / "r.html").read_text()
        assert "A test section" in html and "run the test step" in html
    finally:
        from confiance.report import sections as module

        module._SECTIONS.pop("zz-test")
    assert all(s.key != "zz-test" for s in all_sections())


def test_report_before_analyze_says_what_to_run(workspace, tmp_path):
    html = build_report(workspace, tmp_path / "r.html").read_text()
    assert "confiance analyze" in html


def test_band_chart_axis_labels_fit_the_margin():
    """A cumulative effect in the tens of thousands: plain grouped numbers, never scientific notation
    (the 56 px margin cut "3.797e+04" to "797e+04")."""
    from confiance.report.charts import band_chart

    days = [f"2025-04-{d:02d}" for d in range(1, 31)]
    effect = [1300.0 * d for d in range(30)]
    chart = band_chart(days, effect, [0.0] * 30, [v * 0.8 - 1800 for v in effect], [v * 1.2 for v in effect])
    labels = [label for _, label in chart.y_ticks]
    assert all("e" not in label and len(label) <= 7 for label in labels), labels
    assert labels[0].startswith("-") and labels[-1].replace(",", "").isdigit() and int(labels[-1].replace(",", "")) > 40_000
