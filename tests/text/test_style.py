"""Style features: hand-made texts with values worked out by hand, and the step on the simulated world."""

from __future__ import annotations

import math
from datetime import datetime, timezone

import pytest

from confiance import pipeline
from confiance.store import transaction
from confiance.text.style import (FEATURES, StylePost, mattr, run_style, style_distance, style_features, syllables,
                                  words)


def at(day: int, hour: int) -> datetime:
    return datetime(2025, 1, day, hour, tzinfo=timezone.utc)


def test_english_account_by_hand():
    posts = [
        StylePost("I love my bike! Do you?", "en", at(1, 1), "post", hashtags=1, links=0, mentions=1),
        StylePost("We love every day.", "en", at(1, 13), "post", hashtags=0, links=1, mentions=0),
        StylePost("RT someone else's words", "en", at(2, 12), "repost"),
    ]
    f = style_features(posts)
    assert f["mean_length"] == pytest.approx((23 + 18) / 2)
    assert f["emoji_rate"] == 0
    assert (f["hashtag_rate"], f["link_rate"], f["mention_rate"]) == (0.5, 0.5, 0.5)
    assert (f["question_rate"], f["exclamation_rate"]) == (0.5, 0.5)
    # words: i love my bike do you | we love every day
    assert f["first_person_rate"] == pytest.approx(3 / 10)   # i, my, we
    assert f["second_person_rate"] == pytest.approx(1 / 10)  # you
    assert f["vous_share"] is None
    # syllables: i love my bike do you = 6 in 2 sentences; we love every day = 1+1+3+1 = 6 in 1 sentence
    first = 206.835 - 1.015 * 6 / 2 - 84.6 * 6 / 6
    second = 206.835 - 1.015 * 4 / 1 - 84.6 * 6 / 4
    assert f["readability"] == pytest.approx((first * 6 + second * 4) / 10)
    assert f["lexical_richness"] == pytest.approx(9 / 10)   # "love" twice, under one MATTR window
    # rhythm counts the repost: 01:00 is at night; gaps of 12 h and 23 h
    assert f["night_share"] == pytest.approx(1 / 3)
    mean, std = (12 + 23) / 2 * 3600, (23 - 12) / 2 * 3600
    assert f["burstiness"] == pytest.approx((std - mean) / (std + mean))
    assert f["posts_per_active_day"] == pytest.approx(3 / 2)


def test_french_account_by_hand():
    posts = [
        StylePost("Tu viens ce soir ? Je t'attends 😀😀", "fr", at(3, 20)),
        StylePost("Vous êtes les bienvenus.", "fr", at(3, 21)),
    ]
    f = style_features(posts)
    assert words(posts[0].text, "fr") == ["tu", "viens", "ce", "soir", "je", "t", "attends"]
    assert f["emoji_rate"] == pytest.approx(1.0)
    assert f["first_person_rate"] == pytest.approx(1 / 11)   # je
    assert f["second_person_rate"] == pytest.approx(3 / 11)  # tu, t', vous
    assert f["vous_share"] == pytest.approx(1 / 3)
    # Kandel & Moles: 7 words, 2 sentences, 8 syllables; 4 words, 1 sentence, 6 syllables (êtes = 1, bienvenus = 3)
    first = 207 - 1.015 * 7 / 2 - 73.6 * 8 / 7
    second = 207 - 1.015 * 4 - 73.6 * 6 / 4
    assert f["readability"] == pytest.approx((first * 7 + second * 4) / 11)
    assert f["burstiness"] is None  # under 3 posts
    assert f["night_share"] == 0


def test_syllable_rules():
    assert [syllables(w, "en") for w in ("bike", "table", "every", "you")] == [1, 2, 3, 1]
    assert [syllables(w, "fr") for w in ("êtes", "bienvenus", "année", "t")] == [1, 3, 2, 1]


def test_mattr_by_hand():
    assert mattr(["a", "b", "a", "b", "c"], window=3) == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    assert mattr(["a", "a"], window=3) == pytest.approx(0.5)
    assert mattr([], window=3) is None


def test_style_distance():
    spread = {"mean_length": 10.0, "emoji_rate": 0.5}
    a = {"mean_length": 100.0, "emoji_rate": 1.0, "vous_share": None}
    assert style_distance(a, a, spread) == 0
    b = {"mean_length": 120.0, "emoji_rate": 1.0, "vous_share": 0.5}
    assert style_distance(a, b, spread) == pytest.approx(math.sqrt((2.0 ** 2 + 0) / 2))
    with pytest.raises(ValueError, match="no style feature"):
        style_distance({"mean_length": None}, b, spread)


def test_style_step_on_simulated_world(sim_world):
    _, ws, truth = sim_world
    with ws.writer() as con:
        with transaction(con):
            result = run_style(con, "test", accounts_per_batch=300)
        rows = con.execute("SELECT count(*), count(DISTINCT (platform, account_id)) FROM account_style").fetchall()[0]
        posting = con.execute("SELECT count(*) FROM (SELECT DISTINCT platform, account_id FROM posts "
                              "WHERE account_id IS NOT NULL)").fetchall()[0][0]
        ranges = con.execute("SELECT min(question_rate), max(question_rate), min(burstiness), max(burstiness), "
                             "min(night_share), max(night_share), min(vous_share), max(vous_share) FROM account_style").fetchall()[0]
        columns = [r[0] for r in con.execute("DESCRIBE account_style").fetchall()]
    assert result["accounts"] == rows[0] == rows[1] == posting
    assert set(FEATURES) <= set(columns)
    assert 0 <= ranges[0] <= ranges[1] <= 1 and -1 <= ranges[2] <= ranges[3] <= 1
    assert 0 <= ranges[4] <= ranges[5] <= 1 and 0 <= ranges[6] <= ranges[7] <= 1
    assert "style" in pipeline.steps()
