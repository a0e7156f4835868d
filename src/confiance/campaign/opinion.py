"""Did the campaign move opinion? Difference-in-differences on the stance of exposed vs unexposed
accounts, with matched controls and cluster-robust intervals.

Input is a per-account-per-period stance table (the ``account_stance`` contract: platform,
account_id, period, stance in [-1, 1], n_posts), whoever produced it: the stance classifier's
output, or planted labels in a simulated world. Periods before the intervention form the pre
period, the others the post period; an account's stance per side is the post-weighted mean of its
periods. Only accounts observed on both sides enter (the design compares each account with itself).

Estimator:

1. **Matching** (Stuart 2010): each exposed account gets its ``neighbours`` nearest unexposed
   accounts (with replacement) on standardised pre-period activity (log of pre-period posts), exactly
   within ``exact`` columns (by default the platform). Matching on the pre-period *stance level* is
   off by default: with noisy account stances it makes the controls regress to their mean after
   the intervention and biases the estimate (Daw & Hatfield 2018); ``match_on_stance=True`` turns it on.
2. **Two-period DiD regression** (Angrist & Pischke 2009, ch. 5): stance ~ post + exposed +
   post×exposed, weighted (exposed 1, a control 1/neighbours per match), standard errors clustered
   by account (Bertrand, Duflo & Mullainathan 2004): the coefficient of post×exposed is the effect
   on the exposed, with its 95% interval.

The campaign's own accounts (its authors since the intervention and the owners named in the
markers: :func:`confiance.campaign.exposure.campaign_side`) are on neither arm: they are not exposed
to the campaign but run it, and as controls their own shift toward the brand would cancel the effect.

The identifying assumption, said plainly in the report: without the campaign, exposed and matched
unexposed accounts would have changed their stance by the same amount (parallel trends), and the
campaign did not reach the controls (no spillover).

References
----------
E. A. Stuart (2010). Matching methods for causal inference: a review and a look forward.
*Statistical Science* 25(1), 1-21.
J. R. Daw, L. A. Hatfield (2018). Matching and regression to the mean in difference-in-differences
analysis. *Health Services Research* 53(6), 4138-4156.
M. Bertrand, E. Duflo, S. Mullainathan (2004). How much should we trust differences-in-differences
estimates? *Quarterly Journal of Economics* 119(1), 249-275.
J. D. Angrist, J.-S. Pischke (2009). *Mostly Harmless Econometrics*. Princeton University Press.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable

import duckdb
import numpy as np
import orjson
import pandas as pd
import statsmodels.api as sm

from confiance.campaign.exposure import CampaignMarkers, campaign_exposure, campaign_side
from confiance.errors import ConfianceError
from confiance.store import has_table

__all__ = ["DidResult", "account_stance_periods", "stance_did", "run_opinion"]

STANCE_SCORE = {"favour": 1.0, "favor": 1.0, "neutral": 0.0, "against": -1.0}
#: Fewer accounts than this on either arm and the cluster-robust interval is not trustworthy.
MIN_ACCOUNTS = 10


@dataclass
class DidResult:
    """The effect of exposure on stance (post-minus-pre change of the exposed minus that of their
    matched controls) with its cluster-robust 95% interval, and what it rests on."""

    effect: float
    lower: float
    upper: float
    std_error: float
    p_value: float
    exposed_accounts: int
    control_accounts: int
    candidate_controls: int
    means: dict[str, float]
    balance: dict[str, dict[str, float]]
    matched_on: list[str]
    exact: list[str]
    matches: pd.DataFrame = field(repr=False)

    def summary(self) -> dict[str, Any]:
        return {"effect": self.effect, "lower": self.lower, "upper": self.upper, "std_error": self.std_error,
                "p": self.p_value, "exposed_accounts": self.exposed_accounts,
                "control_accounts": self.control_accounts, "candidate_controls": self.candidate_controls,
                "means": self.means, "balance": self.balance, "matched_on": self.matched_on, "exact": self.exact}


def account_stance_periods(labels: pd.DataFrame, period: str = "W") -> pd.DataFrame:
    """Per-post stance labels → the ``account_stance`` shape (platform, account_id, period, stance,
    n_posts). ``labels`` has platform, account_id, created_at and stance as a number in [-1, 1] or
    a label (favour / neutral / against); ``period`` is a pandas period frequency (weeks by default)."""
    need = {"platform", "account_id", "created_at", "stance"}
    missing = sorted(need - set(labels.columns))
    if missing:
        raise ConfianceError(f"stance labels lack column(s) {missing}")
    frame = labels[list(need)].copy()
    if not pd.api.types.is_numeric_dtype(frame["stance"]):
        unknown = sorted(set(frame["stance"].dropna().astype(str)) - set(STANCE_SCORE))
        if unknown:
            raise ConfianceError(f"unknown stance label(s) {unknown[:5]}; expected favour, neutral or against")
        frame["stance"] = frame["stance"].map(STANCE_SCORE).astype(float)
    frame = frame.dropna(subset=["stance"])
    when = pd.to_datetime(frame["created_at"], utc=True)
    frame["period"] = when.dt.tz_localize(None).dt.to_period(period).dt.start_time
    out = (frame.groupby(["platform", "account_id", "period"], sort=True)
           .agg(stance=("stance", "mean"), n_posts=("stance", "size")).reset_index())
    return out


#: the named sides a stance table may carry: 'pre'/'post', or `confiance stance --split-date`'s before/after
NAMED_SIDES = {"pre": 0, "before": 0, "post": 1, "after": 1}
_ISO_WEEK = r"\d{4}-W\d{2}"


def _post_side(periods: pd.Series, intervention: Any) -> pd.Series:
    """1 for a period after the intervention, 0 before. Periods are named sides (:data:`NAMED_SIDES`),
    ISO weeks ('2025-W14', what ``confiance stance --by week`` writes) or times (period starts)."""
    text = periods.astype(str)
    if text.isin(list(NAMED_SIDES)).all():
        return text.map(NAMED_SIDES).astype(int)
    if intervention is None:
        raise ConfianceError("the stance periods are times: give the intervention time")
    cut = pd.Timestamp(intervention)
    cut = cut.tz_localize("UTC") if cut.tzinfo is None else cut
    try:
        if text.str.fullmatch(_ISO_WEEK).all():
            when = pd.to_datetime(text + "-1", format="%G-W%V-%u", utc=True)  # the Monday that starts the week
        else:
            when = pd.to_datetime(periods, utc=True, format="ISO8601")
    except (ValueError, TypeError):
        raise ConfianceError(f"stance periods such as {str(periods.iloc[0])!r} are neither 'pre'/'post' "
                             "nor times: run `confiance stance TARGET.yaml --by week` (or --split-date DATE)"
                             ) from None
    # a period that starts before the intervention but contains it is pre: it is mostly unexposed
    return (when >= cut).astype(int)


def _sides(panel: pd.DataFrame, intervention: Any) -> pd.DataFrame:
    need = {"platform", "account_id", "period", "stance", "n_posts"}
    missing = sorted(need - set(panel.columns))
    if missing:
        raise ConfianceError(f"the stance table lacks column(s) {missing}")
    frame = panel[(panel["n_posts"] > 0) & (panel["period"].astype(str) != "unknown")].copy()
    frame["post"] = _post_side(frame["period"], intervention)
    frame["weighted"] = frame["stance"] * frame["n_posts"]
    sides = (frame.groupby(["platform", "account_id", "post"]).agg(weighted=("weighted", "sum"), n=("n_posts", "sum"))
             .reset_index())
    sides["stance"] = sides["weighted"] / sides["n"]
    wide = sides.pivot_table(index=["platform", "account_id"], columns="post", values=["stance", "n"])
    wide.columns = [f"{name}_{'post' if side else 'pre'}" for name, side in wide.columns]
    needed = ["stance_pre", "stance_post", "n_pre", "n_post"]
    for column in needed:
        if column not in wide.columns:
            raise ConfianceError("the stance table has no period on one side of the intervention")
    return wide.dropna(subset=needed).reset_index()


def _match(treated: pd.DataFrame, pool: pd.DataFrame, features: list[str], exact: list[str],
           neighbours: int) -> pd.DataFrame:
    """Nearest unexposed neighbours (with replacement, ties kept) per exposed account, within exact cells."""
    scale = pd.concat([treated[features], pool[features]]).std(ddof=0).replace(0, 1.0)
    rows = []
    groups = treated.groupby(exact, sort=True) if exact else [((), treated)]
    for key, cell in groups:
        candidates = pool
        if exact:
            key = key if isinstance(key, tuple) else (key,)
            mask = np.ones(len(pool), bool)
            for column, value in zip(exact, key):
                mask &= (pool[column] == value).to_numpy()
            candidates = pool[mask]
        if len(candidates) == 0:
            continue
        a = (cell[features] / scale).to_numpy()
        b = (candidates[features] / scale).to_numpy()
        distance = ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)
        k = min(neighbours, len(candidates))
        kth = np.partition(distance, k - 1, axis=1)[:, k - 1]
        for i, row in enumerate(cell.itertuples(index=False)):
            # ties at the k-th distance all count, sharing the weight (activity counts tie often)
            chosen = np.flatnonzero(distance[i] <= kth[i] + 1e-12)
            for j in chosen:
                control = candidates.iloc[int(j)]
                rows.append({"platform": row.platform, "account_id": row.account_id,
                             "control_platform": control["platform"], "control_account_id": control["account_id"],
                             "distance": float(np.sqrt(distance[i, j])), "weight": 1.0 / len(chosen)})
    return pd.DataFrame(rows, columns=["platform", "account_id", "control_platform", "control_account_id",
                                       "distance", "weight"])


def _smd(treated: pd.Series, control: pd.Series, weights: np.ndarray | None = None) -> float:
    """Standardised mean difference (Stuart 2010): difference of means over the pooled sd."""
    mean_c = np.average(control, weights=weights) if len(control) else np.nan
    pooled = np.sqrt((treated.var(ddof=0) + control.var(ddof=0)) / 2)
    return float((treated.mean() - mean_c) / pooled) if pooled > 0 else 0.0


def stance_did(panel: pd.DataFrame, exposed: Iterable[tuple[str, str]], intervention: Any = None, *,
               neighbours: int = 3, match_on_stance: bool = False, exact: tuple[str, ...] = ("platform",),
               covariates: pd.DataFrame | None = None) -> DidResult:
    """Difference-in-differences of account stance, exposed vs matched unexposed accounts.

    Parameters
    ----------
    panel : account_stance rows (platform, account_id, period, stance, n_posts); ``period`` either
        named sides ('pre'/'post', 'before'/'after'), ISO weeks ('2025-W14') or times, compared with ``intervention``.
    exposed : (platform, account_id) of the exposed accounts.
    intervention : first time of the post period (unused when periods are 'pre'/'post').
    neighbours : controls per exposed account (with replacement; Stuart 2010 §3.1).
    match_on_stance : also match on the pre-period stance (see the module docstring for the bias).
    exact : columns matched exactly (of the panel's accounts or of ``covariates``).
    covariates : extra per-account columns (platform, account_id, …) usable in ``exact``.

    Returns
    -------
    DidResult

    References
    ----------
    Stuart (2010); Daw & Hatfield (2018); Bertrand, Duflo & Mullainathan (2004).
    """
    sides = _sides(panel, intervention)
    if covariates is not None:
        sides = sides.merge(covariates, on=["platform", "account_id"], how="left")
    missing = [c for c in exact if c not in sides.columns]
    if missing:
        raise ConfianceError(f"exact-matching column(s) {missing} are neither in the stance table nor the covariates")
    keys = set(map(tuple, exposed))
    sides["exposed"] = [(p, a) in keys for p, a in zip(sides["platform"], sides["account_id"])]
    sides["activity"] = np.log1p(sides["n_pre"])
    features = ["activity"] + (["stance_pre"] if match_on_stance else [])
    treated, pool = sides[sides["exposed"]], sides[~sides["exposed"]]
    if len(treated) < MIN_ACCOUNTS or len(pool) < MIN_ACCOUNTS:
        raise ConfianceError(f"{len(treated)} exposed and {len(pool)} unexposed accounts have stance on both sides "
                             f"of the intervention; at least {MIN_ACCOUNTS} of each are needed")
    matches = _match(treated, pool, features, list(exact), neighbours)
    if matches.empty:
        raise ConfianceError("no exposed account found an unexposed match within its exact-matching cell")
    control_weights = (matches.groupby(["control_platform", "control_account_id"])["weight"].sum()
                       .rename_axis(["platform", "account_id"]).rename("w").reset_index())
    matched_treated = treated.merge(matches[["platform", "account_id"]].drop_duplicates(), on=["platform", "account_id"])
    controls = pool.merge(control_weights, on=["platform", "account_id"])
    matched_treated = matched_treated.assign(w=1.0)
    units = pd.concat([matched_treated, controls], ignore_index=True)
    long = pd.concat([units.assign(post=0, stance=units["stance_pre"]), units.assign(post=1, stance=units["stance_post"])],
                     ignore_index=True)
    long["treated"] = long["exposed"].astype(float)
    long["post_treated"] = long["post"] * long["treated"]
    design = sm.add_constant(long[["post", "treated", "post_treated"]].astype(float))
    cluster = pd.factorize(long["platform"] + "\x00" + long["account_id"])[0]
    fit = sm.WLS(long["stance"].astype(float), design, weights=long["w"]).fit(cov_type="cluster",
                                                                             cov_kwds={"groups": cluster})
    low, high = fit.conf_int().loc["post_treated"]

    def weighted_mean(frame: pd.DataFrame, column: str) -> float:
        return float(np.average(frame[column], weights=frame["w"]))

    means = {"exposed_pre": weighted_mean(matched_treated, "stance_pre"),
             "exposed_post": weighted_mean(matched_treated, "stance_post"),
             "control_pre": weighted_mean(controls, "stance_pre"), "control_post": weighted_mean(controls, "stance_post")}
    balance = {name: {"before": _smd(treated[name], pool[name]),
                      "after": _smd(matched_treated[name], controls[name], controls["w"].to_numpy())}
               for name in ("activity", "stance_pre")}
    return DidResult(effect=float(fit.params["post_treated"]), lower=float(low), upper=float(high),
                     std_error=float(fit.bse["post_treated"]), p_value=float(fit.pvalues["post_treated"]),
                     exposed_accounts=len(matched_treated), control_accounts=len(controls),
                     candidate_controls=len(pool), means=means, balance=balance, matched_on=features,
                     exact=list(exact), matches=matches)


def run_opinion(con: duckdb.DuckDBPyConnection, run_id: str, markers: CampaignMarkers, intervention: datetime, *,
                target: str | None = None, neighbours: int = 3) -> dict[str, Any]:
    """Exposure from the graph, then :func:`stance_did` on the ``account_stance`` table; persists
    ``campaign_exposure`` (exposed accounts with the campaign posts they saw), ``opinion_results``
    (one row) and ``opinion_matches`` (each exposed account's controls). Matching is exact on the
    platform, and on the community when the ``communities`` table exists. The campaign's own accounts
    (:func:`campaign_side`) are left out of both arms."""
    targets = ([r[0] for r in con.execute("SELECT DISTINCT target FROM account_stance ORDER BY 1").fetchall()]
               if has_table(con, "account_stance") else [])
    if not targets:  # stance is not an `analyze` step: it needs a target file
        raise ConfianceError("no account stance yet: run `confiance stance TARGET.yaml --by week` first "
                             "(a target whose posts are found)")
    if target is None:
        if len(targets) != 1:
            raise ConfianceError(f"account_stance has targets {targets}; choose one with --target")
        target = targets[0]
    elif target not in targets:
        raise ConfianceError(f"no stance toward {target!r}; targets: {', '.join(map(str, targets)) or 'none'}")
    panel = con.execute("SELECT platform, account_id, period, stance, n_posts FROM account_stance WHERE target = ?",
                        [target]).df()
    exposure = campaign_exposure(con, markers, since=intervention)
    side = set(campaign_side(con, markers, since=intervention)[["platform", "account_id"]].itertuples(index=False, name=None))
    on_side = np.array([(p, a) in side for p, a in zip(panel["platform"], panel["account_id"])], dtype=bool)
    left_out = int(panel.loc[on_side, ["platform", "account_id"]].drop_duplicates().shape[0])
    panel = panel[~on_side]
    covariates, exact = None, ("platform",)
    if has_table(con, "communities"):
        covariates = con.execute("SELECT platform, account_id, community FROM communities").df()
        exact = ("platform", "community")
    result = stance_did(panel, zip(exposure["platform"], exposure["account_id"]), intervention,
                        neighbours=neighbours, exact=exact, covariates=covariates)
    summary = {"target": target, "intervention": str(intervention), "exposed_by_graph": len(exposure),
               "campaign_accounts_left_out": left_out, **result.summary()}
    con.register("_exposure_rows", exposure)
    con.register("_match_rows", result.matches)
    try:
        con.execute("CREATE OR REPLACE TABLE campaign_exposure AS SELECT ?::VARCHAR AS run_id, platform, account_id, "
                    "first_exposed_at, channels::VARCHAR[] AS channels, evidence_post_ids::VARCHAR[] AS evidence_post_ids, "
                    "exposures FROM _exposure_rows", [run_id])
        con.execute("CREATE OR REPLACE TABLE opinion_matches AS SELECT ?::VARCHAR AS run_id, * FROM _match_rows", [run_id])
        con.execute("CREATE OR REPLACE TABLE opinion_results AS SELECT ?::VARCHAR AS run_id, ?::VARCHAR AS target, "
                    "?::DOUBLE AS effect, ?::DOUBLE AS lower, ?::DOUBLE AS upper, ?::DOUBLE AS p, "
                    "?::INTEGER AS exposed_accounts, ?::INTEGER AS control_accounts, ?::JSON AS summary",
                    [run_id, target, result.effect, result.lower, result.upper, result.p_value,
                     result.exposed_accounts, result.control_accounts, orjson.dumps(summary, default=str).decode()])
    finally:
        con.unregister("_exposure_rows")
        con.unregister("_match_rows")
    return summary
