"""Collector configuration: one YAML file per collection (queries, accounts, instances, limits).

Read with ``yaml.safe_load`` (at most 1 MiB) and validated in one place: every error names the
file and the field (``queries[2].lang``). See ``docs/collecting.md`` for the full reference.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable

import yaml

from confiance.errors import ConfianceError

MAX_CONFIG_BYTES = 1 << 20
PLATFORMS = ("bluesky", "mastodon")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_HASHTAG = re.compile(r"[^\s#/?&]+")
_BLUESKY_PAGE_MAX = 100  # app.bsky.feed.searchPosts / getAuthorFeed / graph.getFollowers `limit` maximum
_MASTODON_PAGE_MAX = 40  # /api/v1/timelines/* and accounts/:id/statuses `limit` maximum
#: the DIDs a repository can be fetched for (atproto "DID" specification: did:plc, and did:web on a bare hostname)
DID_PLC = re.compile(r"did:plc:[a-z2-7]{24}")
DID_WEB = re.compile(r"did:web:((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9])")


class CollectError(ConfianceError):
    """A collector cannot go on (an API refused the request, retries exhausted, bad response)."""


class CollectConfigError(CollectError):
    """A configuration field is invalid: names the file and the field."""

    def __init__(self, file: str, field_name: str, reason: str):
        self.file = file
        self.field = field_name
        self.reason = reason
        super().__init__(f"{file}: field {field_name}: {reason}")


@dataclass(frozen=True)
class Limits:
    """How much one run takes and how politely (per task: one query, one account, one timeline)."""

    max_pages: int = 100  # pages per task and run
    max_posts: int = 10_000  # items per task and run
    page_size: int = 100  # capped to the API maximum (Bluesky 100, Mastodon 40)
    since: str | None = None  # ISO date-time: older items are not collected
    timeout_s: float = 30.0
    max_retries: int = 6
    min_interval_s: float = 1.0  # between two requests to one API
    rate_reserve: int = 1  # wait for the reset when `remaining` falls to this
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 60.0
    chunk_pages: int = 50  # pages per raw file before it is closed and a new one opened
    max_repo_bytes: int = 200 << 20  # a repository download (CAR) larger than this is abandoned


@dataclass(frozen=True)
class SearchQuery:
    q: str
    lang: str | None = None
    sort: str = "latest"


@dataclass(frozen=True)
class Jetstream:
    url: str = "wss://jetstream2.us-east.bsky.network/subscribe"
    keywords: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    duration_s: float = 600.0
    flush_events: int = 200  # matched events per page
    flush_s: float = 10.0  # …or seconds between pages


@dataclass(frozen=True)
class Instance:
    url: str
    hashtags: tuple[str, ...] = ()
    timelines: tuple[str, ...] = ()  # "local", "federated"
    accounts: tuple[str, ...] = ()
    followers_of: tuple[str, ...] = ()  # who follows them: /api/v1/accounts/:id/followers
    following_of: tuple[str, ...] = ()  # whom they follow: /api/v1/accounts/:id/following


@dataclass(frozen=True)
class Engagers:
    """Who boosted / favourited the statuses the timeline tasks collect (Mastodon; off unless configured)."""

    boosts: bool = True  # /api/v1/statuses/:id/reblogged_by
    favourites: bool = True  # /api/v1/statuses/:id/favourited_by
    min_count: int = 1  # a status is looked at when its reblogs_count (favourites_count) reaches this
    max_statuses: int = 100  # statuses looked at per run, all tasks together
    max_pages: int = 5  # pages per status and endpoint


@dataclass(frozen=True)
class CollectConfig:
    path: str
    platform: str
    name: str
    contact: str
    limits: Limits = field(default_factory=Limits)
    respect_opt_outs: bool = True  # leave out authors who opted out (Bluesky !no-unauthenticated, Mastodon noindex)
    # bluesky
    appview: str = "https://public.api.bsky.app"
    queries: tuple[SearchQuery, ...] = ()
    actors: tuple[str, ...] = ()
    followers_of: tuple[str, ...] = ()
    follows_of: tuple[str, ...] = ()
    repositories: tuple[str, ...] = ()
    jetstream: Jetstream | None = None
    # mastodon
    instances: tuple[Instance, ...] = ()
    engagers: Engagers | None = None

    @property
    def since_dt(self) -> datetime | None:
        return _to_datetime(self.limits.since) if self.limits.since else None


_COMMON = {"platform", "name", "contact", "limits", "respect_opt_outs"}
_FIELDS = {
    "bluesky": _COMMON | {"appview", "queries", "actors", "followers_of", "follows_of", "repositories", "jetstream"},
    "mastodon": _COMMON | {"instances", "engagers"},
}


def _to_datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


class _Checker:
    def __init__(self, file: str):
        self.file = file

    def fail(self, where: str, reason: str) -> CollectConfigError:
        return CollectConfigError(self.file, where, reason)

    def mapping(self, value: Any, where: str, known: set[str]) -> dict:
        if not isinstance(value, dict):
            raise self.fail(where, "expected a mapping")
        unknown = sorted(str(k) for k in value if k not in known)
        if unknown:
            prefix = f"{where}." if where != "(top)" else ""
            raise self.fail(f"{prefix}{unknown[0]}", f"unknown field; known: {', '.join(sorted(known))}")
        return value

    def text(self, value: Any, where: str, pattern: re.Pattern | None = None) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, "expected a non-empty string")
        value = value.strip()
        if pattern is not None and not pattern.fullmatch(value):
            raise self.fail(where, f"invalid value {value[:60]!r}")
        return value

    def texts(self, value: Any, where: str, clean: Callable[[str, str], str] | None = None) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.fail(where, "expected a list")
        out = []
        for i, item in enumerate(value):
            text = self.text(item, f"{where}[{i}]")
            out.append(clean(text, f"{where}[{i}]") if clean else text)
        return tuple(dict.fromkeys(out))

    def number(self, value: Any, where: str, *, integer: bool, minimum: float) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
            raise self.fail(where, f"expected {'an integer' if integer else 'a number'}")
        if value < minimum:
            raise self.fail(where, f"must be at least {minimum}")
        return value

    def url(self, value: Any, where: str, schemes: tuple[str, ...]) -> str:
        text = self.text(value, where)
        if not text.lower().startswith(tuple(f"{s}://" for s in schemes)) or " " in text:
            raise self.fail(where, f"expected a {' or '.join(schemes)} URL")
        return text.rstrip("/")


def _limits(check: _Checker, raw: Any, platform: str) -> Limits:
    if raw is None:
        raw = {}
    known = set(Limits.__dataclass_fields__)
    raw = check.mapping(raw, "limits", known)
    values: dict[str, Any] = {}
    for key, value in raw.items():
        where = f"limits.{key}"
        if key == "since":
            if isinstance(value, (date, datetime)):
                value = value.isoformat()
            text = check.text(value, where)
            try:
                values[key] = _to_datetime(text).isoformat()
            except ValueError:
                raise check.fail(where, "expected an ISO date or date-time (2025-01-31)") from None
        elif key in ("timeout_s", "min_interval_s", "backoff_base_s", "backoff_cap_s"):
            values[key] = float(check.number(value, where, integer=False, minimum=0))
        else:
            values[key] = check.number(value, where, integer=True, minimum=0 if key == "rate_reserve" else 1)
    page_max = _BLUESKY_PAGE_MAX if platform == "bluesky" else _MASTODON_PAGE_MAX
    values["page_size"] = min(values.get("page_size", page_max), page_max)
    return Limits(**values)


def _actor(check: _Checker, text: str, where: str) -> str:
    actor = text.lstrip("@").lower() if not text.startswith("did:") else text
    if not (actor.startswith("did:") or "." in actor):
        raise check.fail(where, f"expected a handle (name.bsky.social) or a DID, got {text[:60]!r}")
    return actor


def _repository(check: _Checker, text: str, where: str) -> str:
    actor = _actor(check, text, where)
    if actor.startswith("did:") and not (DID_PLC.fullmatch(actor) or DID_WEB.fullmatch(actor)):
        raise check.fail(where, f"expected a did:plc or did:web DID (did:web on a bare hostname), got {text[:60]!r}")
    return actor


def _bluesky(check: _Checker, data: dict) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "appview" in data:
        out["appview"] = check.url(data["appview"], "appview", ("https", "http"))
    queries = data.get("queries")
    if queries is not None:
        if not isinstance(queries, list):
            raise check.fail("queries", "expected a list")
        parsed = []
        for i, item in enumerate(queries):
            where = f"queries[{i}]"
            if isinstance(item, str):
                item = {"q": item}
            item = check.mapping(item, where, {"q", "lang", "sort"})
            sort = item.get("sort", "latest")
            if sort not in ("latest", "top"):
                raise check.fail(f"{where}.sort", "expected latest or top")
            lang = check.text(item["lang"], f"{where}.lang", re.compile(r"[a-z]{2,3}")) if item.get("lang") is not None else None
            if "q" not in item:
                raise check.fail(f"{where}.q", "missing")
            parsed.append(SearchQuery(check.text(item["q"], f"{where}.q"), lang, sort))
        out["queries"] = tuple(parsed)
    for key in ("actors", "followers_of", "follows_of"):
        out[key] = check.texts(data.get(key), key, lambda t, w: _actor(check, t, w))
    out["repositories"] = check.texts(data.get("repositories"), "repositories", lambda t, w: _repository(check, t, w))
    if data.get("jetstream") is not None:
        raw = check.mapping(data["jetstream"], "jetstream", set(Jetstream.__dataclass_fields__))
        values: dict[str, Any] = {}
        if "url" in raw:
            values["url"] = check.url(raw["url"], "jetstream.url", ("wss", "ws"))
        values["keywords"] = tuple(k.casefold() for k in check.texts(raw.get("keywords"), "jetstream.keywords"))
        if not values["keywords"]:
            raise check.fail("jetstream.keywords", "needs at least one keyword (the firehose is not collected whole)")
        values["languages"] = check.texts(raw.get("languages"), "jetstream.languages")
        for key in ("duration_s", "flush_s"):
            if key in raw:
                values[key] = float(check.number(raw[key], f"jetstream.{key}", integer=False, minimum=0.001))
        if "flush_events" in raw:
            values["flush_events"] = check.number(raw["flush_events"], "jetstream.flush_events", integer=True, minimum=1)
        out["jetstream"] = Jetstream(**values)
    if not (out.get("queries") or out["actors"] or out["followers_of"] or out["follows_of"] or out["repositories"]
            or out.get("jetstream")):
        raise check.fail("queries", "nothing to collect: give queries, actors, followers_of, follows_of, repositories "
                                    "or jetstream")
    return out


def _hashtag(check: _Checker, text: str, where: str) -> str:
    tag = text.lstrip("#").lower()  # hashtags are case-insensitive on Mastodon
    if not _HASHTAG.fullmatch(tag):
        raise check.fail(where, f"invalid hashtag {text[:60]!r}")
    return tag


def _account(check: _Checker, text: str, where: str) -> str:
    account = text.lstrip("@")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+(@[A-Za-z0-9.-]+(:\d+)?)?", account):
        raise check.fail(where, f"expected username or username@instance, got {text[:60]!r}")
    return account


def _mastodon(check: _Checker, data: dict) -> dict[str, Any]:
    raw = data.get("instances")
    if not isinstance(raw, list) or not raw:
        raise check.fail("instances", "expected a non-empty list of instances")
    instances = []
    for i, item in enumerate(raw):
        where = f"instances[{i}]"
        if isinstance(item, str):
            item = {"url": item}
        item = check.mapping(item, where, {"url", "hashtags", "timelines", "accounts", "followers_of", "following_of"})
        if "url" not in item:
            raise check.fail(f"{where}.url", "missing")
        url = check.url(item["url"], f"{where}.url", ("https", "http"))
        timelines = check.texts(item.get("timelines"), f"{where}.timelines")
        for j, name in enumerate(timelines):
            if name not in ("local", "federated"):
                raise check.fail(f"{where}.timelines[{j}]", "expected local or federated")
        accounts = {key: check.texts(item.get(key), f"{where}.{key}", lambda t, w: _account(check, t, w))
                    for key in ("accounts", "followers_of", "following_of")}
        instance = Instance(url, check.texts(item.get("hashtags"), f"{where}.hashtags", lambda t, w: _hashtag(check, t, w)),
                            timelines, **accounts)
        if not (instance.hashtags or instance.timelines or any(accounts.values())):
            raise check.fail(where, "nothing to collect: give hashtags, timelines, accounts, followers_of or following_of")
        instances.append(instance)
    return {"instances": tuple(instances), "engagers": _engagers(check, data.get("engagers"))}


def _engagers(check: _Checker, raw: Any) -> Engagers | None:
    if raw is None or raw is False:
        return None
    if raw is True:
        return Engagers()
    raw = check.mapping(raw, "engagers", set(Engagers.__dataclass_fields__))
    values: dict[str, Any] = {}
    for key, value in raw.items():
        where = f"engagers.{key}"
        if key in ("boosts", "favourites"):
            if not isinstance(value, bool):
                raise check.fail(where, "expected true or false")
            values[key] = value
        else:
            values[key] = check.number(value, where, integer=True, minimum=1)
    engagers = Engagers(**values)
    if not (engagers.boosts or engagers.favourites):
        raise check.fail("engagers", "boosts and favourites are both false: nothing to collect (remove engagers)")
    return engagers


def parse_config(text: str, file: str, platform: str | None = None) -> CollectConfig:
    """Validate a configuration's YAML text; ``platform`` (the CLI verb) must match the file's."""
    check = _Checker(file)
    if len(text.encode("utf-8")) > MAX_CONFIG_BYTES:
        raise check.fail("(file)", f"larger than {MAX_CONFIG_BYTES} bytes")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(YAML)"
        raise check.fail(where, f"not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    if not isinstance(data, dict):
        raise check.fail("(top)", "expected a mapping")
    declared = data.get("platform", platform)
    if declared not in PLATFORMS:
        raise check.fail("platform", f"expected one of {', '.join(PLATFORMS)}")
    if platform is not None and declared != platform:
        raise check.fail("platform", f"the file is for {declared}, the command collects {platform}")
    check.mapping(data, "(top)", _FIELDS[declared])
    name = check.text(data["name"], "name", _NAME) if "name" in data else Path(file).stem
    if not _NAME.fullmatch(name):
        raise check.fail("name", "give a name of letters, digits, '.', '_' or '-' (the file name is not one)")
    if "contact" not in data:
        raise check.fail("contact", "missing: an e-mail or URL where API operators can reach you (sent in the User-Agent)")
    contact = check.text(data["contact"], "contact")
    if any(c in contact for c in "\r\n()"):
        raise check.fail("contact", "must be one line without parentheses")
    limits = _limits(check, data.get("limits"), declared)
    respect = data.get("respect_opt_outs", True)
    if not isinstance(respect, bool):
        raise check.fail("respect_opt_outs", "expected true or false")
    specific = _bluesky(check, data) if declared == "bluesky" else _mastodon(check, data)
    return CollectConfig(path=file, platform=declared, name=name, contact=contact, limits=limits,
                         respect_opt_outs=respect, **specific)


def load_config(path: str | Path, platform: str | None = None) -> CollectConfig:
    """Read and validate a configuration file (see :func:`parse_config`)."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise CollectConfigError(str(path), "(file)", f"larger than {MAX_CONFIG_BYTES} bytes")
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CollectConfigError(str(path), "(file)", f"cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise CollectConfigError(str(path), "(file)", "not UTF-8 text") from None
    return parse_config(text, str(path), platform)
