"""A pre/post brand-lift survey: repeated cross-sections, exposure self-selected by segment
(a confounder: the segments that see the campaign most also like the brand more), and a known
effect of exposure on the exposed (both potential answers are drawn with the same noise, so the
true effect on the exposed respondents of this sample is exact)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from confiance.simulate import vocabulary as V

#: per segment: (population share, baseline favourability latent, baseline purchase probability, exposure rate)
SEGMENT_PARAMS = {"urban_commuters": (0.35, 3.3, 0.22, 0.55), "students": (0.25, 3.0, 0.12, 0.45),
                  "families": (0.25, 2.9, 0.15, 0.30), "seniors": (0.15, 2.6, 0.08, 0.15)}
FAVOURABILITY_SHIFT = 0.6  # latent points on the 1-5 scale
PURCHASE_SHIFT = 0.10  # probability points


def write_survey(path: Path, rng: np.random.Generator, respondents_per_wave: int = 1500) -> dict:
    segs = list(V.SEGMENTS)
    shares = np.array([SEGMENT_PARAMS[s][0] for s in segs])
    lines = ["wave,respondent,question,answer,segment,weight,exposed"]
    effect: dict = {}
    for wave in ("pre", "post"):
        n = respondents_per_wave
        seg = rng.choice(len(segs), n, p=[0.45, 0.2, 0.2, 0.15])  # the panel over-samples commuters
        weight = shares[seg] / np.bincount(seg, minlength=len(segs))[seg] * n
        fav_base = np.array([SEGMENT_PARAMS[s][1] for s in segs])[seg]
        buy_base = np.array([SEGMENT_PARAMS[s][2] for s in segs])[seg]
        exposure = np.array([SEGMENT_PARAMS[s][3] for s in segs])[seg]
        exposed = (rng.random(n) < exposure) if wave == "post" else np.zeros(n, bool)
        noise = rng.normal(0, 0.9, n)
        u = rng.random(n)
        fav0 = np.clip(np.round(fav_base + noise), 1, 5).astype(int)
        fav1 = np.clip(np.round(fav_base + FAVOURABILITY_SHIFT + noise), 1, 5).astype(int)
        buy0 = u < buy_base
        buy1 = u < buy_base + PURCHASE_SHIFT
        fav = np.where(exposed, fav1, fav0)
        buy = np.where(exposed, buy1, buy0)
        prefix = "A" if wave == "pre" else "B"
        for i in range(n):
            rid = f"{prefix}{i + 1:05d}"
            common = f"{segs[seg[i]]},{weight[i]:.4f},{int(exposed[i])}"
            lines.append(f"{wave},{rid},favourability,{fav[i]},{common}")
            lines.append(f"{wave},{rid},purchase_intent,{'yes' if buy[i] else 'no'},{common}")
        if wave == "post":
            e = exposed
            wts = weight[e]
            effect = {
                "favourability_latent_shift": FAVOURABILITY_SHIFT,
                "purchase_intent_probability_shift": PURCHASE_SHIFT,
                "att_favourability": round(float((fav1[e] - fav0[e]).mean()), 6),
                "att_favourability_weighted": round(float(np.average(fav1[e] - fav0[e], weights=wts)), 6),
                "att_purchase_intent": round(float((buy1[e].astype(int) - buy0[e].astype(int)).mean()), 6),
                "att_purchase_intent_weighted": round(float(np.average(buy1[e].astype(int) - buy0[e].astype(int),
                                                                       weights=wts)), 6),
                "naive_difference_favourability": round(float(fav[e].mean() - fav[~e].mean()), 6),
                "exposed_respondents": int(e.sum()),
                "unexposed_respondents": int((~e).sum()),
                "confounder": "segment (exposure rate and baseline both differ by segment)",
            }
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"waves": ["pre", "post"], "respondents_per_wave": respondents_per_wave, "segments": segs,
            "questions": {"favourability": "1-5", "purchase_intent": "yes/no"}, "effect": effect}
