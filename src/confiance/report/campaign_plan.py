"""Report section of the campaign plan (``confiance plan``): seeds, marginal gains, reach per segment.

The section reads ``plan_results`` (the latest plan) and draws each segment's expected share reached
with its 95% interval as an inline SVG; it says nothing until a plan was made.
"""

from __future__ import annotations

from typing import Any

import duckdb

from confiance import i18n
from confiance.campaign.plan import NOTES, latest_plan
from confiance.i18n import N_
from confiance.report.sections import Section, register_section

CHART_WIDTH, LABEL_WIDTH, ROW_HEIGHT = 560, 190, 24


def _interval_rows(segments: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Share reached per segment with its interval, as pixel positions on a 0-100% axis."""
    usable = CHART_WIDTH - LABEL_WIDTH - 70
    rows = []
    for i, (name, s) in enumerate(segments.items()):
        share, lower, upper = (s.get("share"), s.get("share_lower"), s.get("share_upper"))
        if share is None:
            continue
        clamp = lambda v: min(max(float(v), 0.0), 1.0)  # noqa: E731
        rows.append({"name": name, "share": share, "y": i * ROW_HEIGHT + 4,
                     "bar": usable * clamp(share), "low": LABEL_WIDTH + usable * clamp(lower),
                     "high": LABEL_WIDTH + usable * clamp(upper)})
    return rows


def collect_plan(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    document = latest_plan(con)
    if document is None:
        return None
    parameters = document.get("parameters", {})
    segments = document.get("segments", {})
    rows = _interval_rows(segments)
    return {
        "seeds": document["seeds"],
        "reach": document.get("expected_reach", {}),
        "segments": segments,
        "platforms": document.get("platforms", {}),
        "parameters": parameters,
        "diagnostics": document.get("diagnostics", {}),
        "notes": [i18n.written_again(note, NOTES) for note in document.get("notes", [])],
        "chart": {"rows": rows, "width": CHART_WIDTH, "label_width": LABEL_WIDTH,
                  "height": len(rows) * ROW_HEIGHT + 8},
        "has_fit": any(s.get("fit") is not None for s in document["seeds"]),
        "has_cost": any(s.get("cost") is not None for s in document["seeds"]),
        # the unit the brief priced accounts in: its currency as written (EUR), else no unit can be assumed
        "cost_unit": parameters.get("currency") or i18n.gettext("cost units"),
    }


register_section(Section("plan", N_("Campaign plan"), 73, "plan.html", collect_plan,
                         missing_hint=N_("run `confiance plan BRIEF.yaml`")))
