"""Survey waves: weighted shares and means per segment with intervals, pre/post change, and the
exposed vs unexposed comparison (raw and adjusted for segment).

Estimates are design-weighted (Hájek ratio estimators, Σ w·y / Σ w). Their variance is the
Taylor-linearisation (with-replacement) variance of a ratio, n/(n-1) · Σ (w_i (y_i - ŷ))² / (Σ w)²
(Lohr 2019, §9.1; Wolter 2007, ch. 6); the 95% interval is normal. Each row also gives Kish's
effective sample size (Σ w)² / Σ w², the number of unweighted respondents the weighted sample is
worth (Kish 1965).

Comparisons:

- ``post - pre``: change between two waves (independent cross-sections: variances add);
- ``exposed - unexposed``: within a wave, raw; confounded when exposure is self-selected;
- ``exposed - unexposed, segment-adjusted``: the within-segment differences averaged with the
  exposed respondents' weights per segment (exact stratification on segment, an estimate of the
  effect on the exposed when segment is the only confounder; Imbens & Rubin 2015, ch. 9).

References
----------
L. Kish (1965). *Survey Sampling*. Wiley.
K. M. Wolter (2007). *Introduction to Variance Estimation*, 2nd ed. Springer.
S. L. Lohr (2019). *Sampling: Design and Analysis*, 2nd ed. CRC Press.
G. W. Imbens, D. B. Rubin (2015). *Causal Inference for Statistics, Social, and Biomedical Sciences*. CUP.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from confiance.errors import ConfianceError
from confiance.i18n import N_
from confiance.pipeline import Step, register_step
from confiance.store import has_table

__all__ = ["WeightedEstimate", "weighted_estimate", "survey_shares", "survey_changes", "wave_order",
           "run_surveys"]

Z95 = 1.959963984540054
ALL = "all"
#: The comparisons of the post wave (stored in English, translated where shown); a wave difference is named
#: by its waves ("W2 - W1").
EXPOSED_COMPARISON = N_("exposed - unexposed")
ADJUSTED_COMPARISON = N_("exposed - unexposed, segment-adjusted")


@dataclass(frozen=True)
class WeightedEstimate:
    estimate: float
    lower: float
    upper: float
    variance: float
    respondents: int
    effective_n: float


def weighted_estimate(values: np.ndarray, weights: np.ndarray) -> WeightedEstimate:
    """Weighted mean (a share when ``values`` are 0/1) with its linearised variance and Kish n_eff."""
    y = np.asarray(values, float)
    w = np.asarray(weights, float)
    n = len(y)
    if n == 0 or w.sum() <= 0:
        return WeightedEstimate(np.nan, np.nan, np.nan, np.nan, n, 0.0)
    total = w.sum()
    estimate = float((w * y).sum() / total)
    variance = float(n / (n - 1) * ((w * (y - estimate)) ** 2).sum() / total ** 2) if n > 1 else np.nan
    half = Z95 * np.sqrt(variance) if n > 1 else np.nan
    return WeightedEstimate(estimate, estimate - half, estimate + half, variance, n, float(total ** 2 / (w ** 2).sum()))


def _prepare(frame: pd.DataFrame) -> pd.DataFrame:
    need = {"wave", "respondent", "question", "answer", "segment", "weight", "exposed"}
    missing = sorted(need - set(frame.columns))
    if missing:
        raise ConfianceError(f"the survey table lacks column(s) {missing}")
    data = frame.copy()
    data["weight"] = pd.to_numeric(data["weight"], errors="coerce").fillna(1.0)
    if (data["weight"] < 0).any():
        bad = data.loc[data["weight"] < 0, "respondent"].iloc[0]
        raise ConfianceError(f"respondent {bad!r} has a negative weight")
    data["segment"] = data["segment"].fillna("unknown").astype(str)
    # an empty answer (NULL: the respondent gave none) is item non-response: left out of the
    # question's estimates (available-case analysis), not counted as an answer category
    data = data[data["answer"].notna()]
    data["answer"] = data["answer"].astype(str).str.strip()
    return data[data["answer"] != ""]


def _outcomes(answers: pd.Series) -> list[tuple[str, str | None, np.ndarray]]:
    """(kind, answer category, values): a mean for numeric answers, else one share per category."""
    numeric = pd.to_numeric(answers, errors="coerce")
    if numeric.notna().all():
        return [("mean", None, numeric.to_numpy(float))]
    return [("share", category, (answers == category).to_numpy(float)) for category in sorted(answers.unique())]


def _cells(data: pd.DataFrame) -> list[tuple[str, str, pd.DataFrame]]:
    cells = [(ALL, ALL, data)]
    cells += [(str(s), ALL, part) for s, part in data.groupby("segment", sort=True)]
    for flag, part in data.groupby("exposed", sort=True):
        label = "exposed" if bool(flag) else "unexposed"
        cells.append((ALL, label, part))
        cells += [(str(s), label, sub) for s, sub in part.groupby("segment", sort=True)]
    return cells


def survey_shares(frame: pd.DataFrame) -> pd.DataFrame:
    """Weighted estimates per question × answer × wave × segment × exposure ('all' = pooled).

    Columns: question, kind (mean | share), answer (None for means), wave, segment, exposed,
    estimate, lower, upper, respondents, effective_n.
    """
    data = _prepare(frame)
    rows = []
    for question, qdata in data.groupby("question", sort=True):
        for kind, category, values in _outcomes(qdata["answer"]):
            qv = qdata.assign(_y=values)
            for wave, wdata in qv.groupby("wave", sort=True):
                for segment, exposed, cell in _cells(wdata):
                    e = weighted_estimate(cell["_y"].to_numpy(), cell["weight"].to_numpy())
                    rows.append({"question": question, "kind": kind, "answer": category, "wave": str(wave),
                                 "segment": segment, "exposed": exposed, "estimate": e.estimate, "lower": e.lower,
                                 "upper": e.upper, "respondents": e.respondents, "effective_n": e.effective_n})
    return pd.DataFrame(rows)


def _difference(a: WeightedEstimate, b: WeightedEstimate) -> tuple[float, float, float]:
    diff = a.estimate - b.estimate
    half = Z95 * np.sqrt(a.variance + b.variance)
    return diff, diff - half, diff + half


def _exposure(data: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(exposed, unexposed) masks: a respondent whose exposure is unknown (empty cell) is in neither."""
    known = data["exposed"].notna()
    flags = data["exposed"].where(known, False).astype(bool)
    return flags & known, ~flags & known


def _adjusted(post: pd.DataFrame) -> tuple[float, float, float] | None:
    """Within-segment exposed - unexposed differences, averaged with the exposed weights per segment."""
    parts = []
    for _, seg in post.groupby("segment", sort=True):
        is_exposed, is_unexposed = _exposure(seg)
        exposed, unexposed = seg[is_exposed], seg[is_unexposed]
        if len(exposed) < 2 or len(unexposed) < 2:
            continue
        a = weighted_estimate(exposed["_y"].to_numpy(), exposed["weight"].to_numpy())
        b = weighted_estimate(unexposed["_y"].to_numpy(), unexposed["weight"].to_numpy())
        parts.append((exposed["weight"].sum(), a.estimate - b.estimate, a.variance + b.variance))
    if not parts:
        return None
    total = sum(p[0] for p in parts)
    estimate = sum(p[0] * p[1] for p in parts) / total
    variance = sum((p[0] / total) ** 2 * p[2] for p in parts)
    half = Z95 * np.sqrt(variance)
    return estimate, estimate - half, estimate + half


_FIRST_WAVES = ("pre", "baseline", "before", "avant", "t0")
_LAST_WAVES = ("post", "endline", "after", "apres", "après")


def wave_order(waves: list[str]) -> list[str]:
    """Waves in time order: baseline names (pre, baseline, before, avant) first, follow-up names (post,
    after, après) last, the others by their number when they carry one ('wave 2' before 'wave 10')."""
    def key(name: str) -> tuple[int, int, str]:
        low = name.strip().lower()
        rank = 0 if low in _FIRST_WAVES else 2 if low in _LAST_WAVES else 1
        digits = "".join(ch for ch in low if ch.isdigit())
        return rank, int(digits) if digits else -1, low
    return sorted(waves, key=key)


def survey_changes(frame: pd.DataFrame, pre: str | None = None, post: str | None = None) -> pd.DataFrame:
    """Comparisons per question × answer: ``post - pre`` (pooled and per segment), and in the post
    wave ``exposed - unexposed`` raw and segment-adjusted. Waves default to the first and last in
    :func:`wave_order`. Columns: question, kind, answer, comparison, segment, estimate, lower, upper."""
    data = _prepare(frame)
    waves = wave_order(list(data["wave"].astype(str).unique()))
    pre = pre or (waves[0] if waves else None)
    post = post or (waves[-1] if waves else None)
    for name, wave in (("pre", pre), ("post", post)):
        if wave not in waves:
            raise ConfianceError(f"survey wave {wave!r} ({name}) is not in the data; waves: {', '.join(waves)}")
    rows = []
    for question, qdata in data.groupby("question", sort=True):
        for kind, category, values in _outcomes(qdata["answer"]):
            qv = qdata.assign(_y=values)
            before, after = qv[qv["wave"].astype(str) == pre], qv[qv["wave"].astype(str) == post]

            def add(comparison: str, segment: str, result: tuple[float, float, float] | None) -> None:
                if result is not None:
                    rows.append({"question": question, "kind": kind, "answer": category, "comparison": comparison,
                                 "segment": segment, "estimate": result[0], "lower": result[1], "upper": result[2]})

            if pre != post:
                for segment in [ALL] + sorted(after["segment"].unique()):
                    a = after if segment == ALL else after[after["segment"] == segment]
                    b = before if segment == ALL else before[before["segment"] == segment]
                    if len(a) > 1 and len(b) > 1:
                        add(f"{post} - {pre}", segment,
                            _difference(weighted_estimate(a["_y"].to_numpy(), a["weight"].to_numpy()),
                                        weighted_estimate(b["_y"].to_numpy(), b["weight"].to_numpy())))
            flags, unexposed = _exposure(after)
            if flags.sum() > 1 and unexposed.sum() > 1:
                add(EXPOSED_COMPARISON, ALL,
                    _difference(weighted_estimate(after.loc[flags, "_y"].to_numpy(), after.loc[flags, "weight"].to_numpy()),
                                weighted_estimate(after.loc[unexposed, "_y"].to_numpy(),
                                                  after.loc[unexposed, "weight"].to_numpy())))
                add(ADJUSTED_COMPARISON, ALL, _adjusted(after))
    return pd.DataFrame(rows, columns=["question", "kind", "answer", "comparison", "segment", "estimate", "lower",
                                       "upper"])


def run_surveys(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    """Persist ``survey_shares`` and ``survey_changes`` from the ``surveys`` table."""
    frame = con.execute("SELECT wave, respondent, question, answer, segment, weight, exposed FROM surveys").df()
    if frame.empty:
        return {"skipped": "no survey rows"}
    shares, changes = survey_shares(frame), survey_changes(frame)
    for table, data in (("survey_shares", shares), ("survey_changes", changes)):
        con.register("_survey_rows", data)
        try:
            con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT ?::VARCHAR AS run_id, * FROM _survey_rows", [run_id])
        finally:
            con.unregister("_survey_rows")
    return {"shares": len(shares), "changes": len(changes)}


def _step(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    if not has_table(con, "surveys"):
        return {"skipped": "no surveys table"}
    return run_surveys(con, run_id)


register_step(Step(
    "surveys", _step,
    description="survey waves: weighted shares per segment with linearised 95% intervals, pre/post change, "
                "exposed vs unexposed (raw and segment-adjusted)",
    parameters={"interval": "normal, Taylor linearisation of the ratio estimator", "pre": "first wave",
                "post": "last wave"},
))
