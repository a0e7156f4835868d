"""Language identification per post (py3langid, restricted to a configurable language set).

Social posts carry much that is no language at all: links, @mentions, the '#' of hashtags, emoji,
HTML entities, a retweet's ``RT @user:``. :func:`clean_text` strips them first (a hashtag keeps its
word, which is often a real word of the post's language). :func:`language_view` then undoes what
social media do to words and what langid.py's training text (edited prose) rarely shows: shouted
words in capitals are lower-cased (langid.py's byte n-grams are case-sensitive, and "THIS IS
AMAZING" shares few of them with English prose), letters repeated for emphasis are squeezed to two
("sooooo" → "soo"), digits go, and CamelCase hashtag words are split ("StarWars" → "Star Wars").
py3langid (Lui & Baldwin 2012) then ranks only the configured languages, with probabilities
renormalised over that set.

Very short texts carry too little signal: below ``min_bytes`` bytes of letters (UTF-8, the unit of
langid.py's features: 12 bytes are 12 Latin letters or 4 kana, hanzi or hangul, each of which says
more about its language) or when the winning language's probability is under ``min_confidence``,
the text alone gives ``"und"`` (undetermined, the BCP 47 code).

Account-level smoothing: most accounts write in one or two languages, so a post the text leaves
undetermined takes its account's habit into account. Its text's distribution over the languages is
multiplied by the account's, estimated from the account's confidently identified posts (probability
≥ ``ACCOUNT_CONFIDENCE``, at least ``ACCOUNT_MIN_POSTS`` of them) with add-one (Laplace) smoothing,
and renormalised; the post gets the winner when it reaches ``min_confidence`` and keeps ``"und"``
otherwise. This is Bayes' rule with the account's languages as the prior instead of a uniform one
(the user-level prior of Carter, Weerkamp & Tsagkias 2013). ``post_language.basis`` says which
evidence decided: ``text`` or ``text+account``.

:func:`run_language` is the ``language`` step: it identifies only the posts that ``post_language``
does not hold yet (incremental), streaming over ``posts`` in keyset batches so memory stays bounded.

References
----------
M. Lui, T. Baldwin, "langid.py: An Off-the-shelf Language Identification Tool", ACL 2012 System
Demonstrations, 25-30.
S. Carter, W. Weerkamp, M. Tsagkias, "Microblog language identification: overcoming the limitations
of short, unedited and idiomatic text", Language Resources and Evaluation 47 (2013), 195-215.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import lru_cache
from typing import Any, Iterator, Sequence

import duckdb
import pyarrow as pa

from confiance.pipeline import Step, register_step

#: The languages a post is identified among by default: the two languages every confiance analysis
#: serves, plus the languages most often met beside them on French and English social media (a
#: language missing here would be forced onto its nearest neighbour, Turkish onto German for instance).
DEFAULT_LANGUAGES: tuple[str, ...] = ("fr", "en", "de", "es", "it", "pt", "nl", "ar", "tr", "ru", "uk", "pl",
                                      "ja", "zh", "ko")
UNKNOWN = "und"
#: UTF-8 bytes of letters a text needs to be identified from its text alone (langid.py is unreliable
#: below ~10-15 Latin characters; its features are byte n-grams, so the unit is the byte).
MIN_BYTES = 12
#: Probability (over the configured set) under which the outcome is "und".
MIN_CONFIDENCE = 0.5
#: Account-level smoothing: an account's own posts identified at least this surely count for its prior...
ACCOUNT_CONFIDENCE = 0.9
#: ...and it needs this many of them.
ACCOUNT_MIN_POSTS = 3
#: Posts per batch of the ``language`` step.
BATCH_SIZE = 20_000

#: A post's text for text analyses (over ``posts p``): a repost stored without text (a Mastodon boost
#: has an empty one) reads its parent's.
POST_TEXT = ("coalesce(nullif(p.text, ''), (SELECT parent.text FROM posts parent WHERE parent.platform = p.platform "
             "AND parent.post_id = p.parent_post_id AND p.kind = 'repost'))")

_URL = re.compile(r"(?:https?://|www\.)\S+|\b(?:[a-z0-9-]+\.)+[a-z]{2,}/\S*", re.IGNORECASE)
# @user, and Mastodon's @user@host
_MENTION = re.compile(r"(?<![\w@])@[\w.\-]+(?:@[\w.\-]+)?")
_RETWEET = re.compile(r"^\s*RT\s*:?\s*", re.IGNORECASE)
_ENTITY = re.compile(r"&(?:amp|lt|gt|quot|apos|nbsp|#\d+|#x[0-9a-f]+);", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"[^\W\d_]{2,}")
_ELONGATED = re.compile(r"([^\W\d_])\1{2,}")
_DIGITS = re.compile(r"\d+")
_CAMEL = re.compile(r"(?<=[a-zà-ÿ])(?=[A-ZÀ-Þ])")


def _is_symbol(ch: str) -> bool:
    # emoji and pictographs are category So; skin-tone modifiers Sk; joiners and variation selectors Cf/Mn
    return unicodedata.category(ch) in ("So", "Sk", "Cs", "Co") or ch in "\u200d\ufe0f\ufe0e\u20e3"


@lru_cache(maxsize=1)
def _symbols() -> re.Pattern:
    """A character class of every code point :func:`_is_symbol` accepts: one regex, not a loop per character."""
    ranges: list[tuple[int, int]] = []
    for point in range(sys.maxunicode + 1):
        if _is_symbol(chr(point)):
            if ranges and ranges[-1][1] == point - 1:
                ranges[-1] = (ranges[-1][0], point)
            else:
                ranges.append((point, point))
    return re.compile("[" + "".join(f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges) + "]")


def clean_text(text: str | None) -> str:
    """The words of a post: links, @mentions, hashtags' '#', emoji and HTML entities removed.

    >>> clean_text("RT @ana: Super #vélo 🚲 https://t.co/x")
    'Super vélo'
    """
    if not text:
        return ""
    text = _URL.sub(" ", text)
    text = _MENTION.sub(" ", text)
    text = _RETWEET.sub("", text)
    text = _ENTITY.sub(" ", text)
    text = text.replace("#", " ")
    text = _symbols().sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def language_view(cleaned: str) -> str:
    """A cleaned text as language identification reads it: shouting, elongations, digits and CamelCase undone.

    >>> language_view("SO HAPPY with StarWars 2016 sooooo good")
    'so happy with Star Wars soo good'
    """
    text = _CAMEL.sub(" ", cleaned)
    text = _WORD.sub(lambda m: m.group(0).lower() if m.group(0).isupper() else m.group(0), text)
    text = _ELONGATED.sub(r"\1\1", text)
    text = _DIGITS.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def letter_bytes(text: str) -> int:
    """UTF-8 bytes of the letters of ``text`` (the evidence langid.py's byte n-grams see)."""
    return len("".join(filter(str.isalpha, text)).encode("utf-8"))


@lru_cache(maxsize=8)
def _identifier(languages: tuple[str, ...]):
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    known = set(identifier.nb_classes)
    unknown = [lang for lang in languages if lang not in known]
    if unknown:
        raise ValueError(f"language(s) {unknown} are not known to py3langid; known: {', '.join(sorted(known))}")
    identifier.set_languages(list(languages))
    return identifier


def identify(texts: Sequence[str], *, languages: Sequence[str] = DEFAULT_LANGUAGES, min_bytes: int = MIN_BYTES,
             min_confidence: float = MIN_CONFIDENCE) -> list[tuple[str, float]]:
    """``(language, probability)`` per text; ``("und", p)`` when the text is too short or too unsure.

    Parameters
    ----------
    texts : post texts, raw (they are cleaned with :func:`clean_text`, then read through :func:`language_view`).
    languages : ISO 639-1 codes to choose among (py3langid's 97 languages); probabilities are
        renormalised over this set.
    min_bytes : UTF-8 bytes of letters the text needs; fewer gives ``("und", 0.0)``.
    min_confidence : the winning probability under which the outcome is ``"und"`` (with that probability).

    Examples
    --------
    >>> identify(["Je trouve que la piste cyclable est vraiment géniale", "ok 👍"])  # doctest: +SKIP
    [('fr', 1.0), ('und', 0.0)]
    """
    if not languages:
        raise ValueError("identify needs at least one language")
    identifier = _identifier(tuple(languages))
    # reposts and campaigns repeat texts: each distinct text is identified once per call
    found: dict[str, tuple[str, float]] = {}
    out: list[tuple[str, float]] = []
    for text in texts:
        if text not in found:
            view = language_view(clean_text(text))
            if letter_bytes(view) < min_bytes:
                found[text] = (UNKNOWN, 0.0)
            else:
                language, probability = identifier.classify(view)
                found[text] = ((language, float(probability)) if probability >= min_confidence
                               else (UNKNOWN, float(probability)))
        out.append(found[text])
    return out


def identify_with_prior(text: str, prior: dict[str, int], *, languages: Sequence[str] = DEFAULT_LANGUAGES,
                        min_confidence: float = MIN_CONFIDENCE) -> tuple[str, float]:
    """``(language, posterior)`` of a text given its account's confidently identified posts per language.

    The text's distribution over ``languages`` times the account's add-one-smoothed distribution
    ``(n_l + 1) / (N + L)``, renormalised (see the module docstring); ``"und"`` when the text has no
    letters or the winner stays under ``min_confidence``.

    >>> identify_with_prior("Merci bcp", {"fr": 12, "en": 1})  # doctest: +ELLIPSIS
    ('fr', 0.566...)
    """
    view = language_view(clean_text(text))
    if letter_bytes(view) == 0:
        return UNKNOWN, 0.0
    total = sum(prior.values())
    posterior = {lang: p * (prior.get(lang, 0) + 1) / (total + len(languages))
                 for lang, p in _identifier(tuple(languages)).rank(view)}
    norm = sum(posterior.values())
    if norm <= 0:
        return UNKNOWN, 0.0
    language = max(posterior, key=lambda lang: (posterior[lang], lang))
    probability = posterior[language] / norm
    return (language, probability) if probability >= min_confidence else (UNKNOWN, probability)


def pending_posts(con: duckdb.DuckDBPyConnection, table: str, columns: str,
                  batch_size: int) -> Iterator[pa.Table]:
    """Batches of ``posts`` (``columns``) without a row in ``table``, in (platform, post_id) order.

    Keyset batches (``WHERE (platform, post_id) > last``) rather than one open result: the caller
    writes to the same connection between batches, which an open DuckDB result would block.
    """
    last: tuple[str, str] | None = None
    while True:
        after = "AND (p.platform > ? OR (p.platform = ? AND p.post_id > ?))" if last else ""
        params = [last[0], last[0], last[1]] if last else []
        batch = con.sql(
            f"SELECT {columns} FROM posts p ANTI JOIN {table} d ON d.platform = p.platform AND d.post_id = p.post_id "
            f"WHERE TRUE {after} ORDER BY p.platform, p.post_id LIMIT {int(batch_size)}", params=params).to_arrow_table()
        if batch.num_rows == 0:
            return
        yield batch
        last = (batch.column("platform")[-1].as_py(), batch.column("post_id")[-1].as_py())


def run_language(con: duckdb.DuckDBPyConnection, run_id: str, *, languages: Sequence[str] = DEFAULT_LANGUAGES,
                 min_bytes: int = MIN_BYTES, min_confidence: float = MIN_CONFIDENCE, account_smoothing: bool = True,
                 batch_size: int = BATCH_SIZE) -> dict[str, Any]:
    """Identify the language of every post not yet in ``post_language`` and append it there.

    ``post_language(run_id, platform, post_id, lang, probability, basis)``: ``lang`` is one of
    ``languages`` or ``"und"``; ``basis`` is ``text``, or ``text+account`` where account-level
    smoothing decided (see the module docstring; only posts of this run that their text left
    undetermined). Rows already there keep their ``run_id`` (the run that identified them).

    Returns
    -------
    dict with ``identified`` (posts added this run), ``undetermined`` (of those, still "und"),
    ``by_account`` (of those, decided with their account's prior) and ``languages`` {lang: posts added}.
    """
    con.execute(
        "CREATE TABLE IF NOT EXISTS post_language (run_id VARCHAR, platform VARCHAR, post_id VARCHAR, "
        "lang VARCHAR, probability DOUBLE, basis VARCHAR)")
    # stores identified before account-level smoothing existed: every row there came from its text
    con.execute("ALTER TABLE post_language ADD COLUMN IF NOT EXISTS basis VARCHAR DEFAULT 'text'")
    for batch in pending_posts(con, "post_language", f"p.platform, p.post_id, {POST_TEXT} AS text", batch_size):
        found = identify(batch.column("text").to_pylist(), languages=languages, min_bytes=min_bytes,
                         min_confidence=min_confidence)
        rows = pa.table({
            "platform": batch.column("platform"), "post_id": batch.column("post_id"),
            "lang": pa.array([lang for lang, _ in found], pa.string()),
            "probability": pa.array([p for _, p in found], pa.float64()),
        })
        con.register("_language_batch", rows)
        try:
            con.execute("INSERT INTO post_language (run_id, platform, post_id, lang, probability, basis) "
                        "SELECT ?, platform, post_id, lang, probability, 'text' FROM _language_batch", [run_id])
        finally:
            con.unregister("_language_batch")
    by_account = (smooth_by_account(con, run_id, languages=languages, min_confidence=min_confidence,
                                    batch_size=batch_size) if account_smoothing else 0)
    # posts removed since (forget) leave no language behind
    con.execute("DELETE FROM post_language d WHERE NOT EXISTS "
                "(SELECT 1 FROM posts p WHERE p.platform = d.platform AND p.post_id = d.post_id)")
    counts = dict(con.execute("SELECT lang, count(*) FROM post_language WHERE run_id = ? GROUP BY lang",
                              [run_id]).fetchall())
    return {"identified": sum(counts.values()), "undetermined": counts.get(UNKNOWN, 0), "by_account": by_account,
            "languages": dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))}


def smooth_by_account(con: duckdb.DuckDBPyConnection, run_id: str, *, languages: Sequence[str] = DEFAULT_LANGUAGES,
                      min_confidence: float = MIN_CONFIDENCE, account_confidence: float = ACCOUNT_CONFIDENCE,
                      account_min_posts: int = ACCOUNT_MIN_POSTS, batch_size: int = BATCH_SIZE) -> int:
    """Decide this run's undetermined posts with their account's languages as the prior; returns posts decided.

    The prior of an account counts its posts identified from their text alone with probability
    ≥ ``account_confidence`` (any run); accounts with fewer than ``account_min_posts`` such posts
    give none. See :func:`identify_with_prior`.
    """
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _language_candidates AS "
        "WITH counted AS (SELECT p.platform, p.account_id, l.lang, count(*) AS n FROM post_language l "
        "  JOIN posts p ON p.platform = l.platform AND p.post_id = l.post_id "
        "  WHERE l.basis = 'text' AND l.lang <> ? AND l.probability >= ? GROUP BY ALL), "
        " priors AS (SELECT platform, account_id, list({'lang': lang, 'n': n}) AS prior FROM counted GROUP BY ALL "
        "  HAVING sum(n) >= ?) "
        f"SELECT l.platform, l.post_id, {POST_TEXT} AS text, a.prior FROM post_language l "
        "JOIN posts p ON p.platform = l.platform AND p.post_id = l.post_id "
        "JOIN priors a ON a.platform = p.platform AND a.account_id = p.account_id "
        "WHERE l.run_id = ? AND l.lang = ?", [UNKNOWN, account_confidence, account_min_posts, run_id, UNKNOWN])
    con.execute("CREATE OR REPLACE TEMP TABLE _language_smoothed (platform VARCHAR, post_id VARCHAR, lang VARCHAR, "
                "probability DOUBLE)")
    last: tuple[str, str] | None = None
    while True:
        after = "WHERE platform > ? OR (platform = ? AND post_id > ?)" if last else ""
        batch = con.execute(f"SELECT platform, post_id, text, prior FROM _language_candidates {after} "
                            f"ORDER BY platform, post_id LIMIT {int(batch_size)}",
                            [last[0], last[0], last[1]] if last else []).fetchall()
        if not batch:
            break
        decided = []
        for platform, post_id, text, prior in batch:
            lang, probability = identify_with_prior(text, {x["lang"]: x["n"] for x in prior}, languages=languages,
                                                    min_confidence=min_confidence)
            if lang != UNKNOWN:
                decided.append((platform, post_id, lang, probability))
        if decided:
            platforms, post_ids, langs, probabilities = zip(*decided)
            con.register("_language_decided", pa.table({
                "platform": pa.array(platforms, pa.string()), "post_id": pa.array(post_ids, pa.string()),
                "lang": pa.array(langs, pa.string()), "probability": pa.array(probabilities, pa.float64())}))
            try:
                con.execute("INSERT INTO _language_smoothed SELECT platform, post_id, lang, probability "
                            "FROM _language_decided")
            finally:
                con.unregister("_language_decided")
        last = (batch[-1][0], batch[-1][1])
    updated = con.execute(
        "UPDATE post_language l SET lang = s.lang, probability = s.probability, basis = 'text+account' "
        "FROM _language_smoothed s WHERE l.platform = s.platform AND l.post_id = s.post_id").fetchall()[0][0]
    con.execute("DROP TABLE _language_candidates")
    con.execute("DROP TABLE _language_smoothed")
    return int(updated)


def _step(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    return run_language(con, run_id)


register_step(Step(
    "language", _step,
    description="language of each new post (py3langid over 15 languages, fr and en first; 'und' when short; "
                "undetermined posts smoothed by their account's languages)",
    parameters={"languages": list(DEFAULT_LANGUAGES), "min_bytes": MIN_BYTES, "min_confidence": MIN_CONFIDENCE,
                "account_smoothing": True, "account_confidence": ACCOUNT_CONFIDENCE,
                "account_min_posts": ACCOUNT_MIN_POSTS},
))
