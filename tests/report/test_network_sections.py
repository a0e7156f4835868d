"""Network report sections (map, communities, influencers, polarisation) and the network CLI verbs."""

from __future__ import annotations

import csv
import importlib
import importlib.util
import io
import json
import re
import subprocess
import sys

import networkx as nx
import pytest

from confiance.pipeline import analyze
from confiance.report import build_report
from tests.conftest import REAL, ingest

NETWORK_STEPS = ("confiance.graph.communities", "confiance.influence.scores", "confiance.graph.polarization",
                 "confiance.graph.layout")


def _analyze_all(ws) -> None:
    """``analyze`` with the network steps registered (the lead lists them in STEP_MODULES)."""
    for module in NETWORK_STEPS:
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not there yet")
        importlib.import_module(module)
    analyze(ws)


def cli(ws, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "confiance.cli", "--workspace", str(ws.root), *args],
                          capture_output=True, text=True)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from confiance.simulate import simulate_world
    from confiance.workspace import Workspace

    root = tmp_path_factory.mktemp("net")
    simulate_world(root / "world", seed=5, accounts=300, posts=2500)
    ws = Workspace.init(root / "ws")
    ingest(ws, root / "world")
    _analyze_all(ws)
    return ws


def test_report_has_the_four_network_sections(world, tmp_path):
    html = build_report(world, tmp_path / "r.html").read_text()
    assert "<script" not in html and not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    for title in ("Community map", "Communities", "Influencers", "Polarisation and bridging"):
        assert f">{title}</h2>" in html
    start = html.index('id="community-map"')
    svg = html[start:html.index("</svg>", start)]
    circles = re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)" r="([\d.]+)" fill="(#[0-9a-f]{6})"', svg)
    with world.reader() as con:
        laid_out = con.execute("SELECT count(*) FROM graph_layout").fetchone()[0]
        largest = con.execute("SELECT community, size FROM community_profiles ORDER BY size DESC LIMIT 1").fetchone()
    assert len(circles) == min(laid_out, 3000) > 100
    radii = [float(c[2]) for c in circles]
    assert 1.0 <= min(radii) and max(radii) <= 6.0 and max(radii) > 2 * min(radii)
    assert all(0 <= float(x) <= 1100 and 0 <= float(y) <= 720 for x, y, _, _ in circles)
    assert len({c[3] for c in circles}) >= 5  # several communities coloured apart
    assert 0 < svg.count("<line ") <= 4000
    legend = html[html.index('<div class="legend">', start):]
    assert f"community {largest[0]} · {largest[1]} accounts" in legend
    communities = _section(html, "communities")
    assert communities.count("<tr>") >= 9
    influencers = _section(html, "influencers")
    flagged = influencers.count("not ranked as an influencer: ")  # the simulated brand, on each platform
    assert flagged >= 1 and influencers.count("<tr>") == 21 + flagged and "engaged by @" in influencers
    polarisation = _section(html, "polarization")
    assert "random-walk controversy" in polarisation and "Bridging accounts" in polarisation


def _section(html: str, key: str) -> str:
    start = html.index(f'<section id="{key}"')
    return html[start:html.index("</section>", start)]


def test_sections_say_what_to_run_before_analyze(workspace, tmp_path):
    html = build_report(workspace, tmp_path / "r.html").read_text()
    for key in ("community-map", "communities", "influencers", "polarization"):
        section = html[html.index(f'<section id="{key}"'):]
        assert "run `confiance analyze`" in section[:section.index("</section>")]


def test_map_and_tables_escape_hostile_handles(workspace, tmp_path):
    f = tmp_path / "edges.csv"
    evil = "<script>alert(1)</script>"
    rows = [f'"{evil}",b,mention', "b,c,mention", "c,a,reply", f'a,"{evil}",repost', "d,a,mention", "d,b,reply"]
    f.write_text("source,target,kind\n" + "\n".join(rows) + "\n")
    ingest(workspace, f, format_name="edges-csv")
    _analyze_all(workspace)
    html = build_report(workspace, tmp_path / "r.html").read_text()
    assert evil not in html and "&lt;script&gt;" in html and "<script" not in html


def test_map_labels_do_not_overlap(workspace):
    """Two hubs laid out side by side printed one handle over the other on the community map."""
    from confiance.report.network import MAP_LABELS, collect_community_map

    ingest(workspace, REAL / "karate" / "karate.gml")
    _analyze_all(workspace)
    with workspace.writer() as con:  # the two largest hubs at one spot, as two mastodon hubs were in a simulated world
        con.execute("UPDATE graph_layout SET x = 0, y = 0 WHERE account_id IN ('1', '34')")
        labels = collect_community_map(con)["labels"]
    assert 2 <= len(labels) <= MAP_LABELS

    def box(label):
        half = 6.8 * len(label["text"]) / 2
        return label["x"] - half, label["y"] - 13, label["x"] + half, label["y"]

    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = box(a), box(b)
            assert not (ax0 < bx1 and bx0 < ax1 and ay0 < by1 and by0 < ay1), (a, b)


def test_cli_verbs_on_karate(workspace, tmp_path):
    ingest(workspace, REAL / "karate" / "karate.gml")
    _analyze_all(workspace)

    out = cli(workspace, "communities", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert len(rows) == 34 and all(set(r) == {"platform", "account_id", "community"} for r in rows)
    assert all(isinstance(r["account_id"], str) for r in rows)

    finer = cli(workspace, "communities", "--resolution", "3", "--csv")
    assert finer.returncode == 0, finer.stderr
    recomputed = list(csv.DictReader(io.StringIO(finer.stdout)))
    assert len(recomputed) == 34
    assert len({r["community"] for r in recomputed}) > len({r["community"] for r in rows})
    with workspace.reader() as con:
        runs = con.execute("SELECT parameters FROM analysis_runs WHERE step = 'communities' ORDER BY finished_at").fetchall()
    assert len(runs) == 2 and json.loads(runs[-1][0])["resolution"] == 3.0
    again = cli(workspace, "communities", "--resolution", "3", "--json")  # same resolution: no new run
    assert again.returncode == 0 and len(json.loads(again.stdout)) == 34
    with workspace.reader() as con:
        assert con.execute("SELECT count(*) FROM analysis_runs WHERE step = 'communities'").fetchone()[0] == 2

    out = cli(workspace, "polarization", "--json")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    assert {"rwc", "modularity", "sides"} <= set(summary) and len(summary["sides"]) == 2

    out = cli(workspace, "influencers", "--top", "5", "--json")
    assert out.returncode == 0, out.stderr
    top = json.loads(out.stdout)
    assert [r["rank"] for r in top] == [1, 2, 3, 4, 5]
    assert all(r["explanation"] and "evidence" in r for r in top)
    table = list(csv.DictReader(io.StringIO(cli(workspace, "influencers", "--top", "5", "--csv").stdout)))
    assert [r["account_id"] for r in table] == [r["account_id"] for r in top]

    for fmt, reader in (("gexf", nx.read_gexf), ("graphml", nx.read_graphml)):
        target = tmp_path / f"karate.{fmt}"
        out = cli(workspace, "export", fmt, "-o", str(target))
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == str(target)
        g = reader(target)
        assert (g.number_of_nodes(), g.number_of_edges()) == (34, 78)
        assert all("community" in d and "influence" in d for _, d in g.nodes(data=True))


def test_cli_verbs_before_analyze_fail_with_one_line(workspace):
    for verb in ("communities", "polarization", "influencers"):
        out = cli(workspace, verb, "--json")
        assert out.returncode == 1 and out.stdout == "", (verb, out.stdout)
        assert out.stderr.strip().count("\n") == 0 and "analyze" in out.stderr
    out = cli(workspace, "export", "gexf")
    assert out.returncode == 1 and "analyze" in out.stderr


def test_bridging_table_marks_accounts_outside_the_split(workspace, tmp_path):
    """Accounts outside the largest component have no side: the table says so instead of printing None."""
    f = tmp_path / "edges.csv"
    ring = [f"a{i},a{(i + 1) % 8},mention" for i in range(8)] + ["a0,a4,reply", "a2,a6,reply"]
    f.write_text("source,target,kind\n" + "\n".join(ring + ["x1,x2,mention", "x2,x1,reply"]) + "\n")
    ingest(workspace, f, format_name="edges-csv")
    _analyze_all(workspace)
    with workspace.reader() as con:
        outside = con.execute("SELECT count(*) FROM account_bridging WHERE side IS NULL AND bridging IS NOT NULL").fetchall()[0][0]
    polarisation = _section(build_report(workspace, tmp_path / "r.html").read_text(), "polarization")
    assert outside > 0 and "<td>None</td>" not in polarisation
    assert polarisation.count("<td>—</td>") == outside


def test_bridging_accounts_rank_by_their_weight_with_the_side_they_reach_less(workspace, tmp_path):
    """Two camps of 40 blogs; 'hub' interacts 6 and 5 times with the two camps, 'edge' once with each. Both
    are near-even (bridging 0.91 and 1.0), but the hub bridges the divide and leads the table."""
    from confiance.report.network import collect_polarization

    rows = []
    for camp in (0, 1):
        members = [f"c{camp}_{i}" for i in range(40)]
        rows += [(a, b, 1) for i, a in enumerate(members) for b in members[i + 1:i + 6]]
    rows += [("hub", f"c0_{i}", 1) for i in range(6)] + [("hub", f"c1_{i}", 1) for i in range(5)]
    rows += [("edge", "c0_39", 1), ("edge", "c1_39", 1)]
    path = tmp_path / "camps.csv"
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows([("source", "target", "weight"), *rows])
    ingest(workspace, path)
    analyze(workspace, only=["polarization"])
    with workspace.reader() as con:
        bridges = collect_polarization(con)["bridges"]
    by_handle = {b["handle"]: b for b in bridges}
    assert bridges[0]["handle"] == "hub" and by_handle["edge"]["bridging"] > by_handle["hub"]["bridging"]
    assert {by_handle["hub"]["exposure_side0"], by_handle["hub"]["exposure_side1"]} == {6.0, 5.0}


def test_influencer_shares_read_as_percentages(world, tmp_path):
    """The share of active weeks read "0.389" beside an engagement rate of "0.18 %"."""
    influencers = _section(build_report(world, tmp_path / "r.html").read_text(), "influencers")
    head = re.findall(r"<th[^>]*>([^<]*)</th>", influencers)
    at = head.index("active weeks share")
    rows = [re.findall(r'<td class="n">([^<]*)</td>', row) for row in re.findall(r'<tr class="lead">(.*?)</tr>', influencers, re.S)]
    shares = [cells[at - 1] for cells in rows]  # rank and influence are numeric cells; the account cell is not
    assert len(shares) >= 20 and all(re.fullmatch(r"\d{1,3}%", s) for s in shares), shares


def test_polarisation_summary_says_what_each_score_means(world, tmp_path):
    """The summary explained RWC in words but modularity not at all and E-I only as a formula; a PR analyst
    needs to know which end of each scale means two closed camps, in French as in English."""
    for lang, modularity, closed in (("en", "modularity of the split says", "closed camps"),
                                     ("fr", "modularité de la partition dit", "camps fermés")):
        intro = _section(build_report(world, tmp_path / f"{lang}.html", language=lang).read_text(), "polarization")
        intro = intro[:intro.index("<table")]
        assert modularity in intro and closed in intro and ("−1" in intro and "+1" in intro), lang


def test_an_empty_community_profile_says_why(workspace, tmp_path):
    """karate has no posts: every community's hashtags, domains, terms, languages and activity were blank cells."""
    ingest(workspace, REAL / "karate" / "karate.gml")
    _analyze_all(workspace)
    for lang, why in (("en", "no post by its members in the corpus"), ("fr", "aucune publication de ses membres")):
        communities = _section(build_report(workspace, tmp_path / f"{lang}.html", language=lang).read_text(),
                               "communities")
        assert communities.count(why) == communities.count("<tr>") - 1 >= 2, lang
