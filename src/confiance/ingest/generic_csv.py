"""Generic CSV of posts, read through a user-supplied YAML column mapping.

Never auto-detected (``sniff`` returns 0): choose it with
``confiance ingest --format generic-csv --mapping MAPPING.yaml FILE.csv``. The mapping path arrives
in ``ctx.options["mapping"]``; it is loaded and validated once (cached by path, size and mtime).

Mapping schema::

    platform: x                  # canonical platform name (lower-case); or, instead:
    platform_column: network     # the CSV column that holds it per row (--platform is the fallback)
    columns:                     # canonical field: CSV column name; post_id is required
      post_id: id
      account_id: author_id      # without it, accounts are identified by their lower-cased handle
      handle: author_handle
      display_name: author_name
      created_at: date
      text: body
      lang: language
      kind: type                 # values translated by kind_values, else already post/reply/repost/quote
      parent_post_id: in_reply_to
      parent_account_id: in_reply_to_author
      likes: likes               # likes, reposts, replies, quotes, views: counts ("1,234", "1.2K" ok)
      url: link
      followers: author_followers
    timestamp_format: "%d/%m/%Y %H:%M"   # optional strptime format for created_at
    timezone: Europe/Paris       # optional zone for timestamps written without one (IANA name,
                                 # UTC or ±HH:MM); default UTC
    kind_values: {RT: repost, R: reply, Q: quote, P: post}   # optional CSV value -> canonical kind
    repost_of_column: retweeted_id            # optional: non-empty = a repost of that post id
    reply_to_account_column: reply_to_user    # optional: the account replied to (parent_account_id)

A post, account or parent id that a spreadsheet rounded (``1,57699E+18``) rejects its record: the
id it stood for is lost, and rounded ids collide.

Every problem in the mapping (unreadable file, YAML error, unknown key or field, missing
``post_id``, a mapped column absent from the CSV header, a bad kind, format or zone) raises
:class:`~confiance.errors.IngestError` naming the mapping file and the line of the offending entry.

Mapping rules: ``kind`` comes from the kind column when it has a value; otherwise a row with a
``repost_of_column`` value is a repost (its parent is that post), one with a parent post or a
reply-to account is a reply, anything else a post. Hashtags, mentions and urls come from the text.
Interactions: the author -> ``parent_account_id`` with the post's kind (reply, repost, quote), and
a ``mention`` for each @handle in the text. Mention targets need an account id: when accounts are
identified by handles (no ``account_id`` column), the handle is the id; when both ``account_id``
and ``handle`` columns are mapped, the file is scanned once for handle -> id and mentions of
handles that never author a row stay in ``posts.mentions`` only; with ids but no handle column,
mentions stay in ``posts.mentions`` only. ``followers`` is observed at the file's collection time.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any, Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from confiance.errors import IngestError, RecordError
from confiance.i18n import N_, Phrase
from confiance.ingest._format import (
    Context,
    Format,
    Sample,
    domains_of,
    hashtags_in,
    mentions_in,
    parse_count,
    parse_timestamp,
    rounded_by_spreadsheet,
    urls_in,
)
from confiance.ingest._readers import Item, _NoAliasLoader, read_csv, sniff_encoding
from confiance.ingest._sink import Sink
from confiance.store import interaction_post_id

FIELDS = ("post_id", "account_id", "handle", "display_name", "created_at", "text", "lang", "kind",
          "parent_post_id", "parent_account_id", "likes", "reposts", "replies", "quotes", "views", "url",
          "followers")
METRICS = ("likes", "reposts", "replies", "quotes", "views")
KINDS = ("post", "reply", "repost", "quote")
TOP_KEYS = ("platform", "platform_column", "columns", "timestamp_format", "timezone", "kind_values",
            "repost_of_column", "reply_to_account_column")
_PLATFORM_NAME = re.compile(r"[a-z][a-z0-9_.\-]{0,39}")
_OFFSET = re.compile(r"([+-])(\d\d):?(\d\d)")


@dataclass(frozen=True)
class Mapping:
    path: str
    platform: str | None
    platform_column: str | None
    columns: dict[str, str]
    timestamp_format: str | None
    zone: tzinfo
    kind_values: dict[str, str]
    repost_of_column: str | None
    reply_to_account_column: str | None
    #: mapping line of each entry, to point errors found later (CSV header checks) at it
    lines: dict[str, int] = field(default_factory=dict)

    def csv_columns(self) -> dict[str, str]:
        """entry name -> CSV column, for every column the mapping names."""
        named = {f"columns.{k}": v for k, v in self.columns.items()}
        for key in ("platform_column", "repost_of_column", "reply_to_account_column"):
            if getattr(self, key):
                named[key] = getattr(self, key)
        return named


def _fail(path: str, line: int | None, reason: Phrase) -> IngestError:
    return IngestError(path, line, Phrase(N_("mapping: %(reason)s"), reason=reason))


def _unreadable_mapping(error: object) -> Phrase:
    return Phrase(N_("cannot read mapping file (%(error)s)"), error=str(error))


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _scalar_text(path: str, node: yaml.Node, what: str) -> str:
    if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
        raise _fail(path, _line(node), Phrase(N_("%(what)s must be a non-empty text"), what=what))
    return str(node.value).strip()


def _mapping_pairs(path: str, node: yaml.Node, what: str) -> list[tuple[str, yaml.Node, int]]:
    if not isinstance(node, yaml.MappingNode):
        raise _fail(path, _line(node), Phrase(N_("%(what)s must be a mapping of `key: value`"), what=what))
    pairs = []
    seen: set[str] = set()
    for key_node, value_node in node.value:
        key = _scalar_text(path, key_node, Phrase(N_("a key of %(what)s"), what=what))
        if key in seen:
            raise _fail(path, _line(key_node), Phrase(N_("%(what)s: %(key)s is given twice"), what=what, key=repr(key)))
        seen.add(key)
        pairs.append((key, value_node, _line(key_node)))
    return pairs


def _zone(path: str, text: str, line: int) -> tzinfo:
    if text.upper() in ("UTC", "Z", "GMT"):
        return timezone.utc
    match = _OFFSET.fullmatch(text)
    if match:
        minutes = int(match.group(2)) * 60 + int(match.group(3))
        return timezone(timedelta(minutes=minutes if match.group(1) == "+" else -minutes))
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise _fail(path, line, Phrase(N_("timezone %(zone)s is not an IANA zone name, UTC or `±HH:MM`"),
                                         zone=repr(text))) from None


def parse_mapping(path: str, text: str) -> Mapping:
    """Validate a mapping document (see the module docstring); errors name ``path`` and a line."""
    try:
        root = yaml.compose(text, Loader=_NoAliasLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise _fail(path, mark.line + 1 if mark else None,
                    Phrase(N_("invalid YAML: %(error)s"), error=str(exc).splitlines()[0])) from None
    if root is None:
        raise _fail(path, None, Phrase(N_("the mapping file is empty")))
    values: dict[str, tuple[yaml.Node, int]] = {}
    for key, node, line in _mapping_pairs(path, root, Phrase(N_("the mapping"))):
        if key not in TOP_KEYS:
            raise _fail(path, line, Phrase(N_("unknown key %(key)s; expected one of %(known)s"), key=repr(key),
                                        known=", ".join(TOP_KEYS)))
        values[key] = (node, line)
    lines = {key: line for key, (_, line) in values.items()}

    if "columns" not in values:
        raise _fail(path, None, Phrase(N_("'columns' is missing (at least columns.post_id is required)")))
    columns: dict[str, str] = {}
    for name, node, line in _mapping_pairs(path, values["columns"][0], "columns"):
        if name not in FIELDS:
            raise _fail(path, line, Phrase(N_("unknown field %(field)s in columns; known fields: %(known)s"),
                                        field=repr(name), known=", ".join(FIELDS)))
        columns[name] = _scalar_text(path, node, f"columns.{name}")
        lines[f"columns.{name}"] = line
    if "post_id" not in columns:
        raise _fail(path, values["columns"][1],
                    Phrase(N_("columns.post_id is required (the CSV column holding the post id)")))

    def text_of(key: str) -> str | None:
        return _scalar_text(path, values[key][0], key) if key in values else None

    platform, platform_column = text_of("platform"), text_of("platform_column")
    if platform and platform_column:
        raise _fail(path, lines["platform_column"], Phrase(N_("give either platform or platform_column, not both")))
    if platform and not _PLATFORM_NAME.fullmatch(platform):
        raise _fail(path, lines["platform"], Phrase(N_("platform %(platform)s must be a lower-case name such as x, "
                                                       "facebook, youtube"), platform=repr(platform)))
    timestamp_format = text_of("timestamp_format")
    if timestamp_format is not None and "%" not in timestamp_format:
        raise _fail(path, lines["timestamp_format"], Phrase(N_("timestamp_format %(format)s has no strptime directive "
                                                               "(such as `%%Y-%%m-%%d %%H:%%M`)"), format=repr(timestamp_format)))
    zone_text = text_of("timezone")
    zone = _zone(path, zone_text, lines["timezone"]) if zone_text else timezone.utc

    kind_values: dict[str, str] = {}
    if "kind_values" in values:
        for raw, node, line in _mapping_pairs(path, values["kind_values"][0], "kind_values"):
            kind = _scalar_text(path, node, f"kind_values.{raw}").lower()
            if kind not in KINDS:
                raise _fail(path, line, Phrase(N_("kind_values.%(value)s: %(kind)s is not one of %(known)s"), value=raw,
                                                kind=repr(kind), known=", ".join(KINDS)))
            kind_values[raw] = kind
    return Mapping(path, platform, platform_column, columns, timestamp_format, zone, kind_values,
                   text_of("repost_of_column"), text_of("reply_to_account_column"), lines)


_cache: dict[tuple[str, int, int], Mapping] = {}
_cache_lock = threading.Lock()


def load_mapping(path: str | Path) -> Mapping:
    """The validated mapping at ``path``, cached by (path, size, mtime)."""
    p = Path(path)
    try:
        stat = p.stat()
        key = (str(p.resolve()), stat.st_size, stat.st_mtime_ns)
    except OSError as exc:
        raise _fail(str(path), None, _unreadable_mapping(exc.strerror or exc)) from None
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(str(path), None, _unreadable_mapping(exc)) from None
    mapping = parse_mapping(str(path), text)
    with _cache_lock:
        _cache[key] = mapping
    return mapping


# -- per-file state -----------------------------------------------------------------------------
class _FileState:
    """One CSV file read under one mapping: the header check and the handle -> id lookup."""

    def __init__(self, mapping: Mapping, ctx: Context):
        self.mapping = mapping
        self.ctx = ctx
        self.header_checked = False
        self._handle_ids: dict[str, str] | None = None

    def check_header(self, row: dict) -> None:
        if self.header_checked:
            return
        for entry, column in self.mapping.csv_columns().items():
            if column not in row:
                raise _fail(self.mapping.path, self.mapping.lines.get(entry) or self.mapping.lines.get(entry.split(".")[0]),
                            Phrase(N_("%(entry)s: column %(column)s is not in the header of %(file)s (columns: "
                                      "%(columns)s)"), entry=entry, column=repr(column), file=self.ctx.path.name,
                                   columns=", ".join(list(row)[:30])))
        self.header_checked = True

    def handle_ids(self) -> dict[str, str]:
        """handle -> account id over the whole file (read once, only when mentions need it)."""
        if self._handle_ids is None:
            id_col, handle_col = self.mapping.columns["account_id"], self.mapping.columns["handle"]
            found: dict[str, str] = {}
            for item in read_csv(sniff_encoding(self.ctx.path)):
                if isinstance(item, Item):
                    handle = _handle(item.value.get(handle_col))
                    account = (item.value.get(id_col) or "").strip()
                    if handle and account:
                        found.setdefault(handle, account)
            self._handle_ids = found
        return self._handle_ids


_STATE_KEY = "_generic_csv_state"


def _state(ctx: Context) -> _FileState:
    """The file's state, kept in its Context (the engine makes one Context per ingested file)."""
    mapping_path = ctx.options.get("mapping")
    if not mapping_path:
        raise IngestError(str(ctx.path), None, Phrase(N_("format %(format)s needs --mapping MAPPING.yaml"),
                                                        format="generic-csv"))
    state = ctx.options.get(_STATE_KEY)
    if state is None:
        state = ctx.options[_STATE_KEY] = _FileState(load_mapping(mapping_path), ctx)
    return state


def sniff(sample: Sample) -> int:
    return 0  # only chosen with --format generic-csv


def records(unit: Any, ctx: Context) -> Iterator[Any]:
    if not isinstance(unit, dict):
        raise RecordError("expected a CSV row")
    state = _state(ctx)
    state.check_header(unit)
    yield unit, state


# -- mapping one row ----------------------------------------------------------------------------
def _handle(value: str | None) -> str | None:
    value = (value or "").strip().lstrip("@").lower()
    return value or None


def _timestamp(value: str | None, mapping: Mapping) -> str | None:
    if value is None or not value.strip():
        return None
    s = value.strip()
    if mapping.timestamp_format:
        try:
            dt = datetime.strptime(s, mapping.timestamp_format)
        except ValueError:
            raise RecordError(f"created_at {s[:40]!r} does not match timestamp_format "
                              f"{mapping.timestamp_format!r}") from None
    else:
        try:
            dt = datetime.fromisoformat(s[:-1] + "+00:00" if s.endswith("Z") else s)
        except ValueError:
            return parse_timestamp(s)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=mapping.zone)
    return dt.astimezone(timezone.utc).isoformat()


def map_record(record: Any, sink: Sink, ctx: Context) -> None:
    row, state = record
    mapping: Mapping = state.mapping
    cols = mapping.columns

    def get(name: str) -> str | None:
        column = cols.get(name)
        value = row.get(column) if column else None
        return value.strip() if value is not None and value.strip() else None

    def column_value(column: str | None) -> str | None:
        value = row.get(column) if column else None
        return value.strip() if value is not None and value.strip() else None

    post_id = get("post_id")
    if post_id is None:
        raise RecordError(f"no post id in column {cols['post_id']!r}")
    for name in ("post_id", "account_id", "parent_post_id", "parent_account_id"):
        if rounded_by_spreadsheet(get(name)):
            raise RecordError(f"{cols[name]} {get(name)!r} was rounded by a spreadsheet: re-export, or open the "
                              "file with the column as text")
    if mapping.platform_column:
        platform = (column_value(mapping.platform_column) or "").lower()
    else:
        platform = mapping.platform or str(ctx.options.get("platform") or "").lower()
    if not platform:
        raise RecordError("no platform: set platform in the mapping, fill its platform_column, or pass --platform")

    ids_are_handles = "account_id" not in cols
    handle = _handle(get("handle"))
    author = handle if ids_are_handles else get("account_id")

    repost_of = column_value(mapping.repost_of_column)
    parent_post = get("parent_post_id") or repost_of
    parent_account = get("parent_account_id") or column_value(mapping.reply_to_account_column)
    if parent_account and ids_are_handles:
        parent_account = _handle(parent_account)

    raw_kind = get("kind")
    if raw_kind is not None:
        kind = mapping.kind_values.get(raw_kind, raw_kind.lower())
        if kind not in KINDS:
            raise RecordError(f"kind {raw_kind!r} is neither post/reply/repost/quote nor listed in kind_values")
    elif repost_of:
        kind = "repost"
    elif parent_post or parent_account:
        kind = "reply"
    else:
        kind = "post"

    text = get("text") or ""
    urls = urls_in(text)
    mentions = mentions_in(text)
    created = _timestamp(get("created_at"), mapping)
    metrics = {}
    for name in METRICS:
        value = get(name)
        metrics[name] = parse_count(value) if value is not None else None
    sink.post(
        primary=True,
        platform=platform,
        post_id=post_id,
        account_id=author,
        created_at=created,
        text=text,
        lang=get("lang"),
        kind=kind,
        parent_post_id=parent_post if kind != "post" else None,
        parent_account_id=parent_account if kind != "post" else None,
        url=get("url"),
        urls=urls,
        domains=domains_of(urls),
        hashtags=hashtags_in(text),
        mentions=mentions,
        **metrics,
    )
    if any(v is not None for v in metrics.values()):
        sink.observation(platform=platform, post_id=post_id, collected_at=ctx.collected_at, **metrics)
    if author is None:
        return
    followers = get("followers")
    sink.account(platform=platform, account_id=author, handle=handle, display_name=get("display_name"),
                 followers=parse_count(followers) if followers is not None else None, observed_at=ctx.collected_at)
    if kind != "post" and parent_account:
        sink.interaction(platform=platform, src=author, dst=parent_account, kind=kind,
                         post_id=interaction_post_id(platform, kind, post_id, parent_post), created_at=created)
        sink.account(platform=platform, account_id=parent_account, observed_at=ctx.collected_at)
    if not mentions:
        return
    if ids_are_handles:
        targets = {m: m for m in mentions}
    elif "handle" in cols:
        known = state.handle_ids()
        targets = {m: known[m] for m in mentions if m in known}
    else:
        targets = {}
    for mentioned, target in targets.items():
        if target == author or (kind == "repost" and target == parent_account):
            continue  # "RT @x:" names the reposted author: the repost itself, not a mention
        sink.interaction(platform=platform, src=author, dst=target, kind="mention", post_id=post_id,
                         created_at=created)
        sink.account(platform=platform, account_id=target, handle=mentioned, observed_at=ctx.collected_at)


FORMAT = Format(
    name="generic-csv",
    description="CSV of posts with a YAML column mapping (--format generic-csv --mapping FILE)",
    containers=("csv",),
    sniff=sniff,
    records=records,
    map=map_record,
    needs_mapping=True,
    options=('mapping', 'platform'),
)
