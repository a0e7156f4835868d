"""The world model: communities, accounts, coordinated groups, the campaign, and the stream of
posts, generated in time order, one chunk at a time, with numpy.

Memory is bounded by the number of accounts plus three arrays over posts (author, time and
coordination event: 16 bytes a post, used to order the stream): a reply, repost or quote picks its
parent among the recent posts kept in one fixed-size pool per community, so no post is held
beyond its pool. The (post, account) pairs already reposted or liked are remembered until the post
leaves every pool, so that an account reposts or likes a post at most once, as platforms enforce.

Exposure to the campaign happens through the graph. The campaign opens with a seed's first own post
after the intervention, and *targets* some accounts (drawn by community); a targeted account is
exposed at its first post after a seed's campaign post exists (that post becomes a reply to, or a
repost of, a seed's campaign post; on Mastodon only a repost, see ``PostStream.exposing``) or at its
first own interaction with a campaign post, whichever comes first, and its stance shifts from then
on. No other account interacts with the campaign: their replies, reposts and quotes of a campaign post (or
inside its thread), their likes of it, their follows of a campaign author and the campaign posts'
mentions of them are redirected or left out. These choices draw from a generator of their own, so
that every other draw of the world stays as it was; and they never turn a repost into another kind
(or back), so that the pools, and hence every later pick, stay the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
from scipy.special import ndtr

from confiance.simulate import vocabulary as V

POST, REPLY, REPOST, QUOTE = 0, 1, 2, 3
KIND_NAMES = ("post", "reply", "repost", "quote")
STANCE_NONE = -2
CO_REPOST, COPYPASTA = 0, 1
CAMPAIGN_SPONSOR = 0  # row["sponsor"]: -1 none, 0 the campaign brand, k > 0 SPONSORS[k - 1]
BRAND_SITE = len(V.DOMAINS)  # row["domain"] value for the campaign landing page

DAY_MS = 86_400_000
BASE_MS = 1_736_121_600_000  # 2025-01-06T00:00:00Z (a Monday): day 0 of the world
DAYS = 120
INTERVENTION_DAY = 84
CO_REPOST_WINDOW_S = 30
COPYPASTA_WINDOW_S = 900
HOMOPHILY = 0.9
STANCE_SHIFT = 0.6
STANCE_NOISE = 0.5  # sd of a post's latent stance around its author's
STANCE_CUT = 0.25  # |latent| above this: favour (+1) or against (-1), else neutral (0)
NEVER = np.iinfo(np.int64).max

PLATFORM_SHARES = {"x": 0.60, "bluesky": 0.25, "mastodon": 0.15}
PLATFORM_KEYS = {"x": 1, "bluesky": 2, "mastodon": 3}

#: (language, side) of the eight communities: four French-speaking, four English-speaking.
COMMUNITIES = ((V.FR, 0), (V.FR, 0), (V.FR, 1), (V.FR, 1), (V.EN, 0), (V.EN, 0), (V.EN, 1), (V.EN, 1))
COMMUNITY_SHARES = np.array([0.16, 0.12, 0.14, 0.10, 0.15, 0.11, 0.13, 0.09])

ROW = np.dtype([
    ("idx", np.int64), ("author", np.int32), ("time_ms", np.int64), ("kind", np.int8),
    ("parent", np.int64), ("parent_author", np.int32), ("parent_time", np.int64),
    ("root", np.int64), ("root_author", np.int32), ("root_time", np.int64),
    ("topic", np.int8), ("lang", np.int8), ("stance", np.int8), ("sentiment", np.int8),
    ("m1", np.int32), ("m2", np.int32), ("n_tags", np.int8), ("domain", np.int16),
    ("sponsor", np.int16), ("labelled", np.int8), ("group", np.int16), ("event", np.int32),
    ("likes", np.int32), ("reposts", np.int32), ("replies", np.int32), ("quotes", np.int32),
    ("views", np.int64), ("w", np.uint16, (12,)),
])
# w slots: 0 template, 1-3 keywords, 4 sentiment word, 5 closer, 6-7 hashtags / label wording,
# 8 brand sentence, 9 spare, 10-11 link path.


def split_total(total: int, shares: dict[str, float]) -> dict[str, int]:
    """Largest-remainder split of ``total`` by ``shares`` (normalised); sums exactly to total."""
    names = list(shares)
    weights = np.array([shares[n] for n in names], dtype=float)
    exact = total * weights / weights.sum()
    counts = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - counts), kind="stable")[: total - counts.sum()]:
        counts[i] += 1
    return dict(zip(names, counts.tolist()))


@dataclass
class Community:
    id: int
    language: int
    side: int
    topic_mix: np.ndarray


def make_communities(rng: np.random.Generator) -> list[Community]:
    out = []
    for cid, (lang, side) in enumerate(COMMUNITIES):
        mix = rng.dirichlet(np.full(len(V.TOPICS), 0.5))
        mix[cid % len(V.TOPICS)] += 0.5  # each community has one dominant topic
        if cid in (0, 4):
            mix[0] += 0.6  # the cycling communities: the campaign's natural audience
        out.append(Community(cid, lang, side, mix / mix.sum()))
    return out


@dataclass
class Accounts:
    """One platform's accounts, column-wise."""

    platform: str
    n: int
    community: np.ndarray
    lang: np.ndarray
    bilingual: np.ndarray
    side: np.ndarray
    influencer: np.ndarray
    bot: np.ndarray
    brand: np.ndarray
    group: np.ndarray
    followers: np.ndarray
    following: np.ndarray
    statuses: np.ndarray
    created_ms: np.ndarray
    activity: np.ndarray
    attract: np.ndarray
    stance: np.ndarray
    exposed: np.ndarray  # exposed so far (through the graph); all exposed accounts once the stream is over
    instance: np.ndarray
    declared_bot: np.ndarray
    handles: list[str]
    names: list[str]
    bios: list[str]
    audience: dict[int, dict[str, dict[str, float]]] = field(default_factory=dict)
    seeds: list[int] = field(default_factory=list)
    targeted: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # whom the campaign aims to reach
    exposed_ms: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # first exposure, NEVER if none
    by_community: list[np.ndarray] = field(default_factory=list)
    community_cum: list[np.ndarray] = field(default_factory=list)


AGE_BANDS = ("13-17", "18-24", "25-34", "35-44", "45-54", "55+")
GENDERS = ("female", "male", "other")
COUNTRIES = (("FR", "BE", "CH", "CA", "other"), ("GB", "US", "IE", "CA", "other"))


def _names(rng: np.random.Generator, n: int, bot: np.ndarray, platform: str) -> tuple[list[str], list[str]]:
    syl = np.array(V.NAME_SYLLABLES)
    ends = np.array(V.SURNAME_ENDINGS)
    picks = rng.integers(0, len(syl), (n, 4))
    endp = rng.integers(0, len(ends), n)
    digits = rng.integers(10_000_000, 99_999_999, n)
    style = rng.integers(0, 3, n)
    seen: set[str] = set()
    handles, names = [], []
    for i in range(n):
        first = (syl[picks[i, 0]] + syl[picks[i, 1]]).capitalize()
        last = (syl[picks[i, 2]] + ends[endp[i]]).capitalize()
        if bot[i]:
            handle = f"{first.lower()}{digits[i]}"
            name = first if style[i] else ""
        else:
            handle = (f"{first}{last}", f"{first.lower()}_{last.lower()}", f"{last.lower()}{first[:1].lower()}")[style[i]]
            name = f"{first} {last}"
        if platform == "mastodon":
            handle = handle.lower()
        base, k = handle, 0
        while handle.lower() in seen:
            k += 1
            handle = f"{base}{'_' if bot[i] else ''}{'xyzqwv'[k % 6]}{k // 6 or ''}"
        seen.add(handle.lower())
        handles.append(handle)
        names.append(name)
    return handles, names


def make_accounts(rng: np.random.Generator, platform: str, n: int, communities: list[Community]) -> Accounts:
    if n < 2 * len(communities):
        raise ValueError(f"{platform}: {n} accounts is too few for {len(communities)} communities")
    # every community gets at least two accounts, the rest by share
    community = np.concatenate([np.repeat(np.arange(len(communities)), 2),
                                rng.choice(len(communities), n - 2 * len(communities),
                                           p=COMMUNITY_SHARES / COMMUNITY_SHARES.sum())])
    community = rng.permutation(community).astype(np.int8)
    lang = np.array([communities[c].language for c in community], dtype=np.int8)
    side = np.array([communities[c].side for c in community], dtype=np.int8)
    bilingual = rng.random(n) < 0.03
    followers = np.minimum((30 * (rng.pareto(1.15, n) + 1) - 25).astype(np.int64), 5_000_000)
    bot = np.zeros(n, bool)
    n_bots = max(2, round(0.04 * n))
    # bots lean to side 1 (the camp that the low-credibility sources serve)
    bot_p = np.where(side == 1, 3.0, 1.0)
    bot[rng.choice(n, n_bots, replace=False, p=bot_p / bot_p.sum())] = True
    followers[bot] = rng.integers(0, 40, bot.sum())
    brand = np.zeros(n, bool)
    brand_idx = int(np.flatnonzero(community == 0)[0])  # the brand's account lives in community 0
    brand[brand_idx] = True
    bot[brand_idx] = False
    followers[brand_idx] = max(int(followers[brand_idx]), 25_000)
    # influencers: top 2% by followers, and the top account of every community
    influencer = np.zeros(n, bool)
    ranked = np.argsort(-followers, kind="stable")
    for i in ranked[: max(len(communities), round(0.02 * n))]:
        influencer[i] = True
    for c in range(len(communities)):
        members = np.flatnonzero(community == c)
        influencer[members[np.argmax(followers[members])]] = True
    influencer &= ~bot & ~brand
    following = np.where(bot, rng.integers(800, 4000, n), (rng.lognormal(5.0, 1.0, n)).astype(np.int64))
    activity = rng.lognormal(0.0, 1.0, n)
    activity[influencer] *= 3.0
    activity[bot] *= 4.0
    activity[brand] *= 2.0
    attract = (followers + 5.0) ** 0.9
    created_days = np.where(bot, rng.integers(5, 60, n), rng.integers(400, 5500, n))
    created_ms = BASE_MS - created_days.astype(np.int64) * DAY_MS - rng.integers(0, DAY_MS, n)
    stance = (np.where(side == 0, 0.3, -0.4) + rng.normal(0, 0.4, n)).astype(np.float32)
    stance[brand] = 1.0
    handles, names = _names(rng, n, bot, platform)
    handles[brand_idx] = {"x": "SolvaneVelo", "bluesky": "solvane", "mastodon": "solvane"}[platform]
    names[brand_idx] = "Solvane — vélos électriques"
    topics_of = [communities[c].topic_mix.argmax() for c in community]
    bio_pick = rng.integers(0, len(V.HUMAN_BIOS[0]), n)
    bios = ["" if bot[i] else V.HUMAN_BIOS[lang[i]][bio_pick[i]].format(t=V.TOPICS[topics_of[i]][1])
            for i in range(n)]
    bios[brand_idx] = "Vélos électriques conçus à Lyon. Compte officiel."
    instance = np.full(n, -1, np.int8)
    if platform == "mastodon":
        instance = np.where(lang == V.FR, rng.choice(4, n, p=[0.4, 0.4, 0.1, 0.1]),
                            rng.choice(4, n, p=[0.35, 0.05, 0.3, 0.3])).astype(np.int8)
        instance[brand_idx] = 0
    declared_bot = bot & (rng.random(n) < 0.3)
    statuses = (activity * 200).astype(np.int64) + rng.integers(0, 50, n)
    acc = Accounts(platform, n, community, lang, bilingual, side, influencer, bot, brand,
                   np.full(n, -1, np.int16), followers, following.astype(np.int64), statuses, created_ms,
                   activity, attract, stance, np.zeros(n, bool), instance, declared_bot, handles, names, bios)
    acc.by_community = [np.flatnonzero(community == c) for c in range(len(communities))]
    acc.community_cum = [np.cumsum(attract[m]) for m in acc.by_community]
    for i in np.flatnonzero(influencer):
        acc.audience[int(i)] = _audience(rng, int(lang[i]), int(topics_of[i]))
    return acc


def _audience(rng: np.random.Generator, lang: int, topic: int) -> dict[str, dict[str, float]]:
    age_prior = np.array([0.5, 2.5, 3.0, 2.0, 1.2, 0.8])
    if topic in (4, 7):  # beauty, culture: younger audiences
        age_prior = np.array([1.2, 3.5, 2.5, 1.2, 0.6, 0.4])
    gender_prior = np.array([2.5, 2.5, 0.2])
    if topic == 4:
        gender_prior = np.array([4.5, 1.0, 0.2])
    elif topic == 5:
        gender_prior = np.array([1.0, 4.5, 0.2])
    country_prior = np.array([5.0, 1.0, 0.6, 0.6, 0.8])
    out = {}
    for name, cats, prior in (("age", AGE_BANDS, age_prior), ("gender", GENDERS, gender_prior),
                              ("country", COUNTRIES[lang], country_prior)):
        shares = rng.dirichlet(prior * 8)
        out[name] = _round_shares(cats, shares)
    return out


def _round_shares(cats: tuple[str, ...], shares: np.ndarray) -> dict[str, float]:
    """Shares rounded to 4 decimals that still sum to exactly 1 (in units of 1e-4)."""
    units = np.floor(shares * 10_000).astype(int)
    for i in np.argsort(-(shares * 10_000 - units), kind="stable")[: 10_000 - units.sum()]:
        units[i] += 1
    return {c: int(u) / 10_000 for c, u in zip(cats, units)}


@dataclass
class Groups:
    """Coordinated groups of one platform and their planned events."""

    ids: list[str]
    members: list[np.ndarray]
    kinds: list[tuple[str, ...]]
    event_group: np.ndarray  # per event
    event_kind: np.ndarray
    event_w: np.ndarray  # (events, 12) text slots shared by a copypasta event
    event_domain: np.ndarray


def make_groups(rng: np.random.Generator, acc: Accounts, n_posts: int, platform: str) -> Groups:
    n_groups = int(min(12, max(1, round(acc.n / 400))))
    candidates = ~acc.influencer & ~acc.brand
    ids, members, kinds = [], [], []
    for g in range(n_groups):
        c = [2, 6, 3, 7, 0, 4][g % 6]  # mostly the side-1 communities
        pool = np.flatnonzero(candidates & (acc.community == c) & (acc.group < 0))
        size = int(min(len(pool), rng.integers(5, 13)))
        if size < 3:
            continue
        # sock-puppet groups mix automated and human-run accounts
        p = np.where(acc.bot[pool], 0.5, 1.0)
        chosen = np.sort(rng.choice(pool, size, replace=False, p=p / p.sum()))
        gid = f"{platform}-g{len(ids) + 1}"
        acc.group[chosen] = len(ids)
        ids.append(gid)
        members.append(chosen)
        kinds.append(("co_repost",) if g % 3 == 2 else ("co_repost", "shared_link", "near_duplicate_text"))
    budget = 0.03 * n_posts
    total_members = sum(len(m) for m in members) or 1
    per_group = max(2, int(budget / total_members))
    eg, ek = [], []
    for g in range(len(ids)):
        for e in range(per_group):
            eg.append(g)
            ek.append(COPYPASTA if ("shared_link" in kinds[g] and e % 5 in (1, 3)) else CO_REPOST)
    n_events = len(eg)
    event_w = rng.integers(0, 65536, (n_events, 12), dtype=np.uint16)
    low = len(V.LOW_CREDIBILITY_DOMAINS)
    event_domain = rng.integers(0, low, n_events).astype(np.int16)
    return Groups(ids, members, kinds, np.array(eg, np.int32), np.array(ek, np.int8), event_w, event_domain)


def schedule(rng: np.random.Generator, acc: Accounts, groups: Groups, n_posts: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Author, time (ms) and coordination event (-1: none) of every post, in time order."""
    span = DAYS * DAY_MS
    ev_author, ev_time, ev_id = [], [], []
    starts = rng.integers(5 * DAY_MS, span - DAY_MS, len(groups.event_group)) + BASE_MS
    for e, g in enumerate(groups.event_group.tolist()):
        m = groups.members[g]
        take = m[rng.random(len(m)) < 0.9]
        if len(take) < 2:
            take = m
        window = CO_REPOST_WINDOW_S if groups.event_kind[e] == CO_REPOST else COPYPASTA_WINDOW_S
        offsets = np.sort(rng.uniform(0, window * 0.8 * 1000, len(take))).astype(np.int64)
        offsets -= offsets[0]
        ev_author.append(rng.permutation(take))
        ev_time.append(starts[e] + offsets)
        ev_id.append(np.full(len(take), e, np.int32))
    n_ev = int(sum(len(a) for a in ev_author))
    if n_ev > n_posts // 5:  # tiny worlds: keep coordination a minority of the posts
        keep, total = 0, 0
        while keep < len(ev_author) and total + len(ev_author[keep]) <= n_posts // 5:
            total += len(ev_author[keep])
            keep += 1
        ev_author, ev_time, ev_id = ev_author[:keep], ev_time[:keep], ev_id[:keep]
        n_ev = total
    n_rest = n_posts - n_ev
    p = acc.activity / acc.activity.sum()
    # every account posts at least once when there are posts enough (a collection holds the
    # accounts that posted); the rest go by activity
    everyone = np.arange(acc.n) if n_rest >= 2 * acc.n else np.zeros(0, np.int64)
    authors = np.concatenate([everyone, rng.choice(acc.n, n_rest - len(everyone), p=p)]).astype(np.int32)
    # humans: diurnal random times; bots: one post every period, with 2% jitter
    hour_w = np.array([1, .6, .4, .3, .3, .5, 1, 2, 3, 3, 3, 3, 3.5, 3, 3, 3, 3, 3.5, 4, 4.5, 4.5, 4, 3, 2])
    day = rng.integers(0, DAYS, n_rest)
    hour = rng.choice(24, n_rest, p=hour_w / hour_w.sum())
    times = BASE_MS + day * DAY_MS + hour * 3_600_000 + rng.integers(0, 3_600_000, n_rest)
    is_bot = acc.bot[authors]
    if is_bot.any():
        bidx = np.flatnonzero(is_bot)
        order = bidx[np.argsort(authors[bidx], kind="stable")]
        a_sorted = authors[order]
        first = np.r_[0, np.flatnonzero(np.diff(a_sorted)) + 1]
        counts = np.diff(np.r_[first, len(order)])
        rank = np.arange(len(order)) - np.repeat(first, counts)
        period = span / np.repeat(counts, counts)
        phase = np.repeat(rng.uniform(0, 1, len(counts)), counts) * period
        jitter = rng.normal(0, 0.02, len(order)) * period
        times[order] = (BASE_MS + phase + rank * period + jitter).astype(np.int64).clip(BASE_MS, BASE_MS + span - 1)
    all_authors = np.concatenate([authors] + ev_author).astype(np.int32)
    all_times = np.concatenate([times] + ev_time).astype(np.int64)
    all_events = np.concatenate([np.full(n_rest, -1, np.int32)] + ev_id)
    order = np.lexsort((np.arange(len(all_times)), all_times))
    return all_authors[order], all_times[order], all_events[order]


def expected_score(mean: np.ndarray) -> np.ndarray:
    """Expected stance score (+1 favour, 0 neutral, -1 against) of a post whose latent stance is
    normal around ``mean`` with sd ``STANCE_NOISE``."""
    return ndtr((mean - STANCE_CUT) / STANCE_NOISE) - ndtr((-STANCE_CUT - mean) / STANCE_NOISE)


class _Pool:
    """The most recent ``capacity`` non-repost posts of one community (ring buffer of rows)."""

    def __init__(self, capacity: int):
        self.rows = np.zeros(capacity, ROW)
        self.n = 0
        self.head = 0

    def add(self, rows: np.ndarray) -> None:
        cap = len(self.rows)
        rows = rows[-cap:]
        k = len(rows)
        end = self.head + k
        if end <= cap:
            self.rows[self.head:end] = rows
        else:
            cut = cap - self.head
            self.rows[self.head:] = rows[:cut]
            self.rows[: k - cut] = rows[cut:]
        self.head = end % cap
        self.n = min(cap, self.n + k)


class PostStream:
    """Generates one platform's posts in time order, chunk by chunk, as ``ROW`` arrays."""

    def __init__(self, rng: np.random.Generator, acc: Accounts, groups: Groups, communities: list[Community],
                 n_posts: int, platform: str, exposure_rng: np.random.Generator):
        self.rng, self.acc, self.groups, self.communities = rng, acc, groups, communities
        self.exposure_rng = exposure_rng
        self.platform = platform
        self.n_posts = n_posts
        self.authors, self.times, self.events = schedule(rng, acc, groups, n_posts)
        self.pools = [_Pool(2048) for _ in communities]
        self.event_target: dict[int, np.void | None] = {}
        # (post, account) pairs already reposted / liked: a platform keeps one repost or like per pair
        self.reposted: set[int] = set()
        self.liked: set[int] = set()
        self.followed: set[int] = set()
        self.mix = np.stack([c.topic_mix for c in communities])
        self.intervention_ms = BASE_MS + INTERVENTION_DAY * DAY_MS
        # the campaign's posts (seeds' and the brand's, from the intervention on) and the seeds' rows
        self.campaign_idx: set[int] = set()
        self.seed_campaign: list[np.void] = []
        self.campaign_authors = np.array(sorted(set(acc.seeds) | set(np.flatnonzero(acc.brand).tolist())), np.int64)
        self.kickoff = -1  # the row that opens the campaign: a seed's first own post after the intervention
        # (post, account) repost pairs set by the exposure routing, kept apart from ``reposted`` so that
        # the main stream's duplicate checks (and so its kinds) stay as they were
        self.rerouted: set[int] = set()
        # the interactions that show exposure in the data: a Mastodon reply names its parent by the
        # serving instance's numeric id, which an importer cannot tie to the parent's URI, so on
        # Mastodon only a boost shows that its author saw the post
        self.exposing = {REPOST} if platform == "mastodon" else {REPLY, REPOST, QUOTE}
        self.stance_posts = np.zeros((acc.n, 2), np.int64)  # posts with a stance, before / after the intervention
        self.stance_gain = np.zeros(acc.n)

    def chunks(self, size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for start in range(0, self.n_posts, size):
            yield self._chunk(start, min(self.n_posts, start + size))

    def _pick(self, communities: np.ndarray, u: np.ndarray) -> np.ndarray:
        """A pool row index per request (-1 when that community's pool is empty), by attractiveness."""
        out = np.full(len(communities), -1, np.int64)
        for c in np.unique(communities):
            pool = self.pools[c]
            if pool.n == 0:
                continue
            sel = communities == c
            cum = np.cumsum(self.acc.attract[pool.rows["author"][: pool.n]])
            out[sel] = np.minimum(np.searchsorted(cum, u[sel] * cum[-1], side="right"), pool.n - 1)
        return out

    def _chunk(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        rng, acc = self.rng, self.acc
        n = hi - lo
        rows = np.zeros(n, ROW)
        parents = np.zeros(n, ROW)
        a = self.authors[lo:hi]
        rows["idx"] = np.arange(lo, hi)
        rows["author"] = a
        rows["time_ms"] = self.times[lo:hi]
        rows["event"] = self.events[lo:hi]
        if len(self.groups.event_group):
            rows["group"] = np.where(rows["event"] >= 0, self.groups.event_group[np.maximum(rows["event"], 0)], -1)
        else:
            rows["group"] = -1
        rows["w"] = rng.integers(0, 65536, (n, 12), dtype=np.uint16)
        comm = acc.community[a].astype(np.int64)
        after = rows["time_ms"] >= self.intervention_ms

        # kinds by author type; coordinated events are forced
        u = rng.random(n)
        probs = np.select([acc.bot[a][:, None], acc.influencer[a][:, None], acc.brand[a][:, None]],
                          [np.array([[0.13, 0.05, 0.77, 0.05]]), np.array([[0.70, 0.15, 0.08, 0.07]]),
                           np.array([[0.90, 0.10, 0.0, 0.0]])], np.array([[0.46, 0.22, 0.24, 0.08]]))
        kind = (u[:, None] > np.cumsum(probs, axis=1)).sum(axis=1).astype(np.int8)
        if self.platform == "mastodon":
            kind[kind == QUOTE] = POST
        ev = rows["event"]
        is_ev = ev >= 0
        kind[is_ev] = np.where(self.groups.event_kind[ev[is_ev]] == CO_REPOST, REPOST, POST)

        # parents: inside the author's community with probability HOMOPHILY
        needs = kind != POST
        target_c = np.where(rng.random(n) < HOMOPHILY, comm, rng.integers(0, len(self.communities), n))
        need_idx = np.flatnonzero(needs & ~is_ev)
        picks = self._pick(target_c[need_idx], rng.random(len(need_idx)))
        found = picks >= 0
        kind[need_idx[~found]] = POST
        for c in np.unique(target_c[need_idx[found]]):
            sel = found & (target_c[need_idx] == c)
            parents[need_idx[sel]] = self.pools[int(c)].rows[picks[sel]]
        for i in np.flatnonzero(needs & is_ev).tolist():  # a co-repost event shares one target post
            e = int(ev[i])
            if e not in self.event_target:
                gc = int(acc.community[self.groups.members[self.groups.event_group[e]][0]])
                k = int(self._pick(np.array([gc]), rng.random(1))[0])
                self.event_target[e] = self.pools[gc].rows[k].copy() if k >= 0 else None
                target = self.event_target[e]
                if target is not None and self._in_campaign(target):
                    members = self.groups.members[self.groups.event_group[e]]
                    self.event_target[e] = self._alternative(gc, members)
            target = self.event_target[e]
            if target is None:
                kind[i] = POST
            else:
                parents[i] = target
        n_acc = acc.n
        for i in np.flatnonzero(kind == REPOST).tolist():
            key = int(parents["idx"][i]) * n_acc + int(a[i])
            if key in self.reposted:
                kind[i] = POST
            else:
                self.reposted.add(key)
        self._prune(self.reposted)
        if is_ev.any():  # an event post that could not take its planned form is an ordinary post
            planned = np.where(self.groups.event_kind[np.maximum(ev, 0)] == CO_REPOST, REPOST, POST)
            lost = is_ev & (kind != planned)
            rows["event"][lost] = -1
            rows["group"][lost] = -1
            ev = rows["event"]
            is_ev = ev >= 0
        self._route_exposure(rows, parents, kind)
        rows["kind"] = kind
        has_parent = kind != POST
        rows["parent"] = np.where(has_parent, parents["idx"], -1)
        rows["parent_author"] = np.where(has_parent, parents["author"], -1)
        rows["parent_time"] = np.where(has_parent, parents["time_ms"], 0)
        is_reply = kind == REPLY
        rows["root"] = np.where(is_reply, np.where(parents["kind"] == REPLY, parents["root"], parents["idx"]), rows["idx"])
        rows["root_author"] = np.where(is_reply, np.where(parents["kind"] == REPLY, parents["root_author"],
                                                          parents["author"]), a)
        rows["root_time"] = np.where(is_reply, np.where(parents["kind"] == REPLY, parents["root_time"],
                                                        parents["time_ms"]), rows["time_ms"])

        # topic, language
        cum_mix = np.cumsum(self.mix[comm], axis=1)
        topic = (rng.random(n)[:, None] > cum_mix).sum(axis=1).clip(0, len(V.TOPICS) - 1)
        exposed_now = acc.exposed_ms[a] <= rows["time_ms"]
        topic = np.where(exposed_now & (rng.random(n) < 0.25), 0, topic)
        topic = np.where((kind == REPLY) | (kind == QUOTE), np.where(rng.random(n) < 0.75, parents["topic"], topic), topic)
        seed = np.isin(a, acc.seeds) & after & (kind == POST)
        campaign = (seed & (rng.random(n) < 0.4)) | (rows["idx"] == self.kickoff)
        brand_post = acc.brand[a] & (kind == POST)
        opened = (campaign | brand_post) & after
        topic = np.where(campaign | brand_post, 0, topic)
        lang = np.where(acc.bilingual[a], rng.random(n) < 0.5, acc.lang[a]).astype(np.int8)

        # stance toward the campaign brand (topic 0 only) and sentiment
        latent = acc.stance[a] + np.where(exposed_now, STANCE_SHIFT, 0.0) + rng.normal(0, STANCE_NOISE, n)
        stance = np.where(latent > STANCE_CUT, 1, np.where(latent < -STANCE_CUT, -1, 0))
        stance = np.where(campaign | brand_post, 1, stance)
        stance = np.where(topic == 0, stance, STANCE_NONE)
        drawn = (topic == 0) & ~(campaign | brand_post)  # stance drawn from the latent (copypasta aside, below)
        mood = rng.choice(3, n, p=[0.3, 0.4, 0.3]) - 1
        agree = rng.random(n) < 0.75
        sentiment = np.where((stance != STANCE_NONE) & (stance != 0) & agree, stance, mood)
        sentiment = np.where(campaign | brand_post, 1, sentiment)

        # mentions, hashtags, links
        n_ment = np.minimum(rng.poisson(np.where(acc.influencer[a], 0.35, 0.25)), 2)
        mc = np.where(rng.random((n, 2)) < HOMOPHILY, comm[:, None], rng.integers(0, len(self.communities), (n, 2)))
        m = np.full((n, 2), -1, np.int64)
        mu = rng.random((n, 2))
        for c in range(len(self.communities)):
            sel = mc == c
            if sel.any():
                cum = acc.community_cum[c]
                m[sel] = acc.by_community[c][np.minimum(np.searchsorted(cum, mu[sel] * cum[-1], side="right"),
                                                        len(cum) - 1)]
        m[:, 0] = np.where(n_ment >= 1, m[:, 0], -1)
        m[:, 1] = np.where((n_ment >= 2) & (m[:, 1] != m[:, 0]), m[:, 1], -1)
        m[m == a[:, None]] = -1
        brand_idx = int(np.flatnonzero(acc.brand)[0])
        m[:, 0] = np.where(campaign, brand_idx, m[:, 0])
        # a campaign post addresses only accounts it has already reached (and the brand, its author)
        unreached = (m >= 0) & (m != brand_idx) & (acc.exposed_ms[np.maximum(m, 0)] > rows["time_ms"][:, None])
        m[opened[:, None] & unreached] = -1
        rows["m1"], rows["m2"] = m[:, 0], m[:, 1]
        rows["n_tags"] = np.where(acc.bot[a], 2 + rng.poisson(1.5, n),
                                  rng.poisson(np.where(acc.influencer[a], 0.8, 0.4), n)).clip(0, 4)
        p_url = np.where(acc.bot[a], 0.65, np.where(acc.influencer[a], 0.2, 0.12))
        has_url = rng.random(n) < p_url
        p_low = np.where(acc.bot[a], 0.7, np.where(acc.side[a] == 1, 0.3, 0.04))
        low = rng.random(n) < p_low
        nlow, nrep = len(V.LOW_CREDIBILITY_DOMAINS), len(V.REPUTABLE_DOMAINS)
        domain = np.where(low, rng.integers(0, nlow, n), nlow + rng.integers(0, nrep, n))
        domain = np.where(has_url, domain, -1)
        domain = np.where(campaign | brand_post, BRAND_SITE, domain)

        # sponsorship: influencers' own posts; the seeds' campaign posts after the intervention
        spons = acc.influencer[a] & (kind == POST) & ~campaign & (rng.random(n) < 0.06)
        sponsor = np.where(spons, 1 + rng.integers(0, len(V.SPONSORS), n), -1)
        sponsor = np.where(campaign, CAMPAIGN_SPONSOR, sponsor)
        labelled = np.where(campaign, rng.random(n) < 0.8, rng.random(n) < 0.6) & (sponsor >= 0)

        # coordinated copypasta: the event's text and link, with a small edit per member
        copy = is_ev & (kind == POST)
        if copy.any():
            e = ev[copy]
            w = self.groups.event_w[e].copy()
            w[:, 5] = rows["w"][copy][:, 5]  # closer (emoji / punctuation) varies
            w[:, 4] = (w[:, 4] // 6) * 6 + rows["w"][copy][:, 4] % 6  # another word, same sentiment
            rows["w"][copy] = w
            domain[copy] = self.groups.event_domain[e]
            sponsor[copy] = -1
            labelled[copy] = False
            topic[copy] = self.groups.event_w[e][:, 9] % len(V.TOPICS)
            stance[copy] = np.where(topic[copy] == 0, -1, STANCE_NONE)
            drawn[copy] = False
            sentiment[copy] = -1
            rows["n_tags"][copy] = 2

        # reposts carry their parent's content
        rep = kind == REPOST
        for name in ("topic", "lang", "stance", "sentiment", "domain", "sponsor", "labelled"):
            value = {"topic": topic, "lang": lang, "stance": stance, "sentiment": sentiment, "domain": domain,
                     "sponsor": sponsor, "labelled": labelled}[name]
            rows[name] = np.where(rep, parents[name], value)
        for name in ("m1", "m2", "n_tags", "w"):
            if name == "w":
                rows["w"][rep] = parents["w"][rep]
            else:
                rows[name] = np.where(rep, parents[name], rows[name])

        # public metrics, growing with the author's reach
        lam = 0.3 + 0.01 * acc.followers[a] ** 0.8
        rows["likes"] = rng.poisson(lam)
        rows["reposts"] = rng.poisson(lam / 4)
        rows["replies"] = rng.poisson(lam / 8)
        rows["quotes"] = rng.poisson(lam / 20)
        rows["views"] = rows["likes"] * 30 + rng.poisson(acc.followers[a] * 0.05 + 5)
        for name in ("likes", "reposts", "replies", "quotes", "views"):
            rows[name][rep] = 0

        self._tally_stance(a, after, (kind != REPOST) & (stance != STANCE_NONE), drawn & exposed_now)
        keep = rows[kind != REPOST]
        kc = acc.community[keep["author"]]
        for c in np.unique(kc):
            self.pools[c].add(keep[kc == c])
        self.campaign_idx.update(rows["idx"][opened].tolist())
        self.seed_campaign.extend(rows[campaign].copy())
        return rows, parents

    def _tally_stance(self, a: np.ndarray, after: np.ndarray, scored: np.ndarray, shifted: np.ndarray) -> None:
        """Per account: posts with a stance before / after the intervention, and the expected gain in
        their stance score (+1 / 0 / -1) that exposure caused, E[score | shifted] - E[score | not]."""
        np.add.at(self.stance_posts, (a[scored], after[scored].astype(np.int64)), 1)
        gain = shifted & scored & after
        s = self.acc.stance[a[gain]].astype(np.float64)
        np.add.at(self.stance_gain, a[gain], expected_score(s + STANCE_SHIFT) - expected_score(s))

    def stance_effect(self) -> np.ndarray:
        """Per exposed account with stance posts on both sides of the intervention, the expected effect
        of exposure on its mean stance score after the intervention: what a difference-in-differences
        of account stance estimates, on that scale (the latent shift is ``STANCE_SHIFT``)."""
        both = self.acc.exposed & (self.stance_posts > 0).all(axis=1)
        return self.stance_gain[both] / self.stance_posts[both, 1]

    def _in_campaign(self, row: np.void) -> bool:
        """Is this pool row a campaign post, or a reply inside a campaign post's thread?"""
        return int(row["idx"]) in self.campaign_idx or int(row["root"]) in self.campaign_idx

    def _fresh(self, post_idx: np.ndarray, account: int) -> np.ndarray:
        """Which of these posts the account has not reposted yet."""
        keys = (post_idx.astype(np.int64) * self.acc.n + account).tolist()
        return np.fromiter((k not in self.reposted and k not in self.rerouted for k in keys), bool, len(keys))

    def _alternative(self, c: int, reposters: np.ndarray | None = None) -> np.void | None:
        """Another parent from community ``c``'s pool, outside the campaign, by attractiveness (drawn
        from the exposure generator); ``reposters`` must all be able to repost it."""
        pool = self.pools[c]
        cand = pool.rows[: pool.n]
        reached = np.fromiter((int(i) in self.campaign_idx or int(r) in self.campaign_idx
                               for i, r in zip(cand["idx"].tolist(), cand["root"].tolist())), bool, len(cand))
        ok = ~reached
        for r in ([] if reposters is None else reposters.tolist()):
            ok &= self._fresh(cand["idx"], int(r))
        w = np.where(ok, self.acc.attract[cand["author"]], 0.0)
        if w.sum() <= 0:
            return None
        return cand[int(self.exposure_rng.choice(len(cand), p=w / w.sum()))].copy()

    def _route_exposure(self, rows: np.ndarray, parents: np.ndarray, kind: np.ndarray) -> None:
        """Exposure through the graph (see the module docstring): edits ``kind`` and ``parents`` in place.

        A targeted account not yet exposed is exposed by its first interaction with a campaign post,
        or else at its first free post (not a coordinated one) once a seed's campaign post exists:
        that post becomes a reply to one of the seeds' recent campaign posts (a repost of one when
        it was a repost; on Mastodon only reposts show exposure, see ``exposing``). Any other
        interaction with the campaign is redirected to another post.
        """
        acc = self.acc
        a, t = rows["author"], rows["time_ms"]
        after = t >= self.intervention_ms
        free = rows["event"] < 0
        if self.kickoff < 0:  # the campaign opens with a seed's first own post after the intervention
            first = np.flatnonzero(np.isin(a, acc.seeds) & after & free & (kind != REPOST))
            if len(first):
                self.kickoff = int(rows["idx"][first[0]])
                kind[first[0]] = POST
        waiting = acc.targeted[a] & (acc.exposed_ms[a] == NEVER) & free
        for i in np.flatnonzero(after & ((kind != POST) | waiting)).tolist():
            ai, ti, k = int(a[i]), int(t[i]), int(kind[i])
            touches = k != POST and (int(parents["idx"][i]) in self.campaign_idx
                                     or (k == REPLY and int(parents["root"][i]) in self.campaign_idx))
            if acc.exposed_ms[ai] <= ti:
                if k == REPOST and int(parents["idx"][i]) * acc.n + ai in self.rerouted:
                    self._redirect(i, ai, k, parents, kind)
                continue
            convertible = k == REPOST or REPLY in self.exposing
            if acc.targeted[ai] and free[i] and not touches and self.seed_campaign and convertible:
                recent = self.seed_campaign[-20:]
                if k == REPOST:
                    fresh = self._fresh(np.array([r["idx"] for r in recent]), ai)
                    recent = [r for r, f in zip(recent, fresh) if f]
                if recent:
                    target = recent[int(self.exposure_rng.integers(len(recent)))]
                    parents[i] = target
                    if k == REPOST:
                        self.rerouted.add(int(target["idx"]) * acc.n + ai)
                    else:
                        kind[i] = REPLY
                    touches = True
            if touches and acc.targeted[ai] and free[i] and int(kind[i]) in self.exposing:
                acc.exposed_ms[ai] = ti
                acc.exposed[ai] = True
            elif touches or (k == REPOST and int(parents["idx"][i]) * acc.n + ai in self.rerouted):
                self._redirect(i, ai, k, parents, kind)

    def _redirect(self, i: int, account: int, k: int, parents: np.ndarray, kind: np.ndarray) -> None:
        c = int(self.acc.community[int(parents["author"][i])])
        alt = self._alternative(c, np.array([account]) if k == REPOST else None)
        if alt is None:  # nothing else to interact with (a tiny world): an own post instead
            kind[i] = POST
            return
        parents[i] = alt
        if k == REPOST:
            self.rerouted.add(int(alt["idx"]) * self.acc.n + account)

    def visible_likes(self, subjects: np.ndarray, likers: np.ndarray, when: np.ndarray):
        """The likes that keep exposure through the graph: a campaign post is liked only by accounts
        it has already reached."""
        reached = np.fromiter((int(i) in self.campaign_idx for i in subjects["idx"].tolist()), bool, len(subjects))
        keep = ~reached | (self.acc.exposed_ms[likers] <= when)
        return subjects[keep], likers[keep], when[keep]

    def visible_follows(self, src: np.ndarray, dst: np.ndarray, when: np.ndarray):
        """The follows that keep exposure through the graph: only an account already reached follows a
        seed or the brand (their followers see the campaign posts)."""
        keep = ~np.isin(dst, self.campaign_authors) | (self.acc.exposed_ms[src] <= when)
        return src[keep], dst[keep], when[keep]

    def _prune(self, pairs: set[int]) -> None:
        """Forget pairs whose post has left every pool (it can no longer be picked)."""
        if len(pairs) < 100_000:
            return
        oldest = min((int(p.rows["idx"][: p.n].min()) for p in self.pools if p.n), default=0)
        n_acc = self.acc.n
        stale = [k for k in pairs if k // n_acc < oldest]
        pairs.difference_update(stale)

    def pool_sample(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows of ``n`` recent posts (likes' subjects) and the liking accounts, with homophily."""
        rng, acc = self.rng, self.acc
        p = acc.activity / acc.activity.sum()
        who = rng.choice(acc.n, n, p=p)
        comm = np.where(rng.random(n) < HOMOPHILY, acc.community[who], rng.integers(0, len(self.communities), n))
        picks = self._pick(comm, rng.random(n))
        ok = picks >= 0
        rows = np.zeros(n, ROW)
        for i in np.flatnonzero(ok).tolist():
            rows[i] = self.pools[int(comm[i])].rows[picks[i]]
            key = int(rows["idx"][i]) * self.acc.n + int(who[i])
            if key in self.liked:
                ok[i] = False
            else:
                self.liked.add(key)
        self._prune(self.liked)
        return rows[ok], who[ok]

    def follow_sample(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(follower, followed) pairs: followed chosen by attractiveness, mostly inside the community."""
        rng, acc = self.rng, self.acc
        p = acc.activity / acc.activity.sum()
        src = rng.choice(acc.n, n, p=p)
        comm = np.where(rng.random(n) < HOMOPHILY, acc.community[src], rng.integers(0, len(self.communities), n))
        dst = np.empty(n, np.int64)
        u = rng.random(n)
        for c in np.unique(comm):
            sel = comm == c
            cum = acc.community_cum[c]
            dst[sel] = acc.by_community[c][np.minimum(np.searchsorted(cum, u[sel] * cum[-1], side="right"), len(cum) - 1)]
        ok = src != dst
        for i in np.flatnonzero(ok).tolist():
            key = int(src[i]) * self.acc.n + int(dst[i])
            if key in self.followed:
                ok[i] = False
            else:
                self.followed.add(key)
        return src[ok], dst[ok]
