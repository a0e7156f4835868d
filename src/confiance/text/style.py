"""Writing style and posting rhythm per account: a vector of named features (French and English).

Text features are computed on the account's own words (posts, replies, quotes; a repost repeats
someone else's text); rhythm features on every post, reposts included.

=========================  ==================================================================
feature                    definition
=========================  ==================================================================
``mean_length``            characters per post
``emoji_rate``             emoji per post (pictographic code points; skin tones and joiners not counted)
``hashtag_rate``           hashtags per post (``posts.hashtags``)
``link_rate``              links per post (``posts.urls``)
``mention_rate``           mentions per post (``posts.mentions``)
``question_rate``          share of posts with a ``?``
``exclamation_rate``       share of posts with a ``!``
``first_person_rate``      first-person pronouns and determiners per word (FR + EN lists below)
``second_person_rate``     second-person pronouns and determiners per word
``vous_share``             French formality: ``vous/votre/vos`` among all French second-person
                           words (1 = always *vous*, 0 = always *tu*); empty without any
``readability``            Flesch reading ease (Flesch 1948) for English, Kandel & Moles (1958)
                           for French (``207 - 1.015 words/sentence - 73.6 syllables/word``),
                           averaged over the account's posts weighted by words; higher = easier
``lexical_richness``       moving-average type-token ratio (MATTR, Covington & McFall 2010) over
                           windows of ``MATTR_WINDOW`` words, on the account's first
                           ``MAX_TOKENS`` words (plain type-token ratio when fewer than a window)
``night_share``            share of posts between 00:00 and 06:00 (UTC unless times carry another zone)
``burstiness``             Goh & Barabási (2008) ``B = (σ - μ) / (σ + μ)`` of inter-post times:
                           -1 regular, 0 Poisson, → 1 bursty; empty under 3 posts
``posts_per_active_day``   posts per calendar day with at least one post
=========================  ==================================================================

Words exclude links, @mentions and #hashtags; French elisions are split (``j'aime`` → ``j`` +
``aime``). Syllables are vowel groups (French and English vowels with accents), less a silent
final *e* (English ``-e`` except ``-le``; French ``-e``/``-es``): a standard approximation, not a
dictionary count.

The ``style`` step writes ``account_style(platform, account_id, posts, <features>, run_id)``.
:func:`style_distance` compares two accounts on standardised features (for brand fit).

References
----------
R. Flesch, "A new readability yardstick", Journal of Applied Psychology 32 (1948).
L. Kandel, A. Moles, "Application de l'indice de Flesch à la langue française", Cahiers Études de
Radio-Télévision 19 (1958).
M. A. Covington, J. D. McFall, "Cutting the Gordian knot: the moving-average type-token ratio
(MATTR)", Journal of Quantitative Linguistics 17(2) (2010).
K.-I. Goh, A.-L. Barabási, "Burstiness and memory in complex systems", EPL 81, 48002 (2008).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Iterator, Mapping, Sequence

import duckdb
import numpy as np
import pyarrow as pa

from confiance.pipeline import Step, register_step
from confiance.store import has_table

FEATURES: tuple[str, ...] = (
    "mean_length", "emoji_rate", "hashtag_rate", "link_rate", "mention_rate", "question_rate",
    "exclamation_rate", "first_person_rate", "second_person_rate", "vous_share", "readability",
    "lexical_richness", "night_share", "burstiness", "posts_per_active_day",
)
#: MATTR window: Covington & McFall use 500 on long texts; social posts are short, 50 keeps it defined.
MATTR_WINDOW = 50
#: Words per account kept for lexical richness (bounded memory; MATTR is stable in length).
MAX_TOKENS = 2000
NIGHT_HOURS = (0, 6)
OWN_TEXT_KINDS = frozenset({"post", "reply", "quote"})

FIRST_PERSON = frozenset({
    "i", "me", "my", "mine", "myself", "we", "us", "our", "ours", "ourselves", "i'm", "i've", "i'd", "i'll",
    "je", "j", "me", "m", "moi", "mon", "ma", "mes", "nous", "notre", "nos",
})
SECOND_PERSON = frozenset({
    "you", "your", "yours", "yourself", "yourselves", "u", "you're", "you've", "you'll", "you'd",
    "tu", "te", "t", "toi", "ton", "ta", "tes", "vous", "votre", "vos",
})
FRENCH_TU = frozenset({"tu", "te", "t", "toi", "ton", "ta", "tes"})
FRENCH_VOUS = frozenset({"vous", "votre", "vos"})

_STRIP = re.compile(r"https?://\S+|www\.\S+|[@#][\w.]+", re.UNICODE)
_FRENCH_ELISION = re.compile(r"\b([cdjlmnst]|qu)['’]", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*", re.UNICODE)
_SENTENCE = re.compile(r"[.!?…]+")
_VOWELS = re.compile(r"[aeiouyàâäéèêëîïôöùûüÿæœ]+")
_EMOJI = re.compile("[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\u2300-\u23FF]")
_EMOJI_MODIFIERS = re.compile("[\U0001F3FB-\U0001F3FF]")


@dataclass
class StylePost:
    text: str
    lang: str
    created_at: datetime | None
    kind: str = "post"
    hashtags: int = 0
    links: int = 0
    mentions: int = 0


def words(text: str, lang: str) -> list[str]:
    """Lower-case words without links, mentions and hashtags (French elisions split)."""
    text = _STRIP.sub(" ", text or "")
    if lang == "fr":
        text = _FRENCH_ELISION.sub(r"\1 ", text)
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


@lru_cache(maxsize=1 << 16)  # words repeat: the 200k-post demo counts 3.1M words, far fewer distinct ones
def syllables(word: str, lang: str) -> int:
    """Vowel groups, less a silent final e (see the module docstring); at least 1."""
    count = len(_VOWELS.findall(word))
    if count > 1:
        if lang == "fr" and (word.endswith("e") or word.endswith("es")) and not word.endswith(("ée", "ées")):
            count -= 1
        elif lang != "fr" and word.endswith("e") and not word.endswith(("le", "ee")):
            count -= 1
    return max(count, 1)


def readability(n_words: int, n_sentences: int, n_syllables: int, lang: str) -> float:
    """Flesch reading ease (English and other languages) or Kandel & Moles (French)."""
    per_sentence = n_words / max(n_sentences, 1)
    per_word = n_syllables / max(n_words, 1)
    if lang == "fr":
        return 207.0 - 1.015 * per_sentence - 73.6 * per_word
    return 206.835 - 1.015 * per_sentence - 84.6 * per_word


def mattr(tokens: Sequence[str], window: int = MATTR_WINDOW) -> float | None:
    """Moving-average type-token ratio (Covington & McFall 2010); the plain TTR under one window."""
    if not tokens:
        return None
    if len(tokens) <= window:
        return len(set(tokens)) / len(tokens)
    counts = Counter(tokens[:window])
    total = len(counts)
    for i in range(window, len(tokens)):
        counts[tokens[i]] += 1
        old = tokens[i - window]
        counts[old] -= 1
        if counts[old] == 0:
            del counts[old]
        total += len(counts)
    return total / (window * (len(tokens) - window + 1))


def burstiness(times: Sequence[datetime]) -> float | None:
    """Goh & Barabási's B over inter-post times (seconds); None under 3 posts or when all are simultaneous."""
    if len(times) < 3:
        return None
    seconds = np.array(sorted(t.timestamp() for t in times))
    gaps = np.diff(seconds)
    mean, std = gaps.mean(), gaps.std()
    return None if mean + std == 0 else float((std - mean) / (std + mean))


def style_features(posts: Sequence[StylePost]) -> dict[str, float | None]:
    """The named style vector of one account from its posts (see the module docstring)."""
    own = [p for p in posts if p.kind in OWN_TEXT_KINDS and p.text]
    out: dict[str, float | None] = dict.fromkeys(FEATURES)
    if own:
        n = len(own)
        out["mean_length"] = sum(len(p.text) for p in own) / n
        out["emoji_rate"] = sum(len(_EMOJI.findall(_EMOJI_MODIFIERS.sub("", p.text))) for p in own) / n
        out["hashtag_rate"] = sum(p.hashtags for p in own) / n
        out["link_rate"] = sum(p.links for p in own) / n
        out["mention_rate"] = sum(p.mentions for p in own) / n
        out["question_rate"] = sum("?" in p.text for p in own) / n
        out["exclamation_rate"] = sum("!" in p.text for p in own) / n
        total_words = first = second = tu = vous = 0
        weighted_readability = 0.0
        tokens: list[str] = []
        for p in own:
            ws = words(p.text, p.lang)
            if not ws:
                continue
            total_words += len(ws)
            first += sum(w in FIRST_PERSON for w in ws)
            second += sum(w in SECOND_PERSON for w in ws)
            if p.lang == "fr":
                tu += sum(w in FRENCH_TU for w in ws)
                vous += sum(w in FRENCH_VOUS for w in ws)
            sentences = max(len([s for s in _SENTENCE.split(_STRIP.sub(" ", p.text)) if _WORD.search(s)]), 1)
            score = readability(len(ws), sentences, sum(syllables(w, p.lang) for w in ws), p.lang)
            weighted_readability += score * len(ws)
            if len(tokens) < MAX_TOKENS:
                tokens.extend(ws[:MAX_TOKENS - len(tokens)])
        if total_words:
            out["first_person_rate"] = first / total_words
            out["second_person_rate"] = second / total_words
            out["readability"] = weighted_readability / total_words
            out["lexical_richness"] = mattr(tokens)
        out["vous_share"] = vous / (tu + vous) if tu + vous else None
    times = [p.created_at for p in posts if p.created_at is not None]
    if times:
        out["night_share"] = sum(NIGHT_HOURS[0] <= t.hour < NIGHT_HOURS[1] for t in times) / len(times)
        out["burstiness"] = burstiness(times)
        out["posts_per_active_day"] = len(times) / len({t.date() for t in times})
    return out


def _account_posts(con: duckdb.DuckDBPyConnection, accounts_per_batch: int) -> Iterator[tuple[tuple[str, str], list[StylePost]]]:
    """Each account's posts, a batch of accounts at a time (keyset over (platform, account_id))."""
    from confiance.text.language import identify

    detected = has_table(con, "post_language")
    lang = "coalesce(nullif(l.lang, 'und'), p.lang)" if detected else "p.lang"
    join = "LEFT JOIN post_language l USING (platform, post_id)" if detected else ""
    last = ("", "")
    while True:
        bounds = con.execute(
            "SELECT platform, account_id FROM (SELECT DISTINCT platform, account_id FROM posts "
            "WHERE account_id IS NOT NULL AND (platform, account_id) > (?, ?)) ORDER BY 1, 2 LIMIT ?",
            [last[0], last[1], accounts_per_batch]).fetchall()
        if not bounds:
            return
        rows = con.execute(
            f"SELECT p.platform, p.account_id, p.text, {lang}, p.created_at, p.kind, len(coalesce(p.hashtags, [])), "
            f"len(coalesce(p.urls, [])), len(coalesce(p.mentions, [])) FROM posts p {join} "
            "WHERE (p.platform > ? OR (p.platform = ? AND p.account_id > ?)) "
            "AND (p.platform < ? OR (p.platform = ? AND p.account_id <= ?)) "
            "ORDER BY p.platform, p.account_id, p.created_at, p.post_id",
            [last[0], last[0], last[1], bounds[-1][0], bounds[-1][0], bounds[-1][1]]).fetchall()
        unknown = [i for i, r in enumerate(rows) if r[5] in OWN_TEXT_KINDS and r[2] and (not r[3] or r[3] == "und")]
        guessed = dict(zip(unknown, (g for g, _ in identify([rows[i][2] for i in unknown]))))
        current: tuple[str, str] | None = None
        posts: list[StylePost] = []
        for i, (platform, account, text, language, created, kind, tags, links, mentions) in enumerate(rows):
            if (platform, account) != current:
                if current is not None:
                    yield current, posts
                current, posts = (platform, account), []
            language = guessed.get(i, language) or "und"
            posts.append(StylePost(text or "", language.lower().split("-")[0], created, kind, tags, links, mentions))
        if current is not None:
            yield current, posts
        last = bounds[-1]


def run_style(con: duckdb.DuckDBPyConnection, run_id: str, *, accounts_per_batch: int = 2000) -> dict[str, Any]:
    """The ``style`` step: ``account_style`` with one column per feature."""
    columns = ", ".join(f"{name} DOUBLE" for name in FEATURES)
    con.execute(f"CREATE OR REPLACE TABLE account_style (platform VARCHAR, account_id VARCHAR, posts BIGINT, "
                f"{columns}, run_id VARCHAR)")
    accounts = 0
    buffer: list[dict[str, Any]] = []

    def flush() -> None:
        if buffer:
            con.register("_style_batch", pa.Table.from_pylist(buffer, schema=_STYLE_SCHEMA))
            con.execute("INSERT INTO account_style SELECT *, ? FROM _style_batch", [run_id])
            con.unregister("_style_batch")
            buffer.clear()

    for (platform, account), posts in _account_posts(con, accounts_per_batch):
        buffer.append({"platform": platform, "account_id": account, "posts": len(posts), **style_features(posts)})
        accounts += 1
        if len(buffer) >= accounts_per_batch:
            flush()
    flush()
    return {"accounts": accounts}


_STYLE_SCHEMA = pa.schema([("platform", pa.string()), ("account_id", pa.string()), ("posts", pa.int64())]
                          + [(name, pa.float64()) for name in FEATURES])


def style_spread(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    """Each feature's standard deviation over the accounts of ``account_style`` (the z-score scale)."""
    row = con.execute("SELECT " + ", ".join(f"stddev_samp({name})" for name in FEATURES) + " FROM account_style").fetchall()[0]
    return {name: float(value) for name, value in zip(FEATURES, row) if value}


def style_distance(a: Mapping[str, float | None], b: Mapping[str, float | None], spread: Mapping[str, float]) -> float:
    """Root-mean-square difference of standardised features (standardised Euclidean / sqrt(k)).

    Only features known for both accounts and with a positive spread count (``k`` of them), so the
    distance stays comparable when a feature is missing (``vous_share`` without French posts).
    0 = same style; about 1.4 between two accounts drawn at random from a population of independent
    standardised features.
    """
    diffs = [(float(a[f]) - float(b[f])) / spread[f] for f in FEATURES
             if a.get(f) is not None and b.get(f) is not None and spread.get(f)]
    if not diffs:
        raise ValueError("no style feature is known for both accounts")
    return float(np.sqrt(np.mean(np.square(diffs))))


register_step(Step(
    "style", run_style, after=("language",), description="writing style and posting rhythm per account (account_style)",
    parameters={"mattr_window": MATTR_WINDOW, "max_tokens": MAX_TOKENS, "night_hours": list(NIGHT_HOURS)},
))
