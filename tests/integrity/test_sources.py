"""Source credibility: credibility lists, offline short-link expansion, URL cascades, per-account shares."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tarfile
from collections import Counter
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from confiance.errors import IngestError
from confiance.integrity.sources import (credibility_index, default_credibility, match_domain, parse_credibility,
                                         read_credibility, read_twitter_tree, run_sources, structural_virality,
                                         tree_measures)
from confiance.integrity.urls import expansion_pairs, is_shortened, normalise_url
from confiance.pipeline import analyze
from tests.conftest import REAL, query

SIM_LIST = Path(__file__).resolve().parents[1] / "data" / "credibility" / "sim-world.csv"
TREES = REAL / "twitter15-16"


# --------------------------------------------------------------------------- credibility lists


def test_credibility_csv_ratings_and_bands():
    rows = parse_credibility("# comment\ndomain,rating,source\nhttps://www.Example.org/page,low,mine\n"
                             "news.example,0.5,scores\ngood.example,0.95,\n", name="list.csv")
    assert [(r.domain, r.rating, r.score, r.source) for r in rows] == [
        ("example.org", "low", None, "mine"), ("news.example", "mixed", 0.5, "scores"),
        ("good.example", "high", 0.95, "list.csv")]


def test_credibility_csv_from_a_french_spreadsheet_uses_semicolons(tmp_path):
    path = tmp_path / "liste.csv"
    path.write_bytes("\ufeffdomain;rating;source\nexemple.fr;0,3;note\nsite.example;low;Décodex\n".encode("utf-8"))
    assert [(r.domain, r.rating, r.score, r.source) for r in read_credibility(path)] == [
        ("exemple.fr", "low", 0.3, "note"), ("site.example", "low", None, "Décodex")]
    path.write_bytes("domain;rating\nexemple.fr;0,3,5\n".encode("utf-8"))
    with pytest.raises(IngestError, match=r"liste.csv:2: rating '0,3,5'"):
        read_credibility(path)


@pytest.mark.parametrize("text, line, words", [
    ("site,rating\nx.example,low\n", 1, "missing column(s) domain"),
    ("domain,rating\nx.example,terrible\n", 2, "'terrible' is not low, mixed, high"),
    ("domain,rating\nx.example,1.5\n", 2, "'1.5'"),
    ("domain,rating\nnot a domain,low\n", 2, "'not a domain' is not a domain name"),
    ("domain,rating\n\nx.example,low\n# note\nx.example,high\n", 5, "listed twice (first at line 3)"),
])
def test_credibility_csv_errors_name_file_and_line(tmp_path, text, line, words):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(IngestError) as caught:
        read_credibility(path)
    assert str(caught.value).startswith(f"{path}:{line}: ") and words in str(caught.value)


def test_default_list_states_its_origin_and_rates_known_sites():
    rows = default_credibility()
    assert len(rows) >= 400 and {r.rating for r in rows} == {"low"}
    assert all(r.source.startswith("opensources:") and r.origin == "default" for r in rows)
    header = Path(__file__).resolve().parents[2].joinpath(
        "src/confiance/integrity/data/domain_credibility.csv").read_text().splitlines()[:8]
    assert any("OpenSources" in line and "CC BY 4.0" in " ".join(header) for line in header)
    index = credibility_index(rows)
    assert match_domain("infowars.com", index).source == "opensources:conspiracy"
    assert match_domain("abcnews.com.co", index).source == "opensources:fake"
    assert match_domain("lemonde.fr", index) is None


def test_subdomains_match_the_nearest_listed_parent_never_a_tld():
    index = credibility_index(parse_credibility("domain,rating\nb.example,low\nx.b.example,high\n", name="l"))
    assert match_domain("a.b.example", index).domain == "b.example"
    assert match_domain("deep.x.b.example", index).rating == "high"
    assert match_domain("example", index) is None and match_domain("c.example", index) is None
    tld = credibility_index(parse_credibility("domain,rating\nco.uk,low\n", name="l"))
    assert match_domain("bbc.co.uk", tld).domain == "co.uk"  # a listed suffix is a listed domain
    assert match_domain("uk", tld) is None


# --------------------------------------------------------------------------- short links


def test_shorteners_are_recognised_and_expanded_only_from_the_post():
    assert is_shortened("https://t.co/abc") and is_shortened("http://bit.ly/x") and is_shortened("https://lnkd.in/e")
    assert not is_shortened("https://lemonde.fr/a")
    # X: t.co in the text, expanded URLs in the entities, in the same order
    assert expansion_pairs("vu https://t.co/AbC et https://t.co/xyz.", ["https://lemonde.fr/a?utm_source=x",
                                                                         "http://www.bbc.co.uk/b/"]) == [
        ("https://t.co/AbC", "https://lemonde.fr/a"), ("https://t.co/xyz", "https://bbc.co.uk/b")]
    # CrowdTangle: Link (short) and Final Link (expanded) both listed, neither in the text
    assert expansion_pairs("", ["https://bit.ly/x", "https://lemonde.fr/y"]) == [("https://bit.ly/x", "https://lemonde.fr/y")]
    # the other link is written in the text: it is not the short link's target
    assert expansion_pairs("https://bit.ly/x https://lemonde.fr/y", ["https://bit.ly/x", "https://lemonde.fr/y"]) == []
    # two short links, one expansion: ambiguous, nothing learnt
    assert expansion_pairs("https://t.co/a https://t.co/b", ["https://lemonde.fr/y"]) == []


@pytest.mark.parametrize("messy, canonical", [
    ("http://www.LeMonde.fr/politique/article.html/?utm_source=twitter&fbclid=IwAR0x#xtor=RSS-3208",
     "https://lemonde.fr/politique/article.html"),
    # mobile and AMP copies of a page are the page
    ("https://m.facebook.com/story.php?story_fbid=123&id=456", "https://facebook.com/story.php?id=456&story_fbid=123"),
    ("https://mobile.twitter.com/user/status/123?s=20", "https://twitter.com/user/status/123"),
    ("https://en.m.wikipedia.org/wiki/Foo", "https://en.wikipedia.org/wiki/Foo"),
    ("https://m.youtube.com/watch?v=abc&feature=share", "https://youtube.com/watch?v=abc"),
    ("https://amp.theguardian.com/world/2020/story", "https://theguardian.com/world/2020/story"),
    ("https://www.google.com/amp/s/www.bfmtv.com/politique/article.html", "https://bfmtv.com/politique/article.html"),
    ("https://www-bfmtv-com.cdn.ampproject.org/c/s/www.bfmtv.com/politique/article.html?x=1",
     "https://bfmtv.com/politique/article.html?x=1"),
    ("https://m.me/somepage", "https://m.me/somepage"),  # a two-label host keeps its name
    # share and click markers of Instagram, TikTok, LinkedIn, Google Analytics
    ("https://www.instagram.com/p/Cabc123/?igsh=MzRlODBiNWFlZA==", "https://instagram.com/p/Cabc123"),
    ("https://www.tiktok.com/@user/video/123?is_from_webapp=1&sender_device=pc", "https://tiktok.com/@user/video/123"),
    ("https://www.linkedin.com/posts/x-123?trk=public_post", "https://linkedin.com/posts/x-123"),
    ("https://example.com/page?b=2&a=1&_ga=2.1&_gl=1*x&mkt_tok=abc", "https://example.com/page?a=1&b=2"),
    # an old hash-bang route is the page's path, not a fragment
    ("https://twitter.com/#!/user/status/123", "https://twitter.com/user/status/123"),
])
def test_messy_real_urls_normalise_to_one_spelling(messy, canonical):
    assert normalise_url(messy) == canonical


def _insert_posts(ws, rows):
    with ws.writer() as con:
        for r in rows:
            con.execute(
                "INSERT INTO posts (platform, post_id, account_id, created_at, text, kind, parent_post_id, urls) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [r["platform"], r["post_id"], r["account_id"], r["created_at"], r.get("text", ""), r["kind"],
                 r.get("parent"), r.get("urls", [])])


def test_a_post_with_both_links_expands_a_post_with_only_the_short_one(workspace):
    _insert_posts(workspace, [
        {"platform": "facebook", "post_id": "1", "account_id": "a", "created_at": "2025-01-01T10:00:00Z", "kind": "post",
         "urls": ["https://bit.ly/3Fake", "https://www.abcnews.com.co/story?utm_medium=x"]},
        {"platform": "facebook", "post_id": "2", "account_id": "b", "created_at": "2025-01-01T11:00:00Z", "kind": "post",
         "text": "lisez https://bit.ly/3Fake", "urls": ["https://bit.ly/3Fake"]},
        {"platform": "facebook", "post_id": "3", "account_id": "c", "created_at": "2025-01-01T12:00:00Z", "kind": "post",
         "urls": ["https://ow.ly/unknown"]},
    ])
    with workspace.writer() as con:
        result = run_sources(con, "r1")
        rows = con.execute("SELECT post_id, url, domain, shortened, expanded, rating FROM url_shares ORDER BY post_id").fetchall()
    assert result["expansions"] == 1
    assert rows == [("1", "https://abcnews.com.co/story", "abcnews.com.co", True, True, "low"),
                    ("2", "https://abcnews.com.co/story", "abcnews.com.co", True, True, "low"),
                    ("3", "https://ow.ly/unknown", "ow.ly", True, False, None)]


# --------------------------------------------------------------------------- trees


def _random_tree(rng, n):
    return np.array([-1] + [int(rng.integers(0, i)) for i in range(1, n)])


def test_structural_virality_is_the_mean_pairwise_distance():
    rng = np.random.default_rng(5)
    for n in (2, 3, 10, 57, 200):
        parent = _random_tree(rng, n)
        g = nx.Graph([(i, int(p)) for i, p in enumerate(parent) if p >= 0])
        assert structural_virality(parent) == pytest.approx(nx.average_shortest_path_length(g))
        depths = nx.single_source_shortest_path_length(g, 0)
        m = tree_measures(parent)
        assert m["depth"] == max(depths.values())
        assert m["max_breadth"] == max(Counter(depths.values()).values())
    star = np.array([-1] + [0] * 99)
    chain = np.arange(-1, 99)
    assert structural_virality(star) == pytest.approx(2 * 99 * 99 / (100 * 99))  # ~2: broadcast
    assert structural_virality(chain) == pytest.approx(101 / 3)  # (n + 1) / 3: viral chain
    assert structural_virality([-1]) is None


def test_forests_cut_cycles_and_measure_the_largest_tree():
    parent = np.array([-1, 0, 0, -1, 3, 4, 5])  # trees {0,1,2} and the chain 3-4-5-6
    m = tree_measures(parent)
    assert (m["size"], m["trees"], m["depth"], m["max_breadth"]) == (7, 2, 3, 3)
    assert m["structural_virality"] == pytest.approx(nx.average_shortest_path_length(nx.path_graph(4)))
    assert tree_measures(parent, root=1)["size"] == 3
    cyclic = tree_measures(np.array([-1, 0, 3, 2]))  # 2 <-> 3 is cut into a tree of its own
    assert cyclic["trees"] == 2 and cyclic["size"] == 4
    assert tree_measures(np.array([-1, 1]))["trees"] == 2  # a self-loop too


def _independent_tree(lines):
    """First-parent tree of a Twitter15/16 file, parsed with ast (not the reader under test)."""
    g, root = nx.DiGraph(), None
    for line in lines:
        left, right = line.split("->")
        a, b = tuple(ast.literal_eval(left)), tuple(ast.literal_eval(right))
        a = (a[0], a[1], float(a[2]))
        b = (b[0], b[1], float(b[2]))
        if a[0] == "ROOT":
            root = root or b
            g.add_node(b)
            continue
        if a == b or b == root or (b in g and g.in_degree(b) > 0) or (a in g and b in g and nx.has_path(g, b, a)):
            continue
        g.add_edge(a, b)
    reach = nx.descendants(g, root) | {root}
    return g.subgraph(reach), root


def test_twitter15_16_trees_match_an_independent_computation():
    checked = 0
    with tarfile.open(TREES / "twitter15_16_trees.tar.xz") as tar:
        for i, member in enumerate(m for m in tar if m.isfile()):
            if i % 25:
                continue
            lines = tar.extractfile(member).read().decode().splitlines()
            tree = read_twitter_tree(lines, name=member.name)
            measured = tree_measures(tree.parent, root=tree.root)
            g, root = _independent_tree(lines)
            depths = nx.single_source_shortest_path_length(g, root)
            assert measured["size"] == g.number_of_nodes(), member.name
            assert measured["depth"] == max(depths.values()), member.name
            if g.number_of_nodes() <= 600:  # all-pairs distances are quadratic
                assert measured["structural_virality"] == pytest.approx(
                    nx.average_shortest_path_length(g.to_undirected())), member.name
            checked += 1
    assert checked >= 90


def test_twitter_tree_reader_rejects_other_files_with_the_line():
    with pytest.raises(IngestError, match=r"t.txt:2: not a"):
        read_twitter_tree(["['ROOT', 'ROOT', '0.0']->['1', '9', '0.0']", "1 -> 2"], name="t.txt")
    with pytest.raises(IngestError, match="no ROOT line"):
        read_twitter_tree(["['1', '9', '0.0']->['2', '9', '1.0']"], name="t.txt")


# --------------------------------------------------------------------------- simulated world


def test_low_credibility_share_per_account_matches_the_planted_posts(sim_world):
    _, ws, truth = sim_world
    with ws.writer() as con:
        run_sources(con, "r1", credibility=read_credibility(SIM_LIST))
    low_posts = {pid for entry in truth["domains"]["low_credibility"] for pid in entry["posts"]}
    assert len(low_posts) > 100
    linked = query(ws, "SELECT platform, post_id, account_id FROM posts WHERE kind <> 'repost' AND len(urls) > 0")
    expected_links, expected_low = Counter(), Counter()
    for platform, post_id, account in linked:
        expected_links[(platform, account)] += 1
        if post_id in low_posts:
            expected_low[(platform, account)] += 1
    got = {(p, a): (links, low, share) for p, a, links, low, share in query(
        ws, "SELECT platform, account_id, links, low_credibility_links, low_credibility_share FROM account_sources "
            "WHERE links > 0")}
    assert set(got) == set(expected_links)
    for key, (links, low, share) in got.items():
        assert (links, low) == (expected_links[key], expected_low[key]), key
        assert share == pytest.approx(expected_low[key] / expected_links[key])
    flagged = {r[0] for r in query(ws, "SELECT post_id FROM url_shares WHERE rating = 'low' AND kind <> 'repost'")}
    assert flagged == low_posts


def test_cascades_count_reposts_and_first_sharers(sim_world):
    _, ws, _ = sim_world
    analyze(ws, only=["sources"])
    brand = query(ws, "SELECT platform, first_account_id, posts, reposts, accounts, depth, trees, size FROM url_cascades "
                      "WHERE url = 'https://solvane.example/velo' ORDER BY platform")
    assert brand
    for platform, first, posts, reposts, accounts, depth, trees, size in brand:
        # every tracking variant (?utm_source=…&utm_content=…) is the same page
        originals = query(ws, "SELECT post_id, account_id FROM posts WHERE platform = ? AND kind <> 'repost' AND "
                              "len(list_filter(urls, lambda u: regexp_matches(u, '^https://solvane\\.example/velo(\\?|$)'))) > 0 "
                              "ORDER BY created_at, post_id", [platform])
        ids = [p for p, _ in originals]
        # reposts stored as posts, plus reposts known only as interactions (Bluesky events). A repost row's
        # interaction names the repost itself (X) or, on Mastodon and Bluesky, the reposted post: either way
        # the same repost, counted once
        repost_rows = query(ws, "SELECT post_id, account_id FROM posts WHERE platform = ? AND kind = 'repost' AND "
                                "parent_post_id IN (SELECT unnest(?))", [platform, ids])
        events = query(ws, "SELECT src FROM interactions i WHERE platform = ? AND kind = 'repost' AND post_id IN "
                           "(SELECT unnest(?)) AND NOT EXISTS (SELECT 1 FROM posts p WHERE p.platform = i.platform "
                           "AND p.account_id = i.src AND (p.post_id = i.post_id OR "
                           "(p.kind = 'repost' AND p.parent_post_id = i.post_id)))", [platform, ids])
        assert len(originals) > 1 and posts == len(originals) and first == originals[0][1]
        assert reposts == len(repost_rows) + len(events)
        assert accounts == len({a for _, a in originals} | {a for _, a in repost_rows} | {s for (s,) in events})
        assert size == posts + reposts and depth >= 1 and trees <= posts


def test_user_rows_persist_and_the_cli_reports_them(sim_world, tmp_path):
    _, ws, _ = sim_world
    run = lambda *args: subprocess.run([sys.executable, "-m", "confiance.cli", "--workspace", str(ws.root), *args],
                                       capture_output=True, text=True)
    bad = tmp_path / "bad.csv"
    bad.write_text("domain,rating\nverite-cachee.info,fake\n")
    out = run("sources", "--credibility", str(bad))
    assert out.returncode == 1 and f"{bad}:2:" in out.stderr and out.stderr.count("\n") == 1
    out = run("sources", "--credibility", str(SIM_LIST), "--json")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    low = {d["domain"] for d in summary["low_credibility_domains"]}
    assert low == {"verite-cachee.info", "truth-daily-news.com", "lalerte-libre.net", "patriot-wire-report.com",
                   "sante-secrets-naturels.info", "crypto-gains-now.io"}
    assert summary["cascades"] and summary["accounts"][0]["low_credibility_links"] > 0
    analyze(ws, only=["sources"])  # a later analyze keeps the user's list
    assert query(ws, "SELECT count(*) FROM domain_credibility WHERE origin = 'user'")[0][0] == 14
    assert query(ws, "SELECT count(*) FROM url_shares WHERE rating = 'low'")[0][0] == summary["totals"]["low_credibility_shares"]
    out = run("sources", "--csv")
    assert out.returncode == 0 and out.stdout.splitlines()[0].startswith("domain,")
