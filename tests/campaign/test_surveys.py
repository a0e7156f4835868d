"""Survey waves on the simulated world's brand-lift survey (known effect on the exposed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from confiance.campaign.surveys import run_surveys, survey_changes, survey_shares, wave_order, weighted_estimate
from confiance.errors import ConfianceError
from tests.conftest import ingest


def _survey(world) -> pd.DataFrame:
    return pd.read_csv(world / "survey.csv", dtype={"answer": str, "respondent": str})


def test_segment_adjusted_effect_on_exposed_recovered(sim_world) -> None:
    world, _, truth = sim_world
    effect = truth["campaign"]["survey"]["effect"]
    changes = survey_changes(_survey(world))
    adjusted = changes[changes["comparison"] == "exposed - unexposed, segment-adjusted"].set_index(["question", "answer"],
                                                                                                    drop=False)
    fav = adjusted[adjusted["question"] == "favourability"].iloc[0]
    buy = adjusted[(adjusted["question"] == "purchase_intent") & (adjusted["answer"] == "yes")].iloc[0]
    print(f"\nfavourability: {fav.estimate:.3f} [{fav.lower:.3f}, {fav.upper:.3f}] true {effect['att_favourability_weighted']}"
          f"\npurchase intent: {buy.estimate:.3f} [{buy.lower:.3f}, {buy.upper:.3f}] true "
          f"{effect['att_purchase_intent_weighted']}")
    assert fav.lower <= effect["att_favourability_weighted"] <= fav.upper
    assert buy.lower <= effect["att_purchase_intent_weighted"] <= buy.upper
    raw = changes[(changes["comparison"] == "exposed - unexposed") & (changes["question"] == "favourability")].iloc[0]
    assert raw.estimate > fav.estimate  # the segment confounder inflates the raw comparison
    post_pre = changes[(changes["comparison"] == "post - pre") & (changes["segment"] == "all")
                       & (changes["question"] == "favourability")].iloc[0]
    assert post_pre.lower > 0  # the campaign wave is more favourable overall


def test_weighted_shares_per_segment_through_the_store(sim_world) -> None:
    world, ws, _ = sim_world
    ingest(ws, world / "survey.csv")
    with ws.writer() as con:
        done = run_surveys(con, "r1")
        rows = con.execute("SELECT segment, estimate, lower, upper, respondents, effective_n FROM survey_shares "
                           "WHERE question = 'purchase_intent' AND answer = 'yes' AND wave = 'pre' AND exposed = 'all' "
                           "ORDER BY segment").fetchall()
    assert done["shares"] > 0 and done["changes"] > 0
    segments = {r[0]: r for r in rows}
    assert set(segments) == {"all", "families", "seniors", "students", "urban_commuters"}
    # the planted baseline purchase probabilities (simulate/survey.py) fall in their intervals
    for name, p in {"urban_commuters": 0.22, "students": 0.12, "families": 0.15, "seniors": 0.08}.items():
        assert segments[name][2] <= p <= segments[name][3]
    # over-sampled commuters: the weighted sample is worth fewer respondents than it has
    assert segments["all"][5] < segments["all"][4]


def test_weighted_estimate_by_hand() -> None:
    y = np.array([1.0, 0.0, 1.0, 1.0])
    w = np.array([1.0, 2.0, 1.0, 4.0])
    e = weighted_estimate(y, w)
    assert e.estimate == pytest.approx(6 / 8)
    resid = w * (y - 0.75)
    assert e.variance == pytest.approx(4 / 3 * (resid ** 2).sum() / 64)
    assert e.effective_n == pytest.approx(64 / 22)
    assert wave_order(["post", "pre"]) == ["pre", "post"]
    assert wave_order(["wave 10", "wave 2", "baseline"]) == ["baseline", "wave 2", "wave 10"]


def test_bad_survey_input_is_named() -> None:
    frame = pd.DataFrame({"wave": ["pre", "post"], "respondent": ["a", "b"], "question": ["q", "q"],
                          "answer": ["yes", "no"], "segment": ["s", "s"], "weight": [1.0, -2.0], "exposed": [False, True]})
    with pytest.raises(ConfianceError, match="respondent 'b' has a negative weight"):
        survey_shares(frame)
    with pytest.raises(ConfianceError, match="wave 'after'"):
        survey_changes(frame.assign(weight=1.0), post="after")
    with pytest.raises(ConfianceError, match=r"lacks column\(s\) \['exposed'\]"):
        survey_shares(frame.drop(columns="exposed"))
