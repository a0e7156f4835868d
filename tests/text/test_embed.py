"""Stored embeddings: one vector per distinct cleaned text, incremental, read back per post."""

from __future__ import annotations

import numpy as np

from confiance.pipeline import analyze
from confiance.text.embed import DIMENSIONS, encode, post_vectors, text_batches, text_key
from confiance.text.language import clean_text
from tests.conftest import FORMATS, ingest, query


def test_encode_contract():
    vectors = encode(["Le vélo électrique", "The e-bike", ""], batch_size=2)
    assert vectors.shape == (3, DIMENSIONS) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors[:2], axis=1), 1.0, atol=1e-4)
    # French and English land near each other, far from an unrelated sentence
    other = encode(["Le match de football de ce soir"])[0]
    assert vectors[0] @ vectors[1] > vectors[0] @ other


def test_embeddings_step_is_incremental_and_shares_texts(workspace):
    ingest(workspace, FORMATS / "twitter-v2-json" / "brexit.jsonl")
    first = analyze(workspace, only=["embeddings"])["embeddings"]
    posts, texts = query(workspace, "SELECT count(*), count(DISTINCT text) FROM posts")[0]
    assert first["posts"] == posts
    # reposts carry their parent's text: fewer texts encoded than posts
    assert 0 < first["texts_encoded"] <= texts < posts
    stored = query(workspace, "SELECT count(*), count(DISTINCT text_key) FROM text_embeddings")[0]
    assert stored[0] == stored[1] == first["texts_encoded"]
    assert analyze(workspace, only=["embeddings"])["embeddings"]["posts"] == 0

    ingest(workspace, FORMATS / "twitter-v1.1-json" / "get_search_raw.json")
    later = analyze(workspace, only=["embeddings"])["embeddings"]
    total = query(workspace, "SELECT count(*) FROM posts")[0][0]
    assert later["posts"] == total - posts
    assert query(workspace, "SELECT count(*), count(DISTINCT run_id) FROM post_embeddings")[0] == (total, 2)

    # post_vectors: in the order asked, equal to encoding the cleaned text, NaN for unknown posts
    rows = query(workspace, "SELECT platform, post_id, text FROM posts WHERE text IS NOT NULL ORDER BY post_id DESC LIMIT 5")
    keys = [(p, i) for p, i, _ in rows] + [("x", "no-such-post")]
    with workspace.reader() as con:
        vectors = post_vectors(con, keys)
        keyed = {int(k) for batch, _ in text_batches(con, batch_size=7) for k in batch}
    assert vectors.shape == (6, DIMENSIONS)
    expected = encode([clean_text(t) for _, _, t in rows])
    assert np.allclose(vectors[:5], expected, atol=1e-5)
    assert np.isnan(vectors[5]).all()
    assert {text_key(clean_text(t)) for _, _, t in rows} <= keyed


def test_post_vectors_accepts_arrow_and_empty(workspace):
    import pyarrow as pa

    ingest(workspace, FORMATS / "twitter-v2-json" / "quoted_edit.jsonl")
    analyze(workspace, only=["embeddings"])
    with workspace.reader() as con:
        empty = post_vectors(con, pa.table({"platform": pa.array([], pa.string()), "post_id": pa.array([], pa.string())}))
    assert empty.shape == (0, DIMENSIONS)
