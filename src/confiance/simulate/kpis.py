"""Daily KPI series with a planted campaign effect, and control series that share their
seasonality and trend but not the effect (the setting of Brodersen et al. 2015, *Inferring causal
impact using Bayesian structural time-series models*)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from confiance.simulate.model import BASE_MS, DAYS, INTERVENTION_DAY

#: (series, unit, base level, loading on the common factor, noise sd, effect per day after the intervention)
TREATED = (("site_visits", "visits", 5200.0, 900.0, 120.0, 650), ("signups", "signups", 140.0, 22.0, 6.0, 31))
CONTROLS = (("competitor_site_visits", "visits", 3900.0, 700.0, 110.0),
            ("category_search_interest", "index", 62.0, 9.0, 1.8),
            ("newsletter_opens", "opens", 2100.0, 260.0, 60.0))


def write_kpis(path: Path, rng: np.random.Generator) -> dict:
    """Write ``series,ts,value,unit`` rows; return the true effects."""
    t = np.arange(DAYS)
    weekly = np.array([0.2, 0.25, 0.2, 0.1, -0.1, -0.4, -0.3])[t % 7]
    ar = np.zeros(DAYS)
    shocks = rng.normal(0, 0.15, DAYS)
    for i in range(1, DAYS):
        ar[i] = 0.7 * ar[i - 1] + shocks[i]
    factor = 0.004 * t + weekly + ar  # trend + weekly seasonality + autocorrelated common shocks
    start = datetime.fromtimestamp(BASE_MS / 1000, tz=timezone.utc)
    days = [(start + timedelta(days=int(d))).strftime("%Y-%m-%d") for d in t]
    after = t >= INTERVENTION_DAY
    lines = ["series,ts,value,unit"]
    effects = {}
    for name, unit, base, load, sd, effect in TREATED:
        counterfactual = np.round(base + load * factor + rng.normal(0, sd, DAYS)).astype(int)
        actual = counterfactual + np.where(after, effect, 0)
        lines += [f"{name},{d},{v},{unit}" for d, v in zip(days, actual.tolist())]
        post = counterfactual[after]
        effects[name] = {"effect_per_day": effect, "post_days": int(after.sum()),
                         "cumulative": int(effect * after.sum()),
                         "relative": round(float(effect * after.sum() / post.sum()), 6),
                         "counterfactual_post_mean": round(float(post.mean()), 3),
                         "actual_post_mean": round(float(post.mean() + effect), 3)}
    for name, unit, base, load, sd in CONTROLS:
        values = np.round(base + load * factor + rng.normal(0, sd, DAYS), 1 if unit == "index" else 0)
        fmt = (lambda v: f"{v:.1f}") if unit == "index" else (lambda v: str(int(v)))
        lines += [f"{name},{d},{fmt(v)},{unit}" for d, v in zip(days, values.tolist())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"series": [n for n, *_ in TREATED], "controls": [n for n, *_ in CONTROLS], "effects": effects,
            "first_day": days[0], "days": DAYS}
