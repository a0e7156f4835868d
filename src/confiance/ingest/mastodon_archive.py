"""Mastodon account archive (Settings > Import and export > Request your archive), extracted.

Layout, as Mastodon's ``app/services/backup_service.rb`` writes it (a tar.gz holding
``outbox.json``, ``actor.json``, ``likes.json``, ``bookmarks.json``, avatar, header and media):

- ``outbox.json``: an ActivityStreams ``OrderedCollection`` (``"id": "outbox.json"``, written on one
  line) whose ``orderedItems`` are the account's statuses as ActivityPub activities
  (``ActivityPub::ActivitySerializer``, W3C ActivityStreams 2.0 vocabulary): ``Create`` activities
  whose ``object`` is a ``Note`` (or a ``Question``, a poll) {``id``, ``url``, ``published``,
  ``content`` (HTML), ``contentMap`` {language: HTML}, ``inReplyTo``, ``tag`` [{``type``:
  ``Mention``|``Hashtag``, ``href``, ``name``}], ``attachment``, ``sensitive``, ``summary``, ``to``,
  ``cc``}, and ``Announce`` activities (boosts) whose ``object`` is the boosted status's URI.
- ``actor.json``: the ``Person`` {``id``, ``preferredUsername``, ``name``, ``summary`` (HTML bio),
  ``published``, ``url``}. The outbox alone does not say who wrote it in a form we key accounts by,
  so ``actor.json`` must sit beside ``outbox.json`` (an error names it otherwise).
  ``likes.json`` and ``bookmarks.json`` hold bare URIs: they are not read.

Identity follows the ``mastodon`` (REST API) format exactly, so that an archive and API statuses of
the same person merge: the account id is ``preferredUsername@host`` with the host of the actor id,
lower-case (the API's ``acct`` qualified with the host of the account URL); ``post_id`` is the
ActivityPub id (the API's ``uri``): the ``Note`` id for a status, the ``Announce`` id
(``…/statuses/N/activity``, as Mastodon's ``TagManager#uri_for`` names a reblog) for a boost; the
numeric status id is kept in attributes as ``status_id``.

Mapping: ``content`` HTML -> text with the shared helper, links (not mention or hashtag links) ->
urls, ``contentMap``'s language -> lang, ``Mention`` tags -> mentions and ``mention`` interactions,
``Hashtag`` tags -> hashtags, ``inReplyTo`` -> kind ``reply`` and a ``reply`` interaction,
``Announce`` -> kind ``repost`` and a ``repost`` interaction keyed by the boosted status, as the API's
boosts (``confiance.ingest.mastodon``), a Mastodon 4.4+ / Misskey / Fedibird
quote (``quote``, ``quoteUri``, ``_misskey_quote``) -> kind ``quote`` and a ``quote`` interaction.
The account of a replied-to, boosted or quoted status is read from its URI when it has Mastodon's
``https://host/users/NAME/statuses/ID`` shape (the archive names it nowhere else), else from the
boost's ``cc`` actor; otherwise the post keeps its parent without an interaction. Visibility comes
from ``to``/``cc`` (public, unlisted, private, direct, as the API names them). The archive carries
no counts, so no observation is written.

Rejects: ``orderedItems`` is streamed; an activity that cannot be mapped is rejected with the line
where it starts, or, as Mastodon writes the file on one line, with its position in the collection
(1-based; the reason says so), and a file cut short keeps every activity before the break.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

import orjson

from confiance.errors import IngestError, RecordError
from confiance.i18n import N_, Phrase
from confiance.ingest._format import Context, Format, Sample, domains_of, html_to_text, parse_timestamp
from confiance.ingest._readers import (BadItem, Item, Limits, Opened, Progress, array_items, one_line,
                                       open_binary)
from confiance.ingest._sink import Sink
from confiance.store import interaction_post_id
from confiance.ingest.mastodon import content_links

PLATFORM = "mastodon"
_PUBLIC = {"https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public"}
_STATUS_URI = re.compile(r"https?://([^/]+)/users/([^/]+)/statuses/([^/?#]+)")
_ACTOR_URI = re.compile(r"https?://([^/]+)/users/([^/?#]+)/?$")
_MAX_ACTOR_BYTES = 16 << 20
_STATUS_TYPES = {"Note", "Question", "Article", "Page"}
_OUTBOX_ID = re.compile(r'"id"\s*:\s*"outbox\.json"')


@dataclass(frozen=True)
class Actor:
    """The archive's owner, as the ``mastodon`` format keys accounts."""

    address: str
    uri: str
    display_name: str | None
    bio: str | None
    url: str | None
    created_at: str | None


@dataclass(frozen=True)
class Activity:
    """One item of ``orderedItems`` with the archive's owner."""

    actor: Actor
    activity: Any


def _host(url: Any) -> str | None:
    if not isinstance(url, str) or not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    return f"{host}:{parts.port}" if host and parts.port else (host or None)


def load_actor(outbox_path: Path) -> Actor:
    """The ``Person`` of ``actor.json`` beside the outbox."""
    path = outbox_path.parent / "actor.json"
    if not path.is_file():
        raise IngestError(str(outbox_path), None, Phrase(N_(
            "a Mastodon archive outbox does not name its author: actor.json from the same archive must sit beside "
            "this file (ingest the extracted archive folder)")))
    if path.stat().st_size > _MAX_ACTOR_BYTES:
        raise IngestError(str(path), None, Phrase(N_("larger than %(limit)s bytes: not a Mastodon actor"),
                                                 limit=_MAX_ACTOR_BYTES))
    try:
        actor = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise IngestError(str(path), exc.lineno, Phrase(N_("invalid JSON: %(error)s"), error=str(exc))) from None
    if not isinstance(actor, dict):
        raise IngestError(str(path), None, Phrase(N_("expected an ActivityPub actor object")))
    username, uri = actor.get("preferredUsername"), actor.get("id")
    host = _host(uri)
    if not isinstance(username, str) or not username or host is None:
        raise IngestError(str(path), None, Phrase(N_("actor has no preferredUsername or no http(s) id")))
    summary = actor.get("summary")
    return Actor(
        address=f"{username.lower()}@{host}",
        uri=uri,
        display_name=actor.get("name") or None,
        bio=(html_to_text(summary) or None) if isinstance(summary, str) else None,
        url=actor.get("url") if isinstance(actor.get("url"), str) else None,
        created_at=parse_timestamp(actor.get("published")),
    )


def read_outbox(opened: Opened, limits: Limits, progress: Progress) -> Iterator[Item | BadItem]:
    """Stream ``orderedItems``, each with the archive's owner."""
    actor = load_actor(opened.path)
    stream, position = open_binary(opened.path)
    try:
        stream.read(len(opened.bom))
        for item in array_items(stream, "orderedItems.item", limits, opened.path, N_("activity"),
                                one_line=one_line(opened)):
            yield Item(item.line_no, Activity(actor, item.value), item.note) if isinstance(item, Item) else item
        progress(position())
    finally:
        stream.close()


# ---------------------------------------------------------------------------------------------
# Mapping
# ---------------------------------------------------------------------------------------------

def _uri(value: Any) -> str | None:
    """An ActivityPub reference: a URI, or an object with an ``id``."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def _listed(value: Any) -> list:
    """ActivityStreams lets a one-element list be written as the element itself."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _account_of_status(uri: str | None) -> str | None:
    match = _STATUS_URI.match(uri or "")
    return f"{match.group(2).lower()}@{match.group(1).lower()}" if match else None


def _account_of_actor(uri: Any) -> str | None:
    match = _ACTOR_URI.match(uri) if isinstance(uri, str) else None
    return f"{match.group(2).lower()}@{match.group(1).lower()}" if match else None


def _mention_address(tag: dict) -> str | None:
    name = str(tag.get("name") or "").strip().lstrip("@").lower()
    if not name:
        return _account_of_actor(tag.get("href"))
    if "@" in name:
        return name
    host = _host(tag.get("href"))
    return f"{name}@{host}" if host else name


def _visibility(activity: dict, note: dict) -> str | None:
    to = {_uri(x) for x in _listed(note.get("to", activity.get("to")))}
    cc = {_uri(x) for x in _listed(note.get("cc", activity.get("cc")))}
    if to & _PUBLIC:
        return "public"
    if cc & _PUBLIC:
        return "unlisted"
    if any(isinstance(x, str) and x.endswith("/followers") for x in to | cc):
        return "private"
    return "direct" if to or cc else None


def _emit_actor(actor: Actor, sink: Sink, observed_at: str) -> None:
    sink.account(platform=PLATFORM, account_id=actor.address, handle=actor.address, display_name=actor.display_name,
                 bio=actor.bio, url=actor.url, created_at=actor.created_at, attributes={"uri": actor.uri},
                 observed_at=observed_at)


def _status_id(uri: str) -> str | None:
    match = _STATUS_URI.match(uri)
    return match.group(3) if match else None


def _interact(sink: Sink, actor: Actor, target: str | None, kind: str, post_id: str, created: str | None,
              observed_at: str) -> None:
    if target is None:
        return
    if target != actor.address:
        sink.account(platform=PLATFORM, account_id=target, handle=target, observed_at=observed_at)
    sink.interaction(platform=PLATFORM, src=actor.address, dst=target, kind=kind, post_id=post_id, created_at=created)


def _map_announce(activity: dict, actor: Actor, sink: Sink, ctx: Context) -> None:
    post_id = _uri(activity.get("id"))
    boosted = _uri(activity.get("object"))
    if post_id is None or boosted is None:
        raise RecordError("Announce has no id or no object")
    boosted_account = _account_of_status(boosted) or next(
        (a for a in map(_account_of_actor, _listed(activity.get("cc"))) if a and a != actor.address), None)
    created = parse_timestamp(activity.get("published"))
    sink.post(primary=True, platform=PLATFORM, post_id=post_id, account_id=actor.address, created_at=created,
              text="", kind="repost", parent_post_id=boosted, parent_account_id=boosted_account, url=post_id,
              attributes={k: v for k, v in {"status_id": _status_id(post_id),
                                            "visibility": _visibility(activity, activity),
                                            "archive": True}.items() if v is not None})
    _emit_actor(actor, sink, ctx.collected_at)
    _interact(sink, actor, boosted_account, "repost", interaction_post_id(PLATFORM, "repost", post_id, boosted), created,
              ctx.collected_at)


def _map_create(activity: dict, actor: Actor, sink: Sink, ctx: Context) -> None:
    note = activity.get("object")
    if not isinstance(note, dict) or note.get("type") not in _STATUS_TYPES:
        raise RecordError(f"Create of {str(note.get('type') if isinstance(note, dict) else note)[:60]!r}: not a status")
    post_id = _uri(note.get("id"))
    if post_id is None:
        raise RecordError("Note has no id")
    created = parse_timestamp(note.get("published") or activity.get("published"))
    content = note.get("content")
    if content is not None and not isinstance(content, str):
        raise RecordError("Note content is not text")
    text = html_to_text(content)
    urls = list(dict.fromkeys(content_links(content))) if content else []
    content_map = note.get("contentMap")
    lang = next(iter(content_map), None) if isinstance(content_map, dict) else None

    mentions: list[str] = []
    hashtags: list[str] = []
    for tag in _listed(note.get("tag")):
        if not isinstance(tag, dict):
            continue
        if tag.get("type") == "Mention":
            address = _mention_address(tag)
            if address:
                mentions.append(address)
        elif tag.get("type") == "Hashtag" and tag.get("name"):
            hashtags.append(str(tag["name"]).lstrip("#").lower())

    reply_to = _uri(note.get("inReplyTo"))
    quoted = _uri(note.get("quote") or note.get("quoteUri") or note.get("_misskey_quote"))
    kind, parent_post, parent_account = "post", None, None
    if reply_to:
        kind, parent_post, parent_account = "reply", reply_to, _account_of_status(reply_to)
    elif quoted:
        kind, parent_post, parent_account = "quote", quoted, _account_of_status(quoted)

    attachments = [a for a in _listed(note.get("attachment")) if isinstance(a, dict)]
    url = note.get("url")
    attributes = {
        "status_id": _status_id(post_id),
        "visibility": _visibility(activity, note),
        "sensitive": note.get("sensitive") or None,
        "spoiler_text": note.get("summary") or None,
        "in_reply_to_uri": reply_to,
        "quoted_post_id": quoted if kind != "quote" else None,
        "media_types": [a.get("mediaType") for a in attachments] or None,
        "poll": True if note.get("type") == "Question" else None,
        "archive": True,
    }
    sink.post(
        primary=True,
        platform=PLATFORM,
        post_id=post_id,
        account_id=actor.address,
        created_at=created,
        text=text,
        lang=lang,
        kind=kind,
        parent_post_id=parent_post,
        parent_account_id=parent_account,
        url=url if isinstance(url, str) and url else post_id,
        urls=urls,
        domains=domains_of(urls),
        hashtags=list(dict.fromkeys(hashtags)),
        mentions=list(dict.fromkeys(mentions)),
        media_count=len(attachments),
        attributes={k: v for k, v in attributes.items() if v is not None},
    )
    _emit_actor(actor, sink, ctx.collected_at)
    if kind == "reply":
        _interact(sink, actor, parent_account, "reply", post_id, created, ctx.collected_at)
    if quoted:
        _interact(sink, actor, _account_of_status(quoted), "quote", post_id, created, ctx.collected_at)
    for address in dict.fromkeys(mentions):
        _interact(sink, actor, address, "mention", post_id, created, ctx.collected_at)


def map_record(record: Any, sink: Sink, ctx: Context) -> None:
    if not isinstance(record, Activity):
        raise RecordError("unexpected record")
    activity = record.activity
    if not isinstance(activity, dict):
        raise RecordError("activity is not a JSON object")
    kind = activity.get("type")
    if kind == "Create":
        _map_create(activity, record.actor, sink, ctx)
    elif kind == "Announce":
        _map_announce(activity, record.actor, sink, ctx)
    else:
        raise RecordError(f"activity type {str(kind)[:40]!r} is neither Create nor Announce")


def sniff(sample: Sample) -> int:
    first = sample.first
    if isinstance(first, dict):
        items = first.get("orderedItems")
        if first.get("type") == "OrderedCollection" and isinstance(items, list):
            if first.get("id") == "outbox.json":
                return 100
            return 90 if items and all(isinstance(i, dict) and i.get("type") in ("Create", "Announce")
                                       for i in items[:20]) else 0
        return 0
    head = sample.head_text[:65536]  # a large outbox is one line, parsed by nobody for detection
    return 100 if _OUTBOX_ID.search(head) and '"orderedItems"' in head and '"OrderedCollection"' in head else 0


FORMAT = Format(
    name="mastodon-archive",
    description="Mastodon account archive (Request your archive, extracted): outbox.json with actor.json",
    containers=("json", "jsonl"),  # one line: JSON lines to the container guess when the head holds it whole
    sniff=sniff,
    map=map_record,
    read=read_outbox,
)
