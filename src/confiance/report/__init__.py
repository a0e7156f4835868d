"""The HTML report: one self-contained file (inline CSS and SVG, no script, no remote load).

Every value is autoescaped by Jinja2; links are rendered only for http(s) URLs, showing their host.
Sections come from :mod:`confiance.report.sections` (the extension point).
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape

from confiance import __version__
from confiance.report import bots as _bots  # noqa: F401  (registers the bot-likelihood section)
from confiance.report import campaign as _campaign  # noqa: F401  (registers the campaign impact sections)
from confiance.report import campaign_plan as _campaign_plan  # noqa: F401  (registers the plan section)
from confiance.report import coordination as _coordination  # noqa: F401  (registers the coordination section)
from confiance.report import disclosure as _disclosure  # noqa: F401  (registers the disclosure section)
from confiance.report import fit as _fit  # noqa: F401  (registers the brand fit shortlist section)
from confiance.report import network as _network  # noqa: F401  (registers the network sections)
from confiance.report import signals as _signals  # noqa: F401  (registers the trends, share of voice and sentiment sections)
from confiance.report import topics as _topics  # noqa: F401  (registers the topics section)
from confiance.report import trust as _trust  # noqa: F401  (registers the source, account type and harm sections)
from confiance.report.sections import all_sections
from confiance.wording import account_name, counted
from confiance.workspace import Workspace

__all__ = ["PAGE_LANGUAGE", "build_report", "environment", "http_url", "moment"]

#: The language the report's and the dashboard's own words are written in (``<html lang>``); posts
#: and labels quoted from the data keep theirs.
PAGE_LANGUAGE = "en"


def http_url(value: object) -> str | None:
    """The URL when it is http(s) with a host, else None (javascript:, data:, relative… are dropped)."""
    if not isinstance(value, str):
        return None
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return None
    return value.strip() if parts.scheme in ("http", "https") and parts.hostname else None


def moment(value: object) -> object:
    """A time to the second in UTC ("2025-01-22 15:14:09 UTC"), not Python's microseconds and offset;
    other values pass unchanged (None as "")."""
    if isinstance(value, datetime):
        value = value.astimezone(timezone.utc) if value.tzinfo else value
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else value


def url_host(value: object) -> str:
    url = http_url(value)
    return (urlsplit(url).hostname or "") if url else ""


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("confiance.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["http_url"] = http_url
    env.filters["url_host"] = url_host
    env.filters["moment"] = moment
    env.filters["counted"] = counted
    env.filters["account_name"] = account_name
    env.filters["num"] = lambda v, digits=0: "" if v is None else (f"{v:,.{digits}f}" if isinstance(v, (int, float)) else str(v))
    return env


def build_report(ws: Workspace, output: Path | None = None) -> Path:
    """Render every registered section into one HTML file (default: WORKSPACE/reports/report.html)."""
    output = output or ws.reports_dir / "report.html"
    rendered = []
    with ws.reader() as con:
        for section in all_sections():
            context = section.collect(con)
            rendered.append({"section": section, "data": context})
    html = environment().get_template("report.html").render(
        sections=rendered, page_language=PAGE_LANGUAGE,
        generated_at=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        version=__version__,
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_suffix(output.suffix + ".partial")
    partial.write_text(html, encoding="utf-8")
    partial.replace(output)
    ws.audit("report", sections=[s["section"].key for s in rendered])
    return output
