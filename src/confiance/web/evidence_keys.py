"""How the dashboard names the keys of the evidence the analyses store, and the enumerations among their
values, in the page's language ("top bot engagers"; "principaux bots ayant interagi").

Built from the analyses' own writers: bot features (``integrity/bots.py``), account-type cues
(``influence/accounts.py``), influence weights (``influence/scores.py``), harmful-influence profiles and
suspicious engagers (``integrity/harm.py``) and disclosure findings (``integrity/disclosure.py``). A label
the report already has (influence components, account types, cues, bot features, coordination kinds) is
the report's message, so both say the same thing. A key not in the table is shown with its underscores as
spaces; ``tests/web/test_french.py`` checks that every key the analyses write is in it.
"""

from __future__ import annotations

from typing import Any

from confiance import i18n
from confiance.i18n import N_
from confiance.influence.accounts import TYPE_LABELS, cue_label
from confiance.influence.fit import STYLE_FEATURE_LABELS, TRUST_COMPONENT_LABELS
from confiance.integrity.harm import MISSING_NOTES, SPLIT_NOTE
from confiance.report.bots import feature_label
from confiance.report.coordination import kind_label
from confiance.report.fit import PART_LABELS
from confiance.report.network import COMPONENT_LABELS

#: Each evidence key as a reader names it (English labels; French in the catalogue, docs/glossaire.md).
EVIDENCE_KEYS: dict[str, str] = {
    **COMPONENT_LABELS,  # influence_scores.weights
    **TYPE_LABELS,  # account_types.scores and the types each cue adds to
    # bot_scores.evidence
    "feature": N_("feature"), "value": N_("value"), "contribution": N_("contribution"),
    # account_types.evidence
    "cue": N_("cue"), "types": N_("types"), "span": N_("span"), "weight": N_("weight"),
    "following": N_("following"), "links": N_("links"), "own_domain_links": N_("links to its own domain"),
    "link_posts": N_("posts with links"), "replies": N_("replies"), "posts": N_("posts"),
    "active_days": N_("active days"), "domains": N_("domains"),
    # harm_profiles.evidence and audience_credibility.suspicious_accounts
    "bot_amplification": N_("bot amplification"), "threshold": N_("threshold"), "engagements": N_("engagements"),
    "from_bots": N_("from bots"), "amplifiers": N_("amplifying accounts"), "bot_amplifiers": N_("bot amplifiers"),
    "top_bot_engagers": N_("top bot engagers"), "bot_score": N_("bot probability"),
    "interactions": N_("interactions"),
    "coordination": N_("coordinated behaviour"), "group": N_("group"), "kinds": N_("kinds"),
    "group_size": N_("group size"), "members": N_("members"), "coordinated_group": N_("coordinated group"),
    "low_credibility": N_("low-credibility sources"), "low_credibility_links": N_("low-credibility links"),
    "polarization": N_("polarisation"), "side": N_("side"), "exposure_side0": N_("exposure to side 0"),
    "exposure_side1": N_("exposure to side 1"),
    "disclosure": N_("ad disclosure"), "commercial_posts": N_("commercial posts"),
    "undisclosed_posts": N_("undisclosed posts"), "paid_share": N_("paid share"),
    # disclosure_posts.findings
    "rule": N_("rule"), "severity": N_("severity"), "field": N_("field"), "text": N_("text"),
    # fit.evidence (influence/fit.py): the editorial part is a percentile among the candidates of their raw similarity
    "editorial": N_("editorial"), "raw": N_("raw similarity (with topic overlap)"),
    "similarity": N_("mean cosine similarity to the brief"), "percentile": N_("percentile among candidates"),
    "topic_overlap": N_("topic overlap"), "hit_share": N_("share of posts on avoided topics"),
    "best_posts": N_("closest posts"), "post_id": N_("post"), "cosine": N_("cosine similarity"),
    "closest_brief_text": N_("closest text of the brief"), "excerpt": N_("excerpt"),
    "avoided_hits": N_("posts on avoided topics"), "avoided": N_("avoided topics"), "words": N_("words found"),
    "style": N_("style"), "distance": N_("distance"), "references": N_("reference accounts"),
    "features": N_("features"), "reference": N_("reference value"), "reference_account": N_("reference account"),
    "z": N_("gap in standard deviations"),
    "audience": N_("audience"), "lower": N_("lower bound"), "upper": N_("upper bound"), "segments": N_("segments"),
    "segment": N_("segment"), "share": N_("share"), "criteria": N_("criteria"), "criterion": N_("criterion"),
    "dimension": N_("dimension"), "categories": N_("categories"), "n": N_("accounts observed"),
    "source": N_("source"), "segments_not_covered": N_("segments not covered"),
    "trust": N_("trust"), "components": N_("components"), "component": N_("component"), "factor": N_("factor"),
    "label": N_("flagged as a likely bot"), "engagers": N_("engaging accounts"),
    "suspicious_engagers": N_("suspicious engaging accounts"),
    "low_credibility_share": N_("share of low-credibility links"), "missing": N_("not measured"),
}

#: The tables an analysis names as the ``source`` of a figure, and where an audience share comes from.
SOURCE_LABELS = {"bot_scores": N_("Bot likelihood"), "audience_credibility": N_("Audience credibility"),
                 "disclosure_accounts": N_("Disclosure by account"), "harm_profiles": N_("Harmful-influence profile"),
                 "estimated": N_("estimated"), "supplied": N_("supplied")}

#: A disclosure rule's severity (``integrity/disclosure.py`` ``SEVERITIES``).
SEVERITY_LABELS = {"info": N_("info"), "low": N_("low"), "medium": N_("medium"), "high": N_("high")}

#: Notes an analysis stores in English in place of a measure it could not make.
NOTES = (*MISSING_NOTES.values(), SPLIT_NOTE)


def key_label(key: str) -> str:
    """An evidence key in the page's language; a key the table does not know with spaces for underscores."""
    return i18n.label(EVIDENCE_KEYS, key)


def value_label(key: str, value: Any) -> Any:
    """A value stored under ``key`` in the page's language when it is one of the analyses' enumerations
    (severity, coordination kind, cue, bot feature) or notes; on an English page, and for any
    other value, the value as stored (it is what the filters, the CSV and the API show)."""
    if not isinstance(value, str):
        return value
    if key == "source" and value in SOURCE_LABELS:  # a table an analysis read (a fit's trust components)
        return i18n.translate(SOURCE_LABELS[value])
    if i18n.current() == i18n.LANGUAGES[0]:
        return value
    if key == "severity" and value in SEVERITY_LABELS:
        return i18n.translate(SEVERITY_LABELS[value])
    if key == "kinds":
        return kind_label(value)
    if key == "cue":
        return cue_label(value)
    if key == "feature":
        return i18n.translate(STYLE_FEATURE_LABELS[value]) if value in STYLE_FEATURE_LABELS else feature_label(value)
    if key == "component" and value in TRUST_COMPONENT_LABELS:
        return i18n.translate(TRUST_COMPONENT_LABELS[value])
    if key == "missing" and value in PART_LABELS:  # a part of a fit left unmeasured
        return i18n.translate(PART_LABELS[value])
    return i18n.written_again(value, NOTES)
