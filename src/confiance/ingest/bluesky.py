"""Bluesky / AT Protocol: AppView post views, feed and thread responses, Jetstream events and raw
repository records, one object per JSONL line or per JSON-array item, or one API response.

Shapes read (``records`` expands every envelope into one record per post or event):

- ``app.bsky.feed.defs#postView``: ``uri``, ``cid``, ``author`` (profile view), ``record`` (the
  ``app.bsky.feed.post``), ``embed`` (a ``…#view``: images, video, external, record = quote,
  recordWithMedia), ``likeCount``/``repostCount``/``replyCount``/``quoteCount``, ``indexedAt``.
  A ``{uri, post: postView}`` wrapper is read as its post.
- ``feedViewPost``: ``post`` plus ``reason`` (``#reasonRepost`` {by, indexedAt}: a ``repost``
  interaction from ``by`` to the post's author; the record's primary row stays the post) and
  ``reply`` {root, parent, grandparentAuthor} (parent and root views stored as context posts).
- API responses: getAuthorFeed/getTimeline/getFeed (``feed``), searchPosts/getPosts/getQuotes
  (``posts``), getPostThread (``thread``, nested ``parent``/``replies``; every post of the thread is
  a record), getLikes (``likes``: ``like`` interactions), getRepostedBy (``repostedBy``: ``repost``
  interactions), com.atproto.repo.listRecords (``records``) and getRecord (``{uri, cid, value}``).
- Jetstream events ``{did, time_us, kind: commit, commit: {operation, collection, rkey, record,
  cid}}`` (and the early ``type: com`` / ``type: c`` spelling). Creates (and updates) of
  ``app.bsky.feed.post`` are posts (``at://{did}/app.bsky.feed.post/{rkey}``);
  ``app.bsky.feed.repost`` / ``app.bsky.feed.like`` are ``repost`` / ``like`` interactions with the
  subject post's author (DID parsed from ``subject.uri``) and ``post_id`` = the subject URI;
  ``app.bsky.graph.follow`` is a ``follow`` interaction (``post_id`` ''). Deletes, identity and
  account events and other collections (profiles, blocks, lists…) are not content: ``records``
  yields nothing for them, so they are skipped silently and not counted as read.

Quirks handled:

- Facets index the text by UTF-8 **bytes**: mention handles are sliced from ``text.encode()``.
  Mention DIDs, link URIs (the full URL when the text shows a shortened one) and tags come from the
  facet features; third-party spellings (``#Tag``, ``FACETTAG``, ``facet.link``, ``#hashtag``) are
  accepted, other features (bold, polls, spoilers…) ignored. Some clients write wrong offsets: a
  slice that is not an ``@handle`` is left out of ``mentions[]`` (the DID still gives the edge).
- ``createdAt`` is client-supplied: 8 fractional digits, offsets, year 0000. Unparseable → the
  view's ``indexedAt`` (Jetstream: ``time_us``) → NULL; the post is kept either way.
- A post is a ``quote`` only when its embed is ``app.bsky.embed.record``/``recordWithMedia`` and
  the embedded record is an ``app.bsky.feed.post`` (embedded feeds, lists and starter packs are
  kept in ``attributes.embedded_record``). A reply that also quotes stays a reply, with a ``quote``
  interaction too.
- Metric observations use the file's collection time: ``indexedAt`` is when the AppView indexed the
  post, not when its counts were read, and is kept in ``attributes.indexed_at``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterator

from confiance.errors import RecordError
from confiance.ingest._format import Context, Format, Sample, domains_of, parse_timestamp
from confiance.ingest._sink import Sink

PLATFORM = "bluesky"
POST = "app.bsky.feed.post"
REPOST = "app.bsky.feed.repost"
LIKE = "app.bsky.feed.like"
FOLLOW = "app.bsky.graph.follow"
_EDGE_KIND = {REPOST: "repost", LIKE: "like", FOLLOW: "follow"}
#: The repository collections read as posts and interactions (the CAR reader adds the profile).
COLLECTIONS = {POST, REPOST, LIKE, FOLLOW}
_EMBED_RECORD = "app.bsky.embed.record"
_EMBED_RECORD_WITH_MEDIA = "app.bsky.embed.recordWithMedia"
_MAX_CONTEXT_DEPTH = 3  # quote of a quote of a quote: deeper views are not hydrated by the AppView
_HANDLE = re.compile(r"[a-z0-9](?:[a-z0-9.\-]*[a-z0-9])?")
_OLD_JETSTREAM_OPS = {"c": "create", "u": "update", "d": "delete"}


# ---------------------------------------------------------------------------------------------
# Records: what one container unit expands into
# ---------------------------------------------------------------------------------------------


@dataclass
class _View:
    """A post view, with the feed context that came with it."""

    post: dict
    reason: dict | None = None
    reply: dict | None = None


@dataclass
class RepoRecord:
    """A record straight from a repository (Jetstream, listRecords): no author profile, no counts."""

    did: str
    collection: str
    rkey: str
    value: dict
    cid: str | None
    seen_at: str | None  # when the relay emitted it (Jetstream time_us)


@dataclass
class _ActorEdge:
    """One row of getLikes / getRepostedBy: ``actor`` liked or reposted ``subject_uri``."""

    kind: str
    actor: dict
    subject_uri: str
    created_at: Any


def _is_post_view(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("uri"), str)
        and value["uri"].startswith("at://")
        and isinstance(value.get("record"), dict)
        and isinstance(value.get("author"), dict)
    )


def _is_jetstream(value: dict) -> bool:
    return isinstance(value.get("did"), str) and "time_us" in value and ("kind" in value or "type" in value)


def _split_uri(uri: Any) -> tuple[str, str, str] | None:
    """(authority, collection, rkey) of an ``at://`` URI."""
    if not isinstance(uri, str) or not uri.startswith("at://"):
        return None
    parts = uri[5:].split("/")
    if len(parts) < 3 or not all(parts[:3]):
        return None
    return parts[0], parts[1], parts[2]


def _did_of(uri: Any) -> str | None:
    parts = _split_uri(uri)
    return parts[0] if parts and parts[0].startswith("did:") else None


def _collection_of(uri: Any) -> str | None:
    parts = _split_uri(uri)
    return parts[1] if parts else None


def _time_us_iso(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return datetime.fromtimestamp(value / 1_000_000, tz=timezone.utc).isoformat()
    except (OverflowError, OSError, ValueError):
        return None


def _jetstream(event: dict) -> Iterator[RepoRecord]:
    kind = event.get("kind") or ("commit" if event.get("type") == "com" else event.get("type"))
    commit = event.get("commit")
    if kind != "commit" or not isinstance(commit, dict):
        return  # identity / account events: not content
    operation = commit.get("operation") or _OLD_JETSTREAM_OPS.get(commit.get("type"))
    if operation not in ("create", "update") or commit.get("collection") not in COLLECTIONS:
        return  # deletes and collections that are not posts or edges
    record = commit.get("record")
    if not isinstance(record, dict):
        raise RecordError(f"Jetstream {operation} of {commit.get('collection')} has no record")
    if not commit.get("rkey"):
        raise RecordError("Jetstream commit has no rkey")
    yield RepoRecord(event["did"], commit["collection"], str(commit["rkey"]), record, commit.get("cid"),
                      _time_us_iso(event.get("time_us")))


def _repo_record(entry: dict) -> Iterator[RepoRecord]:
    """``{uri, cid, value}`` from com.atproto.repo.getRecord / listRecords."""
    parts = _split_uri(entry.get("uri"))
    value = entry.get("value")
    if parts is None or not isinstance(value, dict):
        raise RecordError("repository record needs an at:// uri and a value")
    did, collection, rkey = parts
    if collection in COLLECTIONS and did.startswith("did:"):
        yield RepoRecord(did, collection, rkey, value, entry.get("cid"), None)


def _thread(node: Any) -> Iterator[_View]:
    """Every post of a getPostThread tree (ancestors through ``parent``, descendants through
    ``replies``); notFound / blocked placeholders are skipped."""
    stack, seen = [node], set()
    while stack:
        current = stack.pop()
        if not isinstance(current, dict):
            continue
        post = current.get("post")
        if _is_post_view(post) and post["uri"] not in seen:
            seen.add(post["uri"])
            yield _View(post)
        stack.append(current.get("parent"))
        stack.extend(reversed(current.get("replies") or ()))


def records(unit: Any, ctx: Context) -> Iterator[Any]:
    if not isinstance(unit, dict):
        raise RecordError("expected a JSON object (Bluesky post view, feed item, API response or Jetstream event)")
    yield from _expand(unit)


def _expand(unit: dict) -> Iterator[Any]:
    if _is_jetstream(unit):
        yield from _jetstream(unit)
        return
    enveloped = False
    if isinstance(unit.get("feed"), list):  # getAuthorFeed / getTimeline / getFeed
        enveloped = True
        for item in unit["feed"]:
            if not isinstance(item, dict):
                raise RecordError("feed item is not a JSON object")
            yield from _expand(item)
    if isinstance(unit.get("posts"), list):  # searchPosts / getPosts / getQuotes
        enveloped = True
        for post in unit["posts"]:
            yield _View(post)
    if isinstance(unit.get("thread"), dict):  # getPostThread
        enveloped = True
        yield from _thread(unit["thread"])
    if isinstance(unit.get("records"), list):  # com.atproto.repo.listRecords
        enveloped = True
        for entry in unit["records"]:
            if not isinstance(entry, dict):
                raise RecordError("repository record is not a JSON object")
            yield from _repo_record(entry)
    subject = unit.get("uri")
    if isinstance(unit.get("likes"), list) and isinstance(subject, str):  # getLikes
        enveloped = True
        for like in unit["likes"]:
            if isinstance(like, dict) and isinstance(like.get("actor"), dict):
                yield _ActorEdge("like", like["actor"], subject, like.get("createdAt") or like.get("indexedAt"))
    if isinstance(unit.get("repostedBy"), list) and isinstance(subject, str):  # getRepostedBy
        enveloped = True
        for actor in unit["repostedBy"]:
            if isinstance(actor, dict):
                yield _ActorEdge("repost", actor, subject, None)
    if enveloped:
        return
    if isinstance(unit.get("post"), dict):  # feedViewPost or {uri, post} wrapper
        reason, reply = unit.get("reason"), unit.get("reply")
        yield _View(unit["post"], reason if isinstance(reason, dict) else None, reply if isinstance(reply, dict) else None)
    elif "record" in unit and "uri" in unit:
        yield _View(unit)
    elif "value" in unit and "uri" in unit:
        yield from _repo_record(unit)
    elif unit.get("$type") == POST:
        raise RecordError("a bare app.bsky.feed.post record has no URI or author; wrap it in its envelope")
    else:
        raise RecordError("not a Bluesky post view, feed item, API response or Jetstream event")


# ---------------------------------------------------------------------------------------------
# Field helpers
# ---------------------------------------------------------------------------------------------


def record_timestamp(value: Any) -> str | None:
    """Client timestamps may be garbage (year 0000): None rather than a reject."""
    try:
        return parse_timestamp(value)
    except RecordError:
        return None


def _base_type(value: Any) -> str:
    """'app.bsky.embed.images#view' -> 'app.bsky.embed.images'."""
    kind = value.get("$type") if isinstance(value, dict) else None
    return kind.split("#", 1)[0] if isinstance(kind, str) else ""


def _feature_name(kind: Any) -> str:
    """Last name of a facet feature type, lower-case: '#link', '.link', 'FACETTAG' -> link, link, facettag."""
    if not isinstance(kind, str):
        return ""
    kind = kind.lower()
    return kind.rsplit("#", 1)[1] if "#" in kind else kind.rsplit(".", 1)[-1]


def _handle_at(text_bytes: bytes, index: Any) -> str | None:
    """The mentioned handle as the text shows it; facet offsets are UTF-8 byte offsets."""
    if not isinstance(index, dict):
        return None
    start, end = index.get("byteStart"), index.get("byteEnd")
    if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end <= len(text_bytes):
        return None
    try:
        shown = text_bytes[start:end].decode("utf-8").strip().lower()
    except UnicodeDecodeError:
        return None  # offsets cut a character: the facet is broken
    if not shown.startswith("@") or "." not in shown or not _HANDLE.fullmatch(shown[1:]):
        return None
    return shown[1:]


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


@dataclass
class _Facets:
    urls: list[str]
    hashtags: list[str]
    mentions: list[str]  # handles
    mentioned: list[str]  # DIDs


def _facets(record: dict, text: str) -> _Facets:
    text_bytes = text.encode("utf-8")
    urls: list[str] = []
    tags: list[str] = []
    handles: list[str] = []
    dids: list[str] = []
    for facet in record.get("facets") or ():
        if not isinstance(facet, dict):
            continue
        for feature in facet.get("features") or ():
            if not isinstance(feature, dict):
                continue
            name = _feature_name(feature.get("$type"))
            if name == "mention" and isinstance(feature.get("did"), str) and feature["did"].startswith("did:"):
                dids.append(feature["did"])
                handle = _handle_at(text_bytes, facet.get("index"))
                if handle:
                    handles.append(handle)
            elif name in ("link", "url"):
                uri = feature.get("uri")
                if isinstance(uri, str) and uri.lower().startswith(("http://", "https://")):
                    urls.append(uri)
            elif name in ("tag", "hashtag", "facettag"):
                tag = feature.get("tag") or feature.get("hashtag")
                if isinstance(tag, str) and tag.strip().lstrip("#"):
                    tags.append(tag.strip().lstrip("#").lower())
    for tag in record.get("tags") or ():  # extra hashtags a post carries outside its text
        if isinstance(tag, str) and tag.strip().lstrip("#"):
            tags.append(tag.strip().lstrip("#").lower())
    return _Facets(_unique(urls), _unique(tags), _unique(handles), _unique(dids))


def _embedded_uri(embed: Any) -> str | None:
    """URI of the record a record / recordWithMedia embed points to (record or view form)."""
    kind = _base_type(embed)
    if kind == _EMBED_RECORD:
        ref = embed.get("record")
    elif kind == _EMBED_RECORD_WITH_MEDIA:
        ref = (embed.get("record") or {}).get("record") if isinstance(embed.get("record"), dict) else None
    else:
        return None
    uri = ref.get("uri") if isinstance(ref, dict) else None
    return uri if isinstance(uri, str) and uri.startswith("at://") else None


def _embedded_view(embed: Any) -> dict | None:
    """The quoted post of a view embed, reshaped as a post view (``viewRecord`` has ``value``, not
    ``record``, and ``embeds`` as a list)."""
    kind = _base_type(embed)
    if kind == _EMBED_RECORD:
        viewed = embed.get("record")
    elif kind == _EMBED_RECORD_WITH_MEDIA and isinstance(embed.get("record"), dict):
        viewed = embed["record"].get("record")
    else:
        return None
    if not (isinstance(viewed, dict) and isinstance(viewed.get("value"), dict) and isinstance(viewed.get("author"), dict)
            and _collection_of(viewed.get("uri")) == POST):
        return None
    embeds = viewed.get("embeds")
    shaped = {k: viewed[k] for k in ("uri", "cid", "author", "labels", "indexedAt", "likeCount", "repostCount",
                                       "replyCount", "quoteCount") if k in viewed}
    shaped["record"] = viewed["value"]
    if isinstance(embeds, list) and embeds:
        shaped["embed"] = embeds[0]
    return shaped


def _media_count(embed: Any) -> int:
    kind = _base_type(embed)
    if kind == "app.bsky.embed.images":
        images = embed.get("images")
        return len(images) if isinstance(images, list) else 0
    if kind == "app.bsky.embed.video":
        return 1
    if kind == _EMBED_RECORD_WITH_MEDIA:
        return _media_count(embed.get("media"))
    return 0


def _external(embed: Any) -> dict | None:
    kind = _base_type(embed)
    if kind == "app.bsky.embed.external" and isinstance(embed.get("external"), dict):
        return embed["external"]
    if kind == _EMBED_RECORD_WITH_MEDIA:
        return _external(embed.get("media"))
    return None


def label_values(labels: Any) -> list[str]:
    """The label values of a view's ``labels`` list or of a record's self-labels."""
    if isinstance(labels, dict):  # self-labels on a record: {"$type": "…#selfLabels", "values": [{val}]}
        labels = labels.get("values")
    return [lab["val"] for lab in labels or () if isinstance(lab, dict) and isinstance(lab.get("val"), str)]


def _profiles_in(value: Any) -> dict[str, dict]:
    """Every profile view (a dict with a DID and a handle) found in a record, richest first."""
    found: dict[str, dict] = {}
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            did, handle = node.get("did"), node.get("handle")
            if isinstance(did, str) and did.startswith("did:") and isinstance(handle, str):
                if len(node) > len(found.get(did, ())):
                    found[did] = node
            stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, (dict, list)))
    return found


# ---------------------------------------------------------------------------------------------
# Mapping
# ---------------------------------------------------------------------------------------------


class _Emitter:
    """Rows of one record; each account and context post at most once per record."""

    def __init__(self, sink: Sink, ctx: Context, profiles: dict[str, dict]):
        self.sink, self.ctx, self.profiles = sink, ctx, profiles
        self.accounts: set[str] = set()
        self.posts: set[str] = set()

    def account(self, did: str) -> None:
        if did in self.accounts:
            return
        self.accounts.add(did)
        profile = self.profiles.get(did)
        if profile is None:
            self.sink.account(platform=PLATFORM, account_id=did, observed_at=self.ctx.collected_at)
            return
        handle = profile.get("handle")
        handle = handle.lower() if isinstance(handle, str) and handle != "handle.invalid" else None
        verification = profile.get("verification")
        attributes = {
            "labels": label_values(profile.get("labels")) or None,
            "verification": verification.get("verifiedStatus") if isinstance(verification, dict) else None,
            "pronouns": profile.get("pronouns"),
        }
        self.sink.account(
            platform=PLATFORM,
            account_id=did,
            handle=handle,
            display_name=profile.get("displayName") or None,
            bio=profile.get("description") or None,
            created_at=record_timestamp(profile.get("createdAt")),
            followers=profile.get("followersCount"),
            following=profile.get("followsCount"),
            posts_count=profile.get("postsCount"),
            verified=(verification.get("verifiedStatus") == "valid") if isinstance(verification, dict) else None,
            default_avatar=not profile.get("avatar"),  # profile views omit `avatar` when none is set
            attributes={k: v for k, v in attributes.items() if v} or None,
            observed_at=self.ctx.collected_at,
        )

    def edge(self, src: str, dst: str, kind: str, post_id: str, created_at: str | None, *, primary: bool = False) -> None:
        self.sink.interaction(primary=primary, platform=PLATFORM, src=src, dst=dst, kind=kind, post_id=post_id,
                              created_at=created_at)
        self.account(src)
        self.account(dst)

    def post(self, view: dict, *, primary: bool, fallback_time: str | None = None, depth: int = 0) -> None:
        uri = view.get("uri")
        parts = _split_uri(uri)
        if parts is None:
            raise RecordError("post has no at:// uri")
        if uri in self.posts:
            return
        self.posts.add(uri)
        record = view.get("record")
        if not isinstance(record, dict):
            raise RecordError("post view has no record")
        author = view.get("author") if isinstance(view.get("author"), dict) else {}
        did = author.get("did") if isinstance(author.get("did"), str) else _did_of(uri)
        handle = author.get("handle") if isinstance(author.get("handle"), str) else None
        text = record.get("text") if isinstance(record.get("text"), str) else ""
        indexed_at = record_timestamp(view.get("indexedAt"))
        created_at = record_timestamp(record.get("createdAt")) or indexed_at or fallback_time
        facets = _facets(record, text)

        record_embed = record.get("embed") if isinstance(record.get("embed"), dict) else None
        view_embed = view.get("embed") if isinstance(view.get("embed"), dict) else None
        embed = record_embed or view_embed
        embedded = _embedded_uri(record_embed) or _embedded_uri(view_embed)
        quoted = embedded if _collection_of(embedded) == POST else None
        reply = record.get("reply") if isinstance(record.get("reply"), dict) else None
        parent_uri = root_uri = None
        if reply is not None:
            parent, root = reply.get("parent"), reply.get("root")
            parent_uri = parent.get("uri") if isinstance(parent, dict) and isinstance(parent.get("uri"), str) else None
            root_uri = root.get("uri") if isinstance(root, dict) and isinstance(root.get("uri"), str) else None
        if parent_uri:
            kind, parent_post = "reply", parent_uri
        elif quoted:
            kind, parent_post = "quote", quoted
        else:
            kind, parent_post = "post", None

        urls = list(facets.urls)
        external = _external(record_embed) or _external(view_embed)
        if external and isinstance(external.get("uri"), str) and external["uri"].lower().startswith(("http://", "https://")):
            urls = list(dict.fromkeys([*urls, external["uri"]]))
        langs = [lang for lang in record.get("langs") or () if isinstance(lang, str)] if isinstance(record.get("langs"), list) else []
        counts = {
            "likes": view.get("likeCount"),
            "reposts": view.get("repostCount"),
            "replies": view.get("replyCount"),
            "quotes": view.get("quoteCount"),
        }
        attributes = {
            "cid": view.get("cid"),
            "indexed_at": indexed_at or fallback_time,
            "created_at_raw": record.get("createdAt") if record_timestamp(record.get("createdAt")) is None else None,
            "langs": langs if len(langs) > 1 else None,
            "labels": label_values(view.get("labels")) or None,
            "self_labels": label_values(record.get("labels")) or None,
            "embed_type": _base_type(embed) or None,
            "embedded_record": embedded if embedded and not quoted else None,
            "quoted_post": quoted if quoted and kind != "quote" else None,
            "external_title": external.get("title") if external else None,
            "bookmarks": view.get("bookmarkCount"),
            "threadgate": True if view.get("threadgate") else None,
        }
        profile_handle = handle.lower() if handle and handle != "handle.invalid" else None
        self.sink.post(
            primary=primary,
            platform=PLATFORM,
            post_id=uri,
            account_id=did,
            created_at=created_at,
            text=text,
            lang=langs[0] if langs else None,
            kind=kind,
            parent_post_id=parent_post,
            parent_account_id=_did_of(parent_post),
            root_post_id=root_uri,
            url=f"https://bsky.app/profile/{profile_handle or parts[0]}/post/{parts[2]}" if parts[1] == POST else None,
            urls=urls,
            domains=domains_of(urls),
            hashtags=facets.hashtags,
            mentions=facets.mentions,
            media_count=_media_count(embed),
            attributes={k: v for k, v in attributes.items() if v is not None} or None,
            **counts,
        )
        if any(v is not None for v in counts.values()):
            self.sink.observation(platform=PLATFORM, post_id=uri, collected_at=self.ctx.collected_at, **counts)
        if did:
            self.account(did)
            parent_did, quoted_did = _did_of(parent_uri), _did_of(quoted)
            if parent_did:
                self.edge(did, parent_did, "reply", uri, created_at)
            if quoted_did:
                self.edge(did, quoted_did, "quote", uri, created_at)
            for mentioned in facets.mentioned:
                self.edge(did, mentioned, "mention", uri, created_at)
        if depth < _MAX_CONTEXT_DEPTH:
            quoted_view = _embedded_view(view_embed)
            if quoted_view is not None:
                self.post(quoted_view, primary=False, depth=depth + 1)

    def reply_context(self, reply: dict) -> None:
        for key in ("parent", "root"):
            if _is_post_view(reply.get(key)):
                self.post(reply[key], primary=False, depth=1)
        grandparent = reply.get("grandparentAuthor")
        if isinstance(grandparent, dict) and isinstance(grandparent.get("did"), str):
            self.account(grandparent["did"])

    def repost_reason(self, reason: dict, post: dict) -> None:
        by = reason.get("by")
        author = post.get("author") if isinstance(post.get("author"), dict) else {}
        dst = author.get("did") or _did_of(post.get("uri"))
        if _feature_name(reason.get("$type")) != "reasonrepost" or not isinstance(by, dict) or not dst:
            return
        if isinstance(by.get("did"), str):
            self.edge(by["did"], dst, "repost", post["uri"], record_timestamp(reason.get("indexedAt")))


def _map_repo(record: RepoRecord, emit: _Emitter) -> None:
    value = record.value
    if record.collection == POST:
        view = {"uri": f"at://{record.did}/{POST}/{record.rkey}", "cid": record.cid, "author": {"did": record.did},
                "record": value}
        emit.post(view, primary=True, fallback_time=record.seen_at)
        return
    created_at = record_timestamp(value.get("createdAt")) or record.seen_at
    subject = value.get("subject")
    if record.collection == FOLLOW:
        if not isinstance(subject, str) or not subject.startswith("did:"):
            raise RecordError("follow record has no subject DID")
        emit.edge(record.did, subject, "follow", "", created_at, primary=True)
        return
    subject_uri = subject.get("uri") if isinstance(subject, dict) else None
    dst = _did_of(subject_uri)
    if dst is None:
        raise RecordError(f"{record.collection} record has no subject at:// uri with a DID")
    emit.edge(record.did, dst, _EDGE_KIND[record.collection], subject_uri, created_at, primary=True)


def map_record(record: Any, sink: Sink, ctx: Context) -> None:
    if isinstance(record, RepoRecord):
        _map_repo(record, _Emitter(sink, ctx, {}))
        return
    if isinstance(record, _ActorEdge):
        dst = _did_of(record.subject_uri)
        if dst is None or not isinstance(record.actor.get("did"), str):
            raise RecordError(f"{record.kind} needs an actor DID and a subject at:// uri with a DID")
        emit = _Emitter(sink, ctx, _profiles_in(record.actor))
        emit.edge(record.actor["did"], dst, record.kind, record.subject_uri, record_timestamp(record.created_at), primary=True)
        return
    if not isinstance(record, _View) or not isinstance(record.post, dict):
        raise RecordError("post is not a JSON object")
    emit = _Emitter(sink, ctx, _profiles_in([record.post, record.reason, record.reply]))
    emit.post(record.post, primary=True)
    if record.reply is not None:
        emit.reply_context(record.reply)
    if record.reason is not None:
        emit.repost_reason(record.reason, record.post)


# ---------------------------------------------------------------------------------------------
# Detection
# ---------------------------------------------------------------------------------------------


def sniff(sample: Sample) -> int:
    first = sample.first
    if isinstance(first, dict):
        if _is_jetstream(first) and isinstance(first.get("did"), str) and first["did"].startswith("did:"):
            return 95
        if _is_post_view(first) or _is_post_view(first.get("post")):
            return 95
        for key in ("feed", "posts"):
            items = first.get(key)
            if isinstance(items, list) and items and isinstance(items[0], dict) and (
                _is_post_view(items[0]) or _is_post_view(items[0].get("post"))
            ):
                return 95
        thread = first.get("thread")
        if isinstance(thread, dict) and _is_post_view(thread.get("post")):
            return 95
        entries = first.get("records")
        entry = entries[0] if isinstance(entries, list) and entries else first
        if isinstance(entry, dict) and _split_uri(entry.get("uri")) and _base_type(entry.get("value")).startswith("app.bsky."):
            return 90
        if _split_uri(first.get("uri")) and ("likes" in first or "repostedBy" in first):
            return 85
    head = sample.head_text
    if '"at://did:' in head and POST in head:
        return 30
    return 0


FORMAT = Format(
    name="bluesky",
    description="Bluesky / AT Protocol JSON: post views, feed/thread/search responses, Jetstream events, repo records",
    containers=("jsonl", "json"),
    sniff=sniff,
    records=records,
    map=map_record,
)
