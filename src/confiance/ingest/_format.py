"""What a format module provides, and helpers that several mappers share.

A format module in ``confiance.ingest`` defines ``FORMAT = Format(...)``; the registry finds it.
``sniff`` scores a sample (0: not this format; higher: more specific), ``records`` splits one
container unit (a JSONL line, a JSON document, a CSV row) into records, and ``map`` turns one record
into canonical rows through the :class:`~confiance.ingest._sink.Sink`.
"""

from __future__ import annotations

import html
import ipaddress
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import urlsplit

from confiance.errors import RecordError
from confiance.ingest._readers import BadItem, Item, Limits, Opened, Progress, read_csv
from confiance.ingest._sink import Sink


@dataclass(frozen=True)
class Sample:
    """What detection looks at: bounded, parsed once, shared by every format's ``sniff``."""

    path: Path
    container: str  # jsonl | json | csv | yaml | xml | gml | js | binary
    head_text: str
    first: Any  # first parsed unit (JSON value, CSV row dict, YAML document) or None
    header: list[str] = field(default_factory=list)  # CSV columns
    head: bytes = field(default=b"", repr=False)  # the file's first bytes, decompressed (binary formats sniff them)
    unreadable: BadItem | None = None  # why the first unit could not be parsed (then ``first`` is None)


@dataclass
class Context:
    """Per-file facts a mapper may need."""

    path: Path
    collected_at: str  # ISO time the data was collected (file metadata, else file mtime)
    options: dict[str, Any] = field(default_factory=dict)
    #: what the file's summary line says besides its counts (see :meth:`note`)
    notes: list[str] = field(default_factory=list)
    #: what a format keeps across the records of one file (for its ``finish``): dicts whose values the
    #: first record to reach them sets (``setdefault``), so that parts of the file mapped apart merge into
    #: what one serial read keeps (:meth:`absorb`)
    state: dict[str, Any] = field(default_factory=dict)

    def note(self, text: str) -> None:
        """Say ``text`` once on the file's summary line: a fact about the whole file that the user
        should see (how its dates were read, a report that does not add up), not a reject."""
        if text not in self.notes:
            self.notes.append(text)

    def part(self) -> Context:
        """The context of one chunk of the file mapped elsewhere (a worker process, a Spark executor):
        the same facts, its own notes and state, for :meth:`absorb` to fold back."""
        return replace(self, notes=[], state={})

    def findings(self) -> tuple[list[str], dict[str, Any]] | None:
        """What a chunk's :meth:`part` noted and kept, or None when nothing."""
        return (self.notes, self.state) if self.notes or self.state else None

    def absorb(self, findings: tuple[list[str], dict[str, Any]]) -> None:
        """Fold in a chunk's :meth:`findings`, chunks in file order: its notes said once, its state
        merged with the earlier chunks' values kept (first in the file wins, as in a serial read)."""
        notes, state = findings
        for text in notes:
            self.note(text)
        _keep_first(self.state, state)


def _keep_first(into: dict[str, Any], later: dict[str, Any]) -> None:
    for key, value in later.items():
        if key not in into:
            into[key] = value
        elif isinstance(into[key], dict) and isinstance(value, dict):
            _keep_first(into[key], value)


def _single(unit: Any, ctx: Context) -> Iterator[Any]:
    yield unit


@dataclass(frozen=True)
class Format:
    name: str
    description: str
    containers: tuple[str, ...]
    sniff: Callable[[Sample], int]
    map: Callable[[Any, Sink, Context], None]
    records: Callable[[Any, Context], Iterator[Any]] = _single
    #: custom container reader (XML, GML…); default: the reader for the detected container
    read: Callable[[Opened, Limits, Progress], Iterator[Item | BadItem]] | None = None
    #: True when the format needs ``--mapping`` (generic CSV)
    needs_mapping: bool = False
    #: other names ``--format`` accepts (the names other tools and papers use)
    aliases: tuple[str, ...] = ()
    #: optional fast path for JSON-lines files: stages the file's rows with SQL and hands the lines
    #: it cannot map exactly to ``map`` (see ``_native_x_v2``); the option ``native=False`` turns it off
    native: Callable[[Any], None] | None = None
    #: the options ``confiance ingest --option KEY=VALUE`` may pass to this format (read from ``ctx.options``)
    options: tuple[str, ...] = ()
    #: called after the file's last record, whatever path read it (serial, parallel JSON lines, native,
    #: Spark: chunks' state absorbed first); may add ``ctx.note``s about the file as a whole
    finish: Callable[[Context], None] | None = None


# ---------------------------------------------------------------------------------------------
# Helpers shared by mappers
# ---------------------------------------------------------------------------------------------

_HASHTAG = re.compile(r"(?:^|[^\w&])#(\w{1,139})", re.UNICODE)
_MENTION = re.compile(r"(?:^|[^\w@])@([A-Za-z0-9_](?:[A-Za-z0-9_.\-]{0,62}[A-Za-z0-9_])?)")
_URL = re.compile(r"https?://[^\s<>\"'\u00a0]+", re.IGNORECASE)


def hashtags_in(text: str | None) -> list[str]:
    """Hashtags in plain text, lower-cased, in order, unique."""
    if not text:
        return []
    return list(dict.fromkeys(t.lower() for t in _HASHTAG.findall(text)))


def mentions_in(text: str | None) -> list[str]:
    """@handles in plain text, lower-cased, unique (handles may contain dots, as on Bluesky)."""
    if not text:
        return []
    return list(dict.fromkeys(m.lower() for m in _MENTION.findall(text)))


def urls_in(text: str | None) -> list[str]:
    """http(s) links written in ``text``, in order, trailing punctuation dropped. A link that ends in
    "…" was cut where the platform shortened the text (a retweet of a long tweet: "https://t…"): not
    the address shared, and its host may be cut too, so it is left out."""
    if not text:
        return []
    links = (u.rstrip(".,;:!?)]}") for u in _URL.findall(text))
    return list(dict.fromkeys(u for u in links if not u.endswith("…")))


#: The last label of a host that can be a domain: a top-level domain of two letters or more, or its punycode.
_TOP_LEVEL = re.compile(r"[a-z]{2,}|xn--[a-z0-9-]+")


def domain_of(url: str | None) -> str | None:
    """Registrable-looking host of an http(s) URL, lower-case, without 'www.'; None for a host cut short
    (no dot, or a last label no top-level domain has: "https://open.s"), an IP address as it is."""
    if not url:
        return None
    try:
        parts = urlsplit(url if "://" in url else "http://" + url)
    except ValueError:
        return None
    host = (parts.hostname or "").lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    if _TOP_LEVEL.fullmatch(host.rpartition(".")[2]) and "." in host:
        return host
    return host if _is_ip(host) else None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def domains_of(urls: list[str] | None, text: str | None = None, limit: int | None = None) -> list[str]:
    """The domains of ``urls``. Given the ``text`` they were read from and the platform's length ``limit``, a
    text that stops at the limit on a bare host ("… https://www.nytim") was cut there: that link keeps
    its text but gives no domain, its host may be cut."""
    cut = _cut_at_the_end(text, limit)
    return list(dict.fromkeys(d for d in (domain_of(u) for u in urls or () if u != cut) if d))


def _cut_at_the_end(text: str | None, limit: int | None) -> str | None:
    """The link without a path that ends ``text`` when ``text`` is ``limit`` characters or more."""
    if not text or not limit or len(text) < limit:
        return None
    links = _URL.findall(text.rstrip())
    if not links or not text.rstrip().endswith(links[-1]):
        return None
    try:
        bare = not urlsplit(links[-1]).path.strip("/")
    except ValueError:
        return None
    return links[-1].rstrip(".,;:!?)]}") if bare else None


def epoch_to_iso(value: Any) -> str | None:
    """Epoch seconds (int, float or numeric text) to ISO-8601 UTC."""
    if value is None or value == "":
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise RecordError(f"not an epoch timestamp: {str(value)[:40]!r}") from None
    if abs(seconds) > 1e11:
        seconds /= 1000
    try:
        return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat()
    except (OverflowError, OSError, ValueError):
        raise RecordError(f"epoch timestamp out of range: {value!r}") from None


_TWITTER_CLASSIC = "%a %b %d %H:%M:%S %z %Y"
#: 'dd/mm/yyyy[ HH:MM[:SS]]' or 'mm/dd/yyyy…' (also with dots): which one, only the file can tell
SLASH_DATE = re.compile(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")


def day_first_dates(values: Iterable[str | None]) -> bool:
    """Whether a file's slash dates read day first (a French or British export): some date has a day
    above 12 in first place and none has a number above 12 in second place. Deciding once per file
    keeps '05/11' and '13/11' in the same month, which reading each date alone does not."""
    first = second = False
    for value in values:
        match = SLASH_DATE.fullmatch(value.strip()) if value else None
        if match:
            first |= int(match.group(1)) > 12
            second |= int(match.group(2)) > 12
            if first and second:
                break
    return first and not second


@dataclass(frozen=True)
class DatedRow:
    """A CSV row of a format with slash dates (see :func:`csv_with_slash_dates`)."""

    row: dict[str, str]
    index: int  # 0-based among the file's data rows (bad rows included)
    day_first: bool  # how the file's slash dates read


def csv_with_slash_dates(cells_of: Callable[[dict[str, str]], Iterable[str | None]]
                         ) -> Callable[[Opened, Limits, Progress], Iterator[Item | BadItem]]:
    """A reader for CSV formats whose dates may be 'dd/mm/yyyy' or 'mm/dd/yyyy': rows come as
    :class:`DatedRow`. At the first row whose date cells (``cells_of(row)``) hold a slash date, one
    pass over the whole file decides the reading (:func:`day_first_dates`); a file without slash
    dates is read once. The decision travels with the rows, so it holds wherever they are mapped."""

    def read(opened: Opened, limits: Limits, progress: Progress) -> Iterator[Item | BadItem]:
        day_first: bool | None = None
        for index, unit in enumerate(read_csv(opened, limits, progress)):
            if isinstance(unit, BadItem):
                yield unit
                continue
            if day_first is None and any(SLASH_DATE.fullmatch(v.strip()) for v in cells_of(unit.value) if v):
                day_first = day_first_dates(value for other in read_csv(opened, limits) if isinstance(other, Item)
                                            for value in cells_of(other.value))
            yield Item(unit.line_no, DatedRow(unit.value, index, bool(day_first)), unit.note)

    return read


def parse_day_first(text: str, zone: tzinfo = timezone.utc) -> str:
    """A 'dd/mm/yyyy[ HH:MM[:SS]]' time in ``zone`` as ISO-8601 UTC text."""
    return parse_slash_date(text, zone, day_first=True)


def parse_slash_date(text: str, zone: tzinfo = timezone.utc, day_first: bool = True) -> str:
    """A 'dd/mm/yyyy[ HH:MM[:SS]]' (``day_first``) or 'mm/dd/yyyy…' time in ``zone`` as ISO-8601 UTC text."""
    match = SLASH_DATE.fullmatch(text.strip())
    if match is None:
        raise RecordError(f"not a {'dd/mm/yyyy' if day_first else 'mm/dd/yyyy'} date: {text[:40]!r}")
    first, second, y, hh, mm, ss = match.groups()
    d, m = (first, second) if day_first else (second, first)
    try:
        local = datetime(int(y), int(m), int(d), int(hh or 0), int(mm or 0), int(ss or 0), tzinfo=zone)
    except ValueError:
        raise RecordError(f"invalid date {text[:40]!r}") from None
    return local.astimezone(timezone.utc).isoformat()


def parse_timestamp(value: Any, *, required: bool = False) -> str | None:
    """Normalise the timestamp shapes platforms use to ISO-8601 UTC text.

    Accepts ISO-8601 (with Z, offsets or none = UTC), 'YYYY-MM-DD HH:MM:SS TZ', the classic
    Twitter form 'Wed Oct 10 20:19:24 +0000 2018', epoch seconds/milliseconds, and dates.
    """
    if value is None or value == "":
        if required:
            raise RecordError("timestamp is missing")
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return epoch_to_iso(value)
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()
    if not isinstance(value, str):
        raise RecordError(f"expected a timestamp, got {type(value).__name__}")
    s = value.strip()
    if s.replace(".", "", 1).isdigit():
        return epoch_to_iso(s)
    try:
        dt = datetime.fromisoformat(s.replace(" UTC", "+00:00").replace(" GMT", "+00:00"))
    except ValueError:
        try:
            dt = datetime.strptime(s, _TWITTER_CLASSIC)
        except ValueError:
            for fmt in ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M:%S %Z", "%m/%d/%Y", "%d/%m/%Y"):
                try:
                    dt = datetime.strptime(s, fmt)
                    break
                except ValueError:
                    continue
            else:
                raise RecordError(f"unrecognised timestamp {s[:40]!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).isoformat()


def html_to_text(fragment: str | None) -> str:
    """Plain text of an HTML fragment (Mastodon content, YouTube textDisplay): paragraphs and
    <br> become line breaks, entities are decoded once, tags dropped."""
    if not fragment:
        return ""
    from selectolax.lexbor import LexborHTMLParser

    if "<" not in fragment:
        return html.unescape(fragment).strip()
    marked = re.sub(r"(?i)<br\s*/?>", "\n", fragment)
    marked = re.sub(r"(?i)</p>\s*<p[^>]*>", "\n\n", marked)
    return (LexborHTMLParser(f"<div>{marked}</div>").text(separator="") or "").strip()


_ROUNDED_ID = re.compile(r"[+-]?\d(?:[.,]\d+)?[eE]\+\d+")


def rounded_by_spreadsheet(value: str | None) -> bool:
    """An id a spreadsheet re-saved as a rounded number ('1,00050E+14', '9.06E+17'): the digits it
    stood for are lost, and different ids now share one value."""
    return value is not None and _ROUNDED_ID.fullmatch(value.strip()) is not None


def parse_count(value: Any) -> int | None:
    """Counts as exports write them: 1234, "1,234", "1 234", "1.234" (fr/de), "1.2K", "3M"."""
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value == value else None
    s = str(value).strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    if not s or s.lower() in ("nan", "null", "none", "-"):
        return None
    multiplier = 1
    suffix = s[-1].lower()
    if suffix in ("k", "m", "b"):
        multiplier = {"k": 1_000, "m": 1_000_000, "b": 1_000_000_000}[suffix]
        s = s[:-1].replace(",", ".")
        try:
            return int(round(float(s) * multiplier))
        except ValueError:
            raise RecordError(f"not a count: {value!r}") from None
    if re.fullmatch(r"-?\d{1,3}([.,]\d{3})+", s):
        s = s.replace(",", "").replace(".", "")
    try:
        return int(s)
    except ValueError:
        try:
            f = float(s.replace(",", "."))
        except ValueError:
            raise RecordError(f"not a count: {str(value)[:40]!r}") from None
        return int(f)
