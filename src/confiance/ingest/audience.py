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
- The shares of one (platform, account, dimension) should sum to 1 (100%). A partial report is
  legitimate (a top-10 countries list), so rows are stored whatever their sum, but the file's
  summary line names each group whose shares sum more than ``SUM_TOLERANCE`` away from 1
  ("x:123 country shares sum to 0.83"), and ``status --json`` lists them with their source
  (``audience_groups_not_summing``, from :func:`groups_not_summing`). A category repeated in a group counts once (the first, as stored).
"""

from __future__ import annotations

from typing import Any

import duckdb

from confiance.errors import RecordError
from confiance.i18n import N_, Figure, Phrase
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
#: how far from 1 the shares of one (account, dimension) may sum before the summary says so: reports
#: round each share (to 0.1% or 1%), so ten rounded shares can miss 1 by up to 0.05 in the worst case;
#: 0.02 catches a missing category of 2% or more while letting the usual rounding through
SUM_TOLERANCE = 0.02
_LISTED_GROUPS = 5


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
    group = (platform, account_id or handle, _DIMENSIONS.get(dimension, dimension))
    share = _share(cell(low, SHARE), ctx)
    sink.audience(
        primary=True,
        platform=group[0],
        account_id=group[1],
        dimension=group[2],
        category=category,
        share=share,
        source=cell(low, ("source",)) or ctx.options.get("source"),
    )
    if account_id:
        sink.account(platform=platform, account_id=account_id, handle=handle)
    ctx.state.setdefault("shares", {}).setdefault(group, {}).setdefault(category, share)


def describe_group(platform: str, account_id: str, dimension: str, total: float) -> Phrase:
    """One group whose shares do not sum to 1, as the file's note names it ("x:123 country shares sum to 0.83 (83%)")."""
    return Phrase(N_("%(account)s %(dimension)s shares sum to %(total)s (%(percent)s%%)"),
                  account=f"{platform}:{account_id}", dimension=dimension, total=Figure(total, 2),
                  percent=Figure(100 * total))


def note_groups_not_summing(ctx: Context) -> None:
    """After the file: name the groups whose shares do not sum to 1 (see the module docstring)."""
    off = [(group, total) for group, shares in ctx.state.get("shares", {}).items()
           if abs((total := sum(shares.values())) - 1) > SUM_TOLERANCE]
    if not off:
        return
    groups = describe_group(*off[0][0], off[0][1])
    for group, total in off[1:_LISTED_GROUPS]:
        groups = Phrase(N_("%(first)s, %(second)s"), first=groups, second=describe_group(*group, total))
    if len(off) > _LISTED_GROUPS:
        groups = Phrase(N_("%(groups)s and %(more)s more (status --json lists them)"), groups=groups,
                        more=len(off) - _LISTED_GROUPS)
    tolerance = Figure(100 * SUM_TOLERANCE)
    ctx.note(Phrase(N_("stored, but 1 (account, dimension) group not summing to 100%% ±%(tolerance)s%%: %(groups)s"),
                    tolerance=tolerance, groups=groups) if len(off) == 1 else
             Phrase(N_("stored, but %(count)s (account, dimension) groups not summing to 100%% ±%(tolerance)s%%: "
                       "%(groups)s"), count=len(off), tolerance=tolerance, groups=groups))


def groups_not_summing(con: duckdb.DuckDBPyConnection) -> dict[str, list[dict[str, Any]]]:
    """Per source (sha256), the stored (account, dimension) groups whose shares do not sum to 1."""
    rows = con.execute(
        "SELECT source_sha256, platform, account_id, dimension, sum(share) AS total FROM audience_reports "
        "GROUP BY ALL HAVING abs(sum(share) - 1) > ? ORDER BY ALL", [SUM_TOLERANCE]).fetchall()
    found: dict[str, list[dict[str, Any]]] = {}
    for sha, platform, account_id, dimension, total in rows:
        found.setdefault(sha, []).append({"platform": platform, "account_id": account_id, "dimension": dimension,
                                          "share_sum": round(total, 4)})
    return found


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
    finish=note_groups_not_summing,
)
