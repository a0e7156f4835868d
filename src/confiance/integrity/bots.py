"""Bot likelihood per account: behavioural and profile features, a shipped model, its evidence.

Features (:data:`FEATURES`) are computed in SQL from the canonical ``accounts``, ``posts`` and
``interactions`` tables (:func:`account_features`). DuckDB aggregates out of core, so memory is
bounded by the number of accounts, not of posts. An account's *activity* is its posts plus the
reposts that only an interaction records (Bluesky repost events are not posts).

The model (:data:`MODEL_FEATURES`) is a logistic regression on the features that the labelled
public data carries (the Varol-2017 and Gilani-2017 accounts of the Botometer Bot Repository, as
featurised by the jyono/bot-or-not repository; mapping in :mod:`confiance.integrity.bot_training`),
calibrated by isotonic regression on out-of-fold predictions (Zadrozny & Elkan 2002). It ships as
``models/bots.json`` (coefficients and calibration arrays; no pickle) and is rebuilt byte for byte
by ``scripts/train_bots.py``.

Missing values are handled explicitly: a model feature the platform does not report (Bluesky has
no follower counts, Mastodon no lists and no quotes; posts without metrics) is imputed with the training mean, so its standardised
value is 0 and it contributes nothing; the evidence marks it ``"missing": true``.

Features that the labelled data lacks (default avatar, bio, digits in the handle, account age,
hour-of-day entropy, interval regularity, reply ratio, duplicate-text share…) are computed, stored in
``bot_features`` and shown next to the score, but carry no weight: no labelled data here can set
their weight, and weights set by hand would be guesses.

Explanation: for a linear model the log-odds split exactly into ``coefficient × standardised
value`` per feature plus the intercept; the evidence lists the features with the largest
``|contribution|``.

References
----------
Varol, O., Ferrara, E., Davis, C. A., Menczer, F., Flammini, A. (2017). Online human-bot
interactions: detection, estimation, and characterization. ICWSM 2017.
Gilani, Z., Farahbakhsh, R., Tyson, G., Wang, L., Crowcroft, J. (2017). Of bots and humans (on
Twitter). ASONAM 2017.
Yang, K.-C., Varol, O., Hui, P.-M., Menczer, F. (2020). Scalable and generalizable social bot
detection through data selection. AAAI 2020 (profile features: digits and length of the screen
name, description length, default profile, account age).
Zadrozny, B., Elkan, C. (2002). Transforming classifier scores into accurate multiclass
probability estimates. KDD 2002.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Iterator, Mapping

import duckdb
import numpy as np
import orjson
import pyarrow as pa

from confiance.errors import ConfianceError, IngestError
from confiance.i18n import N_
from confiance.pipeline import Step, register_step
from confiance.store import has_table, repost_post_of

__all__ = [
    "FEATURES",
    "MODEL_FEATURES",
    "BotModel",
    "account_features",
    "bot_listing",
    "load_model",
    "read_feature_csv",
    "run_bots",
    "score_features",
]

#: Every feature, with its meaning (the columns of ``bot_features`` and of ``bots score`` input).
FEATURES: dict[str, str] = {
    # mapped onto the labelled data (the model's inputs)
    "posts_count_log": N_("log(1 + posts the account declares; else the posts seen)"),
    "repost_ratio": N_("reposts / activity"),
    "quote_ratio": N_("quotes / activity (missing on a platform with no quote in the corpus)"),
    "hashtags_per_post": N_("hashtags per post (activity)"),
    "mentions_per_post": N_("mentions per post (activity)"),
    "urls_per_post": N_("links per post (activity)"),
    "likes_per_post_log": N_("log(1 + likes received per post)"),
    "reposts_per_post_log": N_("log(1 + reposts received per post)"),
    "following_follower_ratio_log": N_("log(1 + following / followers)"),
    "listed_log": N_("log(1 + lists the account is on)"),
    "verified": N_("verified account (1/0)"),
    "interval_variance_log": N_("log(1 + variance of the time between two posts, seconds²)"),
    # computed and shown, not in the labelled data
    "reply_ratio": N_("replies / activity"),
    "default_avatar": N_("default profile picture (1/0)"),
    "bio_length": N_("characters in the bio"),
    "has_url": N_("profile carries a link (1/0)"),
    "handle_length": N_("characters in the handle (before any domain)"),
    "handle_digits": N_("digits in the handle"),
    "name_digits": N_("digits in the display name"),
    "account_age_days": N_("days from account creation to its last post"),
    "posts_per_day": N_("declared posts per day of account age"),
    "hour_entropy": N_("entropy of the hour of day of activity / log 24 (0: one hour, 1: uniform)"),
    "interval_cv": N_("standard deviation / mean of the time between two posts (low: clockwork)"),
    "duplicate_text_share": N_("share of own posts whose text the account posted more than once"),
    "activity": N_("posts and reposts seen in the corpus"),
}
#: The inputs of the shipped model, in its coefficient order.
MODEL_FEATURES: tuple[str, ...] = (
    "posts_count_log", "repost_ratio", "quote_ratio", "hashtags_per_post", "mentions_per_post",
    "urls_per_post", "likes_per_post_log", "reposts_per_post_log", "following_follower_ratio_log",
    "listed_log", "verified", "interval_variance_log",
)
MODEL_FILE = "bots.json"
SCORE_TABLE = "bot_scores"
FEATURE_TABLE = "bot_features"
#: Probability at or above which ``label`` is true (the calibrated even-odds point).
DEFAULT_THRESHOLD = 0.5
#: Features listed as evidence per account.
DEFAULT_EVIDENCE_FEATURES = 5
#: Minimum text length for the duplicate-text share (short replies such as "merci" repeat innocently).
DUPLICATE_MIN_CHARS = 20
#: Accounts scored per batch (bounds the arrays held in Python).
BATCH_ACCOUNTS = 100_000


# --------------------------------------------------------------------------- features

_FEATURE_SQL = f"""
WITH reposts_only AS (  -- reposts that no repost row of the reposter records (Bluesky repost events, Mastodon
    -- reblogged_by lists): their post_id names the reposted post
    SELECT i.platform, i.src AS account_id, min(i.created_at) AS created_at
    FROM interactions i
    WHERE i.kind = 'repost' AND i.post_id <> ''
      AND NOT EXISTS (SELECT 1 FROM posts q WHERE {repost_post_of('i', 'q')})
    GROUP BY i.platform, i.src, i.post_id
),
activity AS (
    SELECT platform, account_id, kind, created_at, coalesce(len(hashtags), 0) AS n_hashtags,
           coalesce(len(mentions), 0) AS n_mentions, coalesce(len(urls), 0) AS n_urls,
           likes, reposts, text
    FROM posts WHERE account_id IS NOT NULL
    UNION ALL
    SELECT platform, account_id, 'repost', created_at, 0, 0, 0, NULL, NULL, NULL FROM reposts_only
),
quoting AS (  -- platforms with quotes at all (Mastodon has none: its quote ratio is unknown, not 0)
    SELECT DISTINCT platform FROM posts WHERE kind = 'quote'
),
counts AS (
    SELECT platform, account_id, count(*) AS activity,
           avg((kind = 'repost')::DOUBLE) AS repost_ratio,
           avg((kind = 'quote')::DOUBLE) AS quote_share,
           avg((kind = 'reply')::DOUBLE) AS reply_ratio,
           avg(n_hashtags) AS hashtags_per_post, avg(n_mentions) AS mentions_per_post,
           avg(n_urls) AS urls_per_post,
           avg(likes) AS likes_per_post, avg(reposts) AS reposts_per_post,
           max(created_at) AS last_activity
    FROM activity GROUP BY ALL
),
gaps AS (
    SELECT platform, account_id,
           epoch(created_at) - epoch(lag(created_at) OVER (PARTITION BY platform, account_id ORDER BY created_at))
               AS gap
    FROM activity WHERE created_at IS NOT NULL
),
rhythm AS (
    SELECT platform, account_id, var_samp(gap) AS interval_variance,
           CASE WHEN avg(gap) > 0 THEN stddev_samp(gap) / avg(gap) END AS interval_cv
    FROM gaps WHERE gap IS NOT NULL GROUP BY ALL HAVING count(*) >= 2
),
hours AS (
    SELECT platform, account_id, hour(created_at AT TIME ZONE 'UTC') AS h, count(*) AS n
    FROM activity WHERE created_at IS NOT NULL GROUP BY ALL
),
entropy AS (
    SELECT platform, account_id, -sum(n / total * ln(n / total)) / ln(24) AS hour_entropy
    FROM (SELECT *, sum(n) OVER (PARTITION BY platform, account_id) AS total FROM hours)
    GROUP BY ALL HAVING any_value(total) >= 3
),
texts AS (
    SELECT platform, account_id,
           lower(trim(regexp_replace(regexp_replace(text, 'https?://\\S+', '', 'g'), '\\s+', ' ', 'g'))) AS body,
           count(*) AS n
    FROM posts
    WHERE account_id IS NOT NULL AND kind <> 'repost' AND length(text) >= ?
    GROUP BY ALL
),
duplicates AS (
    SELECT platform, account_id, sum(CASE WHEN n > 1 THEN n ELSE 0 END) / sum(n) AS duplicate_text_share
    FROM texts GROUP BY ALL
),
profiles AS (
    SELECT platform, account_id,
           any_value(handle) AS handle, any_value(display_name) AS display_name, any_value(bio) AS bio,
           any_value(url) AS url, any_value(created_at) AS created_at, any_value(followers) AS followers,
           any_value(following) AS following, any_value(posts_count) AS posts_count,
           any_value(listed) AS listed, any_value(verified) AS verified,
           any_value(default_avatar) AS default_avatar
    FROM accounts GROUP BY ALL
),
everyone AS (
    SELECT platform, account_id FROM profiles UNION SELECT platform, account_id FROM counts
)
SELECT e.platform, e.account_id, pr.handle,
       ln(1 + coalesce(pr.posts_count, c.activity)) AS posts_count_log,
       c.repost_ratio, CASE WHEN q.platform IS NOT NULL THEN c.quote_share END AS quote_ratio, c.hashtags_per_post, c.mentions_per_post, c.urls_per_post,
       ln(1 + c.likes_per_post) AS likes_per_post_log,
       ln(1 + c.reposts_per_post) AS reposts_per_post_log,
       CASE WHEN pr.following IS NOT NULL AND pr.followers IS NOT NULL
            THEN ln(1 + pr.following / greatest(pr.followers, 1)) END AS following_follower_ratio_log,
       ln(1 + pr.listed) AS listed_log,
       pr.verified::DOUBLE AS verified,
       ln(1 + r.interval_variance) AS interval_variance_log,
       c.reply_ratio,
       pr.default_avatar::DOUBLE AS default_avatar,
       CASE WHEN pr.profile_known THEN length(coalesce(pr.bio, '')) END::DOUBLE AS bio_length,
       CASE WHEN pr.profile_known THEN (coalesce(pr.url, '') <> '')::DOUBLE END AS has_url,
       length(pr.short_handle)::DOUBLE AS handle_length,
       length(regexp_replace(pr.short_handle, '[^0-9]', '', 'g'))::DOUBLE AS handle_digits,
       length(regexp_replace(pr.display_name, '[^0-9]', '', 'g'))::DOUBLE AS name_digits,
       CASE WHEN pr.created_at IS NOT NULL AND c.last_activity IS NOT NULL
            THEN greatest(epoch(c.last_activity) - epoch(pr.created_at), 0) / 86400 END AS account_age_days,
       CASE WHEN pr.created_at IS NOT NULL AND c.last_activity IS NOT NULL
            THEN coalesce(pr.posts_count, c.activity)
                 / greatest((epoch(c.last_activity) - epoch(pr.created_at)) / 86400, 1) END AS posts_per_day,
       h.hour_entropy, r.interval_cv, d.duplicate_text_share,
       coalesce(c.activity, 0)::DOUBLE AS activity
FROM everyone e
LEFT JOIN (SELECT *, handle IS NOT NULL OR bio IS NOT NULL AS profile_known,
                  regexp_extract(coalesce(handle, ''), '^@?([^.@]*)', 1) AS short_handle FROM profiles) pr
       USING (platform, account_id)
LEFT JOIN counts c USING (platform, account_id)
LEFT JOIN quoting q ON q.platform = e.platform
LEFT JOIN rhythm r USING (platform, account_id)
LEFT JOIN entropy h USING (platform, account_id)
LEFT JOIN duplicates d USING (platform, account_id)
ORDER BY e.platform, e.account_id
"""


def account_features(con: duckdb.DuckDBPyConnection, *, table: str | None = None,
                     duplicate_min_chars: int = DUPLICATE_MIN_CHARS) -> pa.Table | None:
    """Every :data:`FEATURES` column for every account (``platform, account_id, handle`` first).

    Parameters
    ----------
    con : connection to the workspace store.
    table : when given, the features are written to this (temporary when it starts with ``_``)
        table inside DuckDB and None is returned, so that millions of accounts never sit in Python.
    duplicate_min_chars : texts shorter than this do not count for ``duplicate_text_share``.

    Returns
    -------
    pyarrow.Table or None
        One row per account seen in ``accounts`` or as an author; NULL where the data does not say.
    """
    if table is None:
        return con.sql(_FEATURE_SQL, params=[duplicate_min_chars]).to_arrow_table()
    temp = "TEMP " if table.startswith("_") else ""
    con.execute(f"CREATE OR REPLACE {temp}TABLE {table} AS {_FEATURE_SQL}", [duplicate_min_chars])
    return None


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class BotModel:
    """A standardised logistic regression and its isotonic calibration, as plain arrays.

    ``probability(x) = interp(intercept + Σ coef · (clip(x, low, high) − mean) / scale, calibration_x,
    calibration_y)``; a missing value is replaced by ``mean`` (contribution 0). Values are clipped to
    the range seen in training (``low``, ``high``) because a linear model extrapolates without bound
    (a Bluesky post can carry 100 links; no labelled account has more than 2 per post).
    """

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    low: np.ndarray
    high: np.ndarray
    coef: np.ndarray
    intercept: float
    calibration_x: np.ndarray
    calibration_y: np.ndarray
    metadata: dict[str, Any]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "BotModel":
        features = tuple(data["features"])
        arrays = {k: np.asarray(data[k], dtype=np.float64) for k in ("mean", "scale", "low", "high", "coef",
                                                                       "calibration_x", "calibration_y")}
        if any(len(arrays[k]) != len(features) for k in ("mean", "scale", "low", "high", "coef")):
            raise ConfianceError("bot model: mean, scale, low, high and coef must have one value per feature")
        if len(arrays["calibration_x"]) != len(arrays["calibration_y"]) or len(arrays["calibration_x"]) < 2:
            raise ConfianceError("bot model: calibration needs matching x and y arrays of at least 2 points")
        unknown = set(features) - set(FEATURES)
        if unknown:
            raise ConfianceError(f"bot model uses unknown features {sorted(unknown)}")
        return cls(features=features, intercept=float(data["intercept"]), metadata=dict(data.get("metadata", {})),
                   **arrays)

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "mean": self.mean.tolist(), "scale": self.scale.tolist(), "low": self.low.tolist(),
            "high": self.high.tolist(), "coef": self.coef.tolist(),
            "intercept": self.intercept,
            "calibration_x": self.calibration_x.tolist(), "calibration_y": self.calibration_y.tolist(),
            "metadata": self.metadata,
        }

    def contributions(self, values: np.ndarray) -> np.ndarray:
        """``coef × standardised value`` per account and feature (0 where the value is missing)."""
        values = np.clip(np.asarray(values, dtype=np.float64), self.low, self.high)  # NaN stays NaN
        standard = (values - self.mean) / self.scale
        return np.where(np.isnan(standard), 0.0, standard) * self.coef

    def log_odds(self, values: np.ndarray) -> np.ndarray:
        return self.intercept + self.contributions(values).sum(axis=1)

    def probability(self, values: np.ndarray) -> np.ndarray:
        """Calibrated bot probability per row of ``values`` (columns in :attr:`features` order)."""
        return np.interp(self.log_odds(values), self.calibration_x, self.calibration_y)


def load_model(path: Path | str | None = None) -> BotModel:
    """The shipped model (``confiance/integrity/models/bots.json``) or the one at ``path``."""
    if path is None:
        raw = resources.files("confiance.integrity").joinpath("models", MODEL_FILE).read_bytes()
    else:
        raw = Path(path).read_bytes()
    try:
        return BotModel.from_json(orjson.loads(raw))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ConfianceError(f"bot model {path or MODEL_FILE} is not a valid model file: {exc}") from exc


def score_features(values: np.ndarray, model: BotModel, *, threshold: float = DEFAULT_THRESHOLD,
                   evidence_features: int = DEFAULT_EVIDENCE_FEATURES,
                   feature_names: tuple[str, ...] | None = None,
                   shown: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, list[list[dict[str, Any]]]]:
    """Scores, labels and evidence for a matrix of model features.

    Parameters
    ----------
    values : (n, len(model.features)) array in the model's feature order; NaN = missing.
    model : the :class:`BotModel`.
    threshold : probability at or above which the label is true.
    evidence_features : how many model features to list per account (largest ``|contribution|``).
    feature_names, shown : extra features (names and (n, k) values) appended to each account's
        evidence with contribution 0 (computed, not weighted).

    Returns
    -------
    (score, label, evidence): evidence per account is a list of
    ``{"feature", "value", "contribution"}`` (``"missing": true`` where imputed).
    """
    contributions = model.contributions(values)
    score = np.interp(model.intercept + contributions.sum(axis=1), model.calibration_x, model.calibration_y)
    order = np.argsort(-np.abs(contributions), axis=1, kind="stable")[:, :evidence_features]
    evidence: list[list[dict[str, Any]]] = []
    for i in range(len(values)):
        items = []
        for j in order[i].tolist():
            value = values[i, j]
            item: dict[str, Any] = {"feature": model.features[j],
                                    "value": None if math.isnan(value) else round(float(value), 6),
                                    "contribution": round(float(contributions[i, j]), 6)}
            if math.isnan(value):
                item["missing"] = True
            items.append(item)
        if feature_names and shown is not None:
            for j, name in enumerate(feature_names):
                value = shown[i, j]
                if not math.isnan(value):
                    items.append({"feature": name, "value": round(float(value), 6), "contribution": 0.0})
        evidence.append(items)
    return score, score >= threshold, evidence


# --------------------------------------------------------------------------- step


def _batches(con: duckdb.DuckDBPyConnection, columns: str, table: str, size: int) -> Iterator[pa.Table]:
    """Keyset batches of ``table`` by its ``_row`` number (the connection stays free for the inserts)."""
    total = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]
    for start in range(0, total, size):
        yield con.sql(f"SELECT {columns} FROM {table} WHERE _row >= {start} AND _row < {start + size} "
                      "ORDER BY _row").to_arrow_table()


def _matrix(batch: pa.Table, names: tuple[str, ...]) -> np.ndarray:
    if not names:
        return np.zeros((batch.num_rows, 0))
    return np.column_stack([batch.column(name).to_numpy(zero_copy_only=False).astype(np.float64)
                            for name in names])


#: Features shown next to the model's own in each account's evidence (telltales the model cannot weigh).
SHOWN_FEATURES: tuple[str, ...] = ("default_avatar", "bio_length", "handle_digits", "account_age_days",
                                   "interval_cv", "duplicate_text_share")


def run_bots(con: duckdb.DuckDBPyConnection, run_id: str, *, model: BotModel | None = None,
             threshold: float = DEFAULT_THRESHOLD, evidence_features: int = DEFAULT_EVIDENCE_FEATURES,
             duplicate_min_chars: int = DUPLICATE_MIN_CHARS, batch_accounts: int = BATCH_ACCOUNTS) -> dict[str, Any]:
    """Compute the features, score every account and persist ``bot_features`` and ``bot_scores``.

    ``bot_scores(run_id, platform, account_id, score, label, evidence JSON)``: ``score`` is the
    calibrated probability, ``label`` is ``score ≥ threshold`` and ``evidence`` lists
    ``{feature, value, contribution}`` (the model's strongest features, then :data:`SHOWN_FEATURES`
    with contribution 0). Accounts are scored in batches of ``batch_accounts``.
    """
    if not 0.0 < threshold < 1.0:
        raise ConfianceError(f"bot threshold must be in (0, 1), got {threshold}")
    model = model or load_model()
    account_features(con, table="_bot_features", duplicate_min_chars=duplicate_min_chars)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {FEATURE_TABLE} AS SELECT ? AS run_id, * FROM _bot_features", [run_id])
        con.execute(f"CREATE OR REPLACE TABLE {SCORE_TABLE} (run_id VARCHAR, platform VARCHAR, account_id VARCHAR, "
                    "score DOUBLE, label BOOLEAN, evidence JSON)")
        columns = ", ".join(dict.fromkeys((*model.features, *SHOWN_FEATURES)))
        rows = 0
        con.execute("CREATE OR REPLACE TEMP TABLE _bot_rows AS "
                    "SELECT row_number() OVER (ORDER BY platform, account_id) - 1 AS _row, * FROM _bot_features")
        for batch in _batches(con, f"platform, account_id, {columns}", "_bot_rows", batch_accounts):
            score, label, evidence = score_features(
                _matrix(batch, model.features), model, threshold=threshold, evidence_features=evidence_features,
                feature_names=SHOWN_FEATURES, shown=_matrix(batch, SHOWN_FEATURES))
            scored = pa.table({
                "platform": batch.column("platform"), "account_id": batch.column("account_id"),
                "score": pa.array(score, pa.float64()), "label": pa.array(label, pa.bool_()),
                "evidence": pa.array([orjson.dumps(e).decode() for e in evidence], pa.string()),
            })
            con.register("_bot_batch", scored)
            try:
                con.execute(f"INSERT INTO {SCORE_TABLE} SELECT ?, platform, account_id, score, label, evidence::JSON "
                            "FROM _bot_batch", [run_id])
            finally:
                con.unregister("_bot_batch")
            rows += batch.num_rows
    finally:
        con.execute("DROP TABLE IF EXISTS _bot_features")
        con.execute("DROP TABLE IF EXISTS _bot_rows")
    likely = con.execute(f"SELECT count(*) FROM {SCORE_TABLE} WHERE label").fetchall()[0][0]
    return {"accounts": rows, "likely_bots": likely}


# --------------------------------------------------------------------------- listing and scoring a file


def bot_listing(con: duckdb.DuckDBPyConnection, *, top: int | None = 50) -> list[dict[str, Any]]:
    """Accounts by decreasing bot probability: ``platform, account_id, handle, score, label, evidence``."""
    if top is not None and top < 1:
        raise ConfianceError("top must be at least 1")
    if not has_table(con, SCORE_TABLE):
        raise ConfianceError("no bot scores yet: run `confiance analyze`")
    rows = con.execute(
        f"SELECT s.platform, s.account_id, a.handle, s.score, s.label, s.evidence FROM {SCORE_TABLE} s "
        "LEFT JOIN (SELECT platform, account_id, any_value(handle) AS handle FROM accounts GROUP BY ALL) a "
        "  USING (platform, account_id) "
        "ORDER BY s.score DESC, s.platform, s.account_id" + (" LIMIT ?" if top is not None else ""),
        [top] if top is not None else [],
    ).fetchall()
    return [{"platform": p, "account_id": a, "handle": h, "score": s, "label": bool(lab),
             "evidence": orjson.loads(e) if isinstance(e, (str, bytes)) else e}
            for p, a, h, s, lab, e in rows]


#: Cells that mean "not measured": empty, and how pandas (NaN), R (NA) and spreadsheets write it.
MISSING_CELLS = frozenset({"", "nan", "na", "n/a", "null", "none", "#n/a"})


def read_feature_csv(path: Path | str, features: tuple[str, ...] = MODEL_FEATURES) -> tuple[list[dict[str, str]], np.ndarray]:
    """Read a table of precomputed account features (``bots score FEATURES.csv``).

    Columns: ``account_id`` (required), ``platform`` (optional), then one column per model feature
    (:data:`MODEL_FEATURES`, meanings in :data:`FEATURES`); other columns are ignored. An empty
    cell, ``NaN`` or ``NA`` (:data:`MISSING_CELLS`) is a missing value. A missing feature column or a value that is not a finite number
    raises :class:`IngestError` naming the file, the line and the column.

    Returns
    -------
    (keys, values): ``[{"platform", "account_id"}]`` and the (n, len(features)) matrix.
    """
    path = Path(path)
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise IngestError(str(path), None, f"cannot read: {exc.strerror or exc}") from exc
    with handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in (reader.fieldnames or [])]
        if not header:
            raise IngestError(str(path), 1, "empty file: expected a header with account_id and the feature columns")
        reader.fieldnames = header
        missing = [name for name in ("account_id", *features) if name not in header]
        if missing:
            raise IngestError(str(path), 1, f"missing column(s) {', '.join(missing)}; "
                                            f"expected account_id, optional platform, and {', '.join(features)}")
        keys: list[dict[str, str]] = []
        rows: list[list[float]] = []
        for record in reader:
            line = reader.line_num
            if None in record:
                raise IngestError(str(path), line, f"more cells than the {len(header)} header columns")
            account = (record.get("account_id") or "").strip()
            if not account:
                raise IngestError(str(path), line, "column account_id: empty")
            row = []
            for name in features:
                cell = (record.get(name) or "").strip()
                if cell.lower() in MISSING_CELLS:
                    row.append(math.nan)
                    continue
                try:
                    value = float(cell)
                except ValueError:
                    raise IngestError(str(path), line, f"column {name}: {cell[:40]!r} is not a number") from None
                if not math.isfinite(value):
                    raise IngestError(str(path), line, f"column {name}: {cell[:40]!r} is not a finite number")
                row.append(value)
            keys.append({"platform": (record.get("platform") or "").strip(), "account_id": account})
            rows.append(row)
    return keys, np.array(rows, dtype=np.float64).reshape(len(rows), len(features))


def score_feature_csv(path: Path | str, *, model: BotModel | None = None, threshold: float = DEFAULT_THRESHOLD,
                      evidence_features: int = DEFAULT_EVIDENCE_FEATURES) -> list[dict[str, Any]]:
    """Score every row of a feature CSV (see :func:`read_feature_csv`), in file order."""
    model = model or load_model()
    keys, values = read_feature_csv(path, model.features)
    score, label, evidence = score_features(values, model, threshold=threshold, evidence_features=evidence_features)
    return [{**key, "score": float(s), "label": bool(lab), "evidence": e}
            for key, s, lab, e in zip(keys, score.tolist(), label.tolist(), evidence)]


def _step(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    return run_bots(con, run_id)


register_step(Step(
    "bots", _step,
    description="bot likelihood per account (calibrated probability of a model trained on Varol-2017 + "
                "Gilani-2017) with the features behind it",
    parameters={"model": MODEL_FILE, "threshold": DEFAULT_THRESHOLD, "evidence_features": DEFAULT_EVIDENCE_FEATURES,
                "duplicate_min_chars": DUPLICATE_MIN_CHARS},
))
