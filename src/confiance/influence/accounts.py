"""Account types: individual expert (B2B), professional creator, media, brand, institution, other.

A transparent, additive scoring, not a trained classifier: no labelled set of account types exists in
the shared data, and a rule set a communication team can read, question and extend is worth more
here than a few points of accuracy on examples written for the purpose. Each cue that fires adds its
weight to one or more types; the largest score wins (a tie: ``other``, else the type its profile text
supports most), and ``other`` starts at :data:`OTHER_BASE`, so an account needs positive evidence to
get a type. ``confidence`` is the softmax share of the winning
score among the six (temperature 1): about 0.4 when one weak cue barely beats ``other``, above 0.9
when several cues agree. ``evidence`` lists every cue that fired with its weight and the text span,
feature value or post ids behind it.

Cues (weights in :data:`BIO_CUES` and :data:`SIGNAL_WEIGHTS`):

- **profile text** (display name + bio, French and English): "journaliste", "rédaction",
  "ministère", "mairie", "compte officiel", "CEO", "consultant", "créatrice de contenu",
  "collab: contact@", "service client", "®"… The bio cues of one type add up to at most
  :data:`BIO_CAP`, so a long bio does not outweigh everything else. "Journaliste amateur" and
  "amateur reporter" are not media cues.
- **behaviour**: links to the account's own domain (a domain named like the handle or display name,
  or the website in the profile); commercial posts (promo codes, "#pub"/"#ad", "collaboration
  commerciale", "paid partnership", "lien en bio"); being named in other accounts' commercial posts;
  a high-volume posting rhythm; the share of posts with links; the reply ratio.
- **network**: audience tier (1k / 10k / 100k followers: nano, micro, macro creators in the usual
  marketing tiers), followers much larger than following, verified badge, and being among the top 2 %
  of the platform's accounts by the influence score (``influence_scores``, when the step has run;
  the one cue left on platforms that report no follower counts).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Iterable

import duckdb
import orjson
import pyarrow as pa

from confiance import i18n
from confiance.errors import ConfianceError
from confiance.i18n import N_
from confiance.integrity.urls import domain_of_url
from confiance.pipeline import Step, register_step
from confiance.store import has_table

__all__ = ["ACCOUNT_TYPES", "BIO_CUES", "CUE_LABELS", "SIGNAL_WEIGHTS", "AccountFeatures", "TypedAccount",
           "account_types_listing", "bio_cues", "cue_label", "cue_value", "run_account_types", "type_account"]

ACCOUNT_TYPES = ("expert", "creator", "media", "brand", "institution", "other")
TYPE_LABELS = {"expert": N_("individual expert (B2B)"), "creator": N_("professional creator"), "media": N_("media"),
               "brand": N_("brand"), "institution": N_("institution"), "other": N_("other")}
#: Score of ``other`` before any cue: a type needs more positive evidence than this to win.
OTHER_BASE = 1.0
#: Ceiling of the summed profile-text cues of one type.
BIO_CAP = 3.0

_A = r"(?<![\w@.])"  # start of a word (and not inside a handle or an address)
_Z = r"(?![\w])"
#: (name, {type: weight}, pattern) — French and English, matched on lower-cased display name + bio.
BIO_CUES: tuple[tuple[str, dict[str, float], str], ...] = (
    # media
    ("journalist", {"media": 1.5}, _A + r"(?<!amateur )(?:journalist(?:e|es|s)?|reporter|reporters)" + _Z + r"(?!\s+amateur)"),
    ("newsroom", {"media": 1.5}, _A + r"(?:r[ée]daction|newsroom|r[ée]dact(?:eur|rice) en chef|editor[- ]in[- ]chief|"
                                      r"breaking news|fil (?:d'?)?info|l'actualit[ée]|toute l'actu)" + _Z),
    ("outlet", {"media": 1.0}, _A + r"(?:quotidien|hebdomadaire|hebdo|magazine|m[ée]dia|media outlet|news outlet|"
                                    r"newspaper|journal d'information|presse|radio|t[ée]l[ée]vision|cha[îi]ne d'info)" + _Z),
    ("news", {"media": 0.75}, _A + r"(?:news|infos?|actus?)" + _Z),
    # institution
    ("public body", {"institution": 1.5},
     _A + r"(?:minist[èe]re|ministry|mairie|city hall|ville de|city of|town of|pr[ée]fecture|gouvernement|government|"
          r"conseil (?:r[ée]gional|d[ée]partemental|municipal)|ambassade|embassy|consulat|consulate|parlement|"
          r"parliament|assembl[ée]e nationale|s[ée]nat|senate|collectivit[ée]|service public|public service|"
          r"agence nationale|national agency|gendarmerie|police nationale|police department|nations unies|united nations)" + _Z),
    ("public institution", {"institution": 1.5},
     _A + r"(?:universit[ée]|university|h[ôo]pital|hospital|chu|ong|ngo|non-profit|nonprofit|association|fondation|"
          r"foundation|institut|institute|mus[ée]e|museum|biblioth[èe]que|library)" + _Z),
    ("official", {"institution": 0.75, "brand": 0.75}, _A + r"(?:compte officiel|officiel|officielle|official account|official)" + _Z),
    # brand
    ("products", {"brand": 1.5}, _A + r"(?:nos produits|our products|notre gamme|our range|nos collections|our collections|"
                                      r"service client|customer (?:service|care|support)|sav)" + _Z),
    ("made in", {"brand": 1.5}, _A + r"(?:con[çc]ue?s? (?:à|a|en)|designed in|made in|fabriqu[ée]e?s? (?:à|a|en)|"
                                     r"produite?s? (?:à|a|en))" + _Z),
    ("trademark", {"brand": 1.5}, r"[®™]"),
    ("shop", {"brand": 1.0}, _A + r"(?:boutique|e-?shop|shop|store|magasin|livraison|shipping|free delivery|commandez|"
                                  r"order now|shop now|disponibles? (?:en|chez)|available (?:at|in))" + _Z),
    ("since", {"brand": 1.0}, _A + r"(?:depuis|since|est\.|fond[ée]e en|founded in) (?:1[89]\d\d|20\d\d)" + _Z),
    ("company form", {"brand": 1.0}, _A + r"(?:sas|sarl|inc|ltd|gmbh|llc)\.?" + _Z),
    # creator
    ("content creator", {"creator": 1.5},
     _A + r"(?:cr[ée]at(?:eur|rice)s? de contenus?|content creator|creator|influenceu(?:r|se)|influencer|youtubeu(?:r|se)|"
          r"youtuber|streamer|streameuse|twitch|tiktokeu(?:r|se)|tiktoker|instagrammer|vlogg?er|vlog|blogueu(?:r|se)|"
          r"blogger|podcasteu(?:r|se)|podcaster|ugc)" + _Z),
    ("collab contact", {"creator": 1.5},
     _A + r"(?:collabs?|collaborations?|partenariats?|business (?:inquiries|enquiries)|booking|contact pro|"
          r"mgmt|management|agent|agence)\s*[:：/@📩✉]"),
    ("email", {"creator": 0.5, "brand": 0.25}, r"[\w.+-]+@[\w-]+\.[\w.]+|📩|✉️|📧"),
    ("link in bio", {"creator": 1.0}, _A + r"(?:lien en bio|link in bio|linktr\.ee|beacons\.ai|abonne[sz]?-toi|subscribe|"
                                           r"nouvelle vid[ée]o|new video)" + _Z),
    ("artist", {"creator": 0.75}, _A + r"(?:photographe|photographer|artiste|artist|illustrat(?:eur|rice|or)|musicien(?:ne)?|"
                                       r"musician|chanteu(?:r|se)|singer|danseu(?:r|se)|dancer|com[ée]dien(?:ne)?|actor|"
                                       r"actress|humoriste|comedian|maquilleu(?:r|se)|makeup artist)" + _Z),
    # individual expert (B2B)
    ("executive", {"expert": 1.5}, _A + r"(?:ceo|cto|cmo|coo|cfo|pdg|dg|fondat(?:eur|rice)|co-?fondat(?:eur|rice)|founder|"
                                        r"co-?founder|directeur|directrice|director|head of|vp|vice[- ]president)" + _Z),
    ("consultant", {"expert": 1.5}, _A + r"(?:consultante?s?|consultant|conseill?[eè]re? en|advisor|adviser|expert(?:e|s)?|"
                                         r"expertise|sp[ée]cialiste|specialist|analyste|analyst|strat[eè]ge|strategist)" + _Z),
    ("scholar", {"expert": 1.5}, _A + r"(?:phd|ph\.d|docteure? en|doctorant(?:e)?|chercheu(?:r|se)|researcher|scientist|"
                                      r"scientifique|professeure?|professor|ma[îi]tre de conf[ée]rences|economist|[ée]conomiste)" + _Z),
    ("profession", {"expert": 1.0}, _A + r"(?:avocate?|lawyer|attorney|juriste|ing[ée]nieure?|engineer|d[ée]veloppeu(?:r|se)|"
                                         r"developer|m[ée]decin|physician|pharmacien(?:ne)?|architecte?|architect|"
                                         r"expert-comptable|accountant)" + _Z),
    ("speaker", {"expert": 1.0}, _A + r"(?:conf[ée]renci(?:er|[èe]re)|speaker|keynote|format(?:eur|rice)|trainer|coach|"
                                      r"auteur|autrice|author|[ée]crivain(?:e)?|entrepreneu(?:r|se|re))" + _Z),
    ("b2b", {"expert": 1.0}, _A + r"(?:b2b|saas|fintech|growth|supply chain|cybers[ée]curit[ée]|cybersecurity|rh|hr|"
                                  r"transformation digitale|digital transformation|data science|intelligence artificielle|artificial intelligence|"
                                  r"machine learning)" + _Z),
    # private persons
    ("personal", {"other": 0.5}, _A + r"(?:parent|maman|papa|mum|mom|dad|[ée]tudiante?|student|retrait[ée]e?|retired|"
                                      r"fan de|amateur)"),
)
_BIO_PATTERN = re.compile("|".join(f"(?P<c{i}>{p})" for i, (_, _, p) in enumerate(BIO_CUES)), re.IGNORECASE)

#: Behaviour and network cues: name → {type: weight}.
SIGNAL_WEIGHTS: dict[str, dict[str, float]] = {
    "own_domain_links": {"brand": 1.5, "media": 0.5, "creator": 0.5},
    "commercial_posts": {"creator": 1.25},
    "named_in_commercial_posts": {"brand": 1.0},
    "high_volume": {"media": 0.75},
    "link_heavy": {"media": 0.5},
    "rarely_replies": {"media": 0.25, "brand": 0.25, "institution": 0.25},
    "mostly_replies": {"other": 0.5},
    "audience_1k": {"creator": 0.5},
    "audience_10k": {"creator": 1.0, "media": 0.25, "brand": 0.25, "institution": 0.25, "expert": 0.25},
    "audience_100k": {"creator": 1.25, "media": 0.5, "brand": 0.5, "institution": 0.5, "expert": 0.25},
    "broadcast_ratio": {"creator": 0.5},
    "corpus_influencer": {"creator": 1.25, "expert": 0.5},
    "verified": {"media": 0.5, "brand": 0.5, "institution": 0.5, "creator": 0.25, "expert": 0.25},
    "institutional_domain": {"institution": 2.0},
}
#: Thresholds of the behaviour and network cues.
OWN_DOMAIN_SHARE, OWN_DOMAIN_MIN_LINKS = 0.3, 1
COMMERCIAL_MIN_POSTS, COMMERCIAL_MIN_SHARE = 2, 0.02
NAMED_MIN_POSTS = 2
HIGH_VOLUME_PER_DAY, HIGH_VOLUME_MIN_POSTS = 8.0, 50
LINK_HEAVY_SHARE, MIN_POSTS_FOR_RATIOS = 0.6, 20
RARE_REPLY_RATIO, MOSTLY_REPLY_RATIO = 0.05, 0.5
BROADCAST_RATIO = 5.0
#: Influence percentile within the platform (``influence_scores``) from which an account counts as
#: one of the corpus' influencers: the top 2 %, the share the usual "influencer" tiers start at.
INFLUENCER_PERCENTILE = 0.98
#: Hosts of platforms and link services: a link there is not a link to the account's own site.
PLATFORM_HOSTS = frozenset({
    "x.com", "twitter.com", "bsky.app", "bsky.social", "facebook.com", "instagram.com", "tiktok.com", "youtube.com",
    "youtu.be", "linkedin.com", "threads.net", "reddit.com", "linktr.ee", "beacons.ai", "t.co", "bit.ly", "medium.com",
    "substack.com", "wordpress.com", "blogspot.com", "google.com",
})
#: Commercial wording in a post (RE2 syntax: it runs inside DuckDB). The promo code itself must be
#: upper-case letters or digits ("code MIAM5"), so "code pour…" is not one.
COMMERCIAL_PATTERN = (
    r"(?i:#pub\b|#ad\b|#sponsoris|#sponsored|#partenariat|#collab\b|collaboration commerciale|paid partnership|"
    r"partenariat r[ée]mun[ée]r[ée]|sponsoris[ée]|code promo|promo code|discount code|lien en bio|link in bio|"
    r"\baffili[ée]|\baffiliate)|\b(?i:code)\s+[A-Z0-9]{3,}\b"
)
_INSTITUTIONAL_HOST = re.compile(r"(?:^|\.)(?:gouv\.fr|gov|gov\.[a-z]{2}|gc\.ca|europa\.eu|int|edu|ac\.[a-z]{2})$")
_SECOND_LEVEL = frozenset({"co", "com", "org", "net", "gouv", "gov", "ac", "edu", "asso"})


#: What each cue means, for a reader of another language than English (English shows the cue's name).
CUE_LABELS: dict[str, str] = {
    "journalist": N_("journalist"), "newsroom": N_("newsroom"), "outlet": N_("news outlet"), "news": N_("news"),
    "public body": N_("public body"), "public institution": N_("public institution"), "official": N_("official"),
    "products": N_("products"), "made in": N_("made in"), "trademark": N_("trademark"), "shop": N_("shop"),
    "since": N_("founded in"), "company form": N_("company form"), "content creator": N_("content creator"),
    "collab contact": N_("partnership contact"), "email": N_("email address"), "link in bio": N_("link in bio"),
    "artist": N_("artist"), "executive": N_("executive"), "consultant": N_("consultant"), "scholar": N_("scholar"),
    "profession": N_("profession"), "speaker": N_("speaker or trainer"), "b2b": N_("B2B"),
    "personal": N_("private person"),
    "own_domain_links": N_("links to its own domain"), "commercial_posts": N_("commercial posts"),
    "named_in_commercial_posts": N_("named in commercial posts"), "high_volume": N_("high posting volume"),
    "link_heavy": N_("mostly links"), "rarely_replies": N_("rarely replies"), "mostly_replies": N_("mostly replies"),
    "audience_1k": N_("1,000 followers or more"), "audience_10k": N_("10,000 followers or more"),
    "audience_100k": N_("100,000 followers or more"), "broadcast_ratio": N_("far more followers than followed"),
    "corpus_influencer": N_("among the corpus's influencers"), "verified": N_("verified account"),
    "institutional_domain": N_("institutional domain"),
}


def cue_label(cue: str) -> str:
    """A cue of the evidence (``profile: journalist``, ``own_domain_links``) as a reader of the language of
    :func:`i18n.using` reads it; in English the cue's own name."""
    if i18n.current() == i18n.LANGUAGES[0]:
        return cue
    name = cue.removeprefix("profile: ")
    label = i18n.translate(CUE_LABELS[name]) if name in CUE_LABELS else name
    return i18n.gettext("profile: %(cue)s", cue=label) if name != cue else label


def cue_value(value: Any) -> Any:
    """A cue's value as the reader's language writes it ("0.35", "True"; in French "0,35", "oui")."""
    if isinstance(value, bool) and i18n.current() != i18n.LANGUAGES[0]:
        return i18n.gettext("yes") if value else i18n.gettext("no")
    return i18n.plain(value)


@dataclass
class AccountFeatures:
    """What the typing reads about one account (all optional but the ids)."""

    platform: str
    account_id: str
    handle: str | None = None
    display_name: str | None = None
    bio: str | None = None
    url: str | None = None
    followers: int | None = None
    following: int | None = None
    verified: bool | None = None
    posts: int = 0  # authored: posts, replies, quotes (reposts excluded)
    replies: int = 0
    link_posts: int = 0
    active_days: int = 0
    links: int = 0
    own_domain_links: int = 0
    own_domains: tuple[str, ...] = ()
    commercial_posts: tuple[str, ...] = ()  # post ids (a bounded sample) …
    commercial_count: int = 0  # … and their number
    named_in_commercial: tuple[str, ...] = ()
    named_count: int = 0
    influence_percentile: float | None = None  # within the platform, from influence_scores when present


@dataclass
class TypedAccount:
    platform: str
    account_id: str
    handle: str | None
    type: str
    confidence: float
    scores: dict[str, float]
    evidence: list[dict[str, Any]]


def bio_cues(text: str | None) -> list[dict[str, Any]]:
    """Profile-text cues that fire in ``text``: ``{cue, types {type: weight}, span}`` (each cue once)."""
    found: dict[int, dict[str, Any]] = {}
    for match in _BIO_PATTERN.finditer(text or ""):
        index = int(match.lastgroup[1:])
        if index not in found:
            name, weights, _ = BIO_CUES[index]
            found[index] = {"cue": f"profile: {name}", "types": dict(weights), "span": match.group(0).strip()}
    return [found[i] for i in sorted(found)]


def _main_label(domain: str) -> str:
    labels = domain.split(".")
    if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2:
        return labels[-3]
    return labels[-2] if len(labels) >= 2 else labels[0]


def _squash(text: str | None) -> str:
    return re.sub(r"[\W_]+", "", (text or "").lower())


def own_domains(domains: Iterable[str], *, handle: str | None, display_name: str | None, url: str | None,
                account_id: str = "") -> set[str]:
    """The linked domains that are the account's own: its profile website, or named like its handle or name.

    A domain counts when its main label (``solvane`` in ``shop.solvane.example``) has at least four
    characters and appears in the handle or display name with spaces and punctuation removed.
    Platform hosts and the account's own instance (Mastodon) never count.
    """
    profile = domain_of_url(url) if url else ""
    instance = account_id.rsplit("@", 1)[1] if "@" in account_id else ""
    names = [_squash(handle.split(".")[0] if handle and "." in handle and "@" not in handle else handle),
             _squash(display_name)]
    own = set()
    for domain in domains:
        if not domain or domain in PLATFORM_HOSTS or domain == instance or any(domain.endswith("." + h) for h in PLATFORM_HOSTS):
            continue
        if profile and (domain == profile or domain.endswith("." + profile)) and profile != instance:
            own.add(domain)
            continue
        label = _squash(_main_label(domain))
        if len(label) >= 4 and any(label in name for name in names if name):
            own.add(domain)
    return own


def type_account(features: AccountFeatures) -> TypedAccount:
    """Score the six types for one account and keep the best, with its confidence and evidence."""
    scores = {t: 0.0 for t in ACCOUNT_TYPES}
    scores["other"] = OTHER_BASE
    evidence: list[dict[str, Any]] = []
    bio_sum = {t: 0.0 for t in ACCOUNT_TYPES}
    text = " · ".join(t for t in (features.display_name, features.bio) if t)
    for cue in bio_cues(text):
        applied = {}
        for kind, weight in cue["types"].items():
            room = max(0.0, BIO_CAP - bio_sum[kind])
            add = min(weight, room)
            if add > 0:
                bio_sum[kind] += add
                scores[kind] += add
                applied[kind] = add
        if applied:
            evidence.append({"cue": cue["cue"], "types": applied, "span": cue["span"]})

    def signal(name: str, value: Any, **extra: Any) -> None:
        weights = SIGNAL_WEIGHTS[name]
        for kind, weight in weights.items():
            scores[kind] += weight
        evidence.append({"cue": name, "types": dict(weights), "value": value, **extra})

    f = features
    if f.links >= OWN_DOMAIN_MIN_LINKS and f.own_domain_links / f.links >= OWN_DOMAIN_SHARE:
        signal("own_domain_links", round(f.own_domain_links / f.links, 3), domains=sorted(f.own_domains),
               own_domain_links=f.own_domain_links, links=f.links)
    if f.commercial_count >= COMMERCIAL_MIN_POSTS and f.posts and f.commercial_count / f.posts >= COMMERCIAL_MIN_SHARE:
        signal("commercial_posts", f.commercial_count, posts=list(f.commercial_posts))
    if f.named_count >= NAMED_MIN_POSTS:
        signal("named_in_commercial_posts", f.named_count, posts=list(f.named_in_commercial))
    if f.posts >= HIGH_VOLUME_MIN_POSTS and f.active_days and f.posts / f.active_days >= HIGH_VOLUME_PER_DAY:
        signal("high_volume", round(f.posts / f.active_days, 2), posts=f.posts, active_days=f.active_days)
    if f.posts >= MIN_POSTS_FOR_RATIOS:
        if f.link_posts / f.posts >= LINK_HEAVY_SHARE:
            signal("link_heavy", round(f.link_posts / f.posts, 3), link_posts=f.link_posts, posts=f.posts)
        if f.replies / f.posts < RARE_REPLY_RATIO:
            signal("rarely_replies", round(f.replies / f.posts, 3), replies=f.replies, posts=f.posts)
    if f.posts >= 10 and f.replies / f.posts >= MOSTLY_REPLY_RATIO:
        signal("mostly_replies", round(f.replies / f.posts, 3), replies=f.replies, posts=f.posts)
    followers = f.followers or 0
    tier = "audience_100k" if followers >= 100_000 else "audience_10k" if followers >= 10_000 else \
        "audience_1k" if followers >= 1_000 else None
    if tier:
        signal(tier, followers)
    if followers >= 1_000 and followers / max(f.following or 0, 1) >= BROADCAST_RATIO:
        signal("broadcast_ratio", round(followers / max(f.following or 0, 1), 1), followers=followers,
               following=f.following or 0)
    if f.influence_percentile is not None and f.influence_percentile >= INFLUENCER_PERCENTILE:
        signal("corpus_influencer", round(f.influence_percentile, 4))
    if f.verified:
        signal("verified", True)
    host = domain_of_url(f.url) if f.url else ""
    if host and _INSTITUTIONAL_HOST.search(host):
        signal("institutional_domain", host)

    # ties go to "other" (a type needs more evidence than the base), then to the type the profile text
    # supports most (what an account says it is outweighs audience size: a newsroom with 12M followers
    # is media), then to the first type listed
    best = max(ACCOUNT_TYPES, key=lambda t: (scores[t], t == "other", bio_sum[t], -ACCOUNT_TYPES.index(t)))
    top = max(scores.values())
    total = sum(math.exp(s - top) for s in scores.values())
    confidence = math.exp(scores[best] - top) / total
    return TypedAccount(f.platform, f.account_id, f.handle, best, round(confidence, 4),
                        {t: round(s, 3) for t, s in scores.items()}, evidence)


# --------------------------------------------------------------------------- store


def _features(con: duckdb.DuckDBPyConnection, sample: int) -> Iterable[AccountFeatures]:
    """Features of every account, streamed; ``sample`` post ids kept per commercial cue."""
    from confiance.engine.tables import ibis_table
    from confiance.engine.transforms import authored_metrics, duckdb_sql

    con.execute(
        "CREATE OR REPLACE TEMP TABLE _acct_commercial AS "
        "SELECT platform, post_id, account_id, created_at, mentions FROM posts WHERE kind <> 'repost' "
        "AND regexp_matches(coalesce(text, ''), ?)", [COMMERCIAL_PATTERN]
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _acct_domains AS "
        "SELECT platform, account_id, list(domain) AS domains, list(n) AS counts FROM ("
        "  SELECT platform, account_id, d AS domain, count(*) AS n FROM posts, unnest(domains) AS t(d)"
        "  WHERE kind <> 'repost' GROUP BY ALL) GROUP BY ALL"
    )
    influence = ("SELECT platform, account_id, percent_rank() OVER (PARTITION BY platform ORDER BY influence) AS pct "
                 "FROM influence_scores" if has_table(con, "influence_scores") else
                 "SELECT NULL::VARCHAR AS platform, NULL::VARCHAR AS account_id, NULL::DOUBLE AS pct WHERE false")
    reader = con.sql(
        f"WITH influence AS ({influence}),"
        " acc AS ("
        "  SELECT platform, account_id, first(handle ORDER BY last_seen DESC NULLS LAST) AS handle,"
        "   first(display_name ORDER BY last_seen DESC NULLS LAST) AS display_name,"
        "   first(bio ORDER BY last_seen DESC NULLS LAST) AS bio, first(url ORDER BY last_seen DESC NULLS LAST) AS url,"
        "   first(followers ORDER BY last_seen DESC NULLS LAST) AS followers,"
        "   first(following ORDER BY last_seen DESC NULLS LAST) AS following, bool_or(verified) AS verified"
        "  FROM accounts GROUP BY ALL),"
        " activity AS ("
        "  SELECT platform, account_id, posts + replies + quotes AS posts, replies, link_posts, active_days"
        f"  FROM ({duckdb_sql(authored_metrics(ibis_table('posts')))})),"
        " own_commercial AS ("
        "  SELECT platform, account_id, count(*) AS n, list(post_id ORDER BY created_at, post_id)[1:?] AS ids"
        "  FROM _acct_commercial GROUP BY ALL),"
        " named AS ("
        "  SELECT c.platform, lower(m) AS handle, count(DISTINCT c.post_id) AS n,"
        "   list(DISTINCT c.post_id)[1:?] AS ids FROM _acct_commercial c, unnest(c.mentions) AS t(m) GROUP BY ALL) "
        "SELECT a.*, coalesce(t.posts, 0) AS posts, coalesce(t.replies, 0) AS replies,"
        " coalesce(t.link_posts, 0) AS link_posts, coalesce(t.active_days, 0) AS active_days,"
        " d.domains, d.counts, coalesce(oc.n, 0) AS commercial_count, oc.ids AS commercial_ids,"
        " coalesce(nm.n, 0) AS named_count, nm.ids AS named_ids, i.pct AS influence_percentile "
        "FROM acc a LEFT JOIN activity t USING (platform, account_id) LEFT JOIN _acct_domains d USING (platform, account_id) "
        "LEFT JOIN influence i USING (platform, account_id) "
        "LEFT JOIN own_commercial oc USING (platform, account_id) "
        "LEFT JOIN named nm ON nm.platform = a.platform AND nm.handle = lower(a.handle) "
        "ORDER BY a.platform, a.account_id",
        params=[sample, sample],
    ).to_arrow_reader(20_000)
    for batch in reader:
        for row in batch.to_pylist():
            domains = row["domains"] or []
            counts = row["counts"] or []
            own = own_domains(domains, handle=row["handle"], display_name=row["display_name"], url=row["url"],
                              account_id=row["account_id"])
            yield AccountFeatures(
                platform=row["platform"], account_id=row["account_id"], handle=row["handle"],
                display_name=row["display_name"], bio=row["bio"], url=row["url"], followers=row["followers"],
                following=row["following"], verified=row["verified"], posts=row["posts"], replies=row["replies"],
                link_posts=row["link_posts"], active_days=row["active_days"], links=int(sum(counts)),
                own_domain_links=int(sum(n for d, n in zip(domains, counts) if d in own)), own_domains=tuple(sorted(own)),
                commercial_posts=tuple(row["commercial_ids"] or ()), commercial_count=row["commercial_count"],
                named_in_commercial=tuple(row["named_ids"] or ()), named_count=row["named_count"],
                influence_percentile=row["influence_percentile"],
            )


def run_account_types(con: duckdb.DuckDBPyConnection, run_id: str, *, evidence_posts: int = 5) -> dict[str, Any]:
    """Type every account and write ``account_types``.

    Columns: run_id, platform, account_id, handle, type, confidence, scores (JSON type → score),
    evidence (JSON list of the cues that fired: ``{cue, types, span | value, posts?, domains?}``).

    Returns
    -------
    dict: ``accounts`` and ``types`` (count per type).
    """
    try:
        typed = [type_account(f) for f in _features(con, evidence_posts)]
    finally:
        con.execute("DROP TABLE IF EXISTS _acct_commercial")
        con.execute("DROP TABLE IF EXISTS _acct_domains")
    con.register("_account_types", pa.table({
        "platform": pa.array([t.platform for t in typed], pa.string()),
        "account_id": pa.array([t.account_id for t in typed], pa.string()),
        "handle": pa.array([t.handle for t in typed], pa.string()),
        "type": pa.array([t.type for t in typed], pa.string()),
        "confidence": pa.array([t.confidence for t in typed], pa.float64()),
        "scores": pa.array([orjson.dumps(t.scores).decode() for t in typed], pa.string()),
        "evidence": pa.array([orjson.dumps(t.evidence).decode() for t in typed], pa.string()),
    }))
    try:
        con.execute(
            "CREATE OR REPLACE TABLE account_types AS SELECT ? AS run_id, platform, account_id, handle, type, confidence, "
            "CAST(scores AS JSON) AS scores, CAST(evidence AS JSON) AS evidence FROM _account_types "
            "ORDER BY platform, account_id", [run_id])
    finally:
        con.unregister("_account_types")
    counts: dict[str, int] = {t: 0 for t in ACCOUNT_TYPES}
    for t in typed:
        counts[t.type] += 1
    return {"accounts": len(typed), "types": counts}


def account_types_listing(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """``confiance account-types --json``: every typed account with its confidence and evidence."""
    if not has_table(con, "account_types"):
        raise ConfianceError("no account types yet: run `confiance analyze`")
    rows = con.execute("SELECT platform, account_id, handle, type, confidence, scores, evidence FROM account_types "
                       "ORDER BY type, confidence DESC, platform, account_id").fetchall()
    return [{"platform": p, "account_id": a, "handle": h, "type": t, "confidence": c,
             "scores": orjson.loads(s), "evidence": orjson.loads(e)} for p, a, h, t, c, s, e in rows]


def _step(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    return run_account_types(con, run_id)


register_step(Step(
    "account_types", _step, after=("influence",),
    description="account types (expert, creator, media, brand, institution, other) from profile, behaviour and network cues",
    parameters={"other_base": OTHER_BASE, "bio_cap": BIO_CAP, "signals": SIGNAL_WEIGHTS},
))
