"""Training the bot model on labelled public accounts (used by ``scripts/train_bots.py``, the
benchmark and the tests; never at analysis time).

Data: ``bot-repo-varol-gilani-features/`` (jyono/bot-or-not, Nov 2019): ``weka_data.csv`` holds 16
features of 4,410 labelled accounts computed from their profile and last ≤ 100 tweets (v1.1 API);
``varol-2017.csv`` and ``gilani-2017.tsv`` tell which dataset each id comes from.

Mapping onto :data:`confiance.integrity.bots.FEATURES` (the same transform on both sides):

==============================  =======================================================
our feature                     labelled column
==============================  =======================================================
``posts_count_log``             log(1 + ``num_tweets``)
``repost_ratio``                ``retweet_ratio``
``quote_ratio``                 ``quote_ratio``
``hashtags_per_post``           ``hashtag_ratio`` (hashtags per tweet; up to 10.2)
``mentions_per_post``           ``mention_ratio`` (mentions per tweet)
``urls_per_post``               ``url_ratio`` (links per tweet; up to 2.0)
``likes_per_post_log``          log(1 + ``tweet_favorite_ratio``)
``reposts_per_post_log``        log(1 + ``tweet_retweet_ratio``)
``following_follower_ratio_log`` log(1 + ``friend_follower_ratio``)
``listed_log``                  log(1 + ``listed_count``)
``verified``                    ``verified``
``interval_variance_log``       log(1 + ``tweet_frequency_variance``) (seconds²)
==============================  =======================================================

Left out, because our canonical tables do not carry them: ``geo_enabled``, ``protected``,
``profile_uses_background_image``, ``favourites_count`` (likes *given* by the account). The
features of our tables that the labelled data lacks are not trained (see :mod:`confiance.integrity.bots`).

Model: logistic regression (L2, ``C``) on standardised features with balanced class weights (values
clipped at run time to the training range, ``low``/``high``); the
probability is calibrated by isotonic regression fitted on out-of-fold log-odds (stratified
``folds``-fold cross-validation), then the regression is refitted on all rows. Same data and seed,
same bytes (:func:`model_bytes`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from confiance.errors import ConfianceError
from confiance.integrity.bots import MODEL_FEATURES, BotModel

__all__ = ["LABELLED_MAPPING", "Labelled", "cross_dataset", "evaluate", "fit_model", "load_labelled", "model_bytes"]

#: our feature → (labelled column, transform)
LABELLED_MAPPING: dict[str, tuple[str, str]] = {
    "posts_count_log": ("num_tweets", "log1p"),
    "repost_ratio": ("retweet_ratio", "identity"),
    "quote_ratio": ("quote_ratio", "identity"),
    "hashtags_per_post": ("hashtag_ratio", "identity"),
    "mentions_per_post": ("mention_ratio", "identity"),
    "urls_per_post": ("url_ratio", "identity"),
    "likes_per_post_log": ("tweet_favorite_ratio", "log1p"),
    "reposts_per_post_log": ("tweet_retweet_ratio", "log1p"),
    "following_follower_ratio_log": ("friend_follower_ratio", "log1p"),
    "listed_log": ("listed_count", "log1p"),
    "verified": ("verified", "boolean"),
    "interval_variance_log": ("tweet_frequency_variance", "log1p"),
}
DEFAULT_C = 1.0
DEFAULT_FOLDS = 5
DEFAULT_SEED = 0


@dataclass(frozen=True)
class Labelled:
    """Labelled accounts mapped onto our features."""

    user_id: np.ndarray  # str
    dataset: np.ndarray  # "varol-2017" | "gilani-2017" | "both"
    values: np.ndarray  # (n, len(features))
    is_bot: np.ndarray  # bool
    features: tuple[str, ...]

    def subset(self, mask: np.ndarray) -> "Labelled":
        return Labelled(self.user_id[mask], self.dataset[mask], self.values[mask], self.is_bot[mask], self.features)


def _read_ids(path: Path, sep: str) -> set[str]:
    ids = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        cell = line.strip().split(sep)[0].strip() if line.strip() else ""
        if cell:
            ids.add(cell)
    return ids


def load_labelled(directory: Path | str, features: tuple[str, ...] = MODEL_FEATURES) -> Labelled:
    """Read ``weka_data.csv`` (+ the two id files) and map it with :data:`LABELLED_MAPPING`.

    Duplicate user ids keep their first row (the file repeats 19 ids).
    """
    import pandas as pd

    directory = Path(directory)
    weka = pd.read_csv(directory / "weka_data.csv", skipinitialspace=True, dtype={"user_id": str})
    unknown = [f for f in features if f not in LABELLED_MAPPING]
    if unknown:
        raise ConfianceError(f"no labelled column maps onto {unknown}")
    weka = weka.drop_duplicates("user_id", keep="first").reset_index(drop=True)
    columns = []
    for name in features:
        column, transform = LABELLED_MAPPING[name]
        raw = weka[column]
        if transform == "boolean":
            columns.append(raw.astype(str).str.strip().eq("True").to_numpy(np.float64))
        elif transform == "log1p":
            columns.append(np.log1p(raw.to_numpy(np.float64)))
        else:
            columns.append(raw.to_numpy(np.float64))
    varol = _read_ids(directory / "varol-2017.csv", ",")
    gilani = _read_ids(directory / "gilani-2017.tsv", "\t")
    ids = weka["user_id"].astype(str).str.strip().to_numpy()
    in_v = np.isin(ids, list(varol))
    in_g = np.isin(ids, list(gilani))
    dataset = np.where(in_v & in_g, "both", np.where(in_v, "varol-2017", np.where(in_g, "gilani-2017", "other")))
    is_bot = weka["class"].astype(str).str.strip().eq("True").to_numpy()
    return Labelled(ids, dataset, np.column_stack(columns), is_bot, tuple(features))


def fit_model(values: np.ndarray, is_bot: np.ndarray, features: tuple[str, ...] = MODEL_FEATURES, *,
              C: float = DEFAULT_C, folds: int = DEFAULT_FOLDS, seed: int = DEFAULT_SEED,
              metadata: dict[str, Any] | None = None) -> BotModel:
    """Standardised logistic regression + isotonic calibration on out-of-fold log-odds.

    References
    ----------
    Zadrozny, B., Elkan, C. (2002). Transforming classifier scores into accurate multiclass
    probability estimates. KDD 2002.
    """
    from sklearn.isotonic import IsotonicRegression
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    values = np.asarray(values, dtype=np.float64)
    y = np.asarray(is_bot, dtype=bool)
    mean = values.mean(axis=0)
    scale = values.std(axis=0)
    scale[scale == 0] = 1.0
    standard = (values - mean) / scale

    def regression() -> LogisticRegression:
        return LogisticRegression(C=C, class_weight="balanced", max_iter=5000)

    out_of_fold = np.zeros(len(y))
    for train, held in StratifiedKFold(folds, shuffle=True, random_state=seed).split(standard, y):
        out_of_fold[held] = regression().fit(standard[train], y[train]).decision_function(standard[held])
    isotonic = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(out_of_fold, y.astype(float))
    final = regression().fit(standard, y)
    # the probability that maximises F1 on the training folds (a choice made without the test data)
    calibrated = isotonic.predict(out_of_fold)
    candidates = np.unique(calibrated)
    f1 = [2 * (y & (calibrated >= t)).sum() / max(y.sum() + (calibrated >= t).sum(), 1) for t in candidates]
    f1_threshold = float(candidates[int(np.argmax(f1))])
    return BotModel(
        features=tuple(features), mean=mean, scale=scale, low=values.min(axis=0), high=values.max(axis=0), coef=final.coef_[0].astype(np.float64),
        intercept=float(final.intercept_[0]),
        calibration_x=np.asarray(isotonic.X_thresholds_, np.float64),
        calibration_y=np.asarray(isotonic.y_thresholds_, np.float64),
        metadata={"model": "logistic regression (L2, balanced) + isotonic calibration on out-of-fold log-odds",
                  "C": C, "folds": folds, "seed": seed, "f1_threshold": f1_threshold, "rows": int(len(y)), "bots": int(y.sum()),
                  **(metadata or {})},
    )


def model_bytes(model: BotModel) -> bytes:
    """The model file: sorted-key, indented JSON (same model, same bytes)."""
    return orjson.dumps(model.to_json(), option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"


def evaluate(model: BotModel, values: np.ndarray, is_bot: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """F1, precision, recall at ``threshold`` and ROC AUC (on the uncalibrated log-odds: no ties)."""
    from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score

    y = np.asarray(is_bot, dtype=bool)
    predicted = model.probability(values) >= threshold
    return {
        "f1": float(f1_score(y, predicted)),
        "precision": float(precision_score(y, predicted, zero_division=0)),
        "recall": float(recall_score(y, predicted)),
        "auc": float(roc_auc_score(y, model.log_odds(values))),
        "accounts": int(len(y)),
        "bots": int(y.sum()),
    }


def cross_dataset(labelled: Labelled, *, seed: int = DEFAULT_SEED, C: float = DEFAULT_C) -> dict[str, dict[str, float]]:
    """Train on Varol-2017, test on Gilani-2017, and the reverse (ids in both datasets are left out).

    F1 is taken at the probability that maximised F1 on the training set's out-of-fold
    predictions (``metadata["f1_threshold"]``); ``f1_at_0.5`` is the even-odds label.
    """
    varol = labelled.subset(labelled.dataset == "varol-2017")
    gilani = labelled.subset(labelled.dataset == "gilani-2017")
    out = {}
    for name, train, test in (("varol->gilani", varol, gilani), ("gilani->varol", gilani, varol)):
        model = fit_model(train.values, train.is_bot, labelled.features, seed=seed, C=C)
        chosen = evaluate(model, test.values, test.is_bot, model.metadata["f1_threshold"])
        out[name] = {**chosen, "threshold": model.metadata["f1_threshold"],
                     "f1_at_0.5": evaluate(model, test.values, test.is_bot)["f1"]}
    return out
