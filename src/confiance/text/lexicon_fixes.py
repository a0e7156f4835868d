"""Corrections to the VADER lexicons (French and English) and the emoji valences both languages share.

Every entry says why. A valence is never invented: an entry scores a word or phrase *like* a word of
the lexicon it goes into (``"hors de prix"`` like ``"coûteux"``), or sets it to 0 (no sentiment), as
``nltk-vader-sentiment`` documents its own curated corrections (``vader/data/curated.py``).

- **French** (``vaderSentiment-fr``'s ``fr_lexicon.txt`` is a word-by-word translation of VADER's
  English lexicon): senses the translation got wrong ("prix" is scored as "prize", "cherté" as
  "dearness"), a missing masculine ("content"), and idioms whose words say the opposite of the
  phrase ("pas terrible", "rien à redire"). « cher » itself is left at its lexicon value (« cher
  ami »); :func:`price_sense` tells the price sense apart.
- **Unmet expectations**: a verb or noun saying that a service does its job ("répondre", "marcher",
  "answer", "work", "refund") has no sentiment, but negated it is a complaint ("le service client ne
  répond jamais", "still no refund", "it doesn't work"): such a word scores 0, and when negated like
  the lexicon's "décevant" / "disappointing" (:data:`FRENCH_EXPECTATIONS`, :data:`ENGLISH_EXPECTATIONS`).
- **Emoji**: one table for both languages. VADER (Hutto & Gilbert 2014) scores an emoji by the
  English words of its Unicode CLDR short name (``vader.data.emoji``: 😢 "crying face"); here each
  emoji becomes a single lexicon token whose valence is the sum of the English lexicon valences of
  its name's words, clamped to the lexicon's [-4, 4] scale, in French as in English. Names whose
  words miss the lexicon are read through :data:`EMOJI_NAME_ALIASES` (a CLDR name word and the
  lexicon word of the same meaning, taken from the emoji's CLDR keywords where they have one).

References
----------
C. J. Hutto, E. Gilbert, "VADER: A Parsimonious Rule-based Model for Sentiment Analysis of Social
Media Text", ICWSM 2014.
Unicode CLDR, annotations (emoji short names and keywords), ``common/annotations/en.xml``.
"""

from __future__ import annotations

import re
from typing import Mapping

from vader.data.emoji import EMOJI

#: French lexicon entries (accents folded, as the French lexicon is): phrase → (lexicon word it scores like, or a
#: valence, why). Phrases of several words are scored as VADER multiword entries (their words are not scored apart).
FRENCH: dict[str, tuple[str | float, str]] = {
    "prix": (0.0, "price, not the translated English 'prize' (+2.3): price talk has no sentiment by itself"),
    "cherte": ("couteux", "'cherté' is costliness; the translation scored the English 'dearness' (+2.0)"),
    "hors de prix": ("couteux", "'priced out of reach': expensive (its word 'prix' is a price, not a prize)"),
    "content": ("contente", "masculine of 'contente' (+2.7), missing from the translated lexicon"),
    "pas terrible": ("decevant", "'not great' (mediocre, disappointing), not 'not terrible'"),
    "pas ouf": ("decevant", "slang for 'pas terrible' ('ouf' is verlan of 'fou'): disappointing"),
    "moins couteux": ("avantageux", "'cheaper' (« moins cher » reads « moins coûteux », see price_sense): a saving, as "
                      "English 'cheaper' scores like 'bargain'; the reversed « coûteux » alone gave only +0.3"),
    "pas mal": ("bon", "litotes 'not bad': good (« c'est pas mal »); negating the lexicon's « mal » (-0.7, 'evil' and "
                "'badly' averaged) gave +0.5, against +1.85 for VADER's English 'not bad'. « pas mal de » (quite a "
                "lot of) is no sentiment: negation.is_quantifier"),
    "rien a redire": ("parfait", "'nothing to criticise': flawless (its 'rien' does not negate, see negation.py)"),
    "rien a reprocher": ("parfait", "'nothing to reproach': flawless (its 'rien' does not negate)"),
}

#: English lexicon additions: price words the lexicon lacks while it scores "costly" (-0.4) and "bargain" (+0.8).
#: ("cheap" stays out: as often "of poor quality" as "inexpensive".)
ENGLISH: dict[str, tuple[str | float, str]] = {
    "expensive": ("costly", "absent from VADER's lexicon; same meaning as 'costly'"),
    "overpriced": ("costly", "absent from VADER's lexicon; expensive for what it is"),
    "pricey": ("costly", "absent from VADER's lexicon; informal 'expensive'"),
    "cheaper": ("bargain", "absent from VADER's lexicon; costs less, a saving (unlike 'cheap', never 'shoddy')"),
    "inexpensive": ("bargain", "absent from VADER's lexicon; low-priced, without the 'shoddy' sense of 'cheap'"),
    "affordable": ("bargain", "absent from VADER's lexicon; within one's means"),
}

#: French words (accents folded) of a service doing its job: negated, a complaint scored like "décevant".
FRENCH_EXPECTATIONS = ("decevant", frozenset({
    "repond", "repondent", "repondu", "repondre", "reponse", "reponses", "marche", "marchent", "marcher",
    "fonctionne", "fonctionnent", "fonctionner", "rembourse", "remboursee", "remboursement", "rappele", "rappelle"}))
#: English words of a service doing its job: negated, a complaint scored like "disappointing". ("work" also
#: reads "I don't work on Sundays" as a complaint: rare next to "it doesn't work" in brand conversation.)
ENGLISH_EXPECTATIONS = ("disappointing", frozenset({
    "answer", "answers", "answered", "respond", "responds", "responded", "response", "reply", "replies",
    "replied", "refund", "refunded", "work", "works", "worked", "working"}))

#: Words of CLDR emoji names missing from VADER's English lexicon → the lexicon word of the same meaning.
EMOJI_NAME_ALIASES: dict[str, tuple[str, str]] = {
    "pouting": ("angry", "😡 😾 'pouting face': CLDR keywords angry, enraged, mad, rage"),
    "thumbs up": ("like", "👍: the 'like' button"),
    "thumbs down": ("dislike", "👎: the 'dislike' button"),
    "symbols on mouth": ("swearing", "🤬 'face with symbols on mouth': CLDR keyword swearing"),
    "vomiting": ("sick", "🤮 'face vomiting': CLDR keywords puke, sick, vomit"),
    "nauseated": ("sick", "🤢 'nauseated face': CLDR keywords vomit, sick"),
    "clapping": ("applaud", "👏 'clapping hands': CLDR keyword clap (applause)"),
    "unamused": ("unhappy", "😒 'unamused face': CLDR keywords unamused, unhappy"),
    "folded hands": ("thank", "🙏: CLDR keywords please, pray, thanks"),
}

#: VADER's valence scale: one token scores at most this much either way.
VALENCE_BOUND = 4.0


def resolve(entries: Mapping[str, tuple[str | float, str]], lexicon: Mapping[str, float]) -> dict[str, float]:
    """``{phrase: valence}``: each entry's valence, read from ``lexicon`` when it names a word."""
    out = {}
    for phrase, (like, _why) in entries.items():
        if isinstance(like, str):
            if like not in lexicon:
                raise KeyError(f"lexicon correction {phrase!r} scores like {like!r}, which is not in the lexicon")
            out[phrase] = float(lexicon[like])
        else:
            out[phrase] = float(like)
    return out


def emoji_valences(english_lexicon: Mapping[str, float]) -> dict[str, float]:
    """Valence of every emoji of VADER's table, from the English lexicon words of its CLDR name."""
    aliases = sorted(EMOJI_NAME_ALIASES.items(), key=lambda item: -len(item[0]))
    out = {}
    for symbol, name in EMOJI.items():
        name = name.lower()
        for phrase, (word, _why) in aliases:
            name = re.sub(rf"\b{re.escape(phrase)}\b", word, name)
        total = sum(english_lexicon.get(word, 0.0) for word in re.findall(r"[\w'-]+", name))
        out[symbol] = max(-VALENCE_BOUND, min(VALENCE_BOUND, total))
    return out


_PRICE_WORDS = frozenset({"cher", "chere", "chers", "cheres"})
#: Before "cher", these make it "dear" (« mon cher », « nos chers clients »); so does a text or sentence start.
_DEAR_MARKERS = frozenset({"mon", "ma", "mes", "ton", "ta", "tes", "son", "sa", "ses", "notre", "votre", "nos", "vos",
                           "leur", "leurs"})
_SENTENCE_END = re.compile(r"[.!?]$")


def price_sense(words: list[str]) -> list[bool]:
    """For each (lower-case, accent-folded) word, whether it is « cher » meaning *expensive*, which the
    French analyzer scores like « coûteux » (the lexicon's valence for « cher » is the *dear* sense).

    French places « cher » = *dear* before its noun, after a possessive or opening an address (« cher
    ami », « mon cher », « Chers clients, »); after a verb or a degree word it is a price (« trop cher »,
    « c'est cher », « ça coûte cher », « pas cher »).
    """
    out = []
    for k, word in enumerate(words):
        previous = words[k - 1] if k else ""
        opens = not k or _SENTENCE_END.search(previous) or (previous in ("tres", "si") and k == 1)
        out.append(word.strip(".,;:!?") in _PRICE_WORDS and not opens and previous not in _DEAR_MARKERS)
    return out
