"""Report section of the brand-fit shortlist (``confiance match``): the ranked candidates, their four
parts and a short explanation each; nothing until a match was made."""

from __future__ import annotations

from typing import Any

import duckdb

from confiance import i18n
from confiance.i18n import N_
from confiance.influence.fit import PARTS, explain_fit, fit_listing
from confiance.report.sections import Section, register_section

SHORTLIST = 20
#: How the report names each part of the fit (English: the part's name).
PART_LABELS = {"editorial": N_("editorial"), "style": N_("style"), "audience": N_("audience"), "trust": N_("trust")}


def collect_fit(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    rows = fit_listing(con, top=SHORTLIST)
    if not rows:
        return None
    labels = {p: i18n.translate(PART_LABELS[p]) if p in PART_LABELS else p for p in PARTS}
    for row in rows:
        if i18n.current() != i18n.LANGUAGES[0]:  # the stored explanation is English: rendered again from its fields
            row["explanation"] = explain_fit(row)
        editorial = row["evidence"].get("editorial") or {}
        row["posts"] = [p["post_id"] for p in editorial.get("best_posts", [])]
        row["avoided"] = [h["post_id"] for h in editorial.get("avoided_hits", [])][:5]
        row["missing"] = [labels.get(p, p) for p in row["evidence"].get("missing", [])]
    return {"rows": rows, "parts": PARTS, "brand": rows[0].get("brand"), "part_labels": labels}


register_section(Section("fit", N_("Brand fit shortlist"), 72, "fit.html", collect_fit,
                         missing_hint=N_("run `confiance match BRIEF.yaml`")))
