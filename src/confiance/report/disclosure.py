"""Report section of the commercial disclosure audit (French law): verdict counts, accounts, evidence.

Reads ``disclosure_posts``, ``disclosure_accounts`` and ``disclosure_rules`` (read-only); the evidence
table shows each finding's text span in its sentence, the span marked by the template (every part
autoescaped), and its rule's legal reference; the rules found in the evidence are then described. The
texts are those the run applied, recorded in ``disclosure_rules`` (a user's rule file included), with
the rule set's name and version; a store written before runs recorded them gets the shipped rule
set's. The rule set gives both texts in French and in English: the report's language is shown, else
the other one.
"""

from __future__ import annotations

from typing import Any

import duckdb
import orjson

from confiance import i18n
from confiance.i18n import N_
from confiance.integrity.disclosure import SHIPPED, VERDICTS, recorded_rules
from confiance.report.sections import Section, _rows, register_section
from confiance.store import has_table

ACCOUNT_ROWS = 25
EVIDENCE_ROWS = 40
#: Characters of context shown on each side of a span.
CONTEXT_CHARS = 45
#: Verdicts whose findings the evidence table shows (the most severe first).
EVIDENCE_VERDICTS = ("banned_category", "missing_disclosure", "unclear_disclosure", "restricted_category",
                     "missing_image_notice")
_REPORTED_SEVERITIES = ("medium", "high")
#: How the report names the source of a rule no user file defined or changed.
SHIPPED_LABEL = N_("shipped rule set")
#: How the report names each verdict (English: the verdict with spaces).
VERDICT_LABELS = {"not_commercial": N_("not commercial"), "compliant": N_("compliant"),
                  "missing_image_notice": N_("missing image notice"), "restricted_category": N_("restricted category"),
                  "unclear_disclosure": N_("unclear disclosure"), "missing_disclosure": N_("missing disclosure"),
                  "advertiser_content": N_("advertiser content"), "banned_category": N_("banned category")}


def verdict_label(verdict: str) -> str:
    return i18n.label(VERDICT_LABELS, verdict)


#: How the dashboard names the mention a commercial post carries (``PostAudit.disclosure``).
DISCLOSURE_LABELS = {"statutory": N_("legal mention"), "buried": N_("legal mention, not clearly placed"),
                     "equivalent": N_("equivalent wording"), "context": N_("advertiser's own account"),
                     "none": N_("none")}


def disclosure_label(disclosure: str) -> str:
    return i18n.label(DISCLOSURE_LABELS, disclosure)


def _excerpt(text: str, span: list[int] | None) -> dict[str, str]:
    """The span with some context on each side: {before, match, after} (plain strings)."""
    if not span or not text:
        return {"before": "", "match": "", "after": (text or "")[: 2 * CONTEXT_CHARS]}
    start, end = span
    before = text[max(0, start - CONTEXT_CHARS):start]
    after = text[end:end + CONTEXT_CHARS]
    return {"before": ("…" if start > CONTEXT_CHARS else "") + before, "match": text[start:end],
            "after": after + ("…" if end + CONTEXT_CHARS < len(text) else "")}


def collect_disclosure(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    if not has_table(con, "disclosure_posts"):
        return None
    counts = dict(con.execute("SELECT verdict, count(*) FROM disclosure_posts GROUP BY verdict").fetchall())
    verdicts = [{"verdict": v, "label": verdict_label(v), "posts": counts.get(v, 0)}
                for v in reversed(VERDICTS) if counts.get(v)]
    handle = "a.handle" if has_table(con, "accounts") else "NULL"
    join = ("LEFT JOIN accounts a ON a.platform = d.platform AND a.account_id = d.account_id"
            if has_table(con, "accounts") else "")
    accounts = []
    if has_table(con, "disclosure_accounts"):
        accounts = _rows(con, f"SELECT d.platform, d.account_id, {handle} AS handle, d.posts, d.commercial_posts, "
                              f"d.undisclosed_posts, d.unclear_posts, d.banned_posts, d.paid_share, d.undisclosed_share "
                              f"FROM disclosure_accounts d {join} WHERE d.commercial_posts > 0 "
                              f"ORDER BY d.undisclosed_posts DESC, d.commercial_posts DESC, d.platform, d.account_id "
                              f"LIMIT ?", [ACCOUNT_ROWS])
    order = " ".join(f"WHEN '{v}' THEN {i}" for i, v in enumerate(EVIDENCE_VERDICTS))
    posts = _rows(con, f"SELECT d.platform, d.post_id, {handle} AS handle, d.account_id, d.verdict, "
                       f"CAST(d.findings AS VARCHAR) AS findings, p.text FROM disclosure_posts d "
                       f"JOIN posts p ON p.platform = d.platform AND p.post_id = d.post_id "
                       f"{join} "
                       f"WHERE d.verdict IN ({', '.join(repr(v) for v in EVIDENCE_VERDICTS)}) "
                       f"ORDER BY CASE d.verdict {order} END, d.platform, d.post_id LIMIT ?", [EVIDENCE_ROWS])
    rule_set = recorded_rules(con)
    evidence = []
    cited: dict[str, dict[str, str]] = {}
    for post in posts:
        for finding in orjson.loads(post["findings"] or "[]"):
            if finding["severity"] not in _REPORTED_SEVERITIES:
                continue
            rule = rule_set.rules.get(finding["rule"])
            if rule:
                source = rule_set.sources.get(rule.id, SHIPPED)
                cited.setdefault(rule.id, {"rule": rule.id, "description": rule.described(),
                                           "source": i18n.translate(SHIPPED_LABEL) if source == SHIPPED else source})
            evidence.append({
                "platform": post["platform"], "post_id": post["post_id"], "handle": post["handle"],
                "account_id": post["account_id"], "verdict": post["verdict"], "verdict_label": verdict_label(post["verdict"]),
                "rule": finding["rule"],
                "legal_reference": rule.referenced() if rule else "",
                "field": finding["field"], "found": finding["text"],
                **(_excerpt(post["text"], finding["span"]) if finding["field"] == "text" else
                   {"before": "", "match": "", "after": ""}),
            })
    total = sum(counts.values())
    commercial = sum(n for v, n in counts.items() if v != "not_commercial")
    return {"verdicts": verdicts, "posts": total, "commercial": commercial, "accounts": accounts,
            "evidence": evidence, "rules": [cited[r] for r in sorted(cited)],
            "rule_set": rule_set.label(), "rule_set_recorded": rule_set.recorded}


register_section(Section("disclosure", N_("Commercial disclosure (French law)"), 63, "disclosure.html",
                         collect_disclosure,
                         missing_hint=N_("run `confiance analyze --only disclosure`")))
