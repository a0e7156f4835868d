"""The simulated world: determinism, counts, planted truth checked against the written files,
and round trips through the importers."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from statistics import median

import numpy as np
import pytest

from confiance.simulate import simulate_world

ACCOUNTS, POSTS = 600, 4000


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("world")
    return out, simulate_world(out, seed=7, accounts=ACCOUNTS, posts=POSTS)


@pytest.fixture(scope="module")
def truth(world) -> dict:
    return json.loads((world[0] / "truth.json").read_text())


def _lines(folder: Path, pattern: str):
    for path in sorted(folder.glob(pattern)):
        with path.open("rb") as f:
            for line in f:
                yield json.loads(line)


def _ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------------------ parsed files

@pytest.fixture(scope="module")
def x_files(world):
    """X tweets in ``data`` (by id), and users seen anywhere."""
    tweets, users, included = {}, {}, {}
    for page in _lines(world[0] / "x", "tweets-*.jsonl"):
        assert len(page["data"]) <= 100
        assert set(page["__twarc"]) == {"url", "version", "retrieved_at"}
        for t in page["data"]:
            tweets[t["id"]] = t
        for u in page["includes"]["users"]:
            users[u["id"]] = u
        for t in page["includes"].get("tweets", []):
            included[t["id"]] = t
        page_users = {u["id"] for u in page["includes"]["users"]}
        page_tweets = {t["id"] for t in page["includes"].get("tweets", [])}
        for t in page["data"]:
            needed = {t["author_id"]} | {m["id"] for m in t.get("entities", {}).get("mentions", [])}
            if t.get("in_reply_to_user_id"):
                needed.add(t["in_reply_to_user_id"])
            assert needed <= page_users
            assert {r["id"] for r in t.get("referenced_tweets", [])} <= page_tweets
    return tweets, users, included


@pytest.fixture(scope="module")
def bsky_files(world):
    views = list(_lines(world[0] / "bluesky", "posts-*.jsonl"))
    events = list(_lines(world[0] / "bluesky", "jetstream-*.jsonl"))
    return views, events


@pytest.fixture(scope="module")
def masto_files(world):
    return list(_lines(world[0] / "mastodon", "statuses-*.jsonl"))


# --------------------------------------------------------------------------------- behaviour

def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    a = simulate_world(tmp_path / "a", seed=5, accounts=300, posts=1500)
    b = simulate_world(tmp_path / "b", seed=5, accounts=300, posts=1500)
    simulate_world(tmp_path / "c", seed=6, accounts=300, posts=1500)
    da, db, dc = _digests(tmp_path / "a"), _digests(tmp_path / "b"), _digests(tmp_path / "c")
    assert da == db
    assert a["files"] == b["files"]
    assert set(da) == set(dc)
    # the credibility list rates the vocabulary's domains, the same in every world
    assert da["credibility.csv"] == dc["credibility.csv"]
    assert all(da[f] != dc[f] for f in da if f != "credibility.csv")


def test_counts_equal_requested_totals(world, truth, x_files, bsky_files, masto_files):
    out, summary = world
    assert sum(summary["posts"].values()) == POSTS and sum(summary["accounts"].values()) == ACCOUNTS
    assert summary["posts"] == {"x": 2400, "bluesky": 1000, "mastodon": 600}
    tweets, _, _ = x_files
    views, events = bsky_files
    reposts = [e for e in events if e["commit"]["collection"] == "app.bsky.feed.repost"]
    assert len(tweets) == summary["posts"]["x"]
    assert len(views) + len(reposts) == summary["posts"]["bluesky"]
    assert len(masto_files) == summary["posts"]["mastodon"]
    truth_posts = list(_lines(out, "truth-posts.jsonl"))
    assert len(truth_posts) == POSTS
    assert len(truth["accounts"]) == ACCOUNTS
    per_platform = defaultdict(int)
    for a in truth["accounts"]:
        per_platform[a["platform"]] += 1
    assert dict(per_platform) == summary["accounts"]
    for e in events:
        assert e["kind"] == "commit" and e["commit"]["operation"] == "create"


def test_platform_subset_and_bad_arguments(tmp_path):
    s = simulate_world(tmp_path / "x", seed=1, accounts=200, posts=1000, platforms=("x",))
    assert s["posts"] == {"x": 1000} and not (tmp_path / "x" / "bluesky").exists()
    with pytest.raises(ValueError):
        simulate_world(tmp_path / "bad", platforms=("myspace",))
    with pytest.raises(ValueError):
        simulate_world(tmp_path / "bad", accounts=30, posts=1000)


def test_every_truth_id_exists_in_the_platform_files(world, truth, x_files, bsky_files, masto_files):
    out, _ = world
    tweets, users, included = x_files
    views, events = bsky_files
    post_ids = set(tweets)
    post_ids |= {v["uri"] for v in views}
    post_ids |= {f"at://{e['did']}/{e['commit']['collection']}/{e['commit']['rkey']}" for e in events
                 if e["commit"]["collection"] == "app.bsky.feed.repost"}
    post_ids |= {s["uri"] for s in masto_files}
    assert set(included) <= set(tweets)  # every referenced tweet is also a tweet of the data
    account_ids = set(users)
    account_ids |= {v["author"]["did"] for v in views} | {e["did"] for e in events}
    for s in masto_files:
        for acc in (s["account"], (s.get("reblog") or {}).get("account")):
            if acc:
                host = acc["url"].split("/")[2]
                account_ids.add((acc["acct"] if "@" in acc["acct"] else f"{acc['acct']}@{host}").lower())

    truth_posts = [line["truth_post"] for line in _lines(out, "truth-posts.jsonl")]
    assert {p["post_id"] for p in truth_posts} == post_ids
    assert {a["account_id"] for a in truth["accounts"]} <= account_ids  # posts >= 2 x accounts: all posted
    referenced = {p["post_id"] for p in truth["sponsored_posts"]}
    for d in truth["domains"]["low_credibility"]:
        referenced |= set(d["posts"])
    for e in truth["coordination_events"]:
        referenced |= set(e["posts"])
        if e["target_post_id"]:
            referenced.add(e["target_post_id"])
    assert referenced <= post_ids
    accounts = {a["account_id"] for a in truth["accounts"]}
    for g in truth["coordinated_groups"]:
        assert set(g["accounts"]) <= accounts
    assert {b["account_id"] for b in truth["bots"]} <= accounts
    assert {s["account_id"] for s in truth["campaign"]["seed_influencers"]} <= accounts
    assert {e["account_id"] for e in truth["campaign"]["exposed_accounts"]} <= accounts


def _community_share(pairs, community) -> float:
    same = sum(community[a] == community[b] for a, b in pairs if a in community and b in community and a != b)
    total = sum(1 for a, b in pairs if a in community and b in community and a != b)
    assert total > 200
    return same / total


def test_interactions_stay_mostly_inside_communities(truth, x_files, bsky_files, masto_files):
    community = {a["account_id"]: a["community"] for a in truth["accounts"]}
    tweets, _, included = x_files
    pairs = []
    for t in tweets.values():
        for ref in t.get("referenced_tweets", []):
            pairs.append((t["author_id"], included[ref["id"]]["author_id"]))
        for m in t.get("entities", {}).get("mentions", []):
            pairs.append((t["author_id"], m["id"]))
    assert _community_share(pairs, community) > 0.7

    views, events = bsky_files
    did_of = lambda uri: uri.split("/")[2]  # noqa: E731
    pairs = []
    for v in views:
        rec = v["record"]
        if "reply" in rec:
            pairs.append((v["author"]["did"], did_of(rec["reply"]["parent"]["uri"])))
        for f in rec.get("facets", []):
            if f["features"][0]["$type"].endswith("#mention"):
                pairs.append((v["author"]["did"], f["features"][0]["did"]))
    for e in events:
        subject = e["commit"]["record"]["subject"]
        pairs.append((e["did"], subject if isinstance(subject, str) else did_of(subject["uri"])))
    assert _community_share(pairs, community) > 0.7

    def acct(a):
        host = a["url"].split("/")[2]
        return (a["acct"] if "@" in a["acct"] else f"{a['acct']}@{host}").lower()

    pairs = []
    for s in masto_files:
        src = acct(s["account"])
        if s["reblog"]:
            pairs.append((src, acct(s["reblog"]["account"])))
        for m in s["mentions"]:
            pairs.append((src, acct(m)))
    assert _community_share(pairs, community) > 0.7


def test_bots_post_more_regularly_than_humans(truth, x_files):
    kind = {a["account_id"]: a["is_bot"] for a in truth["accounts"] if a["platform"] == "x"}
    times = defaultdict(list)
    for t in x_files[0].values():
        times[t["author_id"]].append(_ts(t["created_at"]))
    cv = {True: [], False: []}
    for account, ts in times.items():
        if len(ts) >= 6:
            gaps = np.diff(np.sort(ts))
            cv[kind[account]].append(gaps.std() / gaps.mean())
    assert len(cv[True]) >= 5 and len(cv[False]) >= 20
    assert median(cv[True]) < 0.5 * median(cv[False])


def test_bot_profiles_have_telltales(truth, x_files):
    bots = {b["account_id"] for b in truth["bots"] if b["platform"] == "x"}
    users = x_files[1]
    for b in bots:
        u = users[b]
        assert "default_profile_images" in u["profile_image_url"] and u["description"] == ""
        assert re.search(r"\d{4,}", u["username"])
    humans = [u for uid, u in users.items() if uid not in bots]
    assert sum(bool(re.search(r"\d{4,}", u["username"])) for u in humans) < 0.05 * len(humans)


def test_coordinated_co_reposts_fall_within_the_window(truth, x_files, bsky_files, masto_files):
    window = truth["parameters"]["co_repost_window_seconds"]
    tweets = x_files[0]
    views, events = bsky_files
    when, target = {}, {}
    for t in tweets.values():
        when[t["id"]] = _ts(t["created_at"])
        target[t["id"]] = next((r["id"] for r in t.get("referenced_tweets", []) if r["type"] == "retweeted"), None)
    for e in events:
        uri = f"at://{e['did']}/{e['commit']['collection']}/{e['commit']['rkey']}"
        when[uri] = e["time_us"] / 1e6
        target[uri] = e["commit"]["record"].get("subject", {}).get("uri") if e["commit"]["collection"].endswith("repost") else None
    for s in masto_files:
        when[s["uri"]] = _ts(s["created_at"])
        target[s["uri"]] = s["reblog"]["uri"] if s["reblog"] else None
    co = [e for e in truth["coordination_events"] if e["kind"] == "co_repost"]
    assert len(co) >= 5 and any(len(e["posts"]) >= 4 for e in co)
    group_accounts = {g["id"]: set(g["accounts"]) for g in truth["coordinated_groups"]}
    for e in co:
        times = [when[p] for p in e["posts"]]
        assert max(times) - min(times) <= window
        assert {target[p] for p in e["posts"]} == {e["target_post_id"]}
        assert set(e["accounts"]) <= group_accounts[e["group"]]
    copies = [e for e in truth["coordination_events"] if e["kind"] != "co_repost"]
    assert copies and all(e["url"] for e in copies)


def test_bluesky_facets_slice_utf8_bytes_exactly(bsky_files):
    views, _ = bsky_files
    handle = {v["author"]["did"]: v["author"]["handle"] for v in views}
    checked = non_ascii = 0
    for v in views:
        text = v["record"]["text"]
        raw = text.encode()
        non_ascii += len(raw) != len(text) and bool(v["record"].get("facets"))
        for f in v["record"].get("facets", []):
            piece = raw[f["index"]["byteStart"]:f["index"]["byteEnd"]].decode()
            feature = f["features"][0]
            kind = feature["$type"].rsplit("#", 1)[1]
            if kind == "mention":
                assert piece.startswith("@") and handle.get(feature["did"], piece[1:]) == piece[1:]
            elif kind == "tag":
                assert piece == "#" + feature["tag"]
            else:
                assert piece == feature["uri"]
            checked += 1
    assert checked > 100 and non_ascii > 20


FR_STOP = {"le", "la", "les", "de", "des", "et", "est", "que", "pour", "je", "pas", "une", "un", "en", "on", "qui",
           "du", "sur", "c'est", "mais", "avec", "il", "nous", "ce", "dans"}
EN_STOP = {"the", "and", "is", "to", "of", "for", "i", "it", "that", "not", "a", "in", "on", "we", "with", "this",
           "about", "but", "my", "be", "are", "what"}


def _french(text: str) -> bool:
    words = re.findall(r"[\w']+", text.lower())
    return sum(w in FR_STOP for w in words) > sum(w in EN_STOP for w in words)


def test_french_communities_write_french(world, truth, x_files):
    community_lang = {c["id"]: c["language"] for c in truth["communities"]}
    account_lang = {a["account_id"]: (community_lang[a["community"]], len(a["languages"]) > 1)
                    for a in truth["accounts"]}
    fr = en = 0
    right = 0
    for t in x_files[0].values():
        lang, bilingual = account_lang[t["author_id"]]
        if bilingual or "referenced_tweets" in t:
            continue
        fr += lang == "fr"
        en += lang == "en"
        right += _french(t["text"]) == (lang == "fr")
    assert fr > 200 and en > 200
    assert right / (fr + en) > 0.97


def test_sponsored_posts_cover_labels_and_restricted_categories(truth, x_files, bsky_files, masto_files):
    sponsored = truth["sponsored_posts"]
    assert any(s["labelled"] for s in sponsored) and any(not s["labelled"] for s in sponsored)
    assert {"banned", "restricted"} & {s["category_status"] for s in sponsored}
    assert any(s["campaign"] for s in sponsored)
    texts = {t["id"]: t["text"] for t in x_files[0].values()}
    texts |= {v["uri"]: v["record"]["text"] for v in bsky_files[0]}
    texts |= {s["uri"]: s["content"] for s in masto_files}
    for s in sponsored:
        text = texts[s["post_id"]]
        assert s["promo_code"] in text
        if s["labelled"]:
            assert s["label"].lstrip("#") in text
        else:
            assert not re.search(r"Publicité|Collaboration commerciale|#pub\b|#ad\b|Paid partnership", text)


def test_campaign_truth_and_tables(world, truth):
    out, _ = world
    camp = truth["campaign"]
    assert camp["intervention_index"] == 84 and camp["seed_influencers"]
    with (out / "kpis.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert set(rows[0]) == {"series", "ts", "value", "unit"}
    series = defaultdict(list)
    for r in rows:
        series[r["series"]].append(float(r["value"]))
    assert all(len(v) == 120 for v in series.values()) and len(series) >= 4
    for name, effect in camp["kpi"]["effects"].items():
        assert name in series and effect["cumulative"] == effect["effect_per_day"] * effect["post_days"]
    for control in camp["kpi"]["controls"]:  # controls follow the treated series before the campaign
        assert np.corrcoef(series[control][:84], series["site_visits"][:84])[0, 1] > 0.5
    with (out / "survey.csv").open() as f:
        survey = list(csv.DictReader(f))
    assert set(survey[0]) == {"wave", "respondent", "question", "answer", "segment", "weight", "exposed"}
    assert {r["wave"] for r in survey} == {"pre", "post"} and len({r["respondent"] for r in survey}) >= 2000
    assert camp["survey"]["effect"]["att_favourability"] > 0.3
    with (out / "audience.csv").open() as f:
        audience = list(csv.DictReader(f))
    sums = defaultdict(float)
    for r in audience:
        sums[(r["platform"], r["account_id"], r["dimension"])] += float(r["share"])
    influencers = sum(a["is_influencer"] for a in truth["accounts"])
    assert len({k[:2] for k in sums}) == min(50, influencers) > 10
    assert all(abs(v - 1) < 1e-9 for v in sums.values())
    shifted = [e["stance_after"] - e["stance_before"] for e in camp["exposed_accounts"]]
    assert shifted and all(abs(s - camp["stance_shift"]) < 1e-3 for s in shifted)


def test_progress_reports_every_post(tmp_path):
    seen = []
    simulate_world(tmp_path / "p", seed=2, accounts=300, posts=1500, progress=seen.append)
    assert sum(seen) == 1500 and len(seen) > 3


# ---------------------------------------------------------------------------- import round trips

def _ingest(folder: Path, tmp_path: Path):
    from confiance.ingest import ingest_paths
    from confiance.workspace import Workspace

    ws = Workspace.init(tmp_path / "ws")
    return ws, ingest_paths(ws, [folder])


def _query(ws, sql):
    with ws.reader() as con:
        return con.execute(sql).fetchall()


def _needs_format(name: str) -> None:
    from confiance.ingest import formats

    if name not in formats():
        pytest.skip(f"the {name} importer is not written yet")


def test_x_files_import_without_rejects(world, x_files, tmp_path):
    out, summary = world
    ws, results = _ingest(out / "x", tmp_path)
    assert sum(r.rejected for r in results) == 0
    assert sum(r.records_read for r in results) == summary["posts"]["x"]
    stored = {pid for (pid,) in _query(ws, "SELECT post_id FROM posts WHERE platform = 'x'")}
    assert stored == set(x_files[0])
    # truncated retweets get their full text back from includes
    tweets, _, included = x_files
    rt = next(t for t in tweets.values() if t["text"].startswith("RT @") and t["text"].endswith("…"))
    (text,) = _query(ws, f"SELECT text FROM posts WHERE post_id = '{rt['id']}'")[0]
    assert text.endswith(included[rt["referenced_tweets"][0]["id"]]["text"])


def test_bluesky_files_import_without_rejects(world, bsky_files, tmp_path):
    _needs_format("bluesky")
    out, summary = world
    views, events = bsky_files
    ws, results = _ingest(out / "bluesky", tmp_path)
    assert sum(r.rejected for r in results) == 0
    assert sum(r.duplicates for r in results) == 0
    stored = {pid for (pid,) in _query(ws, "SELECT post_id FROM posts WHERE platform = 'bluesky'")}
    assert stored == {v["uri"] for v in views}
    kinds = dict(_query(ws, "SELECT kind, count(*) FROM interactions WHERE kind IN ('repost', 'like', 'follow') GROUP BY kind"))
    assert kinds == {"repost": summary["bluesky_events"]["reposts"], "like": summary["bluesky_events"]["likes"],
                     "follow": summary["bluesky_events"]["follows"]}


def test_mastodon_files_import_without_rejects(world, masto_files, truth, tmp_path):
    _needs_format("mastodon")
    out, summary = world
    ws, results = _ingest(out / "mastodon", tmp_path)
    assert sum(r.rejected for r in results) == 0
    stored = {pid for (pid,) in _query(ws, "SELECT post_id FROM posts WHERE platform = 'mastodon'")}
    assert stored == {s["uri"] for s in masto_files}
    accounts = {a for (a,) in _query(ws, "SELECT account_id FROM accounts WHERE platform = 'mastodon'")}
    assert {a["account_id"] for a in truth["accounts"] if a["platform"] == "mastodon"} <= accounts


def test_csv_tables_import_without_rejects(world, tmp_path):
    for name in ("kpi-csv", "survey-csv", "audience-csv"):
        _needs_format(name)
    out, _ = world
    from confiance.ingest import ingest_paths
    from confiance.workspace import Workspace

    ws = Workspace.init(tmp_path / "ws")
    results = ingest_paths(ws, [out / "kpis.csv", out / "survey.csv", out / "audience.csv"])
    assert [r.format for r in results] == ["kpi-csv", "survey-csv", "audience-csv"]
    assert all(r.rejected == 0 and r.records_read == r.stored for r in results)


@pytest.mark.slow
def test_a_200k_post_world_writes_correctly(tmp_path):
    out = tmp_path / "big"
    summary = simulate_world(out, seed=11, accounts=20_000, posts=200_000)
    pages = list(_lines(out / "x", "tweets-*.jsonl"))
    assert sum(len(p["data"]) for p in pages) == summary["posts"]["x"] == 120_000
    assert len({t["id"] for p in pages for t in p["data"]}) == 120_000
    views = sum(1 for _ in _lines(out / "bluesky", "posts-*.jsonl"))
    assert views + summary["bluesky_events"]["reposts"] == 50_000
    assert sum(1 for _ in _lines(out / "mastodon", "statuses-*.jsonl")) == 30_000
    with (out / "truth-posts.jsonl").open("rb") as f:
        assert sum(1 for _ in f) == 200_000
    truth = json.loads((out / "truth.json").read_text())
    assert len(truth["accounts"]) == 20_000 and len(truth["coordination_events"]) > 50


def test_exposure_happens_through_the_graph(truth, x_files):
    """On X: each exposed account replied to, retweeted or quoted a campaign tweet (from the
    intervention on) at the time the truth names, and no other account touched one: no reply inside
    a campaign thread, no retweet, no quote, no mention by a campaign tweet (the brand aside)."""
    tweets, _, _ = x_files
    camp = truth["campaign"]
    start = _ts(camp["intervention_date"] + "T00:00:00Z")

    def is_campaign(t):
        tags = {h["tag"].lower() for h in t.get("entities", {}).get("hashtags", [])}
        urls = [u["expanded_url"] for u in t.get("entities", {}).get("urls", [])]
        return (_ts(t["created_at"]) >= start and not t["text"].startswith("RT @")
                and (camp["hashtag"].lower() in tags or any(u.startswith(camp["url"]) for u in urls)))

    campaign = {i for i, t in tweets.items() if is_campaign(t)}
    authors = {tweets[i]["author_id"] for i in campaign}
    seeds = {s["account_id"] for s in camp["seed_influencers"] if s["platform"] == "x"}
    assert campaign and authors & seeds
    brand = {a["account_id"] for a in truth["accounts"] if a["is_brand"] and a["platform"] == "x"}
    first_seen: dict[str, float] = {}
    for t in tweets.values():
        refs = {r["id"] for r in t.get("referenced_tweets", [])} | {t.get("conversation_id")}
        if refs & campaign and t["author_id"] not in authors:
            first_seen[t["author_id"]] = min(first_seen.get(t["author_id"], np.inf), _ts(t["created_at"]))
    for i in campaign:
        for m in tweets[i].get("entities", {}).get("mentions", []):
            if m["id"] not in brand | authors:
                first_seen[m["id"]] = min(first_seen.get(m["id"], np.inf), _ts(tweets[i]["created_at"]))
    planted = {e["account_id"]: _ts(e["exposed_at"]) for e in camp["exposed_accounts"] if e["platform"] == "x"}
    assert len(planted) > 20 and first_seen == planted
    flagged = {a["account_id"] for a in truth["accounts"] if a["platform"] == "x" and a["exposed"]}
    assert flagged == set(planted)
    # the effect on the stance score that a DiD estimates is smaller than the latent shift, and positive
    assert 0.2 < camp["stance_effect"] < camp["stance_shift"]
