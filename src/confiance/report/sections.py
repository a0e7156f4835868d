"""Report sections and their extension point.

A section is a title, an order, a Jinja template under ``templates/sections/`` and a ``collect``
function that reads the store (read-only) and returns the template's context. Later capabilities
add theirs with :func:`register_section`; the report lists them by ``order``::

    from confiance.report.sections import Section, register_section

    register_section(Section(key="communities", title=N_("Communities"), order=51,
                             template="communities.html", collect=collect_communities))

``collect`` returns ``None`` when its data is absent (the section then says which command makes it).
The title and ``missing_hint`` are English messages marked with ``N_``: the report translates them
where it shows them (``section.title | translate``); ``collect`` runs inside the report's language, so text it
builds goes through :func:`confiance.i18n.gettext`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import duckdb

from confiance import i18n
from confiance.i18n import N_
from confiance.overview import workspace_status
from confiance.report.charts import (axis_title, bar_chart, bucket_name, bucket_periods, bucket_start, line_chart,
                                     time_bucket)
from confiance.store import has_table


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    order: int
    template: str
    collect: Callable[[duckdb.DuckDBPyConnection], dict[str, Any] | None]
    missing_hint: str = N_("run `confiance analyze`")


_SECTIONS: dict[str, Section] = {}


def register_section(section: Section) -> Section:
    _SECTIONS[section.key] = section
    return section


def all_sections() -> list[Section]:
    return sorted(_SECTIONS.values(), key=lambda s: (s.order, s.key))


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict[str, Any]]:
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


# -- built-in sections ----------------------------------------------------------------------------
#: What each canonical table holds, as the report and the dashboard name it to a reader (the JSON, the CLI
#: and the exports keep the table names).
TABLE_LABELS = {"sources": N_("ingested files"), "accounts": N_("accounts"), "posts": N_("posts"),
                "interactions": N_("interactions"), "observations": N_("metric readings"),
                "rejects": N_("rejected records"), "kpis": N_("KPI values"), "surveys": N_("survey answers"),
                "audience_reports": N_("audience report rows")}


def table_label(name: str) -> str:
    """A canonical table by what it holds, in the page's language ("ingested files"; "fichiers importés")."""
    return i18n.label(TABLE_LABELS, name)


def collect_sources(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    status = workspace_status(con)
    return {
        "tables": status["tables"],
        "sources": status["sources"],
        "reject_reasons": status["reject_reasons"],
        "posts_per_platform": status["posts_per_platform"],
    }


def _volume_chart(con: duckdb.DuckDBPyConnection, dimension: str, bucket: str, top: int = 6) -> Any:
    """Posts per period of the ``top`` values of ``dimension`` (platform or lang); empty periods are zero."""
    rows = con.execute(
        f"SELECT day, {dimension}, sum(posts) FROM overview_volume GROUP BY ALL ORDER BY day"
    ).fetchall()
    if not rows:
        return None
    totals: dict[str, int] = {}
    for _, key, n in rows:
        totals[key] = totals.get(key, 0) + n
    keep = sorted(totals, key=lambda k: -totals[k])[:top]
    periods = bucket_periods(rows[0][0], rows[-1][0], bucket)
    index = {p: i for i, p in enumerate(periods)}
    series = {k: [0.0] * len(periods) for k in keep}
    for day, key, n in rows:
        if key in series:
            series[key][index[bucket_start(day, bucket)]] += n
    if dimension == "lang":  # the legend names languages, not their codes
        series = {i18n.language_name(k): v for k, v in series.items()}
    return line_chart(periods, series, x_title=axis_title(bucket), y_title=i18n.gettext("posts"))


def collect_volume(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    if not has_table(con, "overview_volume"):
        return None
    first, last = con.execute("SELECT min(day), max(day) FROM overview_volume").fetchall()[0]
    if first is None:
        return {"bucket": "day", "bucket_name": bucket_name("day"), "by_platform": None, "by_language": None}
    # the span sets the period, so a chart over 20 years has ~240 monthly points, not 7,300 daily ones
    bucket = time_bucket(first, last)
    return {"bucket": bucket, "bucket_name": bucket_name(bucket), "first": first, "last": last,
            "by_platform": _volume_chart(con, "platform", bucket), "by_language": _volume_chart(con, "lang", bucket)}


def collect_accounts(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    if not has_table(con, "overview_accounts"):
        return None
    columns = ("platform, account_id, handle, display_name, followers, posts, engagement, unique_engagers, "
               "engagement_per_post, engagement_rate")
    by_reach = _rows(con, f"SELECT {columns} FROM overview_accounts ORDER BY followers DESC NULLS LAST, unique_engagers DESC LIMIT 25")
    by_engagement = _rows(con, f"SELECT {columns} FROM overview_accounts ORDER BY engagement DESC NULLS LAST, unique_engagers DESC LIMIT 25")
    return {"by_reach": by_reach, "by_engagement": by_engagement}


def collect_tags_domains(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    if not has_table(con, "overview_hashtags"):
        return None
    hashtags = con.execute("SELECT hashtag, posts FROM overview_hashtags ORDER BY posts DESC, hashtag LIMIT 20").fetchall()
    domains = con.execute("SELECT domain, posts FROM overview_domains ORDER BY posts DESC, domain LIMIT 20").fetchall()
    return {
        "hashtags": bar_chart([("#" + h, n) for h, n in hashtags]),
        "domains": bar_chart(domains),
    }


register_section(Section("sources", N_("Sources and data quality"), 10, "sources.html", collect_sources))
register_section(Section("volume", N_("Volumes over time"), 20, "volume.html", collect_volume))
register_section(Section("accounts", N_("Top accounts: reach and engagement"), 30, "accounts.html", collect_accounts))
register_section(Section("tags", N_("Top hashtags and domains"), 35, "tags.html", collect_tags_domains))
