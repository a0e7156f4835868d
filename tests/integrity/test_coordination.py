"""Coordinated behaviour: planted groups of the simulated world, organic link sharers, the IRA troll tweets."""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from confiance.integrity.coordination import (ALREADY_NORMAL, _kind_edges, co_action_pairs, coordination_listing,
                                              detect_coordination)
from confiance.integrity.urls import NEEDS_FOLDING, normalise_url
from confiance.pipeline import analyze
from tests.conftest import REAL, ingest, query

IRA = REAL / "ira-russian-troll-tweets"


def _flagged(ws) -> set[tuple[str, str]]:
    return set(query(ws, "SELECT platform, account_id FROM coordination_groups"))


def test_planted_coordinated_accounts_are_found(sim_world):
    _, ws, truth = sim_world
    analyze(ws, only=["coordination"])
    planted = {(g["platform"], a) for g in truth["coordinated_groups"] for a in g["accounts"]}
    flagged = _flagged(ws)
    precision = len(flagged & planted) / max(len(flagged), 1)
    recall = len(flagged & planted) / len(planted)
    assert precision >= 0.95, (precision, recall)
    assert recall >= 0.90, (precision, recall)
    # every kept edge names the posts that tie its two accounts, and they are theirs
    rows = query(ws, "SELECT e.a, e.b, p.account_id FROM coordination_edges e, unnest(e.evidence) AS u(post_id) "
                     "JOIN posts p ON p.platform = e.platform AND p.post_id = u.post_id")
    assert rows and all(owner in (a, b) for a, b, owner in rows)
    # each planted group lands in one detected group
    group_of = dict(((p, a), g) for g, p, a in query(ws, "SELECT group_id, platform, account_id FROM coordination_groups"))
    for group in truth["coordinated_groups"]:
        found = Counter(group_of.get((group["platform"], a)) for a in group["accounts"])
        assert found.most_common(1)[0][1] >= 0.9 * len(group["accounts"]), (group["id"], found)


def test_organic_accounts_sharing_popular_links_and_posts_are_not_flagged(sim_world):
    _, ws, truth = sim_world
    analyze(ws, only=["coordination"])
    planted = {(g["platform"], a) for g in truth["coordinated_groups"] for a in g["accounts"]}
    # organic: not planted; popular: a link to one of the domains at least 50 accounts link to, or a
    # repost of a post at least 5 accounts reposted (the data decide which are popular)
    link_sharers = set(query(ws, """
        WITH shares AS (SELECT platform, account_id, unnest(domains) AS domain FROM posts WHERE kind <> 'repost'),
             popular AS (SELECT domain FROM shares GROUP BY domain HAVING count(DISTINCT (platform, account_id)) >= 50)
        SELECT DISTINCT platform, account_id FROM shares SEMI JOIN popular USING (domain)""")) - planted
    reposters = set(query(ws, """
        WITH popular AS (SELECT platform, parent_post_id FROM posts WHERE kind = 'repost'
                         GROUP BY ALL HAVING count(DISTINCT account_id) >= 5)
        SELECT DISTINCT platform, account_id FROM posts SEMI JOIN popular USING (platform, parent_post_id)
        WHERE kind = 'repost'""")) - planted
    assert len(link_sharers) >= 500 and len(reposters) >= 100, (len(link_sharers), len(reposters))
    flagged = _flagged(ws)
    assert len(flagged & link_sharers) / len(link_sharers) < 0.02
    assert len(flagged & reposters) / len(reposters) < 0.02


def test_listing_follows_the_cli_contract(sim_world):
    _, ws, _ = sim_world
    analyze(ws, only=["coordination"])
    with ws.reader() as con:
        listing = coordination_listing(con)
    assert listing["groups"] and listing["edges"]
    group = listing["groups"][0]
    assert set(group) == {"id", "accounts", "kinds"} and set(group["accounts"][0]) == {"platform", "account_id"}
    edge = listing["edges"][0]
    assert {"a", "b", "kind", "weight", "evidence"} <= set(edge) and edge["weight"] >= 2 and edge["evidence"]


#: The group profiles by their definition, in SQL over the written tables (the step counts them in numpy).
PROFILES_BY_DEFINITION = """
    WITH e AS (SELECT g.group_id, c.* FROM coordination_edges c JOIN coordination_groups g
               ON g.platform = c.platform AND g.account_id = c.a),
         posts_of AS (SELECT e.group_id, unnest(e.evidence) AS post_id, e.platform FROM e),
         times AS (SELECT x.group_id, min(p.created_at) AS first_at, max(p.created_at) AS last_at,
                          count(DISTINCT x.post_id) AS evidence_posts
                   FROM posts_of x JOIN posts p ON p.platform = x.platform AND p.post_id = x.post_id GROUP BY x.group_id),
         sizes AS (SELECT group_id, any_value(platform) AS platform, count(*) AS size, any_value(kinds) AS kinds
                   FROM coordination_groups GROUP BY group_id),
         weights AS (SELECT group_id, count(*) AS edges, sum(weight) AS total_weight FROM e GROUP BY group_id)
    SELECT s.group_id, s.platform, s.size, s.kinds, w.edges, w.total_weight, t.evidence_posts, t.first_at, t.last_at
    FROM sizes s JOIN weights w USING (group_id) JOIN times t USING (group_id) ORDER BY s.group_id"""


def test_group_profiles_match_their_definition(sim_world):
    _, ws, _ = sim_world
    analyze(ws, only=["coordination"])
    columns = "group_id, platform, size, kinds, edges, total_weight, evidence_posts, first_at, last_at"
    with ws.reader() as con:
        written = con.execute(f"SELECT {columns} FROM coordination_group_profiles ORDER BY group_id").fetchall()
        expected = con.execute(PROFILES_BY_DEFINITION).fetchall()
        types = dict(con.execute("SELECT column_name, data_type FROM duckdb_columns() "
                                 "WHERE table_name = 'coordination_group_profiles'").fetchall())
    assert len(written) >= 3 and written == expected
    assert types == {"run_id": "VARCHAR", "group_id": "INTEGER", "platform": "VARCHAR", "size": "BIGINT",
                     "kinds": "VARCHAR[]", "edges": "BIGINT", "total_weight": "HUGEINT", "evidence_posts": "BIGINT",
                     "first_at": "TIMESTAMP WITH TIME ZONE", "last_at": "TIMESTAMP WITH TIME ZONE"}


def test_ira_troll_groups_are_each_one_account_category(workspace):
    """The IRA accounts have no organic controls, so precision cannot be measured; what can be is
    whether the groups found match Linvill & Warren's categories, which were assigned by hand from
    each account's content: a group mixing categories at random would be about as mixed as the
    flagged accounts overall."""
    ingest(workspace, IRA / "ira_tweets_en_2016-10-01_to_2016-11-15.csv.xz")
    category = {r["author_id"].lower(): r["account_category"] for r in csv.DictReader(open(IRA / "authors.csv"))}
    with workspace.reader() as con:
        # publish_date has minute resolution: a 10 s window would only see same-minute stamps
        result = detect_coordination(con, window=60)
    members: dict[int, list[str]] = defaultdict(list)
    for gid, account in zip(result.groups.column("group_id").to_pylist(), result.groups.column("account_id").to_pylist()):
        members[gid].append(category[account])
    flagged = [c for cats in members.values() for c in cats]
    assert len(members) >= 5 and len(flagged) >= 100
    # purity: share of flagged accounts whose group's majority category is theirs
    purity = sum(Counter(cats).most_common(1)[0][1] for cats in members.values()) / len(flagged)
    baseline = Counter(flagged).most_common(1)[0][1] / len(flagged)
    assert purity >= 0.9 and baseline <= 0.6, (purity, baseline)
    big = [Counter(cats).most_common(1)[0][0] for cats in members.values() if len(cats) >= 10]
    assert len(set(big)) >= 3, big  # several categories coordinate, each among itself


def test_sweep_pairs_match_a_brute_force_count():
    rng = np.random.default_rng(0)
    n = 3000
    objects = rng.integers(0, 40, n)
    times = rng.integers(0, 5000, n)
    accounts = rng.integers(0, 60, n)
    order = np.lexsort((times, objects))
    objects, times, accounts = objects[order], times[order], accounts[order]
    i, j = co_action_pairs(objects, times, accounts, 30)
    found = set(zip(i.tolist(), j.tolist()))
    expected = {(x, y) for x in range(n) for y in range(x + 1, n)
                if objects[x] == objects[y] and abs(times[y] - times[x]) <= 30 and accounts[x] != accounts[y]}
    assert found == expected


@pytest.mark.parametrize("min_participation, percentile", [(1, 0.0), (2, 0.0), (1, 0.5), (2, 0.9)])
def test_edge_counts_and_evidence_match_a_brute_force_count(min_participation, percentile):
    """Weights, directed post counts and evidence, against a count over every pair of actions. Some
    posts act on several objects (a post with several links) and some pairs co-act repeatedly on one
    object, so single-pair edges, repeated pairs and shared posts are all exercised."""
    rng = np.random.default_rng(1)
    n_posts, window_ms = 1500, 20_000
    account = rng.integers(0, 50, n_posts)
    time_ms = rng.integers(0, 400_000, n_posts)
    rows = [(int(rng.integers(0, 25)) * 7919 - 50_000, int(time_ms[p]), p, int(account[p]))
            for p in range(n_posts) for _ in range(int(rng.integers(1, 3)))]
    rows = sorted(set(rows))  # by (object, time, post), as the action queries sort
    obj, t, pid, aid = (np.array(column, np.int64) for column in zip(*rows))
    edges = _kind_edges({"obj": obj, "t": t, "pid": pid, "aid": aid}, window_ms / 1000, min_participation, percentile)
    objects, posts = defaultdict(set), defaultdict(lambda: (set(), set()))
    for x in range(len(rows)):
        for y in range(x + 1, len(rows)):
            if obj[x] == obj[y] and abs(t[x] - t[y]) <= window_ms and aid[x] != aid[y]:
                (low, p_low), (high, p_high) = sorted([(aid[x], pid[x]), (aid[y], pid[y])])
                objects[low, high].add(obj[x])
                posts[low, high][0].add(p_low)
                posts[low, high][1].add(p_high)
    weights = np.array([len(o) for o in objects.values()])
    threshold = np.quantile(weights, percentile, method="inverted_cdf") if percentile > 0 else 0
    expected = {edge: (len(o), len(posts[edge][0]), len(posts[edge][1]), sorted(posts[edge][0] | posts[edge][1]))
                for edge, o in objects.items() if len(o) >= max(min_participation, threshold)}
    evidence = defaultdict(list)
    for e, p in zip(edges.evidence_edge.tolist(), edges.evidence_pid.tolist()):
        evidence[e].append(p)
    found = {(a, b): (w, pa_, pb, evidence[e]) for e, (a, b, w, pa_, pb) in enumerate(zip(
        edges.a.tolist(), edges.b.tolist(), edges.weight.tolist(), edges.posts_a.tolist(), edges.posts_b.tolist()))}
    assert len(expected) >= 20 and any(w > 1 for w, *_ in expected.values())
    assert found == expected
    assert list(zip(edges.a.tolist(), edges.b.tolist())) == sorted(found)  # edges in (a, b) order


def test_accounts_sharing_a_hash_are_matched_by_name(sim_world, monkeypatch):
    """Accounts are joined on a 64-bit hash of their key unless two share one: with a hash that
    every account shares, the join on the names must give the same edges and groups."""
    import confiance.integrity.coordination as coordination

    _, ws, _ = sim_world
    options = {"kinds": ["co_repost", "co_hashtag"], "min_participation": 1, "percentile": 0.0}
    with ws.writer() as con:
        hashed = detect_coordination(con, **options)
        monkeypatch.setattr(coordination, "_ACCOUNT_HASH", "hash({0}platform)")
        named = detect_coordination(con, **options)
    assert hashed.edges.num_rows >= 100
    assert hashed.edges.to_pylist() == named.edges.to_pylist() and hashed.groups.equals(named.groups)


@pytest.mark.parametrize("options, message", [
    ({"kinds": ["co_like"]}, "unknown coordination kind 'co_like'"),
    ({"window": -1}, "windows must be >= 0"),
    ({"min_participation": 0}, "min_participation must be >= 1"),
    ({"percentile": 1.5}, "percentile must be in [0, 1]"),
])
def test_bad_parameters_name_the_offending_value(workspace, options, message):
    with workspace.reader() as con, pytest.raises(ValueError) as error:
        detect_coordination(con, **options)
    assert message in str(error.value)


def test_empty_workspace_gives_no_groups(workspace):
    with workspace.writer() as con:
        result = detect_coordination(con)
    assert result.edges.num_rows == 0 and result.groups.num_rows == 0


def test_report_draws_the_groups_and_escapes_labels(sim_world):
    from confiance.report import build_report

    _, ws, _ = sim_world
    analyze(ws, only=["coordination"])
    with ws.writer() as con:
        platform, account = con.execute("SELECT platform, a FROM coordination_edges ORDER BY weight DESC, a LIMIT 1").fetchall()[0]
        con.execute("UPDATE accounts SET handle = '<script>alert(1)</script>' WHERE platform = ? AND account_id = ?",
                    [platform, account])
        evidence = con.execute("SELECT evidence[1] FROM coordination_edges ORDER BY weight DESC, a LIMIT 1").fetchall()[0][0]
    html = build_report(ws, ws.root / "report.html").read_text()
    section = html[html.index("Coordinated behaviour"):]
    assert 'aria-label="Coordinated groups"' in section and "<line" in section
    assert evidence in section
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in section


@given(st.from_regex(ALREADY_NORMAL, fullmatch=True).filter(
    lambda u: not u.startswith("https://www.") and not re.match(NEEDS_FOLDING, u)))
@settings(max_examples=300, deadline=None)
def test_urls_skipped_by_the_fast_path_are_already_normal(url):
    assert normalise_url(url) == url


@pytest.mark.parametrize("url", ["https://www.example.org/a", "http://example.org/a", "https://Example.org/a",
                                 "https://example.org/a/", "https://example.org/a?utm_source=x", "https://example.org:8443/a",
                                 "https://u@example.org/a", "https://m.example.org/a", "https://en.m.wikipedia.org/wiki/A",
                                 "https://amp.example.org/a", "https://google.com/amp/s/example.org/a",
                                 "https://example-org.cdn.ampproject.org/c/s/example.org/a"])
def test_urls_that_need_normalising_miss_the_fast_path(url):
    assert url.startswith("https://www.") or re.match(NEEDS_FOLDING, url) or not re.fullmatch(ALREADY_NORMAL, url)


def test_cli_prints_json_and_rejects_bad_options(sim_world):
    import json
    import subprocess
    import sys

    _, ws, truth = sim_world

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "confiance.cli", "--workspace", str(ws.root), "coordination", *args],
                              capture_output=True, text=True)

    done = cli("--window", "20", "--kinds", "co_repost,near_duplicate_text", "--json")
    assert done.returncode == 0, done.stderr
    listing = json.loads(done.stdout)
    assert {k for g in listing["groups"] for k in g["kinds"]} <= {"co_repost", "near_duplicate_text"}
    planted = {a for g in truth["coordinated_groups"] for a in g["accounts"]}
    assert {a["account_id"] for g in listing["groups"] for a in g["accounts"]} <= planted
    assert listing["parameters"]["window"] == 20 and listing["parameters"]["kinds"] == ["co_repost", "near_duplicate_text"]
    # a later run keeps the options it is not given: the listing says which ones the edges rest on
    again = json.loads(cli("--min-participation", "3", "--json").stdout)
    assert again["parameters"]["window"] == 20 and again["parameters"]["min_participation"] == 3
    assert all(e["weight"] >= 3 for e in again["edges"])
    bad = cli("--kinds", "co_like", "--json")
    assert bad.returncode == 1 and bad.stdout == "" and "co_like" in bad.stderr
    assert cli("--window", "soon").returncode == 2
