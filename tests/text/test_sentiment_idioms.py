"""Sentiment idioms, price words, unmet expectations, capitals and emoji, French and English.

Sentences written for this test (several phrasings per mechanism, none from the held-out set
``tests/data/sentiment``). Each test pairs the case the mechanism fixes with controls that must keep
their reading.
"""

from __future__ import annotations

import numpy as np
import pytest

from confiance.text.lexicon_fixes import EMOJI_NAME_ALIASES, FRENCH, price_sense, resolve
from confiance.text.negation import affirms, negated_scopes
from confiance.text.sentiment import (ScopedNegationAnalyzer, default_model, encoder_text, english_emoji_valences,
                                      lexicon_features)


def _compound(texts: list[str], lang: str) -> list[float]:
    return list(lexicon_features(texts, [lang] * len(texts))[:, 0])


def _labels(texts: list[str], lang: str) -> list[str]:
    return default_model().predict(texts, [lang] * len(texts)).labels


def test_french_comparisons_after_a_negation_affirm():
    """"jamais … aussi / rien de mieux" state a superlative, in whichever direction the word goes."""
    best, happiest, nicest, beats, disappointed, worst = _compound([
        "Rien de mieux qu'une balade à vélo le dimanche", "Je n'ai jamais été aussi satisfaite d'un achat",
        "Rien de plus agréable que ce trajet", "Rien ne vaut un bon vélo", "Jamais été aussi déçu par une marque",
        "Rien de pire que ce SAV"], "fr")
    assert best > 0 and happiest > 0 and nicest > 0 and beats > 0
    assert disappointed < 0 and worst < 0
    # controls: a plain negation, an equative with its complement ("never as good as"), "jamais plus" (never again)
    disliked, not_as_good, never_again = _compound([
        "Je n'ai jamais aimé ce vélo", "Ce n'est jamais aussi agréable que l'original",
        "Je ne serai jamais plus satisfaite de ce magasin"], "fr")
    assert disliked < 0 and not_as_good < 0 and never_again < 0
    assert affirms("rien ne vaut un bon vélo".split(), 0) and not affirms("ça ne vaut rien".split(), 3)


def test_english_comparisons_after_a_negation_affirm():
    happy, better, welcome, beats, disappointed = _compound([
        "Never been so happy with a purchase", "Nothing better than a ride at dawn",
        "I have never felt this welcome in a shop", "Nothing beats a good coffee", "Never been so disappointed by a brand"],
        "en")
    assert happy > 0 and better > 0 and welcome > 0 and beats > 0 and disappointed < 0
    never_liked, not_as_good = _compound(["I never liked it", "It is never as good as the first one"], "en")
    assert never_liked < 0 and not_as_good < 0


def test_affirming_idioms_and_clause_bounded_negation():
    """"rien à redire / à reprocher" praise; a negation does not reach over a comma into the next clause."""
    fr = _compound(["Rien à redire sur la livraison", "Rien à reprocher, le vélo est parfait",
                    "Service impeccable, rien à redire", "Aucun retard, efficace et agréable"], "fr")
    assert min(fr) > 0, fr
    en = _compound(["Nothing to complain about, perfect", "No delay, great service", "No complaints, happy"], "en")
    assert min(en) > 0, en
    assert not negated_scopes("Rien à redire sur la qualité") and not negated_scopes("Il n'y a rien de mieux")
    words = "je ne suis jamais plus venu".split()
    assert not affirms(words, 3)  # "jamais plus": never again


def test_pas_terrible_is_mediocre():
    bike, battery, service, slang, so_bad = _compound([
        "Franchement pas terrible, ce vélo", "La batterie est pas terrible", "Le service n'est pas terrible",
        "C'est pas ouf", "Ce n'est pas si terrible"], "fr")
    assert max(bike, battery, service, slang) < 0
    assert so_bad > 0                                   # "pas si terrible" is still "not that bad"
    assert _compound(["Not terrible at all"], "en")[0] > 0  # English litotes untouched


def test_price_words():
    expensive = _compound(["Beaucoup trop cher pour la qualité", "Ce vélo coûte cher", "Hors de prix, je passe",
                           "C'est cher pour ce que c'est", "Des tarifs si chers"], "fr")
    assert max(expensive) < 0, expensive
    cheap, dear, clients, price = _compound(["Vraiment pas cher", "Mon cher ami, merci", "Chers clients, bonne année",
                                             "Le prix est affiché en magasin"], "fr")
    assert cheap > 0 and dear > 0 and clients > 0 and price == 0
    assert price_sense("trop cher".split()) == [False, True]
    assert price_sense("cher ami".split()) == [False, False] and price_sense("mes chers amis".split()) == [False] * 3
    en = _compound(["Way too expensive for what it is", "Overpriced and slow", "Pricey for a basic model"], "en")
    assert max(en) < 0 and _compound(["Not expensive at all"], "en")[0] > 0


def test_unmet_expectations_are_complaints():
    fr = _compound(["Le SAV ne répond pas à mes mails", "L'appli ne marche plus depuis hier",
                    "Toujours aucune réponse du service client", "Ça ne fonctionne jamais"], "fr")
    assert max(fr) < 0, fr
    en = _compound(["Customer service never answers", "Still no refund after three weeks", "The app doesn't work"],
                   "en")
    assert max(en) < 0, en
    # the same words, affirmed, carry no sentiment
    assert _compound(["Le service client répond en deux minutes", "Ça marche"], "fr") == [0, 0]
    assert _compound(["They answered within minutes", "It works"], "en") == [0, 0]


def test_capitals():
    """VADER reads lower-cased words and boosts words in capitals among others; the sentence encoder reads
    capitals differently, so it gets them in lower case."""
    shouted, plain, mixed = _compound(["J'ADORE CE VÉLO", "j'adore ce vélo", "J'ADORE ce vélo"], "fr")
    assert shouted == plain > 0 and mixed > plain
    shouted, plain, mixed = _compound(["I LOVE THIS BIKE", "i love this bike", "I LOVE this bike"], "en")
    assert shouted == plain > 0 and mixed > plain
    assert encoder_text("J'ADORE CE VÉLO !") == "j'adore ce vélo !" and encoder_text("Un Vélo") == "Un Vélo"
    assert _labels(["JE RECOMMANDE CE VÉLO, SUPER ACHAT", "J'ADORE CE VÉLO"], "fr") == ["positive", "positive"]
    assert _labels(["I REALLY LOVE THIS BIKE"], "en") == ["positive"]


EMOJI = {"😡": -1, "🤬": -1, "👎": -1, "😢": -1, "❤️": 1, "👍": 1, "😍": 1, "🎉": 1, "👏": 1, "🚲": 0, "🤔": 0}


def test_emoji_count_the_same_in_both_languages():
    valences = english_emoji_valences()
    for symbol, sign in EMOJI.items():
        fr, en = _compound([f"Livraison du vélo {symbol}"], "fr")[0], _compound([f"Bike delivery {symbol}"], "en")[0]
        assert np.sign(fr) == np.sign(en) == np.sign(valences[symbol]) == sign, (symbol, fr, en)
    assert _compound(["😡"], "fr") == _compound(["😡"], "en")
    assert _compound(["Encore en retard 😢😢"], "fr")[0] < _compound(["Encore en retard 😢"], "fr")[0] < 0


def test_text_without_words_is_labelled_by_the_lexicon():
    labels = _labels(["🚴‍♀️🚴‍♀️", "🚲🚲🚲", "😡😡", "❤️❤️", "🎉🎉🎉", "12:30"], "fr")
    assert labels == ["neutral", "neutral", "negative", "positive", "positive", "neutral"]
    assert _labels(["🚲🚲🚲", "👍"], "en") == ["neutral", "positive"]


def test_corrections_are_lexicon_words_with_reasons():
    assert all(why for _, why in FRENCH.values()) and all(why for _, why in EMOJI_NAME_ALIASES.values())
    assert set(resolve(FRENCH, {"couteux": -0.4, "contente": 2.7, "decevant": -2.2, "parfait": 0.5, "bon": 1.6})) == set(FRENCH)
    with pytest.raises(KeyError, match="not in the lexicon"):
        resolve({"x": ("missing", "why")}, {})
    analyzer = ScopedNegationAnalyzer()
    assert analyzer.polarity_scores("👍")["compound"] > 0 and analyzer.polarity_scores("🚲")["compound"] == 0
