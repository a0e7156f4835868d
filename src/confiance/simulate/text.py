"""Post text from a post's row: a list of segments that each platform assembles its own way
(X: t.co links and code-point entity offsets; Bluesky: UTF-8 byte facets; Mastodon: HTML).

A segment is ``(kind, value)``: ``("t", text)``, ``("m", account index)`` for a mention,
``("#", tag)`` for a hashtag (without '#'), ``("u", url)`` for a link. The text is a pure function
of the row, so a post can be rendered again wherever it is referenced (X ``includes``, Mastodon
reblogs, Bluesky quote views) without being kept in memory.
"""

from __future__ import annotations

from confiance.simulate import vocabulary as V
from confiance.simulate.model import BRAND_SITE, STANCE_NONE

_SLUGS = tuple(t[0] for t in V.TOPICS)


def sponsor_of(row: dict) -> tuple[str, str, str, str] | None:
    """(brand, category, status, promo code) of a sponsored post, else None."""
    s = int(row["sponsor"])
    if s < 0:
        return None
    if s == 0:
        return V.CAMPAIGN_BRAND, "campaign", "allowed", V.CAMPAIGN_PROMO
    return V.SPONSORS[s - 1]


def label_of(row: dict) -> str | None:
    """The disclosure wording of a labelled sponsored post."""
    if int(row["sponsor"]) < 0 or not row["labelled"]:
        return None
    return V.LABELS[int(row["lang"])][int(row["w"][7]) % 3]


def url_of(row: dict) -> str | None:
    d = int(row["domain"])
    if d < 0:
        return None
    w = row["w"]
    if d == BRAND_SITE:
        return f"{V.CAMPAIGN_URL}?utm_source=influence&utm_content={w[10]}"
    return f"https://{V.DOMAINS[d]}/{_SLUGS[row['topic']]}/{w[10]:05d}-{w[11]:04x}"


def domain_of_row(row: dict) -> str | None:
    d = int(row["domain"])
    if d < 0:
        return None
    return "solvane.example" if d == BRAND_SITE else V.DOMAINS[d]


def segments(row: dict) -> list[tuple[str, object]]:
    w = row["w"]
    lang = int(row["lang"])
    topic = int(row["topic"])
    kws = V.TOPICS[topic][2 + lang]
    nk = len(kws)
    a = kws[w[1] % nk]
    b = kws[(w[1] + 1 + w[2] % (nk - 1)) % nk]
    c = kws[(w[1] + 1 + (w[2] + 1 + w[3] % (nk - 2)) % (nk - 1)) % nk]
    adj = V.SENTIMENT_WORDS[lang][int(row["sentiment"]) + 1][w[4] % 6]
    label = label_of(row)
    out: list[tuple[str, object]] = []
    parts = []
    if label and not label.startswith("#"):
        parts.append(f"{label} | ")
    parts.append(V.TEMPLATES[lang][w[0] % len(V.TEMPLATES[lang])].format(a=a, b=b, c=c, adj=adj))
    stance = int(row["stance"])
    if stance != STANCE_NONE:
        parts.append(" " + V.BRAND_SENTENCES[lang][stance + 1].format(brand=V.CAMPAIGN_BRAND))
    sponsor = sponsor_of(row)
    if sponsor:
        brand, category, _, code = sponsor
        parts.append(" " + V.SPONSOR_SENTENCES[category][lang].format(brand=brand, code=code))
    closers = V.CLOSERS[int(row["sentiment"]) + 1]
    parts.append(closers[w[5] % len(closers)])
    out.append(("t", "".join(parts)))
    for m in (int(row["m1"]), int(row["m2"])):
        if m >= 0:
            out.append(("t", " "))
            out.append(("m", m))
    url = url_of(row)
    if url:
        out.append(("t", " "))
        out.append(("u", url))
    tags = V.TOPICS[topic][4]
    n_tags = int(row["n_tags"])
    chosen = [tags[(w[6] + k) % len(tags)] for k in range(min(n_tags, len(tags)))]
    if sponsor and sponsor[1] == "campaign":
        chosen.append(V.CAMPAIGN_HASHTAG)
    if label and label.startswith("#"):
        chosen.append(label[1:])
    for tag in chosen:
        out.append(("t", " "))
        out.append(("#", tag))
    return out
