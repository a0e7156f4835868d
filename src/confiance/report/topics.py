"""Report section "Topics and narratives": each topic's label, size, top terms, languages and
representative posts, and the weekly volume of the largest topics."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import duckdb

from confiance import i18n
from confiance.i18n import N_
from confiance.report.charts import axis_title, line_chart
from confiance.report.sections import Section, _rows, register_section
from confiance.store import has_table

#: Topics listed, and topics drawn over time.
LISTED = 20
CHARTED = 6


def _weekly(con: duckdb.DuckDBPyConnection, topics: list[dict[str, Any]]) -> Any:
    shown = [t for t in topics if t["topic"] >= 0][:CHARTED]
    if not shown:
        return None
    rows = con.execute(
        "SELECT topic, CAST(date_trunc('week', day) AS DATE) AS week, sum(posts) FROM topic_timeline "
        "WHERE topic IN (SELECT unnest(?)) GROUP BY ALL ORDER BY week", [[t["topic"] for t in shown]]).fetchall()
    if not rows:
        return None
    first, last = min(r[1] for r in rows), max(r[1] for r in rows)
    weeks = [first + timedelta(weeks=i) for i in range((last - first).days // 7 + 1)]
    index = {w: i for i, w in enumerate(weeks)}
    names = {t["topic"]: f"{t['topic']}: {t['label']}" for t in shown}
    series = {names[t["topic"]]: [0.0] * len(weeks) for t in shown}
    for topic, week, posts in rows:
        series[names[topic]][index[week]] += posts
    return line_chart(weeks, series, x_title=axis_title("week"), y_title=i18n.gettext("posts"))


def collect_topics(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    from confiance.text.topics import too_few_texts

    if not has_table(con, "topics"):
        reason = too_few_texts(con)
        return {"not_enough": reason} if reason else None
    topics = _rows(con, "SELECT topic, label, terms, size, languages, examples FROM topics "
                        f"ORDER BY topic = -1, size DESC, topic LIMIT {LISTED + 1}")
    total = sum(t["size"] for t in topics) or 1
    examples = {t["topic"]: t["examples"] for t in topics}
    texts = {}
    wanted = [i for ids in examples.values() for i in ids]
    if wanted:
        texts = {post_id: (platform, text) for platform, post_id, text in con.execute(
            "SELECT platform, post_id, text FROM posts WHERE post_id IN (SELECT unnest(?))", [wanted]).fetchall()}
    for t in topics:
        t["share"] = t["size"] / total
        t["languages"] = ", ".join(f"{i18n.language_name(x['lang'])} {i18n.share(x['share'])}" for x in t["languages"][:3])
        t["posts"] = [{"post_id": i, "platform": texts.get(i, ("", ""))[0], "text": texts.get(i, ("", ""))[1]}
                      for i in examples[t["topic"]][:3]]
    return {"topics": topics, "weekly": _weekly(con, topics)}


register_section(Section("topics", N_("Topics and narratives"), 40, "topics.html", collect_topics))
