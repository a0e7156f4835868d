"""Stance toward a target: target validation, the interval, and the planted stance of the simulated world."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import orjson
import pytest
from typer.testing import CliRunner

from confiance.cli import app
from confiance.store import transaction
from confiance.text.stance import (STANCES, StanceTargetError, load_target, parse_target, passages,
                                   relevance_and_stance_scores, run_stance, stance_summary, wilson_interval)

TARGET = Path(__file__).resolve().parents[1] / "data" / "stance" / "solvane.yaml"
#: One post in SAMPLE_EVERY is kept from the shared world, so the test embeds a few thousand posts.
SAMPLE_EVERY = 8


def test_target_file_loads():
    target = load_target(TARGET)
    assert target.target == "solvane" and target.relevance_threshold is None
    assert all(len(target.examples[label]) == 3 for label in STANCES)


@pytest.mark.parametrize("data, field, words", [
    ([], "(top level)", "must be a mapping"),
    ({"description": "d", "examples": {}}, "target", "short id"),
    ({"target": "a b", "description": "d", "examples": {}}, "target", "short id"),
    ({"target": "t", "description": " ", "examples": {}}, "description", "non-empty"),
    ({"target": "t", "description": "d", "examples": {"favour": ["x"], "against": ["y"]}}, "examples.neutral", "non-empty list"),
    ({"target": "t", "description": "d", "examples": {"favour": ["x"], "against": ["y"], "neutral": ["z"], "pro": ["w"]}},
     "examples.pro", "unknown label"),
    ({"target": "t", "description": "d", "examples": {"favour": ["x", 3], "against": ["y"], "neutral": ["z"]}},
     "examples.favour[1]", "non-empty text"),
    ({"target": "t", "description": "d", "relevance_threshold": 2, "examples": {}}, "relevance_threshold", "[-1, 1]"),
    ({"target": "t", "description": "d", "examples": {}, "keywords": []}, "keywords", "unknown field"),
])
def test_invalid_targets_name_file_and_field(data, field, words):
    with pytest.raises(StanceTargetError) as info:
        parse_target(data, "brand.yaml")
    assert info.value.field == field
    assert str(info.value).startswith(f"brand.yaml: field {field!r}") and words in str(info.value)


def test_invalid_yaml_names_the_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("target: x\ndescription: [unclosed\n", encoding="utf-8")
    with pytest.raises(StanceTargetError, match=r"bad.yaml: field '\(file\)': is not valid YAML at line \d+"):
        load_target(path)
    with pytest.raises(StanceTargetError, match="cannot be read"):
        load_target(tmp_path / "missing.yaml")


def test_passages_join_fragments():
    text = "The Solvane e-bike? Overpriced and the battery dies fast, avoid. Anyway, nice weather today for a ride."
    spans = [text[a:b] for a, b in passages(text)]
    assert spans[0] == "The Solvane e-bike? Overpriced and the battery dies fast, avoid."
    assert spans[-1] == "Anyway, nice weather today for a ride."
    assert passages("") == [(0, 0)]


def test_wilson_interval():
    lower, upper = wilson_interval(np.array([1.0, 1.0, 0.0, 0.0]), np.array([1, 100, 4, 400]))
    assert upper[0] == 1.0 and lower[0] < 0          # one favourable post says little
    assert lower[1] > 0.9                              # a hundred say a lot
    assert lower[2] < 0 < upper[2] and (upper[2] - lower[2]) > 4 * (upper[3] - lower[3]) > 0
    assert np.all((lower >= -1) & (upper <= 1))


@pytest.fixture(scope="module")
def stance_world(sim_world_base, tmp_path_factory):
    """The shared world keeping one post in SAMPLE_EVERY (by a hash of its id), reposts dropped, scored
    once against the Solvane target with the campaign's intervention date as the split."""
    import shutil

    from confiance.workspace import Workspace

    world, base = sim_world_base
    root = tmp_path_factory.mktemp("stance") / "ws"
    shutil.copytree(base, root, ignore=shutil.ignore_patterns("*.lock"))
    ws = Workspace.open(root)
    truth = json.loads((world / "truth.json").read_text())
    planted = {}
    with open(world / "truth-posts.jsonl", "rb") as fh:
        for line in fh:
            post = orjson.loads(line)["truth_post"]
            planted[(post["platform"], post["post_id"])] = post
    split = date.fromisoformat(truth["campaign"]["intervention_date"])
    with ws.writer() as con:
        con.execute("DELETE FROM posts WHERE kind = 'repost' OR hash(post_id) % ? <> 0", [SAMPLE_EVERY])
        with transaction(con):
            result = run_stance(con, "test", load_target(TARGET), split_date=split)
        keys = con.execute("SELECT platform, post_id FROM posts WHERE text <> ''").fetchall()
        found = dict(((p, i), label) for p, i, label in con.execute(
            "SELECT platform, post_id, label FROM post_stance WHERE target = 'solvane'").fetchall())
    gold = [planted[k]["stance"] for k in keys]
    scores = relevance_and_stance_scores(gold, [k in found for k in keys], [found.get(k, "neutral") for k in keys])
    print("\nstance on the simulated world (seed 3, 1 post in", SAMPLE_EVERY, "):", json.dumps(scores))
    return {"ws": ws, "truth": truth, "result": result, "found": found, "scores": scores}


#: Floors: regressions fail here. Measured on the test world (seed 3, 1 post in 8): precision 1.000,
#: recall 0.988, accuracy 0.844 (0.849 since the simulated exposure runs through the graph), macro-F1
#: 0.816; on the development world (seed 7, all posts): 1.00, 0.98, 0.93, 0.90.
FLOORS = {"relevance_precision": 0.9, "relevance_recall": 0.9, "stance_accuracy": 0.8, "stance_macro_f1": 0.75}


def test_stance_on_simulated_world(stance_world):
    ws, result, found, scores = (stance_world[k] for k in ("ws", "result", "found", "scores"))
    with ws.reader() as con:
        spans = con.execute("SELECT p.text, s.passage_start, s.passage_end FROM post_stance s "
                            "JOIN posts p USING (platform, post_id)").fetchall()
        periods = {r[0] for r in con.execute("SELECT DISTINCT period FROM account_stance").fetchall()}
        summary = stance_summary(con, "solvane")
    assert result["relevant_posts"] == len(found) == len(spans) and result["threshold"] > 0
    assert periods == {"before", "after"} and summary["periods"]
    assert all(0 <= a < b <= len(text) and "solvane" in text[a:b].lower() for text, a, b in spans[:200])
    for name, floor in FLOORS.items():
        assert scores[name] >= floor, f"{name} {scores[name]:.3f} < {floor}"


@pytest.mark.xfail(strict=True, reason="stance accuracy 0.849 on the test world vs goal 0.85 (development world: 0.93)")
def test_stance_accuracy_goal(stance_world):
    assert stance_world["scores"]["stance_accuracy"] >= 0.85


def test_exposed_accounts_shift_toward_the_brand(stance_world):
    """Exposed accounts' planted stance moves up after the intervention; their measured stance does too,
    more than that of the accounts that were not exposed."""
    ws, truth = stance_world["ws"], stance_world["truth"]
    exposed = {(a["platform"], a["account_id"]) for a in truth["campaign"]["exposed_accounts"]}
    brands = {(a["platform"], a["account_id"]) for a in truth["accounts"] if a["is_brand"]}
    with ws.reader() as con:
        rows = con.execute("SELECT platform, account_id, period, stance, n_posts FROM account_stance").fetchall()
    means = {}
    for platform, account, period, stance, n in rows:
        if (platform, account) in brands:
            continue
        group = "exposed" if (platform, account) in exposed else "other"
        acc = means.setdefault((group, period), [0.0, 0])
        acc[0] += stance * n
        acc[1] += n
    shift = {g: means[(g, "after")][0] / means[(g, "after")][1] - means[(g, "before")][0] / means[(g, "before")][1]
             for g in ("exposed", "other")}
    print(f"\nmean stance after - before: exposed {shift['exposed']:+.3f}, not exposed {shift['other']:+.3f}")
    assert shift["exposed"] > 0.1
    assert shift["exposed"] > shift["other"]


def test_cli_stance(sim_world, tmp_path):
    _, ws, _ = sim_world
    with ws.writer() as con:  # a small private sample: the CLI path, not the figures, is under test here
        con.execute("DELETE FROM posts WHERE hash(post_id) % 64 <> 0")
    runner = CliRunner()
    out = runner.invoke(app, ["--workspace", str(ws.root), "stance", str(TARGET), "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["target"] == "solvane" and data["relevant_posts"] > 0 and data["accounts"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("target: x\n", encoding="utf-8")
    out = runner.invoke(app, ["--workspace", str(ws.root), "stance", str(bad)])
    assert out.exit_code == 1  # main() prints the ConfianceError on one line
    assert isinstance(out.exception, StanceTargetError) and "bad.yaml: field 'description'" in str(out.exception)
    out = runner.invoke(app, ["--workspace", str(ws.root), "stance", str(TARGET), "--split-date", "31/03/2025"])
    assert out.exit_code == 2
