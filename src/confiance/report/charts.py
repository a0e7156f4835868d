"""Inline SVG chart geometry: the report stays one self-contained file with no script.

Functions return plain numbers and strings; the Jinja templates draw them (and escape the labels).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal, Sequence

from confiance import i18n
from confiance.i18n import N_

PALETTE = ("#3b6ea8", "#d1603d", "#4f9a5b", "#8e5ea2", "#c9a227", "#2f8f9d", "#b5485d", "#6b6b6b")


@dataclass
class LineSeries:
    label: str
    color: str
    points: str  # SVG polyline "x,y x,y …"


@dataclass
class LineChart:
    width: int
    height: int
    series: list[LineSeries]
    x_ticks: list[tuple[float, str, str]]  # x, label, text-anchor
    y_ticks: list[tuple[float, str]]
    x_title: str = ""  # the period of a point ("week (starting Monday)")
    y_title: str = ""  # the unit of the values ("posts", "% of posts")
    tick_y: float = 0.0  # baseline of the x tick labels


#: A time chart draws at most this many points: more than the ~800 px of a plot can show apart, and a
#: point per day over 20 years of posts made a 1.1 MB report section.
MAX_TIME_POINTS = 400

Bucket = Literal["day", "week", "month", "year"]


def time_bucket(first: date, last: date, max_points: int = MAX_TIME_POINTS) -> Bucket:
    """The finest of day / week / month / year that covers ``first``..``last`` in at most ``max_points`` periods."""
    days = (last - first).days
    if days + 1 <= max_points:
        return "day"
    if days // 7 + 2 <= max_points:  # a span's first and last weeks may be partial
        return "week"
    if (last.year - first.year) * 12 + last.month - first.month + 1 <= max_points:
        return "month"
    return "year"


def bucket_start(day: date, bucket: Bucket) -> date:
    """The first day of the period holding ``day`` (weeks start on Monday, as DuckDB's ``date_trunc``)."""
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    if bucket == "year":
        return day.replace(month=1, day=1)
    return day


#: How an x axis names each bucket (the volume, sentiment and trend charts share the bucketing), in
#: English: :func:`axis_title` gives it in the report's language.
BUCKET_AXIS = {"day": N_("day"), "week": N_("week (starting Monday)"), "month": N_("month"), "year": N_("year")}
#: The bucket as running text names it ("posts per week").
BUCKET_NAME = {"day": N_("day"), "week": N_("week"), "month": N_("month"), "year": N_("year")}


def axis_title(bucket: str) -> str:
    """The x-axis title of ``bucket`` in the report's language (an unknown bucket as it is)."""
    return i18n.translate(BUCKET_AXIS[bucket]) if bucket in BUCKET_AXIS else bucket


def bucket_name(bucket: str) -> str:
    """The bucket as running text names it, in the report's language ("week"; an unknown one as it is)."""
    return i18n.translate(BUCKET_NAME[bucket]) if bucket in BUCKET_NAME else bucket


def bucket_series(days: Sequence[date], values: Sequence[float], bucket: Bucket) -> tuple[list[date], list[float]]:
    """Daily ``values`` summed per period of ``bucket`` (every period from the first day's to the last's)."""
    if not days:
        return [], []
    periods = bucket_periods(days[0], days[-1], bucket)
    index = {p: i for i, p in enumerate(periods)}
    sums = [0.0] * len(periods)
    for day, value in zip(days, values):
        sums[index[bucket_start(day, bucket)]] += float(value)
    return periods, sums


def bucket_periods(first: date, last: date, bucket: Bucket) -> list[date]:
    """Every period start from the one holding ``first`` to the one holding ``last`` (empty ones included)."""
    period, end = bucket_start(first, bucket), bucket_start(last, bucket)
    periods = []
    while period <= end:
        periods.append(period)
        if bucket == "day":
            period += timedelta(days=1)
        elif bucket == "week":
            period += timedelta(days=7)
        elif bucket == "month":
            period = date(period.year + period.month // 12, period.month % 12 + 1, 1)
        else:
            period = date(period.year + 1, 1, 1)
    return periods


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _axis_number(value: float) -> str:
    if i18n.current() != "en":
        return i18n.trimmed_number(round(value, 2))
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}".rstrip("0").rstrip(".")


#: Width of an 11 px system-ui character in an axis label, measured in chromium (digits and lower case).
TICK_CHAR_PX = 6.5


def x_tick(x: float, label: str, width: float) -> tuple[float, str, str]:
    """A label centred under its point, unless centring puts it past an edge of the chart (the last date of an
    axis was cut to "1 juin 20"): then it ends at (or starts from) its point."""
    half = len(label) * TICK_CHAR_PX / 2
    anchor = "end" if x + half > width else "start" if x - half < 0 else "middle"
    return x, label, anchor


def line_chart(days: Sequence[date], series: dict[str, Sequence[float]], width: int = 860, height: int = 240,
               x_title: str = "", y_title: str = "") -> LineChart:
    """Several series over the same periods (days, or the starts of weeks / months; missing ones are zero).

    ``x_title`` names the period on the x axis, ``y_title`` the unit of the values (drawn above the y axis).
    """
    left, right, top, bottom = 48, 12, 10 + (14 if y_title else 0), 28 + (14 if x_title else 0)
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(days), 1)
    y_max = _nice_max(max((max(v) for v in series.values() if len(v)), default=1))

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h - plot_h * v / y_max

    lines = [
        LineSeries(label, PALETTE[k % len(PALETTE)], " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values)))
        for k, (label, values) in enumerate(series.items())
    ]
    step = max(1, n // 6)
    x_ticks = [x_tick(x(i), i18n.day(days[i]), width) for i in range(0, n, step)] if days else []
    # quarter ticks are not always whole (12.5 of 50, 0.5 of 2): rounding them printed "12" and "38", or "0 0 1 2 2"
    y_ticks = [(y(y_max * f), _axis_number(y_max * f)) for f in (0, 0.25, 0.5, 0.75, 1)]
    return LineChart(width, height, lines, x_ticks, y_ticks, x_title, y_title, top + plot_h + 20)


@dataclass
class Bar:
    label: str
    value: float
    width: float  # in px
    y: float


@dataclass
class BarChart:
    width: int
    height: int
    label_width: int
    bars: list[Bar]


#: Bar labels are cut to this many characters; the label column is as wide as the longest label at
#: LABEL_CHAR_PX (11 px system-ui measured 5.5-7 px per character in chromium, wider for capitals).
MAX_BAR_LABEL = 28
LABEL_CHAR_PX = 7


def bar_label(label: object) -> str:
    text = str(label)
    return text if len(text) <= MAX_BAR_LABEL else text[:MAX_BAR_LABEL - 1] + "…"


def bar_chart(rows: Sequence[tuple[str, float]], width: int = 420, bar_height: int = 18, label_width: int = 150) -> BarChart:
    """Horizontal bars; the label column (and the chart) widen so that no label is cut by the left edge."""
    labels = [bar_label(label) for label, _ in rows]
    needed = max((len(label) for label in labels), default=0) * LABEL_CHAR_PX + 8
    width += max(needed - label_width, 0)
    label_width = max(label_width, needed)
    top = max((v for _, v in rows), default=1) or 1
    usable = width - label_width - 60
    bars = [Bar(label, float(v), usable * float(v) / top, i * (bar_height + 4))
            for i, (label, (_, v)) in enumerate(zip(labels, rows))]
    return BarChart(width, len(rows) * (bar_height + 4) + 4, label_width, bars)


@dataclass
class BandChart:
    """A series against a prediction with its interval band, and a vertical marker (an intervention)."""

    width: int
    height: int
    actual: str  # SVG polyline points
    predicted: str  # SVG polyline points (dashed)
    band: str  # SVG polygon points: upper edge left to right, lower edge back
    marker_x: float | None
    zero_y: float | None  # a horizontal zero line when the range crosses zero (effect charts)
    x_ticks: list[tuple[float, str, str]]  # x, label, text-anchor
    y_ticks: list[tuple[float, str]]
    x_title: str = ""  # what a point is ("KPI date")
    y_title: str = ""  # what the values are, in which unit
    top: float = 10.0  # the plot's top edge (below the y title)
    bottom: float = 192.0  # the plot's bottom edge
    tick_y: float = 212.0  # baseline of the x tick labels


def _tick_label(value: float) -> str:
    """Whole numbers from 10,000 on ("37,970", not "3.797e+04", which the axis margin cuts), else 4 digits."""
    if i18n.current() != "en":
        return i18n.number(value) if abs(value) >= 1e4 else i18n.trimmed_number(value, significant=4)
    return f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:,.4g}"


def band_chart(labels: Sequence[str], actual: Sequence[float], predicted: Sequence[float], lower: Sequence[float],
               upper: Sequence[float], marker: int | None = None, width: int = 860, height: int = 220,
               x_title: str = "", y_title: str = "") -> BandChart:
    """Actual vs predicted with the predicted interval shaded (the causal-impact plot); ``x_title`` names what a
    point is, ``y_title`` what the values are (drawn above the y axis)."""
    left, right, top, bottom = 56, 12, 10 + (14 if y_title else 0), 28 + (14 if x_title else 0)
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(labels), 1)
    values = [v for seq in (actual, predicted, lower, upper) for v in seq if v == v]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    if hi <= lo:
        hi = lo + 1.0
    pad = (hi - lo) * 0.05
    lo, hi = lo - pad, hi + pad

    def x(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def y(v: float) -> float:
        return top + plot_h - plot_h * (v - lo) / (hi - lo)

    def points(seq: Sequence[float]) -> str:
        return " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(seq) if v == v)

    band = " ".join([f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(upper)]
                    + [f"{x(i):.1f},{y(v):.1f}" for i, v in reversed(list(enumerate(lower)))])
    step = max(1, n // 6)
    # English as given; another language writes days (dates, or ISO days kept as text) its own way
    x_ticks = [x_tick(x(i), str(labels[i] if i18n.current() == "en" else i18n.moment(labels[i])), width)
               for i in range(0, n, step)]
    y_ticks = [(y(lo + (hi - lo) * f), _tick_label(lo + (hi - lo) * f)) for f in (0, 0.25, 0.5, 0.75, 1)]
    return BandChart(width, height, points(actual), points(predicted), band,
                     x(marker) if marker is not None else None, y(0.0) if lo < 0 < hi else None, x_ticks, y_ticks,
                     x_title, y_title, top, top + plot_h, top + plot_h + 20)
