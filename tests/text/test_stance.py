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
from confiance.text.negation import negated_scopes
from confiance.text.stance import (STANCES, StanceTargetError, fit_target, load_target, parse_target, passages,
                                   relevance_and_stance_scores, run_stance, score_posts, stance_summary,
                                   wilson_interval)

TARGET = Path(__file__).resolve().parents[2] / "examples" / "stance-solvane.yaml"
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


@pytest.mark.parametrize("text, field, line", [
    ("target: solvane\ndescription: Le vélo Solvane\nexamples:\n  favour: [\"Top\"]\n  againts: [\"Nul\"]\n"
     "  neutral: [\"Prix ?\"]\n", "examples.againts", 5),                            # a typo in a label
    ("target: solvane\ndescripton: Le vélo Solvane\n", "descripton", 2),               # a typo in a field
    ("target: solvane\ndescription: d\nexamples:\n  favour:\n    - Top\n    - \"\"\n  against: [Nul]\n"
     "  neutral: [Prix]\n", "examples.favour[1]", 6),
    ("target: solvane\ndescription: d\nexamples:\n  favour: [Top, Génial]\n", "examples.against", 3),  # one label only
])
def test_invalid_target_file_names_the_line(tmp_path, text, field, line):
    path = tmp_path / "cible.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(StanceTargetError) as info:
        load_target(path)
    assert info.value.field == field and info.value.line == line
    assert str(info.value).startswith(f"{path}, line {line}: field {field!r}")


def test_passages_join_fragments():
    text = "The Solvane e-bike? Overpriced and the battery dies fast, avoid. Anyway, nice weather today for a ride."
    spans = [text[a:b] for a, b in passages(text)]
    assert spans[0] == "The Solvane e-bike? Overpriced and the battery dies fast, avoid."
    assert spans[-1] == "Anyway, nice weather today for a ride."
    assert passages("") == [(0, 0)]
    # a run of fragments reads on to the first full sentence
    text = "Et vous ? Le vélo Solvane ? Trop cher et la batterie lâche vite, je ne le conseille pas. Bonne soirée."
    spans = [text[a:b] for a, b in passages(text)]
    assert spans[0] == spans[0][:10] + spans[1] and spans[1].startswith("Le vélo") and spans[1].endswith("pas.")


@pytest.mark.parametrize("text, scopes", [
    ("I would not recommend it, the battery is great.", ["recommend it"]),
    ("I don't like it but it's not bad", ["like it", "bad"]),
    ("Le vélo ne tient pas la route, je ne le conseille pas.", ["tient la route", "le conseille"]),
    ("Je n'aime plus ce vélo", ["aime ce vélo"]),
    ("J'aime pas ce vélo, franchement", ["J'aime ce vélo"]),       # spoken French drops "ne"
    ("Il y a plus de vélos que de voitures", []),                    # "plus" without "ne" means more
    ("Love it, really great!", []),
])
def test_negated_scopes(text, scopes):
    assert [affirmative for _, _, affirmative in negated_scopes(text)] == scopes
    assert all(text[a:b].strip() for a, b, _ in negated_scopes(text))


def _classified(texts):
    from confiance.text.embed import encode

    return score_posts(fit_target(load_target(TARGET)), texts, encode(texts)).labels


def test_negated_opinions_are_reversed():
    """Posts written for this test (not the simulator's sentences): a negated favourable wording is
    against, in English and French; a negated question stays neutral; plain opinions keep their label."""
    cases = {
        "I would never buy a Solvane bike again, the motor is not reliable.": "against",
        "Honestly I don't recommend the Solvane e-bike to anyone.": "against",
        "My Solvane is not worth the money at all.": "against",
        "Je ne recommande pas le vélo Solvane, la batterie ne dure jamais.": "against",
        "Le vélo Solvane ne vaut pas son prix.": "against",
        "J'aime pas du tout mon Solvane, franchement.": "against",
        "Does the Solvane e-bike not come with a lock? Asking before I buy.": "neutral",
        "Le vélo Solvane n'est pas encore disponible à Lyon, quelqu'un sait quand ?": "neutral",
        "Mon Solvane est génial, je le conseille à tous mes collègues.": "favour",
        "Loving my new Solvane e-bike, smooth ride every morning.": "favour",
    }
    assert _classified(list(cases)) == list(cases.values())


@pytest.mark.xfail(strict=True, reason="a negated negative word is reversed only as far as the 9 examples "
                                       "tell it is against: both read 'against'")
def test_negated_negative_words_are_favour():
    assert _classified(["No regrets at all with my Solvane e-bike, it never lets me down.",
                        "Je ne regrette pas du tout mon vélo Solvane, il ne m'a jamais lâché."]) == ["favour", "favour"]


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
#: recall 0.988, accuracy 0.996, macro-F1 0.995 (0.849 and 0.819 before negated scopes were reversed
#: and fragment runs joined); on the development world (seed 7, all posts): 1.000, 0.984, 1.000, 1.000
#: (0.904 and 0.871 before); on a third world (seed 11, all posts): 1.000, 0.982, 1.000, 0.999.
FLOORS = {"relevance_precision": 0.9, "relevance_recall": 0.9, "stance_accuracy": 0.95, "stance_macro_f1": 0.95}


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
