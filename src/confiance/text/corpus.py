"""Posts read for text analyses: bounded keyset batches, each post's language, and its vectors.

Sentiment and stance read the same thing: the posts that carry their author's own words (posts,
replies and quotes; a repost repeats its parent's text), in batches ordered by key so memory stays
bounded on any corpus. A post's language is, in this order: the ``post_language`` table (language
identification over the text) when present, the platform's own tag ``posts.lang``, else
:func:`confiance.text.language.identify` on the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

import duckdb
import numpy as np

from confiance.store import has_table

#: Kinds whose text is the author's own (a repost carries its parent's text).
OWN_TEXT_KINDS: tuple[str, ...] = ("post", "reply", "quote")


@dataclass
class PostBatch:
    platform: list[str]
    post_id: list[str]
    account_id: list[str]
    created_at: list
    text: list[str]
    lang: list[str]

    def __len__(self) -> int:
        return len(self.post_id)


def post_batches(con: duckdb.DuckDBPyConnection, *, batch_size: int = 5000,
                 kinds: Sequence[str] = OWN_TEXT_KINDS) -> Iterator[PostBatch]:
    """Posts with a non-empty text, ``batch_size`` at a time, ordered by (platform, post_id)."""
    from confiance.text.language import identify

    detected = has_table(con, "post_language")
    lang = "coalesce(nullif(l.lang, 'und'), p.lang)" if detected else "p.lang"
    join = "LEFT JOIN post_language l USING (platform, post_id)" if detected else ""
    sql = (f"SELECT p.platform, p.post_id, p.account_id, p.created_at, p.text, {lang} FROM posts p {join} "
           f"WHERE p.kind IN (SELECT unnest(?)) AND coalesce(trim(p.text), '') <> '' "
           "AND (p.platform, p.post_id) > (?, ?) ORDER BY p.platform, p.post_id LIMIT ?")
    last = ("", "")
    while True:
        rows = con.execute(sql, [list(kinds), last[0], last[1], batch_size]).fetchall()
        if not rows:
            return
        columns = [list(c) for c in zip(*rows)]
        langs = columns[5]
        missing = [i for i, value in enumerate(langs) if not value or value == "und"]
        if missing:
            for i, (value, _) in zip(missing, identify([columns[4][i] for i in missing])):
                langs[i] = value
        yield PostBatch(*columns[:5], [value.lower().split("-")[0] for value in langs])
        last = (rows[-1][0], rows[-1][1])


def post_vectors(con: duckdb.DuckDBPyConnection, batch: PostBatch) -> np.ndarray:
    """Sentence vectors of a batch: the stored embeddings when the store keeps them, else computed.

    A post the ``embeddings`` step stored without a vector (nothing left once links, mentions and emoji
    are cleaned away: ``"https://t.co/x"``, ``"😁 🔥"``) gets its raw text encoded here.
    """
    from confiance.text.embed import encode, post_vectors as stored_vectors

    if not has_table(con, "post_embeddings"):
        return encode(batch.text)
    vectors = stored_vectors(con, list(zip(batch.platform, batch.post_id)))
    missing = np.flatnonzero(np.isnan(vectors).any(axis=1))
    if missing.size:
        vectors[missing] = encode([batch.text[i] for i in missing])
    return vectors
