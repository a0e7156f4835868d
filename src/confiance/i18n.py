"""The languages of the report, the dashboard and the analyses' explanations: gettext catalogues read at run
time, and numbers and dates in the reader's form.

The report's own words are English message ids translated through a gettext catalogue per language
(``locales/<lang>/LC_MESSAGES/confiance.po``), read with Babel and compiled in memory: no compile step,
nothing but the ``.po`` ships. Data values (handles, hashtags, post texts, domains) are never translated.

The language of a report is set for the time of its build with :func:`using`; the sections' ``collect``
functions, the charts and the Jinja environment read it from there (:func:`gettext`, :func:`ngettext`,
:func:`number`, :func:`day`, :func:`moment`). English goes through ``gettext.NullTranslations`` and
Python's own formatting, so an English report is what it was before the report had languages.

The module sits at the package's root, below the report and the dashboard, so that the analyses can mark the
explanations they write (``gettext``/``ngettext`` at query time, ``N_`` for a stored message id translated
where it is shown): English, their default, is byte for byte what they wrote before. Ingest's errors and notes
are :class:`Phrase` s, English text that :func:`said` writes in the language the command line was given.
"""

from __future__ import annotations

import gettext as _gettext
import math
import re
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, timezone
from decimal import Decimal
from functools import lru_cache
from importlib.resources import files
from io import BytesIO
from typing import Iterator

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

__all__ = ["DOMAIN", "LANGUAGES", "Figure", "N_", "Phrase", "catalogue_path", "clauses", "current", "day", "fixed", "gettext", "label",
           "moment", "ngettext", "number", "percent", "plain", "plural_count", "quoted", "said", "share", "signed", "translate",
           "translations", "trimmed_number", "using", "written_again"]

#: The languages a report can be written in; the first is the default.
LANGUAGES = ("en", "fr")
#: The gettext domain (the catalogue's file name).
DOMAIN = "confiance"
#: The Babel locale of each language's numbers and dates.
_LOCALES = {"en": "en_US", "fr": "fr_FR"}

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")

_current: ContextVar[str] = ContextVar("report_language", default=LANGUAGES[0])


def N_(message: str) -> str:  # noqa: N802  (the gettext convention, and a keyword of the extractor)
    """Mark ``message`` for extraction; it is translated where it is shown (a section title, a constant)."""
    return message


class Phrase(str):
    """An English sentence (an ingest error, a file's note) that keeps its ``N_`` message id and values, so that
    :func:`said` writes it again in the reader's language where it is shown; stored, logged and compared as
    its English text, which scripts may read."""

    message: str
    values: dict[str, object]

    def __new__(cls, message: str, **values: object) -> "Phrase":
        phrase = super().__new__(cls, message % values)
        phrase.message, phrase.values = message, values
        return phrase

    def __reduce__(self):  # a worker process or a Spark executor sends it back whole
        return _phrase, (self.message, self.values)


def _phrase(message: str, values: dict[str, object]) -> Phrase:
    return Phrase(message, **values)


class Figure(str):
    """A number inside a :class:`Phrase`, written with ``digits`` decimals as English writes it ("1.10");
    :func:`said` writes it in the reader's language ("1,10")."""

    value: float
    digits: int

    def __new__(cls, value: float, digits: int = 0) -> "Figure":
        figure = super().__new__(cls, f"{value:.{digits}f}")
        figure.value, figure.digits = value, digits
        return figure

    def __reduce__(self):
        return Figure, (self.value, self.digits)


def said(text: object) -> str:
    """``text`` in the language of :func:`using`: a :class:`Phrase` translated, its phrases, figures and numbers
    too; any other text as it is."""
    if current() == LANGUAGES[0] or not isinstance(text, (Phrase, Figure)):
        return str(text)
    if isinstance(text, Figure):
        return number(text.value, text.digits)
    return gettext(text.message, **{name: said(value) if isinstance(value, str) else plain(value)
                                    for name, value in text.values.items()})


def catalogue_path(language: str):
    """The ``.po`` of ``language`` inside the package."""
    return files("confiance") / "locales" / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def _check(language: str) -> str:
    if language not in LANGUAGES:
        raise ValueError(f"unsupported report language {language!r}: use one of {', '.join(LANGUAGES)}")
    return language


@lru_cache(maxsize=None)
def translations(language: str) -> _gettext.NullTranslations:
    """The gettext translations of ``language``: its ``.po`` read and compiled in memory (English: none)."""
    if _check(language) == LANGUAGES[0]:
        return _gettext.NullTranslations()
    with catalogue_path(language).open("rb") as po:
        catalog = read_po(po, locale=language, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)  # fuzzy entries are left out, as msgfmt does
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


@contextmanager
def using(language: str) -> Iterator[str]:
    """Write in ``language`` inside the block (the report's build)."""
    token = _current.set(_check(language))
    try:
        yield language
    finally:
        _current.reset(token)


def current() -> str:
    return _current.get()


def plural_count(n: int | float | None) -> int:
    """The integer gettext chooses a plural form by (``None``, an unknown count, reads as a plural)."""
    if n is None:
        return 2
    if isinstance(n, int):
        return n
    return int(n) if float(n).is_integer() else 2


def translate(message: str) -> str:
    """``message`` in the report's language, as it is (no value put in: a section title). A noun the
    catalogue holds with its plural (the same noun counted elsewhere: "account" as a column and in
    "3 accounts") is found as its singular."""
    catalogue = translations(current())
    text = catalogue.gettext(message)
    return catalogue.ngettext(message, message, 1) if text == message else text


def gettext(message: str, **values: object) -> str:
    """``message`` in the report's language with ``values`` put in (``%(name)s``), as the templates'
    ``_()`` does: a literal ``%`` is written ``%%``."""
    return translate(message) % values


def ngettext(singular: str, plural: str, n: int | float | None, **values: object) -> str:
    """The form of ``singular`` / ``plural`` for ``n`` with ``values`` put in (``%(num)s`` is ``n`` in the
    language's form unless given)."""
    values.setdefault("num", "–" if n is None else number(n))
    return translations(current()).ngettext(singular, plural, plural_count(n)) % values


def label(labels: dict[str, str], key: str) -> str:
    """``key`` as ``labels`` (``N_`` message ids by key) names it, in the report's language; a key the table
    does not know with spaces for underscores."""
    return translate(labels[key]) if key in labels else key.replace("_", " ")


def clauses(parts: list[str]) -> str:
    """Clauses of one explanation, or the items of a cell's list, joined with semicolons as the language writes
    them ("a; b"; in French "a ; b", a narrow no-break space before the semicolon)."""
    text = parts[0] if parts else ""
    for part in parts[1:]:
        text = gettext("%(first)s; %(second)s", first=text, second=part)
    return text


def quoted(text: str) -> str:
    """``text`` between the language's quotation marks (English “text”; French « text », no-break spaces inside)."""
    return gettext("“%(text)s”", text=text)


def written_again(text: str, messages: tuple[str, ...]) -> str:
    """A sentence an analysis stored in English (a note) in the language of :func:`using`: when it is one of
    ``messages`` (``N_`` message ids) with its values put in, that message translated with the same values
    (a value that is a plain number in the language's form); any other text as stored."""
    if current() == LANGUAGES[0]:
        return text
    for message in messages:
        found = _message_pattern(message).fullmatch(text)
        if found:
            return gettext(message, **{name: plain(float(value) if "." in value else int(value))
                                       if _PLAIN_NUMBER.fullmatch(value) else value
                                       for name, value in found.groupdict().items()})
    return text


@lru_cache(maxsize=None)
def _message_pattern(message: str) -> re.Pattern[str]:
    """A message id as a regular expression, each ``%(name)s`` a named group (compiled once per message)."""
    pattern = re.sub(r"%\\\(\w+\\\)s", lambda m: f"(?P<{m.group(0)[3:-3]}>.+?)", re.escape(message))
    return re.compile(pattern.replace("%%", "%"))


def number(value: object, digits: int = 0) -> str:
    """``value`` with ``digits`` decimals and grouped thousands ("1,234.5"; in French "1 234,5"); a
    non-number as text, None as ""."""
    if value is None:
        return ""
    if not isinstance(value, (int, float)):
        return str(value)
    if current() == LANGUAGES[0]:
        return f"{value:,.{digits}f}"
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    if isinstance(value, float) and math.isfinite(value):
        # rounded as English rounds it (the float's exact value: 0.525 is 0.52500…02, so "0.53"), not half to
        # even on its shortest form as Babel would ("0,52"): both languages show the same figure
        value = Decimal(f"{value:.{digits}f}")
    return format_decimal(value, format=pattern, locale=_LOCALES[current()])


def fixed(value: float, digits: int = 0) -> str:
    """``value`` with ``digits`` decimals and no grouping in English ("%.2f": "1234.50"), as :func:`number`
    in another language."""
    return f"{value:.{digits}f}" if current() == LANGUAGES[0] else number(value, digits)


def probability(value: object, digits: int = 3) -> str:
    """A probability to ``digits`` decimals that never reads as a certainty: one that rounds to 1 is written
    "> 0.999", one that rounds to 0 "< 0.001" (a model's 0.9996 printed "1.000")."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return number(value, digits)
    step = 10.0 ** -digits
    if round(value, digits) >= 1:
        return ">\u00a0" + number(1 - step, digits)
    if round(value, digits) <= 0:
        return "<\u00a0" + number(step, digits)
    return number(value, digits)


#: How a reader names the language code of a post no identifier could settle (py3langid's "und").
UNDETERMINED = N_("undetermined")


def language_name(code: object) -> str:
    """A post's language code as the reader's language names it ("en": "English"; in French "anglais";
    "fr-FR": "French (France)"), "und" as undetermined; a code Babel does not know as it is."""
    if not isinstance(code, str) or not code:
        return "" if code is None else str(code)
    if code == "und":
        return translate(UNDETERMINED)
    try:
        name = Locale.parse(code.replace("-", "_")).get_display_name(_LOCALES[current()])
    except (ValueError, TypeError, UnknownLocaleError):
        return code
    return name or code


def percent(value: object, digits: int = 0) -> str:
    """A percentage given in percent, its sign as the language writes it ("12.3%"; in French "12,3 %",
    a narrow no-break space before the sign)."""
    if value is None:
        return ""
    return number(value, digits) + ("%" if current() == LANGUAGES[0] else "\u202f%")


def plain(value: object) -> object:
    """A value as Python prints it in English ("0.1"); a number in the language's form otherwise ("0,1")."""
    if current() == LANGUAGES[0] or isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    return trimmed_number(value)


def share(value: float, digits: int = 0) -> str:
    """A share of 1 as a percentage ("{:.0%}": "12%"; in French "12 %")."""
    if current() == LANGUAGES[0]:
        return f"{value:.{digits}%}"
    return percent(100 * value, digits)


def signed(value: float, digits: int = 0) -> str:
    """``value`` with its sign always written ("%+.2f": "+0.25", "-1.50"; in French "+0,25", "-1,50")."""
    if current() == LANGUAGES[0]:
        return f"{value:+.{digits}f}"
    return ("-" if value < 0 else "+") + number(abs(value), digits)


def trimmed_number(value: float, significant: int | None = None) -> str:
    """A number without trailing zeros (an axis tick: "12.5", "0.25"; in French "12,5"), rounded to
    ``significant`` digits when given."""
    if significant is not None:
        value = float(f"{value:.{significant}g}")
    return format_decimal(value, format="#,##0.##########", locale=_LOCALES[current()])


#: How a language writes the first day of a month where the locale's number is not it (French: « 1er juin »).
_FIRST_OF_MONTH = {"fr": "1er"}


def _first_of_month(text: str, value: date) -> str:
    """``text``, a date starting with its day, with the first of the month written as the language writes it."""
    first = _FIRST_OF_MONTH.get(current())
    return first + text[1:] if first and value.day == 1 and text.startswith("1 ") else text


def day(value: date) -> str:
    """A date: ISO in English ("2026-11-30"), the locale's medium form otherwise ("30 nov. 2026"; the first of
    a month in French « 1er juin 2025 »)."""
    if current() == LANGUAGES[0]:
        return value.isoformat()
    return _first_of_month(format_date(value, "medium", locale=_LOCALES[current()]), value)


def moment(value: object) -> object:
    """A time to the second in UTC (English: "2025-01-22 15:14:09 UTC"; French: "22 janv. 2025 15:14:09 UTC"),
    a date as :func:`day` (in French also an ISO day held as text); other values pass unchanged (None as "")."""
    if isinstance(value, datetime):
        value = value.astimezone(timezone.utc) if value.tzinfo else value
        if current() == LANGUAGES[0]:
            return value.strftime("%Y-%m-%d %H:%M:%S UTC")
        shown = format_datetime(value, "d MMM y HH:mm:ss", tzinfo="UTC", locale=_LOCALES[current()])
        return _first_of_month(shown, value.date()) + " UTC"
    if isinstance(value, date):
        return day(value)
    if isinstance(value, str) and current() != LANGUAGES[0] and _ISO_DAY.fullmatch(value):
        return day(date.fromisoformat(value))  # a day stored as text (an intervention date)
    return "" if value is None else value
