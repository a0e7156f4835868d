"""Audience demographics reports as CSV (creator media kits, platform insights exports).

Shape: ``platform,account_id|handle,dimension,category,share[,source]`` (names case-insensitive),
one record per row. Natural key (platform, account_id, dimension, category).

- ``share`` is a fraction (0.34) or a percent ("34%", "34,5 %"); it is stored as a fraction. A
  number above 1 without '%' is read as a percent too (media kits often drop the sign); option
  ``share_scale`` = ``percent`` | ``fraction`` forces one reading for the whole file.
- ``dimension`` is lower-cased and French/plural synonyms are folded to age, gender, country,
  region, city, language, interest (``sexe`` → gender, ``pays`` → country…); others are kept as given.
- ``platform`` is lower-cased, ``twitter`` → ``x``; when the column is absent, option ``platform``.
- Without ``account_id``, the handle (lower-case, no '@') stands in as account id and no account row
  is written (analyses match it against ``accounts.handle``); with an id, a context account row
  (platform, id, handle) is written.
- ``source`` defaults to option ``source``.
"""

from __future__ import annotations

from typing import Any

from confiance.errors import RecordError
from confiance.ingest._format import Context, Format, Sample
from confiance.ingest._sink import Sink
from confiance.ingest._tables import cell, decimal, has_any, lowered

ACCOUNT_ID = ("account_id", "user_id", "channel_id")
HANDLE = ("handle", "username", "account")
DIMENSION = ("dimension",)
CATEGORY = ("category", "categorie", "catégorie", "bucket")
SHARE = ("share", "part", "percentage", "pct")
_DIMENSIONS = {
    "age": "age", "ages": "age", "âge": "age", "age_group": "age", "age range": "age", "tranche d'âge": "age",
    "gender": "gender", "genders": "gender", "sex": "gender", "sexe": "gender", "genre": "gender",
    "country": "country", "countries": "country", "pays": "country",
    "region": "region", "regions": "region", "région": "region",
    "city": "city", "cities": "city", "ville": "city", "villes": "city",
    "language": "language", "languages": "language", "langue": "language", "langues": "language",
    "interest": "interest", "interests": "interest", "intérêt": "interest", "intérêts": "interest",
    "centres d'intérêt": "interest",
}
_PLATFORMS = {"twitter": "x", "x.com": "x", "fb": "facebook", "ig": "instagram", "yt": "youtube"}


def _share(value: str | None, ctx: Context) -> float:
    number, percent = decimal(value, "share")
    if number is None:
        raise RecordError("audience share is missing")
    scale = ctx.options.get("share_scale")
    if scale == "percent" or (scale != "fraction" and (percent or number > 1)):
        number /= 100
    if not 0.0 <= number <= 1.0:
        raise RecordError(f"audience share {value!r} is outside 0-100%")
    return number


def map_row(row: Any, sink: Sink, ctx: Context) -> None:
    if not isinstance(row, dict):
        raise RecordError("expected a CSV row")
    low = lowered(row)
    platform = (cell(low, ("platform",)) or str(ctx.options.get("platform") or "")).lower()
    if not platform:
        raise RecordError("audience platform is missing")
    platform = _PLATFORMS.get(platform, platform)
    account_id = cell(low, ACCOUNT_ID)
    handle = (cell(low, HANDLE) or "").lstrip("@").lower() or None
    if not account_id and not handle:
        raise RecordError("audience row names no account (account_id or handle)")
    dimension = (cell(low, DIMENSION) or "").lower()
    category = cell(low, CATEGORY)
    if not dimension or not category:
        raise RecordError("audience dimension and category are required")
    sink.audience(
        primary=True,
        platform=platform,
        account_id=account_id or handle,
        dimension=_DIMENSIONS.get(dimension, dimension),
        category=category,
        share=_share(cell(low, SHARE), ctx),
        source=cell(low, ("source",)) or ctx.options.get("source"),
    )
    if account_id:
        sink.account(platform=platform, account_id=account_id, handle=handle)


def sniff(sample: Sample) -> int:
    header = {h.strip().lower() for h in sample.header}
    if has_any(header, DIMENSION) and has_any(header, CATEGORY) and has_any(header, SHARE):
        return 85 if has_any(header, ACCOUNT_ID + HANDLE) else 60
    return 0


FORMAT = Format(
    name="audience-csv",
    description="audience report CSV: platform,account_id|handle,dimension,category,share[,source]",
    containers=("csv",),
    sniff=sniff,
    map=map_row,
    options=('share_scale', 'platform', 'source'),
)
