"""Trends: planted bursts are found, the query language parses (and refuses) what it should, and share
of voice on the simulated world matches counts taken from the planted truth."""

from __future__ import annotations

import re

import numpy as np
import orjson
import pytest

from confiance.store import transaction
from confiance.text.trends import (METHOD, QueryError, compile_query, count_matches, detect_bursts, parse_query,
                                   query_sql, run_trends, share_of_voice)
from tests.conftest import copy_workspace, ingest, scalar


def planted_series(seed: int, days: int = 120, bursts: int = 4):
    """Negative-binomial daily counts (overdispersed, weekly cycle) with ``bursts`` planted spikes of
    4 to 8 standard deviations (plus 2 posts) above the level."""
    rng = np.random.default_rng(seed)
    level = rng.uniform(3, 40)
    weekly = 1 + 0.3 * np.sin(2 * np.pi * np.arange(days) / 7)
    mean = level * weekly
    dispersion = 8.0
    counts = rng.negative_binomial(dispersion, dispersion / (dispersion + mean)).astype(float)
    days_hit = rng.choice(np.arange(20, days), size=bursts, replace=False)
    for d in days_hit:
        counts[d] += rng.uniform(4, 8) * (np.sqrt(level + level * level / dispersion) + 2)
    return counts, set(int(d) for d in days_hit)


def test_planted_bursts_are_found():
    found = true_hits = planted = 0
    for seed in range(200):
        counts, hits = planted_series(seed)
        test = detect_bursts(counts)
        flagged = set(np.flatnonzero(test.burst).tolist())
        found += len(flagged)
        true_hits += len(flagged & hits)
        planted += len(hits)
    precision, recall = true_hits / found, true_hits / planted
    print(f"\nbursts ({METHOD}, z >= 3): precision {precision:.3f}, recall {recall:.3f} over {planted} planted")
    assert precision >= 0.8
    assert recall >= 0.8


def test_no_bursts_in_a_flat_poisson_series():
    rng = np.random.default_rng(1)
    flagged = sum(int(detect_bursts(rng.poisson(20, 120)).burst.sum()) for _ in range(50))
    assert flagged / (50 * 120) < 0.01


def test_burst_arithmetic_by_hand():
    from scipy import stats

    counts = [10, 10, 10, 10, 10, 10, 10, 30]
    test = detect_bursts(counts, window=7, min_history=7)
    # history: mean 10, variance 0 (not overdispersed) -> Poisson(10); P(X >= 30) as a normal quantile
    assert test.expected[7] == pytest.approx(10)
    assert test.score[7] == pytest.approx(stats.norm.isf(stats.poisson.sf(29, 10)))
    assert test.burst.tolist() == [False] * 7 + [True]
    assert np.isnan(test.score[:7]).all()
    with pytest.raises(ValueError):
        detect_bursts(counts, window=3, min_history=7)


@pytest.mark.parametrize("query, ops", [
    ("velo", "word"),
    ("vélo électrique", "and"),
    ("a OR b AND c", "or"),
    ("NOT a", "not"),
    ("-#pub", "not"),
    ('"vélo électrique"', "phrase"),
    ("@Alice", "mention"),
    ("lang:FR", "field"),
    ("e-bike", "word"),
    ("or and not", "and"),  # lower-case operator words are ordinary words
])
def test_parse(query, ops):
    assert parse_query(query).op == ops


def test_precedence_and_values():
    tree = parse_query('(Solvane OR #Solvane) lang:fr -platform:mastodon')
    assert tree.op == "and" and [c.op for c in tree.children] == ["or", "field", "not"]
    assert tree.children[0].children[1].value == "solvane"
    assert tree.children[1].value == "lang:fr"
    assert parse_query("a OR b AND c").children[1].op == "and"


@pytest.mark.parametrize("query, column, words", [
    ("", 1, "empty query"),
    ("   ", 1, "empty query"),
    ("a OR", 5, "ends where a term"),
    ("(a OR b", 1, "never closed"),
    ("a)", 2, "unmatched ')'"),
    ('vélo "électrique', 6, "quote is never closed"),
    ("AND a", 1, "needs a term on each side"),
    ("a AND OR b", 7, "needs a term on each side"),
    ("()", 2, "')' where a term"),
    ("lang:", 6, "needs a value"),
    ("# a", 1, "'#' needs a hashtag"),
    ("*", 1, "'*' is only allowed"),
    ("a*b", 1, "'*' is only allowed"),
    ('""', 1, "empty phrase"),
])
def test_parse_errors_name_the_column(query, column, words):
    with pytest.raises(QueryError, match=re.escape(words)) as info:
        parse_query(query)
    assert info.value.column == column
    assert f"column {column}" in str(info.value)


def test_hostile_input_stays_data(workspace):
    with pytest.raises(QueryError, match="nested more than"):
        parse_query("(" * 500 + "a" + ")" * 500)
    with pytest.raises(QueryError, match="longer than"):
        parse_query("a " * 2000)
    hostile = "'; DROP TABLE posts; -- \\ %_ .* (?i) $1"
    sql, params = compile_query(parse_query(hostile.replace("(", "").replace(")", "")))
    assert "DROP" not in sql and "'; " not in sql
    with workspace.reader() as con:
        assert count_matches(con, hostile.replace("(", "").replace(")", "")) == 0
        assert count_matches(con, '"%" OR _ OR "\\"') == 0
        assert con.execute("SELECT count(*) FROM posts").fetchall()[0][0] == 0


FRENCH_POSTS = {
    "1": "J'adore mon vélo électrique #vélotaf",
    "2": "Le VÉLO c'est la liberté, vive l'électrique",
    "3": "Pas mal ce velo, je le recommande 🚲🔥",
    "4": "Ce n’est pas terrible, l’électrique coûte trop cher #Velotaf",
    "5": "Le vélo-cargo de Solvane ❤️",
    "6": "Rien à voir : une voiture électrique",
}


@pytest.fixture
def french_workspace(workspace, tmp_path):
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("platform: x\ncolumns: {post_id: id, handle: author, created_at: date, text: body}\n")
    csv = tmp_path / "posts.csv"
    lines = ["id,author,date,body"] + [f'{i},user{i},2025-03-0{i} 10:00:00,"{t}"' for i, t in FRENCH_POSTS.items()]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ingest(workspace, csv, format_name="generic-csv", options={"mapping": str(mapping)})
    return workspace


@pytest.mark.parametrize("query, posts", [
    ("velo", {"1", "2", "3", "5"}),                 # accents and case folded both ways
    ("VÉLO", {"1", "2", "3", "5"}),
    ("vel*", {"1", "2", "3", "4", "5"}),          # "#Velotaf" in the text is a word too
    ("l'électrique", {"2", "4"}),                   # ' and ’ are one apostrophe
    ("l’electrique", {"2", "4"}),
    ("électrique", {"1", "2", "4", "6"}),           # the elided word is a word of its own
    ('"vélo électrique"', {"1"}),
    ('"n\'est pas terrible"', {"4"}),
    ("#velotaf", {"1", "4"}),
    ("#VÉLOTAF", {"1", "4"}),
    ("cargo", {"5"}),
    ('"vélo cargo"', {"5"}),                        # a hyphen is a space
    ("velo-cargo", {"5"}),
    ("❤️", {"5"}),
    ('"recommande 🚲"', {"3"}),
    ("électrique -vélo", {"4", "6"}),
])
def test_french_queries_fold_accents_and_apostrophes(french_workspace, query, posts):
    with french_workspace.reader() as con:
        sql, params = query_sql(con, query)
        got = {r[0] for r in con.execute(f"SELECT p.post_id {sql}", params).fetchall()}
    assert got == posts


def _truth_posts(world):
    with open(world / "truth-posts.jsonl", "rb") as fh:
        return [orjson.loads(line)["truth_post"] for line in fh]


def test_share_of_voice_matches_planted_truth(sim_world):
    world, ws, truth = sim_world
    posts = [p for p in _truth_posts(world) if p["kind"] != "repost"]
    campaign = {(s["platform"], s["post_id"]) for s in truth["sponsored_posts"] if s["campaign"]}
    fr_x = {(p["platform"], p["post_id"]) for p in posts if p["language"] == "fr" and p["platform"] == "x"}
    english = {(p["platform"], p["post_id"]) for p in posts if p["language"] == "en"}
    own = {(p["platform"], p["post_id"]) for p in posts}
    expected = {
        f"#{truth['campaign']['hashtag']}": len(campaign & own),
        "lang:fr AND platform:x": len(fr_x),
        "lang:en OR #solvane": len(english | (campaign & own)),
        "NOT lang:en": len(own - english),
    }
    with ws.reader() as con:
        result = share_of_voice(con, list(expected), by="week", kinds=("post", "reply", "quote"))
    got = {row["query"]: row["posts"] for row in result["totals"]}
    assert got == expected
    assert sum(r["share"] for r in result["totals"]) == pytest.approx(1.0)
    periods = {}
    for row in result["series"]:
        periods.setdefault(row["period"], []).append(row)
    for rows in periods.values():
        assert sum(r["share"] for r in rows) == pytest.approx(1.0)
    for query, n in expected.items():
        assert sum(r["posts"] for r in result["series"] if r["query"] == query) == n
    assert result["notes"] == []
    with ws.reader() as con:
        typo = share_of_voice(con, ["platform:twitter AND lang:fr", "NOT lang:xx OR #solvane"])
    assert typo["totals"][0]["posts"] == 0
    assert typo["notes"] == ["lang:xx matches no post (values here: " + ", ".join(sorted(
        {p["language"] for p in _truth_posts(world)})) + ")", "platform:twitter matches no post (values here: "
        "bluesky, mastodon, x)"]


def test_trends_step_finds_coordinated_link_bursts(sim_world):
    """Coordinated groups push low-credibility links in short events: those domains burst."""
    _, ws, truth = sim_world
    with ws.writer() as con:
        with transaction(con):
            result = run_trends(con, "test")
        rows = con.execute("SELECT series_kind, series, day, count, expected, score, method FROM trend_bursts").fetchall()
    assert result["bursts"] == len(rows) > 0
    assert all(r[3] >= 5 and r[5] >= 3 and r[6] == METHOD for r in rows)
    low = {d["domain"] for d in truth["domains"]["low_credibility"]}
    burst_domains = {r[1] for r in rows if r[0] == "domain"}
    print(f"\nbursting domains: {sorted(burst_domains)}")
    assert burst_domains and burst_domains <= low


def test_cli_sov_and_trends(sim_world, analysed_world_base, tmp_path):
    from typer.testing import CliRunner

    from confiance.cli import app

    runner = CliRunner()
    _, fresh, _ = sim_world
    out = runner.invoke(app, ["--workspace", str(fresh.root), "trends", "--json"])
    assert out.exit_code == 1 and "no trends yet" in str(out.exception)
    # the rest on an analysed copy, whose stored embeddings `analyze --only trends` reuses
    ws = copy_workspace(analysed_world_base[1], tmp_path / "analysed")
    root = ["--workspace", str(ws.root)]
    out = runner.invoke(app, root + ["sov", "#solvane", "lang:fr", "--by", "week", "--json"])
    assert out.exit_code == 0, out.output
    data = orjson.loads(out.stdout)
    assert [t["query"] for t in data["totals"]] == ["#solvane", "lang:fr"] and data["by"] == "week"
    with ws.reader() as con:
        stored = con.execute("SELECT count(DISTINCT query), sum(posts) FROM share_of_voice").fetchall()[0]
    assert stored == (2, sum(t["posts"] for t in data["totals"]))
    out = runner.invoke(app, root + ["sov", "(#solvane"])
    assert out.exit_code == 1 and isinstance(out.exception, QueryError) and out.exception.column == 1
    assert runner.invoke(app, root + ["sov", "x", "--by", "month"]).exit_code == 2
    trend_runs = "SELECT list(DISTINCT run_id) FROM trend_bursts"
    before = scalar(ws, trend_runs)
    out = runner.invoke(app, root + ["analyze", "--only", "trends"])
    assert out.exit_code == 0, out.output
    assert scalar(ws, trend_runs) != before
    out = runner.invoke(app, root + ["trends", "--json"])
    assert out.exit_code == 0 and orjson.loads(out.stdout)


def test_cli_trends_refuses_a_window_shorter_than_the_history(french_workspace):
    """Checked before any series is read: on a corpus without series `--window 3` was recorded as if valid."""
    from typer.testing import CliRunner

    from confiance.cli import app

    out = CliRunner().invoke(app, ["--workspace", str(french_workspace.root), "trends", "--window", "3"])
    assert out.exit_code == 1 and "not window 3, min_history 7" in str(out.exception)
    assert scalar(french_workspace, "SELECT count(*) FROM analysis_runs WHERE step = 'trends'") == 0
    assert CliRunner().invoke(app, ["--workspace", str(french_workspace.root), "trends", "--threshold", "-1"]).exit_code == 2
