"""Negated scopes (French and English), shared by stance and sentiment. Sentences written for this test."""

from __future__ import annotations

import pytest

from confiance.text.negation import is_negator, negated_scopes, negated_words


@pytest.mark.parametrize("text, scopes", [
    # French "ne … X" brackets the verb: the scope starts at "ne"
    ("Je ne le conseille pas", ["le conseille"]),
    ("Ça ne marche jamais, dommage", ["marche"]),
    ("Je n'en veux plus, c'est fini", ["en veux"]),
    ("Je ne regrette rien", ["regrette"]),
    ("Il ne m'aide guère", ["m'aide"]),
    ("Ce n'est pas vraiment une très bonne idée", ["est vraiment une très bonne idée"]),
    # spoken French drops "ne": the verb came before the negation word
    ("J'aime pas ce film, franchement", ["J'aime ce film"]),
    ("C'est pas mal", ["C'est mal"]),                          # litotes: a negated negative word
    # a negation word before the verb, or "aucun(e)", negates from itself on
    ("Je suis épuisée et personne ne m'aide", ["m'aide"]),
    ("Livré en retard, aucune réponse du service client", ["réponse du service client"]),
    ("Livré sans problème", ["problème"]),
    # not negations
    ("Il y a pas mal de monde ce soir", []),                   # quantifier "quite a lot of"
    ("Il y a plus de choix qu'avant", []),                     # "plus" without "ne": more
    ("Une personne adorable à l'accueil", []),                 # the noun "person"
    ("Sans doute le meilleur café du quartier", []),
    ("Sans aucun doute le meilleur", []),
    ("Without doubt the best coffee in town", []),
    # a fixed expression consumes its negation word: the scope ends with it, a later negation opens its own
    ("Produit pas cher et efficace", ["Produit cher"]),
    ("Le produit n'est pas trop cher et il est efficace", ["est trop cher"]),
    ("C'est pas mal et pas efficace", ["C'est mal", "et efficace"]),
    ("Not bad and not expensive", ["bad", "expensive"]),
    # a negated ability to exceed states a superlative; with an infinitive it is "can no longer"
    ("Je suis on ne peut plus satisfait", []),
    ("On ne saurait être plus claire", []),
    ("On ne peut plus faire confiance à cette marque", ["peut faire confiance à cette marque"]),
    ("Couldn't be happier", []),
    ("I can't thank you enough", []),
    ("It couldn't be further from the truth", ["be further from the truth"]),
    # "ne" pairs with the first negation word after it
    ("On ne peut plus satisfait et je ne le rends pas", ["le rends"]),
    # English
    ("It is not really a very good idea", ["really a very good idea"]),
    ("I don't like it but the price is fine", ["like it"]),
    ("Nobody likes it", ["likes it"]),
    ("Not happy 😢 at all", ["happy"]),                         # an emoji ends the clause
    ("", []),
    ("!!! ???", []),
])
def test_negated_scopes(text, scopes):
    found = negated_scopes(text)
    assert [affirmative for _, _, affirmative in found] == scopes
    assert all(text[a:b].strip() for a, b, _ in found)


def test_negated_words_leave_negation_words_out():
    text = "Je ne le conseille pas, top"
    assert negated_words(text) == [False, False, True, True, False, False]
    text = "there's no replacement, it's serious"
    assert negated_words(text) == [False, False, True, False, False]
    assert negated_words("") == [] and len(negated_words("a  b\tc")) == 3


def test_is_negator():
    assert is_negator("not") and is_negator("doesn't") and is_negator("sans")
    assert not is_negator("pas") and not is_negator("nothingness")  # "pas" negates with or after a verb, not alone
