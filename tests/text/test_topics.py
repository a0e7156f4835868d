"""Topics on the simulated world: NMI against the planted topics in each language, FR/EN twins in
the same topic, outliers, reproducibility, incremental assignment, labels, tables and CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import normalized_mutual_info_score

from confiance.errors import ConfianceError
from confiance.pipeline import analyze
from confiance.simulate import vocabulary as V
from confiance.simulate.model import STANCE_NONE
from confiance.simulate.text import segments
from confiance.text.embed import encode
from confiance.text.language import clean_text
from confiance.text.topics import (
    MIN_TOPIC_SIZE, class_tfidf_terms, fit_topic_model, load_topic_model, max_topics, stop_words,
)
from confiance.workspace import Workspace
from tests.conftest import copy_workspace, query

NMI_GOAL = 0.8
TWIN_GOAL = 0.9
TWINS = 240


@pytest.fixture(scope="module")
def topic_world(analysed_world_base, tmp_path_factory) -> tuple[Path, Workspace]:
    """A copy of the shared analysed world (language, embeddings and topics computed once per session)."""
    world, base = analysed_world_base
    return world, copy_workspace(base, tmp_path_factory.mktemp("topics") / "ws")


def _planted(world: Path) -> dict[tuple[str, str], tuple[str, str]]:
    out = {}
    with (world / "truth-posts.jsonl").open() as f:
        for line in f:
            post = json.loads(line)["truth_post"]
            out[(post["platform"], post["post_id"])] = (post["topic"], post["language"])
    return out


def test_topic_nmi_in_each_language(topic_world):
    world, ws = topic_world
    planted = _planted(world)
    rows = query(ws, "SELECT platform, post_id, topic FROM post_topics")
    assert len(rows) == query(ws, "SELECT count(*) FROM posts")[0][0]
    for language in ("fr", "en"):
        pairs = [(planted[(p, i)][0], t) for p, i, t in rows if planted[(p, i)][1] == language]
        assert len(pairs) > 5000
        nmi = normalized_mutual_info_score([a for a, _ in pairs], [b for _, b in pairs])
        assert nmi >= NMI_GOAL, f"{language}: NMI {nmi:.3f} vs goal {NMI_GOAL}"


def test_outliers_and_number_of_topics(topic_world):
    _, ws = topic_world
    share = query(ws, "SELECT avg(CAST(topic = -1 AS DOUBLE)) FROM post_topics")[0][0]
    assert share < 0.15, f"outliers {share:.3f}"
    k = query(ws, "SELECT count(*) FROM topics WHERE topic >= 0")[0][0]
    assert 4 <= k <= 32


def _twin_rows(n: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        rows.append({"w": rng.integers(0, 65536, 12, dtype=np.uint16), "topic": int(rng.integers(len(V.TOPICS))),
                     "sentiment": int(rng.integers(-1, 2)), "stance": STANCE_NONE, "sponsor": -1, "labelled": 0,
                     "domain": -1, "m1": -1, "m2": -1, "n_tags": int(rng.integers(0, 3))})
    return rows


def _render(row: dict, language: int) -> str:
    parts = []
    for kind, value in segments({**row, "lang": language}):
        if kind == "t":
            parts.append(value)
        elif kind == "#":
            parts.append(f"#{value}")
    return "".join(parts)


def test_french_and_english_twins_share_a_topic(topic_world):
    _, ws = topic_world
    with ws.reader() as con:
        model = load_topic_model(con)
    rows = _twin_rows(TWINS, seed=11)
    french = [clean_text(_render(r, V.FR)) for r in rows]
    english = [clean_text(_render(r, V.EN)) for r in rows]
    assert french[0] != english[0]
    fr_topic, _ = model.assign(french, encode(french))
    en_topic, _ = model.assign(english, encode(english))
    same = float(np.mean((fr_topic == en_topic) & (fr_topic >= 0)))
    assert same >= TWIN_GOAL, f"{same:.3f} of {TWINS} twin pairs in the same topic vs goal {TWIN_GOAL}"


def test_labels_examples_timeline_communities(topic_world):
    _, ws = topic_world
    topics = query(ws, "SELECT topic, label, terms, size, languages, examples FROM topics WHERE topic >= 0")
    words = stop_words()
    for topic, label, terms, size, languages, examples in topics:
        assert label and terms and size > 0 and examples
        assert not any(term in words for term in terms)
        assert abs(sum(x["share"] for x in languages) - 1.0) < 1e-9
        inside = query(ws, "SELECT count(*) FROM post_topics WHERE topic = ? AND post_id IN (SELECT unnest(?))",
                       [topic, examples])[0][0]
        assert inside == len(examples)
    assert query(ws, "SELECT sum(size) FROM topics")[0][0] == query(ws, "SELECT count(*) FROM post_topics")[0][0]
    assert query(ws, "SELECT sum(posts) FROM topic_timeline")[0][0] == query(
        ws, "SELECT count(*) FROM post_topics t JOIN posts p USING (platform, post_id) WHERE p.created_at IS NOT NULL")[0][0]


def test_topic_communities_join_when_present(topic_world, tmp_path):
    _, ws = topic_world
    other = copy_workspace(ws.root, tmp_path / "ws")
    analyze(other, only=["communities", "topics"])
    shares = query(other, "SELECT community, sum(share) FROM topic_communities GROUP BY community")
    assert shares and all(abs(s - 1.0) < 1e-9 for _, s in shares)


def test_class_tfidf_prefers_distinctive_terms():
    texts = ["le vélo électrique et la piste cyclable", "la piste cyclable du quartier", "le vélo du matin",
             "le match de football", "le match et le stade", "football stade arbitre"]
    terms = class_tfidf_terms(texts, np.array([0, 0, 0, 1, 1, 1]), np.ones(6), 2, top=3)
    assert terms[0][0] in ("piste cyclable", "vélo", "piste", "cyclable")
    assert terms[1][0] in ("match", "football", "stade")
    assert not {"le", "la", "du", "et", "de"} & {t for ts in terms for t in ts}


def test_incremental_assignment_and_refit_reproducible(topic_world, tmp_path):
    _, ws = topic_world
    other = copy_workspace(ws.root, tmp_path / "ws")
    before = query(other, "SELECT platform, post_id, topic FROM post_topics ORDER BY 1, 2")
    again = analyze(other, only=["topics"])["topics"]
    assert not again["fitted"] and again["assigned"] == 0
    # a post loses its topic row: the next run assigns it to the stored topics, nothing else moves
    with other.writer() as con:
        con.execute("DELETE FROM post_topics WHERE post_id IN (SELECT post_id FROM post_topics ORDER BY post_id LIMIT 50)")
    result = analyze(other, only=["topics"])["topics"]
    assert not result["fitted"] and result["assigned"] == 50
    assert query(other, "SELECT platform, post_id, topic FROM post_topics ORDER BY 1, 2") == before
    # refit with the same seed: the same topics
    from confiance.pipeline import rerun
    from confiance.text.topics import run_topics

    rerun(other, "topics", {"refit": True}, lambda con, run_id: run_topics(con, run_id, refit=True))
    assert query(other, "SELECT platform, post_id, topic FROM post_topics ORDER BY 1, 2") == before


def test_automatic_k_is_bounded_by_the_corpus_size():
    """57 texts (what a retention run left): the automatic k was 32, topics of under 2 texts each."""
    rows = _twin_rows(57, seed=4)
    texts = [clean_text(_render(r, V.FR if i % 2 else V.EN)) for i, r in enumerate(rows)]
    model, figures = fit_topic_model(texts, encode(texts), np.ones(len(texts)))
    assert figures["k_max"] == max_topics(57) == 57 // MIN_TOPIC_SIZE
    assert 2 <= figures["k"] == len(model.centroids) <= 57 // MIN_TOPIC_SIZE
    assert all(k <= figures["k_max"] for k in figures["silhouette"])
    planted = [r["topic"] for r in rows]
    found, _ = model.assign(texts, encode(texts))
    assert normalized_mutual_info_score(planted, found) > 0.3  # still topics, coarser
    tiny = [clean_text(_render(r, V.EN)) for r in _twin_rows(24, seed=5)]
    assert fit_topic_model(tiny, encode(tiny), np.ones(len(tiny)))[1]["k"] == 2
    with pytest.raises(ValueError, match="min_topic_size"):
        max_topics(57, 0)


def test_topics_need_embeddings(workspace):
    from confiance.text.topics import run_topics

    with workspace.writer() as con, pytest.raises(ConfianceError, match="embeddings"):
        run_topics(con, "r1")


def test_cli_topics_json_csv_and_report(topic_world, tmp_path):
    import csv
    import io
    import subprocess
    import sys

    from confiance.report import build_report

    _, ws = topic_world

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "confiance.cli", "--workspace", str(ws.root), "topics", *args],
                              capture_output=True, text=True)
    listed = cli("--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert {"topic", "label", "terms", "size", "languages", "examples"} <= set(rows[0])
    assert sum(r["size"] for r in rows) == query(ws, "SELECT count(*) FROM post_topics")[0][0]
    table = list(csv.DictReader(io.StringIO(cli("--csv").stdout)))
    assert [int(r["topic"]) for r in table] == [r["topic"] for r in rows]
    html = build_report(ws, tmp_path / "r.html").read_text()
    assert "Topics and narratives" in html and rows[0]["label"].split(",")[0] in html


def test_cli_topics_without_analysis(workspace):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "confiance.cli", "--workspace", str(workspace.root), "topics", "--json"],
                          capture_output=True, text=True)
    assert done.returncode == 1 and "no topics yet" in done.stderr and done.stdout == ""
