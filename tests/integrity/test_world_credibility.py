"""The simulated world's own credibility list (``credibility.csv``), supplied as a user supplies theirs:
its planted low-credibility domains are rated low, and the harm profiles' low-credibility shares match
an independent count from the planted truth (``truth-posts.jsonl``)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest

from confiance.integrity.harm import run_harm
from confiance.integrity.sources import default_credibility, read_credibility
from confiance.pipeline import analyze
from tests.conftest import query


def _cli(ws, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "confiance.cli", "--workspace", str(ws.root), *args],
                          capture_output=True, text=True)


def test_the_world_lists_its_planted_domains_and_none_is_in_the_shipped_list(sim_world):
    world, _, truth = sim_world
    rows = read_credibility(world / "credibility.csv")
    low = {d["domain"] for d in truth["domains"]["low_credibility"]}
    assert {r.domain for r in rows if r.rating == "low"} == low and len(low) == 6
    assert {r.domain for r in rows if r.rating == "high"} == set(truth["domains"]["reputable"])
    assert {r.source for r in rows} == {"simulated-world"}
    # the shipped list stays the real one: the invented domains are never in it
    assert not {r.domain for r in default_credibility()} & {r.domain for r in rows}


def test_harm_low_credibility_share_matches_the_planted_posts(sim_world):
    world, ws, truth = sim_world
    low = {d["domain"] for d in truth["domains"]["low_credibility"]}
    out = _cli(ws, "sources", "--credibility", str(world / "credibility.csv"), "--json")
    assert out.returncode == 0, out.stderr
    assert {d["domain"] for d in json.loads(out.stdout)["low_credibility_domains"]} == low
    analyze(ws, only=["sources"])  # a later analyze keeps the supplied list
    with ws.writer() as con:
        run_harm(con, "h")
    # independent count: the posts, replies and quotes each account wrote, and their planted domain
    links, low_links = Counter(), Counter()
    with (world / "truth-posts.jsonl").open("rb") as f:
        for line in f:
            post = json.loads(line)["truth_post"]
            if post["kind"] != "repost" and post["domain"] is not None:
                key = (post["platform"], post["account_id"])
                links[key] += 1
                low_links[key] += post["domain"] in low
    profiles = {(p, a): (share, n) for p, a, share, n in query(
        ws, "SELECT platform, account_id, low_credibility_share, low_credibility_links FROM harm_profiles")}
    sharing = [k for k in links if low_links[k]]
    assert len(sharing) > 100
    for key in sharing:
        share, n = profiles[key]
        assert share > 0 and n == low_links[key], key
        assert share == pytest.approx(low_links[key] / links[key]), key
    assert all(profiles[k][0] == 0 for k in links if not low_links[k])
