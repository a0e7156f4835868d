"""Harmful-influence profiles and audience credibility, with and without the tables of the other steps."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pytest

from confiance.errors import ConfianceError
from confiance.integrity.harm import run_harm
from confiance.integrity.sources import read_credibility, run_sources
from confiance.pipeline import analyze
from tests.conftest import ingest, query

SIM_LIST = Path(__file__).resolve().parents[1] / "data" / "credibility" / "sim-world.csv"

#: A small world: "star" is engaged by two bots (b1, b2), a coordinated account (c1) and two humans.
ACCOUNTS = ["star", "b1", "b2", "c1", "c2", "h1", "h2", "lone"]
INTERACTIONS = [  # src, dst, kind, post_id
    ("b1", "star", "repost", "s1"), ("b1", "star", "like", "s1"), ("b2", "star", "repost", "s2"),
    ("c1", "star", "reply", "r1"), ("h1", "star", "like", "s1"), ("h1", "star", "quote", "q1"),
    ("h2", "star", "mention", "m1"),  # a mention is engagement, not amplification
    ("b1", "star", "follow", ""), ("h2", "star", "follow", ""), ("c2", "star", "follow", ""),
    ("h1", "lone", "reply", "r2"),
]


def _fixture(ws, *, with_inputs: bool):
    with ws.writer() as con:
        for a in ACCOUNTS:
            con.execute("INSERT INTO accounts (platform, account_id, handle) VALUES ('x', ?, ?)", [a, a])
        con.execute("INSERT INTO posts (platform, post_id, account_id, created_at, kind, urls) VALUES "
                    "('x', 's1', 'star', '2025-01-01', 'post', ['https://verite-cachee.info/a']),"
                    "('x', 's2', 'star', '2025-01-02', 'post', ['https://www.lemonde.fr/b']),"
                    "('x', 's3', 'star', '2025-01-03', 'post', ['https://news.verite-cachee.info/c']),"
                    "('x', 's4', 'star', '2025-01-04', 'post', ['https://bbc.co.uk/d'])")
        con.executemany("INSERT INTO interactions (platform, src, dst, kind, post_id) VALUES ('x', ?, ?, ?, ?)",
                        [list(i) for i in INTERACTIONS])
        run_sources(con, "src", credibility=read_credibility(SIM_LIST))
        if not with_inputs:
            return
        # the other helpers' tables, as the contract describes them
        con.execute("CREATE TABLE bot_scores AS SELECT 'bots' AS run_id, 'x' AS platform, account_id, score, "
                    "score >= 0.5 AS label, CAST('[]' AS JSON) AS evidence FROM (VALUES ('b1', 0.97), ('b2', 0.81), "
                    "('c1', 0.2), ('h1', 0.49), ('h2', 0.05), ('star', 0.1)) v(account_id, score)")
        con.execute("CREATE TABLE coordination_groups AS SELECT 'coord' AS run_id, 'g7' AS group_id, 'x' AS platform, "
                    "account_id, ['co_repost', 'shared_link'] AS kinds FROM (VALUES ('c1'), ('c2')) v(account_id)")
        con.execute("CREATE TABLE disclosure_accounts AS SELECT 'disc' AS run_id, 'x' AS platform, 'star' AS account_id, "
                    "4 AS posts, 2 AS commercial_posts, 1 AS undisclosed_posts, 0.5 AS paid_share, 0.5 AS undisclosed_share")
        con.execute("CREATE TABLE account_bridging AS SELECT 'pol' AS run_id, 'x' AS platform, 'star' AS account_id, "
                    "CAST(1 AS TINYINT) AS side, 0.4 AS bridging, 1.0 AS participation, 1.0 AS exposure_side0, "
                    "3.0 AS exposure_side1")


def test_audience_list_counts_interactions_not_the_profiles_engagements(workspace):
    """A bot that reposts, likes and mentions: 2 engagements (amplification) but 3 interactions; the
    audience list must not call its count "engagements" beside the profile's different figure."""
    _fixture(workspace, with_inputs=True)
    with workspace.writer() as con:
        con.execute("INSERT INTO interactions (platform, src, dst, kind, post_id) VALUES ('x', 'b1', 'star', 'mention', 'm2')")
        run_harm(con, "h1")
    star = _profile(workspace, "star")
    top = {e["account_id"]: e["engagements"] for e in star["evidence"]["bot_amplification"]["top_bot_engagers"]}
    listed = {s["account_id"]: s for s in query(
        workspace, "SELECT suspicious_accounts FROM audience_credibility WHERE account_id = 'star'")[0][0]}
    assert top["b1"] == 2 and listed["b1"]["interactions"] == 3 and "engagements" not in listed["b1"]


def test_engagements_weigh_their_interactions_and_accounts_count_once(workspace, tmp_path):
    """An edge file's row of weight 30 is 30 reposts: the shares of engagements weigh it, the shares of
    accounts count its bot once, and the two differ."""
    _fixture(workspace, with_inputs=True)
    edges = tmp_path / "reposts.csv"
    edges.write_text("source,target,weight,kind,platform\nb1,star,30,repost,x\nh2,star,4,like,x\n")
    ingest(workspace, edges)
    with workspace.writer() as con:
        run_harm(con, "h1")
    star = _profile(workspace, "star")
    # received: b1 30 + 2 (the fixture's repost and like), b2 1, c1 1, h1 2, h2 4: 40; from bots 32 + 1
    assert (star["engagements"], star["bot_engagements"]) == (40, 33)
    assert star["bot_amplification_share"] == pytest.approx(33 / 40)
    # accounts that amplified: b1, b2, c1, h1, h2; bots among them: b1, b2
    assert (star["amplifiers"], star["bot_amplifiers"]) == (5, 2)
    assert star["bot_amplifier_share"] == pytest.approx(2 / 5)
    evidence = star["evidence"]["bot_amplification"]
    assert (evidence["engagements"], evidence["from_bots"], evidence["amplifiers"], evidence["bot_amplifiers"]) == (
        40, 33, 5, 2)
    assert [(e["account_id"], e["engagements"]) for e in evidence["top_bot_engagers"]] == [("b1", 32), ("b2", 1)]
    (engagers, suspicious, share, interactions, interaction_share, listed), = query(
        workspace, "SELECT engagers, suspicious_engagers, suspicious_share, interactions, suspicious_interaction_share, "
                   "suspicious_accounts FROM audience_credibility WHERE account_id = 'star'")
    # the audience in accounts is unchanged (b1, b2, c1 of five); in interactions b1 weighs 32 of 41 (h2's mention too)
    assert (engagers, suspicious, share) == (5, 3, pytest.approx(0.6))
    assert (interactions, interaction_share) == (41, pytest.approx(34 / 41))
    assert {s["account_id"]: s["interactions"] for s in listed} == {"b1": 32, "b2": 1, "c1": 1}


def _profile(ws, account):
    names = [d[0] for d in query(ws, "DESCRIBE harm_profiles")]
    row = query(ws, "SELECT * FROM harm_profiles WHERE account_id = ?", [account])[0]
    out = dict(zip(names, row))
    out["evidence"] = json.loads(out["evidence"])
    return out


def test_profile_combines_every_signal_with_its_evidence(workspace):
    _fixture(workspace, with_inputs=True)
    with workspace.writer() as con:
        result = run_harm(con, "h1")
    assert result["inputs"] == dict.fromkeys(result["inputs"], True)
    star = _profile(workspace, "star")
    # received amplification: b1 ×2, b2, c1, h1 ×2 (the mention does not count); bots: b1 ×2 + b2
    assert (star["engagements"], star["bot_engagements"]) == (6, 3)
    assert star["bot_amplification_share"] == pytest.approx(0.5)
    assert [e["account_id"] for e in star["evidence"]["bot_amplification"]["top_bot_engagers"]] == ["b1", "b2"]
    assert star["low_credibility_share"] == pytest.approx(0.5) and star["low_credibility_links"] == 2
    assert set(star["evidence"]["low_credibility"]["posts"]) == {"s1", "s3"}  # a subdomain counts too
    assert star["polarization_position"] == pytest.approx(0.5) and star["polarization_side"] == 1
    assert star["undisclosed_share"] == pytest.approx(0.5) and star["undisclosed_posts"] == 1
    assert star["coordinated_group"] is None
    c1 = _profile(workspace, "c1")
    assert c1["coordinated_group"] == "g7" and sorted(c1["coordination_kinds"]) == ["co_repost", "shared_link"]
    assert c1["evidence"]["coordination"]["members"] == ["c1", "c2"]

    names = [d[0] for d in query(workspace, "DESCRIBE audience_credibility")]
    audience = {r[names.index("account_id")]: dict(zip(names, r)) for r in query(workspace, "SELECT * FROM audience_credibility")}
    a = audience["star"]
    # engagers: b1, b2, c1, h1, h2; suspicious: b1, b2 (bots), c1 (coordinated); h1 is under the threshold
    assert (a["engagers"], a["suspicious_engagers"], a["bot_engagers"], a["coordinated_engagers"]) == (5, 3, 2, 1)
    assert a["suspicious_share"] == pytest.approx(0.6)
    assert [s["account_id"] for s in a["suspicious_accounts"]] == ["b1", "b2", "c1"]
    # followers: b1 (bot), h2, c2 (coordinated)
    assert (a["followers_observed"], a["suspicious_followers"]) == (3, 2)
    assert a["suspicious_follower_share"] == pytest.approx(2 / 3)
    assert audience["lone"]["suspicious_engagers"] == 0 and a["status"] == "computed"
    with workspace.writer() as con:  # bots without coordination: the audience counts bots only, and says so
        con.execute("DROP TABLE coordination_groups")
        run_harm(con, "h2")
    status, suspicious = query(workspace, "SELECT status, suspicious_engagers FROM audience_credibility "
                                          "WHERE account_id = 'star'")[0]
    assert status.startswith("computed from bot scores only") and suspicious == 2
    assert _profile(workspace, "c1")["evidence"]["coordination"].startswith("not computed")


def test_missing_inputs_give_nulls_and_say_not_computed(workspace):
    _fixture(workspace, with_inputs=False)
    analyze(workspace, only=["sources", "polarization", "influence"])
    with workspace.writer() as con:  # harm on a store where bots, coordination and disclosure never ran
        run_harm(con, "h")
    star = _profile(workspace, "star")
    assert star["bot_amplification_share"] is None and star["undisclosed_share"] is None
    assert star["evidence"]["bot_amplification"].startswith("not computed")
    assert star["evidence"]["coordination"].startswith("not computed")
    assert star["evidence"]["disclosure"].startswith("not computed")
    assert star["low_credibility_share"] is not None  # sources ran (harm runs after it)
    # polarisation ran, but an 8-account graph gives no meaningful split: nobody is placed on it
    assert star["polarization_position"] is None and star["polarization_side"] is None
    assert star["evidence"]["polarization"].startswith("not computed: the polarisation split is not meaningful (")
    status, share = query(workspace, "SELECT status, suspicious_share FROM audience_credibility WHERE account_id = 'star'")[0]
    assert status.startswith("not computed") and share is None


def test_the_evidence_names_the_threshold_the_run_used(workspace):
    _fixture(workspace, with_inputs=True)
    with workspace.writer() as con:
        run_harm(con, "h", bot_threshold=0.9)
    evidence = _profile(workspace, "star")["evidence"]["bot_amplification"]
    assert evidence["threshold"] == 0.9 and [e["account_id"] for e in evidence["top_bot_engagers"]] == ["b1"]


def test_bad_parameters_are_refused(workspace):
    with workspace.writer() as con, pytest.raises(ConfianceError, match="bot_threshold"):
        run_harm(con, "h", bot_threshold=1.5)


def test_simulated_world_against_planted_bots_and_groups(sim_world):
    _, ws, truth = sim_world
    bots = {(b["platform"], b["account_id"]) for b in truth["bots"]}
    members = {(g["platform"], a): g["id"] for g in truth["coordinated_groups"] for a in g["accounts"]}
    with ws.writer() as con:
        run_sources(con, "src", credibility=read_credibility(SIM_LIST))
        accounts = con.execute("SELECT DISTINCT platform, account_id FROM accounts").fetchall()
        con.register("_bots", pa.table({"platform": [p for p, _ in accounts], "account_id": [a for _, a in accounts],
                                        "score": [0.9 if k in bots else 0.1 for k in accounts]}))
        con.execute("CREATE TABLE bot_scores AS SELECT 't' AS run_id, platform, account_id, score, score >= 0.5 AS label, "
                    "CAST('[]' AS JSON) AS evidence FROM _bots")
        con.register("_groups", pa.table({"group_id": list(members.values()), "platform": [p for p, _ in members],
                                          "account_id": [a for _, a in members]}))
        con.execute("CREATE TABLE coordination_groups AS SELECT 't' AS run_id, group_id, platform, account_id, "
                    "['co_repost'] AS kinds FROM _groups")
        run_harm(con, "h")
    received, from_bots = defaultdict(int), defaultdict(int)
    engagers = defaultdict(set)
    for platform, src, dst, kind in query(ws, "SELECT platform, src, dst, kind FROM interactions WHERE src <> dst"):
        if kind in ("repost", "reply", "quote", "like"):
            received[(platform, dst)] += 1
            from_bots[(platform, dst)] += (platform, src) in bots
        if kind != "follow":
            engagers[(platform, dst)].add((platform, src))
    profiles = {(p, a): (n, share, group) for p, a, n, share, group in query(
        ws, "SELECT platform, account_id, engagements, bot_amplification_share, coordinated_group FROM harm_profiles")}
    assert {k for k, v in profiles.items() if v[2] is not None} == set(members)
    assert all(profiles[k][2] == g for k, g in members.items())
    for key, (n, share, _) in profiles.items():
        assert n == received[key]
        assert share == (pytest.approx(from_bots[key] / n) if n else None)
    assert sum(1 for k in profiles if from_bots[k]) > 50
    audited = query(ws, "SELECT platform, account_id, engagers, suspicious_engagers, suspicious_accounts "
                        "FROM audience_credibility")
    assert len(audited) == 500
    for platform, account, n, suspicious, listed in audited:
        expected = {e for e in engagers[(platform, account)] if e in bots or e in members}
        assert n == len(engagers[(platform, account)]) and suspicious == len(expected)
        assert {(platform, s["account_id"]) for s in listed} == expected
    low = dict(((p, a), s) for p, a, s in query(ws, "SELECT platform, account_id, low_credibility_share FROM account_sources"))
    for p, a, s in query(ws, "SELECT platform, account_id, low_credibility_share FROM harm_profiles"):
        assert s == low.get((p, a))
    out = subprocess.run([sys.executable, "-m", "confiance.cli", "--workspace", str(ws.root), "harm", "--top", "5", "--json"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    listing = json.loads(out.stdout)
    assert len(listing) == 5 and all(isinstance(r["evidence"]["bot_amplification"], dict) for r in listing)


def test_report_sections_show_profiles_sources_and_types(workspace, tmp_path):
    from confiance.influence.accounts import run_account_types
    from confiance.report import build_report

    empty = build_report(workspace, tmp_path / "empty.html").read_text()
    for title in ("Source credibility and URL cascades", "Account types", "Harmful-influence profiles of the top influencers"):
        section = empty[empty.index(f">{title}</h2>"):]
        assert "Nothing to show yet" in section[:400]
    _fixture(workspace, with_inputs=True)
    with workspace.writer() as con:
        con.execute("UPDATE accounts SET handle = '<script>x</script>', bio = 'Compte officiel de la Mairie de Lyon' "
                    "WHERE account_id = 'lone'")
        run_account_types(con, "t")
        run_harm(con, "h")
    html = build_report(workspace, tmp_path / "r.html").read_text()
    sources = html[html.index('<section id="source-credibility"'):html.index("</section>", html.index('id="source-credibility"'))]
    assert "verite-cachee.info" in sources and "https://verite-cachee.info/a" in sources
    types = html[html.index('<section id="account-types"'):html.index("</section>", html.index('id="account-types"'))]
    assert "institution" in types and "public body “Mairie”" in types
    harm = html[html.index('<section id="harm-profiles"'):html.index("</section>", html.index('id="harm-profiles"'))]
    # accounts by handle, as the other sections name them (the fixture's handles are their ids)
    assert "@star" in harm and "50.0&nbsp;%" in harm and "60.0&nbsp;% of 5" in harm and "bot engagers: @b1, @b2" in harm
    # the suspicious engagers' interactions (b1 ×2, b2, c1 of 7) differ from their share of the accounts (3 of 5)
    assert "57.1&nbsp;% of interactions" in harm and "of accounts" not in harm  # 3 of 6 engagements, 2 of 4 accounts
    assert "not computed" not in harm
    assert "<script>x</script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
