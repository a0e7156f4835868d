"""Language identification per post (py3langid, restricted to a configurable language set).

Social posts carry much that is no language at all: links, @mentions, the '#' of hashtags, emoji,
HTML entities, a retweet's ``RT @user:``. :func:`clean_text` strips them first (a hashtag keeps its
word, which is often a real word of the post's language), then py3langid (Lui & Baldwin 2012) ranks
only the configured languages, with probabilities renormalised over that set.

Very short texts carry too little signal: below ``min_chars`` letters after cleaning, or when the
winning language's probability is under ``min_confidence``, the outcome is ``"und"`` (undetermined,
the BCP 47 code).

:func:`run_language` is the ``language`` step: it identifies only the posts that ``post_language``
does not hold yet (incremental), streaming over ``posts`` in keyset batches so memory stays bounded.

References
----------
M. Lui, T. Baldwin, "langid.py: An Off-the-shelf Language Identification Tool", ACL 2012 System
Demonstrations, 25-30.
"""

from __future__ import annotations

import re
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
#: Letters a cleaned text needs before it is identified (langid.py is unreliable below ~10-15 characters).
MIN_CHARS = 12
#: Probability (over the configured set) under which the outcome is "und".
MIN_CONFIDENCE = 0.5
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


def _is_symbol(ch: str) -> bool:
    # emoji and pictographs are category So; skin-tone modifiers Sk; joiners and variation selectors Cf/Mn
    return unicodedata.category(ch) in ("So", "Sk", "Cs", "Co") or ch in "\u200d\ufe0f\ufe0e\u20e3"


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
    text = "".join(" " if _is_symbol(ch) else ch for ch in text)
    return _SPACES.sub(" ", text).strip()


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


def identify(texts: Sequence[str], *, languages: Sequence[str] = DEFAULT_LANGUAGES, min_chars: int = MIN_CHARS,
             min_confidence: float = MIN_CONFIDENCE) -> list[tuple[str, float]]:
    """``(language, probability)`` per text; ``("und", p)`` when the text is too short or too unsure.

    Parameters
    ----------
    texts : post texts, raw (they are cleaned with :func:`clean_text`).
    languages : ISO 639-1 codes to choose among (py3langid's 97 languages); probabilities are
        renormalised over this set.
    min_chars : letters the cleaned text needs; fewer gives ``("und", 0.0)``.
    min_confidence : the winning probability under which the outcome is ``"und"`` (with that probability).

    Examples
    --------
    >>> identify(["Je trouve que la piste cyclable est vraiment géniale", "ok 👍"])  # doctest: +SKIP
    [('fr', 1.0), ('und', 0.0)]
    """
    if not languages:
        raise ValueError("identify needs at least one language")
    identifier = _identifier(tuple(languages))
    out: list[tuple[str, float]] = []
    for text in texts:
        cleaned = clean_text(text)
        if sum(ch.isalpha() for ch in cleaned) < min_chars:
            out.append((UNKNOWN, 0.0))
            continue
        language, probability = identifier.classify(cleaned)
        out.append((language, float(probability)) if probability >= min_confidence else (UNKNOWN, float(probability)))
    return out


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
                 min_chars: int = MIN_CHARS, min_confidence: float = MIN_CONFIDENCE,
                 batch_size: int = BATCH_SIZE) -> dict[str, Any]:
    """Identify the language of every post not yet in ``post_language`` and append it there.

    ``post_language(run_id, platform, post_id, lang, probability)``: ``lang`` is one of ``languages``
    or ``"und"``. Rows already there keep their ``run_id`` (the run that identified them).

    Returns
    -------
    dict with ``identified`` (posts added this run), ``undetermined`` (of those, "und") and
    ``languages`` {lang: posts added}.
    """
    con.execute(
        "CREATE TABLE IF NOT EXISTS post_language (run_id VARCHAR, platform VARCHAR, post_id VARCHAR, "
        "lang VARCHAR, probability DOUBLE)")
    counts: dict[str, int] = {}
    for batch in pending_posts(con, "post_language", f"p.platform, p.post_id, {POST_TEXT} AS text", batch_size):
        found = identify(batch.column("text").to_pylist(), languages=languages, min_chars=min_chars,
                         min_confidence=min_confidence)
        for lang, _ in found:
            counts[lang] = counts.get(lang, 0) + 1
        rows = pa.table({
            "platform": batch.column("platform"), "post_id": batch.column("post_id"),
            "lang": pa.array([lang for lang, _ in found], pa.string()),
            "probability": pa.array([p for _, p in found], pa.float64()),
        })
        con.register("_language_batch", rows)
        try:
            con.execute("INSERT INTO post_language SELECT ?, platform, post_id, lang, probability FROM _language_batch",
                        [run_id])
        finally:
            con.unregister("_language_batch")
    # posts removed since (forget) leave no language behind
    con.execute("DELETE FROM post_language d WHERE NOT EXISTS "
                "(SELECT 1 FROM posts p WHERE p.platform = d.platform AND p.post_id = d.post_id)")
    return {"identified": sum(counts.values()), "undetermined": counts.get(UNKNOWN, 0),
            "languages": dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))}


def _step(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    return run_language(con, run_id)


register_step(Step(
    "language", _step,
    description="language of each new post (py3langid over 15 languages, fr and en first; 'und' when short)",
    parameters={"languages": list(DEFAULT_LANGUAGES), "min_chars": MIN_CHARS, "min_confidence": MIN_CONFIDENCE},
))
