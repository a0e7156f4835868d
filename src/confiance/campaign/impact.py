"""Causal impact of a campaign on a KPI series: a Bayesian structural time-series counterfactual.

The model follows CausalImpact (Brodersen et al. 2015): the response is a local level (optionally
with a trend, a weekly-type seasonal and an AR(1) component) plus a regression on control series
that the campaign did not touch. It is fitted on the pre-period only; its posterior predictive
distribution over the post-period is the counterfactual "what would have happened without the
campaign", and the effect is actual minus counterfactual.

How the uncertainty is carried (what makes the 95% intervals honest):

- the level, trend, seasonal and the regression coefficients are *states* (coefficients with a
  diffuse prior, ``mle_regression=False``), so their posterior given the pre-period is exact
  (Gaussian, Kalman smoother) and is drawn with the Durbin-Koopman simulation smoother over the
  whole series with the post-period response set missing;
- the variance parameters (irregular, level, …) are not fixed at their maximum-likelihood values:
  each draw first draws them from their posterior by random-walk Metropolis on the standard
  deviations. Fixing them at the MLE, as a plain ``get_forecast`` does, gives intervals that are
  too narrow when the pre-period is short;
- the observation noise is added to every simulated point, so the intervals are predictive;
- the interval of the average (and cumulative) effect comes from the joint draws of whole
  counterfactual paths (the mean of each path), not from per-point intervals.

The prior on the level's standard deviation decides how far the counterfactual may drift away from
the controls. CausalImpact's default (sd 0.01 of the standardised response, worth 32 observations)
pins the level nearly still: right when the KPI follows its controls, over-confident when it drifts
away from them. A flat prior is safe on drifting KPIs but, with a short pre-period, cannot rule out a
slowly wandering level even when there is none, and widens every interval. The same guess worth one
observation (``UNIT_LEVEL_PRIOR``, a unit-information prior, Kass & Wasserman 1995) still pulls a
level the data cannot see towards stillness but gives way to a drift the pre-period shows. By
default (``level_prior="holdout"``) the prior
is chosen per series by its posterior predictive score on the held-out end of the pre-period, as
bsts users compare models on one-step prediction errors (Scott & Varian 2014). The held-out part is
as long as the post-period (capped at half the pre-period), so the candidates are judged on
forecasting as far ahead as the effect is measured. Each candidate (``UNIT_LEVEL_PRIOR``, then the
flat prior) is fitted by the same Metropolis sampler on the rest of the pre-period, and scored by
``log mean_d p(holdout | first part, θ_d)``, the Kalman filter's exact Gaussian predictive density
of the held-out points averaged over the posterior draws θ_d.
That score is the log of a partial Bayes factor (O'Hagan 1995; Berger & Pericchi 1996): the first
part of the pre-period turns the improper flat prior into a proper one, so the two priors can be
compared, and the parameter uncertainty of each candidate counts against it. The higher score wins;
a tie keeps the first (tighter) candidate. Below ``MIN_SELECTION_PRE_PERIOD`` observed pre-period
points the flat prior is used.

References
----------
K. H. Brodersen, F. Gallusser, J. Koehler, N. Remy, S. L. Scott (2015). Inferring causal impact using
Bayesian structural time-series models. *Annals of Applied Statistics* 9(1), 247-274.
J. Durbin, S. J. Koopman (2002). A simple and efficient simulation smoother for state space time
series analysis. *Biometrika* 89(3), 603-616.
A. Gelman, G. O. Roberts, W. R. Gilks (1996). Efficient Metropolis jumping rules. *Bayesian
Statistics* 5, 599-607.
A. Gelman (2006). Prior distributions for variance parameters in hierarchical models. *Bayesian
Analysis* 1(3), 515-534.
N. Shephard, A. C. Harvey (1990). On the probability of estimating a deterministic component in the
local level model. *Journal of Time Series Analysis* 11(4), 339-347.
S. L. Scott, H. R. Varian (2014). Predicting the present with Bayesian structural time series.
*International Journal of Mathematical Modelling and Numerical Optimisation* 5(1/2), 4-23.
A. O'Hagan (1995). Fractional Bayes factors for model comparison. *Journal of the Royal Statistical
Society B* 57(1), 99-138.
J. O. Berger, L. R. Pericchi (1996). The intrinsic Bayes factor for model selection and prediction.
*Journal of the American Statistical Association* 91(433), 109-122.
R. E. Kass, L. Wasserman (1995). A reference Bayesian test for nested hypotheses and its relationship
to the Schwarz criterion. *Journal of the American Statistical Association* 90(431), 928-934.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
import warnings
from typing import Any, Sequence

import duckdb
import orjson

import numpy as np
import pyarrow as pa
from scipy.special import logsumexp
from statsmodels.tools.numdiff import approx_hess
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tsa.statespace.structural import UnobservedComponents

from confiance import i18n
from confiance.errors import ConfianceError
from confiance.i18n import N_

__all__ = ["ImpactModel", "ImpactSummary", "RelativeEffect", "ImpactResult", "PriorSelection", "causal_impact",
           "model_description", "store_impact", "prior_name", "ASSUMPTIONS", "CAUSALIMPACT_LEVEL_PRIOR",
           "UNIT_LEVEL_PRIOR", "HOLDOUT"]

#: The assumptions the counterfactual rests on, in plain words (the report and the CLI show them).
ASSUMPTIONS = (
    "The control series were not affected by the campaign (no spillover onto them).",
    "The relationship between the KPI and the controls seen before the campaign would have held after it.",
    "Nothing else that moves the KPI but not the controls happened at the same time as the campaign.",
    "The pre-period is long enough to learn that relationship (the model is fitted on it only).",
)

#: Draws of the counterfactual path; CausalImpact's default number of MCMC samples is 1000.
DEFAULT_DRAWS = 1000
#: The smallest pre-period we accept: below this the variance parameters are not identified.
MIN_PRE_PERIOD = 8
#: Metropolis steps discarded before the draws of the variance parameters are kept.
BURN_IN = 300
#: CausalImpact's default prior on the local level's standard deviation (prior.level.sd = 0.01 of
#: the standardised response, worth 32 observations; Brodersen et al. 2015, R package defaults).
CAUSALIMPACT_LEVEL_PRIOR = (0.01, 32.0)
#: ``level_prior`` value that chooses the prior per series by the pre-period holdout (the default).
HOLDOUT = "holdout"
#: The words of a model's description (stored in English, written again in the report's language).
MODEL_WORDS = (N_("local linear trend"), N_("local level"), N_("seasonal (%(periods)s periods)"), N_("AR(1)"),
               N_("level sd prior chosen on a pre-period holdout"), N_("flat prior on the level sd"),
               N_("level sd prior %(sd)s (weight %(weight)s)"))
#: CausalImpact's guess of the level's sd worth one observation instead of 32: a unit-information
#: prior (Kass & Wasserman 1995) that still pulls a level the data cannot see towards stillness,
#: but lets a drift the pre-period shows widen the interval.
UNIT_LEVEL_PRIOR = (0.01, 1.0)
#: The priors the holdout compares, tightest first (a tie keeps the first).
LEVEL_PRIOR_CANDIDATES: tuple[tuple[float, float] | None, ...] = (UNIT_LEVEL_PRIOR, None)
#: Below this many observed pre-period points the holdout is not attempted and the flat prior is used:
#: the part the candidates are fitted on (at least half) must hold twice ``MIN_PRE_PERIOD`` points.
MIN_SELECTION_PRE_PERIOD = 4 * MIN_PRE_PERIOD
#: Posterior draws of the variance parameters per candidate when scoring the holdout.
SELECTION_DRAWS = 300


@dataclass(frozen=True)
class ImpactModel:
    """The structural model's components.

    ``level`` is the local level (random walk) of CausalImpact's default model; ``trend`` adds a
    local linear trend; ``seasonal`` is the season length (7 for a weekly cycle in daily data, None
    for none); ``autoregressive`` adds an AR(1) component for short-lived shocks. ``level_prior``
    is the prior on the level's sd:

    - ``HOLDOUT`` (default): chosen per series between ``UNIT_LEVEL_PRIOR`` and the flat prior by
      the posterior predictive score of the end of the pre-period, as long as the post-period
      (module docstring). It picks ``UNIT_LEVEL_PRIOR`` on the published ARMA example, whose level
      does not move; calibration figures in ``benchmarks/impact_calibration.py``;
    - ``None``: flat on the sd. Calibrated on drifting KPIs (coverage 0.965, placebo false
      positives 3%) but wide when the controls explain everything (ARMA: 4.56 [2.92, 5.84]).
      The default, measured the same way: coverage 0.955, false positives 4.5%, ARMA 4.77
      [4.11, 5.41];
    - (guess of the level's sd in units of the standardised response, weight in observations), an
      inverse-gamma prior. ``CAUSALIMPACT_LEVEL_PRIOR`` (0.01, 32) is the R package's default: it
      keeps the level nearly still and reproduces the published intervals, but is too confident
      when the KPI drifts away from its controls (benchmark coverage 0.70-0.80).
    """

    trend: bool = False
    seasonal: int | None = None
    autoregressive: bool = False
    level_prior: tuple[float, float] | str | None = HOLDOUT

    def __post_init__(self) -> None:
        if self.seasonal is not None and self.seasonal < 2:
            raise ConfianceError(f"a season lasts at least 2 periods (7 for a weekly cycle in daily data), not {self.seasonal}")
        prior = self.level_prior
        if isinstance(prior, str):
            if prior != HOLDOUT:
                raise ConfianceError(f"level prior {prior!r}: use {HOLDOUT!r}, None (flat) or (sd guess, weight)")
        elif prior is not None and (len(prior) != 2 or not (prior[0] > 0 and prior[1] > 0)):
            raise ConfianceError(f"level prior {prior!r}: the sd guess and the weight must both be positive")

    def describe(self) -> str:
        trend, level, seasonal, ar, holdout, flat, prior_of = MODEL_WORDS
        parts = [trend if self.trend else level]
        if self.seasonal:
            parts.append(seasonal % {"periods": self.seasonal})
        if self.autoregressive:
            parts.append(ar)
        if self.level_prior == HOLDOUT:
            prior = holdout
        elif self.level_prior is None:
            prior = flat
        else:
            prior = prior_of % {"sd": f"{self.level_prior[0]:g}", "weight": f"{self.level_prior[1]:g}"}
        return " + ".join(parts) + f", {prior}"


def model_description(text: str) -> str:
    """A description :meth:`ImpactModel.describe` stored (English) in the language of :func:`i18n.using`."""
    components, _, prior = text.rpartition(", ")
    if not components:
        return i18n.written_again(text, MODEL_WORDS)
    parts = [i18n.written_again(part, MODEL_WORDS) for part in components.split(" + ")]
    return " + ".join(parts) + ", " + i18n.written_again(prior, MODEL_WORDS)


def prior_name(prior: tuple[float, float] | None) -> str:
    """How results and the CLI name a level prior: flat, causalimpact or "sd G weight W"."""
    if prior is None:
        return "flat"
    if tuple(prior) == CAUSALIMPACT_LEVEL_PRIOR:
        return "causalimpact"
    return f"sd {prior[0]:g} weight {prior[1]:g}"


@dataclass(frozen=True)
class PriorSelection:
    """How the level prior was chosen: the candidates' holdout scores (log predictive density of
    the held-out points, nats; higher is better), the points fitted on and held out, and the
    winner. ``scores`` is empty when the pre-period was too short to hold a part out."""

    chosen: tuple[float, float] | None
    scores: dict[str, float]
    fitted_points: int
    holdout_points: int

    def as_dict(self) -> dict[str, Any]:
        return {"rule": "pre-period holdout", "chosen": prior_name(self.chosen), "scores": self.scores,
                "fitted_points": self.fitted_points, "holdout_points": self.holdout_points}


@dataclass(frozen=True)
class ImpactSummary:
    """One line of the summary: actual, counterfactual prediction and effect, with 95% intervals."""

    actual: float
    predicted: float
    predicted_lower: float
    predicted_upper: float
    effect: float
    lower: float
    upper: float

    def as_dict(self) -> dict[str, float]:
        return {"actual": self.actual, "predicted": self.predicted, "predicted_lower": self.predicted_lower,
                "predicted_upper": self.predicted_upper, "effect": self.effect, "lower": self.lower,
                "upper": self.upper}


@dataclass(frozen=True)
class RelativeEffect:
    """The cumulative effect over the cumulative counterfactual (0.04 = +4%), with its 95% interval."""

    effect: float
    lower: float
    upper: float

    def as_dict(self) -> dict[str, float]:
        return {"effect": self.effect, "lower": self.lower, "upper": self.upper}


@dataclass
class ImpactResult:
    """The counterfactual and the effects.

    Per time point (arrays over the whole series; the pre-period's prediction is the in-sample
    posterior predictive, the post-period's the counterfactual): ``actual``, ``predicted``,
    ``predicted_lower/upper``, ``point_effect`` with ``point_lower/upper``, and the running
    ``cumulative_effect`` (zero before the intervention) with its interval. ``average`` and
    ``cumulative`` summarise the post-period; ``relative`` is the cumulative effect divided by the
    cumulative counterfactual (its interval from the same draws). ``p`` is CausalImpact's posterior
    tail-area probability: the share of draws (the actual included) at least as extreme, on the side
    of the observed effect, as the observed post-period sum. ``significant`` says whether the 95%
    interval of the average effect excludes zero. ``model`` is the model as fitted (its level prior
    resolved); ``prior_selection`` says how the level prior was chosen (None when it was given).
    """

    times: list[str]
    intervention: int
    response: str
    controls: list[str]
    model: ImpactModel
    actual: np.ndarray
    predicted: np.ndarray
    predicted_lower: np.ndarray
    predicted_upper: np.ndarray
    point_effect: np.ndarray
    point_lower: np.ndarray
    point_upper: np.ndarray
    cumulative_effect: np.ndarray
    cumulative_lower: np.ndarray
    cumulative_upper: np.ndarray
    average: ImpactSummary
    cumulative: ImpactSummary
    relative: RelativeEffect
    p: float
    draws: int
    seed: int
    parameters: dict[str, float] = field(default_factory=dict)
    coefficients: dict[str, float] = field(default_factory=dict)
    converged: bool = True
    acceptance_rate: float = float("nan")
    prior_selection: PriorSelection | None = None

    @property
    def significant(self) -> bool:
        return self.average.lower > 0 or self.average.upper < 0

    def summary(self) -> dict:
        """The CLI's JSON: average, cumulative, relative (each with actual, predicted, effect,
        lower, upper), p, and what was fitted."""
        return {"series": self.response, "controls": self.controls, "model": self.model.describe(),
                "intervention": {"index": self.intervention, "time": self.times[self.intervention]},
                "pre_period": [self.times[0], self.times[self.intervention - 1]],
                "post_period": [self.times[self.intervention], self.times[-1]],
                "average": self.average.as_dict(), "cumulative": self.cumulative.as_dict(),
                "relative": self.relative.as_dict(), "p": self.p, "significant": self.significant,
                "draws": self.draws, "seed": self.seed, "parameters": self.parameters,
                "coefficients": self.coefficients, "converged": self.converged,
                "acceptance_rate": self.acceptance_rate,
                "level_prior_selection": None if self.prior_selection is None else self.prior_selection.as_dict()}


def _standardise(values: np.ndarray, pre: int) -> tuple[np.ndarray, float, float]:
    head = values[:pre]
    head = head[np.isfinite(head)]
    centre = float(head.mean())
    scale = float(head.std(ddof=1)) if len(head) > 1 else 0.0
    return (values - centre) / (scale if scale > 0 else 1.0), centre, (scale if scale > 0 else 1.0)


def _validate(y: np.ndarray, controls: np.ndarray | None, names: list[str], intervention: int) -> None:
    n = len(y)
    if y.ndim != 1:
        raise ConfianceError("the response must be one series")
    if not 0 < intervention < n:
        raise ConfianceError(f"intervention index {intervention} is outside the series (0..{n - 1}): "
                             "both a pre-period and a post-period are needed")
    pre_obs = int(np.isfinite(y[:intervention]).sum())
    if pre_obs < MIN_PRE_PERIOD:
        raise ConfianceError(f"the pre-period has {pre_obs} observed points; at least {MIN_PRE_PERIOD} are needed")
    if not np.isfinite(y[intervention:]).all():
        raise ConfianceError("the response has missing values after the intervention")
    if controls is None:
        return
    if controls.shape[0] != n:
        raise ConfianceError(f"the controls have {controls.shape[0]} rows, the response {n}")
    for j, name in enumerate(names):
        column = controls[:, j]
        if not np.isfinite(column).all():
            bad = int(np.flatnonzero(~np.isfinite(column))[0])
            raise ConfianceError(f"control {name!r} has a missing value at index {bad}; controls must be complete")
        if np.ptp(column[:intervention]) == 0:
            raise ConfianceError(f"control {name!r} is constant over the pre-period; it cannot explain the response")


def _log_prior(model: UnobservedComponents, unconstrained: np.ndarray, level_prior: tuple[float, float] | None) -> float:
    """Flat on the standard deviations, except CausalImpact's inverse-gamma prior on the level's."""
    if level_prior is None:
        return 0.0
    guess, sample_size = level_prior
    sd = abs(unconstrained[model.param_names.index("sigma2.level")])
    if sd == 0:
        return -np.inf
    shape, rate = sample_size / 2, sample_size * guess ** 2 / 2
    # σ² ~ InvGamma(shape, rate), written for σ (Jacobian 2σ)
    return float(-(2 * shape + 1) * np.log(sd) - rate / sd ** 2)


def _variance_posterior(model: UnobservedComponents, mle: np.ndarray, draws: int, rng: np.random.Generator,
                        level_prior: tuple[float, float] | None) -> tuple[np.ndarray, float]:
    """Draws of the variance parameters from their posterior by random-walk Metropolis.

    The chain runs on statsmodels' unconstrained parameters (the standard deviations, sign free),
    from the maximum-likelihood point, with a normal proposal of covariance 2.38²/d times the
    inverse Hessian of the log-posterior there (Gelman, Roberts & Gilks 1996), after ``BURN_IN``
    steps. The prior is flat on the standard deviations (Gelman 2006) unless ``level_prior`` gives
    CausalImpact's inverse-gamma prior on the level variance. A Laplace (normal) approximation
    would be too tight when a variance's estimate sits near zero, as the level's often does
    (Shephard & Harvey 1990), and the intervals would under-cover. Returns the draws (absolute
    values) and the acceptance rate.
    """
    def log_posterior(u: np.ndarray) -> float:
        prior = _log_prior(model, u, level_prior)
        if not np.isfinite(prior):
            return -np.inf
        value = model.loglike(model.transform_params(u)) + prior
        return float(value) if np.isfinite(value) else -np.inf

    current = model.untransform_params(mle)
    if level_prior is not None:  # start inside the prior's support
        at = model.param_names.index("sigma2.level")
        current[at] = max(abs(current[at]), level_prior[0])
    hessian = approx_hess(current, log_posterior)
    k = len(current)
    try:
        cov = np.linalg.inv(-hessian)
        cov = (cov + cov.T) / 2
        np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        # a flat direction: fall back to the diagonal, which keeps each variance free to move
        cov = np.diag(1.0 / np.maximum(np.abs(np.diag(hessian)), 1e-8))
    chol = np.linalg.cholesky(cov * 2.38 ** 2 / k)
    level = log_posterior(current)
    out = np.empty((draws, k))
    accepted = 0
    steps = rng.standard_normal((BURN_IN + draws, k)) @ chol.T
    uniforms = np.log(rng.random(BURN_IN + draws))
    for step in range(BURN_IN + draws):
        proposal = current + steps[step]
        proposed = log_posterior(proposal)
        if uniforms[step] < proposed - level:
            current, level = proposal, proposed
            accepted += step >= BURN_IN
        if step >= BURN_IN:
            out[step - BURN_IN] = current
    return np.abs(out), accepted / draws


def _posterior_draws(model: UnobservedComponents, mle: np.ndarray, draws: int, rng: np.random.Generator,
                     level_prior: tuple[float, float] | None) -> tuple[np.ndarray, float]:
    """Predictive draws of the standardised response (draws × n) and the Metropolis acceptance rate."""
    theta, acceptance = _variance_posterior(model, mle, draws, rng, level_prior)
    irregular = model.param_names.index("sigma2.irregular")
    n = model.nobs
    out = np.empty((draws, n))
    smoother = None
    for d in range(draws):
        params = model.transform_params(theta[d])
        model.update(params)
        smoother = model.simulation_smoother(rng=rng) if smoother is None else smoother
        smoother.simulate()
        state = smoother.simulated_state
        design = model["design"]
        signal = (np.einsum("ikt,kt->t", design, state) if design.ndim == 3 else (design @ state)[0])
        out[d] = signal + rng.normal(0.0, np.sqrt(params[irregular]), n)
    return out, acceptance


def causal_impact(y: Sequence[float], intervention: int, controls: np.ndarray | None = None, *,
                  times: Sequence[str] | None = None, response: str = "y",
                  control_names: Sequence[str] | None = None, model: ImpactModel = ImpactModel(),
                  draws: int = DEFAULT_DRAWS, seed: int = 0) -> ImpactResult:
    """Estimate the effect of an intervention on ``y`` against a structural counterfactual.

    Parameters
    ----------
    y : the response series (missing values allowed before the intervention only).
    intervention : index of the first post-period point.
    controls : (n, k) control series, complete; unaffected by the intervention (the key assumption).
    times : labels of the points (dates); default their index.
    response, control_names : names used in the result.
    model : components of the structural model (default: CausalImpact's local level + regression).
    draws : counterfactual paths drawn (each with its own variance parameters).
    seed : random seed; the same inputs and seed give the same result.

    Returns
    -------
    ImpactResult

    References
    ----------
    Brodersen et al. (2015), *Annals of Applied Statistics* 9(1) 247-274 (model, tail-area p).
    Durbin & Koopman (2002), *Biometrika* 89(3) 603-616 (simulation smoother).

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> x = 100 + np.cumsum(rng.normal(0, 1, 100))
    >>> y = 1.2 * x + rng.normal(0, 1, 100)
    >>> y[70:] += 5
    >>> result = causal_impact(y, 70, x[:, None], draws=200)
    >>> result.average.lower < 5 < result.average.upper
    True
    """
    values = np.asarray(y, dtype=float)
    x = None if controls is None else np.asarray(controls, dtype=float)
    if x is not None and x.ndim == 1:
        x = x[:, None]
    names = list(control_names) if control_names is not None else (
        [] if x is None else [f"x{j}" for j in range(x.shape[1])])
    if x is not None and x.shape[1] == 0:
        x, names = None, []
    _validate(values, x, names, intervention)
    if draws < 100:
        raise ConfianceError(f"draws={draws} is too few for 95% intervals; use at least 100")
    n = len(values)
    labels = [str(t) for t in times] if times is not None else [str(i) for i in range(n)]
    scaled, centre, scale = _standardise(values, intervention)
    masked = scaled.copy()
    masked[intervention:] = np.nan
    exog = None
    if x is not None:
        exog = np.column_stack([_standardise(x[:, j], intervention)[0] for j in range(x.shape[1])])
    rng = np.random.default_rng(seed)
    selection = None
    if model.level_prior == HOLDOUT:
        selection = _select_level_prior(scaled[:intervention], None if exog is None else exog[:intervention],
                                        model, n - intervention, rng)
        model = replace(model, level_prior=selection.chosen)
    ucm = _structural(masked, exog, model)
    fitted = _fit(ucm)
    scaled_draws, acceptance = _posterior_draws(ucm, np.asarray(fitted.params), draws, rng, model.level_prior)
    paths = scaled_draws * scale + centre

    post = slice(intervention, n)
    actual_post = values[post]
    effects = actual_post[None, :] - paths[:, post]
    cum_paths = np.cumsum(effects, axis=1)
    average = _summary(actual_post.mean(), paths[:, post].mean(axis=1))
    cumulative = _summary(actual_post.sum(), paths[:, post].sum(axis=1))
    rel = effects.sum(axis=1) / paths[:, post].sum(axis=1)
    relative = RelativeEffect(effect=float(cumulative.effect / cumulative.predicted),
                              lower=float(np.quantile(rel, 0.025)), upper=float(np.quantile(rel, 0.975)))
    sums = paths[:, post].sum(axis=1)
    observed = actual_post.sum()
    extreme = min(int((sums >= observed).sum()) + 1, int((sums <= observed).sum()) + 1)
    p = extreme / (draws + 1)

    lo, hi = np.quantile(paths, [0.025, 0.975], axis=0)
    point = values - paths.mean(axis=0)
    zeros = np.zeros(intervention)
    cum_lo, cum_hi = np.quantile(cum_paths, [0.025, 0.975], axis=0)
    coefficients = {}
    if x is not None:
        betas = np.asarray(fitted.smoothed_state[-x.shape[1]:, -1]) if x.shape[1] else []
        x_scales = [_standardise(x[:, j], intervention)[2] for j in range(x.shape[1])]
        coefficients = {name: float(b * scale / s) for name, b, s in zip(names, betas, x_scales)}
    return ImpactResult(
        times=labels, intervention=intervention, response=response, controls=names, model=model,
        actual=values, predicted=paths.mean(axis=0), predicted_lower=lo, predicted_upper=hi,
        point_effect=point, point_lower=values - hi, point_upper=values - lo,
        cumulative_effect=np.concatenate([zeros, cum_paths.mean(axis=0)]),
        cumulative_lower=np.concatenate([zeros, cum_lo]), cumulative_upper=np.concatenate([zeros, cum_hi]),
        average=average, cumulative=cumulative, relative=relative, p=float(p), draws=draws, seed=seed,
        parameters={name: float(v * scale ** 2) if name.startswith("sigma2") else float(v)
                    for name, v in zip(ucm.param_names, fitted.params)},
        coefficients=coefficients, converged=bool(fitted.mle_retvals.get("converged", True)),
        acceptance_rate=acceptance, prior_selection=selection)


def _structural(values: np.ndarray, exog: np.ndarray | None, model: ImpactModel) -> UnobservedComponents:
    return UnobservedComponents(values, level="lltrend" if model.trend else "llevel", exog=exog,
                                mle_regression=False, seasonal=model.seasonal,
                                autoregressive=1 if model.autoregressive else None)


def _select_level_prior(pre: np.ndarray, exog: np.ndarray | None, model: ImpactModel, horizon: int,
                        rng: np.random.Generator) -> PriorSelection:
    """Choose the level prior among ``LEVEL_PRIOR_CANDIDATES`` on the held-out end of the pre-period.

    The last ``horizon`` points (the post-period's length, at most half the pre-period) are held
    out. Each candidate's variance parameters are drawn from their posterior given the (standardised)
    points before them; the held-out points are scored by the log of the average,
    over the draws, of its exact predictive density given the first part (the Kalman filter's
    one-step densities over the held-out points, whose product is their joint density). This is
    the log partial Bayes factor of O'Hagan (1995) and Berger & Pericchi (1996) up to a constant
    shared by the candidates; the highest score wins, a tie keeps the earlier (tighter) candidate.
    """
    n = len(pre)
    first = n - min(horizon, n // 2)
    observed = np.isfinite(pre)
    if observed.sum() < MIN_SELECTION_PRE_PERIOD or observed[:first].sum() < 2 * MIN_PRE_PERIOD \
            or not observed[first:].any():
        return PriorSelection(chosen=None, scores={}, fitted_points=int(observed.sum()), holdout_points=0)
    part = _structural(pre[:first], None if exog is None else exog[:first], model)
    whole = _structural(pre, exog, model)
    start = np.asarray(_fit(part).params)
    scores: dict[str, float] = {}
    best, best_score = None, -np.inf
    for prior in LEVEL_PRIOR_CANDIDATES:
        theta, _ = _variance_posterior(part, start, SELECTION_DRAWS, rng, prior)
        held_out = np.array([whole.loglikeobs(whole.transform_params(t))[first:].sum() for t in theta])
        score = float(logsumexp(held_out) - np.log(len(held_out)))
        scores[prior_name(prior)] = score
        if score > best_score:
            best, best_score = prior, score
    return PriorSelection(chosen=best, scores=scores, fitted_points=int(observed[:first].sum()),
                          holdout_points=int(observed[first:].sum()))


def _fit(ucm: UnobservedComponents):
    """Maximum likelihood; when L-BFGS stops short, Nelder-Mead from its point, then L-BFGS again."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = ucm.fit(disp=False, maxiter=500)
        if not fitted.mle_retvals.get("converged", True):
            rough = ucm.fit(start_params=fitted.params, method="nm", maxiter=4000, disp=False)
            fitted = ucm.fit(start_params=rough.params, disp=False, maxiter=500)
    return fitted


def _summary(actual: float, predicted_draws: np.ndarray) -> ImpactSummary:
    """Actual vs the counterfactual draws of the same statistic (mean or sum over the post-period)."""
    lo, hi = np.quantile(predicted_draws, [0.025, 0.975])
    predicted = float(predicted_draws.mean())
    return ImpactSummary(actual=float(actual), predicted=predicted, predicted_lower=float(lo),
                         predicted_upper=float(hi), effect=float(actual - predicted),
                         lower=float(actual - hi), upper=float(actual - lo))


def store_impact(con: duckdb.DuckDBPyConnection, run_id: str, result: ImpactResult) -> dict[str, Any]:
    """Persist a result: one row in ``impact_results`` and its points in ``impact_points`` (replacing
    any earlier result for the same series)."""
    con.execute("CREATE TABLE IF NOT EXISTS impact_results (run_id VARCHAR, series VARCHAR, controls VARCHAR[], "
                "model VARCHAR, intervention_index INTEGER, intervention VARCHAR, average_actual DOUBLE, "
                "average_predicted DOUBLE, average_effect DOUBLE, average_lower DOUBLE, average_upper DOUBLE, "
                "cumulative_actual DOUBLE, cumulative_predicted DOUBLE, cumulative_effect DOUBLE, "
                "cumulative_lower DOUBLE, cumulative_upper DOUBLE, relative_effect DOUBLE, relative_lower DOUBLE, "
                "relative_upper DOUBLE, p DOUBLE, draws INTEGER, seed BIGINT, summary JSON)")
    con.execute("CREATE TABLE IF NOT EXISTS impact_points (run_id VARCHAR, series VARCHAR, idx INTEGER, ts VARCHAR, "
                "actual DOUBLE, predicted DOUBLE, predicted_lower DOUBLE, predicted_upper DOUBLE, "
                "point_effect DOUBLE, point_lower DOUBLE, point_upper DOUBLE, cumulative_effect DOUBLE, "
                "cumulative_lower DOUBLE, cumulative_upper DOUBLE)")
    for table in ("impact_results", "impact_points"):
        con.execute(f"DELETE FROM {table} WHERE series = ?", [result.response])
    a, c, r = result.average, result.cumulative, result.relative
    con.execute("INSERT INTO impact_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [run_id, result.response, result.controls, result.model.describe(), result.intervention,
                 result.times[result.intervention], a.actual, a.predicted, a.effect, a.lower, a.upper, c.actual,
                 c.predicted, c.effect, c.lower, c.upper, r.effect, r.lower, r.upper, result.p, result.draws,
                 result.seed, orjson.dumps(result.summary()).decode()])
    points = pa.table({
        "idx": np.arange(len(result.times), dtype=np.int32), "ts": result.times,
        **{name: np.asarray(getattr(result, name), dtype=float) for name in (
            "actual", "predicted", "predicted_lower", "predicted_upper", "point_effect", "point_lower",
            "point_upper", "cumulative_effect", "cumulative_lower", "cumulative_upper")}})
    con.register("_impact_points", points)
    try:
        con.execute("INSERT INTO impact_points SELECT ?, ?, * FROM _impact_points", [run_id, result.response])
    finally:
        con.unregister("_impact_points")
    return {"series": result.response, "points": len(result.times)}
