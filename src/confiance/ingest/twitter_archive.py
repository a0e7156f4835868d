"""X/Twitter account archive ("Download an archive of your data", GDPR right of access), extracted.

Layout read (as X's own archive README describes it, and as published readers parse it: alkihis
``twitter-archive-reader`` "Files_to_structures.md" for ``account.js``; Matt Stein, "Publish your
tweets" (mattstein.com) and the ``window.YTD.tweets.partN`` stripping of several parsers for
``tweets.js``)::

    data/tweets.js          window.YTD.tweets.part0 = [ { "tweet" : { ... } }, ... ]
    data/tweets-part1.js    window.YTD.tweets.part1 = [ ... ]          (large archives are split)
    tweet.js                window.YTD.tweet.part0 = [ ... ]           (2019-2020 archives)
    data/account.js         window.YTD.account.part0 = [ { "account" : { "accountId", "username",
                            "accountDisplayName", "createdAt", "email", "createdVia" } } ]
    data/profile.js         window.YTD.profile.part0 = [ { "profile" : { "description" :
                            { "bio", "website", "location" }, "avatarMediaUrl", ... } } ]

    data/note-tweet.js      window.YTD.note_tweet.part0 = [ { "noteTweet" : { "noteTweetId",
                            "createdAt", "updatedAt", "lifecycle", "core" : { "text", "urls" :
                            [{shortUrl, expandedUrl, displayUrl}], "mentions", "hashtags", ... } } } ]

Long posts (over 280 characters, since 2023): ``tweets.js`` holds their beginning followed by "…"
and a t.co link to the post itself, and the whole text is in ``note-tweet.js``. A note does not
carry the id of its post: ``noteTweetId`` is the note's own id. What this relies on, from public
archive readers (found by code search, no X documentation of the link exists): an exporter that
looks each post's note up by ``createdAt`` equal to the post's ``created_at`` to the second, then
by a unique note whose text starts with the post's visible text; an importer that takes the note
nearest in id; and a reader's fixture archive whose note has its own id but its post's creation
time. Here a post gets a note's text when the note was created in the same second and the
note's text begins with the post's visible text (t.co links, the ellipsis, entities and spacing
aside), which keeps a short post written in the same second as a long one apart; then the post's text is the note's, its urls add the note's expanded
urls (the link to the post itself goes), its hashtags and mentions add those of the full text, and
``attributes.note_tweet`` is true. A note whose post is not in the tweets files (deleted since)
has nothing to complete and is not read further. Notes only complete posts: the counts per file
are those of the tweets files. ``note-tweet.js`` is optional (archives before 2023 have none).

Each tweet is a v1.1 tweet without ``user`` and with every number as text: ``id_str``,
``full_text``, ``created_at`` ('Wed Oct 10 20:19:24 +0000 2018'), ``entities`` {``hashtags``
[{text}], ``user_mentions`` [{screen_name, name, id_str}], ``urls`` [{url, expanded_url}]},
``extended_entities.media``, ``in_reply_to_status_id_str``, ``in_reply_to_user_id_str``,
``in_reply_to_screen_name``, ``favorite_count``, ``retweet_count``, ``lang``, ``source`` and, since
2022, ``edit_info``. The author is not in the tweets: it is read from ``account.js`` (and the bio
from ``profile.js``) in the same folder, so the tweets file alone, the ``data/`` folder and the
archive's root folder all land the same rows; a tweets file without ``account.js`` beside it is an
error naming the file that is needed.

Data minimisation: of ``account.js`` only ``accountId``, ``username``, ``accountDisplayName`` and
``createdAt`` are read; the e-mail address, ``createdVia``, and every other private file of the
archive (phone number, IP addresses, direct messages, ad data...) are never read or stored. Of
``profile.js`` only the public bio, website and location are kept.

Mapping, with the ids and permalinks of the ``twitter-v1``/``twitter-v2`` formats (platform ``x``),
so that an archive and API data about the same tweets merge:

* a retweet is a tweet whose text starts "RT @handle:" (the archive has no ``retweeted_status``):
  kind ``repost``, its parent account is the mention of that handle and gets a ``repost``
  interaction; the retweeted tweet's id is not in the archive, so ``parent_post_id`` stays empty;
* a reply (``in_reply_to_status_id_str``) is kind ``reply`` with a ``reply`` interaction to
  ``in_reply_to_user_id_str``;
* a quote is a tweet linking to an x.com/twitter.com status (the archive has no
  ``quoted_status``): kind ``quote`` with that status as parent; a ``quote`` interaction only when
  the quoted handle is the author or one of the mentions (the only ids the archive gives);
* every mention but the retweeted handle is a ``mention`` interaction, as in ``twitter-v1``;
* ``favorite_count``/``retweet_count`` become likes/reposts and an observation.

Rejects: the reader streams the JSON array; a tweet that cannot be mapped is rejected with the
line where it starts (its position in the array when the file is one line), and a file cut short
keeps every tweet before the break plus one reject at the line of the tweet it cut.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterator

import orjson

from confiance.errors import IngestError, RecordError
from confiance.i18n import N_, Phrase
from confiance.ingest._format import (Context, Format, Sample, domains_of, hashtags_in, mentions_in, parse_count,
                                     parse_timestamp)
from confiance.ingest._readers import (BadItem, Item, Limits, Opened, Progress, array_items, one_line,
                                       open_binary)
from confiance.ingest._sink import Sink
from confiance.ingest.twitter_v1 import emit_interactions, id_of

PLATFORM = "x"
_PREFIX = re.compile(r"\s*window\.YTD\.(\w+)\.part\d+\s*=\s*")
_TWEET_FILES = ("tweets", "tweet")  # the YTD names of tweet files, new and 2019-2020 archives
_MAX_PREFIX_BYTES = 256
_MAX_COMPANION_BYTES = 16 << 20  # account.js / profile.js hold one small object
_MAX_NOTES_BYTES = 256 << 20  # note-tweet.js: at most 25,000 characters per long post
_SHORT_LINK = re.compile(r"https?://t\.co/\w+")
_RETWEET = re.compile(r"RT @(\w{1,15}):")
_STATUS_URL = re.compile(r"https?://(?:www\.|mobile\.)?(?:twitter|x)\.com/(\w{1,15})/status(?:es)?/(\d+)", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Author:
    """The archive's owner: public fields only (see the module docstring on data minimisation)."""

    account_id: str
    username: str
    display_name: str | None
    created_at: str | None
    bio: str | None = None
    website: str | None = None
    location: str | None = None


@dataclass(frozen=True)
class Note:
    """The whole text of a long post, from ``note-tweet.js``."""

    text: str
    urls: tuple[str, ...]


@dataclass(frozen=True)
class ArchiveTweet:
    """One element of a tweets file (``{"tweet": {...}}``) with the archive's author, and the note
    holding its whole text when it is a long post."""

    author: Author
    tweet: Any
    note: Note | None = None


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------

def _skip_prefix(stream: BinaryIO, path: Path) -> str:
    """Consume 'window.YTD.<name>.partN = ' and return <name>; the JSON array follows."""
    head = b""
    while len(head) < _MAX_PREFIX_BYTES:
        byte = stream.read(1)
        if not byte:
            break
        head += byte
        if byte == b"=":
            break
    match = _PREFIX.fullmatch(head.decode("utf-8", errors="replace").lstrip("\ufeff") + " ")
    if match is None:
        raise IngestError(str(path), 1, Phrase(N_("not an X archive data file: expected 'window.YTD.<name>.partN = ['")))
    return match.group(1)


def _read_js(path: Path, limit: int) -> Any:
    """The JSON value of a small archive file (``window.YTD.x.part0 = [...]``) read whole, at most ``limit`` bytes."""
    if path.stat().st_size > limit:
        raise IngestError(str(path), None, Phrase(N_("larger than %(limit)s bytes: not an X archive %(name)s"),
                                                 limit=limit, name=path.name))
    with open(path, "rb") as fh:
        _skip_prefix(fh, path)
        try:
            return orjson.loads(fh.read())
        except orjson.JSONDecodeError as exc:
            raise IngestError(str(path), exc.lineno, Phrase(N_("invalid JSON: %(error)s"), error=str(exc))) from None


def _companion(path: Path, name: str, key: str) -> dict | None:
    """The first ``{key: {...}}`` object of the archive file ``name`` beside ``path``; None if absent."""
    companion = path.parent / name
    if not companion.is_file():
        return None
    value = _read_js(companion, _MAX_COMPANION_BYTES)
    first = value[0] if isinstance(value, list) and value else None
    entry = first.get(key) if isinstance(first, dict) else None
    if not isinstance(entry, dict):
        raise IngestError(str(companion), None, Phrase(N_('expected `[{"%(key)s": {...}}]`'), key=key))
    return entry


def load_author(tweets_path: Path) -> Author:
    """The archive owner from ``account.js`` (required) and ``profile.js`` (optional) beside the tweets."""
    account = _companion(tweets_path, "account.js", "account")
    if account is None:
        raise IngestError(str(tweets_path), None, Phrase(N_(
            "the tweets of an X archive do not name their author: account.js from the same archive must sit beside "
            "this file (ingest the archive's data/ folder)")))
    account_id = account.get("accountId")
    username = account.get("username")
    if not isinstance(account_id, str) or not account_id.isdigit() or not isinstance(username, str) or not username:
        raise IngestError(str(tweets_path.parent / "account.js"), None, Phrase(N_("account has no accountId or username")))
    profile = _companion(tweets_path, "profile.js", "profile") or {}
    description = profile.get("description") if isinstance(profile.get("description"), dict) else {}
    return Author(
        account_id=account_id,
        username=username,
        display_name=account.get("accountDisplayName") or None,
        created_at=parse_timestamp(account.get("createdAt")),
        bio=description.get("bio") or None,
        website=description.get("website") or None,
        location=description.get("location") or None,
    )


def _visible(text: str) -> str:
    """A post's text as the note-matching compares it: no t.co links, no ellipsis, entities decoded,
    spacing collapsed."""
    return " ".join(html.unescape(_SHORT_LINK.sub(" ", text)).replace("…", " ").split())


def _second(value: Any) -> str | None:
    """An archive time ('Tue Dec 05 18:30:12 +0000 2023' or ISO with milliseconds) to the second, UTC."""
    try:
        return (parse_timestamp(value) or "")[:19] or None
    except RecordError:
        return None


def load_notes(tweets_path: Path) -> dict[str, list[Note]]:
    """The notes of ``note-tweet.js`` beside the tweets, by the second they were created (see the
    module docstring); empty when the archive has none."""
    path = tweets_path.parent / "note-tweet.js"
    if not path.is_file():
        return {}
    entries = _read_js(path, _MAX_NOTES_BYTES)
    if not isinstance(entries, list):
        raise IngestError(str(path), None, Phrase(N_('expected `[{"noteTweet": {...}}, ...]`')))
    notes: dict[str, list[Note]] = {}
    for entry in entries:
        note = entry.get("noteTweet") if isinstance(entry, dict) else None
        core = note.get("core") if isinstance(note, dict) else None
        second = _second(note.get("createdAt")) if isinstance(note, dict) else None
        if not isinstance(core, dict) or not isinstance(core.get("text"), str) or second is None:
            continue  # no text or no time: nothing a post could be completed with
        urls = tuple(u["expandedUrl"] for u in core.get("urls") or ()
                     if isinstance(u, dict) and isinstance(u.get("expandedUrl"), str) and u["expandedUrl"])
        notes.setdefault(second, []).append(Note(core["text"], urls))
    return notes


def note_of(tweet: Any, notes: dict[str, list[Note]]) -> Note | None:
    """The note holding the whole text of ``tweet`` (``{"tweet": {...}}``), if it is a long post."""
    body = tweet.get("tweet") if isinstance(tweet, dict) else None
    if not notes or not isinstance(body, dict):
        return None
    text = body.get("full_text") or body.get("text")
    candidates = notes.get(_second(body.get("created_at")) or "", ())
    if not candidates or not isinstance(text, str):
        return None
    visible = _visible(text)
    return next((n for n in candidates if _visible(n.text).startswith(visible)), None)


def read_tweets_js(opened: Opened, limits: Limits, progress: Progress) -> Iterator[Item | BadItem]:
    """Stream the tweets of a ``tweets.js`` file, each with the archive's author and its note."""
    author = load_author(opened.path)
    notes = load_notes(opened.path)
    stream, position = open_binary(opened.path)
    try:
        stream.read(len(opened.bom))
        _skip_prefix(stream, opened.path)
        for item in array_items(stream, "item", limits, opened.path, N_("tweet"),
                                one_line=one_line(opened)):
            if isinstance(item, Item):
                item = Item(item.line_no, ArchiveTweet(author, item.value, note_of(item.value, notes)), item.note)
            yield item
        progress(position())
    finally:
        stream.close()


# ---------------------------------------------------------------------------------------------
# Mapping
# ---------------------------------------------------------------------------------------------

def _emit_author(author: Author, sink: Sink, observed_at: str) -> None:
    sink.account(platform=PLATFORM, account_id=author.account_id, handle=author.username.lower(),
                 display_name=author.display_name, bio=author.bio, url=author.website, location=author.location,
                 created_at=author.created_at, observed_at=observed_at)


def map_record(record: Any, sink: Sink, ctx: Context) -> None:
    if not isinstance(record, ArchiveTweet):
        raise RecordError("unexpected record")
    tweet = record.tweet.get("tweet") if isinstance(record.tweet, dict) else None
    if not isinstance(tweet, dict):
        raise RecordError('expected {"tweet": {...}}')
    tweet_id = id_of(tweet, "id")
    if tweet_id is None:
        raise RecordError("tweet has no id_str/id")
    author = record.author
    created = parse_timestamp(tweet.get("created_at"))
    text = tweet.get("full_text") or tweet.get("text") or ""
    if not isinstance(text, str):
        raise RecordError("full_text is not text")
    entities = tweet.get("entities") if isinstance(tweet.get("entities"), dict) else {}
    mentions = [m for m in entities.get("user_mentions") or () if isinstance(m, dict)]
    mention_ids = {str(m.get("screen_name") or "").lower(): id_of(m, "id") for m in mentions}
    mention_ids.setdefault(author.username.lower(), author.account_id)
    urls = list(dict.fromkeys(u.get("expanded_url") or u.get("url") for u in entities.get("urls") or ()
                              if isinstance(u, dict) and (u.get("expanded_url") or u.get("url"))))
    hashtags = [h.get("text") for h in entities.get("hashtags") or () if isinstance(h, dict) and h.get("text")]
    handles = [m["screen_name"] for m in mentions if m.get("screen_name")]
    note = record.note
    if note is not None:  # a long post: the note's whole text and its links (see the module docstring)
        text = note.text
        urls = list(dict.fromkeys([*note.urls, *(u for u in urls if not u.endswith(f"/status/{tweet_id}"))]))
        hashtags += hashtags_in(text)
        handles += mentions_in(text)
    media = (tweet.get("extended_entities") or {}).get("media") or entities.get("media") or []

    reply_to = id_of(tweet, "in_reply_to_status_id")
    reply_user = id_of(tweet, "in_reply_to_user_id")
    retweeted = _RETWEET.match(text)
    quoted = next((m for m in map(_STATUS_URL.match, urls) if m and m.group(2) != tweet_id), None)
    quoted_author = mention_ids.get(quoted.group(1).lower()) if quoted else None

    kind, parent_post, parent_account = "post", None, None
    if retweeted:
        kind, parent_account = "repost", mention_ids.get(retweeted.group(1).lower())
    elif reply_to:
        kind, parent_post, parent_account = "reply", reply_to, reply_user
    elif quoted:
        kind, parent_post, parent_account = "quote", quoted.group(2), quoted_author

    edit = ((tweet.get("edit_info") or {}).get("edit") or {}) if isinstance(tweet.get("edit_info"), dict) else {}
    source = tweet.get("source")
    attributes = {
        "source": _TAG.sub("", source) if isinstance(source, str) else None,
        "possibly_sensitive": tweet.get("possibly_sensitive"),
        "edit_of": edit.get("initialTweetId") if isinstance(edit, dict) else None,
        "quoted_post_id": quoted.group(2) if quoted and kind != "quote" and not retweeted else None,
        "archive": True,
        "note_tweet": True if note is not None else None,
    }
    metrics = {"likes": parse_count(tweet.get("favorite_count")), "reposts": parse_count(tweet.get("retweet_count"))}
    sink.post(
        primary=True,
        platform=PLATFORM,
        post_id=tweet_id,
        account_id=author.account_id,
        created_at=created,
        text=text,
        lang=tweet.get("lang"),
        kind=kind,
        parent_post_id=parent_post,
        parent_account_id=parent_account,
        url=f"https://x.com/i/status/{tweet_id}",
        urls=urls,
        domains=domains_of(urls),
        hashtags=list(dict.fromkeys(h.lower() for h in hashtags)),
        mentions=list(dict.fromkeys(h.lower() for h in handles)),
        media_count=len(media) if isinstance(media, list) else 0,
        attributes={k: v for k, v in attributes.items() if v is not None},
        **metrics,
    )
    if any(v is not None for v in metrics.values()):
        sink.observation(platform=PLATFORM, post_id=tweet_id, collected_at=ctx.collected_at, **metrics)
    _emit_author(author, sink, ctx.collected_at)

    emit_interactions(sink, tweet, author.account_id, tweet_id, created, ctx.collected_at,
                      reposted_author=parent_account if kind == "repost" else None,
                      quoted_author=None if retweeted else quoted_author, mentions=mentions)


def sniff(sample: Sample) -> int:
    match = _PREFIX.match(sample.head_text.lstrip("\ufeff"))
    return 100 if match and match.group(1) in _TWEET_FILES else 0


FORMAT = Format(
    name="twitter-archive",
    description="X/Twitter account archive (the 'download your data' zip, extracted): data/tweets.js with account.js",
    containers=("js",),  # ``read`` parses the JavaScript assignment
    sniff=sniff,
    map=map_record,
    read=read_tweets_js,
    aliases=("x-archive",),
)
