"""Campaign planner: IMM against exact spreads on tiny graphs, the NetHEPT anchor, budgets and costs,
reproducibility, and two very different segments of the simulated world reached together."""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter, defaultdict

import numpy as np
import pytest
from typer.testing import CliRunner

from confiance.campaign.brief import parse_brief
from confiance.campaign.plan import (diffusion_graph, imm, latest_plan, plan, run_plan, segment_membership,
                                     simulate_spread)
from confiance.cli import app
from confiance.errors import ConfianceError
from confiance.graph.build import AccountGraph, load_graph
from confiance.pipeline import analyze
from confiance.report import build_report
from tests.conftest import REAL, ingest

NETHEPT = REAL / "nethept" / "NetHEPT.txt"


# --------------------------------------------------------------------------- tiny graphs, exact spreads


def _graph(n: int, arcs: list[tuple[int, int, float]]) -> AccountGraph:
    src, dst, p = (np.array(x) for x in zip(*arcs))
    return AccountGraph(np.array(["g"] * n, dtype=object), np.array([str(i) for i in range(n)], dtype=object),
                        src.astype(np.int64), dst.astype(np.int64), np.ones(len(arcs)), p.astype(np.float64))


def _exact_spread(n: int, arcs: list[tuple[int, int, float]], seeds, weight: np.ndarray) -> float:
    """Σ over all live-edge worlds of P(world) × weight of the nodes reachable from the seeds."""
    total = 0.0
    for live in itertools.product((False, True), repeat=len(arcs)):
        probability = math.prod(p if on else 1 - p for on, (_, _, p) in zip(live, arcs))
        reached, frontier = set(seeds), list(seeds)
        while frontier:
            u = frontier.pop()
            for on, (a, b, _) in zip(live, arcs):
                if on and a == u and b not in reached:
                    reached.add(b)
                    frontier.append(b)
        total += probability * weight[list(reached)].sum()
    return total


def _random_tiny(rng: np.random.Generator, n: int = 7, m: int = 11) -> list[tuple[int, int, float]]:
    pairs = [(a, b) for a in range(n) for b in range(n) if a != b]
    chosen = rng.choice(len(pairs), size=m, replace=False)
    return [(pairs[i][0], pairs[i][1], float(rng.choice([0.1, 0.3, 0.5, 0.8, 1.0]))) for i in chosen]


@pytest.mark.parametrize("case", range(6))
def test_imm_matches_the_exact_optimum_on_tiny_graphs(case):
    rng = np.random.default_rng(case)
    n, k, epsilon = 7, 2, 0.1
    arcs = _random_tiny(rng)
    weight = np.ones(n) if case % 2 == 0 else rng.integers(0, 4, n).astype(float)  # odd cases: weighted nodes
    dg = diffusion_graph(_graph(n, arcs), "ic", direction="source")
    exact = {pair: _exact_spread(n, arcs, pair, weight) for pair in itertools.combinations(range(n), k)}
    optimum = max(exact.values())
    chosen = imm(dg, weight, k=k, epsilon=epsilon, rng=np.random.default_rng(case))
    got = exact[tuple(sorted(chosen.seeds))]
    # IMM's guarantee, and its estimate of the chosen set's spread is within ε·OPT of the exact value
    assert got >= (1 - 1 / math.e - epsilon) * optimum
    assert abs(chosen.objective - got) <= epsilon * optimum
    assert chosen.gains.sum() == pytest.approx(chosen.objective)
    # the Monte-Carlo evaluation agrees with the exact value within 4 standard errors
    runs = simulate_spread(dg, chosen.seeds, weight, 4000, np.random.default_rng(99))[:, 0]
    assert abs(runs.mean() - got) <= 4 * runs.std(ddof=1) / math.sqrt(runs.size) + 1e-9


def test_weighted_cascade_probabilities_and_influence_direction(workspace, tmp_path):
    # a,b means "a acted on b": b's messages reach a, so influence flows b -> a
    edges = tmp_path / "edges.csv"
    edges.write_text("source,target\na,b\nc,b\nb,d\n")
    ingest(workspace, edges, format_name="edges-csv")
    analyze(workspace, ["graph"])
    with workspace.reader() as con:
        graph = load_graph(con)
        dg = diffusion_graph(graph, "wc")
        names = list(graph.account_id)
        arcs = {(names[u], names[int(v)]): float(p) for u in range(dg.n)
                for v, p in zip(dg.out_node[dg.out_ptr[u]:dg.out_ptr[u + 1]], dg.out_prob[dg.out_ptr[u]:dg.out_ptr[u + 1]])}
        assert arcs == {("b", "a"): 1.0, ("b", "c"): 1.0, ("d", "b"): 1.0}
        best = plan(con, k=1, model="wc", seed=0, mc_runs=50)
        assert best.seeds[0]["account_id"] == "d"  # d reaches b, then a and c: all four accounts
        assert best.expected_reach["mean"] == pytest.approx(4.0)
        reverse = plan(con, k=1, model="wc", direction="source", seed=0, mc_runs=50)
        assert reverse.seeds[0]["account_id"] in ("a", "c")  # a -> b -> d in the file's own direction


def test_budgeted_selection_takes_the_best_single_account_when_greedy_ratio_fails():
    # Khuller et al.'s example: node 0 covers 2 for cost 1 (ratio 2), node 2 covers 21 for the whole
    # budget (ratio 1.05); the leaves are priced out of reach
    arcs = [(0, 1, 1.0)] + [(2, j, 1.0) for j in range(3, 23)]
    dg = diffusion_graph(_graph(23, arcs), "ic", direction="source")
    cost = np.full(23, 100.0)
    cost[[0, 1]] = 1.0
    cost[2] = 20.0
    chosen = imm(dg, np.ones(23), k=23, cost=cost, budget=20.0, rng=np.random.default_rng(0))
    assert chosen.seeds == [2] and chosen.rule == "best single account"
    assert abs(chosen.objective - 21.0) <= 0.2 * 21.0  # RR estimate within ε·OPT (ε = 0.2)
    cheap = imm(dg, np.ones(23), k=23, cost=cost, budget=5.0, rng=np.random.default_rng(0))
    assert cheap.seeds == [0] and cheap.rule == "cost-effective greedy"
    assert abs(cheap.objective - 2.0) <= 0.2 * 2.0


# --------------------------------------------------------------------------- NetHEPT anchor


def _independent_spread(n: int, arcs: np.ndarray, seeds, runs: int, seed: int) -> np.ndarray:
    """A plain per-run cascade on the file's own arcs u -> v with probability p (not the planner's code)."""
    order = np.argsort(arcs[:, 0], kind="stable")
    u, v, p = arcs[order, 0].astype(np.int64), arcs[order, 1].astype(np.int64), arcs[order, 2]
    ptr = np.searchsorted(u, np.arange(n + 1))
    rng = np.random.default_rng(seed)
    out = np.empty(runs)
    for r in range(runs):
        active = np.zeros(n, bool)
        active[seeds] = True
        frontier = np.asarray(seeds)
        while frontier.size:
            degree = ptr[frontier + 1] - ptr[frontier]
            index = np.repeat(ptr[frontier] - np.cumsum(degree) + degree, degree) + np.arange(degree.sum())
            hit = v[index[rng.random(index.size) < p[index]]]
            frontier = np.unique(hit[~active[hit]])
            active[frontier] = True
        out[r] = active.sum()
    return out


def test_nethept_weighted_cascade_spread_of_50_seeds(workspace):
    [result] = ingest(workspace, NETHEPT, format_name="edges-txt")
    assert (result.stored, result.rejected) == (62752, 0)
    analyze(workspace, ["graph"])
    with workspace.reader() as con:
        planned = plan(con, k=50, model="wc", epsilon=0.2, seed=1, mc_runs=100)
    seeds = [int(s["account_id"]) for s in planned.seeds]
    assert len(set(seeds)) == 50
    with open(NETHEPT) as fh:
        n, _ = map(int, fh.readline().split())
        arcs = np.loadtxt(fh)
    runs = _independent_spread(n, arcs, seeds, 2000, seed=5)
    standard_error = runs.std(ddof=1) / math.sqrt(runs.size)
    # goal: spread >= 955 (10k runs in benchmarks/plan.py); here not significantly below it
    assert runs.mean() >= 955 - 2 * standard_error, (runs.mean(), standard_error)


# --------------------------------------------------------------------------- simulated world


def _segments_from_planted_communities(con, truth: dict, planted: tuple[int, int]) -> str:
    """Brief text with two segments: the Leiden communities made mostly of each planted community."""
    community_of = {(a["platform"], a["account_id"]): a["community"] for a in truth["accounts"]}
    makeup: dict[int, Counter] = defaultdict(Counter)
    for platform, account, community in con.execute("SELECT platform, account_id, community FROM communities").fetchall():
        makeup[community][community_of[(platform, account)]] += 1
    text = "brand: test\nsegments:\n"
    for c in planted:
        ids = sorted(leiden for leiden, counts in makeup.items() if counts.most_common(1)[0][0] == c)
        text += f"  - name: planted {c}\n    weight: 1\n    audience: {{communities: {ids}}}\n"
    return text


def test_two_equally_weighted_segments_are_both_reached_where_single_segment_plans_are_not(sim_world):
    _, ws, truth = sim_world
    analyze(ws, ["communities"])
    languages = {c["id"]: (c["language"], c["side"]) for c in truth["communities"]}
    first, second = 0, 7
    assert languages[first][0] != languages[second][0] and languages[first][1] != languages[second][1]
    with ws.reader() as con:
        text = _segments_from_planted_communities(con, truth, (first, second))
        both = parse_brief(text)
        only_first = parse_brief(text.split("  - name: planted 7")[0])
        dg = diffusion_graph(load_graph(con), "wc")
        _, membership, _, notes = segment_membership(con, dg, both)
        assert not notes
        sizes = membership.sum(axis=0)
        index = {(p, a): i for i, (p, a) in enumerate(zip(dg.platform, dg.account_id))}

        def shares(brief) -> np.ndarray:
            chosen = plan(con, brief, k=3, model="wc", seed=2, mc_runs=50)
            seeds = [index[(s["platform"], s["account_id"])] for s in chosen.seeds]
            return simulate_spread(dg, seeds, membership, 1000, np.random.default_rng(4)).mean(axis=0) / sizes

        balanced, single, plain = shares(both), shares(only_first), shares(None)
    # the balanced plan reaches at least 30% of each segment; plans that optimise one segment, or plain
    # reach, leave the other segment below half of that
    assert balanced.min() >= 0.30, balanced
    assert single[1] < 0.15 and single[0] >= 0.30, single
    assert plain.min() < 0.15, plain


def test_plan_is_reproducible_respects_budget_and_exclusions_and_is_stored(sim_world):
    _, ws, truth = sim_world
    analyze(ws, ["graph"])
    excluded = sorted((a for a in truth["accounts"] if a["is_influencer"]), key=lambda a: -a["followers"])[0]
    brief = parse_brief(
        "brand: test\nsegments:\n  - {name: fr, weight: 2, audience: {languages: [fr]}}\n"
        "  - {name: en, weight: 1, audience: {languages: [en]}}\n"
        "budget:\n  total: 3000\n  currency: EUR\n  cost: {model: cpm, cpm: 100, minimum: 150}\n"
        f"exclusions:\n  accounts: ['{excluded['platform']}:{excluded['account_id']}']\n  platforms: [mastodon]\n")
    with ws.reader() as con:
        one = plan(con, brief, seed=11, mc_runs=200)
        two = plan(con, brief, seed=11, mc_runs=200)
        followers = dict(((p, a), f) for p, a, f in con.execute("SELECT platform, account_id, followers FROM accounts").fetchall())
    strip = lambda r: {**r.to_json(), "diagnostics": {k: v for k, v in r.diagnostics.items() if k != "seconds"}}  # noqa: E731
    assert strip(one) == strip(two)
    assert one.seeds and one.diagnostics["total_cost"] <= 3000
    assert one.parameters["currency"] == "EUR"  # the report writes the costs in it
    for s in one.seeds:
        assert s["cost"] == pytest.approx(max(100 * (followers[(s["platform"], s["account_id"])] or 0) / 1000, 150))
        assert s["platform"] != "mastodon"
        assert (s["platform"], s["account_id"]) != (excluded["platform"], excluded["account_id"])
    assert set(one.segments) == {"fr", "en"} and one.segments["fr"]["weight"] == pytest.approx(2 / 3)
    for figures in one.segments.values():
        assert figures["lower"] <= figures["mean"] <= figures["upper"]
    assert sum(s["marginal_share"] for s in one.seeds) == pytest.approx(1.0)
    assert all(a >= b - 1e-12 for a, b in zip([s["marginal_gain"] for s in one.seeds],
                                              [s["marginal_gain"] for s in one.seeds][1:])) or one.diagnostics["rule"] != "greedy"

    with ws.writer() as con:
        stored = run_plan(con, "run1", brief, seed=11, mc_runs=200)
    with ws.reader() as con:
        document = latest_plan(con)
    assert document["run_id"] == "run1" and [s["account_id"] for s in document["seeds"]] == [s["account_id"] for s in stored.seeds]
    assert document["segments"]["fr"]["mean"] == pytest.approx(stored.segments["fr"]["mean"])
    html = build_report(ws).read_text()
    assert "Campaign plan" in html and "Reach per segment" in html
    assert (stored.seeds[0]["handle"] or stored.seeds[0]["account_id"]) in html


def test_cli_plan_json_contract_and_errors(sim_world, tmp_path):
    _, ws, _ = sim_world
    runner = CliRunner()
    missing = runner.invoke(app, ["--workspace", str(ws.root), "plan", "--json"])
    assert missing.exit_code == 1 and "run `confiance analyze`" in str(missing.exception)
    analyze(ws, ["graph"])
    brief = tmp_path / "brief.yaml"
    brief.write_text("brand: test\nsegments:\n  - name: fr\n    audience: {languages: [fr]}\n")
    done = runner.invoke(app, ["--workspace", str(ws.root), "plan", str(brief), "--k", "3", "--mc-runs", "50", "--json"])
    assert done.exit_code == 0, done.output
    document = json.loads(done.stdout)
    assert len(document["seeds"]) == 3 and {"platform", "account_id", "marginal_gain", "fit"} <= set(document["seeds"][0])
    assert document["expected_reach"]["mean"] > 0 and set(document["segments"]) == {"fr"}
    bad_model = runner.invoke(app, ["--workspace", str(ws.root), "plan", "--model", "lt", "--json"])
    assert bad_model.exit_code == 2
    brief.write_text("brand: test\nsegments:\n  - name: fr\n    weight: lots\n")
    bad_brief = runner.invoke(app, ["--workspace", str(ws.root), "plan", str(brief), "--json"])
    assert bad_brief.exit_code == 1 and f"{brief}:4: field 'segments[0].weight'" in str(bad_brief.exception)
    with ws.reader() as con:
        with pytest.raises(ConfianceError, match="communities"):
            plan(con, parse_brief("brand: t\nsegments:\n  - {name: s, audience: {communities: [1]}}\n"), k=1)
        with pytest.raises(ConfianceError, match="unknown diffusion model"):
            plan(con, k=1, model="lt")


def test_demographic_segments_use_the_audience_reports_of_engaged_accounts(workspace, tmp_path):
    edges = tmp_path / "edges.csv"
    edges.write_text("source,target\na,star1\nb,star1\nc,star2\na,c\n")
    ingest(workspace, edges, format_name="edges-csv")
    analyze(workspace, ["graph"])
    brief = parse_brief("brand: t\nsegments:\n  - {name: young, audience: {age: [18-24]}}\n")
    with workspace.reader() as con:
        dg = diffusion_graph(load_graph(con), "wc")
        _, _, _, notes = segment_membership(con, dg, brief)
        assert notes == ["segment 'young': age ignored (no audience reports)"]
    reports = tmp_path / "audience.csv"
    reports.write_text("platform,account_id,dimension,category,share,source\n"
                       "graph,star1,age,18-24,0.8,platform\ngraph,star1,age,25-34,0.2,platform\n"
                       "graph,star2,age,18-24,0.1,platform\ngraph,star2,age,25-34,0.9,platform\n")
    ingest(workspace, reports, format_name="audience-csv")
    with workspace.reader() as con:
        names, membership, weights, notes = segment_membership(con, dg, brief)
        share = dict(zip(dg.account_id, membership[:, 0]))
    assert not notes and names == ["young"] and weights.tolist() == [1.0]
    # a engaged with star1 (0.8) and c (no report): only reported audiences count; c engaged with star2
    assert share["a"] == pytest.approx(0.8) and share["b"] == pytest.approx(0.8)
    assert share["c"] == pytest.approx(0.1)
    assert share["star1"] == pytest.approx(0.45) and share["star2"] == pytest.approx(0.45)  # the mean report


def test_a_brief_that_rules_out_every_account_says_so(sim_world):
    # an empty portfolio with zero reach and no word of why left the analyst guessing
    _, ws, _ = sim_world
    analyze(ws, ["graph"])
    brief = parse_brief("brand: test\nexclusions:\n  platforms: [x, bluesky, mastodon]\n")
    with ws.reader() as con:
        result = plan(con, brief, k=3, mc_runs=10)
    assert result.seeds == [] and result.expected_reach["mean"] == 0
    assert any("rule out every account" in note for note in result.notes)
