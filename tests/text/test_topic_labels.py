"""Topic labels say something: no stop words of other languages, no social-media filler or elision stumps.

Validated on the real posts of ``../shared/data/formats`` (several platforms; English, Dutch, French,
Spanish, Turkish, Portuguese, Arabic… posts: on main, one topic there was labelled "het, van, een"
and another "di, من, por") and on small texts written for this test. A topic without a French or
English post is still labelled from its own posts' words, function words included: no stop-word list
for other languages ships in an installed package.
"""

from __future__ import annotations

import re

import numpy as np

from confiance.pipeline import analyze
from confiance.text.language import clean_text
from confiance.text.topics import LABEL_LANGUAGES, TOKEN_PATTERN, class_tfidf_terms, stop_words
from tests.conftest import FORMATS, ingest, query


def test_filler_stumps_and_unaccented_french_are_stop_words():
    words = stop_words()
    assert {"ca", "lorsqu", "puisqu", "oui", "lol", "mdr", "ptdr", "ya", "deja", "etait", "don", "amp"} <= words
    assert not {"velo", "vélo", "climat", "match", "brexit", "gaza", "prix", "service"} & words
    terms = class_tfidf_terms(
        ["lol ça c'est le vélo mdr", "ca roule en vélo lorsqu'il pleut ptdr", "oui ya la piste cyclable lol",
         "le match de foot mdr", "puisqu'on parle du match, oui", "ya du foot ce soir lol"],
        np.array([0, 0, 0, 1, 1, 1]), np.ones(6), 2, top=5)
    found = {t for ts in terms for term in ts for t in term.split()}
    assert found and not found & {"lol", "mdr", "ptdr", "ca", "ya", "oui", "lorsqu", "puisqu"}
    assert {"vélo", "match"} <= found


def test_discourse_adverbs_do_not_label_a_topic():
    terms = class_tfidf_terms(
        ["Franchement, le débat sur le vélo est compliqué", "franchement la piste cyclable du vélo",
         "Honestly, the bike lane debate", "honestly the bike lane is great",
         "Franchement le match de foot", "honestly the football match"],
        np.array([0, 0, 0, 0, 1, 1]), np.ones(6), 2, top=5)
    found = {t for ts in terms for term in ts for t in term.split()}
    assert {"vélo", "match"} <= found and not found & {"franchement", "honestly"}


def test_labels_come_from_french_and_english_posts():
    """A topic mixing Dutch and English posts is labelled by its English words; a topic with no French or
    English post is still labelled, from all its posts."""
    texts = ["het is een mooie dag van de fiets", "de fiets van het jaar is een succes", "een fiets van het merk",
             "the bike lane is finally open", "new bike lane on the bridge", "bike commuters love the lane",
             "storm warning for the weekend", "cold rain all week long", "the storm brings rain and wind"]
    topic = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1])
    identified = np.array([False] * 3 + [True] * 6)
    unfiltered = class_tfidf_terms(texts, topic, np.ones(9), 2, top=3)
    assert {"het", "een", "van"} & set(unfiltered[0])      # what the labels were: Dutch function words
    terms = class_tfidf_terms(texts, topic, np.ones(9), 2, top=3, label_texts=identified)
    assert terms[0] and all(term in " ".join(texts[3:6]) for term in terms[0]) and "bike" in terms[0]
    assert terms[1] == unfiltered[1]
    dutch_only = class_tfidf_terms(texts, np.array([0] * 3 + [1] * 6), np.ones(9), 2, top=3,
                                   label_texts=identified)
    assert dutch_only[0] == class_tfidf_terms(texts, np.array([0] * 3 + [1] * 6), np.ones(9), 2, top=3)[0] != []


def test_labels_on_the_formats_data(workspace):
    files = [p for p in sorted(FORMATS.rglob("*")) if p.is_file() and p.suffix in (".json", ".ndjson", ".csv")]
    ingest(workspace, *files)
    analyze(workspace, ["language", "embeddings", "topics"])
    topics = query(workspace, "SELECT topic, terms FROM topics WHERE topic >= 0")
    assert len(topics) >= 2
    stops = stop_words()
    labelled = 0
    for topic, terms in topics:
        assert terms and not {word for term in terms for word in term.split()} & stops, terms
        texts = [clean_text(t).lower() for (t,) in query(
            workspace, "SELECT p.text FROM posts p JOIN post_topics t USING (platform, post_id) "
            "JOIN post_language l USING (platform, post_id) WHERE t.topic = ? AND l.lang IN (SELECT unnest(?))",
            [topic, list(LABEL_LANGUAGES)])]
        if texts:  # no foreign function word; the label is made of the French or English posts' terms (unless
            # none of their terms is in two texts, the c-TF-IDF vocabulary's floor: then of all the topic's posts)
            assert not {"het", "een", "van", "die", "dat", "ik", "di", "por", "um", "und", "der", "bir"} & set(terms[:3])
            vocabulary = {w for text in texts for w in re.findall(TOKEN_PATTERN, text)}
            labelled += all(set(term.split()) <= vocabulary for term in terms[:3])
    assert labelled >= len(topics) // 2, (labelled, len(topics))
