"""Synthetic world generator with planted truth (``confiance simulate``).

:func:`simulate_world` writes a world in real platform formats, deterministic for a seed (same
arguments, same bytes), streaming posts in time order so that memory stays bounded:

``x/tweets-NNNN.jsonl``
    twarc2 pages of the X API v2 (≤ 100 tweets in ``data``; ``includes.users`` and
    ``includes.tweets`` for every referenced user and tweet; ``meta``; ``__twarc``).
``bluesky/posts-NNNN.jsonl``, ``bluesky/jetstream-NNNN.jsonl``
    ``app.bsky.feed.defs#postView`` per line (posts, replies, quotes); Jetstream commit events for
    reposts, likes and follows.
``mastodon/statuses-NNNN.jsonl``
    Mastodon API statuses as read from ``toot.example`` (boosts carry the original in ``reblog``).
``kpis.csv``, ``survey.csv``, ``audience.csv``
    ``series,ts,value,unit`` (120 days); ``wave,respondent,question,answer,segment,weight,exposed``;
    ``platform,account_id,dimension,category,share,source`` for the top 50 influencers.
``credibility.csv``
    ``domain,rating,source``: the world's own credibility list, every planted low-credibility domain
    rated ``low`` and every reputable one ``high``, source ``simulated-world``. The shipped default
    list (OpenSources) rates none of them; supply this one as a user would supply theirs:
    ``confiance sources --credibility world/credibility.csv`` (kept in the store, so a later
    ``confiance analyze`` uses it).
``truth-posts.jsonl``
    one line per post: ``{"truth_post": {platform, post_id, account_id, kind, topic, language,
    sentiment (negative|neutral|positive), stance (against|neutral|favour toward the campaign
    brand, null when the post is not about it), sponsored, coordinated_group, domain}}``.
``truth.json``
    the planted truth:

    - ``parameters``: seed, accounts, posts, platforms, base date, days, homophily, windows;
    - ``counts``: accounts and posts per platform (Bluesky posts = post views + repost events;
      likes and follows are extra events, not posts);
    - ``accounts``: per account ``platform, account_id, handle, community, language, languages,
      side (0/1), is_influencer, is_bot, is_brand, coordinated_group (or null), exposed,
      followers`` and, for influencers, ``audience`` {age, gender, country: {category: share}};
    - ``communities``: ``id, language, side, topic_mix {topic: share}, accounts {platform: n}``;
    - ``topics``: ``id, label, keywords {fr, en}, hashtags``;
    - ``bots``: ``platform, account_id, telltales``;
    - ``coordinated_groups``: ``id, platform, accounts, kinds`` (co_repost, shared_link,
      near_duplicate_text), and ``coordination_events``: ``id, group, kind, target_post_id``
      (co-reposts) or ``url`` (shared link + near-duplicate text), ``posts, accounts, first, last,
      span_seconds``; every co-repost event spans at most ``co_repost_window_seconds``;
    - ``sponsored_posts``: ``platform, post_id, account_id, brand, category, category_status``
      (allowed | banned | restricted under the French influencer law of 9 June 2023), ``labelled,
      label, promo_code, campaign``;
    - ``domains``: ``low_credibility`` [{domain, posts: [post ids of the posts, replies and quotes
      that link it]}] and ``reputable`` [domains];
    - ``campaign``: ``brand, topic, intervention_date, intervention_index`` (into the KPI days),
      ``seed_influencers``, ``kpi`` (true absolute effect per day and cumulative per treated series,
      control series), ``survey`` (true effect on the exposed), ``stance_shift`` (of the latent
      stance), ``stance_effect`` (its expected effect on the stance score, favour +1 / neutral 0 /
      against -1, of the exposed accounts' posts after the intervention, averaged over the exposed
      accounts with such posts before and after it: the scale and the estimand of a
      difference-in-differences of account stance) and
      ``exposed_accounts`` [{platform, account_id, stance_before, stance_after, exposed_at}];
      exposure happens through the graph: an exposed account replied to, reposted or quoted a
      campaign post (a seed's or the brand's, from the intervention on; on Mastodon, boosted one)
      at ``exposed_at``, its stance shifts by ``stance_shift`` from then on, and no other account
      replied to, reposted, quoted or liked a campaign post, followed a seed or the brand, or was
      mentioned by a campaign post (the brand aside) — so the exposure that
      :func:`confiance.campaign.exposure.campaign_exposure` derives from the data since the
      intervention is exactly ``exposed`` (plus the brand, as ``addressed``, on a platform where it
      posted no campaign post itself: the seeds' campaign posts tag it);
    - ``audience_reports``: the influencers in ``audience.csv`` and the source of each report.

Ids are those an importer stores: X tweet and user ids; Bluesky AT-URIs (post views, and
``at://did/app.bsky.feed.repost/rkey`` for reposts) and DIDs; Mastodon status URIs (a boost's URI
ends in ``/activity``) and ``user@host`` accounts.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
import orjson

from confiance.simulate import vocabulary as V
from confiance.simulate.audience import write_audience
from confiance.simulate.credibility import write_credibility
from confiance.simulate.kpis import write_kpis
from confiance.simulate.model import (BASE_MS, CO_REPOST_WINDOW_S, COPYPASTA_WINDOW_S, DAY_MS, DAYS,
                                      HOMOPHILY, INTERVENTION_DAY, NEVER, PLATFORM_KEYS, PLATFORM_SHARES, STANCE_SHIFT,
                                      PostStream, make_accounts, make_communities, make_groups, split_total)
from confiance.simulate.survey import write_survey
from confiance.simulate.truth import TruthRecorder
from confiance.simulate.writers import WRITERS, iso_ms, parent_records, records

__all__ = ["simulate_world", "PLATFORMS"]

PLATFORMS = ("x", "bluesky", "mastodon")
SEEDS_PER_PLATFORM = {"x": 4, "bluesky": 2, "mastodon": 2}
#: Offset of the exposure generator's key: its draws leave every other draw of the world unchanged.
EXPOSURE_KEY = 100
MIN_ACCOUNTS_PER_PLATFORM = 40


def _choose_seeds_and_exposure(rng: np.random.Generator, acc, platform: str) -> None:
    cands = [int(i) for i in np.flatnonzero(acc.influencer & np.isin(acc.community, (0, 4)))]
    cands.sort(key=lambda i: (-int(acc.followers[i]), i))
    fr = [i for i in cands if acc.community[i] == 0]
    en = [i for i in cands if acc.community[i] == 4]
    seeds: list[int] = []
    while len(seeds) < SEEDS_PER_PLATFORM[platform] and (fr or en):
        for lst in (fr, en):
            if lst and len(seeds) < SEEDS_PER_PLATFORM[platform]:
                seeds.append(lst.pop(0))
    acc.seeds = seeds
    p = np.select([np.isin(acc.community, (0, 4)), np.isin(acc.community, (1, 5))], [0.6, 0.2], 0.0)
    targeted = rng.random(acc.n) < p
    targeted[seeds] = False
    targeted[acc.brand] = False
    acc.targeted = targeted  # exposure itself happens in the stream, through the graph (model.PostStream)
    acc.exposed = np.zeros(acc.n, bool)
    acc.exposed_ms = np.full(acc.n, NEVER, np.int64)


def simulate_world(outdir: Path, *, seed: int = 0, accounts: int = 2000, posts: int = 20000,
                   platforms: tuple[str, ...] = PLATFORMS,
                   progress: Callable[[int], None] | None = None) -> dict:
    """Write a synthetic world with planted truth under ``outdir``; return a summary.

    Parameters
    ----------
    outdir : folder to write (created; existing files of the same names are overwritten).
    seed : the world's seed; the same arguments give the same bytes.
    accounts, posts : totals across platforms (posts include replies, reposts and quotes), split
        X 60% / Bluesky 25% / Mastodon 15% over ``platforms`` by largest remainder, so the
        per-platform counts sum exactly to the totals.
    platforms : any of ``x``, ``bluesky``, ``mastodon``.
    progress : called with the number of posts just written, after each chunk.

    Returns
    -------
    dict with ``files`` (paths relative to outdir), ``accounts`` and ``posts`` per platform,
    ``bluesky_events`` (reposts, likes, follows) when Bluesky is written.

    Examples
    --------
    >>> summary = simulate_world(Path("/tmp/world"), seed=1, accounts=500, posts=3000)  # doctest: +SKIP
    >>> summary["posts"]  # doctest: +SKIP
    {'x': 1800, 'bluesky': 750, 'mastodon': 450}
    """
    outdir = Path(outdir)
    unknown = [p for p in platforms if p not in PLATFORMS]
    if unknown or not platforms:
        raise ValueError(f"unknown platform(s) {unknown}; choose among {', '.join(PLATFORMS)}")
    chosen = [p for p in PLATFORMS if p in platforms]
    shares = {p: PLATFORM_SHARES[p] for p in chosen}
    acc_split = split_total(int(accounts), shares)
    post_split = split_total(int(posts), shares)
    if min(acc_split.values()) < MIN_ACCOUNTS_PER_PLATFORM:
        raise ValueError(f"accounts={accounts} is too few: each platform needs {MIN_ACCOUNTS_PER_PLATFORM} "
                         f"(split {acc_split})")
    if min(post_split.values()) < 100:
        raise ValueError(f"posts={posts} is too few: each platform needs 100 (split {post_split})")
    outdir.mkdir(parents=True, exist_ok=True)

    rng = np.random.default_rng(seed)
    communities = make_communities(rng)
    truth = TruthRecorder(outdir)
    summary: dict = {"outdir": str(outdir), "seed": seed, "accounts": acc_split, "posts": post_split, "files": []}
    truth_accounts, bots, groups_out, seeds_out, exposed_out, influencers = [], [], [], [], [], []
    stance_effects = []
    community_sizes: dict[int, dict[str, int]] = {c: {} for c in range(len(communities))}
    try:
        for platform in chosen:
            prng = np.random.default_rng([seed, PLATFORM_KEYS[platform]])
            acc = make_accounts(prng, platform, acc_split[platform], communities)
            _choose_seeds_and_exposure(prng, acc, platform)
            groups = make_groups(prng, acc, post_split[platform], platform)
            exposure_rng = np.random.default_rng([seed, EXPOSURE_KEY + PLATFORM_KEYS[platform]])
            stream = PostStream(prng, acc, groups, communities, post_split[platform], platform, exposure_rng)
            writer = WRITERS[platform](outdir, acc, seed)
            chunk = int(min(5000, max(100, post_split[platform] // 50)))
            for rows, parents in stream.chunks(chunk):
                extra = {}
                if platform == "bluesky":
                    lo, hi = int(rows["time_ms"][0]), int(rows["time_ms"][-1]) + 1
                    subjects, likers = stream.pool_sample(round(0.6 * len(rows)))
                    when = np.maximum(prng.integers(lo, hi, len(subjects)), subjects["time_ms"] + 1000)
                    src, dst = stream.follow_sample(round(0.15 * len(rows)))
                    extra = {"likes": stream.visible_likes(subjects, likers, when),
                             "follows": stream.visible_follows(src, dst, prng.integers(lo, hi, len(src)))}
                recs, precs = records(rows), parent_records(rows, parents)
                post_ids = writer.write(recs, precs, **extra)
                truth.record(platform, writer, groups, recs, precs, post_ids)
                if progress is not None:
                    progress(len(rows))
            written = writer.close()
            stance_effects.append(stream.stance_effect())
            summary["files"] += [str(Path(f).relative_to(outdir)) for f in written.pop("files")]
            if platform == "bluesky":
                summary["bluesky_events"] = {k: written[k] for k in ("reposts", "likes", "follows")}
            _account_truth(platform, acc, groups, writer, truth_accounts, bots, groups_out, seeds_out, exposed_out,
                           influencers)
            for c in range(len(communities)):
                community_sizes[c][platform] = int((acc.community == c).sum())
    finally:
        truth.close()

    kpi_truth = write_kpis(outdir / "kpis.csv", np.random.default_rng([seed, 11]))
    survey_truth = write_survey(outdir / "survey.csv", np.random.default_rng([seed, 12]))
    reported = write_audience(outdir / "audience.csv", np.random.default_rng([seed, 13]), influencers)
    write_credibility(outdir / "credibility.csv")
    summary["files"] += ["kpis.csv", "survey.csv", "audience.csv", "credibility.csv", "truth.json", "truth-posts.jsonl"]

    events = truth.coordination_events()
    doc = {
        "parameters": {"seed": seed, "accounts": accounts, "posts": posts, "platforms": chosen,
                       "base_date": iso_ms(BASE_MS), "days": DAYS, "homophily": HOMOPHILY,
                       "co_repost_window_seconds": CO_REPOST_WINDOW_S,
                       "shared_link_window_seconds": COPYPASTA_WINDOW_S,
                       "collected_at": iso_ms(BASE_MS + (DAYS + 1) * DAY_MS)},
        "counts": {"accounts": acc_split, "posts": post_split, **({"bluesky_events": summary["bluesky_events"]}
                                                                   if "bluesky_events" in summary else {})},
        "topics": [{"id": t[0], "label": t[1], "keywords": {"fr": list(t[2]), "en": list(t[3])}, "hashtags": list(t[4])}
                   for t in V.TOPICS],
        "communities": [{"id": c.id, "language": V.LANG_CODES[c.language], "side": c.side,
                         "topic_mix": {V.TOPICS[k][0]: round(float(s), 6) for k, s in enumerate(c.topic_mix)},
                         "accounts": community_sizes[c.id]} for c in communities],
        "accounts": truth_accounts,
        "bots": bots,
        "coordinated_groups": groups_out,
        "coordination_events": events,
        "sponsored_posts": truth.sponsored,
        "domains": {"low_credibility": [{"domain": d, "posts": p} for d, p in truth.low_credibility.items()],
                    "reputable": list(V.REPUTABLE_DOMAINS), "brand": "solvane.example"},
        "campaign": {
            "brand": V.CAMPAIGN_BRAND, "topic": V.TOPICS[0][0], "hashtag": V.CAMPAIGN_HASHTAG,
            "url": V.CAMPAIGN_URL, "promo_code": V.CAMPAIGN_PROMO, "segments": list(V.SEGMENTS),
            "intervention_date": datetime.fromtimestamp((BASE_MS + INTERVENTION_DAY * DAY_MS) / 1000,
                                                        tz=timezone.utc).strftime("%Y-%m-%d"),
            "intervention_index": INTERVENTION_DAY,
            "seed_influencers": seeds_out, "kpi": kpi_truth, "survey": survey_truth,
            "stance_shift": STANCE_SHIFT, "stance_effect": round(float(np.concatenate(stance_effects).mean()), 4),
            "exposed_accounts": exposed_out,
        },
        "audience_reports": reported,
    }
    (outdir / "truth.json").write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    summary["files"] = sorted(summary["files"])
    summary["coordination_events"] = len(events)
    summary["sponsored_posts"] = len(truth.sponsored)
    return summary


def _account_truth(platform, acc, groups, writer, out, bots, groups_out, seeds_out, exposed_out, influencers) -> None:
    ids, handles = writer.account_ids, writer.display_handles
    cols = {k: getattr(acc, k).tolist() for k in ("community", "lang", "bilingual", "side", "influencer", "bot",
                                                   "brand", "group", "exposed", "followers", "stance", "declared_bot")}
    for i in range(acc.n):
        lang = V.LANG_CODES[cols["lang"][i]]
        entry = {"platform": platform, "account_id": ids[i], "handle": handles[i], "community": cols["community"][i],
                 "language": lang, "languages": ["fr", "en"] if cols["bilingual"][i] else [lang],
                 "side": cols["side"][i], "is_influencer": cols["influencer"][i], "is_bot": cols["bot"][i],
                 "is_brand": cols["brand"][i],
                 "coordinated_group": groups.ids[cols["group"][i]] if cols["group"][i] >= 0 else None,
                 "exposed": cols["exposed"][i], "followers": cols["followers"][i]}
        if i in acc.audience:
            entry["audience"] = acc.audience[i]
            influencers.append((platform, ids[i], acc.audience[i], cols["followers"][i]))
        out.append(entry)
        if cols["bot"][i]:
            tells = ["default_avatar", "empty_bio", "recent_creation", "digits_in_handle", "regular_intervals",
                     "high_repost_ratio", "many_hashtags_and_links"]
            if cols["declared_bot"][i] and platform == "mastodon":
                tells.append("declared_bot_flag")
            bots.append({"platform": platform, "account_id": ids[i], "telltales": tells})
        if cols["exposed"][i]:
            before = round(cols["stance"][i], 4)
            exposed_out.append({"platform": platform, "account_id": ids[i], "stance_before": before,
                                "stance_after": round(before + STANCE_SHIFT, 4),
                                "exposed_at": iso_ms(int(acc.exposed_ms[i]))})
    for g, gid in enumerate(groups.ids):
        groups_out.append({"id": gid, "platform": platform, "accounts": [ids[i] for i in groups.members[g].tolist()],
                           "kinds": list(groups.kinds[g])})
    for i in acc.seeds:
        seeds_out.append({"platform": platform, "account_id": ids[i], "handle": handles[i],
                          "community": int(acc.community[i]), "followers": int(acc.followers[i])})
