"""Report charts and sections at demo size: bar labels fit their column, coordination says what it draws."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import duckdb

from confiance.report import environment
from confiance.report.charts import LABEL_CHAR_PX, MAX_BAR_LABEL, bar_chart
from confiance.report.coordination import MAX_GROUPS, collect_coordination


def test_bar_labels_fit_left_of_their_bars():
    """`sante-secrets-naturels.info` (27 characters, 147 px at 11 px in chromium) was cut by the 150 px column."""
    labels = ["sante-secrets-naturels.info", "lemonde.fr", "x" * 60]
    chart = bar_chart([(label, 10 * (k + 1)) for k, label in enumerate(labels)])
    assert chart.bars[0].label == labels[0] and chart.bars[2].label == "x" * (MAX_BAR_LABEL - 1) + "…"
    for bar in chart.bars:
        assert len(bar.label) * LABEL_CHAR_PX + 6 <= chart.label_width
        assert chart.label_width + bar.width + 60 <= chart.width + 1e-9
    assert chart.bars[2].width == chart.width - chart.label_width - 60  # the longest bar keeps its full length
    assert bar_chart([("#velo", 3)]).label_width == 150  # short labels keep the default column
    svg = environment().from_string('{% from "_charts.html" import bars %}{{ bars(c, "t") }}').render(c=chart)
    assert ">sante-secrets-naturels.info</text>" in svg and ">" + "x" * (MAX_BAR_LABEL - 1) + "…</text>" in svg


def _coordination_store(groups: int) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'Europe/Paris'")
    con.execute("CREATE TABLE accounts (platform VARCHAR, account_id VARCHAR, handle VARCHAR)")
    con.execute("CREATE TABLE coordination_groups (group_id INTEGER, platform VARCHAR, account_id VARCHAR)")
    con.execute("CREATE TABLE coordination_edges (platform VARCHAR, a VARCHAR, b VARCHAR, kind VARCHAR, weight INTEGER, "
                "evidence VARCHAR[])")
    con.execute("CREATE TABLE coordination_group_profiles (group_id INTEGER, platform VARCHAR, size INTEGER, "
                "kinds VARCHAR[], edges INTEGER, first_at TIMESTAMPTZ, last_at TIMESTAMPTZ)")
    start = datetime(2025, 1, 22, 15, 14, 9, 12000, tzinfo=timezone.utc)
    for g in range(groups):
        a, b = f"a{g}", f"b{g}"
        con.executemany("INSERT INTO accounts VALUES ('x', ?, ?)", [[a, f"h{a}"], [b, f"h{b}"]])
        con.executemany("INSERT INTO coordination_groups VALUES (?, 'x', ?)", [[g, a], [g, b]])
        con.execute("INSERT INTO coordination_edges VALUES ('x', ?, ?, 'co_repost', 3, ['1', '2', '3'])", [a, b])
        con.execute("INSERT INTO coordination_group_profiles VALUES (?, 'x', 2, ['co_repost'], 1, ?, ?)",
                    [g, start, start + timedelta(days=g)])
    return con


def _render(con: duckdb.DuckDBPyConnection) -> str:
    return environment().get_template("sections/coordination.html").render(data=collect_coordination(con))


def test_coordination_says_how_many_groups_it_draws_and_times_read_in_utc():
    html = _render(_coordination_store(MAX_GROUPS + 19))
    assert f"{MAX_GROUPS + 19} groups of accounts" in html
    assert f"The first {MAX_GROUPS} groups are drawn and listed." in html
    assert "<td>2025-01-22 15:14:09 UTC</td>" in html and "+00:00" not in html and "+01:00" not in html
    assert "groups are drawn" not in _render(_coordination_store(3))
