"""Sentiment: the VADER rules in French, the held-out labelled set (FR + EN), and the simulated world."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import orjson
import pytest

from confiance.pipeline import analyze
from confiance.report import build_report
from confiance.text.accents import fold_accents
from confiance.text.negation import negated_scopes
from confiance.text.sentiment import (LABELS, ScopedNegationAnalyzer, default_model, evaluate_sentiment,
                                      lexicon_features, training_examples)
from tests.conftest import FORMATS, copy_workspace, ingest, query

TEST_SET = Path(__file__).resolve().parents[1] / "data" / "sentiment"
SAMPLE_EVERY = 8


def held_out(lang: str) -> list[dict[str, str]]:
    with open(TEST_SET / f"{lang}.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_french_lexicon_rules():
    compound = lexicon_features(["C'est génial", "C'est genial", "Ce n'est pas génial", "C'est vraiment génial",
                                 "Quelle déception", "Encore en retard 😢"], ["fr"] * 6)[:, 0]
    assert compound[0] > 0 and compound[0] == compound[1]       # accents folded
    assert compound[2] < compound[0]                             # "pas" negates
    assert compound[3] > compound[0]                             # "vraiment" boosts
    assert compound[4] < 0 and compound[5] < 0                  # French emoji descriptions are scored
    assert fold_accents("Éléphant déçu") == "Elephant decu"


def test_english_lexicon_is_vader():
    compound = lexicon_features(["This is great", "This is not great", "The train leaves at 8"], ["en"] * 3)[:, 0]
    assert compound[0] > 0 > compound[1] and compound[2] == 0


def _compound(texts: list[str], lang: str) -> list[float]:
    return list(lexicon_features(texts, [lang] * len(texts))[:, 0])


@pytest.mark.parametrize("affirmative, negated", [
    ("Je le recommande", "Je ne le recommande pas"),                      # the verb between "ne" and "pas"
    ("Je suis satisfait", "Je ne suis plus satisfait"),                   # ne … plus
    ("Ça me plaît", "Ça ne me plaît jamais"),                             # ne … jamais
    ("J'aime ce film", "J'aime pas ce film"),                             # spoken French: bare "pas"
    ("C'est une très bonne idée", "Ce n'est pas vraiment une très bonne idée"),  # beyond VADER's 3 tokens
])
def test_french_negation_around_the_verb(affirmative, negated):
    """Sentences written for this test: a positive lexicon word negated by French negation on either side
    of the verb turns the sentence negative (VADER's 3-token window alone left them positive)."""
    plain, negative = _compound([affirmative, negated], "fr")
    assert plain > 0 > negative


def test_french_negation_special_cases():
    regret, litotes, quantity, more, person, nobody_helps, without = _compound([
        "Je ne regrette rien", "C'est pas mal", "Il y a pas mal de monde", "Il y a plus de choix, génial",
        "Une personne adorable", "Personne ne m'aide", "Livré sans problème"], "fr")
    assert regret > 0            # ne … rien over a negative word
    assert litotes > 0           # "pas mal" is positive: a negated negative word (VADER's window already does it)
    assert quantity == 0         # "pas mal de" is "quite a lot of": no sentiment
    assert more > 0              # "plus de" means more: no negation
    assert person > 0            # the noun "personne" does not negate "adorable"
    assert nobody_helps < 0      # the pronoun "personne" does
    assert without > 0           # "sans" negates "problème"


def test_sans_doute_affirms():
    """"sans (aucun) doute" is "probably" / "undoubtedly": it negates nothing and its "doute" is no doubt, as
    VADER exempts "without doubt" (it read "sans aucun doute le meilleur" as "not the best", -0.58)."""
    best, undoubtedly, probably, alone, without, doubt = _compound([
        "le meilleur", "Sans aucun doute le meilleur", "sans doute le meilleur", "sans doute", "sans le meilleur",
        "j'ai un doute"], "fr")
    assert undoubtedly == probably == best > 0
    assert alone == 0
    assert without < 0 and doubt < 0    # "sans" alone still negates, "doute" alone is still negative


def test_english_negation_scopes():
    good, not_good, nobody, no_one = _compound(["It is really a very good idea", "It is not really a very good idea",
                                                "Nobody likes it", "No one was happy"], "en")
    assert good > 0 > not_good and nobody < 0 and no_one < 0


def test_no_double_negation():
    """A word VADER's window already negated is not negated again by its scope; an emoji after the
    clause is outside the scope; the negation word itself keeps VADER's own valence ("no information")."""
    fr = _compound(["Ce n'est pas génial", "C'est génial", "Je ne veux plus entendre parler de cette marque 😢"], "fr")
    assert fr[0] < 0 < fr[1] and fr[2] < 0  # the tear (negative) stays outside the scope
    en = _compound(["This is not great", "I don't think it's good", "Late again and no information"], "en")
    assert max(en) < 0


def test_texts_without_negated_scope_score_as_plain_vader():
    """The scope rule only acts inside negated scopes: every other training text scores as VADER's own
    analyzer does with the same lexicon (emoji included)."""
    analyzer = ScopedNegationAnalyzer()
    texts = [row["text"] for row in training_examples() if row["lang"] == "en"]
    texts += ["Love it ❤️❤️!!", "Great 😀👍 thanks", "ok👌 see you", "👩‍👩‍👧 family day 🎉", "sad😢"]
    checked = 0
    for text in texts:
        if not negated_scopes(text):
            assert analyzer.polarity_scores(text) == super(ScopedNegationAnalyzer, analyzer).polarity_scores(text), text
            checked += 1
    assert checked > 100
    with pytest.raises(TypeError, match="expects a str"):
        analyzer.polarity_scores(None)


def test_training_and_test_sets_are_separate_and_balanced():
    train = training_examples()
    assert {r["label"] for r in train} == set(LABELS) and {r["lang"] for r in train} == {"fr", "en"}
    for lang in ("fr", "en"):
        for label in LABELS:
            assert sum(r["lang"] == lang and r["label"] == label for r in train) >= 30
    train_texts = {r["text"].strip().lower() for r in train}
    for lang in ("fr", "en"):
        rows = held_out(lang)
        assert len(rows) >= 150 and {r["label"] for r in rows} == set(LABELS)
        assert not train_texts & {r["text"].strip().lower() for r in rows}


def test_accuracy_on_held_out_set():
    figures = {}
    for lang in ("fr", "en"):
        rows = held_out(lang)
        figures[lang] = evaluate_sentiment([r["text"] for r in rows], [lang] * len(rows), [r["label"] for r in rows])
    print("\nsentiment on tests/data/sentiment (accuracy / macro-F1):")
    for lang, methods in figures.items():
        print("  " + lang + ": " + ", ".join(f"{m} {v['accuracy']:.3f} / {v['macro_f1']:.3f}" for m, v in methods.items()))
    for lang, methods in figures.items():
        assert methods["combined"]["accuracy"] >= 0.8, (lang, methods)
        assert methods["combined"]["macro_f1"] >= methods["lexicon"]["macro_f1"], (lang, methods)
        assert methods["combined"]["macro_f1"] >= methods["classifier"]["macro_f1"] - 0.02, (lang, methods)


def test_model_probabilities_and_scores():
    prediction = default_model().predict(["J'adore ce film", "I hate waiting"], ["fr", "en"])
    assert prediction.labels == ["positive", "negative"]
    assert np.allclose(prediction.probabilities.sum(axis=1), 1)
    assert prediction.scores[0] > 0 > prediction.scores[1] and np.all(np.abs(prediction.scores) <= 1)
    with pytest.raises(ValueError, match="method"):
        default_model().predict(["x"], ["en"], method="magic")


@pytest.fixture(scope="module")
def sentiment_world(sim_world_base, tmp_path_factory):
    """A private copy of the shared world, 1 post in SAMPLE_EVERY kept, with sentiment and trends run once:
    (world folder, workspace, truth.json, step results, post_sentiment rows, planted posts)."""
    world, base = sim_world_base
    ws = copy_workspace(base, tmp_path_factory.mktemp("sentiment") / "ws")
    truth = json.loads((world / "truth.json").read_text())
    with ws.writer() as con:
        con.execute("DELETE FROM posts WHERE hash(post_id) % ? <> 0", [SAMPLE_EVERY])
    results = analyze(ws, ["sentiment", "trends"])
    planted = {}
    with open(world / "truth-posts.jsonl", "rb") as fh:
        for line in fh:
            post = orjson.loads(line)["truth_post"]
            planted[(post["platform"], post["post_id"])] = post
    with ws.reader() as con:
        rows = con.execute("SELECT platform, post_id, lang, label, score FROM post_sentiment").fetchall()
    return world, ws, truth, results, rows, planted


def test_sentiment_follows_planted_community_means(sentiment_world):
    """Per planted community, the mean measured score follows the planted mean sentiment (Spearman)."""
    _, _, truth, _, rows, planted = sentiment_world
    community_of = {(a["platform"], a["account_id"]): a["community"] for a in truth["accounts"]}
    value = {"negative": -1, "neutral": 0, "positive": 1}
    planted_mean, measured_mean = {}, {}
    for platform, post_id, _, _, score in rows:
        post = planted[(platform, post_id)]
        c = community_of[(platform, post["account_id"])]
        planted_mean.setdefault(c, []).append(value[post["sentiment"]])
        measured_mean.setdefault(c, []).append(score)
    communities = sorted(planted_mean)
    from scipy.stats import spearmanr

    rho = spearmanr([np.mean(planted_mean[c]) for c in communities], [np.mean(measured_mean[c]) for c in communities])[0]
    print(f"\nsimulated world: Spearman rho over {len(communities)} planted communities {rho:.3f}")
    assert rho >= 0.8


def test_sentiment_step_on_simulated_world(sentiment_world):
    """Planted per-post sentiment: accuracy on a sample, per-day aggregates, the report's sections."""
    world, ws, truth, results, rows, planted = sentiment_world
    with ws.reader() as con:
        dimensions = dict(con.execute("SELECT dimension, count(*) FROM sentiment_aggregates GROUP BY 1").fetchall())
        kinds = con.execute("SELECT count(*) FROM post_sentiment JOIN posts USING (platform, post_id) "
                            "WHERE kind = 'repost'").fetchall()[0][0]
        days = con.execute("SELECT key, posts FROM sentiment_aggregates WHERE dimension = 'day' "
                           "ORDER BY key").fetchall()
        dated = con.execute("SELECT created_at FROM post_sentiment JOIN posts USING (platform, post_id) "
                            "WHERE created_at IS NOT NULL").fetchall()
    # one row per calendar day (DuckDB 2.0's GROUP BY ALL once gave one row per timestamp)
    per_day: dict[str, int] = {}
    for (created,) in dated:
        per_day[created.date().isoformat()] = per_day.get(created.date().isoformat(), 0) + 1
    assert days == sorted(per_day.items())
    assert results["sentiment"]["posts"] == len(rows) > 1000 and kinds == 0
    assert {"day", "language", "community"} <= set(dimensions)
    gold = [planted[(p, i)]["sentiment"] for p, i, *_ in rows]
    accuracy = {lang: np.mean([g == r[3] for g, r in zip(gold, rows) if planted[(r[0], r[1])]["language"] == lang])
                for lang in ("fr", "en")}
    majority = max(np.mean([g == label for g in gold]) for label in LABELS)
    print(f"\nsimulated world (seed 3, 1 post in {SAMPLE_EVERY}): accuracy fr {accuracy['fr']:.3f}, en {accuracy['en']:.3f} "
          f"(majority class {majority:.3f})")
    print(json.dumps(results["sentiment"]))
    assert min(accuracy.values()) >= 0.5 and min(accuracy.values()) > majority + 0.05

    from confiance.text.trends import run_share_of_voice

    with ws.writer() as con:  # what `confiance sov` stores; the report shows the latest
        run_share_of_voice(con, "sov", ['"Solvane" OR #solvane', "#velo"], by="week")
    html = build_report(ws, ws.root / "report.html").read_text(encoding="utf-8")
    for title in ("Trends and emerging narratives", "Share of voice", "Sentiment by community"):
        section = html[html.index(f">{title}</h2>"):]
        section = section[:section.index("</section>")]
        assert "Nothing to show yet" not in section and "<svg" in section, title
    assert "&#34;Solvane&#34; OR #solvane" in html  # the campaign brand's share of voice (escaped quotes)


def test_sentiment_step_scores_posts_without_words(workspace):
    """Real X v1.1 search results hold link-only tweets ("https://t.co/…"): the embeddings step stores
    them without a vector, and sentiment used to stop on NaN features instead of scoring them."""
    ingest(workspace, FORMATS / "twitter-v1.1-json" / "get_search_raw.json")
    results = analyze(workspace, ["sentiment"])
    without_words = query(workspace, "SELECT count(*) FROM post_embeddings WHERE text_key IS NULL")[0][0]
    scored = query(workspace, "SELECT s.score, p.text FROM post_sentiment s JOIN posts p USING (platform, post_id)")
    assert without_words > 0
    assert results["sentiment"]["posts"] == len(scored) == query(
        workspace, "SELECT count(*) FROM posts WHERE kind <> 'repost' AND coalesce(trim(text), '') <> ''")[0][0]
    assert all(np.isfinite(score) and -1 <= score <= 1 for score, _ in scored)
    assert any(text.startswith("https://t.co/") and " " not in text for _, text in scored)
