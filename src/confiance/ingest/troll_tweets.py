"""FiveThirtyEight "russian-troll-tweets" CSV (Linvill & Warren's IRA tweets, 2018), one tweet a row.

Two column sets are read:

* the original FiveThirtyEight files (``IRAhandle_tweets_N.csv``): external_author_id, author, content,
  region, language, publish_date, harvested_date, following, followers, updates, post_type,
  account_type, retweet, account_category, new_june_2018, alt_external_id, tweet_id, article_url,
  tco1_step1, tco2_step1, tco3_step1;
* the per-author re-split (bet4a/russian-troll-tweets-by-author): author_id (the handle), content,
  region, language, publish_date, harvested_date, following, followers, updates, post_type, retweet.

Mapping and quirks:

* Platform ``x``. The account id is the **handle lower-cased** (``author`` / ``author_id``): the
  re-split has no numeric ids, FiveThirtyEight's ``external_author_id`` is often rounded
  (906000000000000000), and retweet targets are only known by handle, so handles are the one key
  shared by both variants and by the interaction targets. The numeric ids, when given, are kept in
  the account attributes (``external_author_id``, ``alt_external_id``).
* ``post_id`` is ``tweet_id`` when the row has one; otherwise it is derived, stable across files and
  variants: ``"troll:" + sha1("<handle lower>|<publish_date as ISO-8601 UTC>|<content>")`` (hex
  digest, UTF-8; the date as '2016-10-01T00:00:00+00:00'). Rows repeating the same author, minute and
  content therefore count as duplicates (the re-split repeats about 2,400 rows verbatim).
* ``publish_date`` is '2016-10-01 00:00:00' or '10/1/2016 19:43' (month first), UTC, minute resolution.
* ``post_type`` RETWEET / R -> kind ``repost``; QUOTE_TWEET / Q -> ``quote``; blank -> ``post``.
  Retweet contents usually hold only the original text; when they start with "RT @handle", the
  repost interaction goes to that handle lower-cased (no id is given) and it becomes the
  ``parent_account_id``. A quote's parent comes from an expanded link to a tweet
  (``https://twitter.com/<handle>/status/<id>`` in tco*_step1, photo/video links excluded).
* Mentions (handles cut to Twitter's ``[A-Za-z0-9_]``), hashtags and URLs come from the content;
  expanded links (tco*_step1) replace the t.co links when present. Some contents were cut without "…"
  ("https://open.s", or a bare host where the text stops at 140 characters): such a link is kept, but
  gives no domain. Mention interactions target
  handles lower-cased, like the authors.
* ``language`` names ('English', 'Russian'…) map to ISO 639-1 codes; an unknown name is kept in the
  post attributes. ``region`` goes to post and account attributes; account_category, account_type,
  new_june_2018 to the account attributes; following/followers/updates (tweet count) to the
  account, observed at ``harvested_date``.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from confiance.errors import RecordError
from confiance.ingest._format import (Context, Format, Sample, domains_of, hashtags_in, mentions_in, parse_count,
                                      parse_timestamp, urls_in)
from confiance.ingest._sink import Sink

PLATFORM = "x"
_ORIGINAL_COLUMNS = {"external_author_id", "author", "content", "publish_date", "post_type", "account_category"}
_RESPLIT_COLUMNS = {"author_id", "content", "publish_date", "harvested_date", "post_type", "retweet"}
_KIND = {"RETWEET": "repost", "R": "repost", "QUOTE_TWEET": "quote", "Q": "quote"}
_RT_PREFIX = re.compile(r"\s*RT\s*@([A-Za-z0-9_]+)")
_HANDLE = re.compile(r"[A-Za-z0-9_]+")
_STATUS_LINK = re.compile(r"https?://(?:www\.|mobile\.)?(?:twitter|x)\.com/([A-Za-z0-9_]+)/status(?:es)?/(\d+)/?(?:\?.*)?$",
                          re.IGNORECASE)
_LANGUAGES = {
    "english": "en", "russian": "ru", "german": "de", "ukrainian": "uk", "italian": "it", "spanish": "es",
    "french": "fr", "arabic": "ar", "uzbek": "uz", "macedonian": "mk", "serbian": "sr", "bulgarian": "bg",
    "farsi (persian)": "fa", "farsi": "fa", "persian": "fa", "romanian": "ro", "dutch": "nl", "japanese": "ja",
    "norwegian": "no", "swedish": "sv", "polish": "pl", "portuguese": "pt", "turkish": "tr", "estonian": "et",
    "finnish": "fi", "croatian": "hr", "czech": "cs", "hungarian": "hu", "vietnamese": "vi", "greek": "el",
    "hebrew": "he", "hindi": "hi", "chinese": "zh", "simplified chinese": "zh", "traditional chinese": "zh",
    "korean": "ko", "lithuanian": "lt", "latvian": "lv", "slovak": "sk", "slovenian": "sl", "catalan": "ca",
    "icelandic": "is", "albanian": "sq", "pushto": "ps", "pashto": "ps", "kurdish": "ku", "malay": "ms",
    "indonesian": "id", "tagalog (filipino)": "tl", "tagalog": "tl", "thai": "th", "urdu": "ur", "somali": "so",
    "bengali": "bn", "danish": "da", "belarusian": "be", "kazakh": "kk", "georgian": "ka", "armenian": "hy",
    "azerbaijani": "az", "tamil": "ta",
}


def sniff(sample: Sample) -> int:
    columns = {h.strip().lower() for h in sample.header}
    if _ORIGINAL_COLUMNS <= columns:
        return 100
    if _RESPLIT_COLUMNS <= columns:
        return 90
    return 0


def derived_post_id(handle: str, created_at: str, content: str) -> str:
    return "troll:" + hashlib.sha1(f"{handle}|{created_at}|{content}".encode("utf-8")).hexdigest()


def _count(text: str) -> int | None:
    return int(text) if text.isdigit() else parse_count(text)  # the fast path covers nearly every row


def _length_limit(created: str) -> int:
    """The length X cut a tweet's text at when it was written (140 characters until 7 November 2017)."""
    return 140 if created < "2017-11-07" else 280


def _x_handles(text: str) -> list[str]:
    cut = (_HANDLE.match(m) for m in mentions_in(text))
    return list(dict.fromkeys(m.group(0).lower() for m in cut if m))


def map_row(row: Any, sink: Sink, ctx: Context) -> None:
    if not isinstance(row, dict):
        raise RecordError("expected a CSV row")
    row = {(k or "").strip().lower(): v if isinstance(v, str) else "" for k, v in row.items()}

    def cell(name: str) -> str:
        return (row.get(name) or "").strip()

    handle = (cell("author") or cell("author_id")).lstrip("@").lower()
    if not handle:
        raise RecordError("row has no author")
    content = row.get("content") or ""
    created = parse_timestamp(cell("publish_date"), required=True)
    harvested = parse_timestamp(cell("harvested_date")) or created
    tweet_id = cell("tweet_id")
    post_id = tweet_id if tweet_id.isdigit() else derived_post_id(handle, created, content)

    kind = _KIND.get(cell("post_type").upper(), "post")
    expanded = [cell(f"tco{i}_step1") for i in (1, 2, 3)]
    expanded = [u for u in expanded if u]
    urls = list(dict.fromkeys(expanded)) if expanded else urls_in(content)
    mentions = _x_handles(content)
    parent_post, parent_account = None, None
    if kind == "repost":
        retweeted = _RT_PREFIX.match(content)
        parent_account = retweeted.group(1).lower() if retweeted else None
    elif kind == "quote":
        link = next((m for m in (_STATUS_LINK.match(u) for u in expanded) if m), None)
        if link:
            parent_account, parent_post = link.group(1).lower(), link.group(2)

    language = cell("language")
    lang = _LANGUAGES.get(language.lower())
    region = cell("region")
    post_attributes = {"region": region, "harvested_at": harvested,
                       "language": language if language and not lang else None}
    article_url = cell("article_url")
    sink.post(
        primary=True,
        platform=PLATFORM,
        post_id=post_id,
        account_id=handle,
        created_at=created,
        text=content,
        lang=lang,
        kind=kind,
        parent_post_id=parent_post,
        parent_account_id=parent_account,
        url=article_url or (f"https://x.com/i/status/{post_id}" if tweet_id.isdigit() else None),
        urls=urls,
        domains=domains_of(urls, None if expanded else content, _length_limit(created)),
        hashtags=hashtags_in(content),
        mentions=mentions,
        attributes={k: v for k, v in post_attributes.items() if v} or None,
    )
    account_attributes = {name: cell(name) for name in ("account_category", "account_type", "new_june_2018",
                                                        "external_author_id", "alt_external_id")}
    account_attributes["region"] = region
    sink.account(
        platform=PLATFORM,
        account_id=handle,
        handle=handle,
        followers=_count(cell("followers")),
        following=_count(cell("following")),
        posts_count=_count(cell("updates")),
        attributes={k: v for k, v in account_attributes.items() if v} or None,
        observed_at=harvested,
    )

    def act(target: str, interaction: str) -> None:
        sink.interaction(platform=PLATFORM, src=handle, dst=target, kind=interaction, post_id=post_id,
                         created_at=created)
        sink.account(platform=PLATFORM, account_id=target, handle=target, observed_at=harvested)

    if parent_account:
        act(parent_account, kind)
    for target in mentions:
        if kind == "repost" and target == parent_account:
            continue  # "RT @x" is the repost itself, not a mention
        act(target, "mention")


FORMAT = Format(
    name="troll-tweets",
    description="FiveThirtyEight russian-troll-tweets CSV (IRA tweets; original and per-author columns)",
    containers=("csv",),
    sniff=sniff,
    map=map_row,
)
