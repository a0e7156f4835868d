"""Negated scopes in French and English text, shared by stance and sentiment.

A negated scope runs from a negation word to the end of its clause: the next punctuation mark (an
emoji counts as one), or "but" / "mais" / "however" / "pourtant" / "cependant" (Pang et al. 2002).

- **English** negators are VADER's (Hutto & Gilbert 2014: "not", "never", "nothing", "without", any
  "n't" form…) without its hedges "rarely", "seldom", "despite", plus "no" and "nobody".
- **French** negation brackets the conjugated verb: "ne … pas / jamais / plus / rien / guère /
  personne / aucun", so the scope starts at the particle "ne" / "n'" when a negation word follows it
  in the clause ("je *ne le conseille pas*"). Spoken French drops "ne" and keeps the post-verbal word
  ("j'aime pas"): the verb came before it, so a bare post-verbal negation word negates its clause
  from the clause's start. A negation word placed before the verb (the subject in "personne ne
  m'aide", "rien ne marche") or the determiner "aucun(e)" ("aucune réponse") negates from itself on.
  "sans" and "ni" negate alone.
- **Not negations**: "plus" without "ne" means "more" ("plus de choix"); "personne" after a
  determiner is the noun "person" ("une personne adorable"); "pas mal de" is the quantifier "quite a
  lot of"; "sans doute" / "without doubt" affirm (VADER exempts "without doubt" the same way).
- **Negations that affirm**: a quantified negation ("never", "nothing", "nobody" / "jamais", "rien",
  "personne") followed by a comparison states a superlative: "jamais été aussi content", "rien de
  mieux", "never been so happy", "nothing better" (VADER boosts "never so" / "never this" the same
  way). "jamais plus" is "never again", still a negation. The idioms of
  :data:`AFFIRMING_IDIOMS` ("rien à redire": nothing to criticise) praise as a whole.

References
----------
B. Pang, L. Lee, S. Vaithyanathan, "Thumbs up? Sentiment classification using machine learning
techniques", EMNLP 2002 (negation scope: from the negation word to the next punctuation mark).
C. J. Hutto, E. Gilbert, "VADER: A Parsimonious Rule-based Model for Sentiment Analysis of Social
Media Text", ICWSM 2014 (English negators).
"""

from __future__ import annotations

import re

from confiance.text.accents import fold_accents

# Words (an elided French "n'" apart, so "n'aime" is "n'" + "aime"), or single punctuation marks.
_TOKEN = re.compile(r"[nN]['’](?=\w)|[\w@#][\w'’-]*|[^\w\s]")
_CLAUSE_ENDS = frozenset({"but", "mais", "however", "pourtant", "cependant"})
#: English negators (VADER's, Hutto & Gilbert 2014, without its hedges "rarely", "seldom", "despite";
#: any word ending in "n't" too), and the French ones usable alone ("sans", "ni").
NEGATORS = frozenset({
    "not", "no", "never", "nothing", "nobody", "none", "nowhere", "neither", "nor", "cannot", "without", "nope",
    "aint", "arent", "cant", "couldnt", "didnt", "doesnt", "dont", "hadnt", "hasnt", "havent", "isnt", "mightnt",
    "mustnt", "neednt", "shouldnt", "wasnt", "werent", "wont", "wouldnt", "sans", "ni"})
_FRENCH_NE = frozenset({"ne", "n'"})
#: The second half of French "ne … X" (also used alone in spoken French).
FRENCH_NEGATION_WORDS = frozenset({"pas", "jamais", "rien", "plus", "aucun", "aucune", "personne", "guère", "guere",
                                   "nullement", "aucunement"})
#: Negation words that negate what follows them even without "ne" (determiners of the negated noun).
_FRENCH_DETERMINERS = frozenset({"aucun", "aucune"})
#: Before "personne", these make it the noun "person".
_NOUN_MARKERS = frozenset({"une", "la", "cette", "chaque", "quelle", "ma", "ta", "sa", "notre", "votre", "leur",
                           "autre", "seule", "bonne", "meme", "même", "toute", "grande", "petite", "vraie"})
_DOUBT = frozenset({"doute", "doubt"})
#: Negation words that quantify (time, thing, person): followed by a comparison they affirm a superlative.
QUANTIFIED_NEGATORS = frozenset({"never", "nothing", "nobody", "jamais", "rien", "personne"})
#: Comparisons after a quantified negation: comparatives ("rien de mieux", "rien de pire", "nothing better than",
#: "rien ne vaut", "nothing beats") state a superlative; equatives ("so", "this" as in VADER's "never so/this", "aussi", "si"…) only without a
#: complement ("jamais été aussi content" praises, "jamais aussi bon que l'original" compares down).
COMPARATIVES = frozenset({"more", "better", "worse", "beats", "beat", "plus", "mieux", "pire", "pires", "meilleur",
                          "meilleure", "meilleurs", "meilleures", "tel", "telle", "vaut", "valent"})
EQUATIVES = frozenset({"so", "this", "as", "aussi", "si", "autant", "tant"})
_COMPLEMENTS = frozenset({"as", "que", "qu'"})
#: How many words a comparison may follow its negation by ("jamais été aussi", "rien de mieux", "never felt so").
COMPARISON_REACH = 2
#: Idioms that open on a negation word and praise as a whole (accents folded): "rien à redire" = nothing to criticise
#: (flawless), "rien à reprocher" = nothing to reproach. The sentiment lexicon scores them as phrases.
AFFIRMING_IDIOMS = ("rien a redire", "rien a reprocher")


def negated_scopes(text: str) -> list[tuple[int, int, str]]:
    """Negated scopes of ``text``: ``(start, end, affirmative text)`` with the negation words left out.

    At most one scope per clause, from its first negation (see the module docstring for the French
    and English rules) to the clause's end.
    """
    return [(start, end, " ".join(original for _, _, original in kept)) for start, end, kept in _scopes(text)]


def negated_words(text: str) -> list[bool]:
    """For each whitespace-separated word of ``text`` (``text.split()``), whether it is negated: inside a
    negated scope and not itself a negation word ("ne", "pas", "not"…)."""
    spans = [(start, end) for _, _, kept in _scopes(text) for start, end, _ in kept]
    return [any(start < m.end() and m.start() < end for start, end in spans) for m in re.finditer(r"\S+", text)]


def _scopes(text: str) -> list[tuple[int, int, list[tuple[int, int, str]]]]:
    """Each scope's span, and the span and original spelling of its words other than negation words."""
    tokens = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text)]
    scopes, clause = [], []
    for token in tokens + [(len(text), len(text), ".")]:
        word = token[2].lower().replace("’", "'")
        if ends_clause(word):
            scopes.extend(_clause_scopes(clause))
            clause = []
        else:
            clause.append((token[0], token[1], word, token[2]))
    return scopes


def ends_clause(word: str) -> bool:
    """Whether a token (lower-case word or single mark) is a clause boundary: punctuation, an emoji, or
    "but" / "mais" / "however" / "pourtant" / "cependant"."""
    return word in _CLAUSE_ENDS or not (word[:1].isalnum() or word[:1] in "_@#")


def affirms(words: list[str], k: int) -> bool:
    """Whether the negation word ``words[k]`` (lower-case words) affirms instead: it starts a comparison
    ("rien de mieux", "never been so") or an idiom of :data:`AFFIRMING_IDIOMS`."""
    word = words[k]
    if word in QUANTIFIED_NEGATORS:
        for m in range(k + 1, min(k + 1 + COMPARISON_REACH, len(words))):
            if words[m] == "plus" and m == k + 1:
                continue  # "jamais plus": never again
            if words[m] in COMPARATIVES or (words[m] in EQUATIVES and not _COMPLEMENTS & set(words[m + 1:])):
                return True
    # idioms are compared without accents ("rien à redire"): sentiment folds them, stance does not
    return " ".join(fold_accents(w) for w in words[k:k + 3]) in AFFIRMING_IDIOMS


def is_negator(word: str) -> bool:
    """An English negator or a French one usable alone (lower-case ``word``)."""
    return word in NEGATORS or word.endswith("n't")


def _negates(words: list[str], k: int) -> bool:
    """Whether ``words[k]`` negates in its clause (the exceptions of the module docstring)."""
    word, after = words[k], words[k + 1:k + 3]
    if affirms(words, k):
        return False
    if is_negator(word):
        return not (word in ("sans", "without") and after and (after[0] in _DOUBT or after == ["aucun", "doute"]))
    if word in _FRENCH_NE:
        return any(w in FRENCH_NEGATION_WORDS and _negates(words, j) for j, w in enumerate(words) if j > k)
    if word == "pas":
        return not (after[:1] == ["mal"] and after[1:] and after[1] in ("de", "d'", "des", "du"))
    if word == "personne":
        return not (k and words[k - 1] in _NOUN_MARKERS)
    if word == "aucun" and k and words[k - 1] == "sans" and after[:1] == ["doute"]:
        return False
    return word in FRENCH_NEGATION_WORDS


def _clause_scopes(clause: list[tuple[int, int, str, str]]) -> list[tuple[int, int, list[tuple[int, int, str]]]]:
    """The negated scope of one clause (at most one: from its first negation to the clause's end)."""
    words = [w for _, _, w, _ in clause]
    negating = [_negates(words, k) for k in range(len(words))]
    first = None
    for k, word in enumerate(words):
        if not negating[k] or word == "plus":  # "plus" negates only after "ne", which opened the scope already
            continue
        after_verb = word in FRENCH_NEGATION_WORDS - _FRENCH_DETERMINERS and not _FRENCH_NE & set(words[k + 1:])
        first = 0 if after_verb else k  # "ne" dropped: the verb came before the negation word
        break
    if first is None:
        return []
    kept = [(start, end, original) for (start, end, word, original), negates in zip(clause[first:], negating[first:])
            if not (negates or word in _FRENCH_NE or word == "plus")]
    if not kept:
        return []
    return [(clause[first][0], clause[-1][1], kept)]
