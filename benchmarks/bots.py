"""Bot likelihood: cross-dataset transfer on the labelled public data, and the simulated world.

1. Cross-dataset (Varol-2017 ↔ Gilani-2017, ``bot-repo-varol-gilani-features/weka_data.csv``; ids
   in both sets left out): train on one dataset, test on the other, print F1 (at the probability
   chosen on the training folds, and at 0.5), precision, recall and AUC. The goal is F1 ≥ 0.78 on
   Gilani-2017; the best published feature-based figure is 77.4. Rows:

   - ``shipped``: the shipped method (logistic regression + isotonic calibration) on the 12
     features our tables can compute;
   - ``gbt-12``: gradient-boosted trees on the same 12 features (a model-choice check);
   - ``lr-16`` / ``gbt-16``: both models on all 16 labelled columns, including the four our tables
     cannot compute (geo_enabled, protected, background image, favourites_count): the ceiling of
     this data, not something confiance can ship.

   Model choices and thresholds are made on the training dataset only (thresholds: out-of-fold F1
   optimum); nothing is tuned on the test dataset.
2. Simulated world (seed 3, 2,000 accounts, 30,000 posts, as the tests): features from our tables,
   the shipped model, AUC against the planted bots per platform and pooled, and precision/recall of
   the p ≥ 0.5 label.

    PYTHONPATH=src nice -n 10 python benchmarks/bots.py [--seed 0] [--skip-world]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from confiance.integrity import bots
from confiance.integrity.bot_training import cross_dataset, load_labelled

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real" / "bot-repo-varol-gilani-features"
ALL_COLUMNS = ("num_tweets", "retweet_ratio", "hashtag_ratio", "quote_ratio", "tweet_favorite_ratio",
               "tweet_retweet_ratio", "mention_ratio", "friend_follower_ratio", "url_ratio", "listed_count",
               "verified", "geo_enabled", "protected", "profile_uses_background_image", "favourites_count",
               "tweet_frequency_variance")
LOG_COLUMNS = {"num_tweets", "tweet_favorite_ratio", "tweet_retweet_ratio", "friend_follower_ratio",
               "listed_count", "favourites_count", "tweet_frequency_variance"}


def _all_columns(labelled) -> np.ndarray:
    import pandas as pd

    weka = pd.read_csv(DATA / "weka_data.csv", skipinitialspace=True, dtype={"user_id": str})
    weka = weka.drop_duplicates("user_id", keep="first").set_index("user_id").loc[list(labelled.user_id)]
    columns = []
    for name in ALL_COLUMNS:
        raw = weka[name]
        if raw.dtype == object or str(raw.dtype) in ("bool", "str", "string"):
            columns.append(raw.astype(str).str.strip().eq("True").to_numpy(np.float64))
        else:
            values = raw.to_numpy(np.float64)
            columns.append(np.log1p(values) if name in LOG_COLUMNS else values)
    return np.column_stack(columns)


def _oof_threshold(probability: np.ndarray, y: np.ndarray) -> float:
    candidates = np.unique(probability)
    f1 = [2 * (y & (probability >= t)).sum() / max(y.sum() + (probability >= t).sum(), 1) for t in candidates]
    return float(candidates[int(np.argmax(f1))])


def _sklearn_transfer(kind: str, values: np.ndarray, labelled, seed: int) -> dict[str, dict[str, float]]:
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score
    from sklearn.model_selection import cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    def model():
        if kind == "rf":  # Yang et al. (2020)'s model family: a random forest on account metadata
            return RandomForestClassifier(n_estimators=300, min_samples_leaf=5, class_weight="balanced",
                                          random_state=seed)
        if kind == "gbt":
            return GradientBoostingClassifier(n_estimators=200, max_depth=3, learning_rate=0.05, subsample=0.8,
                                              random_state=seed)
        return make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=5000))

    out = {}
    for name, train_set, test_set in (("varol->gilani", "varol-2017", "gilani-2017"),
                                      ("gilani->varol", "gilani-2017", "varol-2017")):
        train, test = labelled.dataset == train_set, labelled.dataset == test_set
        y_train, y_test = labelled.is_bot[train], labelled.is_bot[test]
        oof = cross_val_predict(model(), values[train], y_train, cv=5, method="predict_proba")[:, 1]
        threshold = _oof_threshold(oof, y_train)
        probability = model().fit(values[train], y_train).predict_proba(values[test])[:, 1]
        predicted = probability >= threshold
        out[name] = {"f1": f1_score(y_test, predicted), "precision": precision_score(y_test, predicted),
                     "recall": recall_score(y_test, predicted), "auc": roc_auc_score(y_test, probability),
                     "threshold": threshold, "f1_at_0.5": f1_score(y_test, probability >= 0.5)}
    return out


def cross_dataset_table(seed: int) -> None:
    labelled = load_labelled(DATA)
    print(f"labelled accounts: {len(labelled.user_id)} ({labelled.is_bot.sum()} bots); "
          f"varol-2017 {np.sum(labelled.dataset == 'varol-2017')}, gilani-2017 {np.sum(labelled.dataset == 'gilani-2017')}")
    rows = {"shipped (LR+isotonic, 12 mapped)": cross_dataset(labelled, seed=seed),
            "gbt-12 (same 12 features)": _sklearn_transfer("gbt", labelled.values, labelled, seed),
            "rf-12 (same 12 features)": _sklearn_transfer("rf", np.nan_to_num(labelled.values), labelled, seed)}
    every = _all_columns(labelled)
    rows["lr-16 (all labelled columns)"] = _sklearn_transfer("lr", every, labelled, seed)
    rows["gbt-16 (all labelled columns)"] = _sklearn_transfer("gbt", every, labelled, seed)
    print(f"\n{'model':36s} {'direction':15s} {'F1':>6s} {'F1@0.5':>7s} {'prec':>6s} {'recall':>6s} {'AUC':>6s} {'thr':>5s}")
    for model, result in rows.items():
        for direction, r in result.items():
            print(f"{model:36s} {direction:15s} {r['f1']:6.3f} {r['f1_at_0.5']:7.3f} {r['precision']:6.3f} "
                  f"{r['recall']:6.3f} {r['auc']:6.3f} {r['threshold']:5.2f}")
    f1 = rows["shipped (LR+isotonic, 12 mapped)"]["varol->gilani"]["f1"]
    print(f"\ngoal: F1 ≥ 0.78 on Gilani-2017 (trained on Varol-2017); shipped method {f1:.3f} "
          f"({f1 / 0.774:.2f} × the published 77.4)")
    in_domain_ceiling(labelled, every, seed)


def in_domain_ceiling(labelled, every: np.ndarray, seed: int) -> None:
    """What these features can reach on a dataset when trained on that same dataset: 5-fold
    cross-validation, with the F1 threshold picked on the very predictions it is scored on. Both
    choices favour the figure, so a model trained on the other dataset is not expected to beat it."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score, roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    models = {"lr": lambda: make_pipeline(StandardScaler(), LogisticRegression(class_weight="balanced", max_iter=5000)),
              "rf": lambda: RandomForestClassifier(n_estimators=300, min_samples_leaf=5, class_weight="balanced",
                                                   random_state=seed)}
    print("\nin-domain ceiling (5-fold CV on the dataset itself, best F1 threshold on those same predictions):")
    for dataset in ("gilani-2017", "varol-2017"):
        mask = labelled.dataset == dataset
        y = labelled.is_bot[mask]
        for features, values in (("12 mapped", np.nan_to_num(labelled.values[mask])), ("16 labelled", every[mask])):
            for name, model in models.items():
                folds = StratifiedKFold(5, shuffle=True, random_state=seed)
                probability = cross_val_predict(model(), values, y, cv=folds, method="predict_proba")[:, 1]
                best = f1_score(y, probability >= _oof_threshold(probability, y))
                print(f"  {dataset} {features:11s} {name}: F1 {best:.3f}, AUC {roc_auc_score(y, probability):.3f}")


def simulated_world(seed: int) -> None:
    from sklearn.metrics import roc_auc_score

    from confiance.ingest import ingest_paths
    from confiance.pipeline import analyze
    from confiance.simulate import simulate_world
    from confiance.workspace import Workspace

    with tempfile.TemporaryDirectory() as tmp:
        world = Path(tmp) / "world"
        simulate_world(world, seed=3, accounts=2000, posts=30000)
        ws = Workspace.init(Path(tmp) / "ws")
        ingest_paths(ws, [world / "x", world / "bluesky", world / "mastodon"])
        started = time.perf_counter()
        analyze(ws, ["bots"])
        seconds = time.perf_counter() - started
        truth = json.loads((world / "truth.json").read_text())
        planted = {(b["platform"], b["account_id"]) for b in truth["bots"]}
        with ws.reader() as con:
            rows = con.execute(
                f"SELECT f.platform, f.account_id, s.score, s.label, {', '.join(bots.MODEL_FEATURES)} "
                "FROM bot_features f JOIN bot_scores s USING (platform, account_id)").fetchall()
    model = bots.load_model()
    platform = np.array([r[0] for r in rows])
    y = np.array([(r[0], r[1]) in planted for r in rows])
    label = np.array([r[3] for r in rows], dtype=bool)
    log_odds = model.log_odds(np.array([[np.nan if v is None else v for v in r[4:]] for r in rows], dtype=float))
    print(f"\nsimulated world (seed 3): {len(rows)} accounts, {y.sum()} planted bots; bots step {seconds:.2f} s")
    for name in (*sorted(set(platform)), "pooled"):
        mask = np.ones(len(rows), bool) if name == "pooled" else platform == name
        auc = roc_auc_score(y[mask], log_odds[mask])
        precision = (y & label & mask).sum() / max((label & mask).sum(), 1)
        recall = (y & label & mask).sum() / max((y & mask).sum(), 1)
        print(f"  {name:9s} AUC {auc:.3f}  p≥0.5: flagged {(label & mask).sum():4d}, precision {precision:.3f}, "
              f"recall {recall:.3f}")
    print("goal: AUC ≥ 0.95 against planted bots (pooled)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-world", action="store_true")
    args = parser.parse_args()
    cross_dataset_table(args.seed)
    if not args.skip_world:
        simulated_world(args.seed)


if __name__ == "__main__":
    main()
