"""Mastodon REST API: statuses and accounts, as plain JSON / JSONL or inside VCR.py cassettes.

Shapes read:

- VCR.py cassette (YAML, as recorded by Mastodon.py's test suite and most API clients):
  ``interactions[].response.body`` holds what the server returned, as ``string`` (text, or bytes
  when YAML tagged it ``!!binary``) or ``base64_string``. gzip / deflate bodies are decompressed;
  brotli ones cannot be (no decoder installed) and become a reject. Responses that are not
  statuses or accounts (the instance object, errors, HTML, HTTP status >= 300) are skipped. The
  serving instance is the request's host.
- plain API JSON: a status, an array of statuses (streamed), JSONL of statuses, an account or an
  array of accounts (followers lists), search results ``{accounts, statuses, hashtags}`` and thread
  context ``{ancestors, descendants}``. An object that is none of these is a reject.
- the collector's list envelopes (``confiance collect mastodon``), one page a line:
  engagers ``{"reblogged_by" | "favourited_by": [account...], "status": {"uri", "id", "account"},
  "host"}`` and follow lists ``{"followers" | "following": [account...], "account": {...}, "host"}``
  (``host``: the serving instance; the subject account's host when absent).

Each status is one record (primary row: the post); each account that an accounts endpoint returns
is one record (primary row: the account). Each account of an envelope's list is one record whose
primary row is its edge: re-reading a page adds nothing. A status seen twice (public then local
timeline, posted then deleted) is a duplicate of its first appearance.

Identity:

- account ids are per-instance numbers, so ``account_id`` is the account's global address:
  ``acct`` qualified with the host of the account ``url`` when it has no '@'
  (``alice@mastodon.social``), lower-case; ``handle`` is the same. The numeric id is kept in
  attributes. Limit: an instance whose web domain differs from its account domain gives its local
  accounts the web host.
- ``post_id`` is the status ``uri`` (the ActivityPub id, globally unique); the numeric id, which
  differs on every instance that saw the status, is kept in attributes.
- ``in_reply_to_id``, ``in_reply_to_account_id``, ``quote_id`` and the ids in follower-list URLs
  are numeric ids *of the serving instance*. They are resolved through what the same unit holds (a
  cassette, a search result, a document): the mentions, the statuses and accounts seen there.
  What stays unresolved is written ``<numeric id>@<serving host>`` so that replies to one unknown
  post still group together. Without a cassette the serving host is that of a local account
  (``acct`` without '@') found in the unit, else the author's host.

Mapping: ``content`` HTML -> text (paragraphs and ``<br>`` become line breaks; the ``RE: <link>``
paragraph that Mastodon 4.4+ prepends to quote posts is dropped, the quote being stored as such);
DELETE responses carry the source ``text`` instead of ``content``. A boost (``reblog``) is kind
``repost`` with the boosted status stored as a context post and a ``repost`` interaction (see below). A reply
(``in_reply_to_id``) is kind ``reply``; a quote (``quote.quoted_status``, a shallow
``quote.quoted_status_id``, or Fedibird's ``quote`` / ``quote_id``) is kind ``quote`` unless the status
is also a reply, in which case it stays a reply with ``quoted_post_id`` in attributes; either way a
``quote`` interaction goes to the quoted author. ``mentions`` -> mention interactions, ``tags`` ->
hashtags, links in ``content`` (not mention or hashtag links) and ``card.url`` -> urls.
favourites/reblogs/replies/quotes counts -> likes/reposts/replies/quotes and an observation.
Accounts in a followers/following list recorded in a cassette also give ``follow`` edges.
Envelopes: each account of ``reblogged_by`` (``favourited_by``) becomes an account row and a
``repost`` (``like``) interaction from it to the status author, ``post_id`` = the status ``uri``
and no ``created_at`` (the API does not say when), as Bluesky's getRepostedBy; each account of
``followers`` (``following``) a ``follow`` edge to (from) the envelope's account, ``post_id`` ''.

One boost, one ``repost`` interaction: an account boosts a status at most once, so the interaction is keyed by
the boosted status (``post_id`` = its ``uri``; ``confiance.store.REPOST_KEYED_BY_REPOSTED``), from a timeline
as from a ``reblogged_by`` list; either order, one file or two, stores one row. The timeline's reading wins
what the list lacks: the boost's time fills the interaction's ``created_at`` whichever came first (a stored
time is never changed, so ingesting again changes nothing), and the boost itself (its ``uri``, numeric id
and time) is the ``posts`` row of kind ``repost`` whose ``parent_post_id`` is the interaction's ``post_id``.
"""

from __future__ import annotations

import base64
import re
import zlib
from typing import Any, Iterator
from urllib.parse import urlsplit

import orjson

from confiance.errors import RecordError
from confiance.store import interaction_post_id
from confiance.ingest._format import (
    Context,
    Format,
    Sample,
    domains_of,
    hashtags_in,
    html_to_text,
    parse_timestamp,
    urls_in,
)
from confiance.ingest._sink import Sink

PLATFORM = "mastodon"
_MAX_BODY_BYTES = 256 << 20  # a decompressed response body; more is not an API page
_MAX_CONTEXT_DEPTH = 3  # boost of a quote of a quote…
_QUOTE_INLINE = re.compile(
    r"<(p|span)\b[^>]*\bclass\s*=\s*[\"'][^\"']*\bquote-inline\b[^\"']*[\"'][^>]*>.*?</\1>", re.IGNORECASE | re.DOTALL
)
_FOLLOW_PATH = re.compile(r"/api/v1/accounts/([^/]+)/(followers|following)/?$")
_MASTODON_PATHS = ("/api/v1/statuses", "/api/v1/timelines", "/api/v1/accounts", "/api/v2/search",
                   "/api/v1/instance", "/api/v2/instance", "/api/v1/notifications")
#: envelope list -> interaction kind from each listed account to the status author
ENGAGEMENTS = {"reblogged_by": "repost", "favourited_by": "like"}
FOLLOW_LISTS = ("followers", "following")


# ---------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------

def content_links(content: str) -> list[str]:
    """Link targets in status HTML, without mention / hashtag links and the quote-inline link."""
    from selectolax.lexbor import LexborHTMLParser

    tree = LexborHTMLParser(f"<div>{_QUOTE_INLINE.sub('', content)}</div>")
    links = []
    for anchor in tree.css("a[href]"):
        classes = (anchor.attributes.get("class") or "").split()
        if "mention" in classes or "hashtag" in classes:
            continue
        href = (anchor.attributes.get("href") or "").strip()
        if href.lower().startswith(("http://", "https://")):
            links.append(href)
    return links


# ---------------------------------------------------------------------------------------------
# Shapes
# ---------------------------------------------------------------------------------------------

def _is_status(value: Any) -> bool:
    return (isinstance(value, dict) and isinstance(value.get("account"), dict) and "id" in value
            and "created_at" in value and ("uri" in value or "url" in value))


def _is_account(value: Any) -> bool:
    return (isinstance(value, dict) and "account" not in value and "id" in value
            and "acct" in value and "username" in value)


def _is_search(value: Any) -> bool:
    return (isinstance(value, dict) and isinstance(value.get("statuses"), list)
            and isinstance(value.get("accounts"), list))


def _is_thread_context(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("ancestors"), list) and isinstance(value.get("descendants"), list)


def _envelope_list(value: Any) -> str | None:
    """The list an engagers or follow-list envelope holds (``reblogged_by``, ``followers``…), else None."""
    if not isinstance(value, dict):
        return None
    if "status" in value:
        return next((key for key in ENGAGEMENTS if key in value), None)
    if "account" in value:
        return next((key for key in FOLLOW_LISTS if key in value), None)
    return None


def _is_cassette(value: Any) -> bool:
    interactions = value.get("interactions") if isinstance(value, dict) else None
    return isinstance(interactions, list) and any(
        isinstance(i, dict) and "response" in i for i in interactions[:5])


def _entities(body: Any) -> Iterator[tuple[str, dict]]:
    """(``status`` | ``account``, object) for every status / account a response body holds."""
    if isinstance(body, list):
        for item in body:
            yield from _entities(item)
    elif _is_status(body):
        yield "status", body
    elif _is_account(body):
        yield "account", body
    elif _is_search(body):
        for account in body["accounts"]:
            if _is_account(account):
                yield "account", account
        for status in body["statuses"]:
            if _is_status(status):
                yield "status", status
    elif _is_thread_context(body):
        for status in body["ancestors"] + body["descendants"]:
            if _is_status(status):
                yield "status", status


def _header(headers: Any, name: str) -> str:
    if not isinstance(headers, dict):
        return ""
    for key, value in headers.items():
        if str(key).lower() == name:
            if isinstance(value, list):
                value = value[0] if value else ""
            return str(value or "").lower()
    return ""


def _inflate(data: bytes, wbits: int) -> bytes:
    inflater = zlib.decompressobj(wbits)
    out = inflater.decompress(data, _MAX_BODY_BYTES)
    if inflater.unconsumed_tail:
        raise RecordError(f"response body inflates beyond {_MAX_BODY_BYTES} bytes")
    return out


def _decode_body(response: dict) -> Any:
    """The JSON a recorded response holds, None when it holds no JSON (empty, HTML…)."""
    body = response.get("body")
    raw: Any = body.get("string") if isinstance(body, dict) else body
    if raw is None and isinstance(body, dict) and body.get("base64_string"):
        try:
            raw = base64.b64decode(body["base64_string"], validate=False)
        except (ValueError, TypeError):
            raise RecordError("response body: invalid base64_string") from None
    if not raw:
        return None
    if isinstance(raw, bytes):
        encoding = _header(response.get("headers"), "content-encoding")
        try:
            if raw[:2] == b"\x1f\x8b":
                raw = _inflate(raw, 16 + zlib.MAX_WBITS)
            elif encoding == "deflate":
                try:
                    raw = _inflate(raw, zlib.MAX_WBITS)
                except zlib.error:
                    raw = _inflate(raw, -zlib.MAX_WBITS)
            elif encoding == "br":
                raise RecordError("brotli-compressed response body: no brotli decoder (record with "
                                  "decode_compressed_response=True)")
        except zlib.error as exc:
            raise RecordError(f"response body: cannot decompress ({exc})") from None
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise RecordError("response body is neither UTF-8 nor compressed JSON") from None
    if not isinstance(raw, str):
        raise RecordError(f"response body: expected text, got {type(raw).__name__}")
    text = raw.strip()
    if not text or text[0] not in "[{":
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise RecordError(f"response body is not valid JSON: {exc}") from None


# ---------------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------------

class _Unit:
    """Statuses and accounts of one unit, by (serving host, numeric id), to resolve local ids."""

    __slots__ = ("statuses", "accounts")

    def __init__(self) -> None:
        self.statuses: dict[tuple[str | None, str], dict] = {}
        self.accounts: dict[tuple[str | None, str], dict] = {}

    def add_status(self, status: dict, host: str | None, depth: int = 0) -> None:
        self.statuses.setdefault((host, str(status.get("id"))), status)
        self.add_account(status.get("account"), host)
        for mention in status.get("mentions") or ():
            self.add_account(mention, host)
        if depth < _MAX_CONTEXT_DEPTH:
            for nested in (status.get("reblog"), _quoted_status(status)):
                if _is_status(nested):
                    self.add_status(nested, host, depth + 1)

    def add_account(self, account: Any, host: str | None) -> None:
        if isinstance(account, dict) and account.get("id") is not None:
            key = (host, str(account["id"]))
            known = self.accounts.get(key)
            if known is None or (len(account) > len(known)):  # a full account beats a mention
                self.accounts[key] = account


class _Record:
    """One status or account, with the unit it came from; ``bad`` records carry a reason.

    Kinds: ``status``, ``account`` (primary row: the account), ``follow`` (an account of a follow
    list envelope: primary row the edge), ``reblogged_by`` / ``favourited_by`` (an engager of
    ``status``), ``bad``."""

    __slots__ = ("kind", "value", "host", "unit", "follow", "status")

    def __init__(self, kind: str, value: Any, host: str | None, unit: _Unit, follow: tuple[str, str] | None = None,
                 status: dict | None = None):
        self.kind = kind
        self.value = value
        self.host = host
        self.unit = unit
        self.follow = follow
        self.status = status

    def __str__(self) -> str:  # what `rejects.raw` shows
        return orjson.dumps(self.value, default=str).decode()[:4096]


def _host(url: Any) -> str | None:
    if not isinstance(url, str) or not url:
        return None
    try:
        parts = urlsplit(url if "://" in url else "https://" + url)
        host = (parts.hostname or "").lower()
        return f"{host}:{parts.port}" if host and parts.port else (host or None)
    except ValueError:
        return None


def _local_host(found: list[tuple[str, dict]]) -> str | None:
    for kind, entity in found:
        account = entity.get("account") if kind == "status" else entity
        if isinstance(account, dict) and "@" not in str(account.get("acct") or "@"):
            host = _host(account.get("url")) or _host(account.get("uri"))
            if host:
                return host
    return None


def _cassette_records(cassette: dict) -> Iterator[_Record]:
    unit = _Unit()
    pending: list[_Record] = []
    for interaction in cassette.get("interactions") or ():
        if not isinstance(interaction, dict):
            continue
        request = interaction.get("request") if isinstance(interaction.get("request"), dict) else {}
        response = interaction.get("response") if isinstance(interaction.get("response"), dict) else {}
        code = (response.get("status") or {}).get("code") if isinstance(response.get("status"), dict) else None
        if isinstance(code, int) and code >= 300:
            continue
        uri = str(request.get("uri") or "")
        host = _host(uri)
        try:
            body = _decode_body(response)
        except RecordError as exc:
            pending.append(_Record("bad", {"reason": str(exc), "request": uri}, host, unit))
            continue
        path = urlsplit(uri).path if uri else ""
        follow_match = _FOLLOW_PATH.search(path)
        follow = (follow_match.group(2), follow_match.group(1)) if follow_match else None
        for kind, entity in _entities(body):
            if kind == "status":
                unit.add_status(entity, host)
            else:
                unit.add_account(entity, host)
            pending.append(_Record(kind, entity, host, unit, follow if kind == "account" else None))
    yield from pending


def _envelope_records(envelope: dict, key: str) -> Iterator[_Record]:
    """One record per listed account; a malformed envelope raises (one reject for the line)."""
    accounts = envelope[key]
    if not isinstance(accounts, list):
        raise RecordError(f"{key}: expected a list of accounts")
    host = envelope.get("host")
    if host is not None and not isinstance(host, str):
        raise RecordError(f"{key} envelope: host must be a string")
    lookup = _Unit()
    if key in ENGAGEMENTS:
        status = envelope["status"]
        if not (isinstance(status, dict) and isinstance(status.get("uri"), str) and status["uri"]
                and isinstance(status.get("account"), dict)):
            raise RecordError(f"{key} envelope: status needs a uri and an account")
        for account in accounts:
            yield _Record(key, account, host, lookup, status=status)
        return
    subject = envelope["account"]
    if not (isinstance(subject, dict) and subject.get("id") is not None and (subject.get("acct") or subject.get("username"))):
        raise RecordError(f"{key} envelope: account needs an id and an acct")
    host = host or _host(subject.get("url")) or _host(subject.get("uri"))
    if not host:
        raise RecordError(f"{key} envelope: no host (give host, or the account url)")
    lookup.add_account(subject, host)
    for account in accounts:
        yield _Record("follow", account, host, lookup, follow=(key, str(subject["id"])))


def records(unit: Any, ctx: Context) -> Iterator[Any]:
    if _is_cassette(unit):
        yield from _cassette_records(unit)
        return
    key = _envelope_list(unit)
    if key is not None:
        yield from _envelope_records(unit, key)
        return
    found = list(_entities(unit))
    if not found:
        if isinstance(unit, list) or _is_search(unit) or _is_thread_context(unit):
            return  # an empty page or result
        raise RecordError("not a Mastodon status, account, search result or thread context")
    host = _local_host(found)
    lookup = _Unit()
    for kind, entity in found:
        if kind == "status":
            lookup.add_status(entity, host)
        else:
            lookup.add_account(entity, host)
    for kind, entity in found:
        yield _Record(kind, entity, host, lookup)


# ---------------------------------------------------------------------------------------------
# Mapping
# ---------------------------------------------------------------------------------------------

def _address(acct: Any, url: Any, username: Any = None) -> str | None:
    """Global, lower-case account address: ``acct`` qualified with the instance host."""
    name = str(acct or username or "").strip().lstrip("@").lower()
    if not name:
        return None
    if "@" in name:
        return name
    host = _host(url)
    return f"{name}@{host}" if host else name


def _emit_account(account: dict, sink: Sink, collected_at: str, *, primary: bool = False) -> str:
    address = _address(account.get("acct"), account.get("url") or account.get("uri"), account.get("username"))
    if not address:
        raise RecordError("account has neither acct nor username")
    if "followers_count" not in account and "display_name" not in account:  # a mention: little known
        sink.account(primary=primary, platform=PLATFORM, account_id=address, handle=address,
                     url=account.get("url"), observed_at=collected_at)
        return address
    avatar = account.get("avatar") or ""
    note = account.get("note")
    attributes = {
        "instance_account_id": str(account["id"]) if account.get("id") is not None else None,
        "bot": account.get("bot"),
        "group": account.get("group"),
        "locked": account.get("locked"),
        "avatar": avatar or None,
        "uri": account.get("uri"),
    }
    sink.account(
        primary=primary,
        platform=PLATFORM,
        account_id=address,
        handle=address,
        display_name=account.get("display_name") or None,
        bio=html_to_text(note) or None if isinstance(note, str) else None,
        url=account.get("url"),
        created_at=parse_timestamp(account.get("created_at")),
        followers=account.get("followers_count"),
        following=account.get("following_count"),
        posts_count=account.get("statuses_count"),
        default_avatar=avatar.endswith("/missing.png") if avatar else None,
        attributes={k: v for k, v in attributes.items() if v is not None} or None,
        observed_at=collected_at,
    )
    return address


def _quoted_status(status: dict) -> dict | None:
    quote = status.get("quote")
    if isinstance(quote, dict):
        if _is_status(quote.get("quoted_status")):
            return quote["quoted_status"]
        if _is_status(quote):  # Fedibird: the quoted status itself
            return quote
    return None


def _quoted_id(status: dict) -> str | None:
    quote = status.get("quote")
    if isinstance(quote, dict) and quote.get("quoted_status_id") is not None:
        return str(quote["quoted_status_id"])
    if status.get("quote_id") is not None:
        return str(status["quote_id"])
    return None


def _resolve_account(local_id: Any, status: dict, author: str, parent: dict | None,
                     rec: _Record, host: str | None, sink: Sink, collected_at: str) -> str | None:
    """Global address of an account known by its serving-instance id."""
    if local_id is None:
        return None
    local_id = str(local_id)
    if str(status["account"].get("id")) == local_id:
        return author
    for mention in status.get("mentions") or ():
        if isinstance(mention, dict) and str(mention.get("id")) == local_id:
            return _emit_account(mention, sink, collected_at)
    if parent is not None and str(parent["account"].get("id")) == local_id:
        return _emit_account(parent["account"], sink, collected_at)
    known = rec.unit.accounts.get((host, local_id))
    if known is not None:
        return _emit_account(known, sink, collected_at)
    placeholder = f"{local_id}@{host}" if host else None
    if placeholder:
        sink.account(platform=PLATFORM, account_id=placeholder, observed_at=collected_at)
    return placeholder


def _emit_status(status: dict, rec: _Record, sink: Sink, collected_at: str, *, primary: bool, depth: int = 0) -> tuple[str, str]:
    post_id = status.get("uri") or status.get("url")
    if not post_id or not isinstance(post_id, str):
        raise RecordError("status has no uri")
    account = status.get("account")
    if not isinstance(account, dict):
        raise RecordError("status has no account")
    author = _emit_account(account, sink, collected_at)
    host = rec.host or _host(account.get("url"))
    created = parse_timestamp(status.get("created_at"))

    kind, parent_post, parent_account = "post", None, None
    interactions: list[tuple[str, str]] = []

    reblog = status.get("reblog")
    if _is_status(reblog) and depth < _MAX_CONTEXT_DEPTH:
        parent_post, parent_account = _emit_status(reblog, rec, sink, collected_at, primary=False, depth=depth + 1)
        kind = "repost"
        interactions.append(("repost", parent_account))

    quoted_post = quoted_author = None
    quoted = _quoted_status(status)
    quoted_local = _quoted_id(status)
    if quoted is None and quoted_local is not None:
        quoted = rec.unit.statuses.get((host, quoted_local))
    if quoted is not None and depth < _MAX_CONTEXT_DEPTH:
        quoted_post, quoted_author = _emit_status(quoted, rec, sink, collected_at, primary=False, depth=depth + 1)
        interactions.append(("quote", quoted_author))
    elif quoted_local is not None and host:
        quoted_post = f"{quoted_local}@{host}"

    reply_to = status.get("in_reply_to_id")
    if kind == "post" and reply_to is not None:
        kind = "reply"
        parent = rec.unit.statuses.get((host, str(reply_to)))
        parent_post = parent.get("uri") if parent is not None else (f"{reply_to}@{host}" if host else str(reply_to))
        parent_account = _resolve_account(status.get("in_reply_to_account_id"), status, author, parent,
                                          rec, host, sink, collected_at)
        if parent_account:
            interactions.append(("reply", parent_account))
    elif kind == "post" and quoted_post is not None:
        kind, parent_post, parent_account = "quote", quoted_post, quoted_author

    content = status.get("content")
    if isinstance(content, str) and content:
        shown = _QUOTE_INLINE.sub("", content) if (quoted_post or status.get("quote")) else content
        text = html_to_text(shown)
        urls = content_links(content)
    else:
        text = status.get("text") if isinstance(status.get("text"), str) else ""
        urls = urls_in(text)
    card = status.get("card")
    if isinstance(card, dict) and isinstance(card.get("url"), str) and card["url"]:
        urls.append(card["url"])
    urls = list(dict.fromkeys(urls))

    mentioned: list[str] = []
    for mention in status.get("mentions") or ():
        if isinstance(mention, dict):
            address = _emit_account(mention, sink, collected_at)
            mentioned.append(address)
            interactions.append(("mention", address))
    if "tags" in status:
        hashtags = [str(t.get("name")).lower() for t in status.get("tags") or () if isinstance(t, dict) and t.get("name")]
    else:
        hashtags = hashtags_in(text)

    media = [m for m in status.get("media_attachments") or () if isinstance(m, dict)]
    application = status.get("application")
    attributes = {
        "status_id": str(status["id"]),
        "visibility": status.get("visibility"),
        "sensitive": status.get("sensitive") or None,
        "spoiler_text": status.get("spoiler_text") or None,
        "edited_at": status.get("edited_at"),
        "in_reply_to_id": str(reply_to) if reply_to is not None else None,
        "quote_state": status["quote"].get("state") if isinstance(status.get("quote"), dict) else None,
        "quoted_post_id": quoted_post if kind != "quote" else None,
        "media_types": [m.get("type") for m in media] or None,
        "application": application.get("name") if isinstance(application, dict) else None,
        "poll": bool(status.get("poll")) or None,
    }
    metrics = {
        "likes": status.get("favourites_count"),
        "reposts": status.get("reblogs_count"),
        "replies": status.get("replies_count"),
        "quotes": status.get("quotes_count"),
    }
    sink.post(
        primary=primary,
        platform=PLATFORM,
        post_id=post_id,
        account_id=author,
        created_at=created,
        text=text,
        lang=status.get("language"),
        kind=kind,
        parent_post_id=parent_post,
        parent_account_id=parent_account,
        url=status.get("url") or post_id,
        urls=urls,
        domains=domains_of(urls),
        hashtags=list(dict.fromkeys(hashtags)),
        mentions=list(dict.fromkeys(mentioned)),
        media_count=len(media),
        attributes={k: v for k, v in attributes.items() if v is not None},
        **metrics,
    )
    if any(v is not None for v in metrics.values()):
        sink.observation(platform=PLATFORM, post_id=post_id, collected_at=collected_at, **metrics)
    for interaction_kind, target in interactions:
        sink.interaction(platform=PLATFORM, src=author, dst=target, kind=interaction_kind,
                         post_id=interaction_post_id(PLATFORM, interaction_kind, post_id, parent_post), created_at=created)
    return post_id, author


def map_record(record: Any, sink: Sink, ctx: Context) -> None:
    if not isinstance(record, _Record):
        raise RecordError("unexpected record")
    if record.kind == "bad":
        raise RecordError(record.value["reason"])
    if record.kind == "status":
        _emit_status(record.value, record, sink, ctx.collected_at, primary=True)
        return
    account = record.value
    if not isinstance(account, dict):
        raise RecordError(f"{record.kind}: an account is not a JSON object")
    if record.kind in ENGAGEMENTS and record.status is not None:
        author = _emit_account(record.status["account"], sink, ctx.collected_at)
        engager = _emit_account(account, sink, ctx.collected_at)
        sink.interaction(primary=True, platform=PLATFORM, src=engager, dst=author, kind=ENGAGEMENTS[record.kind],
                         post_id=record.status["uri"])
        return
    edge_primary = record.kind == "follow"
    address = _emit_account(account, sink, ctx.collected_at, primary=not edge_primary)
    if record.follow and record.host:
        relation, local_id = record.follow
        known = record.unit.accounts.get((record.host, local_id))
        if known is not None:
            target = _emit_account(known, sink, ctx.collected_at)
        else:
            target = f"{local_id}@{record.host}"
            sink.account(platform=PLATFORM, account_id=target, observed_at=ctx.collected_at)
        src, dst = (address, target) if relation == "followers" else (target, address)
        sink.interaction(primary=edge_primary, platform=PLATFORM, src=src, dst=dst, kind="follow", post_id="")


# ---------------------------------------------------------------------------------------------
# Detection
# ---------------------------------------------------------------------------------------------

def _sniff_cassette(cassette: dict) -> int:
    score = 0
    for interaction in cassette.get("interactions")[:50]:
        if not isinstance(interaction, dict):
            continue
        request = interaction.get("request") if isinstance(interaction.get("request"), dict) else {}
        response = interaction.get("response") if isinstance(interaction.get("response"), dict) else {}
        try:
            body = _decode_body(response)
        except RecordError:
            body = None
        kinds = {kind for kind, _ in _entities(body)}
        if "status" in kinds:
            return 95
        if "account" in kinds:
            score = max(score, 70)
        path = urlsplit(str(request.get("uri") or "")).path
        if path.startswith(_MASTODON_PATHS):
            score = max(score, 40)
    return score


def sniff(sample: Sample) -> int:
    first = sample.first
    if sample.container == "yaml":
        return _sniff_cassette(first) if _is_cassette(first) else 0
    if _is_status(first) and "acct" in first["account"]:
        return 90
    if _envelope_list(first) is not None and isinstance(first.get("host"), str):
        return 90
    if _is_search(first):
        return 90 if "hashtags" in first else 60
    if _is_thread_context(first):
        return 90 if all(_is_status(s) for s in (first["ancestors"] + first["descendants"])[:5]) else 0
    if _is_account(first) and "url" in first and ("followers_count" in first or "statuses_count" in first):
        return 75
    return 0


FORMAT = Format(
    name="mastodon",
    description="Mastodon REST API statuses/accounts: JSON, JSONL, search results, engager and follow lists "
                "(collector envelopes), or VCR.py cassettes (YAML)",
    containers=("json", "jsonl", "yaml"),
    sniff=sniff,
    records=records,
    map=map_record,
)
