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
- **Negated ability to exceed**: "on ne peut plus satisfait", "on ne peut pas plus content", "on ne
  saurait être plus clair", "couldn't be happier", "could not be more satisfied" state a superlative
  (nothing could be more so), and "can't recommend it enough" / "cannot thank you enough" the same of a
  verb (:func:`modal_superlative`). "on ne peut plus *faire*…" (+ an infinitive) is "can no longer",
  still a negation, and so is "couldn't be further from the truth".
- **Fixed expressions** (:data:`FIXED_NEGATIONS`): "pas cher" (cheap), "pas mal", "pas terrible", "not
  bad" consume their negation word; its scope ends with the expression, so "pas cher et efficace"
  does not negate "efficace" ("cheap and effective"), and a later negation in the clause opens a scope
  of its own. French "ne" pairs with the first negation word after it.

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
#: Fixed expressions that consume their negation word (accents folded): negation word → the words it makes a
#: fixed expression with, read as one adjective: « pas cher » / « pas coûteux » (cheap: the sentiment lexicon reads
#: the price sense of « cher » as « coûteux »), « pas mal » (rather good), « pas terrible » / « pas ouf » (mediocre),
#: "not bad", "not expensive", "not cheap". One degree word of :data:`FIXED_DEGREES` may stand between them.
FIXED_NEGATIONS: dict[str, frozenset[str]] = {
    "pas": frozenset({"cher", "chere", "chers", "cheres", "couteux", "couteuse", "couteuses", "mal", "terrible",
                      "terribles", "ouf"}),
    "not": frozenset({"bad", "expensive", "cheap"}),
}
#: Degree words allowed inside a fixed expression: « pas trop cher », « pas si mal », "not too bad", "not that bad".
FIXED_DEGREES = frozenset({"tres", "trop", "si", "vraiment", "tellement", "very", "too", "so", "that", "really"})
#: Verbs of ability whose negation, before a comparison or "enough", states a superlative (accents folded).
FRENCH_MODALS = frozenset({"peut", "peux", "pouvait", "pouvais", "pourrait", "pourrais", "pourra", "saurait",
                           "saurais", "saura"})
ENGLISH_MODALS = frozenset({"can", "could"})
_FRENCH_COPULA = "etre"
#: Words ending in "-er" that are not English comparatives, or state the opposite idiom ("couldn't be further from
#: the truth": completely wrong).
_NOT_COMPARATIVES = frozenset({"further", "farther", "together", "other", "rather", "either", "neither", "whether",
                               "under", "after", "never", "ever", "over", "there"})
#: French infinitives ending in "-re" ("on ne peut plus *faire* confiance": can no longer), and adjectives ending in
#: "-er" / "-ir" that are no infinitive ("on ne peut plus *clair*").
_FRENCH_RE_INFINITIVES = frozenset({"etre", "faire", "dire", "prendre", "attendre", "croire", "mettre", "rendre",
                                    "vendre", "lire", "ecrire", "vivre", "suivre", "boire", "plaire", "comprendre"})
_FRENCH_ER_ADJECTIVES = frozenset({"cher", "fier", "clair", "leger", "amer", "entier", "premier", "dernier", "noir",
                                   "particulier", "regulier", "familier"})


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
    if modal_superlative(words, k):
        return True
    # idioms are compared without accents ("rien à redire"): sentiment folds them, stance does not
    return " ".join(fold_accents(w) for w in words[k:k + 3]) in AFFIRMING_IDIOMS


def modal_superlative(words: list[str], k: int) -> bool:
    """Whether ``words[k]`` is a negation word of a negated ability to exceed, which states a superlative:
    French "ne MODAL [pas] [être] plus|mieux|moins X" ("on ne peut plus satisfait", "on ne saurait être plus
    clair", X no infinitive unless after "être"), English "can't / could not be more|less|better|…er" and "can't …
    enough" ("couldn't be happier", "can't recommend it enough"). With "moins" / "less" the superlative is of
    the opposite ("couldn't be less satisfied": utterly dissatisfied), which the sentiment's reversing degree
    words read."""
    for n in range(max(k - 4, 0), k + 1):  # "ne" opens at most "ne peut pas être plus"
        end = _french_modal_superlative(words, n)
        if end is not None and (k in (n, end) or (words[k] == "pas" and n < k < end)):
            return True
    return _english_modal_superlative(words, k)


def _french_modal_superlative(words: list[str], n: int) -> int | None:
    """The index of "plus" / "mieux" / "moins" when "ne MODAL [pas] [être] plus|mieux|moins X" starts at
    ``words[n]``."""
    if words[n] != "ne" or n + 1 >= len(words) or fold_accents(words[n + 1]) not in FRENCH_MODALS:
        return None
    m = n + 2 + (words[n + 2:n + 3] == ["pas"])
    copula = m < len(words) and fold_accents(words[m]) == _FRENCH_COPULA
    m += copula
    if m + 1 < len(words) and words[m] in ("plus", "mieux", "moins") and (copula or not _infinitive(words[m + 1])):
        return m
    return None


def _infinitive(word: str) -> bool:
    """Whether a French word looks like an infinitive ("-er", "-ir", "-oir", or a listed "-re" verb)."""
    word = fold_accents(word)
    if word in _FRENCH_ER_ADJECTIVES:
        return False
    return word.endswith(("er", "ir")) or word in _FRENCH_RE_INFINITIVES


def _english_modal_superlative(words: list[str], k: int) -> bool:
    word = words[k]
    negated_modal = (word in ("cannot", "can't", "cant", "couldn't", "couldnt")
                     or (word == "not" and k > 0 and words[k - 1] in ENGLISH_MODALS))
    if not negated_modal:
        return False
    after = words[k + 1:k + 5]
    if after[:1] == ["be"] and len(after) > 1:
        compared = after[1]
        return compared in ("more", "less", "better", "worse") or (
            compared.endswith("er") and len(compared) >= 5 and compared not in _NOT_COMPARATIVES)
    return "enough" in after


def fixed_expression_end(words: list[str], k: int) -> int | None:
    """The index of the last word of the fixed expression that the negation word ``words[k]`` opens
    (:data:`FIXED_NEGATIONS`: « pas cher », « pas trop cher », "not bad"), or None."""
    completes = FIXED_NEGATIONS.get(words[k])
    if completes is None:
        return None
    m = k + 1 + (k + 1 < len(words) and fold_accents(words[k + 1]) in FIXED_DEGREES)
    return m if m < len(words) and fold_accents(words[m]) in completes else None


def is_quantifier(words: list[str], k: int) -> bool:
    """Whether ``words[k]`` opens « pas mal de » ("quite a lot of"), not « pas mal du tout » ("not bad at all")."""
    after = words[k + 1:k + 4]
    return (words[k] == "pas" and after[:1] == ["mal"] and len(after) > 1 and after[1] in ("de", "d'", "d", "des", "du")
            and after[1:3] != ["du", "tout"])


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
    if word in _FRENCH_NE:  # "ne" pairs with the first negation word after it
        paired = next((j for j in range(k + 1, len(words)) if words[j] in FRENCH_NEGATION_WORDS), None)
        return paired is not None and _negates(words, paired)
    if word == "pas":
        return not is_quantifier(words, k)
    if word == "personne":
        return not (k and words[k - 1] in _NOUN_MARKERS)
    if word == "aucun" and k and words[k - 1] == "sans" and after[:1] == ["doute"]:
        return False
    return word in FRENCH_NEGATION_WORDS


def _clause_scopes(clause: list[tuple[int, int, str, str]]) -> list[tuple[int, int, list[tuple[int, int, str]]]]:
    """The negated scopes of one clause: from its first negation to the clause's end, or to the end of the fixed
    expression that consumed the negation (« pas cher »), after which the rest of the clause is read again."""
    words = [w for _, _, w, _ in clause]
    negating = [_negates(words, k) for k in range(len(words))]
    scopes, start = [], 0
    while start < len(words):
        found = _scope(words, negating, start)
        if found is None:
            break
        first, last = found
        kept = [(begin, end, original)
                for (begin, end, word, original), negates in zip(clause[first:last + 1], negating[first:last + 1])
                if not (negates or word in _FRENCH_NE or word == "plus")]
        if kept:
            scopes.append((clause[first][0], clause[last][1], kept))
        start = last + 1
    return scopes


def _scope(words: list[str], negating: list[bool], start: int) -> tuple[int, int] | None:
    """The first negated scope of ``words[start:]``, as (first, last) indices, or None."""
    for k in range(start, len(words)):
        word = words[k]
        if not negating[k] or word == "plus":  # "plus" negates only after "ne", which opened the scope already
            continue
        after_verb = word in FRENCH_NEGATION_WORDS - _FRENCH_DETERMINERS and not _FRENCH_NE & set(words[k + 1:])
        # the negation word proper: "ne"'s partner, or the word itself
        negation = next((j for j in range(k, len(words)) if words[j] not in _FRENCH_NE and negating[j]), k)
        end = fixed_expression_end(words, negation)
        return (start if after_verb else k), (len(words) - 1 if end is None else end)
    return None
