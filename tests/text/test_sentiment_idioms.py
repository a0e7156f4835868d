"""Sentiment idioms, price words, unmet expectations, capitals and emoji, French and English.

Sentences written for this test (several phrasings per mechanism, none from the held-out set
``tests/data/sentiment``). Each test pairs the case the mechanism fixes with controls that must keep
their reading.
"""

from __future__ import annotations

import numpy as np
import pytest

from confiance.text.lexicon_fixes import EMOJI_NAME_ALIASES, FRENCH, price_sense, resolve
from confiance.text.negation import affirms, fixed_expression_end, is_quantifier, modal_superlative, negated_scopes
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
    assert set(resolve(FRENCH, {"couteux": -0.4, "contente": 2.7, "decevant": -2.2, "parfait": 0.5, "bon": 1.6,
                                 "avantageux": 0.8})) == set(FRENCH)
    with pytest.raises(KeyError, match="not in the lexicon"):
        resolve({"x": ("missing", "why")}, {})
    analyzer = ScopedNegationAnalyzer()
    assert analyzer.polarity_scores("👍")["compound"] > 0 and analyzer.polarity_scores("🚲")["compound"] == 0


#: Idioms around negation, comparison and price, inside sentences written for this test (none in the training or
#: held-out sets), with counter-examples that keep their reading: (text, language, expected reading). "not negative":
#: positive or neutral.
IDIOMS = [
    # "on ne peut plus / on ne peut pas plus / on ne saurait être plus + ADJ": extremely
    ("Je suis on ne peut plus satisfait de ce vélo !", "fr", "positive"),
    ("On ne peut pas plus contente de ma commande", "fr", "positive"),
    ("On ne saurait être plus satisfaite de cet achat", "fr", "positive"),
    ("Couldn't be happier with my new bike!", "en", "positive"),
    ("I could not be more satisfied with the service", "en", "positive"),
    ("I can't recommend this shop enough", "en", "positive"),
    # « pas cher » consumes its « pas »: what follows the coordination is not negated
    ("Livraison rapide, produit pas cher et efficace !", "fr", "positive"),
    ("Le produit n'est pas cher et il est efficace", "fr", "positive"),
    ("Le vélo est pas cher", "fr", "not negative"),
    ("Not expensive and efficient", "en", "positive"),
    # comparatives of price and quality
    ("Livré en deux jours et moins cher qu'ailleurs", "fr", "positive"),
    ("Beaucoup plus cher qu'avant pour la même chose", "fr", "negative"),
    ("Toujours trop cher pour ce que c'est", "fr", "negative"),
    ("La nouvelle appli marche moins bien que l'ancienne", "fr", "negative"),
    ("Fast delivery and cheaper than elsewhere", "en", "positive"),
    ("Less expensive than the old model", "en", "not negative"),
    ("Way more expensive than last year", "en", "negative"),
    # litotes
    ("Pour le prix, c'est pas mal du tout", "fr", "positive"),
    ("Le café est pas mal, je reviendrai", "fr", "positive"),
    ("Not bad at all for a first try", "en", "positive"),
    # counter-examples: real negations keep their reading
    ("Je ne suis plus satisfait", "fr", "negative"),
    ("Ce produit n'est pas efficace", "fr", "negative"),
    ("Pas cher mais pas efficace non plus", "fr", "negative"),
    ("On ne peut plus faire confiance à cette marque", "fr", "negative"),   # + infinitive: can no longer
    ("Ce n'est plus cher", "fr", "not negative"),                            # no longer expensive, not "more expensive"
    ("Bonne nouvelle, ce n'est plus cher depuis les soldes", "fr", "positive"),
    ("I couldn't be less satisfied with this order", "en", "negative"),
    ("I can't recommend this shop", "en", "negative"),
    ("Not cheap and not efficient", "en", "negative"),
    ("I am no longer satisfied with this bike", "en", "negative"),
    ("Your story couldn't be further from the truth", "en", "negative"),
]
_LABEL_MISSES = {  # the lexicon reads these right; the embedding classifier outweighs it (measured scores)
    "Livré en deux jours et moins cher qu'ailleurs": "neutral (score +0.24; lexicon compound +0.20)",
    "Ce n'est plus cher": "negative (score -0.17, as before these rules; lexicon compound +0.08)",
}


@pytest.mark.parametrize("text, lang, expected", IDIOMS)
def test_lexicon_reads_idioms(text, lang, expected):
    compound = _compound([text], lang)[0]
    if expected == "positive":
        assert compound >= 0.05, compound
    elif expected == "negative":
        assert compound <= -0.05, compound
    else:
        assert compound > -0.05, compound


@pytest.mark.parametrize("text, lang, expected", [
    pytest.param(text, lang, expected, marks=pytest.mark.xfail(strict=True, reason=_LABEL_MISSES[text]))
    if text in _LABEL_MISSES else (text, lang, expected) for text, lang, expected in IDIOMS])
def test_labels_of_idioms(text, lang, expected):
    label = _labels([text], lang)[0]
    assert label in (("neutral", "positive") if expected == "not negative" else (expected,)), label


def test_idiom_rules():
    """The negation words of a negated ability to exceed, and fixed expressions, as :mod:`negation` reads them."""
    words = "on ne peut pas plus contente".split()
    assert [modal_superlative(words, k) for k in range(len(words))] == [False, True, False, True, True, False]
    assert not modal_superlative("on ne peut plus faire confiance".split(), 2)
    assert modal_superlative("on ne peut plus clair".split(), 3)           # an adjective in "-ir", no infinitive
    assert modal_superlative("I couldn't be prouder".split(), 1) and modal_superlative("can not be better".split(), 1)
    assert not modal_superlative("I couldn't be further from it".split(), 1)
    assert not modal_superlative("I can't recommend it".split(), 1)
    assert fixed_expression_end("pas trop chère et efficace".split(), 0) == 2
    assert fixed_expression_end("pas efficace".split(), 0) is None and fixed_expression_end(["pas"], 0) is None
    assert is_quantifier("pas mal de monde".split(), 0) and not is_quantifier("pas mal du tout".split(), 0)
    it_is_quite_a_lot, not_bad_at_all = _compound(["Il y a pas mal de monde ce soir", "C'est pas mal du tout"], "fr")
    assert it_is_quite_a_lot == 0 and not_bad_at_all > 0
    cheaper, at_least = _compound(["moins cher", "au moins efficace"], "fr")
    assert cheaper > 0 and at_least == _compound(["efficace"], "fr")[0]   # « au moins »: at least, no reversal
