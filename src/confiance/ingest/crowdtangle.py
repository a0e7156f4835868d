"""CrowdTangle CSV exports (Facebook pages/groups and Instagram accounts; dashboard "Search" and
list exports) and Meta Content Library (MCL) CSV downloads.

CrowdTangle quirks (see ``shared/data/formats/crowdtangle-csv/SOURCE.md``): UTF-8 with a BOM,
multi-line quoted cells, locale-formatted numbers (``407.137`` = 407137 in ``Total Interactions``
while ``Likes`` is plain; ``Overperforming Score`` with a decimal comma, ``1,4``), missing values as
empty, ``-``, ``N/A``; ``Post Created`` as ``2021-07-05 18:02:45 BRT`` (a zone abbreviation, or an
offset such as ``-0300``); a weighted-interactions column whose header carries an em dash.

CrowdTangle mapping:

- platform: ``instagram`` when the post URL is on instagram.com (or the export has Instagram-only
  columns: ``Account`` without ``Facebook Id``), else ``facebook``.
- ``account_id`` = ``Facebook Id`` (the page/group id) when present, else the lower-cased
  ``User Name``. An export re-saved by a spreadsheet may hold it rounded (``1,00050E+14``): then the
  numeric page id that starts the post URL (``facebook.com/100050295107499/posts/…``) when it rounds
  to the same value, else the user name; ``handle`` = ``User Name`` lower-case; ``display_name`` = ``Page Name``/``Account``;
  ``bio`` = ``Page Description``; ``followers`` = ``Followers at Posting`` observed at the post time.
- ``post_id``: the last all-digit path segment of ``URL`` (``/posts/345428873810280``,
  ``/videos/123/``); else the ``story_fbid``/``fbid`` query value; else the Instagram shortcode
  (``/p/CODE/``, ``/reel/CODE/``, ``/tv/CODE/``); else ``url:`` + the first 20 hex digits of the
  SHA-256 of the URL (stable across files).
- times written ``dd/mm/yyyy HH:MM`` or ``mm/dd/yyyy HH:MM`` (an export re-saved by a spreadsheet) are
  read one way for the whole file: day first when some ``Post Created`` or ``Page Created`` has a day
  above 12 in first place and none has a number above 12 in second place, else month first.
- times: zone abbreviations come from a fixed table (BRT, EST, EDT, CST, CDT, MST, MDT, PST, PDT,
  CET, CEST, GMT, BST, UTC, …); ``Page Created`` has no zone and is read in the zone of ``Post
  Created``. An export re-saved by a spreadsheet loses the zone (``2024-03-05 14:02:11``): such
  times are read in the zone of option ``timezone`` (an IANA name, ``--option
  timezone=Europe/Paris``), else as UTC, and the file's summary line says which (the dashboard's
  zone is not in the file, so UTC is a guess the user should see). The export time in the file name (``2021-07-05-22-49-20-BRT-…``) is the observation's
  ``collected_at``.
- metrics: ``Likes``→likes (Instagram too), ``Shares``→reposts, ``Comments``→replies,
  ``Post Views`` (Instagram: ``Views``)→views. CrowdTangle writes 0 views for non-video posts, which
  means "not measured": views is NULL for a 0 on a post whose ``Type`` is not a video.
- attributes: reactions (love, wow, haha, sad, angry, care, thankful), total and weighted
  interactions, overperforming score (a float), total views, video length and share status,
  media type (``Type``), page category and admin country, sponsor id/name/category, image text,
  link, final link, link text, description, title; ``Link``/``Final Link`` also go into ``urls``.

Meta Content Library CSV (columns assumed from the MCL data dictionary, since no sample was
available): ``id``, ``creation_time``, ``text``, ``lang``, ``post_owner.id``, ``post_owner.name``,
``post_owner.username``, ``post_owner.type``, ``statistics.reaction_count``,
``statistics.like_count`` (Instagram), ``statistics.share_count``, ``statistics.comment_count``,
``statistics.views``, ``is_branded_content``, ``link_attachment.link``, ``url``/``post_url``,
``multimedia``, ``match_type``. The platform comes from ``--platform``, else a post URL's host,
else ``instagram`` when there is ``statistics.like_count`` but no ``statistics.reaction_count``,
else ``facebook``. On Facebook, ``reaction_count`` (all reactions) goes to likes. An ``id`` that a
spreadsheet rounded (``1,23457E+16``) rejects its record.
"""

from __future__ import annotations

import hashlib
import math
import re
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from confiance.errors import IngestError, RecordError
from confiance.i18n import N_, Phrase
from confiance.ingest._format import (
    SLASH_DATE,
    Context,
    DatedRow,
    Format,
    Sample,
    csv_with_slash_dates,
    domain_of,
    domains_of,
    hashtags_in,
    mentions_in,
    parse_count,
    parse_slash_date,
    parse_timestamp,
    rounded_by_spreadsheet,
    urls_in,
)
from confiance.ingest._sink import Sink


def _fixed(hours: float, name: str) -> timezone:
    return timezone(timedelta(hours=hours), name)


#: Zone abbreviations CrowdTangle writes (the dashboard's zone); abbreviations name fixed offsets.
ZONES: dict[str, tzinfo] = {
    "UTC": timezone.utc, "GMT": timezone.utc, "Z": timezone.utc, "WET": _fixed(0, "WET"),
    "BST": _fixed(1, "BST"), "WEST": _fixed(1, "WEST"), "CET": _fixed(1, "CET"), "CEST": _fixed(2, "CEST"),
    "EET": _fixed(2, "EET"), "EEST": _fixed(3, "EEST"), "MSK": _fixed(3, "MSK"), "IST": _fixed(5.5, "IST"),
    "BRT": _fixed(-3, "BRT"), "BRST": _fixed(-2, "BRST"), "ART": _fixed(-3, "ART"),
    "AST": _fixed(-4, "AST"), "ADT": _fixed(-3, "ADT"),
    "EST": _fixed(-5, "EST"), "EDT": _fixed(-4, "EDT"), "CST": _fixed(-6, "CST"), "CDT": _fixed(-5, "CDT"),
    "MST": _fixed(-7, "MST"), "MDT": _fixed(-6, "MDT"), "PST": _fixed(-8, "PST"), "PDT": _fixed(-7, "PDT"),
    "AEST": _fixed(10, "AEST"), "AEDT": _fixed(11, "AEDT"), "JST": _fixed(9, "JST"),
}

_CT_REQUIRED = {"Post Created", "URL"}
_CT_TYPICAL = {"User Name", "Facebook Id", "Page Name", "Account", "Total Interactions", "Overperforming Score",
               "Likes", "Comments", "Shares", "Followers at Posting", "Type"}
_MCL_REQUIRED = {"id", "creation_time", "post_owner.id"}
_NONE = {"", "-", "n/a", "na", "null", "none", "nan"}
_VIDEO_TYPES = ("video", "igtv", "reel", "live")
_FILE_TIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-([A-Za-z]{1,5})-")


def sniff(sample: Sample) -> int:
    header = set(sample.header)
    if _CT_REQUIRED <= header and len(_CT_TYPICAL & header) >= 4:
        return 95
    if _MCL_REQUIRED <= header and any(h.startswith("statistics.") for h in header):
        return 90
    return 0


# -- values -------------------------------------------------------------------------------------
def _cell(row: dict, *names: str) -> str | None:
    for name in names:
        value = row.get(name)
        if value is not None and value.strip().lower() not in _NONE:
            return value.strip()
    return None


def _count(row: dict, *names: str) -> int | None:
    value = _cell(row, *names)
    return parse_count(value) if value is not None else None


def _decimal(value: str | None) -> float | None:
    """'1,4' / '105,68' / '1.4' / '1.234,5' as a float."""
    if value is None:
        return None
    s = value.replace("\u00a0", "").replace(" ", "")
    if "," in s and "." in s:
        s = s.replace(".", "").replace(",", ".") if s.rfind(",") > s.rfind(".") else s.replace(",", "")
    else:
        s = s.replace(",", ".")
    try:
        return float(s)
    except ValueError:
        raise RecordError(f"not a number: {value[:40]!r}") from None


def parse_local_time(value: str | None, default_zone: tzinfo | None = None,
                     day_first: bool = False) -> tuple[str | None, tzinfo | None]:
    """'2021-07-05 18:02:45 BRT' or '… -0300' (or ISO, or a slash date) → (ISO UTC text, the zone the
    text names). A time that names no zone (a spreadsheet re-save drops it) is read in
    ``default_zone``, else UTC, and its zone is None. ``day_first``: a slash date is 'dd/mm/yyyy'."""
    if value is None:
        return None, None
    s = value.strip()
    local_zone = default_zone or timezone.utc
    match = re.fullmatch(r"(\d{4}-\d\d-\d\d[ T]\d\d:\d\d(?::\d\d)?)\s*([A-Za-z]{1,5}|[+-]\d\d:?\d\d)?", s)
    if not match:
        if SLASH_DATE.fullmatch(s):
            try:
                return parse_slash_date(s, local_zone, day_first), None
            except RecordError:  # in a month-first file, a date that only reads day first
                if day_first:
                    raise
                return parse_slash_date(s, local_zone, True), None
        return parse_timestamp(s), timezone.utc  # ISO with an offset, epoch seconds: a zone is given
    local = datetime.fromisoformat(match.group(1).replace(" ", "T"))
    zone_text = match.group(2)
    if zone_text is None:
        return local.replace(tzinfo=local_zone).astimezone(timezone.utc).isoformat(), None
    if zone_text[0] in "+-":
        digits = zone_text.replace(":", "")
        minutes = int(digits[1:3]) * 60 + int(digits[3:5])
        zone = timezone(timedelta(minutes=minutes if digits[0] == "+" else -minutes))
    else:
        found = ZONES.get(zone_text.upper())
        if found is None:
            raise RecordError(f"unknown time zone {zone_text!r} in {s!r}")
        zone = found
    return local.replace(tzinfo=zone).astimezone(timezone.utc).isoformat(), zone


def _date_cells(row: dict[str, str]) -> tuple[str | None, ...]:
    return row.get("Post Created"), row.get("Page Created"), row.get("creation_time")


def _option_zone(ctx: Context) -> tzinfo | None:
    """The zone option ``timezone`` names (an IANA name such as Europe/Paris, or UTC); None without it."""
    name = str(ctx.options.get("timezone") or "").strip()
    if not name:
        return None
    if name.upper() in ("UTC", "GMT", "Z"):
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise IngestError(str(ctx.path), None, Phrase(N_("--option timezone=%(zone)s is not an IANA zone name "
                                                         "(Europe/Paris, America/Sao_Paulo…) or UTC"),
                                                      zone=repr(name))) from None


def _local_time(value: str | None, ctx: Context, day_first: bool,
                default_zone: tzinfo | None = None) -> tuple[str | None, tzinfo | None]:
    """A time of the file (see :func:`parse_local_time`): without a zone, in ``default_zone``, else in
    the zone of option ``timezone``, else UTC, and the summary line says which."""
    option = _option_zone(ctx)
    created, zone = parse_local_time(value, default_zone or option, day_first)
    if created is not None and zone is None and default_zone is None:
        ctx.note(Phrase(N_("dates without zone read in %(zone)s"), zone=ctx.options["timezone"]) if option is not None
                 else Phrase(N_("dates without zone read as UTC; pass --option timezone=ZONE (Europe/Paris…) if they "
                                "are local times")))
    return created, zone


def _collected_at(ctx: Context) -> str:
    """CrowdTangle names exports after their creation time: 2021-07-05-22-49-20-BRT-search-csv-export.csv."""
    match = _FILE_TIME.match(ctx.path.name)
    if match and match.group(7).upper() in ZONES:
        y, mo, d, h, mi, s = (int(g) for g in match.groups()[:6])
        try:
            return datetime(y, mo, d, h, mi, s, tzinfo=ZONES[match.group(7).upper()]).astimezone(timezone.utc).isoformat()
        except ValueError:
            pass
    return ctx.collected_at


def post_id_from_url(url: str) -> str:
    """See the module docstring: numeric path segment, fbid query, Instagram shortcode, else a hash."""
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    for segment in reversed(segments):
        if segment.isdigit():
            return segment
    query = parse_qs(parts.query)
    for key in ("story_fbid", "fbid", "v"):
        if query.get(key) and query[key][0].isdigit():
            return query[key][0]
    for i, segment in enumerate(segments[:-1]):
        if segment in ("p", "reel", "reels", "tv") and (domain_of(url) or "").endswith("instagram.com"):
            return segments[i + 1]
    return "url:" + hashlib.sha256(url.encode()).hexdigest()[:20]


def _platform_of(url: str | None, default: str) -> str:
    host = domain_of(url) or ""
    if host.endswith("instagram.com"):
        return "instagram"
    if host.endswith("facebook.com") or host.endswith("fb.com") or host.endswith("fb.watch"):
        return "facebook"
    return default


# -- CrowdTangle --------------------------------------------------------------------------------
_REACTIONS = ("Love", "Wow", "Haha", "Sad", "Angry", "Care", "Thankful")
_TEXT_ATTRIBUTES = {
    "Page Category": "page_category", "Page Admin Top Country": "page_admin_top_country",
    "Type": "media_type", "Image Text": "image_text", "Link": "link", "Final Link": "final_link",
    "Link Text": "link_text", "Title": "title", "Sponsor Id": "sponsor_id", "Sponsor Name": "sponsor_name",
    "Sponsor Category": "sponsor_category", "Video Length": "video_length",
    "Video Share Status": "video_share_status", "Is Video Owner?": "is_video_owner", "Photo": "photo",
}
_COUNT_ATTRIBUTES = {
    "Total Interactions": "total_interactions", "Total Views": "total_views",
    "Total Views For All Crossposts": "total_views_all_crossposts",
}


def _page_id(row: dict, url: str, handle: str | None) -> str | None:
    """``Facebook Id``; when a spreadsheet rounded it, see the module docstring."""
    page_id = _cell(row, "Facebook Id")
    if page_id is None or not rounded_by_spreadsheet(page_id):
        return page_id or handle
    segments = [s for s in urlsplit(url).path.split("/") if s]
    if segments and segments[0].isdigit() and math.isclose(
            int(segments[0]), float(page_id.replace(",", ".")), rel_tol=1e-4):
        return segments[0]
    return handle


def _map_crowdtangle(row: dict, day_first: bool, sink: Sink, ctx: Context) -> None:
    url = _cell(row, "URL")
    if url is None:
        raise RecordError("row has no URL (the post's only stable identifier)")
    instagram_columns = "Account" in row and "Facebook Id" not in row
    platform = _platform_of(url, "instagram" if instagram_columns else "facebook")
    user_name = _cell(row, "User Name")
    handle = user_name.lstrip("@").lower() if user_name else None
    account_id = _page_id(row, url, handle)
    created, zone = _local_time(_cell(row, "Post Created"), ctx, day_first)
    post_id = post_id_from_url(url)

    text = _cell(row, "Message") or ""
    description = _cell(row, "Description")
    caption_in_description = platform == "instagram" and not text and description is not None
    if caption_in_description:
        text = description  # Instagram exports keep the caption in Description
    links = [u for u in (_cell(row, "Link"), _cell(row, "Final Link")) if u]
    urls = list(dict.fromkeys(links + urls_in(text)))

    media_type = (_cell(row, "Type") or "").lower()
    is_video = any(t in media_type for t in _VIDEO_TYPES)
    views = _count(row, "Post Views", "Views")
    if views == 0 and not is_video:
        views = None  # CrowdTangle writes 0 for posts that have no view count
    metrics = dict(likes=_count(row, "Likes"), reposts=_count(row, "Shares"), replies=_count(row, "Comments"),
                   views=views)

    attributes: dict[str, Any] = {}
    for column, key in _TEXT_ATTRIBUTES.items():
        if (value := _cell(row, column)) is not None:
            attributes[key] = value
    if description and not caption_in_description:
        attributes["description"] = description
    for column, key in _COUNT_ATTRIBUTES.items():
        if (value := _count(row, column)) is not None and not (value == 0 and "views" in key and not is_video):
            attributes[key] = value
    for column in _REACTIONS:
        if (value := _count(row, column)) is not None:
            attributes[column.lower()] = value
    weighted = next((c for c in row if c.startswith("Total Interactions (weighted")), None)
    if weighted and (value := _count(row, weighted)) is not None:
        attributes["total_interactions_weighted"] = value
    if (score := _decimal(_cell(row, "Overperforming Score"))) is not None:
        attributes["overperforming_score"] = score

    _emit_post(sink, platform, post_id, account_id, created, text, None, url, urls, attributes, metrics,
               _collected_at(ctx))
    if account_id is None:
        return
    page_created, _ = _local_time(_cell(row, "Page Created"), ctx, day_first, zone)
    account_attributes = {key: value for column, key in (("Page Category", "page_category"),
                                                           ("Page Admin Top Country", "page_admin_top_country"))
                          if (value := _cell(row, column)) is not None}
    if (page_likes := _count(row, "Likes at Posting")) is not None:
        account_attributes["page_likes"] = page_likes
    sink.account(
        platform=platform,
        account_id=account_id,
        handle=handle,
        display_name=_cell(row, "Page Name", "Account", "Name"),
        bio=_cell(row, "Page Description"),
        created_at=page_created,
        followers=_count(row, "Followers at Posting"),
        attributes=account_attributes or None,
        observed_at=created or _collected_at(ctx),
    )


# -- Meta Content Library -----------------------------------------------------------------------
_MCL_CANONICAL = {"id", "creation_time", "text", "lang", "post_owner.id", "post_owner.name", "post_owner.username",
                  "statistics.reaction_count", "statistics.like_count", "statistics.share_count",
                  "statistics.comment_count", "statistics.views", "url", "post_url", "link_attachment.link"}


def _map_mcl(row: dict, day_first: bool, sink: Sink, ctx: Context) -> None:
    post_id = _cell(row, "id")
    if post_id is None:
        raise RecordError("row has no id")
    if rounded_by_spreadsheet(post_id):
        raise RecordError(f"id {post_id!r} was rounded by a spreadsheet: re-export, or open the file with the column as text")
    url = _cell(row, "url", "post_url")
    if ctx.options.get("platform"):
        platform = str(ctx.options["platform"]).lower()
    elif "statistics.like_count" in row and "statistics.reaction_count" not in row:
        platform = _platform_of(url, "instagram")
    else:
        platform = _platform_of(url, "facebook")
    account_id = _cell(row, "post_owner.id")
    username = _cell(row, "post_owner.username")
    text = _cell(row, "text") or ""
    link = _cell(row, "link_attachment.link")
    urls = list(dict.fromkeys(([link] if link else []) + urls_in(text)))
    created, _ = _local_time(_cell(row, "creation_time"), ctx, day_first)
    metrics = dict(likes=_count(row, "statistics.like_count", "statistics.reaction_count"),
                   reposts=_count(row, "statistics.share_count"), replies=_count(row, "statistics.comment_count"),
                   views=_count(row, "statistics.views"))
    attributes = {k: v.strip() for k, v in row.items()
                  if k not in _MCL_CANONICAL and v is not None and v.strip().lower() not in _NONE}
    _emit_post(sink, platform, post_id, account_id, created, text, _cell(row, "lang"), url, urls, attributes, metrics,
               ctx.collected_at)
    if account_id is not None:
        sink.account(platform=platform, account_id=account_id, handle=username.lstrip("@").lower() if username else None,
                     display_name=_cell(row, "post_owner.name"), observed_at=ctx.collected_at)


def _emit_post(sink: Sink, platform: str, post_id: str, account_id: str | None, created: str | None, text: str,
               lang: str | None, url: str | None, urls: list[str], attributes: dict, metrics: dict,
               collected_at: str) -> None:
    """The post row both export shapes share; its metrics become an observation at ``collected_at``."""
    sink.post(
        primary=True,
        platform=platform,
        post_id=post_id,
        account_id=account_id,
        created_at=created,
        text=text,
        lang=lang,
        kind="post",
        url=url,
        urls=urls,
        domains=domains_of(urls),
        hashtags=hashtags_in(text),
        mentions=mentions_in(text),
        attributes=attributes or None,
        observed_at=collected_at,
        **metrics,
    )


def map_record(unit: Any, sink: Sink, ctx: Context) -> None:
    if not isinstance(unit, DatedRow):
        raise RecordError("expected a CSV row")
    row = unit.row
    if "post_owner.id" in row and "URL" not in row:
        _map_mcl(row, unit.day_first, sink, ctx)
    else:
        _map_crowdtangle(row, unit.day_first, sink, ctx)


FORMAT = Format(
    name="crowdtangle",
    description="CrowdTangle CSV exports (Facebook, Instagram) and Meta Content Library CSV downloads",
    containers=("csv",),
    sniff=sniff,
    map=map_record,
    read=csv_with_slash_dates(_date_cells),
    options=('platform', 'timezone'),
)
