"""Report section of the bot analysis: how bot likelihood is spread, and the likeliest bots with
the features behind their scores (``bot_scores``, ``bot_features``; read-only)."""

from __future__ import annotations

from typing import Any

import duckdb
import orjson

from confiance import i18n
from confiance.i18n import N_
from confiance.integrity.bots import FEATURES, SCORE_TABLE, load_model
from confiance.report.charts import bar_chart
from confiance.report.sections import Section, register_section
from confiance.store import has_table

TOP_ACCOUNTS = 25
EVIDENCE_SHOWN = 3
#: Bins of the calibrated probability for the distribution chart.
BINS = 10


def collect_bots(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    if not has_table(con, SCORE_TABLE):
        return None
    counts = dict(con.execute(
        f"SELECT least(floor(score * {BINS}), {BINS - 1})::INTEGER AS bin, count(*) FROM {SCORE_TABLE} GROUP BY ALL"
    ).fetchall())
    distribution = bar_chart([(f"{i18n.fixed(b / BINS, 1)}–{i18n.fixed((b + 1) / BINS, 1)}", counts.get(b, 0))
                              for b in range(BINS)])
    totals = con.execute(
        f"SELECT platform, count(*), count(*) FILTER (WHERE label), avg(score) FROM {SCORE_TABLE} "
        "GROUP BY ALL ORDER BY platform").fetchall()
    rows = []
    for platform, account_id, handle, score, evidence in con.execute(
        f"SELECT s.platform, s.account_id, a.handle, s.score, s.evidence FROM {SCORE_TABLE} s "
        "LEFT JOIN (SELECT platform, account_id, any_value(handle) AS handle FROM accounts GROUP BY ALL) a "
        "  USING (platform, account_id) WHERE s.label "
        "ORDER BY s.score DESC, s.platform, s.account_id LIMIT ?", [TOP_ACCOUNTS],
    ).fetchall():
        items = orjson.loads(evidence) if isinstance(evidence, (str, bytes)) else evidence
        weighted = [e for e in items if e["contribution"] != 0][:EVIDENCE_SHOWN]
        shown = [e for e in items if e["contribution"] == 0 and not e.get("missing")]
        rows.append({"platform": platform, "account_id": account_id, "handle": handle, "score": score,
                     "features": [{**e, "meaning": FEATURES.get(e["feature"], "")} for e in weighted],
                     "telltales": shown})
    metadata = load_model().metadata
    return {
        "distribution": distribution,
        "platforms": [{"platform": p, "accounts": n, "likely": k, "mean": m} for p, n, k, m in totals],
        "rows": rows,
        "training": {"rows": metadata.get("rows"), "bots": metadata.get("bots"), "data": metadata.get("data", "")},
    }


register_section(Section("bots", N_("Bot likelihood"), 60, "bots.html", collect_bots))
