"""Language identification: cleaning, 'und' for short posts, the incremental step, and accuracy against
the platform language tags of the real format samples.

Scoring rules (the acceptance figure): every post of ``FORMATS`` whose platform tag names a language
is scored. Tags that name no language are left out: ``und`` (undetermined), ``zxx`` (no linguistic
content) and X's ``q*`` codes (``qme`` media only, ``qst`` very short, ``qht`` hashtags only, ``qam``
mentions only). Region subtags are dropped (``en-US`` → ``en``) and X's legacy ``in`` is ``id``.
Posts where we answer ``"und"`` are not scored; they count against coverage, reported beside accuracy.
A post whose tag is a language outside our configured set counts as an error. The tag itself is not
always right: Bluesky's and Mastodon's are the client's declared setting, not a detection;
``tests/data/language_tag_reviews.csv`` lists the posts whose text we read as another language, and a
second figure scores against the reviewed tags (those reviews were made by reading the posts where we
disagreed with the tag, so they can only correct tags, never our errors hidden by an agreeing tag).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from confiance.pipeline import analyze
from confiance.text.language import DEFAULT_LANGUAGES, UNKNOWN, clean_text, identify
from tests.conftest import FORMATS, ingest, query

REVIEWS = Path(__file__).resolve().parents[1] / "data" / "language_tag_reviews.csv"
GOAL = 0.97


def _primary(tag: str) -> str:
    primary = tag.lower().split("-")[0]
    return {"in": "id", "iw": "he"}.get(primary, primary)


def _names_a_language(tag: str) -> bool:
    return tag not in ("und", "zxx", "mul") and not tag.startswith("q")


@pytest.fixture(scope="module")
def tagged_posts(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str, str, str]]:
    from confiance.workspace import Workspace

    ws = Workspace.init(tmp_path_factory.mktemp("formats") / "ws")
    samples = sorted(p for p in FORMATS.rglob("*") if p.is_file() and p.suffix != ".md")
    ingest(ws, *samples)
    analyze(ws, only=["language"])
    return query(ws, "SELECT p.platform, p.post_id, p.lang, l.lang FROM posts p JOIN post_language l "
                     "USING (platform, post_id) WHERE p.lang IS NOT NULL ORDER BY 1, 2")


def _score(rows: list[tuple[str, str, str, str]]) -> tuple[float, float, int, int]:
    scored = [(truth, ours) for truth, ours in rows if _names_a_language(truth)]
    answered = [(truth, ours) for truth, ours in scored if ours != UNKNOWN]
    correct = sum(truth == ours for truth, ours in answered)
    return correct / len(answered), len(answered) / len(scored), correct, len(answered)


@pytest.mark.xfail(strict=True, reason="measured 0.966 (457/473 answered, coverage 0.917) vs goal 0.97 against raw "
                   "platform tags; 14 of the 16 misses are client-declared Bluesky/Mastodon tags on text in another "
                   "language (tests/data/language_tag_reviews.csv)")
def test_language_accuracy_against_platform_tags(tagged_posts):
    rows = [(_primary(tag), ours) for _, _, tag, ours in tagged_posts]
    accuracy, coverage, correct, answered = _score(rows)
    assert answered >= 300, f"only {answered} tagged posts answered"
    figure = f"accuracy {accuracy:.3f} ({correct}/{answered}) at coverage {coverage:.3f} vs goal {GOAL}"
    assert accuracy >= GOAL, figure


def test_language_accuracy_against_reviewed_tags(tagged_posts):
    with REVIEWS.open(newline="", encoding="utf-8") as f:
        reviewed = {(r["platform"], r["post_id"]): r for r in csv.DictReader(f)}
    keys = {(p, i) for p, i, _, _ in tagged_posts}
    assert set(reviewed) <= keys, "a reviewed post is not among the samples any more"
    for (p, i, tag, _) in tagged_posts:
        if (p, i) in reviewed:
            assert reviewed[(p, i)]["platform_tag"] == tag
    rows = [(reviewed[(p, i)]["reviewed"] if (p, i) in reviewed else _primary(tag), ours)
            for p, i, tag, ours in tagged_posts]
    accuracy, coverage, correct, answered = _score(rows)
    assert accuracy >= GOAL, f"accuracy {accuracy:.3f} ({correct}/{answered}) at coverage {coverage:.3f} vs {GOAL}"
    assert coverage >= 0.85, f"coverage {coverage:.3f}"


def test_clean_text_strips_what_is_no_language():
    assert clean_text("RT @ana: Super #vélo 🚲 https://t.co/x") == "Super vélo"
    assert clean_text("voir bsky.app/profile/x et www.a.fr ok @bob@toot.example &amp; 👍🏽") == "voir et ok"
    assert clean_text(None) == ""


def test_short_and_long_posts():
    out = identify(["ok 👍", "https://t.co/abc @someone #tag", "",
                    "Je trouve que la piste cyclable de mon quartier est vraiment une excellente nouvelle",
                    "I think the new bike lane in my neighbourhood is really excellent news"])
    assert [lang for lang, _ in out] == [UNKNOWN, UNKNOWN, UNKNOWN, "fr", "en"]
    assert out[0][1] == 0.0 and out[3][1] >= 0.9


def test_language_set_is_configurable_and_checked():
    text = "Ich glaube, dass der Radweg in meiner Nachbarschaft wirklich eine gute Nachricht ist"
    assert identify([text])[0][0] == "de"
    assert identify([text], languages=("fr", "en"), min_confidence=0.0)[0][0] in ("fr", "en")
    with pytest.raises(ValueError, match="xx"):
        identify([text], languages=("fr", "xx"))
    with pytest.raises(ValueError, match="at least one"):
        identify([text], languages=())


def test_language_step_is_incremental(workspace):
    ingest(workspace, FORMATS / "twitter-v2-json" / "brexit.jsonl")
    posts = query(workspace, "SELECT count(*) FROM posts")[0][0]
    first = analyze(workspace, only=["language"])["language"]
    assert first["identified"] == posts > 0
    again = analyze(workspace, only=["language"])["language"]
    assert again["identified"] == 0
    ingest(workspace, FORMATS / "twitter-v1.1-json" / "get_search_raw.json")
    total = query(workspace, "SELECT count(*) FROM posts")[0][0]
    third = analyze(workspace, only=["language"])["language"]
    assert third["identified"] == total - posts > 0
    rows = query(workspace, "SELECT count(*), count(DISTINCT run_id), count(DISTINCT (platform, post_id)) FROM post_language")
    assert rows[0] == (total, 2, total)
    assert set(DEFAULT_LANGUAGES) | {UNKNOWN} >= {r[0] for r in query(workspace, "SELECT DISTINCT lang FROM post_language")}
