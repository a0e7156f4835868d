"""The labelled disclosure posts (tests/data/disclosure) and rule-level precision and recall.

Shared by tests/integrity/test_disclosure.py and benchmarks/disclosure.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from confiance.integrity.disclosure import PostAudit, RuleSet, audit_post

LABELLED = Path(__file__).resolve().parents[1] / "data" / "disclosure"


def labelled_posts(split: str | None = None) -> list[dict[str, Any]]:
    posts = yaml.safe_load((LABELLED / "posts.yaml").read_text(encoding="utf-8"))["posts"]
    return [p for p in posts if split is None or p["split"] == split]


def user_brands() -> list[str]:
    return [b.strip() for b in (LABELLED / "brands.txt").read_text(encoding="utf-8").splitlines() if b.strip()]


def audit_item(item: dict[str, Any], rules: RuleSet) -> PostAudit:
    names = [n for n in (item.get("handle"), item.get("display_name")) if n]
    return audit_post(item["text"], item.get("urls") or (), item.get("attributes"), names, rules)


@dataclass(frozen=True)
class Scores:
    items: int
    commercial_accuracy: float
    verdict_accuracy: float
    #: rule id -> (true positives, false positives, false negatives)
    rules: dict[str, tuple[int, int, int]]
    errors: list[str]

    def precision(self, rule: str) -> float | None:
        tp, fp, _ = self.rules[rule]
        return tp / (tp + fp) if tp + fp else None

    def recall(self, rule: str) -> float | None:
        tp, _, fn = self.rules[rule]
        return tp / (tp + fn) if tp + fn else None

    def micro(self) -> tuple[float, float]:
        tp = sum(v[0] for v in self.rules.values())
        fp = sum(v[1] for v in self.rules.values())
        fn = sum(v[2] for v in self.rules.values())
        return tp / (tp + fp), tp / (tp + fn)


def score(items: list[dict[str, Any]], rules: RuleSet) -> Scores:
    counts: dict[str, list[int]] = {}
    commercial_ok = verdict_ok = 0
    errors = []
    for item in items:
        audit = audit_item(item, rules)
        expected, found = set(item["rules"]), audit.rules()
        for rule in expected | found:
            c = counts.setdefault(rule, [0, 0, 0])
            c[0 if rule in expected and rule in found else 1 if rule in found else 2] += 1
        commercial_ok += audit.commercial == item["commercial"]
        verdict_ok += audit.verdict == item["verdict"]
        if audit.verdict != item["verdict"] or expected != found:
            errors.append(f"{item['id']}: verdict {audit.verdict} (expected {item['verdict']}); "
                          f"extra {sorted(found - expected)}, missed {sorted(expected - found)}")
    return Scores(len(items), commercial_ok / len(items), verdict_ok / len(items),
                  {k: tuple(v) for k, v in sorted(counts.items())}, errors)


def simulated_world_figures(con, truth: dict[str, Any]) -> dict[str, Any]:
    """The audit (``disclosure_posts``) against the sponsored posts planted in a simulated world."""
    rows = con.execute("SELECT platform, post_id, commercial, verdict, disclosure FROM disclosure_posts").fetchall()
    audit = {(r[0], r[1]): r[2:] for r in rows}
    planted = {(s["platform"], s["post_id"]): s for s in truth["sponsored_posts"]}
    undisclosed = {k for k, s in planted.items() if not s["labelled"]}
    banned = {k for k, s in planted.items() if s["category_status"] == "banned"}
    restricted = {k for k, s in planted.items() if s["category_status"] == "restricted"}
    flagged_none = {k for k, v in audit.items() if v[0] and v[2] == "none"}
    commercial = {k for k, v in audit.items() if v[0]}
    banned_found = {k for k, v in audit.items() if v[1] == "banned_category"}
    by_label: dict[str, dict[str, int]] = {}
    for key, s in planted.items():
        verdict = audit.get(key, (None, "not audited", None))[1]
        counts = by_label.setdefault(s["label"] or "(none)", {})
        counts[verdict] = counts.get(verdict, 0) + 1

    def ratio(a: int, b: int) -> float:
        return a / b if b else float("nan")

    return {
        "planted_sponsored": len(planted), "planted_undisclosed": len(undisclosed),
        "undisclosed_recall": ratio(len(undisclosed & flagged_none), len(undisclosed)),
        "undisclosed_precision": ratio(len(undisclosed & flagged_none), len(flagged_none)),
        "commercial_recall": ratio(len(set(planted) & commercial), len(planted)),
        "commercial_precision": ratio(len(set(planted) & commercial), len(commercial)),
        "banned_recall": ratio(len(banned & banned_found), len(banned)),
        "banned_precision": ratio(len(banned & banned_found), len(banned_found)),
        "restricted_planted": len(restricted),
        "verdicts_by_label": by_label,
    }
