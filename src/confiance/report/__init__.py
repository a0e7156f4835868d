"""The HTML report: one self-contained file (inline CSS and SVG, no script, no remote load).

Every value is autoescaped by Jinja2; links are rendered only for http(s) URLs, showing their host.
Sections come from :mod:`confiance.report.sections` (the extension point).

Languages (``confiance report --lang fr``): the report's own words are gettext messages, translated by
the catalogue ``locales/<lang>/LC_MESSAGES/confiance.po`` (read at run time by :mod:`confiance.i18n`;
no compile step). Numbers, percentages and dates take the language's form through Babel. To add or
change a message:

- in a template, ``{% trans %}…{% endtrans %}`` (blocks are trimmed: line breaks read as one space;
  values go in as ``{% trans n=value|num %}…{{ n }}…{% endtrans %}``), ``_("…")``, or
  ``counted(n, "noun", "nouns")`` for a count with its noun; in Python, ``i18n.gettext("…")`` /
  ``i18n.ngettext(…)`` at run time (values as keywords: ``i18n.gettext("topic %(topic)s", topic=t)``),
  or ``N_("…")`` for a constant translated where it is shown (with ``i18n.gettext``, or a section title
  with the template's ``translate`` filter, which puts no value in). Except in ``{% trans %}`` blocks
  and section titles, a literal ``%`` is written ``%%``;
- extract the messages and merge them into the catalogue (``babel.cfg`` at the repository root maps
  the report's and the dashboard's templates and Python code: one catalogue for both)::

      pybabel extract -F babel.cfg -k counted:2,3 -o /tmp/confiance.pot .
      pybabel update -i /tmp/confiance.pot -D confiance -d src/confiance/locales -l fr --ignore-obsolete

- translate the new entries (and the ones marked fuzzy) in the ``.po``: ``tests/report/test_french.py``
  fails while a message has no French translation, or while the catalogue keeps one no code uses.

The analyses' explanations follow the report's language too (:mod:`confiance.i18n`, extracted from the
analysis modules that ``babel.cfg`` lists): those built at query time (why an influencer ranks) are
gettext messages; those an analysis stores (brand-fit explanations, notes, reasons) are stored in English
and written again at display from their fields or message ids (``explain_fit``, ``i18n.written_again``).
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup

from confiance import __version__, i18n
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
from confiance.report.sections import all_sections, table_label
from confiance.wording import account_name, counted
from confiance.workspace import Workspace

__all__ = ["LANGUAGES", "PAGE_LANGUAGE", "build_report", "environment", "http_url", "install_i18n", "moment"]

#: The default language of the report's and the dashboard's own words (``<html lang>``); posts and labels
#: quoted from the data keep theirs.
PAGE_LANGUAGE = "en"
#: The languages of the report (``confiance report --lang``).
LANGUAGES = i18n.LANGUAGES


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


def _formatted(context: Context, text: str, variables: dict) -> str:
    """A translated message with its values put in, as Jinja's new-style gettext does: under autoescape
    the message is trusted (it is ours) and every value is escaped."""
    if context.eval_ctx.autoescape:
        text = Markup(text)
    return text % variables


@pass_context
def _gettext(context: Context, message: str, **variables: object) -> str:
    return _formatted(context, i18n.translate(message), variables)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int | float | None, **variables: object) -> str:
    """Jinja's new-style ``ngettext``, with ``num`` (the count) in the language's form unless given."""
    variables.setdefault("num", "–" if n is None else i18n.number(n))
    text = i18n.translations(i18n.current()).ngettext(singular, plural, i18n.plural_count(n))
    return _formatted(context, text, variables)


def _counted(n: int | float | None, noun: str, plural_form: str | None = None, digits: int = 0) -> str:
    return counted(n, noun, plural_form, digits, language=i18n.current())


def install_i18n(env: Environment) -> Environment:
    """Give ``env`` what the report's templates need to speak the report's language (:func:`i18n.using`):
    Jinja's i18n extension (``{% trans %}``, trimmed, new-style), ``_``/``ngettext``/``counted`` and the
    number filters. Filters ``env`` already has are kept (the dashboard's own ``num``)."""
    env.add_extension("jinja2.ext.i18n")
    env.policies["ext.i18n.trimmed"] = True
    env.newstyle_gettext = True  # type: ignore[attr-defined]  (set by the extension; values escaped, %% literal)
    env.globals.update(_=_gettext, gettext=_gettext, ngettext=_ngettext, counted=_counted)
    for name, function in (("moment", i18n.moment), ("counted", _counted), ("num", i18n.number), ("fixed", i18n.fixed),
                           ("signed", i18n.signed), ("percent", i18n.percent), ("plain", i18n.plain),
                           ("probability", i18n.probability), ("language_name", i18n.language_name),
                           # a quotation and a list with semicolons, punctuated as the language writes them
                           ("quoted", i18n.quoted), ("clauses", i18n.clauses),
                           # a message marked with N_ (a section title): escaped, as it is
                           ("translate", i18n.translate),
                           # a canonical table by what it holds ("ingested files", not "sources")
                           ("table_label", table_label)):
        env.filters.setdefault(name, function)
    return env


def environment() -> Environment:
    """The report's Jinja environment; its words, numbers and dates follow :func:`i18n.using`."""
    env = Environment(
        loader=PackageLoader("confiance.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["http_url"] = http_url
    env.filters["url_host"] = url_host
    env.filters["account_name"] = account_name
    return install_i18n(env)


def build_report(ws: Workspace, output: Path | None = None, language: str = PAGE_LANGUAGE) -> Path:
    """Render every registered section into one HTML file (default: WORKSPACE/reports/report.html), its
    own words in ``language`` (one of :data:`LANGUAGES`; ValueError otherwise)."""
    output = output or ws.reports_dir / "report.html"
    rendered = []
    with i18n.using(language):
        with ws.reader() as con:
            for section in all_sections():
                context = section.collect(con)
                rendered.append({"section": section, "data": context})
        now = datetime.now(timezone.utc)
        html = environment().get_template("report.html").render(
            sections=rendered, page_language=language,
            generated_at=now.strftime("%Y-%m-%d %H:%M UTC") if language == PAGE_LANGUAGE else i18n.moment(now),
            version=__version__,
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_suffix(output.suffix + ".partial")
    partial.write_text(html, encoding="utf-8")
    partial.replace(output)
    ws.audit("report", sections=[s["section"].key for s in rendered])
    return output
